/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Kernel knobs under /proc/sys. Paths are relative to NATGW_PROC_SYS (overridable with the
 * environment variable NATGW_PROC_SYS so tests can point at a directory of their own).
 */

#include <stddef.h>

#include "conf.h"

#define NATGW_SYSCTL_IP_FORWARD "net/ipv4/ip_forward"
#define NATGW_SYSCTL_IPV6_FORWARD "net/ipv6/conf/all/forwarding"

/* Read the first line of a sysctl (without the newline). 0 or -errno. */
int natgw_sysctl_read(const char *key, char *buf, size_t size);

/* Write a sysctl. 0 or -errno. */
int natgw_sysctl_write(const char *key, const char *value);

/**
 * natgw_sysctl_apply_forwarding() - switch on the forwarding that @c asks for
 * @c:      the config
 * @errors: a sysctl that cannot be written is reported here
 *
 * A setting the config leaves off (false) is left as the kernel has it.
 * Return: 0, or the first -errno (every failure is in @errors).
 */
int natgw_sysctl_apply_forwarding(const struct natgw_config *c, struct natgw_errors *errors);

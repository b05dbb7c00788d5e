/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * One kernel knob under /proc/sys (base layer: the settings of sysctl.c and the conntrack
 * watch's auto_grow write them). Keys are paths relative to /proc/sys, or to the directory in
 * the environment variable NATGW_PROC_SYS when that is set (tests point it at a directory of
 * their own).
 */

#include <stddef.h>
#include <stdint.h>

/* The file of @key into @buf. 0, or -ENAMETOOLONG when it does not fit. */
int natgw_sysctl_path(const char *key, char *buf, size_t size);

/* Read a sysctl that holds one integer. 0, -errno, or -EBADMSG when it is not an integer. */
int natgw_sysctl_read_int(const char *key, int64_t *ret);

/* Write a sysctl. 0 or -errno. */
int natgw_sysctl_write(const char *key, const char *value);

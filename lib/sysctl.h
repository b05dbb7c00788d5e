/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Kernel knobs under /proc/sys, and the settings natgwd manages with them (forwarding,
 * conntrack size and timeouts): what the config wants, what the kernel had before natgwd first
 * changed it, what it has now, and why a setting could not be made.
 *
 * Paths are relative to /proc/sys (util-sysctl.h reads and writes them).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "util-sysctl.h"

#define NATGW_SYSCTL_IP_FORWARD "net/ipv4/ip_forward"
#define NATGW_SYSCTL_IPV6_FORWARD "net/ipv6/conf/all/forwarding"
#define NATGW_SYSCTL_CONNTRACK_MAX "net/netfilter/nf_conntrack_max"
#define NATGW_SYSCTL_CONNTRACK_BUCKETS "net/netfilter/nf_conntrack_buckets"

/**
 * natgw_sysctl_refusal_reason() - why writing a sysctl failed, in words
 * @key:   the sysctl, relative to /proc/sys
 * @error: the negative errno of the failed read or write
 * @buf:   where the text goes ("read-only in network namespace net:[4026532301] (...): ...")
 * @size:  its size
 *
 * A sysctl whose file has no write bit is one the kernel made read-only in this network
 * namespace (nf_conntrack_max and nf_conntrack_buckets outside the initial namespace): the
 * text names the namespace, and PID 1's when it can be read, to compare.
 *
 * Return: @buf.
 */
const char *natgw_sysctl_refusal_reason(const char *key, int error, char *buf, size_t size);

/* Every setting natgwd manages, in the order status shows them. */
enum natgw_setting_id {
        NATGW_SETTING_IP_FORWARD,
        NATGW_SETTING_IPV6_FORWARD,
        NATGW_SETTING_CONNTRACK_MAX,
        NATGW_SETTING_CONNTRACK_BUCKETS,
        NATGW_SETTING_CT_TIMEOUT_FIRST, /* + enum natgw_ct_timeout */
        NATGW_SETTING_COUNT = NATGW_SETTING_CT_TIMEOUT_FIRST + NATGW_CT_TIMEOUT_COUNT,
};

enum natgw_setting_result {
        NATGW_SETTING_LEFT,      /* the config does not set it: the kernel's value stays */
        NATGW_SETTING_UNCHANGED, /* the kernel had the wanted value already: nothing written */
        NATGW_SETTING_APPLIED,   /* natgwd wrote it */
        NATGW_SETTING_REFUSED,   /* it could not be set: error and reason say why */
};

struct natgw_setting {
        enum natgw_setting_result result;
        int64_t wanted;    /* -1: leave the kernel's value */
        bool has_previous; /* natgwd has changed it in this run */
        int64_t previous;  /* the value before natgwd first changed it (recorded once per run) */
        bool has_actual;
        int64_t actual;    /* read back by the last apply */
        int error;         /* REFUSED: the negative errno */
        /* REFUSED: why; APPLIED or UNCHANGED: a note (the kernel rounded it, ...) or "". */
        char reason[384];
};

/*
 * The settings as the last successful apply left them. All zero is a valid start ("nothing
 * applied yet, nothing changed").
 */
struct natgw_settings {
        struct natgw_setting v[NATGW_SETTING_COUNT];
};

/* The setting's sysctl relative to /proc/sys: "net/ipv4/ip_forward". */
const char *natgw_setting_path(enum natgw_setting_id id);

/* Its sysctl name, "net.ipv4.ip_forward", into @buf; returns @buf. */
const char *natgw_setting_name(enum natgw_setting_id id, char *buf, size_t size);

/* Its key in the config file, "kernel.ip_forward", "conntrack.timeouts.udp", into @buf; returns @buf. */
const char *natgw_setting_config_key(enum natgw_setting_id id, char *buf, size_t size);

/* "left as is", "unchanged", "applied", "refused". */
const char *natgw_setting_result_to_string(enum natgw_setting_result r);

/**
 * natgw_settings_apply() - make every setting what @c asks for, and record the outcome
 * @s:      the record; previous values recorded by earlier applies are kept
 * @c:      the config being applied
 * @errors: each setting that could not be set is appended as a warning:
 *          `FILE:LINE: KEY: cannot set SYSCTL to VALUE: REASON; it stays VALUE`
 *
 * A setting the kernel already has is not written. Before natgwd first writes a setting, its
 * value is recorded (once per run, in @s). With conntrack.auto_grow, conntrack.max is the
 * floor: a kernel value from max up to the ceiling (raised by auto_grow) is kept.
 * A refused setting is a warning, never a failure: the rest is still applied.
 *
 * Return: the number of settings refused (>= 0), or -ENOMEM.
 */
int natgw_settings_apply(struct natgw_settings *s, const struct natgw_config *c, struct natgw_errors *errors);

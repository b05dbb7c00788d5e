/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Shared between the conf-*.c files and their unit tests; not part of the API the compiler
 * and the daemon use (that is conf.h).
 */

#include <libconfig.h>

#include "conf.h"

#define NATGW_NAME_MAX 64
/* More overlap reports than this help nobody: the rest are summed up in one error. */
#define NATGW_OVERLAPS_MAX 1000

/* ---- conf-addr.c: the address forms only the config file has (addr.h has the rest) ---- */

/**
 * natgw_addr_range_parse() - parse an snat `to`: "ADDR" or "A-B" of one family
 *
 * Return: 0 (lo == hi for one address); -EINVAL on a syntax error; -EAFNOSUPPORT when A and B
 * are of different families; -EDOM when A > B.
 */
int natgw_addr_range_parse(const char *s, struct natgw_addr *ret_lo, struct natgw_addr *ret_hi);

/**
 * natgw_forward_to_parse() - parse a forward `to`
 *
 * "ADDR", "ADDR:PORT", "ADDR:A-B", "[V6]", "[V6]:PORT", "[V6]:A-B"; an IPv6 address without
 * brackets is an address only. @ret_port is zeroed for NATGW_TO_PORT_KEEP.
 * Return: 0; -EINVAL on a syntax error; -ERANGE when a port is 0 or above 65535; -EDOM when A > B.
 */
int natgw_forward_to_parse(const char *s, struct natgw_addr *ret_addr, enum natgw_to_port *ret_mode,
                           struct natgw_port_range *ret_port);

/* ---- conf-validate.c: checks across entries ---- */

/* One entry name seen in the file, with the line of its entry. */
struct natgw_conf_name {
        const char *name;
        unsigned line;
};

/**
 * natgw_config_validate() - cross-entry checks on a model whose entries are each valid
 * @c:       the model
 * @names:   every entry name of the file (also of entries left out of @c because of their own
 *           errors), or NULL to take the names of the entries in @c
 * @n_names: size of @names
 * @file:    file name for the errors
 * @errors:  problems are appended here
 *
 * Checks: names unique; no two egress entries with the same source prefix on the same
 * out_interface; no two forwards that overlap. O(n log n) in the number of entries.
 * Return: 0 when nothing is wrong; -EINVAL when errors were added; -ENOMEM.
 */
int natgw_config_validate(const struct natgw_config *c, const struct natgw_conf_name *names,
                          size_t n_names, const char *file, struct natgw_errors *errors);

/* ---- conf-integers.c ---- */

/**
 * natgw_conf_check_integers() - find the integers libconfig would misread
 * @text:   config text that libconfig parsed without a syntax error
 * @file:   file name for the errors
 * @errors: one error is appended per integer that does not fit: in 32 bits without the L
 *          suffix, in 64 bits with it (libconfig 1.5 would silently truncate it)
 *
 * Return: the number of errors added; -ENOMEM.
 */
int natgw_conf_check_integers(const char *text, const char *file, struct natgw_errors *errors);

/* ---- conf-load.c / conf-entry.c: the loader's state ---- */

struct natgw_conf_ctx {
        const char *file;              /* name used in errors */
        struct natgw_errors *errors;
        unsigned n_errors;             /* config errors added so far */
        int r;                         /* first failure that is not a config error (-ENOMEM) */

        /* What the errors being reported are about. */
        const char *entry;             /* entry name, or NULL */
        char label[64];                /* e.g. "forward entry 3" when there is no usable name */

        struct natgw_conf_name *names;
        size_t n_names, cap_names;

        /* Capacity of the model's arrays while they are filled. */
        size_t cap_egress, cap_forwards;
};

/* Append an error at the line of @s (NULL: no line) about the current entry or label. */
void natgw_conf_error(struct natgw_conf_ctx *ctx, const config_setting_t *s, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* "wrong type for "KEY": expected EXPECTED, got A TYPE" */
void natgw_conf_type_error(struct natgw_conf_ctx *ctx, const config_setting_t *s, const char *key,
                           const char *expected);

/* "an integer", "a string", ... */
const char *natgw_conf_type_name(const config_setting_t *s);

/* Report every member of @group whose name is not in the NULL-terminated @known. */
void natgw_conf_check_keys(struct natgw_conf_ctx *ctx, const config_setting_t *group,
                           const char *const *known);

/* Parse one egress entry (masquerade or snat) or forward entry; on errors *ret is untouched. */
int natgw_conf_parse_egress(struct natgw_conf_ctx *ctx, const config_setting_t *group,
                            enum natgw_egress_kind kind, unsigned pos, struct natgw_egress *ret);
int natgw_conf_parse_forward(struct natgw_conf_ctx *ctx, const config_setting_t *group, unsigned pos,
                             struct natgw_forward *ret);

void natgw_egress_done(struct natgw_egress *e);
void natgw_forward_done(struct natgw_forward *f);

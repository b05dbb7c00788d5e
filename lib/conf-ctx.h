/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The loader's state while it walks a file, and how it reports what it finds there. */

#include <libconfig.h>

#include "conf-validate.h"
#include "conf.h"

/* The most keys a kind of group has whose members natgw_conf_check_keys() keeps at hand. */
#define NATGW_CONF_KEYS_MAX 16

struct natgw_conf_ctx {
        const char *file;              /* name used in errors: the file being read */
        unsigned rank;                 /* its place: 0 the main file, then the drop-ins in order */
        unsigned line_offset;          /* added to libconfig's lines: a slice's first line - 1
                                        * (conf-slice.h), else 0 */
        struct natgw_errors *errors;
        unsigned n_errors;             /* config errors added so far */
        int r;                         /* first failure that is not a config error (-ENOMEM) */

        /* What the errors being reported are about. */
        const char *entry;             /* entry name, or NULL */
        char label[64];                /* e.g. "conntrack", when there is no entry name ... */
        const char *label_section;     /* ... or "SECTION entry POS" (made when an error needs it) */
        unsigned label_pos;

        /* The members of the group natgw_conf_check_keys() went through last, by its known keys
         * (natgw_conf_member() looks there first); NULL: none. */
        const config_setting_t *members_of;
        const char *const *members_keys;
        const config_setting_t *members[NATGW_CONF_KEYS_MAX];

        struct natgw_conf_name *names;
        size_t n_names, cap_names;

        /* Capacity of the model's arrays while they are filled. */
        size_t cap_egress, cap_forwards, cap_netmaps;
};

/* The line of @s in ctx->file (libconfig's line, plus where the slice parsed starts). */
static inline unsigned natgw_conf_line(const struct natgw_conf_ctx *ctx, const config_setting_t *s) {
        return (unsigned)config_setting_source_line(s) + ctx->line_offset;
}

/* Append an error at the line of @s (NULL: no line) about the current entry or label. */
void natgw_conf_error(struct natgw_conf_ctx *ctx, const config_setting_t *s, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* The same as a warning: it does not make the file invalid. */
void natgw_conf_warn(struct natgw_conf_ctx *ctx, const config_setting_t *s, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* "wrong type for "KEY": expected EXPECTED, got A TYPE" */
void natgw_conf_type_error(struct natgw_conf_ctx *ctx, const config_setting_t *s, const char *key,
                           const char *expected);

/* "an integer", "a string", ... */
const char *natgw_conf_type_name(const config_setting_t *s);

static inline void natgw_conf_forget_members(struct natgw_conf_ctx *ctx) {
        ctx->members_of = NULL;
}

/* The label "SECTION entry POS" for the errors about an entry without a usable name. */
static inline void natgw_conf_set_entry_label(struct natgw_conf_ctx *ctx, const char *section, unsigned pos) {
        ctx->entry = NULL;
        ctx->label[0] = 0;
        ctx->label_section = section;
        ctx->label_pos = pos;
}

/* Add @name, of the entry at @line of ctx->file, to the names every file's entries share. 0 or -ENOMEM. */
int natgw_conf_add_name(struct natgw_conf_ctx *ctx, const char *name, unsigned line);

/*
 * The member @key of @group, or NULL (also when @group is no group): config_setting_get_member()
 * without libconfig's comparison, which looks every character of both names up among the path
 * separators (at 50,000 forwards, a tenth of the loader's time). The two agree: a member's name
 * never holds a separator, and libconfig refuses two members of one name.
 */
const config_setting_t *natgw_conf_get_member(const config_setting_t *group, const char *key);

/*
 * Report every member of @group whose name is not in the NULL-terminated @known; the members of
 * the known keys are kept at hand for natgw_conf_member() until the next call, or until
 * natgw_conf_forget_members() (an entry parser calls it at the entry's start: the group of the
 * entry before may be freed, and its address taken by another).
 */
void natgw_conf_check_keys(struct natgw_conf_ctx *ctx, const config_setting_t *group,
                           const char *const *known);

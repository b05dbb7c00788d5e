/* SPDX-License-Identifier: GPL-2.0-or-later */

/* How the loader and the entry parsers report a problem at a place in the file. */

#include <stdarg.h>

#include "conf-ctx.h"
#include "util.h"

_printf_(4, 0) static void report(struct natgw_conf_ctx *ctx, enum natgw_severity severity,
                                  const config_setting_t *s, const char *fmt, va_list ap) {
        _cleanup_(freep) char *msg = NULL;
        unsigned line = s ? natgw_conf_line(ctx, s) : 0;
        char entry_label[sizeof(ctx->label)];
        const char *label = ctx->label;
        int r;

        r = vasprintf(&msg, fmt, ap);
        if (r < 0) {
                msg = NULL;
                ctx->r = -ENOMEM;
                return;
        }
        /* Values from the file end up in here: keep each error on one line. */
        for (char *p = msg; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = '?';

        /* Without an entry name, the label says which part of the file it is about. */
        if (!label[0] && ctx->label_section) {
                snprintf(entry_label, sizeof(entry_label), "%s entry %u", ctx->label_section, ctx->label_pos);
                label = entry_label;
        }
        if (ctx->entry)
                label = "";
        r = natgw_errors_add_severity(ctx->errors, severity, ctx->file, line, ctx->entry, "%s%s%s", label,
                                      label[0] ? ": " : "", msg);
        if (r < 0)
                ctx->r = r;
        else if (severity == NATGW_SEVERITY_ERROR)
                ctx->n_errors++;
}

void natgw_conf_error(struct natgw_conf_ctx *ctx, const config_setting_t *s, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        report(ctx, NATGW_SEVERITY_ERROR, s, fmt, ap);
        va_end(ap);
}

void natgw_conf_warn(struct natgw_conf_ctx *ctx, const config_setting_t *s, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        report(ctx, NATGW_SEVERITY_WARNING, s, fmt, ap);
        va_end(ap);
}

const char *natgw_conf_type_name(const config_setting_t *s) {
        static const char *const names[] = {
                [CONFIG_TYPE_NONE] = "nothing",
                [CONFIG_TYPE_GROUP] = "a group",
                [CONFIG_TYPE_INT] = "an integer",
                [CONFIG_TYPE_INT64] = "an integer",
                [CONFIG_TYPE_FLOAT] = "a float",
                [CONFIG_TYPE_STRING] = "a string",
                [CONFIG_TYPE_BOOL] = "a boolean",
                [CONFIG_TYPE_ARRAY] = "an array",
                [CONFIG_TYPE_LIST] = "a list",
        };
        unsigned t = (unsigned) config_setting_type(s);

        return t < ELEMENTSOF(names) ? names[t] : names[CONFIG_TYPE_NONE];
}

void natgw_conf_type_error(struct natgw_conf_ctx *ctx, const config_setting_t *s, const char *key,
                           const char *expected) {
        natgw_conf_error(ctx, s, "wrong type for \"%s\": expected %s, got %s", key, expected,
                         natgw_conf_type_name(s));
}

const config_setting_t *natgw_conf_get_member(const config_setting_t *group, const char *key) {
        int n;

        if (!group || !config_setting_is_group(group))
                return NULL;
        n = config_setting_length(group);
        for (int i = 0; i < n; i++) {
                const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
                const char *name = config_setting_name(s);

                if (name && streq(name, key))
                        return s;
        }
        return NULL;
}

void natgw_conf_check_keys(struct natgw_conf_ctx *ctx, const config_setting_t *group,
                           const char *const *known) {
        int n = config_setting_length(group);
        size_t n_known = 0;

        while (known[n_known])
                n_known++;
        ctx->members_of = n_known <= NATGW_CONF_KEYS_MAX ? group : NULL;
        ctx->members_keys = known;
        memset(ctx->members, 0, sizeof(ctx->members));
        for (int i = 0; i < n; i++) {
                const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
                const char *name = config_setting_name(s);
                size_t k = 0;

                /* The first letter first: 50,000 forwards have 300,000 members. */
                while (k < n_known && !(name && name[0] == known[k][0] && streq(name, known[k])))
                        k++;
                if (k == n_known)
                        natgw_conf_error(ctx, s, "unknown key \"%s\"", name ? name : "");
                else if (k < NATGW_CONF_KEYS_MAX)
                        ctx->members[k] = s;
        }
}

int natgw_conf_add_name(struct natgw_conf_ctx *ctx, const char *name, unsigned line) {
        if (GROW(ctx->names, ctx->cap_names, ctx->n_names + 1) < 0)
                return -ENOMEM;
        ctx->names[ctx->n_names++] = (struct natgw_conf_name) {
                .name = name, .file = ctx->file, .rank = ctx->rank, .line = line,
        };
        return 0;
}

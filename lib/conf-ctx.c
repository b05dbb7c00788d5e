/* SPDX-License-Identifier: GPL-2.0-or-later */

/* How the loader and the entry parsers report a problem at a place in the file. */

#include <stdarg.h>

#include "conf-ctx.h"
#include "util.h"

_printf_(4, 0) static void report(struct natgw_conf_ctx *ctx, enum natgw_severity severity,
                                  const config_setting_t *s, const char *fmt, va_list ap) {
        _cleanup_(freep) char *msg = NULL;
        unsigned line = s ? natgw_conf_line(ctx, s) : 0;
        bool label;
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
        label = !ctx->entry && ctx->label[0];
        r = natgw_errors_add_severity(ctx->errors, severity, ctx->file, line, ctx->entry, "%s%s%s",
                                      label ? ctx->label : "", label ? ": " : "", msg);
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

void natgw_conf_check_keys(struct natgw_conf_ctx *ctx, const config_setting_t *group,
                           const char *const *known) {
        int n = config_setting_length(group);

        for (int i = 0; i < n; i++) {
                const config_setting_t *s = config_setting_get_elem(group, i);
                const char *name = config_setting_name(s);
                bool ok = false;

                for (const char *const *k = known; *k && !ok; k++)
                        ok = name && streq(name, *k);
                if (!ok)
                        natgw_conf_error(ctx, s, "unknown key \"%s\"", name ? name : "");
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

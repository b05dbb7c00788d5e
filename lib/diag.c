/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdarg.h>

#include "diag.h"
#include "util.h"

static void error_done(struct natgw_error *e) {
        free(e->file);
        free(e->entry);
        free(e->message);
}

int natgw_errors_addv(struct natgw_errors *errors, enum natgw_severity severity, const char *file,
                      unsigned line, const char *entry, const char *fmt, va_list ap) {
        struct natgw_error e = { .severity = severity, .line = line };

        if (vasprintf(&e.message, fmt, ap) < 0) {
                e.message = NULL;
                return -ENOMEM;
        }
        if (file && !(e.file = strdup(file)))
                goto oom;
        if (entry && !(e.entry = strdup(entry)))
                goto oom;
        if (GROW(errors->v, errors->cap, errors->n + 1) < 0)
                goto oom;

        errors->v[errors->n++] = e;
        return 0;

oom:
        error_done(&e);
        return -ENOMEM;
}

/**
 * natgw_errors_add_severity() - append one entry of either severity
 * @errors:   the list
 * @severity: error or warning
 * @file:     file name or NULL
 * @line:     line number, 0 for none
 * @entry:    entry name or NULL
 * @fmt:      printf-style message, without file, line or entry
 *
 * For entries that come from elsewhere with their severity (another list, a reply).
 * Return: 0, or -ENOMEM (the list is then unchanged).
 */
int natgw_errors_add_severity(struct natgw_errors *errors, enum natgw_severity severity, const char *file,
                              unsigned line, const char *entry, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = natgw_errors_addv(errors, severity, file, line, entry, fmt, ap);
        va_end(ap);
        return r;
}

static void error_print(const struct natgw_error *e, FILE *f) {
        if (e->file && e->line > 0)
                fprintf(f, "%s:%u: ", e->file, e->line);
        else if (e->file)
                fprintf(f, "%s: ", e->file);
        else if (e->line > 0)
                fprintf(f, "line %u: ", e->line);
        if (e->entry)
                fprintf(f, "entry \"%s\": ", e->entry);
        fputs(e->message ? e->message : "", f);
}

/**
 * natgw_error_format() - one error as text
 * @e: the error
 *
 * `FILE:LINE: entry "NAME": message`; the parts that @e lacks are left out
 * (`FILE:LINE: message`, `FILE: message`).
 *
 * Return: a new string for the caller to free, or NULL when out of memory.
 */
char *natgw_error_format(const struct natgw_error *e) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        error_print(e, f);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

const char *natgw_severity_to_string(enum natgw_severity s) {
        return s == NATGW_SEVERITY_WARNING ? "warning" : "error";
}

/**
 * natgw_errors_print() - print every entry, one per line
 * @errors: the list
 * @f:      where to
 *
 * Errors as `FILE:LINE: entry "NAME": message`, warnings with "warning: " in front.
 */
void natgw_errors_print(const struct natgw_errors *errors, FILE *f) {
        for (size_t i = 0; i < errors->n; i++) {
                if (errors->v[i].severity == NATGW_SEVERITY_WARNING)
                        fputs("warning: ", f);
                error_print(&errors->v[i], f);
                fputc('\n', f);
        }
}

/* See diag.h. */
void natgw_errors_truncate(struct natgw_errors *errors, size_t n) {
        while (errors->n > n)
                error_done(&errors->v[--errors->n]);
}

/**
 * natgw_errors_clear() - free the list's contents and leave it empty
 * @errors: the list (the struct itself belongs to the caller)
 */
void natgw_errors_clear(struct natgw_errors *errors) {
        for (size_t i = 0; i < errors->n; i++)
                error_done(&errors->v[i]);
        free(errors->v);
        *errors = (struct natgw_errors) {};
}

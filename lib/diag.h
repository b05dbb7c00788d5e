/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Diagnostics (base layer): a list of errors and warnings, each tied to a file, a line and
 * (where there is one) a config entry. Library code appends here instead of printing; the
 * daemon and natgwctl decide what to say. A warning reports something that did not stop the
 * operation (a missing interface, a sysctl the kernel refused): the printers mark it by its
 * severity, not by whether the operation failed.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

enum natgw_severity {
        NATGW_SEVERITY_ERROR,
        NATGW_SEVERITY_WARNING,
};

struct natgw_error {
        enum natgw_severity severity;
        char *file;    /* may be NULL */
        unsigned line; /* 0: no line */
        char *entry;   /* entry name, or NULL when the error is not about one named entry */
        char *message;
};

struct natgw_errors {
        struct natgw_error *v;
        size_t n, cap;
};

/* natgw_errors_add_severity() with a va_list, for callers that wrap it. 0 or -ENOMEM. */
int natgw_errors_addv(struct natgw_errors *errors, enum natgw_severity severity, const char *file,
                      unsigned line, const char *entry, const char *fmt, va_list ap)
        __attribute__((format(printf, 6, 0)));

/* Append one entry of either severity (one that comes with its severity). 0 or -ENOMEM. */
int natgw_errors_add_severity(struct natgw_errors *errors, enum natgw_severity severity, const char *file,
                              unsigned line, const char *entry, const char *fmt, ...)
        __attribute__((format(printf, 6, 7)));

/*
 * natgw_errors_add(errors, file, line, entry, fmt, ...) appends an error, natgw_errors_warn() a
 * warning: @file or NULL, @line or 0, @entry (the config entry's name) or NULL, and a
 * printf-style message without them. 0, or -ENOMEM (the list is then unchanged).
 */
#define natgw_errors_add(errors, file, line, entry, ...) \
        natgw_errors_add_severity((errors), NATGW_SEVERITY_ERROR, (file), (line), (entry), __VA_ARGS__)
#define natgw_errors_warn(errors, file, line, entry, ...) \
        natgw_errors_add_severity((errors), NATGW_SEVERITY_WARNING, (file), (line), (entry), __VA_ARGS__)

/* "error" or "warning" (the word the control protocol uses). */
const char *natgw_severity_to_string(enum natgw_severity s);

/* Format one error as `FILE:LINE: entry "NAME": message` into a new string (NULL: no memory). */
char *natgw_error_format(const struct natgw_error *e);

/* Print every entry, one per line; warnings start with "warning: ". */
void natgw_errors_print(const struct natgw_errors *errors, FILE *f);

/* Free the list's contents and leave it empty (the struct itself is the caller's). */
void natgw_errors_clear(struct natgw_errors *errors);

/* Drop the entries from @n on (those added since the list held @n). */
void natgw_errors_truncate(struct natgw_errors *errors, size_t n);

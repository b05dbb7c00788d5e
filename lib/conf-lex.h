/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * libconfig 1.5's lexical rules, as far as the scanners of the text before libconfig (the
 * integer check, conf-integers.c; the slicer, conf-slice.c) need them: names, strings with
 * backslash escapes (a string may span lines), and "#" and "//" comments to the end of the
 * line and "/" "*" ones to their end.
 */

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

struct natgw_lex {
        const char *p;
        unsigned line;
};

static inline bool natgw_lex_name_start(char c) {
        return isalpha((unsigned char) c) || c == '*';
}

static inline bool natgw_lex_name_char(char c) {
        return isalnum((unsigned char) c) || c == '-' || c == '_' || c == '*';
}

/* Skip up to (not past) @end, counting lines; stops at the end of the text. */
static inline void natgw_lex_skip_to(struct natgw_lex *s, const char *end) {
        size_t n = strlen(end);

        for (; *s->p && strncmp(s->p, end, n) != 0; s->p++)
                if (*s->p == '\n')
                        s->line++;
}

/* Skip the string at s->p (at its '"'); false when it does not end. */
static inline bool natgw_lex_skip_string(struct natgw_lex *s) {
        for (s->p++; *s->p && *s->p != '"'; s->p++) {
                if (*s->p == '\n')
                        s->line++;
                else if (*s->p == '\\' && s->p[1])
                        s->p++;
        }
        if (!*s->p)
                return false;
        s->p++;
        return true;
}

/* Skip the comment at s->p, if there is one: 1 skipped, 0 none there, -1 one that does not end. */
static inline int natgw_lex_skip_comment(struct natgw_lex *s) {
        if (*s->p == '#' || (*s->p == '/' && s->p[1] == '/')) {
                natgw_lex_skip_to(s, "\n");
                return 1;
        }
        if (*s->p != '/' || s->p[1] != '*')
                return 0;
        s->p += 2;
        natgw_lex_skip_to(s, "*/");
        if (!*s->p)
                return -1;
        s->p += 2;
        return 1;
}

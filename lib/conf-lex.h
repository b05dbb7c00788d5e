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

/* Character classes of libconfig's scanner (ASCII, whatever the locale), by table: these
 * scanners read every byte of a 6 MB file before libconfig does. */
enum {
        NATGW_LEX_NAME_START = 1 << 0, /* [A-Za-z*] */
        NATGW_LEX_NAME_CHAR = 1 << 1,  /* [-A-Za-z0-9_*] */
        NATGW_LEX_DIGIT = 1 << 2,      /* [0-9] */
};

static const unsigned char natgw_lex_class[256] = {
        ['A' ... 'Z'] = NATGW_LEX_NAME_START | NATGW_LEX_NAME_CHAR,
        ['a' ... 'z'] = NATGW_LEX_NAME_START | NATGW_LEX_NAME_CHAR,
        ['*'] = NATGW_LEX_NAME_START | NATGW_LEX_NAME_CHAR,
        ['0' ... '9'] = NATGW_LEX_NAME_CHAR | NATGW_LEX_DIGIT,
        ['-'] = NATGW_LEX_NAME_CHAR,
        ['_'] = NATGW_LEX_NAME_CHAR,
};

static inline bool natgw_lex_name_start(char c) {
        return natgw_lex_class[(unsigned char) c] & NATGW_LEX_NAME_START;
}

static inline bool natgw_lex_name_char(char c) {
        return natgw_lex_class[(unsigned char) c] & NATGW_LEX_NAME_CHAR;
}

static inline bool natgw_lex_digit(char c) {
        return natgw_lex_class[(unsigned char) c] & NATGW_LEX_DIGIT;
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

/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Integers libconfig misreads. libconfig 1.5 reads an integer written without the L suffix into
 * 32 bits and one written with it into 64 bits, and says nothing when the number does not fit:
 * "max = 5000000000;" is read as 705032704, "port = 4294967376;" as port 80, and an L number
 * beyond 64 bits as the largest one. The parsed tree keeps no trace of that, so the text is
 * scanned here, token by token as libconfig's scanner sees it, for integers that do not fit.
 */

#include <ctype.h>
#include <inttypes.h>
#include <limits.h>

#include "conf-integers.h"
#include "conf-lex.h"
#include "util.h"

/* Longest literal quoted in an error; a number longer than this is cut. */
#define QUOTE_MAX 32

/*
 * One number token at s->p (a sign, digits, hex digits, a fraction or exponent, an L or LL
 * suffix); adds an error when it is an integer that does not fit. Return: 1 when an error was
 * added, 0 when not, -ENOMEM.
 */
static int check_number(struct natgw_lex *s, const char *file, struct natgw_errors *errors) {
        const char *start = s->p, *digits, *end;
        char quote[QUOTE_MAX + 8], text[32];
        bool neg = *s->p == '-', hex = false, is_float = false, wide;
        unsigned long long u = 0;
        int32_t as_read;
        int r;

        if (*s->p == '-' || *s->p == '+')
                s->p++;
        if (s->p[0] == '0' && (s->p[1] == 'x' || s->p[1] == 'X') && isxdigit((unsigned char) s->p[2])) {
                hex = true;
                s->p += 2;
                digits = s->p;
                while (isxdigit((unsigned char) *s->p))
                        s->p++;
        } else {
                digits = s->p;
                for (; isdigit((unsigned char) *s->p) || *s->p == '.' || *s->p == 'e' || *s->p == 'E' ||
                       ((*s->p == '-' || *s->p == '+') && (s->p[-1] == 'e' || s->p[-1] == 'E'));
                     s->p++)
                        if (!isdigit((unsigned char) *s->p))
                                is_float = true;
        }
        end = s->p;
        wide = *s->p == 'L';
        while (*s->p == 'L')
                s->p++;
        if (is_float)
                return 0;
        while (end - digits > 1 && *digits == '0')
                digits++;
        /* Nine decimal or seven hex digits fit in 31 bits: nothing to check (nearly every number). */
        if (end - digits <= (hex ? 7 : 9))
                return 0;

        snprintf(quote, sizeof(quote), "%.*s%s%s", (int) MIN((size_t) (end - start), (size_t) QUOTE_MAX), start,
                 end - start > QUOTE_MAX ? "..." : "", wide ? "L" : "");
        /* More than 20 digits fit in 64 bits in neither base; strtoull() tells for fewer. */
        errno = 0;
        if (end - digits > 20)
                errno = ERANGE;
        else {
                snprintf(text, sizeof(text), "%.*s", (int) (end - digits), digits);
                u = strtoull(text, NULL, hex ? 16 : 10);
        }
        if (errno == ERANGE || u > (neg ? (unsigned long long) LLONG_MAX + 1 : (unsigned long long) LLONG_MAX)) {
                r = natgw_errors_add(errors, file, s->line, NULL, "integer %s does not fit in 64 bits", quote);
                return r < 0 ? r : 1;
        }
        if (wide || u <= (neg ? (unsigned long long) INT32_MAX + 1 : (unsigned long long) INT32_MAX))
                return 0;
        /* libconfig reads a plain integer with atoi() (hex: strtoul()) into an int: the low 32 bits. */
        as_read = (int32_t) (uint32_t) (neg ? 0 - u : u);
        r = natgw_errors_add(errors, file, s->line, NULL,
                             "integer %s does not fit in 32 bits (libconfig would read %" PRId32 "): write %sL",
                             quote, as_read, quote);
        return r < 0 ? r : 1;
}

/* See conf-integers.h. */
int natgw_conf_check_integers(const char *text, const char *file, struct natgw_errors *errors) {
        struct natgw_lex s = { .p = text, .line = 1 };
        int n = 0, r;

        while (*s.p) {
                char c = *s.p;

                if (c == '\n') {
                        s.line++;
                        s.p++;
                } else if (c == '"')
                        (void) natgw_lex_skip_string(&s);
                else if (natgw_lex_skip_comment(&s) != 0)
                        continue;
                else if (natgw_lex_name_start(c) || c == '@') {
                        /* A name ("eth0", "tcp_established") or @include: its digits are no number. */
                        for (s.p++; natgw_lex_name_char(*s.p); s.p++)
                                ;
                } else if (natgw_lex_digit(c) ||
                           ((c == '-' || c == '+' || c == '.') && (natgw_lex_digit(s.p[1]) || s.p[1] == '.'))) {
                        r = check_number(&s, file, errors);
                        if (r < 0)
                                return r;
                        n += r;
                } else
                        s.p++;
        }
        return n;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
/* -1, 0 or 1 as @a is below, equal to or above @b: a comparison for qsort() of plain values. */
#define CMP(a, b) ((a) < (b) ? -1 : (a) > (b))

/* Take ownership of a pointer away from a _cleanup_ variable. */
#define TAKE_PTR(p)                    \
        ({                             \
                typeof(p) _p_ = (p);   \
                (p) = NULL;            \
                _p_;                   \
        })

/* Take what a _cleanup_ struct owns away from it: the struct is left zeroed. */
#define TAKE_STRUCT(s)                 \
        ({                             \
                typeof(s) _s_ = (s);   \
                (s) = (typeof(s)){};   \
                _s_;                   \
        })

static inline void freep(void *p) {
        free(*(void **)p);
}

static inline void closep(const int *fd) {
        if (*fd >= 0)
                close(*fd);
}

/* Define a cleanup helper for a type with a NULL-safe destructor. @type is a type: it cannot be
 * put in parentheses. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)         \
        static inline void func##p(type *p) { /* NOLINT(bugprone-macro-parentheses) */ \
                if (*p)                                 \
                        func(*p);                       \
        }

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

/* streq() for short strings such as interface names, compared in line: the passes over every
 * entry ask it of each, mostly of equal names, where a call to strcmp() costs more than the
 * compare. */
static inline bool streq_short(const char *a, const char *b) {
        for (size_t i = 0;; i++) {
                if (a[i] != b[i])
                        return false;
                if (!a[i])
                        return true;
        }
}

/* Grow *array (of *cap elements of size sz) so that it holds at least need elements. */
static inline int grow_array(void **array, size_t *cap, size_t need, size_t sz) {
        size_t n;
        void *p;

        if (need <= *cap)
                return 0;
        n = *cap ? *cap * 2 : 8;
        while (n < need)
                n *= 2;
        if (n > SIZE_MAX / sz)
                return -ENOMEM;
        p = realloc(*array, n * sz);
        if (!p)
                return -ENOMEM;
        *array = p;
        *cap = n;
        return 0;
}

#define GROW(array, cap, need) grow_array((void **)&(array), &(cap), (need), sizeof(*(array)))

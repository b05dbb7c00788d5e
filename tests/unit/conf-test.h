/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Shared by the config unit tests: load text and compare the errors, line by line. */

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define SENTINEL ((struct natgw_config *) 0x1)

/* A fresh directory @dir (room for 64 bytes: "/tmp/natgw-test-@name.XXXXXX") holding an empty
 * directory @sub, whose path goes to @subdir (room for 128 bytes). 0 or -1, as cmocka's setups. */
static inline int tmpdir_make(char *dir, const char *name, const char *sub, char *subdir) {
        snprintf(dir, 64, "/tmp/natgw-test-%s.XXXXXX", name);
        if (!mkdtemp(dir))
                return -1;
        snprintf(subdir, 128, "%s/%s", dir, sub);
        return mkdir(subdir, 0755);
}

/* Remove @dir and what it holds. 0 or -1, as cmocka's teardowns. */
static inline int tmpdir_remove(const char *dir) {
        char cmd[PATH_MAX + 16];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

/* Round @round of random drop-in edits: @edits of the @n drop-ins (versions in @version; 0:
 * absent) changed, removed or added again, each written by @put; *@x is the generator's state. */
static inline void edit_dropins(unsigned *version, unsigned n, unsigned round, unsigned edits, uint32_t *x,
                                void (*put)(unsigned k, unsigned v)) {
        for (unsigned e = 0; e < edits; e++) {
                unsigned k;

                *x ^= *x << 13, *x ^= *x >> 17, *x ^= *x << 5;
                k = *x % n;
                version[k] = version[k] == 0 ? 1 + round : (*x >> 16) % 4 == 0 ? 0 : version[k] + 1;
                put(k, version[k]);
        }
}

/* Write @text to the file @name in the directory @dir. */
static inline void put_file(const char *dir, const char *name, const char *text) {
        char p[PATH_MAX + 64];
        FILE *f;

        snprintf(p, sizeof(p), "%s/%s", dir, name);
        f = fopen(p, "w");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

static inline void dump_errors(const struct natgw_errors *e) {
        for (size_t i = 0; i < e->n && i < 20; i++) {
                _cleanup_(freep) char *s = natgw_error_format(&e->v[i]);

                print_message("  got: %s\n", s);
        }
}

/* Load @dir/natgwd.conf with @old as the config in force (NULL: none): it must load without a
 * word. The hashes finished, as natgwd keeps a config. */
static inline struct natgw_config *load_dir_ok(const char *dir, const struct natgw_config *old) {
        struct natgw_errors errors = {};
        struct natgw_config *c = NULL;
        char path[PATH_MAX];

        snprintf(path, sizeof(path), "%s/natgwd.conf", dir);
        if (natgw_config_load_file_cached(path, old, &c, &errors) != 0)
                dump_errors(&errors);
        assert_int_equal(errors.n, 0);
        assert_non_null(c);
        natgw_config_finish_hashes(c);
        return c;
}

/* A load that returned @r and left @c must have been refused with as many errors as @expected
 * (NULL-terminated) holds; returns that number. */
static inline size_t assert_refused(int r, const struct natgw_config *c, const struct natgw_errors *errors,
                                    const char *const *expected) {
        size_t n = 0;

        while (expected[n])
                n++;
        if (r != -EINVAL || errors->n != n)
                dump_errors(errors);
        assert_int_equal(r, -EINVAL);
        assert_ptr_equal(c, SENTINEL);
        assert_int_equal(errors->n, n);
        return n;
}

/* Load @text as "test.conf" and check that it fails with exactly the errors @expected, in order. */
static inline void check_errors(const char *text, const char *const *expected) {
        struct natgw_errors errors = {};
        struct natgw_config *c = SENTINEL;
        size_t n;
        int r;

        r = natgw_config_load_string(text, "test.conf", &c, &errors);
        n = assert_refused(r, c, &errors, expected);
        for (size_t i = 0; i < n; i++) {
                _cleanup_(freep) char *s = natgw_error_format(&errors.v[i]);

                if (!streq(s, expected[i]))
                        dump_errors(&errors);
                assert_string_equal(s, expected[i]);
        }
        natgw_errors_clear(&errors);
}

#define EXPECT_ERRORS(text, ...) check_errors(text, (const char *const[]) { __VA_ARGS__, NULL })

/* Load @text as "test.conf", which must be valid; the caller frees the model. */
static inline struct natgw_config *load_ok(const char *text) {
        struct natgw_errors errors = {};
        struct natgw_config *c = NULL;
        int r;

        r = natgw_config_load_string(text, "test.conf", &c, &errors);
        if (r != 0)
                dump_errors(&errors);
        assert_int_equal(r, 0);
        assert_int_equal(errors.n, 0);
        assert_non_null(c);
        return c;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * natgwd's malloc() with regions for libconfig's slice trees (daemon/natgwd-alloc.c): bumped in
 * a region while a thread uses one, glibc's otherwise and for whatever does not fit; free() and
 * realloc() of either kind; a region used again from its start once reset; one loader at a time.
 * Built with AddressSanitizer natgwd has no regions (ASan replaces malloc itself), nor under
 * valgrind (which replaces natgwd's malloc() too): then only that is checked.
 */

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "conf.h"
#include "natgwd.h"

static const struct natgw_tree_alloc *ta;

/* Whether natgwd's malloc() is replaced here: by ASan's (built with it), by valgrind's (which
 * it preloads). */
static bool replaced(void) {
        const char *preload = getenv("LD_PRELOAD");

#if defined(__SANITIZE_ADDRESS__)
        return true;
#endif
        return preload && strstr(preload, "vgpreload");
}

static int setup(void **state) {
        (void)state;
        ta = natgwd_tree_alloc_setup();
        if (replaced())
                assert_null(ta);
        else
                assert_non_null(ta);
        return 0;
}

/* Whether this run has regions to test (not under ASan, not under valgrind). */
static bool regions(void) {
        if (!ta)
                return false;
        assert_true(ta->begin());
        return true;
}

static void test_bump_and_reset(void **state) {
        char *p, *q, *big, *libc;

        (void)state;
        if (!regions())
                return;
        /* One loader at a time. */
        assert_false(ta->begin());
        ta->use(0);
        p = malloc(100);
        q = malloc(1);
        assert_non_null(p);
        assert_non_null(q);
        /* Bumped: the next allocation follows, 16-byte aligned, a header before it. */
        assert_ptr_equal(q, p + 112 + 16);
        for (size_t n = 0; n < 64; n++)
                assert_int_equal((uintptr_t)malloc(n) % 16, 0);
        memset(p, 0xAB, 100);
        /* Growing copies what there was; realloc(NULL) and strdup() are bumped too. */
        p = realloc(p, 300);
        assert_non_null(p);
        for (int i = 0; i < 100; i++)
                assert_int_equal((unsigned char)p[i], 0xAB);
        q = strdup("in the region");
        assert_string_equal(q, "in the region");
        /* What cannot fit goes to glibc; free() gives it back there. */
        big = malloc((size_t)17 << 20);
        assert_non_null(big);
        memset(big, 1, (size_t)17 << 20);
        free(big);
        free(p);
        free(q);
        ta->reset(0);
        /* Reset: the region starts over, and calloc() clears what the last tree left there. */
        q = malloc(100);
        memset(q, 0xFF, 100);
        ta->reset(0);
        p = calloc(25, 4);
        assert_ptr_equal(p, q);
        for (int i = 0; i < 100; i++)
                assert_int_equal(p[i], 0);
        {
                volatile size_t huge = SIZE_MAX / 2; /* n * size overflows: glibc's answer, NULL */

                assert_null(calloc(huge, 4));
        }
        ta->use(-1);
        /* Out of the region again: glibc's, which free() and realloc() hand to glibc. */
        libc = malloc(64);
        assert_non_null(libc);
        strcpy(libc, "glibc's");
        ta->use(1);
        /* A glibc pointer grown while a region is in use stays glibc's. */
        libc = realloc(libc, 128);
        assert_string_equal(libc, "glibc's");
        /* A region's pointer grown out of the region (too big for it) is copied into glibc's. */
        q = strdup("moved");
        q = realloc(q, (size_t)17 << 20);
        assert_string_equal(q, "moved");
        ta->use(-1);
        free(q);
        free(libc);
        /* The end: the memory goes back, and a loader may have the regions again. */
        ta->end();
        assert_true(ta->begin());
        ta->end();
}

static void test_fill(void **state) {
        void *first, *p;
        size_t n = 0;

        (void)state;
        if (!regions())
                return;
        ta->use(2);
        first = malloc(1024);
        /* 16 MiB of room: the allocation that does not fit is glibc's, and so are those after. */
        for (p = first; (char *)p - (char *)first == (ptrdiff_t)(n * (1024 + 16)); n++)
                p = malloc(1024);
        assert_true(n > 16000 && n < 16400);
        free(p);
        ta->use(-1);
        ta->reset(2);
        ta->end();
}

static void *other_thread(void *arg) {
        char **ret = arg;

        /* This thread uses no region: glibc's memory, which lives on after the region's reset. */
        *ret = strdup("glibc's, from another thread");
        return NULL;
}

static void test_per_thread(void **state) {
        pthread_t t;
        char *mine, *theirs = NULL;

        (void)state;
        if (!regions())
                return;
        ta->use(3);
        mine = malloc(32);
        assert_int_equal(pthread_create(&t, NULL, other_thread, &theirs), 0);
        assert_int_equal(pthread_join(t, NULL), 0);
        free(mine);
        ta->use(-1);
        ta->reset(3);
        /* The region's room used again does not touch the other thread's string. */
        ta->use(3);
        memset(malloc(64), 0, 64);
        ta->use(-1);
        assert_string_equal(theirs, "glibc's, from another thread");
        free(theirs);
        ta->end();
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bump_and_reset),
                cmocka_unit_test(test_fill),
                cmocka_unit_test(test_per_thread),
        };

        return cmocka_run_group_tests(tests, setup, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The conntrack level (ct-level.c): thresholds with hysteresis, and drops.
 */

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ct-level.h"
#include "util.h"

#define MAX_ENTRIES 262144u

static uint64_t pct(double p) {
        /* Rounded up: p % of the table, not a hair below it. */
        return (uint64_t)(p * MAX_ENTRIES / 100.0 + 0.999);
}

static enum natgw_ct_level step(enum natgw_ct_level cur, double p, uint64_t drops) {
        return natgw_ct_level_next(cur, 80, 95, pct(p), MAX_ENTRIES, drops);
}

static void test_levels_rise(void **state) {
        assert_int_equal(step(NATGW_CT_OK, 0, 0), NATGW_CT_OK);
        assert_int_equal(step(NATGW_CT_OK, 79.9, 0), NATGW_CT_OK);
        assert_int_equal(step(NATGW_CT_OK, 80, 0), NATGW_CT_WARN);
        assert_int_equal(step(NATGW_CT_OK, 95, 0), NATGW_CT_CRITICAL);
        assert_int_equal(step(NATGW_CT_OK, 100, 0), NATGW_CT_FULL);
        /* Straight to full when the kernel drops, however empty the table looks. */
        assert_int_equal(step(NATGW_CT_OK, 10, 1), NATGW_CT_FULL);
        assert_int_equal(natgw_ct_level_next(NATGW_CT_OK, 80, 95, MAX_ENTRIES, MAX_ENTRIES, 0), NATGW_CT_FULL);
        assert_int_equal(natgw_ct_level_next(NATGW_CT_OK, 80, 95, MAX_ENTRIES + 5, MAX_ENTRIES, 0), NATGW_CT_FULL);
        /* Unknown max: nothing to say. */
        assert_int_equal(natgw_ct_level_next(NATGW_CT_WARN, 80, 95, 100, 0, 0), NATGW_CT_OK);
}

static void test_levels_hysteresis(void **state) {
        /* warn holds down to 75 %, clears below. */
        assert_int_equal(step(NATGW_CT_WARN, 79, 0), NATGW_CT_WARN);
        assert_int_equal(step(NATGW_CT_WARN, 75, 0), NATGW_CT_WARN);
        assert_int_equal(step(NATGW_CT_WARN, 74.9, 0), NATGW_CT_OK);
        /* critical holds down to 90 %, then the table is still warn. */
        assert_int_equal(step(NATGW_CT_CRITICAL, 91, 0), NATGW_CT_CRITICAL);
        assert_int_equal(step(NATGW_CT_CRITICAL, 89, 0), NATGW_CT_WARN);
        assert_int_equal(step(NATGW_CT_CRITICAL, 70, 0), NATGW_CT_OK);
        /* full holds while drops go on, and down to 95 % without them. */
        assert_int_equal(step(NATGW_CT_FULL, 50, 3), NATGW_CT_FULL);
        assert_int_equal(step(NATGW_CT_FULL, 96, 0), NATGW_CT_FULL);
        assert_int_equal(step(NATGW_CT_FULL, 94, 0), NATGW_CT_CRITICAL);
        assert_int_equal(step(NATGW_CT_FULL, 0, 0), NATGW_CT_OK);
}

static void test_levels_hover(void **state) {
        /* A table hovering around a threshold changes level once, not once per check. */
        enum natgw_ct_level l = NATGW_CT_OK;
        unsigned changes = 0;

        for (int i = 0; i < 1000; i++) {
                enum natgw_ct_level n = step(l, 80.0 + ((i % 7) - 3) * 0.7, 0);

                changes += n != l;
                l = n;
        }
        assert_int_equal(changes, 1);
        assert_int_equal(l, NATGW_CT_WARN);
        assert_string_equal(natgw_ct_level_to_string(NATGW_CT_CRITICAL), "critical");
        assert_string_equal(natgw_ct_level_to_string(_NATGW_CT_LEVEL_MAX), "?");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_levels_rise),
                cmocka_unit_test(test_levels_hysteresis),
                cmocka_unit_test(test_levels_hover),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

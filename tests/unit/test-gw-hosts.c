/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * metrics.hosts' pure parts: the four sets merged into one row per host (nft-hosts.c), the
 * entry a host leaves by, and natgwctl top's rates and ranking (gw-hosts.c).
 */

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gw-hosts.h"
#include "nft-hosts.h"
#include "util.h"

static struct natgw_addr addr(const char *s) {
        struct natgw_addr a;

        assert_int_equal(natgw_addr_parse(s, &a), 0);
        return a;
}

/* Elements of the four sets in the order a dump may give them: one row per host, each
 * direction its own set's counter, sorted by address with IPv4 first. */
static void test_merge(void **state) {
        struct natgw_host_count v[] = {
                { addr("192.168.1.66"), true, 10, 10000 },  { addr("fd00:1::10"), false, 3, 300 },
                { addr("192.168.1.10"), false, 7, 700 },    { addr("192.168.1.66"), false, 20, 2000 },
                { addr("192.168.1.10"), true, 1, 100 },     { addr("10.0.0.1"), true, 5, 5 },
        };
        _cleanup_(freep) struct natgw_host *rows = NULL;
        size_t n;

        assert_int_equal(natgw_hosts_merge(v, ELEMENTSOF(v), &rows, &n), 0);
        assert_int_equal(n, 4);
        assert_true(natgw_addr_cmp(&rows[0].addr, &(struct natgw_addr[]){ addr("10.0.0.1") }[0]) == 0);
        assert_true(natgw_addr_cmp(&rows[1].addr, &(struct natgw_addr[]){ addr("192.168.1.10") }[0]) == 0);
        assert_int_equal(rows[1].bytes_out, 100);
        assert_int_equal(rows[1].bytes_in, 700);
        assert_int_equal(rows[1].packets_in, 7);
        assert_int_equal(rows[2].bytes_out, 10000);
        assert_int_equal(rows[2].bytes_in, 2000);
        assert_int_equal(rows[3].addr.family, AF_INET6);
        assert_int_equal(rows[3].bytes_out, 0);
        assert_int_equal(rows[3].bytes_in, 300);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(rows[i].entry, -1);
        free(rows);
        assert_int_equal(natgw_hosts_merge(NULL, 0, &rows, &n), 0);
        assert_int_equal(n, 0);
}

/* The most specific egress source wins whatever the order; a forward's target otherwise. */
static void test_entry(void **state) {
        struct natgw_prefix wide = { addr("192.168.0.0"), 16 }, narrow = { addr("192.168.1.64"), 26 };
        struct natgw_egress eg[2] = {
                { .name = "wide", .sources = &wide, .n_sources = 1 },
                { .name = "narrow", .sources = &narrow, .n_sources = 1 },
        };
        struct natgw_forward fw[1] = { { .name = "web", .to = addr("10.1.1.1") } };
        struct natgw_config c = { .egress = eg, .n_egress = 2, .forwards = fw, .n_forwards = 1 };

        assert_int_equal(natgw_host_entry(&c, &(struct natgw_addr[]){ addr("192.168.1.66") }[0]), 1);
        assert_int_equal(natgw_host_entry(&c, &(struct natgw_addr[]){ addr("192.168.1.10") }[0]), 0);
        assert_int_equal(natgw_host_entry(&c, &(struct natgw_addr[]){ addr("10.1.1.1") }[0]), 2);
        assert_int_equal(natgw_host_entry(&c, &(struct natgw_addr[]){ addr("10.1.1.2") }[0]), -1);
        assert_string_equal(natgw_config_entry_name(&c, 2), "web");
        assert_null(natgw_config_entry_name(&c, 3));
        assert_null(natgw_config_entry_name(&c, -1));
}

/* Rates are the growth over the time between readings; a new host, or one whose element came
 * back (its counter went down), counts all it has. Ranked by rate, then bytes, then address. */
static void test_rates(void **state) {
        struct natgw_host prev_h[] = {
                { .addr = addr("10.0.0.1"), .bytes_out = 1000, .bytes_in = 500 },
                { .addr = addr("10.0.0.2"), .bytes_out = 9000000, .bytes_in = 0 },
                { .addr = addr("10.0.0.3"), .bytes_out = 5000, .bytes_in = 5000 },
        };
        struct natgw_host cur_h[] = {
                { .addr = addr("10.0.0.1"), .bytes_out = 3000, .bytes_in = 1500 }, /* +2000, +1000 in 2 s */
                { .addr = addr("10.0.0.2"), .bytes_out = 9000000, .bytes_in = 0 }, /* quiet, most bytes */
                { .addr = addr("10.0.0.3"), .bytes_out = 400, .bytes_in = 0 },     /* came back: 400 */
                { .addr = addr("10.0.0.4"), .bytes_out = 4000, .bytes_in = 0 },    /* new: 4000 */
                { .addr = addr("10.0.0.5"), .bytes_out = 0, .bytes_in = 0 },       /* quiet, nothing */
        };
        int64_t conn[] = { 3, 0, 1, 2, -1 };
        struct natgw_top_sample prev = { .hosts = prev_h, .n = 3, .usec = 10000000 };
        struct natgw_top_sample cur = { .hosts = cur_h, .connections = conn, .n = 5, .usec = 12000000 };
        _cleanup_(freep) struct natgw_top_row *rows = NULL;
        static const char *const order[] = { "10.0.0.4", "10.0.0.1", "10.0.0.3", "10.0.0.2", "10.0.0.5" };
        char a[INET6_ADDRSTRLEN];
        size_t n;

        assert_int_equal(natgw_top_rates(&prev, &cur, &rows, &n), 0);
        assert_int_equal(n, 5);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(natgw_addr_format(&rows[i].addr, a, sizeof(a)), order[i]);
        assert_true(rows[0].rate_out == 2000.0); /* 4000 bytes over 2 s */
        assert_int_equal(rows[0].connections, 2);
        assert_true(rows[1].rate_out == 1000.0 && rows[1].rate_in == 500.0);
        assert_int_equal(rows[1].connections, 3);
        assert_true(rows[2].rate_out == 200.0 && rows[2].rate_in == 0.0);
        assert_true(rows[3].rate_out == 0.0);
        assert_int_equal(rows[3].bytes_out, 9000000);
        assert_int_equal(rows[4].connections, -1);
        assert_null(rows[0].entry);
}

/* Equal rates: the one with more bytes first, then the lower address. */
static void test_sort_ties(void **state) {
        struct natgw_top_row rows[] = {
                { .addr = addr("10.0.0.9"), .rate_out = 5, .bytes_out = 10 },
                { .addr = addr("10.0.0.1"), .rate_out = 5, .bytes_out = 10 },
                { .addr = addr("10.0.0.5"), .rate_in = 5, .bytes_in = 20 },
                { .addr = addr("10.0.0.7"), .rate_out = 6 },
        };
        static const char *const order[] = { "10.0.0.7", "10.0.0.5", "10.0.0.1", "10.0.0.9" };
        char a[INET6_ADDRSTRLEN];

        natgw_top_sort(rows, ELEMENTSOF(rows));
        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                assert_string_equal(natgw_addr_format(&rows[i].addr, a, sizeof(a)), order[i]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_merge),
                cmocka_unit_test(test_entry),
                cmocka_unit_test(test_rates),
                cmocka_unit_test(test_sort_ties),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

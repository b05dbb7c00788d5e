/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The bounded top-N summary of a conntrack dump (ct-top.c).
 */

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ct-top.h"
#include "util.h"

static struct natgw_addr v4(uint32_t a) {
        struct natgw_addr x = { .family = AF_INET };

        x.v4.s_addr = htonl(a);
        return x;
}

static void test_summary_exact(void **state) {
        _cleanup_(natgw_ct_summary_freep) struct natgw_ct_summary *s = NULL;
        _cleanup_(freep) struct natgw_ct_count *top = NULL;
        bool approx = true;
        size_t n;

        assert_int_equal(natgw_ct_summary_new(64, &s), 0);
        /* 50 distinct keys, key i seen i + 1 times. */
        for (uint32_t i = 0; i < 50; i++)
                for (uint32_t k = 0; k <= i; k++)
                        natgw_ct_summary_add(s, &(struct natgw_addr[]){ v4(0x0a000000 + i) }[0], 0, 0);
        assert_int_equal(natgw_ct_summary_top(s, 5, &top, &n, &approx), 0);
        assert_false(approx);
        assert_int_equal(n, 5);
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(top[i].count, 50 - i);
                assert_int_equal(top[i].error, 0);
                assert_int_equal(ntohl(top[i].addr.v4.s_addr), 0x0a000000 + 49 - i);
        }
}

static void test_summary_heavy_hitters(void **state) {
        _cleanup_(natgw_ct_summary_freep) struct natgw_ct_summary *s = NULL;
        _cleanup_(freep) struct natgw_ct_count *top = NULL;
        const uint64_t truth[3] = { 1500, 1200, 900 };
        bool approx = false, seen[3] = {};
        size_t n;

        /* 16 slots, 3,000 one-off keys interleaved with three heavy ones: 6,600 entries, so every
         * key above 6,600 / 16 = 412 is guaranteed to be kept (Space-Saving's bound). */
        assert_int_equal(natgw_ct_summary_new(16, &s), 0);
        for (uint32_t i = 0; i < 3000; i++) {
                natgw_ct_summary_add(s, &(struct natgw_addr[]){ v4(0xc0a80000 + i) }[0], 0, 0);
                for (uint32_t h = 0; h < 3; h++)
                        if (i < truth[h])
                                natgw_ct_summary_add(s, &(struct natgw_addr[]){ v4(0x0a630000 + h) }[0], 80, 6);
        }
        assert_int_equal(natgw_ct_summary_top(s, 3, &top, &n, &approx), 0);
        assert_true(approx);
        assert_int_equal(n, 3);
        for (size_t i = 0; i < 3; i++) {
                uint32_t h = ntohl(top[i].addr.v4.s_addr) - 0x0a630000;

                assert_true(h < 3);
                seen[h] = true;
                assert_int_equal(top[i].port, 80);
                /* Never under, over by at most the reported error. */
                assert_true(top[i].count >= truth[h]);
                assert_true(top[i].count - top[i].error <= truth[h]);
        }
        assert_true(seen[0] && seen[1] && seen[2]);
}

static void test_summary_ipv6_and_ports(void **state) {
        _cleanup_(natgw_ct_summary_freep) struct natgw_ct_summary *s = NULL;
        _cleanup_(freep) struct natgw_ct_count *top = NULL;
        struct natgw_addr a = { .family = AF_INET6 };
        size_t n;

        assert_int_equal(natgw_ct_summary_new(8, &s), 0);
        assert_int_equal(inet_pton(AF_INET6, "2001:db8::7", &a.v6), 1);
        natgw_ct_summary_add(s, &a, 53, IPPROTO_UDP);
        natgw_ct_summary_add(s, &a, 53, IPPROTO_UDP);
        natgw_ct_summary_add(s, &a, 53, IPPROTO_TCP);
        natgw_ct_summary_add(s, &a, 443, IPPROTO_TCP);
        assert_int_equal(natgw_ct_summary_top(s, 10, &top, &n, NULL), 0);
        assert_int_equal(n, 3);
        assert_int_equal(top[0].count, 2);
        assert_int_equal(top[0].port, 53);
        assert_int_equal(top[0].l4proto, IPPROTO_UDP);
        assert_int_equal(top[0].addr.family, AF_INET6);
        assert_int_equal(natgw_ct_summary_new(0, &s), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_summary_exact),
                cmocka_unit_test(test_summary_heavy_hitters),
                cmocka_unit_test(test_summary_ipv6_and_ports),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

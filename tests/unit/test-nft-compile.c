/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The compiler (config -> plan), without the kernel: exact map names, keys and data bytes,
 * egress precedence, element limits. The batch is tested in test-nft-batch.c.
 */

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "nft-plan.h"
#include "util.h"

#include "nft-test.h"

/* The saddr range of egress element i, as text "LO-HI", and its entry's name. */
static void egress_elem(const struct natgw_plan *p, const struct natgw_map *m, size_t i, char *buf, size_t size) {
        char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN];
        const uint8_t *k = m->keys + i * 2 * m->key_len;

        inet_ntop(m->family, k + IFNAMSIZ, lo, sizeof(lo));
        inet_ntop(m->family, k + m->key_len + IFNAMSIZ, hi, sizeof(hi));
        snprintf(buf, size, "%s %s-%s %s", (const char *)k, lo, hi, natgw_plan_entry_name(p, m->entry[i]));
}

static void assert_egress(const struct natgw_plan *p, const char *map, size_t n, const char *const *want) {
        const struct natgw_map *m = find_map(p, map);
        char got[128];

        assert_non_null(m);
        assert_true(m->interval);
        assert_int_equal(m->n, n);
        for (size_t i = 0; i < n; i++) {
                egress_elem(p, m, i, got, sizeof(got));
                assert_string_equal(got, want[i]);
        }
}

/* ---- egress ---- */

static void test_egress_most_specific_wins(void **state) {
        static const char *const want[] = {
                "eth0 192.168.0.0-192.168.1.63 wide",
                "eth0 192.168.1.64-192.168.1.127 narrow",
                "eth0 192.168.1.128-192.168.255.255 wide",
        };
        struct natgw_prefix wide = P("192.168.0.0", 16), narrow = P("192.168.1.64", 26);

        /* The same intervals whichever entry comes first in the file. */
        for (int order = 0; order < 2; order++) {
                struct natgw_config *c = config_new();
                struct natgw_plan *p;

                if (order == 0) {
                        egress_add(c, "wide", "eth0", NATGW_EGRESS_MASQUERADE, 1, &wide);
                        egress_add(c, "narrow", "eth0", NATGW_EGRESS_SNAT, 1, &narrow);
                } else {
                        egress_add(c, "narrow", "eth0", NATGW_EGRESS_SNAT, 1, &narrow);
                        egress_add(c, "wide", "eth0", NATGW_EGRESS_MASQUERADE, 1, &wide);
                }
                c->egress[c->n_egress - 1].to_lo = c->egress[c->n_egress - 1].to_hi = A("203.0.113.10");
                p = build(c);
                assert_egress(p, "egress4", ELEMENTSOF(want), want);
                assert_null(find_map(p, "egress6"));
                natgw_plan_free(p);
                config_done(c);
        }
}

static void test_egress_whole_space_and_nesting(void **state) {
        static const char *const want4[] = {
                "wan 0.0.0.0-9.255.255.255 all",
                "wan 10.0.0.0-10.0.255.255 ten",
                "wan 10.1.0.0-10.1.0.255 deep",
                "wan 10.1.1.0-10.255.255.255 ten",
                "wan 11.0.0.0-255.255.255.255 all",
        };
        static const char *const want6[] = {
                "wan ::-fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff all",
                "wan fd00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ten",
                "wan fe00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff all",
        };
        struct natgw_prefix all[] = { P("0.0.0.0", 0), P("::", 0) };
        struct natgw_prefix ten[] = { P("10.0.0.0", 8), P("fd00::", 8) };
        struct natgw_prefix deep = P("10.1.0.0", 24);
        struct natgw_config *c = config_new();
        struct natgw_plan *p;

        egress_add(c, "all", "wan", NATGW_EGRESS_MASQUERADE, 2, all);
        egress_add(c, "deep", "wan", NATGW_EGRESS_MASQUERADE, 1, &deep);
        egress_add(c, "ten", "wan", NATGW_EGRESS_MASQUERADE, 2, ten);
        p = build(c);
        assert_egress(p, "egress4", ELEMENTSOF(want4), want4);
        assert_egress(p, "egress6", ELEMENTSOF(want6), want6);
        natgw_plan_free(p);
        config_done(c);
}

static void test_egress_interfaces_apart(void **state) {
        static const char *const want[] = {
                "eth0 192.168.1.0-192.168.1.255 a",
                "ppp0 192.168.1.0-192.168.1.127 b",
        };
        struct natgw_prefix a = P("192.168.1.0", 24), b = P("192.168.1.0", 25);
        struct natgw_config *c = config_new();
        struct natgw_plan *p;

        egress_add(c, "b", "ppp0", NATGW_EGRESS_MASQUERADE, 1, &b);
        egress_add(c, "a", "eth0", NATGW_EGRESS_MASQUERADE, 1, &a);
        p = build(c);
        assert_egress(p, "egress4", ELEMENTSOF(want), want);
        natgw_plan_free(p);
        config_done(c);
}

/* ---- forwards ---- */

static void assert_fwd_elem(const struct natgw_map *m, size_t i, const char *ifname, uint8_t proto,
                            uint16_t port, const char *to, uint16_t to_port) {
        const uint8_t *k = m->keys + i * m->key_len * (m->interval ? 2 : 1);
        const uint8_t *d = m->data + i * m->data_len;
        struct natgw_addr want = A(to);
        uint32_t alen = m->family == AF_INET ? 4 : 16, off = 0;
        uint16_t p;

        if (ifname) {
                assert_string_equal((const char *)k, ifname);
                off += IFNAMSIZ;
        }
        off = m->key_len - 8; /* proto and port are the last two fields */
        assert_int_equal(k[off], proto);
        assert_int_equal(k[off + 1] | k[off + 2] | k[off + 3], 0);
        memcpy(&p, k + off + 4, 2);
        assert_int_equal(ntohs(p), port);
        assert_memory_equal(d, want.bytes, alen);
        memcpy(&p, d + alen, 2);
        assert_int_equal(ntohs(p), to_port);
}

static void test_forward_single_and_rewrite(void **state) {
        struct natgw_config *c = config_new();
        struct natgw_forward *f;
        const struct natgw_map *m;
        struct natgw_plan *p;

        f = forward_add(c, "web", "eth0", NATGW_PROTO_TCP, 8080, 8080, "192.168.1.66");
        f->to_port_mode = NATGW_TO_PORT_SINGLE;
        f->to_port = (struct natgw_port_range){ 80, 80 };
        forward_add(c, "game", "eth0", NATGW_PROTO_TCP | NATGW_PROTO_UDP, 6000, 6000, "192.168.1.20");
        p = build(c);
        assert_int_equal(p->n_maps, 1);
        m = find_map(p, "fwd4_if");
        assert_non_null(m);
        assert_false(m->interval);
        assert_int_equal(m->key_len, 16 + 4 + 4);
        assert_int_equal(m->data_len, 8);
        assert_int_equal(m->protos, NATGW_PROTO_TCP | NATGW_PROTO_UDP);
        assert_int_equal(m->n, 3);
        assert_fwd_elem(m, 0, "eth0", IPPROTO_TCP, 8080, "192.168.1.66", 80);
        assert_fwd_elem(m, 1, "eth0", IPPROTO_TCP, 6000, "192.168.1.20", 6000);
        assert_fwd_elem(m, 2, "eth0", IPPROTO_UDP, 6000, "192.168.1.20", 6000);
        assert_string_equal(natgw_plan_entry_name(p, m->entry[2]), "game");
        assert_int_equal(natgw_plan_entry_line(p, m->entry[0]), 101);
        natgw_plan_free(p);
        config_done(c);
}

static void test_forward_range_to_range(void **state) {
        struct natgw_config *c = config_new();
        struct natgw_forward *f;
        const struct natgw_map *m;
        struct natgw_plan *p;

        f = forward_add(c, "rtp", "", NATGW_PROTO_UDP, 7000, 7009, "192.168.1.66");
        f->to_port_mode = NATGW_TO_PORT_RANGE;
        f->to_port = (struct natgw_port_range){ 9000, 9009 };
        p = build(c);
        m = find_map(p, "fwd4");
        assert_non_null(m);
        assert_int_equal(m->n_fields, 2);
        assert_int_equal(m->n, 10);
        for (uint16_t i = 0; i < 10; i++)
                assert_fwd_elem(m, i, NULL, IPPROTO_UDP, (uint16_t)(7000 + i), "192.168.1.66", (uint16_t)(9000 + i));
        natgw_plan_free(p);
        config_done(c);
}

static void test_forward_shapes(void **state) {
        struct natgw_prefix office = P("198.51.100.0", 24);
        struct natgw_config *c = config_new();
        const struct natgw_map *m;
        struct natgw_forward *f;
        struct natgw_plan *p;
        char lo[INET_ADDRSTRLEN], hi[INET_ADDRSTRLEN];

        f = forward_add(c, "dst", "", NATGW_PROTO_TCP, 443, 443, "192.168.1.10");
        f->has_destination = true;
        f->destination = A("203.0.113.10");
        f = forward_add(c, "ftp", "eth0", NATGW_PROTO_TCP, 50000, 50001, "192.168.1.30");
        f->allow_from = calloc(1, sizeof(office));
        f->allow_from[0] = office;
        f->n_allow_from = 1;
        f = forward_add(c, "api6", "eth0", NATGW_PROTO_TCP, 443, 443, "fd00:1::10");
        f->to_port_mode = NATGW_TO_PORT_SINGLE;
        f->to_port = (struct natgw_port_range){ 8443, 8443 };
        p = build(c);
        assert_int_equal(p->n_maps, 3);
        /* Fixed order: IPv4 maps by shape, then IPv6. */
        assert_string_equal(p->maps[0].name, "fwd4_dst");
        assert_string_equal(p->maps[1].name, "fwd4_if_src");
        assert_string_equal(p->maps[2].name, "fwd6_if");

        m = &p->maps[0];
        assert_int_equal(m->fields[0], NATGW_FIELD_DADDR);
        assert_memory_equal(m->keys, A("203.0.113.10").bytes, 4);

        m = &p->maps[1];
        assert_true(m->interval);
        assert_int_equal(m->key_len, 16 + 4 + 4 + 4);
        assert_int_equal(m->n, 2);
        inet_ntop(AF_INET, m->keys + 16, lo, sizeof(lo));
        inet_ntop(AF_INET, m->keys + m->key_len + 16, hi, sizeof(hi));
        assert_string_equal(lo, "198.51.100.0");
        assert_string_equal(hi, "198.51.100.255");
        /* Outside the address field, start and end of an interval key are equal. */
        assert_memory_equal(m->keys, m->keys + m->key_len, 16);
        assert_memory_equal(m->keys + 20, m->keys + m->key_len + 20, 8);

        m = &p->maps[2];
        assert_int_equal(m->family, AF_INET6);
        assert_int_equal(m->data_len, 20);
        assert_fwd_elem(m, 0, "eth0", IPPROTO_TCP, 443, "fd00:1::10", 8443);
        natgw_plan_free(p);
        config_done(c);
}

static void test_forward_allow_from_nested(void **state) {
        struct natgw_prefix pre[] = { P("198.51.100.7", 32), P("198.51.100.0", 24), P("203.0.113.0", 25),
                                      P("203.0.113.0", 24) };
        struct natgw_config *c = config_new();
        const struct natgw_map *m;
        struct natgw_forward *f;
        struct natgw_plan *p;
        char lo[INET_ADDRSTRLEN], hi[INET_ADDRSTRLEN];

        f = forward_add(c, "ssh", "eth0", NATGW_PROTO_TCP, 22, 22, "192.168.1.66");
        f->allow_from = calloc(ELEMENTSOF(pre), sizeof(pre[0]));
        memcpy(f->allow_from, pre, sizeof(pre));
        f->n_allow_from = ELEMENTSOF(pre);
        p = build(c);
        m = find_map(p, "fwd4_if_src");
        assert_non_null(m);
        /* Only the two outer prefixes remain: overlapping intervals would be rejected. */
        assert_int_equal(m->n, 2);
        inet_ntop(AF_INET, m->keys + 16, lo, sizeof(lo));
        inet_ntop(AF_INET, m->keys + m->key_len + 16, hi, sizeof(hi));
        assert_string_equal(lo, "198.51.100.0");
        assert_string_equal(hi, "198.51.100.255");
        inet_ntop(AF_INET, m->keys + 2 * m->key_len + 16, lo, sizeof(lo));
        assert_string_equal(lo, "203.0.113.0");
        natgw_plan_free(p);
        config_done(c);
}

static void test_forward_too_many_elements(void **state) {
        struct natgw_prefix many[100];
        struct natgw_config *c = config_new();
        struct natgw_errors errors = {};
        struct natgw_forward *f;
        struct natgw_plan *p = NULL;

        for (size_t i = 0; i < ELEMENTSOF(many); i++)
                many[i] = P("198.51.100.0", 24);
        f = forward_add(c, "huge", "eth0", NATGW_PROTO_TCP | NATGW_PROTO_UDP, 1, 65535, "192.168.1.30");
        f->allow_from = calloc(ELEMENTSOF(many), sizeof(many[0]));
        memcpy(f->allow_from, many, sizeof(many));
        f->n_allow_from = ELEMENTSOF(many);
        assert_int_equal(natgw_plan_build(c, &p, &errors), -EINVAL);
        assert_null(p);
        assert_int_equal(errors.n, 1);
        assert_string_equal(errors.v[0].entry, "huge");
        assert_int_equal(errors.v[0].line, 101);
        natgw_errors_clear(&errors);
        config_done(c);
}

/* ---- the batch ---- */

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_egress_most_specific_wins),
                cmocka_unit_test(test_egress_whole_space_and_nesting),
                cmocka_unit_test(test_egress_interfaces_apart),
                cmocka_unit_test(test_forward_single_and_rewrite),
                cmocka_unit_test(test_forward_range_to_range),
                cmocka_unit_test(test_forward_shapes),
                cmocka_unit_test(test_forward_allow_from_nested),
                cmocka_unit_test(test_forward_too_many_elements),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

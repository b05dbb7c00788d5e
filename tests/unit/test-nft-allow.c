/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Allow lists compiled into the allow4/allow6 sets: the elements are pairwise disjoint (the
 * kernel refuses overlapping elements in a concatenated interval set), and a packet matches an
 * element of its entry exactly when the model's natgw_egress_allows() says the entry allows it
 * (the oracle reads the rules one by one; the compiler cuts them into boxes). Random lists of
 * overlapping rules, nested prefixes and port ranges, and the policy map that sends each
 * source to the entry with the most specific prefix.
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "conf.h"
#include "nft-plan.h"
#include "util.h"

static struct natgw_config *load(const char *text) {
        struct natgw_errors errors = {};
        struct natgw_config *c = NULL;
        int r = natgw_config_load_string(text, "test.conf", &c, &errors);

        if (r < 0)
                for (size_t i = 0; i < errors.n; i++) {
                        _cleanup_(freep) char *s = natgw_error_format(&errors.v[i]);

                        print_message("%s\n", s);
                }
        natgw_errors_clear(&errors);
        assert_int_equal(r, 0);
        return c;
}

static const struct natgw_map *find_map(const struct natgw_plan *p, const char *name) {
        for (size_t i = 0; i < p->n_maps; i++)
                if (streq(p->maps[i].name, name))
                        return &p->maps[i];
        return NULL;
}

/* One element of an allow set, decoded: [lo, hi] per field (entry, proto, daddr, dport). */
struct box {
        uint64_t lo[4], hi[4];
};

static uint64_t field(const uint8_t *k, size_t off, size_t len) {
        uint64_t v = 0;

        for (size_t i = 0; i < len; i++)
                v = v << 8 | k[off + i];
        return v;
}

/* IPv4 sets only: daddr(4) . dport(2, padded to 4) . proto(1, padded to 4) . entry(4); the box
 * in the order entry, proto, daddr, dport. */
static struct box box_of(const struct natgw_map *m, size_t i) {
        static const size_t off[4] = { 12, 8, 0, 4 }, len[4] = { 4, 1, 4, 2 };
        const uint8_t *k = m->keys + i * 2 * m->key_len;
        struct box b;

        assert_int_equal(m->key_len, 16);
        for (int f = 0; f < 4; f++) {
                b.lo[f] = field(k, off[f], len[f]);
                b.hi[f] = field(k + m->key_len, off[f], len[f]);
                assert_true(b.lo[f] <= b.hi[f]);
        }
        return b;
}

static bool boxes_meet(const struct box *a, const struct box *b) {
        for (int f = 0; f < 4; f++)
                if (a->hi[f] < b->lo[f] || b->hi[f] < a->lo[f])
                        return false;
        return true;
}

static bool set_matches(const struct natgw_map *m, uint64_t entry, uint64_t proto, uint64_t daddr, uint64_t dport) {
        const uint64_t v[4] = { entry, proto, daddr, dport };

        for (size_t i = 0; m && i < m->n; i++) {
                struct box b = box_of(m, i);
                bool in = true;

                for (int f = 0; f < 4 && in; f++)
                        in = b.lo[f] <= v[f] && v[f] <= b.hi[f];
                if (in)
                        return true;
        }
        return false;
}

/* A random rule: prefixes nested inside 198.51.100.0/24 (or none), few ports, so that rules
 * overlap, nest and cover each other often. */
static size_t random_rule(char *buf, size_t size) {
        static const char *const protos[] = { "tcp", "udp", "tcp+udp", "icmp", "all" };
        const char *proto = protos[rand() % 5];
        size_t n = (size_t)snprintf(buf, size, "{ proto = \"%s\"; ", proto);

        if (rand() % 4) {
                unsigned len = 24 + (unsigned)(rand() % 9);
                unsigned host = ((unsigned)rand() % 256) & ~((1u << (32 - len)) - 1) & 255;

                n += (size_t)snprintf(buf + n, size - n, "to = \"198.51.100.%u/%u\"; ", host, len);
        }
        if ((streq(proto, "tcp") || streq(proto, "udp") || streq(proto, "tcp+udp")) && rand() % 3) {
                unsigned lo = 1 + (unsigned)(rand() % 20), hi = lo + (unsigned)(rand() % 4);

                n += (size_t)snprintf(buf + n, size - n, "port = \"%u-%u\"; ", lo, hi);
        }
        n += (size_t)snprintf(buf + n, size - n, "}");
        return n;
}

static void test_random_lists(void **state) {
        static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_GRE };
        char *text = malloc(65536);

        (void)state;
        assert_non_null(text);
        srand(14);
        for (int round = 0; round < 150; round++) {
                _cleanup_(natgw_plan_freep) struct natgw_plan *p = NULL;
                struct natgw_errors errors = {};
                struct natgw_config *c;
                const struct natgw_map *m;
                size_t n = (size_t)snprintf(text, 65536, "version = 1;\nmasquerade = (\n");

                for (int e = 0; e < 3; e++) {
                        int rules = rand() % 7;

                        n += (size_t)snprintf(text + n, 65536 - n,
                                              "%s{ name = \"e%d\"; source = \"10.%d.0.0/16\"; out_interface = \"eth0\"; "
                                              "allow = ( ", e ? ",\n" : "", e, e);
                        for (int r = 0; r < rules; r++) {
                                n += (size_t)snprintf(text + n, 65536 - n, "%s", r ? ", " : "");
                                n += random_rule(text + n, 65536 - n);
                        }
                        n += (size_t)snprintf(text + n, 65536 - n, " ); }");
                }
                snprintf(text + n, 65536 - n, "\n);\n");
                c = load(text);
                assert_int_equal(natgw_plan_build(c, &p, &errors), 0);
                m = find_map(p, "allow4");

                for (size_t i = 0; m && i < m->n; i++)
                        for (size_t j = i + 1; j < m->n; j++) {
                                struct box a = box_of(m, i), b = box_of(m, j);

                                if (boxes_meet(&a, &b))
                                        fail_msg("round %d: elements %zu and %zu overlap in\n%s", round, i, j, text);
                        }
                for (int k = 0; k < 600; k++) {
                        uint32_t entry = (uint32_t)(rand() % 3);
                        uint8_t proto = protos[rand() % 4];
                        uint16_t dport = (uint16_t)(rand() % 26);
                        struct natgw_addr d = { .family = AF_INET };
                        uint32_t a = htonl(rand() % 8 ? 0xc6336400u | (uint32_t)(rand() % 256)
                                                       : (uint32_t)rand());
                        bool want;

                        memcpy(d.bytes, &a, 4);
                        want = natgw_egress_allows(&c->egress[entry], proto, &d, dport);
                        if (set_matches(m, entry, proto, ntohl(a), dport) != want)
                                fail_msg("round %d: entry e%u proto %u %08x port %u: the model says %s\n%s", round,
                                         entry, proto, ntohl(a), dport, want ? "allowed" : "denied", text);
                }
                natgw_config_free(c);
        }
        free(text);
}

/* The forward filter's policy map: each source goes to its most specific entry's chain (an
 * entry with a list) or is accepted (one without), as the egress map does for NAT. */
static void test_policy_map(void **state) {
        _cleanup_(natgw_plan_freep) struct natgw_plan *p = NULL;
        _cleanup_(natgw_config_freep) struct natgw_config *c =
                load("version = 1;\n"
                     "masquerade = (\n"
                     "  { name = \"lan\"; source = \"10.0.5.0/24\"; out_interface = \"eth0\";\n"
                     "    allow = ( { proto = \"udp\"; port = 53; } ); },\n"
                     "  { name = \"db\"; source = \"10.0.5.9/32\"; out_interface = \"eth0\"; },\n"
                     "  { name = \"v6\"; source = \"fd00::/64\"; out_interface = \"eth0\";\n"
                     "    allow = ( { to = \"2001:db8::/32\"; proto = \"icmp\"; } ); }\n"
                     ");\n");
        struct natgw_errors errors = {};
        const struct natgw_map *pol, *a6;

        (void)state;
        assert_int_equal(natgw_plan_build(c, &p, &errors), 0);
        assert_true(p->forward_chain);
        pol = find_map(p, "policy4");
        assert_non_null(pol);
        /* 10.0.5.0-8 and 10.0.5.10-255 to lan's chain, 10.0.5.9 accepted (db has no list). */
        assert_int_equal(pol->n, 3);
        for (size_t i = 0; i < pol->n; i++) {
                const uint8_t *k = pol->keys + i * 2 * pol->key_len + IFNAMSIZ;
                bool db = k[3] == 9 && k[pol->key_len + 3] == 9;

                assert_int_equal(pol->entry[i], db ? 1 : 0);
                assert_int_equal(natgw_policy_to_chain(p, pol, i), !db);
        }
        /* IPv6 ICMP means ICMPv6, to 2001:db8::/32 only. */
        a6 = find_map(p, "allow6");
        assert_non_null(a6);
        assert_int_equal(a6->n, 1);
        assert_int_equal(a6->keys[20], IPPROTO_ICMPV6); /* daddr(16) . dport(4) . proto */
        assert_int_equal(a6->keys[a6->key_len + 20], IPPROTO_ICMPV6);
        assert_non_null(find_map(p, "allow4")); /* lan: udp 53 */
}

/* No allow list and no filter: no forward chain, no policy or allow map (the table is what it
 * was before issue 14). */
static void test_nothing_new(void **state) {
        _cleanup_(natgw_plan_freep) struct natgw_plan *p = NULL;
        _cleanup_(natgw_config_freep) struct natgw_config *c =
                load("version = 1;\n"
                     "masquerade = ( { name = \"lan\"; source = \"10.0.5.0/24\"; out_interface = \"eth0\"; } );\n");
        struct natgw_errors errors = {};

        (void)state;
        assert_int_equal(natgw_plan_build(c, &p, &errors), 0);
        assert_false(p->forward_chain);
        assert_int_equal(p->n_maps, 1);
        assert_string_equal(p->maps[0].name, "egress4");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_random_lists),
                cmocka_unit_test(test_policy_map),
                cmocka_unit_test(test_nothing_new),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

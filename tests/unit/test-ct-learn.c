/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Learn mode's proposal: every observed flow is allowed by the proposed list (checked with the
 * model's own natgw_egress_allows()), destinations are folded as natgw_learn_propose() says,
 * services merge, and a destination never seen stays denied.
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "ct-learn.h"
#include "util.h"

static struct natgw_learn_flow F(uint8_t proto, const char *daddr, uint16_t dport) {
        struct natgw_learn_flow f = { .l4proto = proto, .dport = dport };

        assert_int_equal(natgw_addr_parse(daddr, &f.daddr), 0);
        return f;
}

/* An egress entry with the proposed rules as its allow list (rules still owned by @v). */
static struct natgw_egress entry_of(struct natgw_learn_rule *v, size_t n, struct natgw_allow *buf) {
        for (size_t i = 0; i < n; i++)
                buf[i] = v[i].rule;
        return (struct natgw_egress){ .name = (char *)"t", .has_allow = true, .allow = buf, .n_allow = n };
}

static const struct natgw_learn_rule *find(const struct natgw_learn_rule *v, size_t n, unsigned protos,
                                           uint16_t port) {
        for (size_t i = 0; i < n; i++)
                if (v[i].rule.protos == protos &&
                    (port == 0 || (v[i].rule.n_ports > 0 && v[i].rule.ports[0].lo == port)))
                        return &v[i];
        return NULL;
}

static void test_fold(void **state) {
        struct natgw_learn_flow flows[64];
        struct natgw_learn_rule *v = NULL;
        struct natgw_allow buf[64];
        const struct natgw_learn_rule *r;
        char s[NATGW_PREFIX_STRLEN], a[32];
        size_t n = 0, nv = 0;
        struct natgw_egress e;

        (void)state;
        for (int i = 1; i <= 20; i++) { /* https to 20 hosts: any destination */
                snprintf(a, sizeof(a), "192.0.2.%d", i * 3);
                flows[n++] = F(IPPROTO_TCP, a, 443);
        }
        for (int i = 1; i <= 5; i++) { /* http to 5 hosts of one /24: the /24 */
                snprintf(a, sizeof(a), "198.51.100.%d", i);
                flows[n++] = F(IPPROTO_TCP, a, 80);
        }
        flows[n++] = F(IPPROTO_TCP, "203.0.113.7", 8080); /* two hosts, two ports: one rule */
        flows[n++] = F(IPPROTO_TCP, "203.0.113.8", 8081);
        flows[n++] = F(IPPROTO_TCP, "203.0.113.7", 8081);
        flows[n++] = F(IPPROTO_TCP, "203.0.113.8", 8080);
        flows[n++] = F(IPPROTO_UDP, "203.0.113.53", 53); /* DNS over both: tcp+udp */
        flows[n++] = F(IPPROTO_UDP, "203.0.113.53", 53);
        flows[n++] = F(IPPROTO_TCP, "203.0.113.53", 53);
        flows[n++] = F(IPPROTO_ICMP, "203.0.113.1", 0);
        flows[n++] = F(IPPROTO_ICMPV6, "2001:db8::1", 0);
        flows[n++] = F(IPPROTO_GRE, "203.0.113.99", 0);
        assert_int_equal(natgw_learn_propose(flows, n, &v, &nv), 0);

        r = find(v, nv, NATGW_PROTO_TCP, 443);
        assert_non_null(r);
        assert_int_equal(r->rule.n_to, 0);
        assert_int_equal(r->flows, 20);
        assert_int_equal(v[0].flows, 20); /* most flows first */
        r = find(v, nv, NATGW_PROTO_TCP, 80);
        assert_non_null(r);
        assert_int_equal(r->rule.n_to, 1);
        assert_string_equal(natgw_prefix_format(&r->rule.to[0], s, sizeof(s)), "198.51.100.0/24");
        r = find(v, nv, NATGW_PROTO_TCP, 8080);
        assert_non_null(r);
        assert_int_equal(r->rule.n_to, 2);
        assert_int_equal(r->rule.n_ports, 1);
        assert_int_equal(r->rule.ports[0].hi, 8081);
        assert_int_equal(r->flows, 4);
        r = find(v, nv, NATGW_PROTO_TCP | NATGW_PROTO_UDP, 53);
        assert_non_null(r);
        assert_int_equal(r->flows, 3);
        assert_string_equal(natgw_prefix_format(&r->rule.to[0], s, sizeof(s)), "203.0.113.53/32");
        r = find(v, nv, NATGW_PROTO_ICMP, 0);
        assert_non_null(r);
        assert_int_equal(r->rule.n_to, 2);
        r = find(v, nv, NATGW_PROTO_ALL, 0);
        assert_non_null(r);
        assert_int_equal(r->rule.n_to, 1);
        assert_int_equal(nv, 6);

        /* Every observed flow passes; what was never seen does not. */
        e = entry_of(v, nv, buf);
        for (size_t i = 0; i < n; i++)
                assert_true(natgw_egress_allows(&e, flows[i].l4proto, &flows[i].daddr, flows[i].dport));
        flows[0] = F(IPPROTO_TCP, "203.0.113.200", 80);
        assert_false(natgw_egress_allows(&e, IPPROTO_TCP, &flows[0].daddr, 80));
        flows[0] = F(IPPROTO_UDP, "203.0.113.7", 8080);
        assert_false(natgw_egress_allows(&e, IPPROTO_UDP, &flows[0].daddr, 8080));
        flows[0] = F(IPPROTO_TCP, "203.0.113.7", 8082);
        assert_false(natgw_egress_allows(&e, IPPROTO_TCP, &flows[0].daddr, 8082));
        natgw_learn_rules_free(v, nv);
}

/* Random flows: the proposal always covers every one of them. */
static void test_random_covered(void **state) {
        static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_GRE };
        struct natgw_learn_flow flows[300];
        struct natgw_allow buf[300];

        (void)state;
        srand(7);
        for (int round = 0; round < 200; round++) {
                struct natgw_learn_rule *v = NULL;
                size_t n = (size_t)(rand() % 300), nv = 0;
                struct natgw_egress e;

                for (size_t i = 0; i < n; i++) {
                        uint32_t a = htonl(0xc6336400u + (uint32_t)(rand() % (rand() % 2 ? 8 : 1024)));

                        flows[i] = (struct natgw_learn_flow){ .l4proto = protos[rand() % 4],
                                                              .daddr = { .family = AF_INET } };
                        memcpy(flows[i].daddr.bytes, &a, 4);
                        if (flows[i].l4proto == IPPROTO_TCP || flows[i].l4proto == IPPROTO_UDP)
                                flows[i].dport = (uint16_t)(1 + rand() % 12);
                }
                assert_int_equal(natgw_learn_propose(flows, n, &v, &nv), 0);
                e = entry_of(v, nv, buf);
                for (size_t i = 0; i < n; i++)
                        if (!natgw_egress_allows(&e, flows[i].l4proto, &flows[i].daddr, flows[i].dport))
                                fail_msg("round %d: flow %zu (proto %u port %u) is not covered", round, i,
                                         flows[i].l4proto, flows[i].dport);
                natgw_learn_rules_free(v, nv);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fold),
                cmocka_unit_test(test_random_covered),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

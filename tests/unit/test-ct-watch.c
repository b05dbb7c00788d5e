/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The pure parts of the conntrack watch: levels with hysteresis, the bounded top-N summary, and
 * the parser of the kernel's ctnetlink statistics (fed crafted and malformed messages).
 */

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ct-dump.h"
#include "ct-level.h"
#include "ct-stats.h"
#include "ct-top.h"
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

/* ---------------------------------------------------------------- ctnetlink stats parser */

static size_t put_msg(uint8_t *buf, uint16_t msg, uint16_t flags, const uint32_t *attrs, size_t n_attrs) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct nfgenmsg *g;

        nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | msg;
        nlh->nlmsg_flags = flags;
        g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
        g->nfgen_family = AF_UNSPEC;
        for (size_t i = 0; i < n_attrs; i++)
                mnl_attr_put_u32(nlh, (uint16_t)attrs[2 * i], htonl(attrs[2 * i + 1]));
        return nlh->nlmsg_len;
}

static void test_stats_parse(void **state) {
        static uint8_t buf[4096];
        struct natgw_ct_stats s = {};
        uint32_t global[] = { CTA_STATS_GLOBAL_ENTRIES, 1234, CTA_STATS_GLOBAL_MAX_ENTRIES, 262144 };
        uint32_t cpu0[] = { CTA_STATS_DROP, 5, CTA_STATS_EARLY_DROP, 1, CTA_STATS_INSERT, 100, 999, 7 };
        uint32_t cpu1[] = { CTA_STATS_DROP, 2, CTA_STATS_SEARCH_RESTART, 9, CTA_STATS_INVALID, 3 };
        size_t len;

        len = put_msg(buf, IPCTNL_MSG_CT_GET_STATS, NLM_F_MULTI, global, 2);
        assert_int_equal(natgw_ct_stats_parse(buf, len, &s), 1);
        assert_int_equal(s.count, 1234);
        assert_int_equal(s.max, 262144);

        len = put_msg(buf, IPCTNL_MSG_CT_GET_STATS_CPU, NLM_F_MULTI, cpu0, 4);
        len += put_msg(buf + len, IPCTNL_MSG_CT_GET_STATS_CPU, NLM_F_MULTI, cpu1, 3);
        assert_int_equal(natgw_ct_stats_parse(buf, len, &s), 0);
        assert_int_equal(s.cpus, 2);
        assert_int_equal(s.drop, 7);
        assert_int_equal(s.early_drop, 1);
        assert_int_equal(s.insert, 100);
        assert_int_equal(s.search_restart, 9);
        assert_int_equal(s.invalid, 3);
        {
                struct nlmsghdr *done = mnl_nlmsg_put_header(buf);

                done->nlmsg_type = NLMSG_DONE;
                assert_int_equal(natgw_ct_stats_parse(buf, done->nlmsg_len, &s), 1);
        }
}

static void test_stats_parse_bad(void **state) {
        static uint8_t buf[4096];
        struct natgw_ct_stats s = {};
        uint32_t a[] = { CTA_STATS_DROP, 5 };
        struct nlmsghdr *nlh;
        struct nlmsgerr *e;
        size_t len;

        /* An error from the kernel. */
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = NLMSG_ERROR;
        e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
        e->error = -EPERM;
        assert_int_equal(natgw_ct_stats_parse(buf, nlh->nlmsg_len, &s), -EPERM);
        /* An error message too short for its payload. */
        nlh->nlmsg_len = NLMSG_HDRLEN + 2;
        assert_int_equal(natgw_ct_stats_parse(buf, nlh->nlmsg_len, &s), -EPROTO);
        /* Another subsystem, another message type. */
        len = put_msg(buf, IPCTNL_MSG_CT_NEW, 0, a, 1);
        assert_int_equal(natgw_ct_stats_parse(buf, len, &s), -EPROTO);
        nlh = (struct nlmsghdr *)buf;
        nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | IPCTNL_MSG_CT_GET_STATS;
        assert_int_equal(natgw_ct_stats_parse(buf, len, &s), -EPROTO);
        /* No room for the nfgenmsg header. */
        len = put_msg(buf, IPCTNL_MSG_CT_GET_STATS_CPU, 0, NULL, 0);
        nlh->nlmsg_len = NLMSG_HDRLEN + 1;
        assert_int_equal(natgw_ct_stats_parse(buf, nlh->nlmsg_len, &s), -EPROTO);
        /* A truncated buffer: nothing read past it, nothing counted. */
        memset(&s, 0, sizeof(s));
        len = put_msg(buf, IPCTNL_MSG_CT_GET_STATS_CPU, 0, a, 1);
        assert_int_equal(natgw_ct_stats_parse(buf, len - 1, &s), 0);
        assert_int_equal(s.drop, 0);
        assert_int_equal(natgw_ct_stats_parse(buf, 3, &s), 0);
        /* An attribute of the wrong size is skipped. */
        {
                struct nlmsghdr *m = mnl_nlmsg_put_header(buf);
                struct nfgenmsg *g;

                m->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET_STATS_CPU;
                g = mnl_nlmsg_put_extra_header(m, sizeof(*g));
                g->nfgen_family = AF_UNSPEC;
                mnl_attr_put_u64(m, CTA_STATS_DROP, 77);
                assert_int_equal(natgw_ct_stats_parse(buf, m->nlmsg_len, &s), 0);
                assert_int_equal(s.drop, 0);
                assert_int_equal(s.cpus, 1);
        }
}

static void test_tuple_parse(void **state) {
        static uint8_t buf[1024];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct natgw_ct_tuple t = {};
        struct nlattr *orig, *ip, *proto, *info, *tcp;
        struct nfgenmsg *g;
        uint32_t src = htonl(0x0a630001), dst = htonl(0xc6336432);

        nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
        g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
        g->nfgen_family = AF_INET;
        orig = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
        ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
        mnl_attr_put(nlh, CTA_IP_V4_SRC, 4, &src);
        mnl_attr_put(nlh, CTA_IP_V4_DST, 4, &dst);
        mnl_attr_nest_end(nlh, ip);
        proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
        mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_TCP);
        mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(40000));
        mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(443));
        mnl_attr_nest_end(nlh, proto);
        mnl_attr_nest_end(nlh, orig);
        info = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
        tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
        mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, 3);
        mnl_attr_nest_end(nlh, tcp);
        mnl_attr_nest_end(nlh, info);

        assert_int_equal(natgw_ct_tuple_parse(nlh, &t), 0);
        assert_int_equal(t.family, AF_INET);
        assert_int_equal(t.l4proto, IPPROTO_TCP);
        assert_int_equal(t.sport, 40000);
        assert_int_equal(t.dport, 443);
        assert_int_equal(t.tcp_state, 3);
        assert_memory_equal(t.src, &src, 4);
        assert_memory_equal(t.dst, &dst, 4);

        /* A nested length that runs past the message: the walk stops, nothing is read beyond. */
        ip->nla_len = 200;
        memset(&t, 0, sizeof(t));
        assert_int_equal(natgw_ct_tuple_parse(nlh, &t) == 0 ? t.family != AF_INET6 : 1, 1);
        /* Not a conntrack entry, or no original tuple: refused. */
        nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
        assert_int_equal(natgw_ct_tuple_parse(nlh, &t), -EPROTO);
        nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
        orig->nla_type = CTA_TUPLE_REPLY;
        assert_int_equal(natgw_ct_tuple_parse(nlh, &t), -EPROTO);
        nlh->nlmsg_len = NLMSG_HDRLEN + 2;
        assert_int_equal(natgw_ct_tuple_parse(nlh, &t), -EPROTO);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_levels_rise),
                cmocka_unit_test(test_levels_hysteresis),
                cmocka_unit_test(test_levels_hover),
                cmocka_unit_test(test_summary_exact),
                cmocka_unit_test(test_summary_heavy_hitters),
                cmocka_unit_test(test_summary_ipv6_and_ports),
                cmocka_unit_test(test_stats_parse),
                cmocka_unit_test(test_stats_parse_bad),
                cmocka_unit_test(test_tuple_parse),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-entry parser of the conntrack dump (lib/ct-dump.c) on the seed of
 * tests/fuzz/corpus/fuzz-ctnetlink/ct-nat-entries: two entries encoded by hand as ctnetlink
 * sends them (a forwarded TCP connection in zone 5, a masqueraded ping), read back into what
 * the stale decision and the deletion need; and a tuple built with libmnl, then broken.
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
#include "nl.h"
#include "util.h"

#include "fuzz-seed.h"

/* The original tuple of natgw_ct_record_parse(). */
static int natgw_ct_tuple_parse(const struct nlmsghdr *nlh, struct natgw_ct_tuple *ret) {
        struct natgw_ct_record r;
        int k;

        k = natgw_ct_record_parse(nlh, &r);
        if (k < 0)
                return k;
        *ret = r.orig;
        return 0;
}

static void assert_addr(const struct natgw_addr *a, const char *want) {
        struct in_addr v4;

        assert_int_equal(inet_pton(AF_INET, want, &v4), 1);
        assert_int_equal(a->family, AF_INET);
        assert_memory_equal(a->bytes, &v4, 4);
}

static void test_nat_entries(void **state) {
        static uint8_t buf[4096];
        size_t len = read_seed("fuzz-ctnetlink", "ct-nat-entries", buf, sizeof(buf));
        const uint8_t *p = buf;
        const struct nlmsghdr *nlh;
        struct natgw_ct_record r;

        /* 1: 198.51.100.7:40000 -> 203.0.113.1:8080 forwarded to 192.168.1.66:80, established. */
        nlh = natgw_nlmsg_next(&p, &len);
        assert_non_null(nlh);
        assert_int_equal(natgw_ct_record_parse(nlh, &r), 0);
        assert_true(r.has_reply);
        assert_int_equal(r.entry.family, AF_INET);
        assert_int_equal(r.entry.l4proto, IPPROTO_TCP);
        assert_addr(&r.entry.orig_src, "198.51.100.7");
        assert_addr(&r.entry.orig_dst, "203.0.113.1");
        assert_addr(&r.entry.reply_src, "192.168.1.66");
        assert_addr(&r.entry.reply_dst, "198.51.100.7");
        assert_int_equal(r.entry.orig_sport, 40000);
        assert_int_equal(r.entry.orig_dport, 8080);
        assert_int_equal(r.entry.reply_sport, 80);
        assert_int_equal(r.entry.reply_dport, 40000);
        /* CTA_STATUS 0x1b8: CONFIRMED, SRC_NAT, DST_NAT, SRC_NAT_DONE, DST_NAT_DONE. */
        assert_true(r.entry.src_nat);
        assert_true(r.entry.dst_nat);
        assert_int_equal(r.entry.tcp_state, 3); /* TCP_CONNTRACK_ESTABLISHED */
        assert_true(r.has_id);
        assert_int_equal(r.id, 0xdeadbeef);
        assert_true(r.has_zone);
        assert_int_equal(r.zone, 5);
        assert_true(r.orig.has_ports);
        assert_false(r.orig.has_icmp);

        /* 2: a ping from 192.168.1.5 masqueraded to 203.0.113.1: no ports, ICMP id/type/code. */
        nlh = natgw_nlmsg_next(&p, &len);
        assert_non_null(nlh);
        assert_int_equal(natgw_ct_record_parse(nlh, &r), 0);
        assert_int_equal(r.entry.l4proto, IPPROTO_ICMP);
        assert_addr(&r.entry.reply_dst, "203.0.113.1");
        assert_int_equal(r.entry.orig_sport | r.entry.orig_dport | r.entry.reply_sport | r.entry.reply_dport, 0);
        assert_true(r.entry.src_nat);
        assert_false(r.entry.dst_nat);
        assert_int_equal(r.entry.tcp_state, 0xff);
        assert_true(r.orig.has_icmp);
        assert_false(r.orig.has_ports);
        assert_int_equal(r.orig.icmp_id, 77);
        assert_int_equal(r.orig.icmp_type, 8);
        assert_int_equal(r.orig.icmp_code, 0);
        assert_true(r.has_id);
        assert_int_equal(r.id, 7);
        assert_false(r.has_zone);

        /* NLMSG_DONE: no entry. */
        nlh = natgw_nlmsg_next(&p, &len);
        assert_non_null(nlh);
        assert_int_equal(natgw_ct_record_parse(nlh, &r), -EPROTO);
        assert_int_equal(len, 0);
}

static void test_reply_missing(void **state) {
        static uint8_t buf[4096];
        size_t len = read_seed("fuzz-ctnetlink", "ct-entry", buf, sizeof(buf));
        const uint8_t *p = buf;
        const struct nlmsghdr *nlh = natgw_nlmsg_next(&p, &len);
        struct natgw_ct_record r;

        /* The original tuple alone: enough for the top sources, not for the decision. */
        assert_non_null(nlh);
        assert_int_equal(natgw_ct_record_parse(nlh, &r), 0);
        assert_false(r.has_reply);
        assert_int_equal(r.orig.family, AF_INET);
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
        assert_memory_equal(t.src.bytes, &src, 4);
        assert_memory_equal(t.dst.bytes, &dst, 4);

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
                cmocka_unit_test(test_tuple_parse),
                cmocka_unit_test(test_nat_entries),
                cmocka_unit_test(test_reply_missing),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

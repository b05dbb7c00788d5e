/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The diagnose trace: the batch natgwd sends for the trace rule, and the trace events natgwctl
 * reads (messages built here as the kernel's nf_tables_trace.c lays them out). */

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "conf.h"
#include "nft-guard.h"
#include "nft-trace.h"
#include "util.h"

/* The messages of a batch in order: their types (subsystem stripped) and sequence numbers. */
static size_t walk(const void *buf, size_t len, uint16_t *types, uint32_t *seqs, uint16_t *flags, size_t max) {
        const uint8_t *p = buf;
        const struct nlmsghdr *nlh;
        size_t n = 0;

        while ((nlh = natgw_nlmsg_next(&p, &len)) && n < max) {
                types[n] = nlh->nlmsg_type;
                seqs[n] = nlh->nlmsg_seq;
                flags[n] = nlh->nlmsg_flags;
                n++;
        }
        assert_int_equal(len, 0);
        return n;
}

static void test_batch(void **state) {
        struct natgw_port_range ports[] = { { 8080, 8080 }, { 9000, 9010 } };
        struct natgw_forward f = { .name = (char *)"web", .in_interface = "eth0",
                                   .protos = NATGW_PROTO_TCP | NATGW_PROTO_UDP, .ports = ports, .n_ports = 2 };
        _cleanup_(freep) void *buf = NULL;
        uint16_t types[16], flags[16];
        uint32_t seqs[16], first, acks;
        size_t len, n;

        assert_int_equal(natgw_addr_parse("192.168.1.66", &f.to), 0);
        buf = calloc(1, natgw_nft_trace_batch_size(&f));
        assert_non_null(buf);
        assert_int_equal(natgw_nft_trace_batch(100, &f, true, buf, &len, &first, &acks), 0);
        assert_true(len <= natgw_nft_trace_batch_size(&f));
        n = walk(buf, len, types, seqs, flags, ELEMENTSOF(types));
        /* begin, the chain, a flush of its rules, one rule per protocol and range, end */
        assert_int_equal(n, 1 + 1 + 1 + 2 * 2 + 1);
        assert_int_equal(types[0], NFNL_MSG_BATCH_BEGIN);
        assert_int_equal(types[1], NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWCHAIN);
        assert_int_equal(types[2], NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELRULE);
        for (size_t i = 3; i < 7; i++)
                assert_int_equal(types[i], NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWRULE);
        assert_int_equal(types[7], NFNL_MSG_BATCH_END);
        /* Every message its own number; the acks are those of the messages between. */
        for (size_t i = 0; i < n; i++)
                assert_int_equal(seqs[i], 100 + i);
        assert_int_equal(first, 101);
        assert_int_equal(acks, 6);
        for (size_t i = 1; i + 1 < n; i++)
                assert_true(flags[i] & NLM_F_ACK);

        /* Off: flush and delete the chain. */
        assert_int_equal(natgw_nft_trace_batch(7, NULL, false, buf, &len, &first, &acks), 0);
        n = walk(buf, len, types, seqs, flags, ELEMENTSOF(types));
        assert_int_equal(n, 4);
        assert_int_equal(types[1], NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELRULE);
        assert_int_equal(types[2], NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELCHAIN);
        assert_int_equal(first, 8);
        assert_int_equal(acks, 2);
}

/* The HA guard's batch (nft-guard.h), built by the same side-chain helpers: one rule per VIP. */
static void test_guard_batch(void **state) {
        struct natgw_prefix vips[2];
        _cleanup_(freep) void *buf = NULL;
        uint16_t types[16], flags[16];
        uint32_t seqs[16], first, acks;
        size_t len, n;

        assert_int_equal(natgw_prefix_parse_loose("192.168.1.1", &vips[0]), 0);
        assert_int_equal(natgw_prefix_parse_loose("2001:db8::/64", &vips[1]), 0);
        buf = calloc(1, natgw_nft_ha_guard_batch_size(2));
        assert_non_null(buf);
        assert_int_equal(natgw_nft_ha_guard_batch(40, vips, 2, false, buf, &len, &first, &acks), 0);
        assert_true(len <= natgw_nft_ha_guard_batch_size(2));
        n = walk(buf, len, types, seqs, flags, ELEMENTSOF(types));
        /* begin, the chain, a flush of its rules, one rule per VIP, end */
        assert_int_equal(n, 6);
        assert_int_equal(types[1], NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWCHAIN);
        assert_int_equal(types[2], NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELRULE);
        assert_int_equal(types[3], NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWRULE);
        assert_int_equal(types[4], NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWRULE);
        assert_int_equal(types[5], NFNL_MSG_BATCH_END);
        assert_int_equal(first, 41);
        assert_int_equal(acks, 4);
        /* Backup or fault: a UDP rule per VIP after the TCP ones, within the same buffer. */
        assert_int_equal(natgw_nft_ha_guard_batch(40, vips, 2, true, buf, &len, &first, &acks), 0);
        assert_true(len <= natgw_nft_ha_guard_batch_size(2));
        n = walk(buf, len, types, seqs, flags, ELEMENTSOF(types));
        assert_int_equal(n, 8);
        for (size_t i = 3; i < 7; i++)
                assert_int_equal(types[i], NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWRULE);
        assert_int_equal(types[7], NFNL_MSG_BATCH_END);
        assert_int_equal(acks, 6);
        /* Away: flush and delete the chain. */
        assert_int_equal(natgw_nft_ha_guard_batch(7, NULL, 0, false, buf, &len, &first, &acks), 0);
        n = walk(buf, len, types, seqs, flags, ELEMENTSOF(types));
        assert_int_equal(n, 4);
        assert_int_equal(types[1], NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELRULE);
        assert_int_equal(types[2], NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELCHAIN);
        assert_int_equal(acks, 2);
}

/* A trace event as the kernel sends it; @verdict < -100: none; @policy: a policy event. */
static struct nlmsghdr *trace_msg(void *buf, uint32_t type, int32_t verdict, bool policy) {
        struct nlmsghdr *nlh = natgw_nfnl_put_header(buf, NFNL_SUBSYS_NFTABLES, NFT_MSG_TRACE, 0, NFPROTO_INET);
        uint8_t ip[20] = { 0x45 };
        struct nlattr *nest;

        memcpy(ip + 12, (uint8_t[]){ 198, 51, 100, 7 }, 4);
        memcpy(ip + 16, (uint8_t[]){ 203, 0, 113, 1 }, 4);
        mnl_attr_put_strz(nlh, NFTA_TRACE_TABLE, "otherfw");
        mnl_attr_put_strz(nlh, NFTA_TRACE_CHAIN, "fwdfilter");
        mnl_attr_put_u32(nlh, NFTA_TRACE_TYPE, htonl(type));
        mnl_attr_put_u32(nlh, NFTA_TRACE_ID, htonl(0xabcd));
        mnl_attr_put(nlh, NFTA_TRACE_NETWORK_HEADER, sizeof(ip), ip);
        if (policy)
                mnl_attr_put_u32(nlh, NFTA_TRACE_POLICY, htonl(NF_DROP));
        else
                mnl_attr_put_u64(nlh, NFTA_TRACE_RULE_HANDLE, htobe64(7));
        if (verdict >= -100) {
                nest = mnl_attr_nest_start(nlh, NFTA_TRACE_VERDICT);
                mnl_attr_put_u32(nlh, NFTA_VERDICT_CODE, htonl((uint32_t)verdict));
                mnl_attr_nest_end(nlh, nest);
        }
        return nlh;
}

static void test_parse(void **state) {
        _Alignas(struct nlmsghdr) char buf[512];
        struct natgw_nft_trace t;
        char a[INET6_ADDRSTRLEN];

        assert_int_equal(natgw_nft_trace_parse(trace_msg(buf, NFT_TRACETYPE_RULE, NF_DROP, false), &t), 0);
        assert_string_equal(t.table, "otherfw");
        assert_string_equal(t.chain, "fwdfilter");
        assert_int_equal(t.family, NFPROTO_INET);
        assert_int_equal(t.id, 0xabcd);
        assert_true(t.has_handle);
        assert_int_equal(t.rule_handle, 7);
        assert_true(t.has_src);
        assert_string_equal(natgw_addr_format(&t.src, a, sizeof(a)), "198.51.100.7");
        assert_true(natgw_nft_trace_is_drop(&t));

        assert_int_equal(natgw_nft_trace_parse(trace_msg(buf, NFT_TRACETYPE_RULE, NF_ACCEPT, false), &t), 0);
        assert_false(natgw_nft_trace_is_drop(&t));
        assert_int_equal(natgw_nft_trace_parse(trace_msg(buf, NFT_TRACETYPE_RULE, NFT_CONTINUE, false), &t), 0);
        assert_false(natgw_nft_trace_is_drop(&t));
        /* A rule event without a verdict drops nothing. */
        assert_int_equal(natgw_nft_trace_parse(trace_msg(buf, NFT_TRACETYPE_RULE, -1000, false), &t), 0);
        assert_false(natgw_nft_trace_is_drop(&t));
        assert_int_equal(natgw_nft_trace_parse(trace_msg(buf, NFT_TRACETYPE_POLICY, -1000, true), &t), 0);
        assert_true(natgw_nft_trace_is_drop(&t));

        /* Not a trace message. */
        assert_int_equal(natgw_nft_trace_parse(natgw_nfnl_put_header(buf, NFNL_SUBSYS_NFTABLES, NFT_MSG_NEWRULE, 0,
                                                                     NFPROTO_INET),
                                               &t),
                         -EPROTO);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_batch),
                cmocka_unit_test(test_guard_batch),
                cmocka_unit_test(test_parse),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

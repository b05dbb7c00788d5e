/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The parser of the kernel's ctnetlink statistics (ct-stats.c), fed crafted and malformed
 * messages.
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

#include "ct-stats.h"
#include "util.h"

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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stats_parse),
                cmocka_unit_test(test_stats_parse_bad),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

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

static int parse(const uint8_t *buf, struct natgw_ct_stats *s) {
        return natgw_ct_stats_parse((const struct nlmsghdr *)buf, s);
}

static void test_stats_parse(void **state) {
        static uint8_t buf[4096];
        struct natgw_ct_stats s = {};
        uint32_t global[] = { CTA_STATS_GLOBAL_ENTRIES, 1234, CTA_STATS_GLOBAL_MAX_ENTRIES, 262144 };
        uint32_t cpu0[] = { CTA_STATS_DROP, 5, CTA_STATS_EARLY_DROP, 1, CTA_STATS_INSERT, 100, 999, 7 };
        uint32_t cpu1[] = { CTA_STATS_DROP, 2, CTA_STATS_SEARCH_RESTART, 9, CTA_STATS_INVALID, 3 };

        /* The global statistics are the whole answer to their request: no NLMSG_DONE follows. */
        put_msg(buf, IPCTNL_MSG_CT_GET_STATS, NLM_F_MULTI, global, 2);
        assert_int_equal(parse(buf, &s), 1);
        assert_int_equal(s.count, 1234);
        assert_int_equal(s.max, 262144);

        /* Each CPU's counters are summed; an unknown attribute (999) is skipped. */
        put_msg(buf, IPCTNL_MSG_CT_GET_STATS_CPU, NLM_F_MULTI, cpu0, 4);
        assert_int_equal(parse(buf, &s), 0);
        put_msg(buf, IPCTNL_MSG_CT_GET_STATS_CPU, NLM_F_MULTI, cpu1, 3);
        assert_int_equal(parse(buf, &s), 0);
        assert_int_equal(s.cpus, 2);
        assert_int_equal(s.drop, 7);
        assert_int_equal(s.early_drop, 1);
        assert_int_equal(s.insert, 100);
        assert_int_equal(s.search_restart, 9);
        assert_int_equal(s.invalid, 3);
}

static void test_stats_parse_bad(void **state) {
        static uint8_t buf[4096];
        struct natgw_ct_stats s = {};
        uint32_t a[] = { CTA_STATS_DROP, 5 };
        struct nlmsghdr *nlh = (struct nlmsghdr *)buf;

        /* Another subsystem, another message type. */
        put_msg(buf, IPCTNL_MSG_CT_NEW, 0, a, 1);
        assert_int_equal(parse(buf, &s), -EPROTO);
        nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | IPCTNL_MSG_CT_GET_STATS;
        assert_int_equal(parse(buf, &s), -EPROTO);
        nlh->nlmsg_type = NLMSG_ERROR;
        assert_int_equal(parse(buf, &s), -EPROTO);
        assert_int_equal(s.drop, 0);
        /* No room for the nfgenmsg header. */
        put_msg(buf, IPCTNL_MSG_CT_GET_STATS_CPU, 0, NULL, 0);
        nlh->nlmsg_len = NLMSG_HDRLEN + 1;
        assert_int_equal(parse(buf, &s), -EPROTO);
        /* An attribute cut by the message's end is not read. */
        put_msg(buf, IPCTNL_MSG_CT_GET_STATS_CPU, 0, a, 1);
        nlh->nlmsg_len -= 1;
        assert_int_equal(parse(buf, &s), 0);
        assert_int_equal(s.drop, 0);
        /* An attribute of the wrong size is skipped. */
        {
                struct nlmsghdr *m = mnl_nlmsg_put_header(buf);
                struct nfgenmsg *g;

                m->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET_STATS_CPU;
                g = mnl_nlmsg_put_extra_header(m, sizeof(*g));
                g->nfgen_family = AF_UNSPEC;
                mnl_attr_put_u64(m, CTA_STATS_DROP, 77);
                assert_int_equal(parse(buf, &s), 0);
                assert_int_equal(s.drop, 0);
                assert_int_equal(s.cpus, 2);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stats_parse),
                cmocka_unit_test(test_stats_parse_bad),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The parser of one conntrack entry of a dump (ct-dump.c): its original tuple, and malformed messages.
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
#include "util.h"

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
                cmocka_unit_test(test_tuple_parse),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include "ct-dump.h"
#include "nl.h"

/* The kernel fills dump messages faster than they are read: room for a burst. */
#define DUMP_RCVBUF (16 * 1024 * 1024)

static void parse_ip(const struct nlattr *nest, struct natgw_ct_tuple *t) {
        const uint8_t *p = natgw_nla_data(nest), *end = natgw_nla_end(nest);
        const struct nlattr *a;

        while ((a = natgw_nla_next(&p, end))) {
                uint16_t type = natgw_nla_type(a);
                bool v4 = type == CTA_IP_V4_SRC || type == CTA_IP_V4_DST;
                bool v6 = type == CTA_IP_V6_SRC || type == CTA_IP_V6_DST;
                size_t len = v4 ? 4 : 16;

                if ((!v4 && !v6) || natgw_nla_len(a) != len)
                        continue;
                t->family = v4 ? AF_INET : AF_INET6;
                memcpy(type == CTA_IP_V4_SRC || type == CTA_IP_V6_SRC ? t->src.bytes : t->dst.bytes, natgw_nla_data(a),
                       len);
        }
        t->src.family = t->dst.family = t->family;
}

static void parse_proto(const struct nlattr *nest, struct natgw_ct_tuple *t) {
        const uint8_t *p = natgw_nla_data(nest), *end = natgw_nla_end(nest);
        unsigned ports = 0, icmp = 0;
        const struct nlattr *a;

        while ((a = natgw_nla_next(&p, end)))
                switch (natgw_nla_type(a)) {
                case CTA_PROTO_NUM:
                        t->l4proto = natgw_nla_u8(a);
                        break;
                case CTA_PROTO_SRC_PORT:
                        t->sport = natgw_nla_be16(a);
                        ports |= 1;
                        break;
                case CTA_PROTO_DST_PORT:
                        t->dport = natgw_nla_be16(a);
                        ports |= 2;
                        break;
                case CTA_PROTO_ICMP_ID:
                case CTA_PROTO_ICMPV6_ID:
                        t->icmp_id = natgw_nla_be16(a);
                        icmp |= 1;
                        break;
                case CTA_PROTO_ICMP_TYPE:
                case CTA_PROTO_ICMPV6_TYPE:
                        t->icmp_type = natgw_nla_u8(a);
                        icmp |= 2;
                        break;
                case CTA_PROTO_ICMP_CODE:
                case CTA_PROTO_ICMPV6_CODE:
                        t->icmp_code = natgw_nla_u8(a);
                        icmp |= 4;
                        break;
                default:
                        break;
                }
        t->has_ports = ports == 3;
        t->has_icmp = icmp == 7;
}

static void parse_tuple(const struct nlattr *nest, struct natgw_ct_tuple *t) {
        const uint8_t *p = natgw_nla_data(nest), *end = natgw_nla_end(nest);
        const struct nlattr *a;

        while ((a = natgw_nla_next(&p, end)))
                switch (natgw_nla_type(a)) {
                case CTA_TUPLE_IP:
                        parse_ip(a, t);
                        break;
                case CTA_TUPLE_PROTO:
                        parse_proto(a, t);
                        break;
                case CTA_TUPLE_ZONE:
                        t->zone = natgw_nla_be16(a);
                        t->has_zone = true;
                        break;
                default:
                        break;
                }
}

static uint8_t parse_tcp_state(const struct nlattr *protoinfo) {
        const uint8_t *p = natgw_nla_data(protoinfo), *end = natgw_nla_end(protoinfo);
        const struct nlattr *a, *b;
        uint8_t state = 0xff;

        while ((a = natgw_nla_next(&p, end))) {
                const uint8_t *q = natgw_nla_data(a), *qend = natgw_nla_end(a);

                if (natgw_nla_type(a) != CTA_PROTOINFO_TCP)
                        continue;
                while ((b = natgw_nla_next(&q, qend)))
                        if (natgw_nla_type(b) == CTA_PROTOINFO_TCP_STATE && natgw_nla_len(b) == 1)
                                state = natgw_nla_u8(b);
        }
        return state;
}

/* The tuples as the stale decision reads them: ports of TCP and UDP only. */
static void fill_entry(struct natgw_ct_record *r, uint32_t status) {
        const struct natgw_ct_tuple *o = &r->orig, *re = &r->reply;
        bool ports = o->l4proto == IPPROTO_TCP || o->l4proto == IPPROTO_UDP;

        r->entry = (struct natgw_ct_entry){
                .family = o->family, .l4proto = o->l4proto, .tcp_state = o->tcp_state,
                .orig_src = o->src, .orig_dst = o->dst, .reply_src = re->src, .reply_dst = re->dst,
                .orig_sport = ports ? o->sport : 0, .orig_dport = ports ? o->dport : 0,
                .reply_sport = ports ? re->sport : 0, .reply_dport = ports ? re->dport : 0,
                .src_nat = status & IPS_SRC_NAT, .dst_nat = status & IPS_DST_NAT,
        };
}

int natgw_ct_record_parse(const struct nlmsghdr *nlh, struct natgw_ct_record *ret) {
        const uint8_t *p = natgw_nlmsg_attrs(nlh, sizeof(struct nfgenmsg)), *end = natgw_nlmsg_end(nlh);
        struct natgw_ct_record r = { .orig.tcp_state = 0xff };
        const struct nlattr *a;
        bool orig = false;
        uint32_t status = 0;

        if (!p || NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK ||
            NFNL_MSG_TYPE(nlh->nlmsg_type) != IPCTNL_MSG_CT_NEW)
                return -EPROTO;
        while ((a = natgw_nla_next(&p, end)))
                switch (natgw_nla_type(a)) {
                case CTA_TUPLE_ORIG:
                        orig = true;
                        parse_tuple(a, &r.orig);
                        break;
                case CTA_TUPLE_REPLY:
                        r.has_reply = true;
                        parse_tuple(a, &r.reply);
                        break;
                case CTA_STATUS:
                        status = natgw_nla_be32(a);
                        break;
                case CTA_PROTOINFO:
                        r.orig.tcp_state = parse_tcp_state(a);
                        break;
                case CTA_ID:
                        r.has_id = natgw_nla_len(a) == sizeof(uint32_t);
                        r.id = natgw_nla_be32(a);
                        break;
                case CTA_ZONE:
                        r.has_zone = natgw_nla_len(a) == sizeof(uint16_t);
                        r.zone = natgw_nla_be16(a);
                        break;
                default:
                        break;
                }
        if (!orig || (r.orig.family != AF_INET && r.orig.family != AF_INET6))
                return -EPROTO;
        r.reply.tcp_state = r.orig.tcp_state;
        r.status = status;
        /* A reply tuple of another family (or none) leaves nothing the decision could read. */
        r.has_reply = r.has_reply && r.reply.family == r.orig.family;
        if (r.has_reply)
                fill_entry(&r, status);
        *ret = r;
        return 0;
}

struct dump {
        natgw_ct_record_cb cb;
        void *userdata;
};

static int on_msg(const struct nlmsghdr *nlh, void *userdata) {
        const struct dump *d = userdata;
        struct natgw_ct_record r;

        if (natgw_ct_record_parse(nlh, &r) < 0)
                return 0;
        return d->cb(&r, d->userdata);
}

int natgw_ct_dump_records(uint64_t deadline, natgw_ct_record_cb cb, void *userdata) {
        _cleanup_(natgw_nl_freep) struct natgw_nl *nl = NULL;
        struct dump d = { .cb = cb, .userdata = userdata };
        _Alignas(struct nlmsghdr) char req[64];
        /* AF_UNSPEC: both families. */
        struct nlmsghdr *nlh = natgw_nfnl_put_header(req, NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET, NLM_F_DUMP,
                                                     AF_UNSPEC);
        int r;

        r = natgw_nl_open(NETLINK_NETFILTER, 0, &nl);
        if (r < 0)
                return r;
        natgw_nl_set_timeout(nl, nl->idle_usec, deadline);
        natgw_nl_set_buffers(nl, DUMP_RCVBUF, 0);
        return natgw_nl_dump(nl, nlh, on_msg, &d);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <netinet/in.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>

#include "nft-plan.h"
#include "nft-rule.h"
#include "nft-trace.h"
#include "nl.h"

/* A rule: meta iifname, nfproto, l4proto, th dport (2 cmp), daddr, immediate, meta set. */
#define RULE_MSG_MAX 1024
#define MSG_MAX 512

/* One rule: @f's traffic of @l4proto to ports @ports (NULL: any) is marked for tracing. */
static int build_rule(const struct natgw_forward *f, uint8_t l4proto, const struct natgw_port_range *ports,
                      char *buf, uint32_t seq) {
        struct nlmsghdr *nlh = nftnl_rule_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, NFPROTO_INET,
                                                          NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, seq);
        int r = natgw_rule_trace(nlh, NATGW_TRACE_CHAIN, f, l4proto, ports);

        return r < 0 ? r : (int)nlh->nlmsg_len;
}

/* The rules' count: one per protocol and port range, or per protocol when there are many. */
static size_t n_rules(const struct natgw_forward *f) {
        size_t protos = (f->protos & NATGW_PROTO_TCP ? 1 : 0) + (f->protos & NATGW_PROTO_UDP ? 1 : 0);

        return protos * (f->n_ports > NATGW_TRACE_RANGES_MAX ? 1 : f->n_ports);
}

size_t natgw_nft_trace_batch_size(const struct natgw_forward *f) {
        return 4 * MSG_MAX + (f ? n_rules(f) : 0) * RULE_MSG_MAX;
}

int natgw_nft_side_clear(char *buf, uint16_t type, uint32_t seq, const char *chain) {
        struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, NLM_F_ACK, seq);

        mnl_attr_put_strz(nlh, type == NFT_MSG_DELRULE ? NFTA_RULE_TABLE : NFTA_CHAIN_TABLE, NATGW_TABLE);
        mnl_attr_put_strz(nlh, type == NFT_MSG_DELRULE ? NFTA_RULE_CHAIN : NFTA_CHAIN_NAME, chain);
        return (int)nlh->nlmsg_len;
}

int natgw_nft_side_chain(char *buf, uint32_t seq, const char *chain, int32_t priority) {
        struct nftnl_chain *c = nftnl_chain_alloc();
        struct nlmsghdr *nlh;

        if (!c)
                return -ENOMEM;
        nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NATGW_TABLE);
        nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
        nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
        nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_PRE_ROUTING);
        nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, priority);
        nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
        nlh = nftnl_chain_nlmsg_build_hdr(buf, NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_CREATE | NLM_F_ACK, seq);
        nftnl_chain_nlmsg_build_payload(nlh, c);
        nftnl_chain_free(c);
        return (int)nlh->nlmsg_len;
}

int natgw_nft_trace_batch(uint32_t seq, const struct natgw_forward *f, bool on, void *buf, size_t *ret_len,
                          uint32_t *ret_first, uint32_t *ret_acks) {
        char *p = buf;
        uint32_t s = seq;
        int n;

        p += NLMSG_ALIGN(nftnl_batch_begin(p, s++)->nlmsg_len);
        *ret_first = s;
        if (on) {
                static const uint8_t l4[] = { IPPROTO_TCP, IPPROTO_UDP };
                static const unsigned bits[] = { NATGW_PROTO_TCP, NATGW_PROTO_UDP };

                n = natgw_nft_side_chain(p, s++, NATGW_TRACE_CHAIN, NATGW_TRACE_PRIORITY);
                if (n < 0)
                        return n;
                p += NLMSG_ALIGN(n);
                /* A chain left by an earlier watch keeps no old rule. */
                p += NLMSG_ALIGN(natgw_nft_side_clear(p, NFT_MSG_DELRULE, s++, NATGW_TRACE_CHAIN));
                for (size_t k = 0; k < ELEMENTSOF(l4); k++) {
                        if (!(f->protos & bits[k]))
                                continue;
                        for (size_t i = 0; i < (f->n_ports > NATGW_TRACE_RANGES_MAX ? 1 : f->n_ports); i++) {
                                n = build_rule(f, l4[k], f->n_ports > NATGW_TRACE_RANGES_MAX ? NULL : &f->ports[i], p,
                                               s++);
                                if (n < 0)
                                        return n;
                                p += NLMSG_ALIGN(n);
                        }
                }
        } else {
                p += NLMSG_ALIGN(natgw_nft_side_clear(p, NFT_MSG_DELRULE, s++, NATGW_TRACE_CHAIN));
                p += NLMSG_ALIGN(natgw_nft_side_clear(p, NFT_MSG_DELCHAIN, s++, NATGW_TRACE_CHAIN));
        }
        *ret_acks = s - *ret_first;
        p += NLMSG_ALIGN(nftnl_batch_end(p, s)->nlmsg_len);
        *ret_len = (size_t)(p - (char *)buf);
        return 0;
}

/* ---------------------------------------------------------------- events */

bool natgw_nft_trace_is_drop(const struct natgw_nft_trace *t) {
        if (t->type == NFT_TRACETYPE_POLICY)
                return t->has_policy && t->policy == NF_DROP;
        return t->type == NFT_TRACETYPE_RULE && t->has_verdict && t->verdict == NF_DROP;
}

static void copy_str(char *dst, size_t size, const struct nlattr *a) {
        snprintf(dst, size, "%.*s", (int)strnlen(natgw_nla_data(a), natgw_nla_len(a)), (const char *)natgw_nla_data(a));
}

static void parse_verdict(const struct nlattr *nest, struct natgw_nft_trace *t) {
        const uint8_t *p = natgw_nla_data(nest), *end = natgw_nla_end(nest);
        const struct nlattr *a;

        while ((a = natgw_nla_next(&p, end)))
                if (natgw_nla_type(a) == NFTA_VERDICT_CODE && natgw_nla_len(a) == sizeof(uint32_t)) {
                        t->verdict = (int32_t)natgw_nla_be32(a);
                        t->has_verdict = true;
                }
}

static void parse_network_header(const struct nlattr *a, struct natgw_nft_trace *t) {
        const uint8_t *h = natgw_nla_data(a);
        size_t len = natgw_nla_len(a);

        if (len >= 20 && h[0] >> 4 == 4) {
                t->src = (struct natgw_addr){ .family = AF_INET };
                memcpy(t->src.bytes, h + 12, 4);
                t->has_src = true;
        } else if (len >= 40 && h[0] >> 4 == 6) {
                t->src = (struct natgw_addr){ .family = AF_INET6 };
                memcpy(t->src.bytes, h + 8, 16);
                t->has_src = true;
        }
}

int natgw_nft_trace_parse(const struct nlmsghdr *nlh, struct natgw_nft_trace *ret) {
        const uint8_t *p = natgw_nlmsg_attrs(nlh, sizeof(struct nfgenmsg)), *end = natgw_nlmsg_end(nlh);
        const struct nfgenmsg *nfg = NLMSG_DATA(nlh);
        struct natgw_nft_trace t = {};
        const struct nlattr *a;

        if (!p || NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
            NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_TRACE)
                return -EPROTO;
        t.family = nfg->nfgen_family;
        while ((a = natgw_nla_next(&p, end)))
                switch (natgw_nla_type(a)) {
                case NFTA_TRACE_TABLE:
                        copy_str(t.table, sizeof(t.table), a);
                        break;
                case NFTA_TRACE_CHAIN:
                        copy_str(t.chain, sizeof(t.chain), a);
                        break;
                case NFTA_TRACE_RULE_HANDLE:
                        t.has_handle = natgw_nla_len(a) == sizeof(uint64_t);
                        t.rule_handle = natgw_nla_be64(a);
                        break;
                case NFTA_TRACE_TYPE:
                        t.type = natgw_nla_be32(a);
                        break;
                case NFTA_TRACE_VERDICT:
                        parse_verdict(a, &t);
                        break;
                case NFTA_TRACE_ID:
                        t.id = natgw_nla_be32(a);
                        break;
                case NFTA_TRACE_POLICY:
                        t.has_policy = natgw_nla_len(a) == sizeof(uint32_t);
                        t.policy = natgw_nla_be32(a);
                        break;
                case NFTA_TRACE_NFPROTO:
                        t.nfproto = natgw_nla_be32(a);
                        break;
                case NFTA_TRACE_NETWORK_HEADER:
                        parse_network_header(a, &t);
                        break;
                default:
                        break;
                }
        *ret = t;
        return 0;
}

/* Room for a burst of events: each is a few hundred bytes, a packet makes several. */
#define TRACE_RCVBUF (4u << 20)
#define TRACE_RECV (64u * 1024u)

int natgw_nft_trace_subscribe(struct natgw_nl **ret) {
        _cleanup_(natgw_nl_freep) struct natgw_nl *nl = NULL;
        int r;

        r = natgw_nl_open(NETLINK_NETFILTER, 0, &nl);
        if (r < 0)
                return r;
        r = natgw_nl_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTRACE);
        if (r < 0)
                return r;
        natgw_nl_set_buffers(nl, TRACE_RCVBUF, 0);
        *ret = TAKE_PTR(nl);
        return 0;
}

int natgw_nft_trace_read(struct natgw_nl *nl, natgw_nft_trace_cb cb, void *userdata) {
        _cleanup_(freep) uint8_t *buf = malloc(TRACE_RECV);
        const struct nlmsghdr *nlh;
        const uint8_t *p;
        ssize_t len;
        size_t left;

        if (!buf)
                return -ENOMEM;
        len = natgw_nl_recv(nl, buf, TRACE_RECV, NULL);
        if (len < 0)
                return (int)len;
        p = buf;
        left = (size_t)len;
        while ((nlh = natgw_nlmsg_next(&p, &left))) {
                struct natgw_nft_trace t;
                int r;

                if (natgw_nft_trace_parse(nlh, &t) < 0)
                        continue;
                r = cb(&t, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

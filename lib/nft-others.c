/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <netinet/in.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft-others.h"
#include "nft-plan.h"
#include "nl.h"

#define CHAINS_MAX 256

struct base_chain {
        uint8_t family;
        char table[64], chain[64];
        uint32_t hook;
};

struct others {
        struct natgw_nft_others *o;
        struct base_chain chains[CHAINS_MAX];
        size_t n_chains;
};

const char *natgw_nft_family_name(uint8_t family) {
        switch (family) {
        case NFPROTO_IPV4:
                return "ip";
        case NFPROTO_IPV6:
                return "ip6";
        case NFPROTO_INET:
                return "inet";
        case NFPROTO_BRIDGE:
                return "bridge";
        case NFPROTO_NETDEV:
                return "netdev";
        default:
                return "?";
        }
}

static void copy_str(char *dst, size_t size, const struct nlattr *a) {
        snprintf(dst, size, "%.*s", (int)strnlen(natgw_nla_data(a), natgw_nla_len(a)), (const char *)natgw_nla_data(a));
}

static void add_drop(struct natgw_nft_others *o, const struct base_chain *c, bool policy, uint64_t handle) {
        if (o->n_drops < ELEMENTSOF(o->drops))
                o->drops[o->n_drops] = (struct natgw_nft_drop){ .family = c->family, .hook = c->hook,
                                                                 .policy = policy, .handle = handle };
        if (o->n_drops < ELEMENTSOF(o->drops)) {
                snprintf(o->drops[o->n_drops].table, sizeof(o->drops[0].table), "%s", c->table);
                snprintf(o->drops[o->n_drops].chain, sizeof(o->drops[0].chain), "%s", c->chain);
        }
        o->n_drops++;
}

/* The first attribute of type @type nested in @a; NULL when there is none (or @a is NULL). */
static const struct nlattr *child(const struct nlattr *a, uint16_t type) {
        const uint8_t *p;
        const struct nlattr *c;

        if (!a)
                return NULL;
        p = natgw_nla_data(a);
        while ((c = natgw_nla_next(&p, natgw_nla_end(a))))
                if (natgw_nla_type(c) == type)
                        return c;
        return NULL;
}

static bool hook_of_forward(uint8_t family, uint32_t hook) {
        return (family == NFPROTO_IPV4 || family == NFPROTO_IPV6 || family == NFPROTO_INET) &&
               (hook == NF_INET_PRE_ROUTING || hook == NF_INET_FORWARD || hook == NF_INET_POST_ROUTING);
}

static int on_chain(const struct nlmsghdr *nlh, void *userdata) {
        const uint8_t *p = natgw_nlmsg_attrs(nlh, sizeof(struct nfgenmsg)), *end = natgw_nlmsg_end(nlh);
        const struct nfgenmsg *nfg = NLMSG_DATA(nlh);
        struct others *d = userdata;
        struct base_chain c = { .family = nfg->nfgen_family, .hook = UINT32_MAX };
        const struct nlattr *a, *h;
        bool drop = false;

        if (!p || nlh->nlmsg_type != (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWCHAIN))
                return 0;
        while ((a = natgw_nla_next(&p, end)))
                switch (natgw_nla_type(a)) {
                case NFTA_CHAIN_TABLE:
                        copy_str(c.table, sizeof(c.table), a);
                        break;
                case NFTA_CHAIN_NAME:
                        copy_str(c.chain, sizeof(c.chain), a);
                        break;
                case NFTA_CHAIN_POLICY:
                        drop = natgw_nla_be32(a) == NF_DROP && natgw_nla_len(a) == sizeof(uint32_t);
                        break;
                case NFTA_CHAIN_HOOK:
                        h = child(a, NFTA_HOOK_HOOKNUM);
                        if (h)
                                c.hook = natgw_nla_be32(h);
                        break;
                default:
                        break;
                }
        if (!hook_of_forward(c.family, c.hook) || (c.family == NFPROTO_INET && streq(c.table, NATGW_TABLE)))
                return 0;
        d->o->n_chains++;
        if (drop)
                add_drop(d->o, &c, true, 0);
        if (d->n_chains < ELEMENTSOF(d->chains))
                d->chains[d->n_chains++] = c;
        return 0;
}

/* The verdict of an "immediate" expression @e: NF_DROP, NFT_JUMP, ...; NF_ACCEPT when it has none. */
static int32_t immediate_verdict(const struct nlattr *e) {
        const struct nlattr *code = child(
                child(child(child(e, NFTA_EXPR_DATA), NFTA_IMMEDIATE_DATA), NFTA_DATA_VERDICT), NFTA_VERDICT_CODE);

        return code ? (int32_t)natgw_nla_be32(code) : NF_ACCEPT;
}

/* What a rule's expressions end in: drop (a drop verdict or a reject), a jump, or neither. */
static void rule_effect(const struct nlattr *exprs, bool *ret_drop, bool *ret_jump) {
        const uint8_t *p = natgw_nla_data(exprs);
        const struct nlattr *e, *a;

        while ((e = natgw_nla_next(&p, natgw_nla_end(exprs)))) {
                const uint8_t *q = natgw_nla_data(e);

                while ((a = natgw_nla_next(&q, natgw_nla_end(e))))
                        if (natgw_nla_type(a) == NFTA_EXPR_NAME) {
                                const char *name = natgw_nla_data(a);
                                size_t n = strnlen(name, natgw_nla_len(a));

                                if (n == 6 && memcmp(name, "reject", 6) == 0)
                                        *ret_drop = true;
                                else if (n == 9 && memcmp(name, "immediate", 9) == 0) {
                                        int32_t v = immediate_verdict(e);

                                        *ret_drop |= v == NF_DROP;
                                        *ret_jump |= v == NFT_JUMP || v == NFT_GOTO;
                                }
                        }
        }
}

static int on_rule(const struct nlmsghdr *nlh, void *userdata) {
        const uint8_t *p = natgw_nlmsg_attrs(nlh, sizeof(struct nfgenmsg)), *end = natgw_nlmsg_end(nlh);
        const struct nfgenmsg *nfg = NLMSG_DATA(nlh);
        struct others *d = userdata;
        char table[64] = "", chain[64] = "";
        const struct nlattr *a, *exprs = NULL;
        bool drop = false, jump = false;
        uint64_t handle = 0;

        if (!p || nlh->nlmsg_type != (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWRULE))
                return 0;
        while ((a = natgw_nla_next(&p, end)))
                switch (natgw_nla_type(a)) {
                case NFTA_RULE_TABLE:
                        copy_str(table, sizeof(table), a);
                        break;
                case NFTA_RULE_CHAIN:
                        copy_str(chain, sizeof(chain), a);
                        break;
                case NFTA_RULE_HANDLE:
                        handle = natgw_nla_be64(a);
                        break;
                case NFTA_RULE_EXPRESSIONS:
                        exprs = a;
                        break;
                default:
                        break;
                }
        for (size_t i = 0; exprs && i < d->n_chains; i++) {
                const struct base_chain *c = &d->chains[i];

                if (c->family != nfg->nfgen_family || !streq(c->table, table) || !streq(c->chain, chain))
                        continue;
                rule_effect(exprs, &drop, &jump);
                if (drop)
                        add_drop(d->o, c, false, handle);
                if (jump)
                        d->o->n_jumps++;
                break;
        }
        return 0;
}

static int dump(uint8_t msg, uint64_t deadline, natgw_nl_msg_cb cb, void *userdata) {
        _cleanup_(natgw_nl_freep) struct natgw_nl *nl = NULL;
        _Alignas(struct nlmsghdr) char req[64];
        struct nlmsghdr *nlh = natgw_nfnl_put_header(req, NFNL_SUBSYS_NFTABLES, msg, NLM_F_DUMP, NFPROTO_UNSPEC);
        int r;

        r = natgw_nl_open(NETLINK_NETFILTER, 0, &nl);
        if (r < 0)
                return r;
        natgw_nl_set_timeout(nl, nl->idle_usec, deadline);
        return natgw_nl_dump(nl, nlh, cb, userdata);
}

int natgw_nft_others_read(uint64_t deadline, struct natgw_nft_others *ret) {
        _cleanup_(freep) struct others *d = calloc(1, sizeof(*d));
        struct natgw_nft_others o = {};
        int r;

        if (!d)
                return -ENOMEM;
        d->o = &o;
        r = dump(NFT_MSG_GETCHAIN, deadline, on_chain, d);
        if (r < 0)
                return r;
        r = dump(NFT_MSG_GETRULE, deadline, on_rule, d);
        if (r < 0)
                return r;
        *ret = o;
        return 0;
}

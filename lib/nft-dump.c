/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading table inet natgw back from the kernel: the named counters of its entries.
 */

/* netinet/in.h (via nft.h) before the kernel's headers, which then leave its types alone. */
#include "nft-netlink.h"
#include "nft.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#define DUMP_TRIES 3

struct counters {
        struct natgw_counter *v;
        size_t n, cap;
};

void natgw_counters_free(struct natgw_counter *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i].name);
        free(v);
}

int natgw_nft_counter_parse(const struct nlmsghdr *nlh, struct natgw_nft_counter *ret) {
        const uint8_t *p = natgw_nlmsg_attrs(nlh, sizeof(struct nfgenmsg)), *end = natgw_nlmsg_end(nlh);
        struct natgw_nft_counter c = {};
        bool ours = false, counter = false;
        const struct nlattr *a, *b;

        if (!p || nlh->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWOBJ))
                return -EPROTO;
        while ((a = natgw_nla_next(&p, end)))
                switch (natgw_nla_type(a)) {
                case NFTA_OBJ_TABLE:
                        ours = natgw_nla_streq(a, NATGW_TABLE);
                        break;
                case NFTA_OBJ_NAME: {
                        size_t n = natgw_nla_strlen(a);

                        if (n == 0 || n >= sizeof(c.name) || n == natgw_nla_len(a))
                                return -EPROTO; /* empty, too long, or not NUL-terminated */
                        memcpy(c.name, natgw_nla_data(a), n + 1);
                        break;
                }
                case NFTA_OBJ_TYPE:
                        counter = natgw_nla_be32(a) == NFT_OBJECT_COUNTER;
                        break;
                case NFTA_OBJ_DATA: {
                        const uint8_t *q = natgw_nla_data(a);

                        while ((b = natgw_nla_next(&q, natgw_nla_end(a))))
                                if (natgw_nla_type(b) == NFTA_COUNTER_PACKETS)
                                        c.packets = natgw_nla_be64(b);
                                else if (natgw_nla_type(b) == NFTA_COUNTER_BYTES)
                                        c.bytes = natgw_nla_be64(b);
                        break;
                }
                default:
                        break;
                }
        /* Another table's object, or no counter: not ours to show. */
        if (!ours || !counter || !c.name[0])
                return -ENOENT;
        *ret = c;
        return 0;
}

static int on_obj(const struct nlmsghdr *nlh, void *userdata) {
        struct counters *cs = userdata;
        struct natgw_nft_counter c;

        if (natgw_nft_counter_parse(nlh, &c) < 0)
                return 0;
        if (GROW(cs->v, cs->cap, cs->n + 1) < 0 || !(cs->v[cs->n].name = strdup(c.name)))
                return -ENOMEM;
        cs->v[cs->n].packets = c.packets;
        cs->v[cs->n].bytes = c.bytes;
        cs->n++;
        return 0;
}

/* A message that only needs to arrive. */
static int on_ignore(const struct nlmsghdr *nlh, void *userdata) {
        (void)nlh;
        (void)userdata;
        return 0;
}

int natgw_nft_dump_counters(struct natgw_counter **ret, size_t *ret_n) {
        _Alignas(struct nlmsghdr) char buf[256];
        struct nlmsghdr *nlh = natgw_nfnl_put_header(buf, NFNL_SUBSYS_NFTABLES, NFT_MSG_GETOBJ, NLM_F_DUMP,
                                                     NFPROTO_INET);
        int r = -EINTR;

        mnl_attr_put_strz(nlh, NFTA_OBJ_TABLE, NATGW_TABLE);
        mnl_attr_put_u32(nlh, NFTA_OBJ_TYPE, htonl(NFT_OBJECT_COUNTER));
        /* Each try on a fresh socket: an overrun dump may leave messages behind in an old one. */
        for (int t = 0; t < DUMP_TRIES && r == -EINTR; t++) {
                _cleanup_(natgw_nl_freep) struct natgw_nl *nl = NULL;
                struct counters c = {};

                r = natgw_nl_open(NETLINK_NETFILTER, 0, &nl);
                if (r >= 0)
                        r = natgw_nl_dump(nl, nlh, on_obj, &c);
                if (r < 0) {
                        natgw_counters_free(c.v, c.n);
                        continue;
                }
                *ret = c.v;
                *ret_n = c.n;
        }
        return r;
}

/* Whether table inet natgw is there: 0, -ENOENT, other -errno. */
static int table_exists(struct natgw_nl *nl) {
        _Alignas(struct nlmsghdr) char buf[256];
        struct nlmsghdr *nlh = natgw_nfnl_put_header(buf, NFNL_SUBSYS_NFTABLES, NFT_MSG_GETTABLE, NLM_F_ACK,
                                                     NFPROTO_INET);

        mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, NATGW_TABLE);
        return natgw_nl_dump(nl, nlh, on_ignore, NULL);
}

int natgw_nft_get_counters(const char *const *names, size_t n_names, struct natgw_counter **ret, size_t *ret_n) {
        _cleanup_(natgw_nl_freep) struct natgw_nl *nl = NULL;
        struct counters c = {};
        int r;

        r = natgw_nl_open(NETLINK_NETFILTER, 0, &nl);
        if (r >= 0)
                r = table_exists(nl);
        for (size_t i = 0; r >= 0 && i < n_names; i++) {
                _Alignas(struct nlmsghdr) char buf[512];
                struct nlmsghdr *nlh = natgw_nfnl_put_header(buf, NFNL_SUBSYS_NFTABLES, NFT_MSG_GETOBJ, NLM_F_ACK,
                                                             NFPROTO_INET);

                if (strlen(names[i]) >= sizeof(buf) - 128)
                        continue; /* no counter has such a name */
                mnl_attr_put_strz(nlh, NFTA_OBJ_TABLE, NATGW_TABLE);
                mnl_attr_put_strz(nlh, NFTA_OBJ_NAME, names[i]);
                mnl_attr_put_u32(nlh, NFTA_OBJ_TYPE, htonl(NFT_OBJECT_COUNTER));
                /* The object, then the ack; a counter the table does not have: ENOENT. */
                r = natgw_nl_dump(nl, nlh, on_obj, &c);
                if (r == -ENOENT)
                        r = 0;
        }
        if (r < 0) {
                natgw_counters_free(c.v, c.n);
                return r;
        }
        *ret = c.v;
        *ret_n = c.n;
        return 0;
}

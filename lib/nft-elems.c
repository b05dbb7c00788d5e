/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading the elements of a set of table inet natgw back from the kernel.
 */

/* netinet/in.h (via nft-plan.h) before the kernel's headers, which then leave its types alone. */
#include "nft-plan.h"

#include "nft-elems.h"
#include "nl.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#define DUMP_TRIES 3

/* The bytes of NFTA_DATA_VALUE inside the nested data attribute @a. */
static void data_value(const struct nlattr *a, const uint8_t **ret, size_t *ret_len) {
        const uint8_t *p = natgw_nla_data(a);
        const struct nlattr *b;

        while ((b = natgw_nla_next(&p, natgw_nla_end(a))))
                if (natgw_nla_type(b) == NFTA_DATA_VALUE) {
                        *ret = natgw_nla_data(b);
                        *ret_len = natgw_nla_len(b);
                        return;
                }
}

/* A counter expression (nft_expr_attributes) @a of an element: its packets and bytes into @e. */
static void counter_parse(const struct nlattr *a, struct natgw_nft_elem *e) {
        const uint8_t *p = natgw_nla_data(a), *q;
        const struct nlattr *b, *c;
        bool counter = false;

        while ((b = natgw_nla_next(&p, natgw_nla_end(a))))
                if (natgw_nla_type(b) == NFTA_EXPR_NAME)
                        counter = natgw_nla_streq(b, "counter");
                else if (natgw_nla_type(b) == NFTA_EXPR_DATA && counter)
                        for (q = natgw_nla_data(b); (c = natgw_nla_next(&q, natgw_nla_end(b)));) {
                                if (natgw_nla_type(c) == NFTA_COUNTER_PACKETS && natgw_nla_len(c) == 8)
                                        e->packets = natgw_nla_be64(c), e->has_counter = true;
                                else if (natgw_nla_type(c) == NFTA_COUNTER_BYTES && natgw_nla_len(c) == 8)
                                        e->bytes = natgw_nla_be64(c), e->has_counter = true;
                        }
}

static int elem_parse(const struct nlattr *a, natgw_nft_elem_cb cb, void *userdata) {
        const uint8_t *p = natgw_nla_data(a);
        struct natgw_nft_elem e = {};
        const struct nlattr *b;

        while ((b = natgw_nla_next(&p, natgw_nla_end(a))))
                switch (natgw_nla_type(b)) {
                case NFTA_SET_ELEM_KEY:
                        data_value(b, &e.key, &e.key_len);
                        break;
                case NFTA_SET_ELEM_KEY_END:
                        data_value(b, &e.key_end, &e.key_end_len);
                        break;
                case NFTA_SET_ELEM_DATA:
                        data_value(b, &e.data, &e.data_len);
                        break;
                case NFTA_SET_ELEM_EXPR: /* one expression */
                        counter_parse(b, &e);
                        break;
                case NFTA_SET_ELEM_EXPRESSIONS: { /* a list of them */
                        const uint8_t *q = natgw_nla_data(b);
                        const struct nlattr *c;

                        while ((c = natgw_nla_next(&q, natgw_nla_end(b))))
                                if (natgw_nla_type(c) == NFTA_LIST_ELEM)
                                        counter_parse(c, &e);
                        break;
                }
                default:
                        break;
                }
        return e.key ? cb(&e, userdata) : 0;
}

int natgw_nft_elems_parse(const struct nlmsghdr *nlh, const char *set, natgw_nft_elem_cb cb, void *userdata) {
        const uint8_t *p = natgw_nlmsg_attrs(nlh, sizeof(struct nfgenmsg)), *end = natgw_nlmsg_end(nlh);
        const struct nlattr *a, *list = NULL;
        bool table = false, ours = false;

        if (!p || nlh->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM))
                return -EPROTO;
        while ((a = natgw_nla_next(&p, end)))
                switch (natgw_nla_type(a)) {
                case NFTA_SET_ELEM_LIST_TABLE:
                        table = natgw_nla_streq(a, NATGW_TABLE);
                        break;
                case NFTA_SET_ELEM_LIST_SET:
                        ours = natgw_nla_streq(a, set);
                        break;
                case NFTA_SET_ELEM_LIST_ELEMENTS:
                        list = a;
                        break;
                default:
                        break;
                }
        if (!table || !ours || !list)
                return 0;
        p = natgw_nla_data(list);
        while ((a = natgw_nla_next(&p, natgw_nla_end(list)))) {
                int r = natgw_nla_type(a) == NFTA_LIST_ELEM ? elem_parse(a, cb, userdata) : 0;

                if (r < 0)
                        return r;
        }
        return 0;
}

struct walk {
        const char *set;
        natgw_nft_elem_cb cb;
        void *userdata;
};

static int on_msg(const struct nlmsghdr *nlh, void *userdata) {
        const struct walk *w = userdata;
        int r = natgw_nft_elems_parse(nlh, w->set, w->cb, w->userdata);

        return r == -EPROTO ? 0 : r;
}

int natgw_nft_elems_read(const char *set, uint64_t deadline, void (*restart)(void *userdata), natgw_nft_elem_cb cb,
                         void *userdata) {
        _Alignas(struct nlmsghdr) char buf[256];
        struct nlmsghdr *nlh = natgw_nfnl_put_header(buf, NFNL_SUBSYS_NFTABLES, NFT_MSG_GETSETELEM, NLM_F_DUMP,
                                                     NFPROTO_INET);
        struct walk w = { .set = set, .cb = cb, .userdata = userdata };
        int r = -EINTR;

        mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, NATGW_TABLE);
        mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
        /* Each try on a fresh socket: an overrun dump may leave messages behind in an old one. */
        for (int t = 0; t < DUMP_TRIES && r == -EINTR; t++) {
                _cleanup_(natgw_nl_freep) struct natgw_nl *nl = NULL;

                if (restart)
                        restart(userdata);
                r = natgw_nl_open(NETLINK_NETFILTER, 0, &nl);
                if (r < 0)
                        return r;
                natgw_nl_set_timeout(nl, nl->idle_usec, deadline);
                r = natgw_nl_dump(nl, nlh, on_msg, &w);
        }
        return r;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading table inet natgw back from the kernel: the named counters of its entries.
 */

/* netinet/in.h (via nft.h) before the kernel's headers, which then leave its types alone. */
#include "nft-batch.h"
#include "nft.h"

#include <libmnl/libmnl.h>
#include <libnftnl/object.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <time.h>

#define DUMP_TRIES 3
/* Larger than any dump message the kernel builds (it sizes them to a page or 32 KiB). */
#define DUMP_BUF (64 * 1024)

struct counters {
        struct natgw_counter *v;
        size_t n, cap;
        int r;
};

void natgw_counters_free(struct natgw_counter *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i].name);
        free(v);
}

static int on_obj(const struct nlmsghdr *nlh, void *data) {
        struct counters *c = data;
        struct nftnl_obj *o;
        const char *name;

        o = nftnl_obj_alloc();
        if (!o) {
                c->r = -ENOMEM;
                return MNL_CB_ERROR;
        }
        if (nftnl_obj_nlmsg_parse(nlh, o) < 0 || nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE) != NFT_OBJECT_COUNTER ||
            !(name = nftnl_obj_get_str(o, NFTNL_OBJ_NAME))) {
                /* Not a counter of ours (or one this libnftnl cannot read): not ours to show. */
                nftnl_obj_free(o);
                return MNL_CB_OK;
        }
        if (GROW(c->v, c->cap, c->n + 1) < 0 || !(c->v[c->n].name = strdup(name))) {
                nftnl_obj_free(o);
                c->r = -ENOMEM;
                return MNL_CB_ERROR;
        }
        c->v[c->n].packets = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS);
        c->v[c->n].bytes = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_BYTES);
        c->n++;
        nftnl_obj_free(o);
        return MNL_CB_OK;
}

/* One dump; -EINTR when the kernel says the table changed under it. */
static int dump_once(struct mnl_socket *nl, uint32_t seq, struct counters *c) {
        _cleanup_(freep) char *buf = malloc(DUMP_BUF);
        uint32_t portid = mnl_socket_get_portid(nl);
        struct nftnl_obj *o;
        struct nlmsghdr *nlh;
        bool intr = false;

        if (!buf)
                return -ENOMEM;
        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETOBJ, NFPROTO_INET, NLM_F_DUMP, seq);
        o = nftnl_obj_alloc();
        if (!o)
                return -ENOMEM;
        nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, NATGW_TABLE);
        nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
        nftnl_obj_nlmsg_build_payload(nlh, o);
        nftnl_obj_free(o);
        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
                return -errno;

        for (;;) {
                ssize_t n = mnl_socket_recvfrom(nl, buf, DUMP_BUF);
                int len, r;

                if (n < 0)
                        /* ENOBUFS: the dump overran the socket; start again like an interrupted one. */
                        return errno == ENOBUFS ? -EINTR : -errno;
                len = (int)n;
                for (const struct nlmsghdr *h = (const void *)buf; mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len))
                        if (h->nlmsg_flags & NLM_F_DUMP_INTR)
                                intr = true;
                r = mnl_cb_run(buf, (size_t)n, seq, portid, on_obj, c);
                if (r < 0)
                        return c->r < 0 ? c->r : -errno;
                if (r == MNL_CB_STOP)
                        break;
        }
        return intr ? -EINTR : 0;
}

int natgw_nft_dump_counters(struct natgw_counter **ret, size_t *ret_n) {
        uint32_t seq = (uint32_t)time(NULL);
        int r = -EINTR;

        /* A fresh socket per try: an overrun dump may leave messages behind in the old one. */
        for (int t = 0; t < DUMP_TRIES && r == -EINTR; t++) {
                struct counters c = {};
                struct mnl_socket *nl;

                nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
                if (!nl)
                        return -errno;
                if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
                        r = -errno;
                else
                        r = dump_once(nl, seq + (uint32_t)t, &c);
                mnl_socket_close(nl);
                if (r < 0) {
                        natgw_counters_free(c.v, c.n);
                        continue;
                }
                *ret = c.v;
                *ret_n = c.n;
        }
        return r;
}

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
#include <sys/socket.h>

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

/* Requests in flight at once: each answer is a datagram of its own in the receive buffer (the
 * kernel allocates a page for each; counted at up to 8 KiB with its overhead), which must hold
 * all of them. Without CAP_NET_ADMIN the buffer stays at the system's maximum: fewer at once. */
#define GET_CHUNK 256
#define GET_ANSWER_TRUESIZE 8192
#define GET_RCVBUF (GET_CHUNK * GET_ANSWER_TRUESIZE * 2)
#define GET_NAME_MAX 256
/* The largest answer: a counter (its name at most 255 bytes), or an error ack that echoes the
 * request (as long again). */
#define GET_ANSWER_MAX 4096

/* How many requests the receive buffer of @nl holds the answers of. */
static uint32_t get_chunk_size(const struct natgw_nl *nl) {
        int rcv = 0;
        socklen_t len = sizeof(rcv);

        if (getsockopt(nl->fd, SOL_SOCKET, SO_RCVBUF, &rcv, &len) < 0 || rcv <= 0)
                return 8;
        return (uint32_t)MIN(MAX((size_t)rcv / 2 / GET_ANSWER_TRUESIZE, (size_t)8), (size_t)GET_CHUNK);
}

/* The answers of one chunk: requests first_seq .. first_seq + n - 1, for names[0 .. n - 1]. */
struct get_chunk {
        struct counters *c;
        const char *const *names;
        uint32_t first_seq, n, answered;
        int error;
};

/* One message of the answers to a chunk: a counter, or an error ack (ENOENT: no such counter). */
static int on_get_answer(const struct nlmsghdr *nlh, struct get_chunk *g) {
        struct natgw_nft_counter c;
        uint32_t i = nlh->nlmsg_seq - g->first_seq;

        if (i >= g->n)
                return 0; /* not this chunk's */
        g->answered++;
        if (nlh->nlmsg_type == NLMSG_ERROR) {
                struct natgw_nl_ack a;

                if (natgw_nl_ack_parse(nlh, &a) < 0)
                        return -EPROTO;
                if (a.error < 0 && a.error != -ENOENT && g->error == 0)
                        g->error = a.error;
                return 0;
        }
        /* A counter of another name than asked for is not counted as this one's. */
        if (natgw_nft_counter_parse(nlh, &c) < 0 || !streq(c.name, g->names[i]))
                return 0;
        return on_obj(nlh, g->c);
}

int natgw_nft_get_counters(const char *const *names, size_t n_names, struct natgw_counter **ret, size_t *ret_n) {
        _cleanup_(natgw_nl_freep) struct natgw_nl *nl = NULL;
        _cleanup_(freep) uint8_t *req = NULL, *buf = NULL;
        struct counters c = {};
        size_t size = GET_CHUNK * NLMSG_ALIGN(NLMSG_HDRLEN + 256 + GET_NAME_MAX);
        uint32_t chunk = GET_CHUNK;
        int r;

        req = malloc(size);
        buf = malloc(NATGW_NL_RECV_MANY_MAX * GET_ANSWER_MAX);
        if (!req || !buf)
                return -ENOMEM;
        r = natgw_nl_open(NETLINK_NETFILTER, 0, &nl);
        if (r >= 0) {
                natgw_nl_set_buffers(nl, GET_RCVBUF, 0);
                chunk = get_chunk_size(nl);
                r = table_exists(nl);
        }
        /* Pipelined: a chunk of requests in one datagram (no NLM_F_ACK: a counter's answer is the
         * counter, a missing one's an error ack), then its answers, one datagram each. */
        for (size_t lo = 0; r >= 0 && lo < n_names; lo += chunk) {
                struct get_chunk g = { .c = &c, .names = names + lo, .n = (uint32_t)MIN(n_names - lo, (size_t)chunk) };
                size_t len = 0;

                g.first_seq = natgw_nl_seq(nl, g.n);
                for (uint32_t i = 0; i < g.n; i++) {
                        struct nlmsghdr *nlh;

                        /* No counter has such a name: asked for under the empty name, which
                         * none has either, so that every sequence number gets its answer. */
                        nlh = natgw_nfnl_put_header(req + len, NFNL_SUBSYS_NFTABLES, NFT_MSG_GETOBJ, 0, NFPROTO_INET);
                        nlh->nlmsg_seq = g.first_seq + i;
                        mnl_attr_put_strz(nlh, NFTA_OBJ_TABLE, NATGW_TABLE);
                        mnl_attr_put_strz(nlh, NFTA_OBJ_NAME, strlen(g.names[i]) < GET_NAME_MAX ? g.names[i] : "");
                        mnl_attr_put_u32(nlh, NFTA_OBJ_TYPE, htonl(NFT_OBJECT_COUNTER));
                        len += NLMSG_ALIGN(nlh->nlmsg_len);
                }
                r = natgw_nl_send(nl, req, len);
                while (r >= 0 && g.answered < g.n) {
                        size_t lens[NATGW_NL_RECV_MANY_MAX];
                        size_t got = natgw_nl_recv_many(nl, buf, GET_ANSWER_MAX, NATGW_NL_RECV_MANY_MAX, lens, &r);

                        for (size_t d = 0; r >= 0 && d < got; d++) {
                                const uint8_t *q = buf + d * GET_ANSWER_MAX;
                                size_t left = lens[d];
                                const struct nlmsghdr *nlh;

                                while (r >= 0 && (nlh = natgw_nlmsg_next(&q, &left)))
                                        if (nlh->nlmsg_pid == nl->portid)
                                                r = on_get_answer(nlh, &g);
                        }
                }
                if (r >= 0 && g.error < 0)
                        r = g.error;
        }
        if (r < 0) {
                natgw_counters_free(c.v, c.n);
                return r;
        }
        *ret = c.v;
        *ret_n = c.n;
        return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One conntrack dump, aggregated. Entries are collected as small fixed-size keys, then sorted
 * and counted: O(n log n) time and O(n) memory in the number of entries, nothing per distinct
 * value beyond that, and no allocation inside the dump callback except the array's growth.
 */

#include <arpa/inet.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack_tcp.h>
#include <netdb.h>
#include <time.h>

#include "ct-top.h"

/* A dump of the whole table arrives faster than we read it: a big receive buffer avoids ENOBUFS. */
#define CT_RCVBUF (16 * 1024 * 1024)
#define DUMP_TRIES 3

struct key {
        uint8_t family, l4proto;
        uint16_t port;
        uint8_t addr[16];
};

struct collect {
        struct key *src, *dst;
        size_t n, cap;
        struct natgw_ct_top *top;
        int r;
};

static const char *const tcp_state_names[] = {
        "NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT",
        "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2",
};

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int on_ct(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data) {
        struct collect *c = data;
        uint8_t family = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO), l4 = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
        struct key *s, *d;

        if (c->n == c->cap) {
                size_t cap = c->cap;

                if (GROW(c->src, cap, c->n + 1) < 0 || GROW(c->dst, c->cap, c->n + 1) < 0) {
                        c->r = -ENOMEM;
                        return NFCT_CB_FAILURE;
                }
        }
        s = &c->src[c->n];
        d = &c->dst[c->n];
        *s = (struct key){ .family = family };
        *d = (struct key){ .family = family, .l4proto = l4 };
        if (family == AF_INET) {
                memcpy(s->addr, nfct_get_attr(ct, ATTR_ORIG_IPV4_SRC), 4);
                memcpy(d->addr, nfct_get_attr(ct, ATTR_ORIG_IPV4_DST), 4);
        } else if (family == AF_INET6) {
                memcpy(s->addr, nfct_get_attr(ct, ATTR_ORIG_IPV6_SRC), 16);
                memcpy(d->addr, nfct_get_attr(ct, ATTR_ORIG_IPV6_DST), 16);
        } else
                return NFCT_CB_CONTINUE;
        if (l4 == IPPROTO_TCP || l4 == IPPROTO_UDP || l4 == IPPROTO_SCTP || l4 == IPPROTO_UDPLITE ||
            l4 == IPPROTO_DCCP)
                d->port = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
        c->n++;
        c->top->total++;
        c->top->protos[l4]++;
        if (l4 == IPPROTO_TCP && nfct_attr_is_set(ct, ATTR_TCP_STATE)) {
                uint8_t st = nfct_get_attr_u8(ct, ATTR_TCP_STATE);

                c->top->tcp_states[st < ELEMENTSOF(c->top->tcp_states) ? st : 0]++;
        }
        return NFCT_CB_CONTINUE;
}

static int key_cmp(const void *a, const void *b) {
        return memcmp(a, b, sizeof(struct key));
}

static int count_cmp(const void *a, const void *b) {
        const struct natgw_ct_count *x = a, *y = b;

        return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

/* Sort @keys, count equal runs, keep the @top largest. */
static int aggregate(struct key *keys, size_t n, unsigned top, struct natgw_ct_count **ret, size_t *ret_n) {
        _cleanup_(freep) struct natgw_ct_count *v = NULL;
        size_t nv = 0, cap = 0;

        qsort(keys, n, sizeof(*keys), key_cmp);
        for (size_t i = 0; i < n;) {
                size_t j = i + 1;
                struct natgw_ct_count *e;

                while (j < n && key_cmp(&keys[i], &keys[j]) == 0)
                        j++;
                /* Keep at most 2 * top candidates between partial sorts: memory O(top). */
                if (nv == 2 * (size_t)top) {
                        qsort(v, nv, sizeof(*v), count_cmp);
                        nv = top;
                }
                if (GROW(v, cap, nv + 1) < 0)
                        return -ENOMEM;
                e = &v[nv++];
                *e = (struct natgw_ct_count){ .port = keys[i].port, .l4proto = keys[i].l4proto, .count = j - i };
                e->addr.family = keys[i].family;
                memcpy(e->addr.bytes, keys[i].addr, 16);
                i = j;
        }
        qsort(v, nv, sizeof(*v), count_cmp);
        *ret_n = MIN(nv, (size_t)top);
        *ret = TAKE_PTR(v);
        return 0;
}

static int dump(struct collect *c) {
        struct nfct_handle *h;
        uint32_t family = AF_UNSPEC;
        int r = 0;

        h = nfct_open(CONNTRACK, 0);
        if (!h)
                return -errno;
        nfnl_rcvbufsiz(nfct_nfnlh(h), CT_RCVBUF);
        nfct_callback_register(h, NFCT_T_ALL, on_ct, c);
        if (nfct_query(h, NFCT_Q_DUMP, &family) < 0)
                r = c->r < 0 ? c->r : -errno;
        nfct_close(h);
        return r;
}

int natgw_ct_top_dump(unsigned top, struct natgw_ct_top **ret) {
        _cleanup_(natgw_ct_top_freep) struct natgw_ct_top *t = NULL;
        uint64_t start = now_usec();
        struct collect c = {};
        int r = -ENOBUFS;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        /* ENOBUFS: the dump overran the socket buffer; it starts again from the beginning. */
        for (int i = 0; i < DUMP_TRIES && r == -ENOBUFS; i++) {
                free(c.src);
                free(c.dst);
                c = (struct collect){ .top = t };
                *t = (struct natgw_ct_top){};
                r = dump(&c);
        }
        if (r >= 0)
                r = aggregate(c.src, c.n, top, &t->sources, &t->n_sources);
        if (r >= 0)
                r = aggregate(c.dst, c.n, top, &t->destinations, &t->n_destinations);
        free(c.src);
        free(c.dst);
        if (r < 0)
                return r;
        t->dump_usec = now_usec() - start;
        *ret = TAKE_PTR(t);
        return 0;
}

struct natgw_ct_top *natgw_ct_top_free(struct natgw_ct_top *t) {
        if (!t)
                return NULL;
        free(t->sources);
        free(t->destinations);
        free(t);
        return NULL;
}

static const char *proto_name(unsigned p, char *buf, size_t size) {
        switch (p) {
        case IPPROTO_TCP:
                return "tcp";
        case IPPROTO_UDP:
                return "udp";
        case IPPROTO_ICMP:
                return "icmp";
        case IPPROTO_ICMPV6:
                return "icmpv6";
        case IPPROTO_SCTP:
                return "sctp";
        case IPPROTO_GRE:
                return "gre";
        default:
                snprintf(buf, size, "%u", p);
                return buf;
        }
}

static json_t *counts_json(const struct natgw_ct_count *v, size_t n, uint64_t total, bool dest) {
        json_t *a = json_array();

        for (size_t i = 0; a && i < n; i++) {
                char addr[INET6_ADDRSTRLEN], pbuf[8];
                json_t *o;

                natgw_addr_format(&v[i].addr, addr, sizeof(addr));
                o = json_pack("{s:s,s:I,s:f}", "address", addr, "count", (json_int_t)v[i].count, "percent",
                              total ? 100.0 * (double)v[i].count / (double)total : 0.0);
                if (o && dest &&
                    (json_object_set_new(o, "protocol", json_string(proto_name(v[i].l4proto, pbuf, sizeof(pbuf)))) < 0 ||
                     (v[i].port && json_object_set_new(o, "port", json_integer(v[i].port)) < 0))) {
                        json_decref(o);
                        o = NULL;
                }
                if (json_array_append_new(a, o) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

json_t *natgw_ct_top_json(const struct natgw_ct_top *t) {
        _cleanup_(json_decrefp) json_t *protos = json_object(), *states = json_object();

        if (!protos || !states)
                return NULL;
        for (unsigned p = 0; p < ELEMENTSOF(t->protos); p++) {
                char buf[8];

                if (t->protos[p] && json_object_set_new(protos, proto_name(p, buf, sizeof(buf)),
                                                        json_integer((json_int_t)t->protos[p])) < 0)
                        return NULL;
        }
        for (unsigned s = 0; s < ELEMENTSOF(tcp_state_names); s++)
                if (t->tcp_states[s] &&
                    json_object_set_new(states, tcp_state_names[s], json_integer((json_int_t)t->tcp_states[s])) < 0)
                        return NULL;
        return json_pack("{s:b,s:I,s:f,s:o*,s:o*,s:O,s:O}", "ok", 1, "total", (json_int_t)t->total, "dump_ms",
                         (double)t->dump_usec / 1000.0, "sources",
                         counts_json(t->sources, t->n_sources, t->total, false), "destinations",
                         counts_json(t->destinations, t->n_destinations, t->total, true), "protocols", protos,
                         "tcp_states", states);
}

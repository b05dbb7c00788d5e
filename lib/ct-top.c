/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One conntrack dump, aggregated as it streams in: each entry updates two fixed-size summaries
 * (sources, destinations) and a few counters. Time O(n log k), memory O(k) for k tracked keys,
 * however large the table; nothing is allocated per entry.
 */

#include <arpa/inet.h>
#include <time.h>

#include "ct-dump.h"
#include "ct-top.h"
#include "time-util.h"

#define DUMP_TRIES 3
#define NONE UINT32_MAX

struct key {
        uint8_t family, l4proto;
        uint16_t port;
        uint8_t addr[16];
};

/*
 * Space-Saving (Metwally et al.): at most `cap` keys with counters. A new key when all slots are
 * taken replaces the key with the smallest count and inherits that count (+1), remembered as
 * its error. Slots sit in a min-heap by count and in a chained hash by key.
 */
struct natgw_ct_summary {
        size_t cap, n, n_buckets;
        bool evicted;
        struct slot {
                struct key key;
                uint64_t count, error;
                uint32_t pos;  /* its index in heap */
                uint32_t next; /* in its hash chain */
        } *slots;
        uint32_t *heap;        /* heap[i]: slot */
        uint32_t *bucket;
};

struct collect {
        struct natgw_ct_summary *src, *dst;
        struct natgw_ct_top *top;
        uint64_t deadline;
};

static const char *const tcp_state_names[] = {
        "NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT",
        "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2",
};

struct natgw_ct_summary *natgw_ct_summary_free(struct natgw_ct_summary *s) {
        if (!s)
                return NULL;
        free(s->slots);
        free(s->heap);
        free(s->bucket);
        free(s);
        return NULL;
}

int natgw_ct_summary_new(size_t capacity, struct natgw_ct_summary **ret) {
        _cleanup_(natgw_ct_summary_freep) struct natgw_ct_summary *s = NULL;

        if (capacity == 0 || capacity >= NONE / 2)
                return -EINVAL;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->cap = capacity;
        s->n_buckets = 1;
        while (s->n_buckets < 2 * capacity)
                s->n_buckets <<= 1;
        s->slots = calloc(capacity, sizeof(*s->slots));
        s->heap = calloc(capacity, sizeof(*s->heap));
        s->bucket = malloc(s->n_buckets * sizeof(*s->bucket));
        if (!s->slots || !s->heap || !s->bucket)
                return -ENOMEM;
        memset(s->bucket, 0xff, s->n_buckets * sizeof(*s->bucket));
        *ret = TAKE_PTR(s);
        return 0;
}

/* FNV-1a over the fields, not the struct's bytes: nothing but the key itself may count. */
static uint32_t key_hash(const struct key *k, size_t n_buckets) {
        uint32_t h = 2166136261u;

        h = (h ^ k->family) * 16777619u;
        h = (h ^ k->l4proto) * 16777619u;
        h = (h ^ (k->port & 0xffu)) * 16777619u;
        h = (h ^ (uint32_t)(k->port >> 8)) * 16777619u;
        for (size_t i = 0; i < sizeof(k->addr); i++)
                h = (h ^ k->addr[i]) * 16777619u;
        return h & (uint32_t)(n_buckets - 1);
}

static void heap_swap(struct natgw_ct_summary *s, uint32_t a, uint32_t b) {
        uint32_t t = s->heap[a];

        s->heap[a] = s->heap[b];
        s->heap[b] = t;
        s->slots[s->heap[a]].pos = a;
        s->slots[s->heap[b]].pos = b;
}

/* The count of heap[i] grew: move it down to where it belongs. */
static void sift_down(struct natgw_ct_summary *s, uint32_t i) {
        for (;;) {
                uint32_t l = 2 * i + 1, r = l + 1, m = i;

                if (l < s->n && s->slots[s->heap[l]].count < s->slots[s->heap[m]].count)
                        m = l;
                if (r < s->n && s->slots[s->heap[r]].count < s->slots[s->heap[m]].count)
                        m = r;
                if (m == i)
                        return;
                heap_swap(s, i, m);
                i = m;
        }
}

static void sift_up(struct natgw_ct_summary *s, uint32_t i) {
        while (i > 0 && s->slots[s->heap[(i - 1) / 2]].count > s->slots[s->heap[i]].count) {
                heap_swap(s, i, (i - 1) / 2);
                i = (i - 1) / 2;
        }
}

static void chain_remove(struct natgw_ct_summary *s, uint32_t slot) {
        uint32_t *p = &s->bucket[key_hash(&s->slots[slot].key, s->n_buckets)];

        while (*p != slot)
                p = &s->slots[*p].next;
        *p = s->slots[slot].next;
}

static void summary_add_key(struct natgw_ct_summary *s, const struct key *k) {
        uint32_t h = key_hash(k, s->n_buckets), slot;

        for (slot = s->bucket[h]; slot != NONE; slot = s->slots[slot].next)
                if (memcmp(&s->slots[slot].key, k, sizeof(*k)) == 0) {
                        s->slots[slot].count++;
                        sift_down(s, s->slots[slot].pos);
                        return;
                }
        if (s->n < s->cap) {
                slot = (uint32_t)s->n;
                s->slots[slot].count = 1;
                s->slots[slot].error = 0;
                s->heap[s->n] = slot;
                s->slots[slot].pos = (uint32_t)s->n;
                s->n++;
                sift_up(s, s->slots[slot].pos);
        } else {
                slot = s->heap[0];
                chain_remove(s, slot);
                s->slots[slot].error = s->slots[slot].count;
                s->slots[slot].count++;
                s->evicted = true;
                sift_down(s, 0);
        }
        s->slots[slot].key = *k;
        s->slots[slot].next = s->bucket[h];
        s->bucket[h] = slot;
}

void natgw_ct_summary_add(struct natgw_ct_summary *s, const struct natgw_addr *addr, uint16_t port, uint8_t l4proto) {
        struct key k = { .family = (uint8_t)addr->family, .l4proto = l4proto, .port = port };

        memcpy(k.addr, addr->bytes, addr->family == AF_INET ? 4 : 16);
        summary_add_key(s, &k);
}

static int count_cmp(const void *a, const void *b) {
        const struct natgw_ct_count *x = a, *y = b;

        if (x->count != y->count)
                return x->count < y->count ? 1 : -1;
        /* Ties in a stable, readable order. */
        return natgw_addr_cmp(&x->addr, &y->addr);
}

int natgw_ct_summary_top(const struct natgw_ct_summary *s, size_t top, struct natgw_ct_count **ret, size_t *ret_n,
                         bool *ret_approximate) {
        struct natgw_ct_count *v;

        v = calloc(MAX(s->n, (size_t)1), sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < s->n; i++) {
                v[i] = (struct natgw_ct_count){ .port = s->slots[i].key.port, .l4proto = s->slots[i].key.l4proto,
                                                .count = s->slots[i].count, .error = s->slots[i].error };
                v[i].addr.family = s->slots[i].key.family;
                memcpy(v[i].addr.bytes, s->slots[i].key.addr, 16);
        }
        qsort(v, s->n, sizeof(*v), count_cmp);
        *ret = v;
        *ret_n = MIN(s->n, top);
        if (ret_approximate)
                *ret_approximate = s->evicted;
        return 0;
}

static int on_entry(const struct natgw_ct_record *r, void *userdata) {
        const struct natgw_ct_tuple *t = &r->orig;
        struct collect *c = userdata;
        struct key s = { .family = t->family }, d = { .family = t->family, .l4proto = t->l4proto, .port = t->dport };

        memcpy(s.addr, t->src.bytes, sizeof(s.addr));
        memcpy(d.addr, t->dst.bytes, sizeof(d.addr));
        summary_add_key(c->src, &s);
        summary_add_key(c->dst, &d);
        c->top->total++;
        c->top->protos[t->l4proto]++;
        if (t->l4proto == IPPROTO_TCP && t->tcp_state != 0xff)
                c->top->tcp_states[t->tcp_state < ELEMENTSOF(c->top->tcp_states) ? t->tcp_state : 0]++;
        if ((c->top->total & 4095) == 0 && natgw_mono_usec() > c->deadline) {
                c->top->truncated = true;
                return 1;
        }
        return 0;
}

int natgw_ct_top_dump(unsigned top, struct natgw_ct_top **ret) {
        _cleanup_(natgw_ct_summary_freep) struct natgw_ct_summary *src = NULL, *dst = NULL;
        _cleanup_(natgw_ct_top_freep) struct natgw_ct_top *t = NULL;
        uint64_t start = natgw_mono_usec();
        bool approx_src = false, approx_dst = false;
        int r = -EINTR;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        /* -EINTR: the dump overran the socket or the kernel found it inconsistent; start again. */
        for (int i = 0; i < DUMP_TRIES && r == -EINTR; i++) {
                src = natgw_ct_summary_free(src);
                dst = natgw_ct_summary_free(dst);
                *t = (struct natgw_ct_top){};
                r = natgw_ct_summary_new(NATGW_CT_TOP_TRACKED, &src);
                if (r >= 0)
                        r = natgw_ct_summary_new(NATGW_CT_TOP_TRACKED, &dst);
                if (r < 0)
                        return r;
                r = natgw_ct_dump_records(UINT64_MAX, on_entry, &(struct collect){
                        .src = src, .dst = dst, .top = t, .deadline = start + NATGW_CT_TOP_DEADLINE_USEC });
        }
        if (r >= 0)
                r = natgw_ct_summary_top(src, top, &t->sources, &t->n_sources, &approx_src);
        if (r >= 0)
                r = natgw_ct_summary_top(dst, top, &t->destinations, &t->n_destinations, &approx_dst);
        if (r < 0)
                return r;
        t->approximate = approx_src || approx_dst;
        t->dump_usec = natgw_mono_usec() - start;
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
        static const char *const names[256] = {
                [IPPROTO_TCP] = "tcp", [IPPROTO_UDP] = "udp", [IPPROTO_ICMP] = "icmp",
                [IPPROTO_ICMPV6] = "icmpv6", [IPPROTO_SCTP] = "sctp", [IPPROTO_GRE] = "gre",
        };

        if (p < ELEMENTSOF(names) && names[p])
                return names[p];
        snprintf(buf, size, "%u", p);
        return buf;
}

static json_t *counts_json(const struct natgw_ct_count *v, size_t n, uint64_t total, bool dest) {
        _cleanup_(json_decrefp) json_t *a = json_array();

        for (size_t i = 0; a && i < n; i++) {
                char addr[INET6_ADDRSTRLEN], pbuf[8];
                const char *proto = proto_name(v[i].l4proto, pbuf, sizeof(pbuf));
                json_t *o;

                natgw_addr_format(&v[i].addr, addr, sizeof(addr));
                o = json_pack("{s:s,s:I,s:f}", "address", addr, "count", (json_int_t)v[i].count, "percent",
                              total ? 100.0 * (double)v[i].count / (double)total : 0.0);
                if (o && ((v[i].error && json_object_set_new(o, "error", json_integer((json_int_t)v[i].error)) < 0) ||
                          (dest && json_object_set_new(o, "protocol", json_string(proto)) < 0) ||
                          (dest && v[i].port && json_object_set_new(o, "port", json_integer(v[i].port)) < 0))) {
                        json_decref(o);
                        o = NULL;
                }
                if (json_array_append_new(a, o) < 0)
                        return NULL;
        }
        return TAKE_PTR(a);
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
        return json_pack("{s:b,s:I,s:b,s:b,s:f,s:o*,s:o*,s:O,s:O}", "ok", 1, "total", (json_int_t)t->total,
                         "approximate", t->approximate, "truncated", t->truncated, "dump_ms",
                         (double)t->dump_usec / 1000.0, "sources",
                         counts_json(t->sources, t->n_sources, t->total, false), "destinations",
                         counts_json(t->destinations, t->n_destinations, t->total, true), "protocols", protos,
                         "tcp_states", states);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * metrics.hosts read back from the kernel (see nft-hosts.h).
 */

#include <sys/socket.h>

#include "nft-elems.h"
#include "nft-hosts.h"
#include "nft.h"
#include "time-util.h"

/* A read of the four sets ends by then, whatever the kernel does. */
#define HOSTS_READ_USEC (5u * 1000000u)

static int count_cmp(const void *x, const void *y) {
        return natgw_addr_cmp(&((const struct natgw_host_count *)x)->addr, &((const struct natgw_host_count *)y)->addr);
}

int natgw_hosts_merge(struct natgw_host_count *v, size_t n, struct natgw_host **ret, size_t *ret_n) {
        struct natgw_host *rows = calloc(MAX(n, (size_t)1), sizeof(*rows));
        size_t k = 0;

        if (!rows)
                return -ENOMEM;
        if (n > 1)
                qsort(v, n, sizeof(*v), count_cmp);
        for (size_t i = 0; i < n; i++) {
                struct natgw_host *h;

                if (k == 0 || natgw_addr_cmp(&rows[k - 1].addr, &v[i].addr) != 0)
                        rows[k++] = (struct natgw_host){ .addr = v[i].addr, .entry = -1 };
                h = &rows[k - 1];
                if (v[i].out) {
                        h->packets_out += v[i].packets;
                        h->bytes_out += v[i].bytes;
                } else {
                        h->packets_in += v[i].packets;
                        h->bytes_in += v[i].bytes;
                }
        }
        *ret = rows;
        *ret_n = k;
        return 0;
}

int64_t natgw_host_entry(const struct natgw_config *c, const struct natgw_addr *a) {
        int64_t best = -1;
        unsigned best_len = 0;

        for (size_t i = 0; i < c->n_egress; i++)
                for (size_t s = 0; s < c->egress[i].n_sources; s++) {
                        const struct natgw_prefix *p = &c->egress[i].sources[s];

                        if (natgw_prefix_contains(p, a) && (best < 0 || p->len > best_len)) {
                                best = (int64_t)i;
                                best_len = p->len;
                        }
                }
        if (best >= 0)
                return best;
        for (size_t i = 0; i < c->n_forwards; i++)
                if (natgw_addr_cmp(&c->forwards[i].to, a) == 0)
                        return (int64_t)(c->n_egress + i);
        return -1;
}

const char *natgw_config_entry_name(const struct natgw_config *c, int64_t idx) {
        if (idx < 0)
                return NULL;
        if ((size_t)idx < c->n_egress)
                return c->egress[idx].name;
        if ((size_t)idx - c->n_egress < c->n_forwards)
                return c->forwards[(size_t)idx - c->n_egress].name;
        return NULL;
}

/* The elements of the sets; those of the set being read start at @first: a dump the kernel
 * interrupts is read again from its start (restart()), and must not count twice. */
struct set_read {
        int family;
        bool out;
        struct natgw_host_count *v;
        size_t n, cap, first;
};

static void on_restart(void *userdata) {
        struct set_read *x = userdata;

        x->n = x->first;
}

static int on_elem(const struct natgw_nft_elem *e, void *userdata) {
        struct set_read *x = userdata;

        if (e->key_len != (x->family == AF_INET ? 4u : 16u) || !e->has_counter)
                return 0; /* not what natgwd's rule puts there */
        if (GROW(x->v, x->cap, x->n + 1) < 0)
                return -ENOMEM;
        x->v[x->n] = (struct natgw_host_count){
                .addr.family = x->family, .out = x->out, .packets = e->packets, .bytes = e->bytes,
        };
        memcpy(x->v[x->n++].addr.bytes, e->key, e->key_len);
        return 0;
}

int natgw_nft_hosts_read(const struct natgw_config *c, struct natgw_host **ret, size_t *ret_n) {
        uint64_t deadline = natgw_now_usec(CLOCK_MONOTONIC) + HOSTS_READ_USEC;
        struct natgw_host *v = NULL;
        struct set_read x = {};
        size_t n = 0;
        int r = 0;

        for (int f = 0; f < 2 && r >= 0; f++)
                for (int out = 0; out < 2 && r >= 0; out++) {
                        x.family = f == 0 ? AF_INET : AF_INET6;
                        x.out = out;
                        x.first = x.n;
                        r = natgw_nft_elems_read(natgw_hosts_set_name(x.family, out), deadline, on_restart, on_elem,
                                                 &x);
                }
        if (r >= 0)
                r = natgw_hosts_merge(x.v, x.n, &v, &n);
        free(x.v);
        if (r < 0)
                return r;
        for (size_t i = 0; c && i < n; i++)
                v[i].entry = natgw_host_entry(c, &v[i].addr);
        *ret = v;
        *ret_n = n;
        return 0;
}

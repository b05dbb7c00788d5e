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

int natgw_hosts_add(struct natgw_host **v, size_t *n, size_t *cap, const struct natgw_addr *addr, bool out,
                    uint64_t packets, uint64_t bytes) {
        size_t lo = 0, hi = *n;
        struct natgw_host *h;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (natgw_addr_cmp(&(*v)[mid].addr, addr) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo == *n || natgw_addr_cmp(&(*v)[lo].addr, addr) != 0) {
                if (GROW(*v, *cap, *n + 1) < 0)
                        return -ENOMEM;
                memmove(*v + lo + 1, *v + lo, (*n - lo) * sizeof(**v));
                (*v)[lo] = (struct natgw_host){ .addr = *addr, .entry = -1 };
                (*n)++;
        }
        h = &(*v)[lo];
        if (out) {
                h->packets_out += packets;
                h->bytes_out += bytes;
        } else {
                h->packets_in += packets;
                h->bytes_in += bytes;
        }
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

/* The elements of one set, kept apart until its dump is complete: a dump the kernel interrupts
 * is read again from its start (restart()), and must not count twice. */
struct set_read {
        int family;
        struct natgw_host *v; /* one row per element: address, and packets/bytes in _out */
        size_t n, cap;
};

static void on_restart(void *userdata) {
        ((struct set_read *)userdata)->n = 0;
}

static int on_elem(const struct natgw_nft_elem *e, void *userdata) {
        struct set_read *x = userdata;

        if (e->key_len != (x->family == AF_INET ? 4u : 16u) || !e->has_counter)
                return 0; /* not what natgwd's rule puts there */
        if (GROW(x->v, x->cap, x->n + 1) < 0)
                return -ENOMEM;
        x->v[x->n] = (struct natgw_host){ .addr.family = x->family, .packets_out = e->packets, .bytes_out = e->bytes };
        memcpy(x->v[x->n++].addr.bytes, e->key, e->key_len);
        return 0;
}

int natgw_nft_hosts_read(const struct natgw_config *c, struct natgw_host **ret, size_t *ret_n) {
        uint64_t deadline = natgw_now_usec(CLOCK_MONOTONIC) + HOSTS_READ_USEC;
        struct natgw_host *v = NULL;
        struct set_read x = {};
        size_t n = 0, cap = 0;
        int r = 0;

        for (int f = 0; f < 2 && r >= 0; f++)
                for (int out = 0; out < 2 && r >= 0; out++) {
                        x.family = f == 0 ? AF_INET : AF_INET6;
                        x.n = 0;
                        r = natgw_nft_elems_read(natgw_hosts_set_name(x.family, out), deadline, on_restart, on_elem,
                                                 &x);
                        for (size_t i = 0; i < x.n && r >= 0; i++)
                                r = natgw_hosts_add(&v, &n, &cap, &x.v[i].addr, out, x.v[i].packets_out,
                                                    x.v[i].bytes_out);
                }
        free(x.v);
        if (r < 0) {
                free(v);
                return r;
        }
        for (size_t i = 0; c && i < n; i++)
                v[i].entry = natgw_host_entry(c, &v[i].addr);
        *ret = v;
        *ret_n = n;
        return 0;
}

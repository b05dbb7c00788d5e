/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SNAT port usage from one conntrack dump: a bitmap of the port range per (address, protocol),
 * filled as the dump streams in, then reduced to counts.
 */

#include <arpa/inet.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <time.h>

#include "ct-dump.h"
#include "ct-ports.h"
#include "time-util.h"

#define DUMP_TRIES 3

int natgw_ct_ports_new(struct natgw_ct_ports **ret) {
        struct natgw_ct_ports *p = calloc(1, sizeof(*p));

        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

struct natgw_ct_ports *natgw_ct_ports_free(struct natgw_ct_ports *p) {
        if (!p)
                return NULL;
        free(p->v);
        free(p->bits);
        free(p);
        return NULL;
}

/* The slot of (@addr, @l4proto), made when there is room; NULL when not (untracked). */
static struct natgw_ct_port_use *slot(struct natgw_ct_ports *p, const struct natgw_addr *addr, uint8_t l4proto,
                                      size_t *ret_i, int *ret_r) {
        size_t cap;

        *ret_r = 0;
        /* Few addresses: a linear search over at most 2 * NATGW_CT_PORTS_ADDRS_MAX slots. */
        for (size_t i = 0; i < p->n; i++)
                if (p->v[i].l4proto == l4proto && natgw_addr_cmp(&p->v[i].addr, addr) == 0) {
                        *ret_i = i;
                        return &p->v[i];
                }
        if (p->n >= 2 * NATGW_CT_PORTS_ADDRS_MAX)
                return NULL;
        cap = p->cap;
        if (GROW(p->v, cap, p->n + 1) < 0) {
                *ret_r = -ENOMEM;
                return NULL;
        }
        if (cap != p->cap) {
                void *b = realloc(p->bits, cap * sizeof(*p->bits));

                if (!b) {
                        *ret_r = -ENOMEM;
                        return NULL;
                }
                p->bits = b;
                p->cap = cap;
        }
        memset(p->bits[p->n], 0, sizeof(p->bits[p->n]));
        p->v[p->n] = (struct natgw_ct_port_use){ .addr = *addr, .l4proto = l4proto };
        *ret_i = p->n;
        return &p->v[p->n++];
}

int natgw_ct_ports_add(struct natgw_ct_ports *p, const struct natgw_ct_record *r) {
        const struct natgw_ct_tuple *t = &r->reply;
        struct natgw_ct_port_use *u;
        unsigned bit;
        size_t i;
        int err;

        if (!r->has_reply || !(r->status & IPS_SRC_NAT) || !t->has_ports ||
            (t->l4proto != IPPROTO_TCP && t->l4proto != IPPROTO_UDP))
                return 0;
        /* The reply comes back to the translated source: the SNAT address and port. */
        u = slot(p, &t->dst, t->l4proto, &i, &err);
        if (!u) {
                p->untracked++;
                return err;
        }
        u->entries++;
        if (t->dport < NATGW_CT_PORTS_FIRST)
                return 0;
        bit = t->dport - NATGW_CT_PORTS_FIRST;
        if (!(p->bits[i][bit / 8] & (1u << (bit % 8)))) {
                p->bits[i][bit / 8] |= (uint8_t)(1u << (bit % 8));
                u->used++;
        }
        return 0;
}

static int use_cmp(const void *a, const void *b) {
        const struct natgw_ct_port_use *x = a, *y = b;
        int c = natgw_addr_cmp(&x->addr, &y->addr);

        return c ? c : CMP(x->l4proto, y->l4proto);
}

void natgw_ct_ports_finish(struct natgw_ct_ports *p) {
        free(p->bits);
        p->bits = NULL;
        p->cap = p->n;
        if (p->n > 0)
                qsort(p->v, p->n, sizeof(*p->v), use_cmp);
}

struct collect {
        struct natgw_ct_ports *p;
        uint64_t deadline, seen;
};

static int on_entry(const struct natgw_ct_record *r, void *userdata) {
        struct collect *c = userdata;
        int err = natgw_ct_ports_add(c->p, r);

        if (err < 0)
                return err;
        if ((++c->seen & 4095) == 0 && natgw_mono_usec() > c->deadline) {
                c->p->truncated = true;
                return 1;
        }
        return 0;
}

int natgw_ct_ports_dump(struct natgw_ct_ports **ret) {
        _cleanup_(natgw_ct_ports_freep) struct natgw_ct_ports *p = NULL;
        uint64_t start = natgw_mono_usec();
        int r = -EINTR;

        /* -EINTR: the dump overran the socket or the kernel found it inconsistent; start again. */
        for (int i = 0; i < DUMP_TRIES && r == -EINTR; i++) {
                p = natgw_ct_ports_free(p);
                r = natgw_ct_ports_new(&p);
                if (r < 0)
                        return r;
                r = natgw_ct_dump_records(UINT64_MAX, on_entry,
                                          &(struct collect){ .p = p, .deadline = start + NATGW_CT_PORTS_DEADLINE_USEC });
        }
        if (r < 0)
                return r;
        natgw_ct_ports_finish(p);
        p->dump_usec = natgw_mono_usec() - start;
        *ret = TAKE_PTR(p);
        return 0;
}

double natgw_ct_port_percent(const struct natgw_ct_port_use *u) {
        return 100.0 * (double)u->used / (double)NATGW_CT_PORTS_RANGE;
}

bool natgw_ct_ports_update(struct natgw_ct_ports_state *st, struct natgw_ct_ports *p, int error) {
        enum natgw_ct_level old = st->level;
        uint32_t most = 0;

        st->checks++;
        st->read_error = error;
        if (error < 0 || !p) {
                natgw_ct_ports_free(p);
                return false;
        }
        natgw_ct_ports_free(st->last);
        st->last = p;
        st->worst = 0;
        for (size_t i = 0; i < p->n; i++)
                if (p->v[i].used > most) {
                        most = p->v[i].used;
                        st->worst = i;
                }
        st->level = natgw_ct_level_next(old, st->warn, st->critical, most, NATGW_CT_PORTS_RANGE, 0);
        if (st->level == old)
                return false;
        st->prev_level = old;
        st->level_since_usec = natgw_now_usec(CLOCK_REALTIME);
        return true;
}

void natgw_ct_ports_state_clear(struct natgw_ct_ports_state *st) {
        natgw_ct_ports_free(st->last);
        st->last = NULL;
}

json_t *natgw_ct_ports_json(const struct natgw_ct_ports_state *st) {
        _cleanup_(json_decrefp) json_t *a = json_array();
        char since[32];

        for (size_t i = 0; a && st->last && i < st->last->n; i++) {
                const struct natgw_ct_port_use *u = &st->last->v[i];
                char addr[INET6_ADDRSTRLEN];

                if (json_array_append_new(a, json_pack("{s:s,s:s,s:I,s:f,s:I}", "address",
                                                       natgw_addr_format(&u->addr, addr, sizeof(addr)), "protocol",
                                                       u->l4proto == IPPROTO_TCP ? "tcp" : "udp", "used",
                                                       (json_int_t)u->used, "percent", natgw_ct_port_percent(u),
                                                       "entries", (json_int_t)u->entries)) < 0)
                        return NULL;
        }
        if (!a)
                return NULL;
        return json_pack("{s:s,s:s?,s:I,s:I,s:I,s:I,s:b,s:f,s:I,s:s?,s:O}", "level", natgw_ct_level_to_string(st->level),
                         "since", st->level_since_usec ? natgw_format_time(st->level_since_usec, since, sizeof(since)) : NULL,
                         "warn", (json_int_t)st->warn, "critical", (json_int_t)st->critical, "range",
                         (json_int_t)NATGW_CT_PORTS_RANGE, "untracked",
                         (json_int_t)(st->last ? st->last->untracked : 0), "truncated",
                         st->last && st->last->truncated, "dump_ms",
                         st->last ? (double)st->last->dump_usec / 1000.0 : 0.0, "checks", (json_int_t)st->checks,
                         "read_error",
                         st->read_error < 0 ? strerror(-st->read_error) : NULL, "addresses", a);
}

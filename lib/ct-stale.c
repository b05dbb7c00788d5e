/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stale conntrack entries after a reload (see ct-stale.h): the pure decision over two indexed
 * configs. ct-clean.c walks the table and deletes what this finds stale.
 *
 * The decision runs once per conntrack entry, up to hundreds of thousands of them, against
 * configs of up to tens of thousands of entries: both configs are indexed first. Forwards are
 * sorted by (family, protocol, destination, in_interface, first port); validation guarantees
 * that the port intervals of one (family, protocol, destination, in_interface) do not overlap,
 * so one binary search finds the only candidate of each in_interface. Egress sources are
 * sorted by (family, out_interface, start, length) with a parent link to the smallest source
 * that contains each one (prefixes are nested or disjoint), which finds the most specific
 * source of an address with one binary search and a short walk up.
 */

#include <arpa/inet.h>
#include <linux/netfilter/nf_conntrack_tcp.h>

#include "ct-stale.h"
#include "ct-stale-netmap.h"
#include "util.h"

/* Short for the base layer's name: this file does much arithmetic on addresses. */
typedef natgw_u128 u128;

#define NO_PARENT SIZE_MAX

/* ---- addresses ---- */

static int ports_cmp(const struct natgw_port_range *a, const struct natgw_port_range *b) {
        return a->lo != b->lo ? CMP(a->lo, b->lo) : CMP(a->hi, b->hi);
}

/* ---- comparing entries by content: everything but name and line ---- */

static int forward_cmp(const struct natgw_forward *a, const struct natgw_forward *b) {
        int r;

        r = strcmp(a->in_interface, b->in_interface);
        if (r == 0)
                r = CMP(a->protos, b->protos);
        if (r == 0)
                r = natgw_addr_cmp(&a->to, &b->to);
        if (r == 0)
                r = CMP(a->to_port_mode, b->to_port_mode);
        if (r == 0 && a->to_port_mode != NATGW_TO_PORT_KEEP)
                r = ports_cmp(&a->to_port, &b->to_port);
        if (r == 0)
                r = CMP(a->has_destination, b->has_destination);
        if (r == 0 && a->has_destination)
                r = natgw_addr_cmp(&a->destination, &b->destination);
        if (r == 0)
                r = CMP(a->n_ports, b->n_ports);
        for (size_t i = 0; r == 0 && i < a->n_ports; i++)
                r = ports_cmp(&a->ports[i], &b->ports[i]);
        if (r == 0)
                r = CMP(a->n_allow_from, b->n_allow_from);
        for (size_t i = 0; r == 0 && i < a->n_allow_from; i++)
                r = natgw_prefix_cmp(&a->allow_from[i], &b->allow_from[i]);
        return r;
}

static int egress_cmp(const struct natgw_egress *a, const struct natgw_egress *b) {
        int r;

        r = strcmp(a->out_interface, b->out_interface);
        if (r == 0)
                r = CMP(a->kind, b->kind);
        if (r == 0 && a->kind == NATGW_EGRESS_SNAT)
                r = natgw_addr_cmp(&a->to_lo, &b->to_lo);
        if (r == 0 && a->kind == NATGW_EGRESS_SNAT)
                r = natgw_addr_cmp(&a->to_hi, &b->to_hi);
        if (r == 0)
                r = CMP(a->n_sources, b->n_sources);
        for (size_t i = 0; r == 0 && i < a->n_sources; i++)
                r = natgw_prefix_cmp(&a->sources[i], &b->sources[i]);
        return r;
}

/* Allow lists compared rule by rule, in their order (a reordered list counts as a change). */
static int allow_cmp(const struct natgw_egress *a, const struct natgw_egress *b) {
        int r = CMP(a->has_allow, b->has_allow);

        if (r == 0)
                r = CMP(a->n_allow, b->n_allow);
        for (size_t i = 0; r == 0 && i < a->n_allow; i++) {
                const struct natgw_allow *x = &a->allow[i], *y = &b->allow[i];

                r = CMP(x->protos, y->protos);
                if (r == 0)
                        r = CMP(x->n_to, y->n_to);
                for (size_t k = 0; r == 0 && k < x->n_to; k++)
                        r = natgw_prefix_cmp(&x->to[k], &y->to[k]);
                if (r == 0)
                        r = CMP(x->n_ports, y->n_ports);
                for (size_t k = 0; r == 0 && k < x->n_ports; k++)
                        r = ports_cmp(&x->ports[k], &y->ports[k]);
        }
        return r;
}

static int egress_policy_ptr_cmp(const void *a, const void *b) {
        const struct natgw_egress *x = *(const struct natgw_egress *const *)a, *y = *(const struct natgw_egress *const *)b;
        int r = egress_cmp(x, y);

        return r ? r : allow_cmp(x, y);
}

static int forward_ptr_cmp(const void *a, const void *b) {
        return forward_cmp(*(const struct natgw_forward *const *)a, *(const struct natgw_forward *const *)b);
}

static int egress_ptr_cmp(const void *a, const void *b) {
        return egress_cmp(*(const struct natgw_egress *const *)a, *(const struct natgw_egress *const *)b);
}

/* ---- forward index ---- */

struct fwd_item {
        const struct natgw_forward *f;
        const struct natgw_addr *dest; /* NULL: any destination */
        int family;
        uint8_t l4proto;
        uint16_t lo, hi;
};

struct fwd_index {
        struct fwd_item *v;
        size_t n;
};

struct fwd_key {
        int family;
        uint8_t l4proto;
        const struct natgw_addr *dest;
        const char *iif;
        uint16_t port;
};

enum {
        DEPTH_DEST = 1, /* family, protocol, destination */
        DEPTH_IIF,      /* and in_interface */
        DEPTH_PORT,     /* and first port */
};

static int fwd_key_cmp(const struct fwd_item *it, const struct fwd_key *k, unsigned depth) {
        int r;

        if (it->family != k->family)
                return CMP(it->family, k->family);
        if (it->l4proto != k->l4proto)
                return CMP(it->l4proto, k->l4proto);
        if (!it->dest != !k->dest)
                return it->dest ? 1 : -1; /* "any destination" first */
        if (it->dest) {
                r = natgw_addr_cmp(it->dest, k->dest);
                if (r != 0)
                        return r;
        }
        if (depth < DEPTH_IIF)
                return 0;
        r = strcmp(it->f->in_interface, k->iif);
        if (r != 0 || depth < DEPTH_PORT)
                return r;
        return CMP(it->lo, k->port);
}

static int fwd_item_cmp(const void *a, const void *b) {
        const struct fwd_item *x = a, *y = b;
        struct fwd_key k = {
                .family = y->family,
                .l4proto = y->l4proto,
                .dest = y->dest,
                .iif = y->f->in_interface,
                .port = y->lo,
        };
        int r = fwd_key_cmp(x, &k, DEPTH_PORT);

        return r != 0 ? r : CMP(x->hi, y->hi);
}

/* The first index in [lo, hi) whose item is not below @k (@upper: is above @k) at @depth. */
static size_t fwd_bound(const struct fwd_index *x, size_t lo, size_t hi, const struct fwd_key *k,
                        unsigned depth, bool upper) {
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int r = fwd_key_cmp(&x->v[mid], k, depth);

                if (r < 0 || (upper && r == 0))
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static int fwd_index_build(const struct natgw_config *c, struct fwd_index *ret) {
        static const struct {
                unsigned bit;
                uint8_t l4proto;
        } protos[] = { { NATGW_PROTO_TCP, IPPROTO_TCP }, { NATGW_PROTO_UDP, IPPROTO_UDP } };
        struct fwd_item *v;
        size_t n = 0;

        for (size_t i = 0; i < c->n_forwards; i++)
                n += c->forwards[i].n_ports * (size_t)__builtin_popcount(c->forwards[i].protos);
        v = calloc(MAX(n, (size_t)1), sizeof(*v));
        if (!v)
                return -ENOMEM;
        n = 0;
        for (size_t i = 0; i < c->n_forwards; i++) {
                const struct natgw_forward *f = &c->forwards[i];

                for (size_t p = 0; p < ELEMENTSOF(protos); p++) {
                        if (!(f->protos & protos[p].bit))
                                continue;
                        for (size_t j = 0; j < f->n_ports; j++)
                                v[n++] = (struct fwd_item){
                                        .f = f,
                                        .dest = f->has_destination ? &f->destination : NULL,
                                        .family = f->to.family,
                                        .l4proto = protos[p].l4proto,
                                        .lo = f->ports[j].lo,
                                        .hi = f->ports[j].hi,
                                };
                }
        }
        qsort(v, n, sizeof(*v), fwd_item_cmp);
        *ret = (struct fwd_index){ .v = v, .n = n };
        return 0;
}

typedef bool (*fwd_visit_fn)(const struct natgw_forward *f, const struct natgw_ct_entry *e, void *userdata);

/*
 * Calls @visit for every forward of @x whose family, protocol, destination and ports admit the
 * original direction of @e, only those with in_interface @iif unless it is NULL. Stops at, and
 * returns true on, the first visit that returns true.
 */
static bool fwd_lookup(const struct fwd_index *x, const struct natgw_ct_entry *e, const char *iif,
                       fwd_visit_fn visit, void *userdata) {
        for (int pass = 0; pass < 2; pass++) {
                struct fwd_key k = {
                        .family = e->family,
                        .l4proto = e->l4proto,
                        .dest = pass == 0 ? NULL : &e->orig_dst,
                        .port = e->orig_dport,
                };
                size_t a = fwd_bound(x, 0, x->n, &k, DEPTH_DEST, false);
                size_t b = fwd_bound(x, a, x->n, &k, DEPTH_DEST, true);

                /* One run of items per in_interface; in each, at most one interval holds the port. */
                while (a < b) {
                        size_t end, u;

                        k.iif = iif ? iif : x->v[a].f->in_interface;
                        if (iif)
                                a = fwd_bound(x, a, b, &k, DEPTH_IIF, false);
                        end = fwd_bound(x, a, b, &k, DEPTH_IIF, true);
                        u = fwd_bound(x, a, end, &k, DEPTH_PORT, true);
                        if (u > a && x->v[u - 1].hi >= e->orig_dport && visit(x->v[u - 1].f, e, userdata))
                                return true;
                        if (iif)
                                break;
                        a = end;
                }
        }
        return false;
}

/* @f matches @e's key (fwd_lookup() checked that): does it admit the client? */
static bool forward_admits(const struct natgw_forward *f, const struct natgw_ct_entry *e, void *userdata) {
        bool allowed = f->n_allow_from == 0;

        for (size_t i = 0; !allowed && i < f->n_allow_from; i++)
                allowed = natgw_prefix_contains(&f->allow_from[i], &e->orig_src);
        return allowed;
}

/* @f matches @e's key (fwd_lookup() checked that): does it admit the client and give the target? */
static bool forward_translates(const struct natgw_forward *f, const struct natgw_ct_entry *e, void *userdata) {
        return forward_admits(f, e, userdata) && natgw_addr_cmp(&f->to, &e->reply_src) == 0 &&
               natgw_forward_target_port(f, e->orig_dport) == e->reply_sport;
}

/* ---- egress index ---- */

struct eg_item {
        const struct natgw_egress *e;
        int family;
        unsigned len;
        u128 lo, hi;
        size_t parent; /* the smallest source of the same group containing this one, or NO_PARENT */
};

/* The sources of one (family, out_interface), a run of items. */
struct eg_group {
        int family;
        const char *ifname;
        size_t start, end;
};

struct eg_index {
        struct eg_item *v;
        size_t n;
        struct eg_group *groups; /* sorted by family, then out_interface */
        size_t n_groups;
};

static int eg_item_cmp(const void *a, const void *b) {
        const struct eg_item *x = a, *y = b;
        int r;

        if (x->family != y->family)
                return CMP(x->family, y->family);
        r = strcmp(x->e->out_interface, y->e->out_interface);
        if (r != 0)
                return r;
        if (x->lo != y->lo)
                return CMP(x->lo, y->lo);
        return CMP(x->len, y->len); /* the wider prefix first */
}

static int eg_index_build(const struct natgw_config *c, struct eg_index *ret) {
        _cleanup_(freep) struct eg_item *v = NULL;
        _cleanup_(freep) struct eg_group *g = NULL;
        size_t n = 0, n_groups = 0;

        for (size_t i = 0; i < c->n_egress; i++)
                n += c->egress[i].n_sources;
        v = calloc(MAX(n, (size_t)1), sizeof(*v));
        g = calloc(MAX(n, (size_t)1), sizeof(*g));
        if (!v || !g)
                return -ENOMEM;
        n = 0;
        for (size_t i = 0; i < c->n_egress; i++)
                for (size_t s = 0; s < c->egress[i].n_sources; s++) {
                        const struct natgw_prefix *p = &c->egress[i].sources[s];

                        v[n] = (struct eg_item){
                                .e = &c->egress[i],
                                .family = p->addr.family,
                                .len = p->len,
                                .parent = NO_PARENT,
                        };
                        natgw_prefix_bounds(p, &v[n].lo, &v[n].hi);
                        n++;
                }
        qsort(v, n, sizeof(*v), eg_item_cmp);

        for (size_t a = 0, b; a < n; a = b) {
                size_t stack[130], depth = 0;

                for (b = a + 1; b < n; b++)
                        if (v[b].family != v[a].family || !streq(v[b].e->out_interface, v[a].e->out_interface))
                                break;
                g[n_groups++] = (struct eg_group){
                        .family = v[a].family,
                        .ifname = v[a].e->out_interface,
                        .start = a,
                        .end = b,
                };
                /* In (start, length) order the sources that contain an item are on the stack. */
                for (size_t i = a; i < b; i++) {
                        while (depth > 0 && v[stack[depth - 1]].hi < v[i].lo)
                                depth--;
                        if (depth > 0)
                                v[i].parent = stack[depth - 1];
                        if (depth < ELEMENTSOF(stack))
                                stack[depth++] = i;
                }
        }
        *ret = (struct eg_index){ .v = TAKE_PTR(v), .n = n, .groups = TAKE_PTR(g), .n_groups = n_groups };
        return 0;
}

static int eg_group_cmp(const void *a, const void *b) {
        const struct eg_group *x = a, *y = b;

        return x->family != y->family ? CMP(x->family, y->family) : strcmp(x->ifname, y->ifname);
}

static const struct eg_group *eg_group_find(const struct eg_index *x, int family, const char *ifname) {
        const struct eg_group key = { .family = family, .ifname = ifname };

        return bsearch(&key, x->groups, x->n_groups, sizeof(*x->groups), eg_group_cmp);
}

/* The item of the most specific source of group @g that contains @a, or NULL. */
static const struct eg_item *eg_most_specific(const struct eg_index *x, const struct eg_group *g, u128 a) {
        size_t lo = g->start, hi = g->end, i;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (x->v[mid].lo <= a)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo == g->start)
                return NULL;
        /* The last source starting at or before @a; if it ends before @a, the sources that
         * contain @a are among those that contain it. */
        for (i = lo - 1; i != NO_PARENT; i = x->v[i].parent)
                if (x->v[i].hi >= a)
                        return &x->v[i];
        return NULL;
}

/* Does egress entry @eg give @e's reply destination as translated source? */
static bool egress_translates(const struct natgw_egress *eg, const struct natgw_ct_entry *e) {
        if (eg->kind == NATGW_EGRESS_MASQUERADE)
                return true; /* to whatever address the interface had */
        return e->reply_dst.family == eg->to_lo.family && natgw_addr_cmp(&eg->to_lo, &e->reply_dst) <= 0 &&
               natgw_addr_cmp(&e->reply_dst, &eg->to_hi) <= 0;
}

/* ---- the decision ---- */

struct natgw_ct_stale {
        const struct natgw_config *old, *new;
        struct fwd_index old_fwd, new_fwd;
        struct eg_index old_eg, new_eg;
        bool forwards_changed, egress_changed; /* see natgw_ct_stale_possible() */
        bool forwards_added, egress_added;     /* some new entry is not in the old config */
        bool allow_changed;                    /* some new entry's allow list is not the old one */
        bool netmaps_changed;                  /* natgw_ct_netmaps_changed() */
        /* The new config's forwards and egress entries by name: what became of an old entry. */
        const void **new_fwd_names, **new_eg_names;
};

struct natgw_ct_stale *natgw_ct_stale_free(struct natgw_ct_stale *s) {
        if (!s)
                return NULL;
        free(s->old_fwd.v);
        free(s->new_fwd.v);
        free(s->old_eg.v);
        free(s->old_eg.groups);
        free(s->new_eg.v);
        free(s->new_eg.groups);
        free(s->new_fwd_names);
        free(s->new_eg_names);
        free(s);
        return NULL;
}

/* Pointers to the @n elements of @size bytes at @base, sorted by @cmp (on pointers). */
static int ptr_array(const void *base, size_t n, size_t size, int (*cmp)(const void *, const void *),
                     const void ***ret) {
        const void **v = calloc(MAX(n, (size_t)1), sizeof(void *));

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                v[i] = (const uint8_t *)base + i * size;
        qsort(v, n, sizeof(void *), cmp);
        *ret = v;
        return 0;
}

/* Is some of the @na elements at @a (of @size bytes) missing from the @nb at @b, by @cmp? */
static int elements_missing(const void *a, size_t na, const void *b, size_t nb, size_t size,
                            int (*cmp)(const void *, const void *), bool *ret) {
        _cleanup_(freep) const void **v = NULL;
        int r;

        *ret = false;
        if (na == 0)
                return 0;
        r = ptr_array(b, nb, size, cmp, &v);
        if (r < 0)
                return r;
        for (size_t i = 0; i < na && !*ret; i++) {
                const void *x = (const uint8_t *)a + i * size;

                *ret = !bsearch(&x, v, nb, sizeof(void *), cmp);
        }
        return 0;
}

static int forward_name_cmp(const void *a, const void *b) {
        return strcmp((*(const struct natgw_forward *const *)a)->name, (*(const struct natgw_forward *const *)b)->name);
}

static int egress_name_cmp(const void *a, const void *b) {
        return strcmp((*(const struct natgw_egress *const *)a)->name, (*(const struct natgw_egress *const *)b)->name);
}

/* Does source @p of a new entry on @ifname lie inside an old source on the same interface? */
static bool egress_takes_over(const struct eg_index *old, const char *ifname, const struct natgw_prefix *p) {
        const struct eg_group *g = eg_group_find(old, p->addr.family, ifname);
        const struct eg_item *it;
        u128 lo, hi;

        if (!g)
                return false;
        natgw_prefix_bounds(p, &lo, &hi);
        for (it = eg_most_specific(old, g, lo); it; it = it->parent == NO_PARENT ? NULL : &old->v[it->parent])
                if (it->len < p->len)
                        return true;
        return false;
}

/* Has an egress entry of @old been removed or changed, or one of @new taken sources over? */
static int egress_changed(const struct natgw_ct_stale *s, bool *ret) {
        const struct natgw_config *old = s->old, *new = s->new;
        _cleanup_(freep) const void **vo = NULL;
        int r;

        r = elements_missing(old->egress, old->n_egress, new->egress, new->n_egress, sizeof(*new->egress),
                             egress_ptr_cmp, ret);
        if (r < 0 || *ret || old->n_egress == 0)
                return r;
        r = ptr_array(old->egress, old->n_egress, sizeof(*old->egress), egress_ptr_cmp, &vo);
        if (r < 0)
                return r;
        for (size_t i = 0; i < new->n_egress && !*ret; i++) {
                const struct natgw_egress *e = &new->egress[i];
                const void *k = e;

                if (bsearch(&k, vo, old->n_egress, sizeof(void *), egress_ptr_cmp))
                        continue;
                for (size_t j = 0; j < e->n_sources && !*ret; j++)
                        *ret = egress_takes_over(&s->old_eg, e->out_interface, &e->sources[j]);
        }
        return 0;
}

int natgw_ct_stale_new(const struct natgw_config *old, const struct natgw_config *new,
                       struct natgw_ct_stale **ret) {
        _cleanup_(natgw_ct_stale_freep) struct natgw_ct_stale *s = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->old = old;
        s->new = new;
        s->netmaps_changed = natgw_ct_netmaps_changed(old, new);
        r = fwd_index_build(old, &s->old_fwd);
        if (r >= 0)
                r = fwd_index_build(new, &s->new_fwd);
        if (r >= 0)
                r = eg_index_build(old, &s->old_eg);
        if (r >= 0)
                r = eg_index_build(new, &s->new_eg);
        if (r >= 0)
                r = elements_missing(old->forwards, old->n_forwards, new->forwards, new->n_forwards,
                                     sizeof(*new->forwards), forward_ptr_cmp, &s->forwards_changed);
        if (r >= 0)
                r = elements_missing(new->forwards, new->n_forwards, old->forwards, old->n_forwards,
                                     sizeof(*new->forwards), forward_ptr_cmp, &s->forwards_added);
        if (r >= 0)
                r = egress_changed(s, &s->egress_changed);
        if (r >= 0)
                r = elements_missing(new->egress, new->n_egress, old->egress, old->n_egress, sizeof(*new->egress),
                                     egress_ptr_cmp, &s->egress_added);
        if (r >= 0)
                r = elements_missing(new->egress, new->n_egress, old->egress, old->n_egress, sizeof(*new->egress),
                                     egress_policy_ptr_cmp, &s->allow_changed);
        if (r >= 0)
                r = ptr_array(new->forwards, new->n_forwards, sizeof(*new->forwards), forward_name_cmp,
                              &s->new_fwd_names);
        if (r >= 0)
                r = ptr_array(new->egress, new->n_egress, sizeof(*new->egress), egress_name_cmp,
                              &s->new_eg_names);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

bool natgw_ct_stale_possible(const struct natgw_ct_stale *s) {
        return s->forwards_changed || s->egress_changed || s->forwards_added || s->egress_added || s->allow_changed ||
               s->netmaps_changed;
}

/* A walk over the forwards that match an entry, for dnat_stale() and dnat_taken(). */
struct dnat_search {
        const struct natgw_ct_stale *s;
        const struct natgw_forward *found; /* the first old forward that explains the entry; the
                                            * new forward that takes it */
};

static bool dnat_visit_old(const struct natgw_forward *f, const struct natgw_ct_entry *e, void *userdata) {
        struct dnat_search *d = userdata;

        if (!forward_translates(f, e, NULL))
                return false;
        if (!d->found)
                d->found = f;
        /* A new forward must take the packets from every interface @f took them from. */
        if (fwd_lookup(&d->s->new_fwd, e, f->in_interface, forward_translates, NULL))
                return true;
        return f->in_interface[0] && fwd_lookup(&d->s->new_fwd, e, "", forward_translates, NULL);
}

/* The old forward whose translation of @e the new config no longer makes, or NULL. */
static const struct natgw_forward *dnat_stale(const struct natgw_ct_stale *s, const struct natgw_ct_entry *e) {
        struct dnat_search d = { .s = s };

        /* With every old forward still there, nothing the old forwards did has changed. */
        if (!s->forwards_changed || !e->dst_nat || (e->l4proto != IPPROTO_TCP && e->l4proto != IPPROTO_UDP))
                return NULL;
        if (fwd_lookup(&s->old_fwd, e, NULL, dnat_visit_old, &d))
                return NULL;
        return d.found;
}

/* Visits, for each out_interface of @here in @e's family, the entry most specific for @e's source
 * there and the one on the same interface in @there (or NULL), until @visit returns true. */
static void eg_pairs(const struct eg_index *here, const struct eg_index *there, const struct natgw_ct_entry *e,
                     bool (*visit)(const struct eg_item *h, const struct eg_item *t, const struct natgw_ct_entry *e,
                                   void *userdata),
                     void *userdata) {
        u128 a = natgw_addr_to_u128(&e->orig_src);

        /* Each out_interface has its own most specific entry: the cost is one lookup per
         * out_interface. */
        for (size_t i = 0; i < here->n_groups; i++) {
                const struct eg_group *g = &here->groups[i], *tg;
                const struct eg_item *h, *t;

                if (g->family != e->family)
                        continue;
                h = eg_most_specific(here, g, a);
                if (!h)
                        continue;
                tg = eg_group_find(there, g->family, g->ifname);
                t = tg ? eg_most_specific(there, tg, a) : NULL;
                if (visit(h, t, e, userdata))
                        return;
        }
}

struct eg_search {
        const struct natgw_egress *found;
};

static bool stale_visit(const struct eg_item *old, const struct eg_item *new, const struct natgw_ct_entry *e,
                        void *userdata) {
        struct eg_search *d = userdata;

        if (!egress_translates(old->e, e))
                return false;
        if (!d->found)
                d->found = old->e;
        if (new && (new->e->kind == NATGW_EGRESS_SNAT ? egress_translates(new->e, e)
                                                       : old->e->kind == NATGW_EGRESS_MASQUERADE)) {
                /* The new config makes the same translation on this interface: not stale. */
                d->found = NULL;
                return true;
        }
        return false;
}

/* The old egress entry whose translation of @e the new config no longer makes, or NULL. */
static const struct natgw_egress *snat_stale(const struct natgw_ct_stale *s, const struct natgw_ct_entry *e) {
        struct eg_search d = {};

        if (!s->egress_changed || !e->src_nat || natgw_addr_cmp(&e->reply_dst, &e->orig_src) == 0)
                return NULL;
        eg_pairs(&s->old_eg, &s->new_eg, e, stale_visit, &d);
        return d.found;
}

static bool dnat_visit_new(const struct natgw_forward *g, const struct natgw_ct_entry *e, void *userdata) {
        struct dnat_search *d = userdata;

        if (!forward_admits(g, e, NULL))
                return false;
        /* An old forward that took the packet on every interface @g takes it on would have
         * translated it: the flow came in elsewhere, where @g does not see it either. */
        if (fwd_lookup(&d->s->old_fwd, e, g->in_interface, forward_admits, NULL) ||
            (g->in_interface[0] && fwd_lookup(&d->s->old_fwd, e, "", forward_admits, NULL)))
                return false;
        d->found = g;
        return true;
}

/* The new forward that now translates the untranslated flow @e, or NULL. */
static const struct natgw_forward *dnat_taken(const struct natgw_ct_stale *s, const struct natgw_ct_entry *e) {
        struct dnat_search d = { .s = s };

        if (!s->forwards_added || e->dst_nat || e->src_nat ||
            (e->l4proto != IPPROTO_TCP && e->l4proto != IPPROTO_UDP))
                return NULL;
        (void)fwd_lookup(&s->new_fwd, e, NULL, dnat_visit_new, &d);
        return d.found;
}

static bool taken_visit(const struct eg_item *new, const struct eg_item *old, const struct natgw_ct_entry *e,
                        void *userdata) {
        struct eg_search *d = userdata;

        /* An old entry on that interface would have translated the flow had it left there. */
        if (old)
                return false;
        d->found = new->e;
        return true;
}

/* The new egress entry that now translates the flow @e, which left untranslated, or NULL. */
static const struct natgw_egress *snat_taken(const struct natgw_ct_stale *s, const struct natgw_ct_entry *e) {
        struct eg_search d = {};

        if (!s->egress_added || (e->src_nat && natgw_addr_cmp(&e->reply_dst, &e->orig_src) != 0))
                return NULL;
        eg_pairs(&s->new_eg, &s->old_eg, e, taken_visit, &d);
        return d.found;
}

static bool denied_visit(const struct eg_item *new, const struct eg_item *old, const struct natgw_ct_entry *e,
                         void *userdata) {
        struct eg_search *d = userdata;

        if (!new->e->has_allow || natgw_egress_allows(new->e, e->l4proto, &e->orig_dst, e->orig_dport))
                return false;
        /* The flow left by this interface if the old entry there made its translation. */
        if (!old || !egress_translates(old->e, e))
                return false;
        d->found = new->e;
        return true;
}

/* The new egress entry whose allow list now denies the flow @e, translated by an old one. */
static const struct natgw_egress *snat_denied(const struct natgw_ct_stale *s, const struct natgw_ct_entry *e) {
        struct eg_search d = {};

        if (!s->allow_changed || !e->src_nat || natgw_addr_cmp(&e->reply_dst, &e->orig_src) == 0)
                return NULL;
        eg_pairs(&s->new_eg, &s->old_eg, e, denied_visit, &d);
        return d.found;
}

/* A TCP connection that is (or may be) open: deleting its entry would reset it. */
static bool tcp_live(const struct natgw_ct_entry *e) {
        switch (e->tcp_state) {
        case TCP_CONNTRACK_SYN_RECV:
        case TCP_CONNTRACK_ESTABLISHED:
        case TCP_CONNTRACK_FIN_WAIT:
        case TCP_CONNTRACK_CLOSE_WAIT:
        case TCP_CONNTRACK_LAST_ACK:
        case 0xff: /* not known: keep, as if it were live */
                return true;
        default:
                return false;
        }
}

/* The new config's entry of @key's name (in @v, sorted by @cmp), or NULL. */
static const void *by_name(const void **v, size_t n, const void *key, int (*cmp)(const void *, const void *)) {
        const void *const *p = bsearch(&key, v, n, sizeof(void *), cmp);

        return p ? *p : NULL;
}

static enum natgw_ct_verdict verdict(enum natgw_ct_verdict v, const char *name, const char **ret_name) {
        if (ret_name)
                *ret_name = name;
        return v;
}

enum natgw_ct_verdict natgw_ct_stale_classify(const struct natgw_ct_stale *s, const struct natgw_ct_entry *e,
                                              const char **ret_name) {
        const struct natgw_forward *f;
        const struct natgw_egress *eg;
        const struct natgw_ct_netmap_flow nf = {
                &e->orig_src, &e->orig_dst, &e->reply_src, &e->reply_dst, e->src_nat, e->dst_nat,
        };
        const char *name = NULL;

        if (ret_name)
                *ret_name = NULL;
        if (e->family != AF_INET && e->family != AF_INET6)
                return NATGW_CT_KEEP;
        if (e->orig_src.family != e->family || e->orig_dst.family != e->family ||
            e->reply_src.family != e->family || e->reply_dst.family != e->family)
                return NATGW_CT_KEEP;

        /* A netmap takes its addresses before any forward or egress entry, and so decides first:
         * as for forwards and egress entries, an untranslated live TCP connection it now takes is
         * kept. */
        switch (natgw_ct_netmap_classify(s->old, s->new, &nf, &name)) {
        case NATGW_CT_NETMAP_NONE:
                break;
        case NATGW_CT_NETMAP_KEEP:
                return NATGW_CT_KEEP;
        case NATGW_CT_NETMAP_CHANGED:
                return verdict(NATGW_CT_STALE_CHANGED, name, ret_name);
        case NATGW_CT_NETMAP_REMOVED:
                return verdict(NATGW_CT_STALE_REMOVED, name, ret_name);
        case NATGW_CT_NETMAP_TAKEN:
                return verdict(!e->src_nat && !e->dst_nat && e->l4proto == IPPROTO_TCP && tcp_live(e)
                                       ? NATGW_CT_KEEP_ESTABLISHED : NATGW_CT_STALE_ADDED, name, ret_name);
        }
        f = dnat_stale(s, e);
        if (f) {
                bool gone = !by_name(s->new_fwd_names, s->new->n_forwards, f, forward_name_cmp);

                return verdict(gone ? NATGW_CT_STALE_REMOVED : NATGW_CT_STALE_CHANGED, f->name, ret_name);
        }
        eg = snat_stale(s, e);
        if (eg) {
                const struct natgw_egress *now = by_name(s->new_eg_names, s->new->n_egress, eg, egress_name_cmp);

                return verdict(!now                        ? NATGW_CT_STALE_REMOVED
                               : egress_cmp(now, eg) != 0 ? NATGW_CT_STALE_CHANGED
                                                          : NATGW_CT_STALE_ADDED,
                               eg->name, ret_name);
        }

        eg = snat_denied(s, e);
        if (eg)
                return verdict(NATGW_CT_STALE_DENIED, eg->name, ret_name);

        f = dnat_taken(s, e);
        eg = f ? NULL : snat_taken(s, e);
        if (!f && !eg)
                return NATGW_CT_KEEP;
        return verdict(e->l4proto == IPPROTO_TCP && tcp_live(e) ? NATGW_CT_KEEP_ESTABLISHED : NATGW_CT_STALE_ADDED,
                       f ? f->name : eg->name, ret_name);
}

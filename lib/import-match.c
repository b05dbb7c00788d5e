/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Sets of packets as the importer compares them (import-rule.h): whether two rules' matches
 * share a packet, whether one takes every packet of the other, the packets both match. Used by
 * the nat walk (import-conv.c) and the FORWARD chain's (import-filter.c).
 */

#include "import-rule.h"

bool imp_prefixes_overlap(const struct natgw_prefix *a, const struct natgw_prefix *b) {
        const struct natgw_prefix *wide = a->len <= b->len ? a : b, *narrow = wide == a ? b : a;

        return natgw_prefix_contains(wide, &narrow->addr);
}

bool imp_pl_intersects(const struct natgw_prefix *a, size_t na, const struct natgw_prefix *b, size_t nb) {
        if (!na || !nb)
                return true;
        for (size_t i = 0; i < na; i++)
                for (size_t j = 0; j < nb; j++)
                        if (imp_prefixes_overlap(&a[i], &b[j]))
                                return true;
        return false;
}

/* Lists of intervals (prefixes, port ranges): whether element @i of @a lies inside element @j of @b. */
typedef bool (*inside_fn)(const void *a, size_t i, const void *b, size_t j);

/* Every element of @a inside one of @b (an empty @b is everything, an empty @a is not covered by
 * a non-empty @b). */
static bool all_inside(const void *a, size_t na, const void *b, size_t nb, inside_fn inside) {
        if (!nb)
                return true;
        if (!na)
                return false;
        for (size_t i = 0; i < na; i++) {
                bool in = false;

                for (size_t j = 0; j < nb && !in; j++)
                        in = inside(a, i, b, j);
                if (!in)
                        return false;
        }
        return true;
}

static bool prefix_inside(const void *a, size_t i, const void *b, size_t j) {
        const struct natgw_prefix *x = (const struct natgw_prefix *)a + i, *y = (const struct natgw_prefix *)b + j;

        return y->len <= x->len && natgw_prefix_contains(y, &x->addr);
}

/* b is merged: a range of a lies inside one range of b or not at all. */
static bool range_inside(const void *a, size_t i, const void *b, size_t j) {
        const struct natgw_port_range *x = (const struct natgw_port_range *)a + i,
                                      *y = (const struct natgw_port_range *)b + j;

        return y->lo <= x->lo && x->hi <= y->hi;
}

bool imp_pl_covered(const struct natgw_prefix *a, size_t na, const struct natgw_prefix *b, size_t nb) {
        return all_inside(a, na, b, nb, prefix_inside);
}

static bool ports_intersect(const struct natgw_port_range *a, size_t na, const struct natgw_port_range *b,
                            size_t nb) {
        if (!na || !nb)
                return true;
        for (size_t i = 0; i < na; i++)
                for (size_t j = 0; j < nb; j++)
                        if (a[i].lo <= b[j].hi && b[j].lo <= a[i].hi)
                                return true;
        return false;
}

static bool ports_covered(const struct natgw_port_range *a, size_t na, const struct natgw_port_range *b,
                          size_t nb) {
        return all_inside(a, na, b, nb, range_inside);
}

static bool ifname_intersects(const char *a, const char *b) {
        return !*a || !*b || streq(a, b);
}

/* Whether some packet matches both; a negated field is taken as "anything" (the safe side). */
bool imp_match_intersects(const struct imp_match *a, const struct imp_match *b) {
        unsigned neg = a->neg | b->neg;

        if (!(neg & IMP_NEG_IIF) && !ifname_intersects(a->iif, b->iif))
                return false;
        if (!(neg & IMP_NEG_OIF) && !ifname_intersects(a->oif, b->oif))
                return false;
        if (!(neg & IMP_NEG_SRC) && !imp_pl_intersects(a->src, a->n_src, b->src, b->n_src))
                return false;
        if (!(neg & IMP_NEG_DST) && !imp_pl_intersects(a->dst, a->n_dst, b->dst, b->n_dst))
                return false;
        if (!(neg & IMP_NEG_PROTO) && a->protos && b->protos && !(a->protos & b->protos))
                return false;
        if (!(neg & IMP_NEG_DPORT) && !ports_intersect(a->dports, a->n_dports, b->dports, b->n_dports))
                return false;
        return true;
}

/* Whether every packet @a matches, @b matches too. */
bool imp_match_covered(const struct imp_match *a, const struct imp_match *b) {
        if (b->neg || b->other_proto || (b->dst_local && !a->dst_local))
                return false;
        if ((*b->iif && !streq(a->iif, b->iif)) || (*b->oif && !streq(a->oif, b->oif)))
                return false;
        if (b->protos && (!a->protos || (a->protos & ~b->protos)))
                return false;
        return imp_pl_covered(a->src, a->n_src, b->src, b->n_src) && imp_pl_covered(a->dst, a->n_dst, b->dst, b->n_dst) &&
               ports_covered(a->dports, a->n_dports, b->dports, b->n_dports);
}

/* Prefixes in both lists (the narrower of each overlapping pair); empty list: everything. */
static int pl_and(const struct natgw_prefix *a, size_t na, const struct natgw_prefix *b, size_t nb,
                  struct natgw_prefix **ret, size_t *ret_n) {
        const struct natgw_prefix *one = na ? a : b;
        size_t n_one = na ? na : nb;

        if (!na || !nb) {
                for (size_t i = 0; i < n_one; i++)
                        if (imp_prefix_add(ret, ret_n, &one[i]) < 0)
                                return -ENOMEM;
                return 0;
        }
        for (size_t i = 0; i < na; i++)
                for (size_t j = 0; j < nb; j++)
                        if (imp_prefixes_overlap(&a[i], &b[j]) &&
                            imp_prefix_add(ret, ret_n, a[i].len >= b[j].len ? &a[i] : &b[j]) < 0)
                                return -ENOMEM;
        return 0;
}

static int ports_and(const struct imp_match *a, const struct imp_match *b, struct imp_match *ret) {
        const struct imp_match *one = a->n_dports ? a : b;

        if (!a->n_dports || !b->n_dports) {
                for (size_t i = 0; i < one->n_dports; i++)
                        if (imp_ports_add(&ret->dports, &ret->n_dports, one->dports[i]) < 0)
                                return -ENOMEM;
                return 0;
        }
        for (size_t i = 0; i < a->n_dports; i++)
                for (size_t j = 0; j < b->n_dports; j++) {
                        struct natgw_port_range r = { MAX(a->dports[i].lo, b->dports[j].lo),
                                                      MIN(a->dports[i].hi, b->dports[j].hi) };

                        if (r.lo <= r.hi && imp_ports_add(&ret->dports, &ret->n_dports, r) < 0)
                                return -ENOMEM;
                }
        return 0;
}

static int ifname_and(const char *a, const char *b, char ret[IFNAMSIZ]) {
        if (*a && *b && !streq(a, b))
                return 0;
        snprintf(ret, IFNAMSIZ, "%s", *a ? a : b);
        return 1;
}

static bool field_set(const struct imp_match *m, unsigned field) {
        switch (field) {
        case IMP_NEG_IIF:
                return *m->iif;
        case IMP_NEG_OIF:
                return *m->oif;
        case IMP_NEG_SRC:
                return m->n_src > 0;
        case IMP_NEG_DST:
                return m->n_dst > 0;
        case IMP_NEG_PROTO:
                return m->protos || m->other_proto;
        default:
                return m->n_dports > 0;
        }
}

int imp_match_and(const struct imp_match *ctx, const struct imp_match *m, struct imp_match *ret) {
        _cleanup_(imp_match_done) struct imp_match x = {};
        static const unsigned fields[] = { IMP_NEG_IIF, IMP_NEG_OIF, IMP_NEG_SRC, IMP_NEG_DST, IMP_NEG_PROTO,
                                           IMP_NEG_DPORT };

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                unsigned f = fields[i];

                if (((ctx->neg & f) && field_set(m, f)) || ((m->neg & f) && field_set(ctx, f)))
                        return -EOPNOTSUPP;
        }
        x.neg = ctx->neg | m->neg;
        x.dst_local = ctx->dst_local || m->dst_local;
        /* One protocol of natgwd's (protos) or another one (other_proto), never both. */
        if (ctx->other_proto && m->other_proto && ctx->other_proto != m->other_proto)
                return 0;
        x.other_proto = ctx->other_proto ? ctx->other_proto : m->other_proto;
        x.icmp = ctx->icmp || m->icmp;
        x.protos = ctx->protos && m->protos ? ctx->protos & m->protos : ctx->protos | m->protos;
        if ((ctx->protos && m->protos && !x.protos) || (x.protos && x.other_proto))
                return 0;
        x.ct = ctx->ct && m->ct ? ctx->ct & m->ct : ctx->ct | m->ct;
        if (ctx->ct && m->ct && !x.ct)
                return 0;
        if (!ifname_and(ctx->iif, m->iif, x.iif) || !ifname_and(ctx->oif, m->oif, x.oif))
                return 0;
        if (pl_and(ctx->src, ctx->n_src, m->src, m->n_src, &x.src, &x.n_src) < 0 ||
            pl_and(ctx->dst, ctx->n_dst, m->dst, m->n_dst, &x.dst, &x.n_dst) < 0 || ports_and(ctx, m, &x) < 0)
                return -ENOMEM;
        if ((ctx->n_src && m->n_src && !x.n_src) || (ctx->n_dst && m->n_dst && !x.n_dst) ||
            (ctx->n_dports && m->n_dports && !x.n_dports))
                return 0;
        *ret = TAKE_STRUCT(x);
        return 1;
}

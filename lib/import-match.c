/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Sets of packets as the importer compares them (import-rule.h): whether two rules' matches
 * share a packet, whether one takes every packet of the other. Used by the nat walk
 * (import-conv.c) and the FORWARD chain's (import-filter.c).
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

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stale conntrack entries of netmap entries: see ct-stale-netmap.h. */

#include "ct-stale-netmap.h"
#include "util.h"

static bool netmap_same(const struct natgw_netmap *a, const struct natgw_netmap *b) {
        return streq(a->interface, b->interface) && natgw_prefix_cmp(&a->inside, &b->inside) == 0 &&
               natgw_prefix_cmp(&a->outside, &b->outside) == 0;
}

/* The netmap of @c with @nm's interface and prefixes, or NULL. */
static const struct natgw_netmap *find_same(const struct natgw_config *c, const struct natgw_netmap *nm) {
        for (size_t i = 0; c->netmaps && i < c->n_netmaps; i++)
                if (netmap_same(&c->netmaps[i], nm))
                        return &c->netmaps[i];
        return NULL;
}

bool natgw_ct_netmaps_changed(const struct natgw_config *old, const struct natgw_config *new) {
        for (size_t i = 0; i < old->n_netmaps; i++)
                if (!find_same(new, &old->netmaps[i]))
                        return true;
        for (size_t i = 0; i < new->n_netmaps; i++)
                if (!find_same(old, &new->netmaps[i]))
                        return true;
        return false;
}

/* The netmap of @c whose translation @e carries, or NULL. */
static const struct natgw_netmap *explaining(const struct natgw_config *c, const struct natgw_ct_netmap_flow *e) {
        struct natgw_addr to;

        for (size_t i = 0; i < c->n_netmaps; i++) {
                const struct natgw_netmap *nm = &c->netmaps[i];

                if (e->src_nat && natgw_netmap_translate(&nm->inside, &nm->outside, e->orig_src, &to) == 0 &&
                    natgw_addr_cmp(&to, e->reply_dst) == 0)
                        return nm;
                if (e->dst_nat && natgw_netmap_translate(&nm->outside, &nm->inside, e->orig_dst, &to) == 0 &&
                    natgw_addr_cmp(&to, e->reply_src) == 0)
                        return nm;
        }
        return NULL;
}

enum natgw_ct_netmap natgw_ct_netmap_classify(const struct natgw_config *old, const struct natgw_config *new,
                                              const struct natgw_ct_netmap_flow *e, const char **ret_name) {
        const struct natgw_netmap *nm = explaining(old, e);

        if (nm) {
                if (find_same(new, nm))
                        return NATGW_CT_NETMAP_KEEP;
                *ret_name = nm->name;
                for (size_t i = 0; i < new->n_netmaps; i++)
                        if (streq(new->netmaps[i].name, nm->name))
                                return NATGW_CT_NETMAP_CHANGED;
                return NATGW_CT_NETMAP_REMOVED;
        }
        for (size_t i = 0; i < new->n_netmaps; i++) {
                nm = &new->netmaps[i];
                if (find_same(old, nm) || !(natgw_prefix_contains(&nm->inside, e->orig_src) ||
                                            natgw_prefix_contains(&nm->outside, e->orig_dst)))
                        continue;
                *ret_name = nm->name;
                return NATGW_CT_NETMAP_TAKEN;
        }
        return NATGW_CT_NETMAP_NONE;
}

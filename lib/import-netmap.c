/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * iptables NETMAP (and nft's "snat/dnat prefix to") into natgwd netmap entries. A natgwd netmap
 * translates both ways, so it stands for a pair of rules: PREROUTING -i IF -d OUTSIDE -j NETMAP
 * --to INSIDE and POSTROUTING -o IF -s INSIDE -j NETMAP --to OUTSIDE. One of them alone is not
 * expressible (the entry would add the other direction), nor is a NETMAP that matches more
 * than an interface and its one prefix.
 */

#include <sys/socket.h>

#include "import-rule.h"
#include "util.h"

void imp_netmap_item_done(struct imp_netmap_item *it) {
        free(it->nm.name);
        free(it->from.v);
        *it = (struct imp_netmap_item) {};
}

const char *imp_netmap_why(const struct imp_rule *r, const struct imp_match *m, bool inbound) {
        const struct natgw_prefix *p = inbound ? m->dst : m->src;
        size_t n = inbound ? m->n_dst : m->n_src;

        if (!(inbound ? *m->iif : *m->oif))
                return inbound ? "NETMAP without -i: a natgwd netmap is bound to its outside interface"
                               : "NETMAP without -o: a natgwd netmap is bound to its outside interface";
        if (n != 1)
                return inbound ? "NETMAP without one -d prefix: a natgwd netmap maps one outside prefix"
                               : "NETMAP without one -s prefix: a natgwd netmap maps one inside prefix";
        if ((inbound ? m->n_src || *m->oif : m->n_dst || *m->iif) || m->dst_local)
                return inbound ? "NETMAP with a source or out-interface match: a natgwd netmap takes every "
                                 "connection to its outside prefix"
                               : "NETMAP with a destination or in-interface match: a natgwd netmap takes every "
                                 "connection from its inside prefix";
        if (m->protos || m->other_proto || m->n_dports)
                return "NETMAP with a protocol or port match: a natgwd netmap translates every protocol";
        if (!r->has_to || r->to_lo.family != p->addr.family)
                return "NETMAP --to of the other family";
        if (r->to_len != p->len)
                return "NETMAP --to of another length than the prefix it maps: natgwd maps prefixes of one length";
        return NULL;
}

int imp_netmap_add(struct imp_output *o, struct imp_rule *r, const struct imp_match *m, bool inbound) {
        struct natgw_netmap nm = { .line = r->line };
        struct natgw_prefix to = { .addr = r->to_lo, .len = r->to_len };
        struct imp_netmap_item *it = NULL;

        snprintf(nm.interface, sizeof(nm.interface), "%s", inbound ? m->iif : m->oif);
        nm.outside = inbound ? m->dst[0] : to;
        nm.inside = inbound ? to : m->src[0];
        for (size_t i = 0; i < o->n_netmaps && !it; i++) {
                const struct imp_netmap_item *x = &o->netmaps[i];

                if ((inbound ? !x->in : !x->out) && streq(x->nm.interface, nm.interface) &&
                    natgw_prefix_cmp(&x->nm.inside, &nm.inside) == 0 && natgw_prefix_cmp(&x->nm.outside, &nm.outside) == 0)
                        it = &o->netmaps[i];
        }
        if (!it) {
                if (GROW(o->netmaps, o->cap_netmaps, o->n_netmaps + 1) < 0)
                        return -ENOMEM;
                it = &o->netmaps[o->n_netmaps++];
                *it = (struct imp_netmap_item) { .nm = nm };
        }
        if (inbound)
                it->in = r;
        else
                it->out = r;
        return imp_origins_add(&it->from, r);
}

struct imp_rule *imp_netmap_missing(const struct imp_netmap_item *it, const char **ret_lacks) {
        if (it->in && it->out)
                return NULL;
        *ret_lacks = it->in ? "POSTROUTING" : "PREROUTING";
        return it->in ? it->in : it->out;
}

void imp_netmap_prune(struct imp_output *o) {
        size_t n = 0;

        for (size_t i = 0; i < o->n_netmaps; i++) {
                if (o->netmaps[i].in && o->netmaps[i].out)
                        o->netmaps[n++] = o->netmaps[i];
                else
                        imp_netmap_item_done(&o->netmaps[i]);
        }
        o->n_netmaps = n;
}

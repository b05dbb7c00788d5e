/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The checks of conf-validate.c for a reload that changed a few drop-ins: each entry of a changed
 * file against every other entry, by the same rules the sweeps apply (conf-validate.c), instead
 * of sorting all entries again. What conflicts is left to natgw_config_validate() to report.
 */

#include <sys/socket.h>

#include "conf-validate.h"
#include "util.h"

/* As check_forwards(): the same family, a protocol and a port in common, in_interface and
 * destination each equal or absent on one side. */
static bool forwards_overlap(const struct natgw_forward *x, const struct natgw_forward *y) {
        if ((x->to.family == AF_INET6) != (y->to.family == AF_INET6) ||
            !(x->protos & y->protos & (NATGW_PROTO_TCP | NATGW_PROTO_UDP)))
                return false;
        if (x->in_interface[0] && y->in_interface[0] && !streq(x->in_interface, y->in_interface))
                return false;
        if (x->has_destination && y->has_destination && natgw_addr_cmp(&x->destination, &y->destination) != 0)
                return false;
        for (size_t i = 0; i < x->n_ports; i++)
                for (size_t j = 0; j < y->n_ports; j++)
                        if (x->ports[i].lo <= y->ports[j].hi && y->ports[j].lo <= x->ports[i].hi)
                                return true;
        return false;
}

/* As check_egress(): source @s of @x is another source of the same out_interface. */
static bool egress_source_taken(const struct natgw_config *c, const struct natgw_egress *x, size_t s) {
        for (size_t i = 0; i < c->n_egress; i++) {
                const struct natgw_egress *y = &c->egress[i];

                if (!streq(x->out_interface, y->out_interface))
                        continue;
                for (size_t t = 0; t < y->n_sources; t++)
                        if ((y != x || t != s) && natgw_prefix_cmp(&x->sources[s], &y->sources[t]) == 0)
                                return true;
        }
        return false;
}

/* Whether another entry than @self has the name @name. */
static bool name_taken(const struct natgw_config *c, const char *name, const void *self) {
        for (size_t i = 0; i < c->n_egress; i++)
                if (&c->egress[i] != self && c->egress[i].name[0] == name[0] && streq(c->egress[i].name, name))
                        return true;
        for (size_t i = 0; i < c->n_forwards; i++)
                if (&c->forwards[i] != self && c->forwards[i].name[0] == name[0] && streq(c->forwards[i].name, name))
                        return true;
        for (size_t i = 0; i < c->n_netmaps; i++)
                if (&c->netmaps[i] != self && c->netmaps[i].name[0] == name[0] && streq(c->netmaps[i].name, name))
                        return true;
        return false;
}

/* See conf-validate.h. */
int natgw_config_validate_changed(const struct natgw_config *c) {
        size_t n_new = 0;

        for (size_t i = 0; i < c->n_forwards; i++)
                n_new += !c->forwards[i].borrowed;
        for (size_t i = 0; i < c->n_egress; i++)
                n_new += !c->egress[i].borrowed;
        /* Netmaps are copied, never borrowed: each counts as new (their own checks, overlaps and
         * forwards into an outside prefix, run on every load: conf-netmap.c). */
        n_new += c->n_netmaps;
        if (n_new > NATGW_VALIDATE_CHANGED_MAX)
                return 1;
        for (size_t i = 0; i < c->n_netmaps; i++)
                if (name_taken(c, c->netmaps[i].name, &c->netmaps[i]))
                        return 1;

        for (size_t i = 0; i < c->n_egress; i++) {
                const struct natgw_egress *x = &c->egress[i];

                if (x->borrowed)
                        continue;
                if (name_taken(c, x->name, x))
                        return 1;
                for (size_t s = 0; s < x->n_sources; s++)
                        if (egress_source_taken(c, x, s))
                                return 1;
        }
        for (size_t i = 0; i < c->n_forwards; i++) {
                const struct natgw_forward *x = &c->forwards[i];

                if (x->borrowed)
                        continue;
                if (name_taken(c, x->name, x))
                        return 1;
                for (size_t j = 0; j < c->n_forwards; j++)
                        if (j != i && forwards_overlap(x, &c->forwards[j]))
                                return 1;
        }
        return 0;
}

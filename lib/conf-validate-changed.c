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
        if (x->in_interface[0] && y->in_interface[0] && !streq_short(x->in_interface, y->in_interface))
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

/* With more new entries than this, each entry's name is looked up by its hash and a forward is
 * compared with the new ones only where their ports meet (a reload that rewrote a drop-in of
 * 50 forwards would otherwise make 50 comparisons per entry of the table). */
#define FEW_NEW 4

/* Slots of the names' hash table: a power of two, at least twice the names it holds. */
#define NAME_SLOTS 256

/* The new entries of a reload (not borrowed), at most NATGW_VALIDATE_CHANGED_MAX in all. */
struct new_entries {
        const struct natgw_egress *egress[NATGW_VALIDATE_CHANGED_MAX];
        const struct natgw_forward *forwards[NATGW_VALIDATE_CHANGED_MAX];
        size_t n_egress, n_forwards;
        uint32_t netmap_hashes[NATGW_VALIDATE_CHANGED_MAX]; /* of c->netmaps' names */
        /* More than FEW_NEW: the new names by hash (open addressing; NULL: a free slot) with the
         * entry each is of, and every port a new forward matches. */
        bool many;
        const char *names[NAME_SLOTS];
        uint32_t hashes[NAME_SLOTS];
        const void *owners[NAME_SLOTS];
        uint64_t ports[65536 / 64];
};

static void name_add(struct new_entries *x, const char *name, uint32_t hash, const void *owner) {
        size_t k = hash & (NAME_SLOTS - 1);

        while (x->names[k])
                k = (k + 1) & (NAME_SLOTS - 1);
        x->names[k] = name;
        x->hashes[k] = hash;
        x->owners[k] = owner;
}

/* Whether a new forward matches a port of [@lo, @hi]. */
static bool ports_meet(const struct new_entries *x, unsigned lo, unsigned hi) {
        for (unsigned w = lo / 64; w <= hi / 64; w++) {
                uint64_t bits = x->ports[w];

                if (w == lo / 64)
                        bits &= ~0ull << (lo % 64);
                if (w == hi / 64 && hi % 64 != 63)
                        bits &= (1ull << (hi % 64 + 1)) - 1;
                if (bits)
                        return true;
        }
        return false;
}

/* The lookups of many new entries, once they are all collected. */
static void new_index(const struct natgw_config *c, struct new_entries *x) {
        for (size_t k = 0; k < c->n_netmaps; k++)
                x->netmap_hashes[k] = natgw_name_hash(c->netmaps[k].name);
        x->many = x->n_egress + x->n_forwards + c->n_netmaps > FEW_NEW;
        if (!x->many)
                return;
        for (size_t k = 0; k < x->n_egress; k++)
                name_add(x, x->egress[k]->name, x->egress[k]->name_hash, x->egress[k]);
        for (size_t k = 0; k < x->n_forwards; k++) {
                const struct natgw_forward *f = x->forwards[k];

                name_add(x, f->name, f->name_hash, f);
                for (size_t i = 0; i < f->n_ports; i++)
                        for (unsigned p = f->ports[i].lo; p <= f->ports[i].hi; p++)
                                x->ports[p / 64] |= 1ull << (p % 64);
        }
        for (size_t k = 0; k < c->n_netmaps; k++)
                name_add(x, c->netmaps[k].name, x->netmap_hashes[k], &c->netmaps[k]);
}

/* Whether forward @y overlaps a new forward other than itself. */
static bool forward_meets_new(const struct new_entries *x, const struct natgw_forward *y) {
        bool meet = !x->many;

        for (size_t i = 0; i < y->n_ports && !meet; i++)
                meet = ports_meet(x, y->ports[i].lo, y->ports[i].hi);
        for (size_t k = 0; k < x->n_forwards && meet; k++)
                if (x->forwards[k] != y && forwards_overlap(x->forwards[k], y))
                        return true;
        return false;
}

/* Whether @name (of hash @hash), of the entry at @self, is a new entry's other than @self. The
 * hashes are compared first: the name of an entry in force is read only where they match. */
static bool name_of_new(const struct natgw_config *c, const struct new_entries *x, const char *name, uint32_t hash,
                        const void *self) {
        if (x->many) {
                for (size_t k = hash & (NAME_SLOTS - 1); x->names[k]; k = (k + 1) & (NAME_SLOTS - 1))
                        if (x->owners[k] != self && x->hashes[k] == hash && streq(x->names[k], name))
                                return true;
                return false;
        }
        for (size_t k = 0; k < x->n_egress; k++)
                if (x->egress[k] != (const void *)self && x->egress[k]->name_hash == hash &&
                    streq(x->egress[k]->name, name))
                        return true;
        for (size_t k = 0; k < x->n_forwards; k++)
                if (x->forwards[k] != (const void *)self && x->forwards[k]->name_hash == hash &&
                    streq(x->forwards[k]->name, name))
                        return true;
        /* Netmaps are copied, never borrowed: each is new. */
        for (size_t k = 0; k < c->n_netmaps; k++)
                if (&c->netmaps[k] != (const void *)self && x->netmap_hashes[k] == hash &&
                    streq(c->netmaps[k].name, name))
                        return true;
        return false;
}

/* See conf-validate.h. */
int natgw_config_validate_changed(const struct natgw_config *c) {
        /* 14 KB: on the stack (a reload's one call). */
        struct new_entries x = {};

        /* Netmaps count as new (their own checks, overlaps and forwards into an outside prefix,
         * run on every load: conf-netmap.c). */
        if (c->n_netmaps > NATGW_VALIDATE_CHANGED_MAX)
                return 1;
        for (size_t i = 0; i < c->n_egress; i++)
                if (!c->egress[i].borrowed) {
                        if (x.n_egress + x.n_forwards + c->n_netmaps >= NATGW_VALIDATE_CHANGED_MAX)
                                return 1;
                        x.egress[x.n_egress++] = &c->egress[i];
                }
        for (size_t i = 0; i < c->n_forwards; i++)
                if (!c->forwards[i].borrowed) {
                        if (x.n_egress + x.n_forwards + c->n_netmaps >= NATGW_VALIDATE_CHANGED_MAX)
                                return 1;
                        x.forwards[x.n_forwards++] = &c->forwards[i];
                }
        if (x.n_egress + x.n_forwards + c->n_netmaps == 0)
                return 0;
        new_index(c, &x);

        /* One pass over all entries, each against the new ones: names, then what each kind
         * checks of its pairs. */
        for (size_t i = 0; i < c->n_netmaps; i++)
                if (name_of_new(c, &x, c->netmaps[i].name, x.netmap_hashes[i], &c->netmaps[i]))
                        return 1;
        for (size_t i = 0; i < c->n_egress; i++)
                if (name_of_new(c, &x, c->egress[i].name, c->egress[i].name_hash, &c->egress[i]))
                        return 1;
        for (size_t k = 0; k < x.n_egress; k++)
                for (size_t s = 0; s < x.egress[k]->n_sources; s++)
                        if (egress_source_taken(c, x.egress[k], s))
                                return 1;
        for (size_t i = 0; i < c->n_forwards; i++) {
                const struct natgw_forward *y = &c->forwards[i];

                if (name_of_new(c, &x, y->name, y->name_hash, y) || forward_meets_new(&x, y))
                        return 1;
        }
        return 0;
}

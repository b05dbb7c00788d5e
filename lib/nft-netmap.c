/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * netmap entries (1:1 NAT) -> their maps. Four interval maps, each one lookup per new
 * connection at any number of entries: netmap4_in / netmap6_in (iifname . daddr, over the
 * outside prefix, to the inside prefix's first . last address) for the DNAT in prerouting, and
 * netmap4_out / netmap6_out (oifname . saddr, over the inside prefix, to the outside prefix)
 * for the SNAT in postrouting. The nat expression's netmap flag (NF_NAT_RANGE_NETMAP) keeps the
 * packet's host bits and takes the network bits from the range: the offset is the kernel's.
 */

#include <sys/socket.h>

#include "nft-plan.h"
#include "util.h"

/* One element: @ifname . [@key's first, last address] -> @to's first . last address. */
static int netmap_add(struct natgw_map *m, uint32_t entry, const char *ifname, const struct natgw_prefix *key,
                      const struct natgw_prefix *to) {
        uint32_t alen = m->family == AF_INET ? 4 : 16;
        struct natgw_addr lo, hi;
        uint8_t *k, *k_end, *data;
        natgw_u128 a, b;
        int r;

        r = natgw_map_append(m, entry, &k, &k_end, &data);
        if (r < 0)
                return r;
        natgw_prefix_bounds(key, &a, &b);
        natgw_addr_from_u128(a, m->family, &lo);
        natgw_addr_from_u128(b, m->family, &hi);
        /* The name padded with zeroes to IFNAMSIZ, as the meta expression loads it. */
        strncpy((char *)k, ifname, IFNAMSIZ);
        memcpy(k + IFNAMSIZ, lo.bytes, alen);
        strncpy((char *)k_end, ifname, IFNAMSIZ);
        memcpy(k_end + IFNAMSIZ, hi.bytes, alen);
        natgw_prefix_bounds(to, &a, &b);
        natgw_addr_from_u128(a, m->family, &lo);
        natgw_addr_from_u128(b, m->family, &hi);
        memcpy(data, lo.bytes, alen);
        memcpy(data + alen, hi.bytes, alen);
        return 0;
}

/* See nft-plan.h. */
int natgw_netmap_compile(const struct natgw_config *c, struct natgw_map *maps, uint32_t first_entry) {
        static const enum natgw_field in_fields[] = { NATGW_FIELD_IIFNAME, NATGW_FIELD_DADDR };
        static const enum natgw_field out_fields[] = { NATGW_FIELD_OIFNAME, NATGW_FIELD_SADDR };
        static const char *const names[NATGW_NETMAP_MAPS] = { "netmap4_in", "netmap4_out", "netmap6_in",
                                                               "netmap6_out" };
        int r;

        for (size_t i = 0; i < NATGW_NETMAP_MAPS; i++) {
                int family = i < 2 ? AF_INET : AF_INET6;

                natgw_map_init(&maps[i], NATGW_MAP_NETMAP, family, names[i], i % 2 ? out_fields : in_fields, 2, true);
                maps[i].data_len = 2 * (family == AF_INET ? 4 : 16);
        }
        for (size_t i = 0; i < c->n_netmaps; i++) {
                const struct natgw_netmap *nm = &c->netmaps[i];
                struct natgw_map *m = &maps[nm->inside.addr.family == AF_INET ? 0 : 2];
                uint32_t entry = first_entry + (uint32_t)i;

                r = netmap_add(&m[0], entry, nm->interface, &nm->outside, &nm->inside);
                if (r >= 0)
                        r = netmap_add(&m[1], entry, nm->interface, &nm->inside, &nm->outside);
                if (r < 0)
                        return r;
        }
        return 0;
}

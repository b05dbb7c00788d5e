/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The few fixed rules of table inet natgw, as libnftnl expressions. Their number does not
 * grow with the number of forwards: one rule per (forward map, protocol), one lookup per
 * egress map, one rule per egress entry chain.
 */

#include <libmnl/libmnl.h>

#include "nft-plan.h"

/* prerouting: [fib daddr type local] count and dnat through forward map @m for @proto. */
int natgw_rule_forward(struct nlmsghdr *nlh, const struct natgw_map *m, size_t map_index, unsigned proto);

/* postrouting: oifname . saddr vmap @egressN. */
int natgw_rule_egress_lookup(struct nlmsghdr *nlh, const struct natgw_map *m, size_t map_index);

/* chain egress-NAME: counter name NAME, then masquerade or snat. */
int natgw_rule_egress_entry(struct nlmsghdr *nlh, const struct natgw_egress *e);

/* chain @chain (natgwctl diagnose --watch): [iifname] nfproto l4proto [th dport within @ports]
 * [daddr] of forward @f: meta nftrace set 1. */
int natgw_rule_trace(struct nlmsghdr *nlh, const char *chain, const struct natgw_forward *f, uint8_t l4proto,
                     const struct natgw_port_range *ports);

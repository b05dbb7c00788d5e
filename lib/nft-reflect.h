/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * NAT reflection (hairpin) in the plan. A forward with reflection on gets a second copy of its
 * elements in the forward map of its shape with the in-interface field: the same keys with
 * NATGW_REFLECT_IIF in place of the interface. The rules load that name instead of the
 * packet's iifname for a client that did not match the forward's own interface and arrived by
 * none of the interfaces entries name (prerouting, after the outside rules:
 * natgw_outside_interfaces()) or a process of the gateway (output), so reflection has the
 * forward's allow_from, ports, range rewrites and destination by construction, in the same
 * maps. Such a connection is labelled (conntrack label NATGW_REFLECT_LABEL_BIT) and postrouting
 * masquerades what carries the label, so that the target answers the gateway.
 */

#include "nft-plan.h"

/* Not a possible interface name (the kernel refuses ':' in one), at most IFNAMSIZ - 1 bytes. */
#define NATGW_REFLECT_IIF "natgw:reflect"

/* The conntrack label of a reflected connection, as the byte and mask of the 16-byte label
 * register (bit 127 of the label space: the last, the one least likely to be used by others). */
#define NATGW_REFLECT_LABEL_BYTE 15
#define NATGW_REFLECT_LABEL_MASK 0x80

/**
 * natgw_reflect_dedupe() - resolve reflected elements that two forwards share
 * @p:      the plan whose config the entries are numbered in
 * @m:      a forward map with the in-interface field
 * @errors: reflected elements of two forwards that overlap with different targets go here
 *
 * Two forwards of the same address and port on different in_interfaces reflect the same key:
 * the same target is one element (the first forward's), another target is an error naming both
 * (one of them needs reflection = false). Return: how many elements were left out as the same
 * as another (>= 0), -EINVAL (see @errors) or -ENOMEM.
 */
int natgw_reflect_dedupe(const struct natgw_plan *p, struct natgw_map *m, struct natgw_errors *errors);

/**
 * natgw_outside_interfaces() - the interfaces reflection is not for
 * @c:     the config
 * @ret:   the names, each once, pointers into @c; free() the array
 * @ret_n: their number
 *
 * Every interface an entry names: forwards' in_interface, egress entries' out_interface,
 * netmaps' interface; at most NATGW_REFLECT_OUTSIDE_MAX + 1 of them (more are not told apart). A client arriving by one of them is outside; only the others (and the
 * gateway's own processes) are reflected, so that a forward limited to one interface does not
 * open to clients of another outside interface through its reflection.
 * Return: 0 or -ENOMEM.
 */
int natgw_outside_interfaces(const struct natgw_config *c, const char ***ret, size_t *ret_n);

/* The most outside interfaces the reflected prerouting rule excludes one by one (a comparison
 * each). With more, inside clients are not reflected (the gateway's own processes still are)
 * and the check warns: a set of them is the way to lift it. */
#define NATGW_REFLECT_OUTSIDE_MAX 64

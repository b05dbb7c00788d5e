/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Stale conntrack entries of netmap entries (1:1 NAT): the part of ct-stale.c's decision that
 * netmaps make. Pure. */

#include <stdbool.h>

#include "conf.h"

/* What the netmaps say of a conntrack entry (ct-stale.c makes a verdict of it). */
enum natgw_ct_netmap {
        NATGW_CT_NETMAP_NONE,    /* they do not decide: the rest of the decision does */
        NATGW_CT_NETMAP_KEEP,    /* an unchanged netmap made its translation */
        NATGW_CT_NETMAP_CHANGED, /* its netmap's name now has other content */
        NATGW_CT_NETMAP_REMOVED, /* its netmap is gone */
        NATGW_CT_NETMAP_TAKEN,   /* an added netmap now translates it */
};

/* The addresses of a conntrack entry's two tuples and its NAT status bits. */
struct natgw_ct_netmap_flow {
        const struct natgw_addr *orig_src, *orig_dst, *reply_src, *reply_dst;
        bool src_nat, dst_nat;
};

/* Whether some netmap of @old is not in @new, or of @new not in @old (interface and prefixes). */
bool natgw_ct_netmaps_changed(const struct natgw_config *old, const struct natgw_config *new);

/**
 * natgw_ct_netmap_classify() - what the netmaps say of a conntrack entry after a reload
 * @old, @new: the configs before and after
 * @e:         the entry
 * @ret_name:  the netmap behind the answer (points into a config), unless NONE or KEEP
 *
 * An old netmap explains @e when @e's source was translated to the outside address at the
 * same offset as its original source in the inside prefix (reply destination), or its
 * destination to the inside address at the offset of its original destination in the outside
 * prefix (reply source). Such an entry is KEEP while the new config has that netmap (interface
 * and prefixes); else CHANGED (a netmap of that name with other content) or REMOVED. An entry no
 * old netmap explains whose original source is in an added netmap's inside prefix, or its
 * original destination in its outside prefix, is TAKEN (the netmap now translates it, before
 * any other entry; conntrack records no interface, so this over-approximates as the rest of
 * the decision does).
 */
enum natgw_ct_netmap natgw_ct_netmap_classify(const struct natgw_config *old, const struct natgw_config *new,
                                              const struct natgw_ct_netmap_flow *e, const char **ret_name);

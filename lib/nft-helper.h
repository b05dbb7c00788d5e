/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Conntrack helpers in table inet natgw: one "ct helper" object per (helper, protocol) that an
 * entry asks for, named as below. A forward's connections get theirs in base chain "helper"
 * (filter, forward hook: after the DNAT, before the connection is confirmed), matched by the
 * translated target and port; an egress entry's in its chain egress-NAME before the source
 * NAT, matched by the helper's standard port, so the most specific entry decides here too.
 * The kernel adds the sequence adjustment the NAT helper needs when it assigns a helper to a
 * connection NAT is already set up for.
 */

#include "nft-plan.h"

enum {
        NATGW_HOBJ_FTP,
        NATGW_HOBJ_TFTP,
        NATGW_HOBJ_SIP_UDP,
        NATGW_HOBJ_SIP_TCP,
        NATGW_HOBJ_COUNT,
};

struct natgw_hobj_def {
        const char *name;   /* the object's name in the table */
        unsigned helper;    /* NATGW_HELPER_* */
        unsigned proto;     /* NATGW_PROTO_TCP or NATGW_PROTO_UDP */
};

extern const struct natgw_hobj_def natgw_hobjs[NATGW_HOBJ_COUNT];

/* The objects of helpers @helpers for connections of @protos, as a mask of 1 << NATGW_HOBJ_*. */
unsigned natgw_hobjs_of(unsigned helpers, unsigned protos);

/**
 * natgw_helper_plan() - the helper objects and chain a config needs
 * @p:        the plan; sets p->helper_objs, p->helper_chain and p->helper_entry[] (the first
 *            entry that uses each object, to name in an error)
 * @forwards: whether some forward has a helper (false: the forwards are not walked)
 */
void natgw_helper_plan(struct natgw_plan *p, bool forwards);

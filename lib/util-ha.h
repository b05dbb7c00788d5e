/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The roles keepalived gives a node of an HA pair (docs/HA.md): shared by the control protocol,
 * the conntrack sync and the daemon. */

#include "util.h"

enum natgw_ha_role {
        NATGW_HA_NONE,   /* no transition seen: natgwd is not told it is one of a pair */
        NATGW_HA_MASTER, /* holds the VIPs: its conntrack table is the one in use */
        NATGW_HA_BACKUP, /* keeps the master's connections in conntrackd's external cache */
        NATGW_HA_FAULT,  /* keepalived found this node unfit (a tracked link down) */
        NATGW_HA_ROLE_COUNT,
};

/* "none", "master", "backup", "fault"; NULL out of range. */
const char *natgw_ha_role_to_string(enum natgw_ha_role r);
/* The role named @s ("master", "backup", "fault"; not "none"), or -EINVAL. */
int natgw_ha_role_from_string(const char *s);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The "ha" hint (conf-ha.c): the node is one of an HA pair whose virtual addresses are named. */

#include "conf-ctx.h"

/* The "ha" group of @root, into c->ha. */
void natgw_conf_parse_ha(struct natgw_conf_ctx *ctx, const config_setting_t *root, struct natgw_config *c);

/*
 * With the hint, warn about entries that cannot survive a failover: masquerade (the kernel
 * flushes its connections when the address goes away), SNAT to an address that is no VIP, a
 * forward not bound to a VIP. Warnings only: a pair may do it on purpose. 0 or -ENOMEM.
 */
int natgw_conf_check_ha(const struct natgw_config *c, struct natgw_errors *errors);

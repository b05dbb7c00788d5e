/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* One netmap entry (1:1 NAT) of the file -> its part of the model, and the checks across them. */

#include "conf-ctx.h"

/* Parse one netmap entry into @c; on errors @c is untouched. 0, -EINVAL (reported), -ENOMEM. */
int natgw_conf_parse_netmap(struct natgw_conf_ctx *ctx, const config_setting_t *group, unsigned pos,
                            struct natgw_config *c);

/* A deep copy of @nm, marked as written in @file (for a drop-in taken from the config in force). */
int natgw_netmap_copy(const struct natgw_netmap *nm, const char *file, struct natgw_netmap *ret);

void natgw_netmap_done(struct natgw_netmap *nm);

/**
 * natgw_conf_validate_netmaps() - the checks across netmap entries and against forwards
 * @c:      the model (its entries each valid)
 * @file:   the main file, for entries without a file of their own
 * @errors: problems are appended here
 *
 * On one interface no two entries' outside prefixes overlap (which inside host would an
 * inbound packet go to?), nor their inside prefixes (which outside address would a host leave
 * with?); no forward whose destination lies in an entry's outside prefix takes packets from
 * that entry's interface (the netmap would take them first, every protocol).
 * Return: the number of errors added (0: none), or -ENOMEM.
 */
int natgw_conf_validate_netmaps(const struct natgw_config *c, const char *file, struct natgw_errors *errors);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* One egress or forward entry of the file -> its part of the model. */

#include "conf-ctx.h"

#define NATGW_NAME_MAX 64

/* Parse one egress entry (masquerade or snat) or forward entry into @c; on errors @c is untouched. */
int natgw_conf_parse_egress(struct natgw_conf_ctx *ctx, const config_setting_t *group,
                            enum natgw_egress_kind kind, unsigned pos, struct natgw_config *c);
int natgw_conf_parse_forward(struct natgw_conf_ctx *ctx, const config_setting_t *group, unsigned pos,
                             struct natgw_config *c);

/* The steps every entry parser shares: its error context (name, or "SECTION entry POS"), an
 * interface name as the kernel accepts it, and its end (0 and its name, or -EINVAL when it had
 * errors, -ENOMEM). */
void natgw_conf_entry_begin(struct natgw_conf_ctx *ctx, const config_setting_t *group, const char *section,
                            unsigned pos);
void natgw_conf_parse_ifname(struct natgw_conf_ctx *ctx, const config_setting_t *group, const char *key,
                             bool required, char ret[IFNAMSIZ]);
int natgw_conf_entry_end(struct natgw_conf_ctx *ctx, unsigned n_errors, char **ret_name);

void natgw_egress_done(struct natgw_egress *e);
void natgw_forward_done(struct natgw_forward *f);

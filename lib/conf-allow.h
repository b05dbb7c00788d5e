/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Egress policy (conf-allow.c): an entry's allow, deny and log_denied; the filter section. */

#include "conf-ctx.h"

/* allow, deny and log_denied of egress entry @group into @e, whose sources are parsed already
 * (NULL when they had errors: then no family is checked). */
void natgw_conf_parse_allow(struct natgw_conf_ctx *ctx, const config_setting_t *group, struct natgw_egress *e);

/* The top-level "filter" group into @c. */
void natgw_conf_parse_filter(struct natgw_conf_ctx *ctx, const config_setting_t *root, struct natgw_config *c);

/* Free an entry's allow rules (and leave it without an allow list). */
void natgw_allow_done(struct natgw_egress *e);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Conntrack helpers in the file (conf-helper.c): "helper" on forwards, "helpers" on egress. */

#include "conf-ctx.h"

/* "helper" of forward @group into @f, whose protos are parsed already (0 when they had errors). */
void natgw_conf_parse_helper(struct natgw_conf_ctx *ctx, const config_setting_t *group, struct natgw_forward *f);

/* "helpers" of egress entry @group into @e. */
void natgw_conf_parse_helpers(struct natgw_conf_ctx *ctx, const config_setting_t *group, struct natgw_egress *e);

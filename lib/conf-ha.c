/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "ha" hint: `ha = { vips = [ "192.168.1.1", "203.0.113.10" ]; };` says that this node is
 * one of an HA pair (docs/HA.md) and names the virtual addresses keepalived moves. natgwd
 * applies the same table either way; the hint only lets the checks see what a failover breaks.
 */

#include "conf-ha.h"
#include "conf-value.h"

static const char *const ha_keys[] = { "vips", NULL };

void natgw_conf_parse_ha(struct natgw_conf_ctx *ctx, const config_setting_t *root, struct natgw_config *c) {
        const config_setting_t *g = natgw_conf_get_member(root, "ha");

        if (!g)
                return;
        if (!config_setting_is_group(g)) {
                natgw_conf_type_error(ctx, g, "ha", "a group { vips = [ ADDRESS, ... ]; }");
                return;
        }
        ctx->entry = NULL;
        snprintf(ctx->label, sizeof(ctx->label), "ha");
        natgw_conf_check_keys(ctx, g, ha_keys);
        c->ha.present = true;
        c->ha.line = natgw_conf_line(ctx, g);
        natgw_conf_parse_prefixes(ctx, g, "vips", true, 0, &c->ha.vips, &c->ha.n_vips);
        ctx->label[0] = '\0';
}

static bool is_vip(const struct natgw_config *c, const struct natgw_addr *a) {
        for (size_t i = 0; i < c->ha.n_vips; i++)
                if (natgw_prefix_contains(&c->ha.vips[i], a))
                        return true;
        return false;
}

static const char *file_of(const struct natgw_config *c, const char *file) {
        return file ? file : c->path;
}

int natgw_conf_check_ha(const struct natgw_config *c, struct natgw_errors *errors) {
        int r = 0;

        if (!c->ha.present)
                return 0;
        for (size_t i = 0; i < c->n_egress && r >= 0; i++) {
                const struct natgw_egress *e = &c->egress[i];

                if (e->kind == NATGW_EGRESS_MASQUERADE)
                        r = natgw_errors_warn(errors, file_of(c, e->file), e->line, e->name,
                                              "masquerade in an HA pair: the kernel deletes these connections "
                                              "when the interface's address goes away, and the peer's copies "
                                              "name the peer's own address; use snat with to = the public VIP");
                else if (!is_vip(c, &e->to_lo) || !is_vip(c, &e->to_hi))
                        r = natgw_errors_warn(errors, file_of(c, e->file), e->line, e->name,
                                              "snat to an address that is not one of ha.vips: after a failover "
                                              "the replies go to the node that no longer has it");
        }
        for (size_t i = 0; i < c->n_forwards && r >= 0; i++) {
                const struct natgw_forward *f = &c->forwards[i];

                if (!f->has_destination)
                        r = natgw_errors_warn(errors, file_of(c, f->file), f->line, f->name,
                                              "forward without destination in an HA pair: it answers on every "
                                              "local address of the node; set destination = the public VIP");
                else if (!is_vip(c, &f->destination))
                        r = natgw_errors_warn(errors, file_of(c, f->file), f->line, f->name,
                                              "forward destination is not one of ha.vips: clients of it are cut "
                                              "by a failover");
        }
        return r;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Conntrack helpers in the file: a forward's "helper" (one name) and an egress entry's
 * "helpers" (a name or a list). The kernel's helper parses the control connection and its NAT
 * half rewrites the addresses in it, so FTP (active and passive), TFTP and SIP work through the
 * translation without a forwarded data range.
 */

#include "conf-helper.h"
#include "conf-value.h"
#include "util.h"

const struct natgw_helper_def natgw_helpers[3] = {
        { "ftp", NATGW_PROTO_TCP, 21 },
        { "tftp", NATGW_PROTO_UDP, 69 },
        { "sip", NATGW_PROTO_TCP | NATGW_PROTO_UDP, 5060 },
};

/* The NATGW_HELPER_* bit of @name, or 0. */
static unsigned helper_bit(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(natgw_helpers); i++)
                if (streq(name, natgw_helpers[i].name))
                        return 1u << i;
        return 0;
}

static unsigned parse_one(struct natgw_conf_ctx *ctx, const config_setting_t *s, const char *key) {
        const char *v = config_setting_get_string(s);
        unsigned bit;

        if (!v) {
                natgw_conf_type_error(ctx, s, key, "\"ftp\", \"tftp\" or \"sip\"");
                return 0;
        }
        bit = helper_bit(v);
        if (!bit)
                natgw_conf_error(ctx, s, "%s \"%s\" is not \"ftp\", \"tftp\" or \"sip\"", key, v);
        return bit;
}

void natgw_conf_parse_helper(struct natgw_conf_ctx *ctx, const config_setting_t *group, struct natgw_forward *f) {
        const config_setting_t *s = natgw_conf_member(ctx, group, "helper", false);
        unsigned bit;

        if (!s)
                return;
        bit = parse_one(ctx, s, "helper");
        if (!bit)
                return;
        /* The helper watches the forward's connections: it must take their protocol. */
        if (f->protos && !(f->protos & natgw_helpers[__builtin_ctz(bit)].protos)) {
                natgw_conf_error(ctx, s, "helper \"%s\" takes %s connections, proto is \"%s\"",
                                 natgw_helpers[__builtin_ctz(bit)].name,
                                 natgw_helpers[__builtin_ctz(bit)].protos & NATGW_PROTO_TCP ? "tcp" : "udp",
                                 f->protos == NATGW_PROTO_TCP ? "tcp" : "udp");
                return;
        }
        f->helper = bit;
}

void natgw_conf_parse_helpers(struct natgw_conf_ctx *ctx, const config_setting_t *group, struct natgw_egress *e) {
        const config_setting_t *s = natgw_conf_member(ctx, group, "helpers", false);
        size_t n;

        if (!s)
                return;
        if (config_setting_is_aggregate(s) == CONFIG_FALSE) {
                e->helpers = parse_one(ctx, s, "helpers");
                return;
        }
        n = (size_t)config_setting_length(s);
        for (size_t i = 0; i < n; i++) {
                const config_setting_t *x = config_setting_get_elem(s, (unsigned)i);
                unsigned bit = parse_one(ctx, x, "helpers");

                if (bit & e->helpers)
                        natgw_conf_error(ctx, x, "helpers: \"%s\" is listed twice", natgw_helpers[__builtin_ctz(bit)].name);
                e->helpers |= bit;
        }
}

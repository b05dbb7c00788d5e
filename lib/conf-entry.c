/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * One masquerade, snat or forward entry: libconfig group -> model entry. Each function reports
 * every problem of its key and carries on, so that one run shows all of them; an entry with any
 * error is left out of the model (the cross-entry checks then only see entries that make sense).
 */

#include <sys/socket.h>

#include "conf-addr.h"
#include "conf-allow.h"
#include "conf-entry.h"
#include "conf-helper.h"
#include "conf-value.h"
#include "util.h"

static const char *const masquerade_keys[] = {
        "name", "source", "out_interface", "allow", "deny", "log_denied", "helpers", NULL,
};
static const char *const snat_keys[] = {
        "name", "source", "out_interface", "to", "allow", "deny", "log_denied", "helpers", NULL,
};
static const char *const forward_keys[] = {
        "name", "in_interface", "proto", "port", "to", "destination", "allow_from", "reflection", "helper", NULL,
};

void natgw_egress_done(struct natgw_egress *e) {
        if (e->borrowed) {
                *e = (struct natgw_egress) {};
                return;
        }
        free(e->name);
        free(e->sources);
        natgw_allow_done(e);
        *e = (struct natgw_egress) {};
}

void natgw_forward_done(struct natgw_forward *f) {
        if (f->borrowed) {
                *f = (struct natgw_forward) {};
                return;
        }
        free(f->name);
        free(f->ports);
        free(f->allow_from);
        *f = (struct natgw_forward) {};
}

static bool name_valid(const char *s) {
        size_t n = strlen(s);

        if (n < 1 || n > NATGW_NAME_MAX)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9') || strchr("_.-", *s)))
                        return false;
        return true;
}

/*
 * Set up the error context of an entry: its name when it has a usable one, otherwise
 * "SECTION entry POS" so that the operator can still find it.
 */
static void entry_begin(struct natgw_conf_ctx *ctx, const config_setting_t *group, const char *section,
                        unsigned pos) {
        const config_setting_t *s = natgw_conf_get_member(group, "name");
        const char *name;

        natgw_conf_forget_members(ctx);
        natgw_conf_set_entry_label(ctx, section, pos);
        if (!s) {
                natgw_conf_error(ctx, group, "missing required key \"name\"");
                return;
        }
        if (config_setting_type(s) != CONFIG_TYPE_STRING) {
                natgw_conf_type_error(ctx, s, "name", "a string");
                return;
        }
        name = config_setting_get_string(s);
        if (!name_valid(name)) {
                natgw_conf_error(ctx, s, "invalid name \"%.80s\": use 1 to %d characters of A-Z, a-z, "
                                 "0-9, \"_\", \".\" and \"-\"", name, NATGW_NAME_MAX);
                return;
        }
        ctx->entry = name;
}

/* Same rules as the kernel's dev_valid_name(), so that nft accepts what we accept. */
static void parse_ifname(struct natgw_conf_ctx *ctx, const config_setting_t *group, const char *key,
                         bool required, char ret[IFNAMSIZ]) {
        const config_setting_t *s = NULL;
        const char *v = natgw_conf_get_string(ctx, group, key, required, &s);

        if (!v)
                return;
        if (!*v) {
                if (required)
                        natgw_conf_error(ctx, s, "\"%s\" is empty", key);
                else
                        natgw_conf_error(ctx, s, "\"%s\" is empty; leave it out to match any interface", key);
        } else if (strlen(v) >= IFNAMSIZ)
                natgw_conf_error(ctx, s, "interface name \"%s\" is longer than %d characters", v,
                                 IFNAMSIZ - 1);
        else if (streq(v, ".") || streq(v, ".."))
                natgw_conf_error(ctx, s, "interface name \"%s\" is not allowed", v);
        else if (strpbrk(v, "/: \t\n\v\f\r"))
                natgw_conf_error(ctx, s, "interface name \"%s\" contains whitespace, \"/\" or \":\"", v);
        else
                memcpy(ret, v, strlen(v) + 1);
}

/* snat "to": returns the family of the pool, 0 when there is none (reported). */
static int parse_snat_to(struct natgw_conf_ctx *ctx, const config_setting_t *group, struct natgw_egress *e) {
        const config_setting_t *s = NULL;
        const char *v = natgw_conf_get_string(ctx, group, "to", true, &s);
        int r;

        if (!v)
                return 0;
        r = natgw_addr_range_parse(v, &e->to_lo, &e->to_hi);
        if (r == -EAFNOSUPPORT)
                natgw_conf_error(ctx, s, "to \"%s\" mixes IPv4 and IPv6", v);
        else if (r == -EDOM)
                natgw_conf_error(ctx, s, "to \"%s\": range start is greater than end", v);
        else if (r < 0)
                natgw_conf_error(ctx, s, "to \"%s\" is not an address or an \"A-B\" address range", v);
        return r < 0 ? 0 : e->to_lo.family;
}

/* The end of an entry: its name, or why there is no entry (-EINVAL: it has errors, reported). */
static int entry_end(struct natgw_conf_ctx *ctx, unsigned n_errors, char **ret_name) {
        if (ctx->r < 0)
                return ctx->r;
        if (ctx->n_errors != n_errors)
                return -EINVAL;
        *ret_name = strdup(ctx->entry);
        if (!*ret_name)
                return ctx->r = -ENOMEM;
        return 0;
}

/**
 * natgw_conf_parse_egress() - parse one masquerade or snat entry
 * @ctx:   loader state; errors go there, and ctx->entry names the entry afterwards (or is NULL)
 * @group: the entry
 * @kind:  masquerade or snat
 * @pos:   1-based position in its section, to name an entry that has no usable name
 * @c:     the model, which gets the entry when it has no errors
 *
 * Return: 0; -EINVAL when the entry has errors (reported); -ENOMEM (also in ctx->r).
 */
int natgw_conf_parse_egress(struct natgw_conf_ctx *ctx, const config_setting_t *group,
                            enum natgw_egress_kind kind, unsigned pos, struct natgw_config *c) {
        _cleanup_(natgw_egress_done) struct natgw_egress e = {
                .kind = kind,
                .line = natgw_conf_line(ctx, group),
        };
        bool snat = kind == NATGW_EGRESS_SNAT;
        unsigned n_errors = ctx->n_errors;
        int family = 0, r;

        entry_begin(ctx, group, snat ? "snat" : "masquerade", pos);
        natgw_conf_check_keys(ctx, group, snat ? snat_keys : masquerade_keys);
        if (snat)
                family = parse_snat_to(ctx, group, &e);
        natgw_conf_parse_prefixes(ctx, group, "source", true, family, &e.sources, &e.n_sources);
        parse_ifname(ctx, group, "out_interface", true, e.out_interface);
        natgw_conf_parse_allow(ctx, group, &e);
        natgw_conf_parse_helpers(ctx, group, &e);
        r = entry_end(ctx, n_errors, &e.name);
        if (r >= 0)
                e.name_hash = natgw_name_hash(e.name);
        if (r >= 0 && GROW(c->egress, ctx->cap_egress, c->n_egress + 1) < 0)
                r = ctx->r = -ENOMEM;
        if (r < 0)
                return r;
        c->egress[c->n_egress++] = TAKE_STRUCT(e);
        return 0;
}

static void parse_proto(struct natgw_conf_ctx *ctx, const config_setting_t *group, struct natgw_forward *f) {
        const config_setting_t *s = NULL;
        const char *v = natgw_conf_get_string(ctx, group, "proto", true, &s);

        if (!v)
                return;
        if (!natgw_conf_proto_parse(v, NATGW_PROTO_TCP | NATGW_PROTO_UDP, &f->protos))
                natgw_conf_error(ctx, s, "proto \"%s\" is not \"tcp\", \"udp\" or \"tcp+udp\"", v);
}

/* forward "to"; returns its setting when it is valid, NULL otherwise (reported). */
static const config_setting_t *parse_forward_to(struct natgw_conf_ctx *ctx, const config_setting_t *group,
                                                struct natgw_forward *f) {
        const config_setting_t *s = NULL;
        const char *v = natgw_conf_get_string(ctx, group, "to", true, &s);
        int r;

        if (!v)
                return NULL;
        r = natgw_forward_to_parse(v, &f->to, &f->to_port_mode, &f->to_port);
        if (r == -ERANGE)
                natgw_conf_error(ctx, s, "to \"%s\": port is out of range 1-65535", v);
        else if (r == -EDOM)
                natgw_conf_error(ctx, s, "to \"%s\": port range start is greater than end", v);
        else if (r < 0)
                natgw_conf_error(ctx, s, "to \"%s\" is not ADDR, ADDR:PORT or ADDR:A-B "
                                 "(IPv6 in brackets: [ADDR]:PORT)", v);
        return r < 0 ? NULL : s;
}

/* "ADDR:A-B" maps one port range onto another, port by port. */
static void check_port_mapping(struct natgw_conf_ctx *ctx, const config_setting_t *to,
                               const struct natgw_forward *f) {
        char a[NATGW_PORTS_STRLEN], b[NATGW_PORTS_STRLEN];
        unsigned wa, wb;

        if (f->to_port_mode != NATGW_TO_PORT_RANGE || f->n_ports == 0)
                return;
        if (f->n_ports > 1) {
                natgw_conf_error(ctx, to, "to \"%s\" maps a port range, so \"port\" must be one range, "
                                 "not a list of %zu", config_setting_get_string(to), f->n_ports);
                return;
        }
        wa = natgw_ports_width(&f->ports[0]);
        wb = natgw_ports_width(&f->to_port);
        if (wa != wb)
                natgw_conf_error(ctx, to, "range widths differ: port %s has %u port%s, to %s has %u",
                                 natgw_ports_format(&f->ports[0], a, sizeof(a)), wa, wa == 1 ? "" : "s",
                                 natgw_ports_format(&f->to_port, b, sizeof(b)), wb);
}

static void parse_destination(struct natgw_conf_ctx *ctx, const config_setting_t *group, int family,
                              struct natgw_forward *f) {
        const config_setting_t *s = NULL;
        const char *v = natgw_conf_get_string(ctx, group, "destination", false, &s);
        struct natgw_addr a;

        if (!v)
                return;
        if (natgw_addr_parse(v, &a) < 0)
                natgw_conf_error(ctx, s, "destination \"%s\" is not an address", v);
        else if (family != 0 && a.family != family)
                natgw_conf_error(ctx, s, "destination \"%s\" is %s but \"to\" is %s", v,
                                 natgw_family_name(a.family), natgw_family_name(family));
        else {
                f->has_destination = true;
                f->destination = a;
        }
}

static void parse_reflection(struct natgw_conf_ctx *ctx, const config_setting_t *group, struct natgw_forward *f) {
        const config_setting_t *s = natgw_conf_member(ctx, group, "reflection", false);

        f->reflection = true;
        if (!s)
                return;
        f->reflection_line = natgw_conf_line(ctx, s);
        if (config_setting_type(s) != CONFIG_TYPE_BOOL)
                natgw_conf_type_error(ctx, s, "reflection", "true or false");
        else
                f->reflection = config_setting_get_bool(s);
}

/**
 * natgw_conf_parse_forward() - parse one forward entry
 * @ctx:   loader state; errors go there, and ctx->entry names the entry afterwards (or is NULL)
 * @group: the entry
 * @pos:   1-based position in the forward section, to name an entry that has no usable name
 * @c:     the model, which gets the entry when it has no errors
 *
 * Return: 0; -EINVAL when the entry has errors (reported); -ENOMEM (also in ctx->r).
 */
int natgw_conf_parse_forward(struct natgw_conf_ctx *ctx, const config_setting_t *group, unsigned pos,
                             struct natgw_config *c) {
        _cleanup_(natgw_forward_done) struct natgw_forward f = {
                .line = natgw_conf_line(ctx, group),
        };
        unsigned n_errors = ctx->n_errors;
        const config_setting_t *to;
        int family, r;

        entry_begin(ctx, group, "forward", pos);
        natgw_conf_check_keys(ctx, group, forward_keys);
        parse_ifname(ctx, group, "in_interface", false, f.in_interface);
        parse_proto(ctx, group, &f);
        natgw_conf_parse_ports(ctx, group, true, &f.ports, &f.n_ports);
        to = parse_forward_to(ctx, group, &f);
        if (to)
                check_port_mapping(ctx, to, &f);
        /* Without a valid "to" there is no family to hold the other addresses to. */
        family = to ? f.to.family : 0;
        parse_destination(ctx, group, family, &f);
        natgw_conf_parse_prefixes(ctx, group, "allow_from", false, family, &f.allow_from, &f.n_allow_from);
        parse_reflection(ctx, group, &f);
        natgw_conf_parse_helper(ctx, group, &f);
        r = entry_end(ctx, n_errors, &f.name);
        if (r >= 0)
                f.name_hash = natgw_name_hash(f.name);
        if (r >= 0 && GROW(c->forwards, ctx->cap_forwards, c->n_forwards + 1) < 0)
                r = ctx->r = -ENOMEM;
        if (r < 0)
                return r;
        c->forwards[c->n_forwards++] = TAKE_STRUCT(f);
        return 0;
}

/* See conf-entry.h: the steps every kind of entry shares, for the parsers in other files. */
void natgw_conf_entry_begin(struct natgw_conf_ctx *ctx, const config_setting_t *group, const char *section,
                            unsigned pos) {
        entry_begin(ctx, group, section, pos);
}

void natgw_conf_parse_ifname(struct natgw_conf_ctx *ctx, const config_setting_t *group, const char *key,
                             bool required, char ret[IFNAMSIZ]) {
        parse_ifname(ctx, group, key, required, ret);
}

int natgw_conf_entry_end(struct natgw_conf_ctx *ctx, unsigned n_errors, char **ret_name) {
        return entry_end(ctx, n_errors, ret_name);
}

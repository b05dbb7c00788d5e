/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Egress policy in the file: an entry's allow list, deny and log_denied, and the filter
 * section; and the model's own answer to "does this entry allow that packet", which diagnose
 * and learn mode ask without the kernel.
 */

#include <netinet/in.h>
#include <sys/socket.h>

#include "conf-allow.h"
#include "conf-value.h"
#include "util.h"

static const char *const allow_rule_keys[] = { "to", "proto", "port", NULL };
static const char *const filter_keys[] = { "forward", NULL };

void natgw_allow_done(struct natgw_egress *e) {
        for (size_t i = 0; i < e->n_allow; i++) {
                free(e->allow[i].to);
                free(e->allow[i].ports);
        }
        free(e->allow);
        e->allow = NULL;
        e->n_allow = 0;
        e->has_allow = false;
}

/* AF_INET and AF_INET6 as bits 1 and 2: the families of an entry's sources. */
static unsigned family_bit(int family) {
        return family == AF_INET ? 1u : 2u;
}

static unsigned source_families(const struct natgw_egress *e) {
        unsigned f = 0;

        for (size_t i = 0; i < e->n_sources; i++)
                f |= family_bit(e->sources[i].addr.family);
        return f;
}

static void parse_rule_proto(struct natgw_conf_ctx *ctx, const config_setting_t *g, size_t pos,
                             struct natgw_allow *a) {
        const config_setting_t *s = NULL;
        const char *v = natgw_conf_get_string(ctx, g, "proto", false, &s);

        a->protos = NATGW_PROTO_ALL;
        if (!v)
                return;
        if (!natgw_conf_proto_parse(v, ~0u, &a->protos))
                natgw_conf_error(ctx, s, "allow rule %zu: proto \"%s\" is not \"tcp\", \"udp\", \"tcp+udp\", "
                                 "\"icmp\" or \"all\"", pos, v);
}

static void parse_rule(struct natgw_conf_ctx *ctx, const config_setting_t *g, size_t pos, unsigned families,
                       struct natgw_allow *a) {
        const config_setting_t *port = natgw_conf_get_member(g, "port");
        char buf[NATGW_PREFIX_STRLEN];

        a->line = natgw_conf_line(ctx, g);
        if (!config_setting_is_group(g)) {
                natgw_conf_error(ctx, g, "allow rule %zu: wrong type: expected a rule { to; proto; port; }, "
                                 "got %s", pos, natgw_conf_type_name(g));
                return;
        }
        natgw_conf_check_keys(ctx, g, allow_rule_keys);
        parse_rule_proto(ctx, g, pos, a);
        natgw_conf_parse_prefixes(ctx, g, "to", false, 0, &a->to, &a->n_to);
        for (size_t i = 0; i < a->n_to && families; i++)
                if (!(families & family_bit(a->to[i].addr.family)))
                        natgw_conf_error(ctx, natgw_conf_element(natgw_conf_get_member(g, "to"), i),
                                         "allow rule %zu: to %s is %s, but no source of the entry is",
                                         pos, natgw_prefix_format(&a->to[i], buf, sizeof(buf)),
                                         natgw_family_name(a->to[i].addr.family));
        if (!port)
                return;
        if (a->protos & (NATGW_PROTO_ICMP | NATGW_PROTO_ALL)) {
                natgw_conf_error(ctx, port, "allow rule %zu: \"port\" needs proto \"tcp\", \"udp\" or "
                                 "\"tcp+udp\" (this rule is for %s)", pos,
                                 a->protos & NATGW_PROTO_ICMP ? "icmp" : "every protocol");
                return;
        }
        natgw_conf_parse_ports(ctx, g, false, &a->ports, &a->n_ports);
}

/* ---- rules that add nothing: a warning, since the list still means what it says ---- */

static bool ports_cover(const struct natgw_allow *a, const struct natgw_allow *b) {
        if (a->n_ports == 0)
                return true;
        if (b->n_ports == 0)
                return false;
        for (size_t j = 0; j < b->n_ports; j++) {
                bool in = false;

                for (size_t i = 0; i < a->n_ports && !in; i++)
                        in = a->ports[i].lo <= b->ports[j].lo && b->ports[j].hi <= a->ports[i].hi;
                if (!in)
                        return false;
        }
        return true;
}

static bool prefix_covers(const struct natgw_prefix *a, const struct natgw_prefix *b) {
        return a->addr.family == b->addr.family && a->len <= b->len && natgw_prefix_contains(a, &b->addr);
}

/* Whether every packet rule @b matches is matched by rule @a. */
static bool rule_covers(const struct natgw_allow *a, const struct natgw_allow *b) {
        if (!(a->protos & NATGW_PROTO_ALL) && ((b->protos & NATGW_PROTO_ALL) || (b->protos & ~a->protos)))
                return false;
        if (a->n_to > 0) {
                if (b->n_to == 0)
                        return false;
                for (size_t j = 0; j < b->n_to; j++) {
                        bool in = false;

                        for (size_t i = 0; i < a->n_to && !in; i++)
                                in = prefix_covers(&a->to[i], &b->to[j]);
                        if (!in)
                                return false;
                }
        }
        return ports_cover(a, b);
}

/* The prefixes of all rules, sorted, to find the rules that may cover another one fast. */
struct to_item {
        struct natgw_prefix p;
        size_t rule;
};

static int to_item_cmp(const void *x, const void *y) {
        const struct to_item *a = x, *b = y;
        int r = natgw_prefix_cmp(&a->p, &b->p);

        return r ? r : a->rule < b->rule ? -1 : a->rule > b->rule;
}

static void warn_covered(struct natgw_conf_ctx *ctx, const struct natgw_egress *e, size_t b, size_t a,
                         const config_setting_t *list) {
        natgw_conf_warn(ctx, config_setting_get_elem(list, (unsigned)b),
                        "allow rule %zu adds nothing: rule %zu (line %u) already allows all it allows", b + 1,
                        a + 1, e->allow[a].line);
}

/* Check rule @b against the rules that may cover it; true when one does. */
static bool check_rule_covered(struct natgw_conf_ctx *ctx, const struct natgw_egress *e, size_t b, size_t a,
                               const config_setting_t *list) {
        /* Two equal rules cover each other: only the later one is reported. */
        if (a == b || !rule_covers(&e->allow[a], &e->allow[b]) ||
            (a > b && rule_covers(&e->allow[b], &e->allow[a])))
                return false;
        warn_covered(ctx, e, b, a, list);
        return true;
}

/*
 * A rule whose packets another rule of the list allows already. Only rules that have a prefix
 * containing the first prefix of @b can cover it, and prefixes nest: those are at most one per
 * prefix length, found by bisection, so a long list costs n log n, not n².
 */
static int check_shadowed(struct natgw_conf_ctx *ctx, const struct natgw_egress *e, const config_setting_t *list) {
        _cleanup_(freep) struct to_item *items = NULL;
        _cleanup_(freep) size_t *any = NULL;
        size_t n = 0, n_any = 0;

        for (size_t i = 0; i < e->n_allow; i++)
                n += e->allow[i].n_to;
        items = calloc(MAX(n, (size_t)1), sizeof(*items));
        any = calloc(MAX(e->n_allow, (size_t)1), sizeof(*any));
        if (!items || !any)
                return -ENOMEM;
        n = 0;
        for (size_t i = 0; i < e->n_allow; i++) {
                if (e->allow[i].n_to == 0)
                        any[n_any++] = i;
                for (size_t t = 0; t < e->allow[i].n_to; t++)
                        items[n++] = (struct to_item){ .p = e->allow[i].to[t], .rule = i };
        }
        qsort(items, n, sizeof(*items), to_item_cmp);

        for (size_t b = 0; b < e->n_allow; b++) {
                const struct natgw_allow *rb = &e->allow[b];
                bool done = false;

                for (size_t k = 0; k < n_any && !done; k++)
                        done = check_rule_covered(ctx, e, b, any[k], list);
                for (unsigned len = 0; rb->n_to > 0 && len <= rb->to[0].len && !done; len++) {
                        struct to_item key = { .p = rb->to[0], .rule = 0 };
                        size_t lo = 0, hi = n;

                        key.p.len = len;
                        natgw_prefix_mask(&key.p);
                        while (lo < hi) { /* the first item >= key */
                                size_t mid = lo + (hi - lo) / 2;

                                if (to_item_cmp(&items[mid], &key) < 0)
                                        lo = mid + 1;
                                else
                                        hi = mid;
                        }
                        for (; lo < n && natgw_prefix_cmp(&items[lo].p, &key.p) == 0 && !done; lo++)
                                done = check_rule_covered(ctx, e, b, items[lo].rule, list);
                }
        }
        return 0;
}

static void parse_deny(struct natgw_conf_ctx *ctx, const config_setting_t *group, struct natgw_egress *e) {
        const config_setting_t *s = NULL, *log = natgw_conf_member(ctx, group, "log_denied", false);
        const char *v = natgw_conf_get_string(ctx, group, "deny", false, &s);

        if (v && !streq(v, "drop") && !streq(v, "reject"))
                natgw_conf_error(ctx, s, "deny \"%s\" is not \"drop\" or \"reject\"", v);
        else if (v && !e->has_allow)
                natgw_conf_warn(ctx, s, "\"deny\" has no effect without \"allow\"");
        else if (v && streq(v, "reject"))
                e->deny = NATGW_DENY_REJECT;
        if (!log)
                return;
        if (config_setting_type(log) != CONFIG_TYPE_BOOL) {
                natgw_conf_type_error(ctx, log, "log_denied", "true or false");
                return;
        }
        e->log_denied = config_setting_get_bool(log);
        if (e->log_denied && !e->has_allow)
                natgw_conf_warn(ctx, log, "\"log_denied\" has no effect without \"allow\"");
}

void natgw_conf_parse_allow(struct natgw_conf_ctx *ctx, const config_setting_t *group, struct natgw_egress *e) {
        const config_setting_t *list = natgw_conf_member(ctx, group, "allow", false);
        unsigned families = source_families(e), n_errors = ctx->n_errors;
        size_t n;

        if (list && !config_setting_is_list(list))
                natgw_conf_type_error(ctx, list, "allow", "a list of rules ( { to; proto; port; }, ... )");
        else if (list) {
                n = (size_t)config_setting_length(list);
                e->allow = calloc(MAX(n, (size_t)1), sizeof(*e->allow));
                if (!e->allow) {
                        ctx->r = -ENOMEM;
                        return;
                }
                e->has_allow = true;
                e->n_allow = n;
                for (size_t i = 0; i < n; i++)
                        parse_rule(ctx, config_setting_get_elem(list, (unsigned)i), i + 1, families, &e->allow[i]);
                if (n == 0)
                        natgw_conf_warn(ctx, list, "\"allow\" is an empty list: everything from the entry's "
                                        "sources is denied");
                else if (ctx->n_errors == n_errors && check_shadowed(ctx, e, list) < 0)
                        ctx->r = -ENOMEM;
        }
        parse_deny(ctx, group, e);
}

void natgw_conf_parse_filter(struct natgw_conf_ctx *ctx, const config_setting_t *root, struct natgw_config *c) {
        const config_setting_t *g = natgw_conf_get_member(root, "filter"), *s = NULL;
        const char *v;

        if (!g)
                return;
        if (!config_setting_is_group(g)) {
                natgw_conf_type_error(ctx, g, "filter", "a group { forward = \"accept\" | \"drop\"; }");
                return;
        }
        ctx->entry = NULL;
        snprintf(ctx->label, sizeof(ctx->label), "filter");
        natgw_conf_check_keys(ctx, g, filter_keys);
        v = natgw_conf_get_string(ctx, g, "forward", false, &s);
        if (v) {
                c->filter.forward_line = natgw_conf_line(ctx, s);
                if (streq(v, "drop"))
                        c->filter.forward = NATGW_FILTER_DROP;
                else if (!streq(v, "accept"))
                        natgw_conf_error(ctx, s, "forward \"%s\" is not \"accept\" or \"drop\"", v);
        }
        ctx->label[0] = '\0';
}

/* ---- the model's answer ---- */

static bool rule_allows(const struct natgw_allow *a, uint8_t l4proto, const struct natgw_addr *daddr,
                        uint16_t dport) {
        bool ports = false, to = a->n_to == 0;

        if (a->protos & NATGW_PROTO_ALL)
                ports = false;
        else if ((a->protos & NATGW_PROTO_TCP && l4proto == IPPROTO_TCP) ||
                 (a->protos & NATGW_PROTO_UDP && l4proto == IPPROTO_UDP))
                ports = true;
        else if (!(a->protos & NATGW_PROTO_ICMP &&
                   l4proto == (daddr->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6)))
                return false;
        for (size_t i = 0; i < a->n_to && !to; i++)
                to = natgw_prefix_contains(&a->to[i], daddr);
        if (!to)
                return false;
        if (!ports || a->n_ports == 0)
                return true;
        for (size_t i = 0; i < a->n_ports; i++)
                if (a->ports[i].lo <= dport && dport <= a->ports[i].hi)
                        return true;
        return false;
}

bool natgw_egress_allows(const struct natgw_egress *e, uint8_t l4proto, const struct natgw_addr *daddr,
                         uint16_t dport) {
        if (!e->has_allow)
                return true;
        for (size_t i = 0; i < e->n_allow; i++)
                if (rule_allows(&e->allow[i], l4proto, daddr, dport))
                        return true;
        return false;
}

int natgw_config_egress_match(const struct natgw_config *c, const char *oifname, const struct natgw_addr *saddr) {
        int best = -ENOENT;
        unsigned best_len = 0;

        for (size_t i = 0; i < c->n_egress; i++) {
                const struct natgw_egress *e = &c->egress[i];

                if (!streq(e->out_interface, oifname))
                        continue;
                for (size_t s = 0; s < e->n_sources; s++)
                        if (natgw_prefix_contains(&e->sources[s], saddr) &&
                            (best < 0 || e->sources[s].len > best_len)) {
                                best = (int)i;
                                best_len = e->sources[s].len;
                        }
        }
        return best;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>

#include "ctl-proto.h"
#include "gw-diagnose.h"

static const char *const cause_names[NATGW_CAUSE_COUNT] = {
        [NATGW_CAUSE_OK] = "ok",
        [NATGW_CAUSE_NOT_APPLIED] = "not-applied",
        [NATGW_CAUSE_FORWARDING_DISABLED] = "forwarding-disabled",
        [NATGW_CAUSE_INTERFACE_MISSING] = "interface-missing",
        [NATGW_CAUSE_INTERFACE_DOWN] = "interface-down",
        [NATGW_CAUSE_NO_PUBLIC_ADDRESS] = "no-public-address",
        [NATGW_CAUSE_SOURCE_NOT_ALLOWED] = "source-not-allowed",
        [NATGW_CAUSE_REFLECTION_DISABLED] = "reflection-disabled",
        [NATGW_CAUSE_BLOCKED_BY_TABLE] = "blocked-by-table",
        [NATGW_CAUSE_TARGET_UNREACHABLE] = "target-unreachable",
        [NATGW_CAUSE_TARGET_NOT_LISTENING] = "target-not-listening",
        [NATGW_CAUSE_TARGET_FILTERED] = "target-filtered",
        [NATGW_CAUSE_REPLY_BYPASSES_GATEWAY] = "reply-bypasses-gateway",
        [NATGW_CAUSE_NO_TRAFFIC_ARRIVES] = "no-traffic-arrives",
};

const char *natgw_diag_cause_name(enum natgw_diag_cause c) {
        return (size_t)c < ELEMENTSOF(cause_names) ? cause_names[c] : NULL;
}

const char *natgw_diag_status_name(enum natgw_diag_status s) {
        static const char *const names[] = { "ok", "warn", "fail", "unknown" };

        return (size_t)s < ELEMENTSOF(names) ? names[s] : "?";
}

struct natgw_diag_layer *natgw_diag_layer_add(struct natgw_diag_report *r, const char *name) {
        struct natgw_diag_layer *l;

        if (r->n_layers >= ELEMENTSOF(r->layers))
                return NULL;
        l = &r->layers[r->n_layers++];
        *l = (struct natgw_diag_layer){ .name = name, .status = NATGW_DIAG_OK, .cause = NATGW_CAUSE_OK };
        return l;
}

/* @fmt formatted into @buf, cut to @size. vasprintf(), not vsnprintf(): clang's analyzer takes
 * the va_list for uninitialized in the latter. */
_printf_(3, 0) static void text_vset(char *buf, size_t size, const char *fmt, va_list ap) {
        _cleanup_(freep) char *s = NULL;

        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        snprintf(buf, size, "%s", s ?: "(out of memory)");
}

void natgw_diag_evidence(struct natgw_diag_layer *l, const char *fmt, ...) {
        va_list ap;

        if (l->n_evidence >= NATGW_DIAG_EVIDENCE_MAX)
                return;
        va_start(ap, fmt);
        text_vset(l->evidence[l->n_evidence++], NATGW_DIAG_TEXT_MAX, fmt, ap);
        va_end(ap);
}

void natgw_diag_fail(struct natgw_diag_layer *l, enum natgw_diag_cause cause, const char *fix_fmt, ...) {
        va_list ap;

        /* The first failure of a layer is the one that explains it: keep it. */
        if (l->status == NATGW_DIAG_FAIL)
                return;
        l->status = NATGW_DIAG_FAIL;
        l->cause = cause;
        va_start(ap, fix_fmt);
        text_vset(l->fix, sizeof(l->fix), fix_fmt, ap);
        va_end(ap);
}

void natgw_diag_mark(struct natgw_diag_layer *l, enum natgw_diag_status status, const char *fix_fmt, ...) {
        va_list ap;

        /* Severity only rises: fail > warn > unknown > ok. */
        if (l->status == NATGW_DIAG_FAIL || l->status == NATGW_DIAG_WARN ||
            (l->status == NATGW_DIAG_UNKNOWN && status != NATGW_DIAG_WARN))
                return;
        l->status = status;
        if (!fix_fmt)
                return;
        va_start(ap, fix_fmt);
        text_vset(l->fix, sizeof(l->fix), fix_fmt, ap);
        va_end(ap);
}

int natgw_diag_verdict(const struct natgw_diag_report *r, enum natgw_diag_cause *ret_cause) {
        for (size_t i = 0; i < r->n_layers; i++)
                if (r->layers[i].status == NATGW_DIAG_FAIL) {
                        *ret_cause = r->layers[i].cause;
                        return (int)i;
                }
        *ret_cause = NATGW_CAUSE_OK;
        return -1;
}

static json_t *layer_json(const struct natgw_diag_layer *l) {
        _cleanup_(json_decrefp) json_t *ev = json_array();

        for (size_t i = 0; ev && i < l->n_evidence; i++)
                if (json_array_append_new(ev, json_string(l->evidence[i])) < 0)
                        return NULL;
        if (!ev)
                return NULL;
        return json_pack("{s:s,s:s,s:O,s:s?}", "layer", l->name, "status", natgw_diag_status_name(l->status),
                         "evidence", ev, "fix", l->fix[0] ? l->fix : NULL);
}

json_t *natgw_diag_report_json(const struct natgw_diag_report *r) {
        _cleanup_(json_decrefp) json_t *layers = json_array();
        enum natgw_diag_cause cause;
        int i = natgw_diag_verdict(r, &cause);
        const struct natgw_diag_layer *l = i >= 0 ? &r->layers[i] : NULL;

        for (size_t k = 0; layers && k < r->n_layers; k++)
                if (json_array_append_new(layers, layer_json(&r->layers[k])) < 0)
                        return NULL;
        if (!layers)
                return NULL;
        return json_pack("{s:b,s:s,s:O,s:{s:s,s:s?,s:s?}}", "ok", cause == NATGW_CAUSE_OK, "subject", r->subject,
                         "layers", layers, "verdict", "cause", natgw_diag_cause_name(cause), "layer",
                         l ? l->name : NULL, "fix", l && l->fix[0] ? l->fix : NULL);
}

/* ---------------------------------------------------------------- the entry from `show` */

void natgw_diag_forward_clear(struct natgw_forward *f) {
        free(f->name);
        free(f->ports);
        free(f->allow_from);
        *f = (struct natgw_forward){};
}

int natgw_diag_parse_addr_port(const char *s, struct natgw_addr *ret_addr, struct natgw_port_range *ret_port,
                               bool *ret_has_port) {
        const char *port = NULL, *addr = s;
        size_t n;

        if (s[0] == '[') {
                const char *close = strchr(s, ']');

                if (!close)
                        return -EINVAL;
                addr = s + 1;
                n = (size_t)(close - addr);
                if (close[1] == ':')
                        port = close + 2;
                else if (close[1])
                        return -EINVAL;
        } else {
                const char *colon = strchr(s, ':');

                /* Bare IPv6 ("fd00::1") has more than one colon and no port. */
                if (colon && !strchr(colon + 1, ':'))
                        port = colon + 1;
                n = port ? (size_t)(colon - s) : strlen(s);
        }
        if (natgw_addr_parse_n(addr, n, ret_addr) < 0)
                return -EINVAL;
        *ret_has_port = port;
        if (port && natgw_port_parse(port, ret_port) < 0)
                return -EINVAL;
        return 0;
}

/* "A", "A:P", "A:P-Q", "[A6]", "[A6]:P", "[A6]:P-Q" as forward_to_json() writes them. */
static int parse_to(const char *s, struct natgw_forward *f) {
        bool has_port;

        if (natgw_diag_parse_addr_port(s, &f->to, &f->to_port, &has_port) < 0)
                return -EINVAL;
        if (!has_port)
                f->to_port_mode = NATGW_TO_PORT_KEEP;
        else
                f->to_port_mode = f->to_port.lo == f->to_port.hi ? NATGW_TO_PORT_SINGLE : NATGW_TO_PORT_RANGE;
        return 0;
}

static int parse_ports(const json_t *a, struct natgw_forward *f) {
        size_t i;
        json_t *v;

        if (!json_is_array(a) || json_array_size(a) == 0)
                return -EINVAL;
        f->ports = calloc(json_array_size(a), sizeof(*f->ports));
        if (!f->ports)
                return -ENOMEM;
        json_array_foreach(a, i, v) {
                char buf[NATGW_PORTS_STRLEN];

                if (json_is_integer(v))
                        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                else if (json_is_string(v))
                        snprintf(buf, sizeof(buf), "%s", json_string_value(v));
                else
                        return -EINVAL;
                if (natgw_port_parse(buf, &f->ports[f->n_ports++]) < 0)
                        return -EINVAL;
        }
        return 0;
}

static int parse_allow_from(const json_t *a, struct natgw_forward *f) {
        size_t i;
        json_t *v;

        if (!a)
                return 0;
        if (!json_is_array(a))
                return -EINVAL;
        f->allow_from = calloc(json_array_size(a) + 1, sizeof(*f->allow_from));
        if (!f->allow_from)
                return -ENOMEM;
        json_array_foreach(a, i, v)
                if (!json_is_string(v) || natgw_prefix_parse_loose(json_string_value(v), &f->allow_from[f->n_allow_from++]) < 0)
                        return -EINVAL;
        return 0;
}

/* Fills @f as far as it gets; the caller clears it on failure. */
static int forward_fill(const json_t *e, struct natgw_forward *f) {
        const char *name = json_string_value(json_object_get(e, "name")),
                   *proto = json_string_value(json_object_get(e, "proto")),
                   *to = json_string_value(json_object_get(e, "to")),
                   *iif = json_string_value(json_object_get(e, "in_interface")),
                   *dest = json_string_value(json_object_get(e, "destination"));
        int r;

        if (!name || !proto || !to || !streq(json_string_value(json_object_get(e, "kind")) ?: "", "forward"))
                return -EINVAL;
        f->name = strdup(name);
        if (!f->name)
                return -ENOMEM;
        f->line = (unsigned)json_integer_value(json_object_get(e, "line"));
        if (streq(proto, "tcp"))
                f->protos = NATGW_PROTO_TCP;
        else if (streq(proto, "udp"))
                f->protos = NATGW_PROTO_UDP;
        else if (streq(proto, "tcp+udp"))
                f->protos = NATGW_PROTO_TCP | NATGW_PROTO_UDP;
        else
                return -EINVAL;
        if (iif && strlen(iif) >= sizeof(f->in_interface))
                return -EINVAL;
        snprintf(f->in_interface, sizeof(f->in_interface), "%s", iif ?: "");
        if (parse_to(to, f) < 0)
                return -EINVAL;
        if (dest) {
                if (natgw_addr_parse(dest, &f->destination) < 0)
                        return -EINVAL;
                f->has_destination = true;
        }
        /* Absent: a natgwd from before reflection, which does not reflect. */
        f->reflection = json_is_true(json_object_get(e, "reflection"));
        r = parse_ports(json_object_get(e, "port"), f);
        if (r < 0)
                return r;
        return parse_allow_from(json_object_get(e, "allow_from"), f);
}

int natgw_diag_forward_from_json(const json_t *e, struct natgw_forward *ret) {
        struct natgw_forward f = {};
        int r;

        r = forward_fill(e, &f);
        if (r < 0) {
                natgw_diag_forward_clear(&f);
                return r;
        }
        *ret = f;
        return 0;
}

uint16_t natgw_diag_target_port(const struct natgw_forward *f) {
        return f->to_port_mode == NATGW_TO_PORT_KEEP ? f->ports[0].lo : f->to_port.lo;
}

bool natgw_diag_target_port_matches(const struct natgw_forward *f, uint16_t port) {
        if (f->to_port_mode != NATGW_TO_PORT_KEEP)
                return f->to_port.lo <= port && port <= f->to_port.hi;
        return natgw_diag_port_listed(f, port);
}

bool natgw_diag_port_listed(const struct natgw_forward *f, uint16_t port) {
        for (size_t i = 0; i < f->n_ports; i++)
                if (f->ports[i].lo <= port && port <= f->ports[i].hi)
                        return true;
        return false;
}

bool natgw_diag_allowed(const struct natgw_forward *f, const struct natgw_addr *from) {
        if (f->n_allow_from == 0)
                return true;
        for (size_t i = 0; i < f->n_allow_from; i++)
                if (natgw_prefix_contains(&f->allow_from[i], from))
                        return true;
        return false;
}

int natgw_diag_egress_match(const json_t *entries, const struct natgw_addr *from, const char *out_interface,
                            unsigned *ret_len) {
        int best = -1;
        unsigned best_len = 0;
        size_t i, k;
        json_t *e, *src;

        json_array_foreach(entries, i, e) {
                const char *kind = json_string_value(json_object_get(e, "kind")) ?: "",
                           *oif = json_string_value(json_object_get(e, "out_interface")) ?: "";

                if ((!streq(kind, "masquerade") && !streq(kind, "snat")) || (out_interface && !streq(oif, out_interface)))
                        continue;
                json_array_foreach(json_object_get(e, "source"), k, src) {
                        struct natgw_prefix p;

                        if (!json_is_string(src) || natgw_prefix_parse_loose(json_string_value(src), &p) < 0 ||
                            !natgw_prefix_contains(&p, from))
                                continue;
                        /* The most specific prefix wins, whatever the order (as the compiler decides). */
                        if (best < 0 || p.len > best_len) {
                                best = (int)i;
                                best_len = p.len;
                        }
                }
        }
        if (best >= 0 && ret_len)
                *ret_len = best_len;
        return best;
}

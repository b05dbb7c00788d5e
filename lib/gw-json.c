/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <time.h>

#include "conf.h"
#include "ctl-proto.h"
#include "gw-json.h"
#include "nft.h"

void natgw_reload_record_clear(struct natgw_reload_record *r) {
        natgw_errors_clear(&r->errors);
        *r = (struct natgw_reload_record){};
}

static json_t *prefixes_json(const struct natgw_prefix *p, size_t n) {
        _cleanup_(json_decrefp) json_t *a = json_array();
        char buf[NATGW_PREFIX_STRLEN];

        for (size_t i = 0; a && i < n; i++)
                if (json_array_append_new(a, json_string(natgw_prefix_format(&p[i], buf, sizeof(buf)))) < 0)
                        return NULL;
        return TAKE_PTR(a);
}

/* Helper bits as a list of their names. */
static json_t *helpers_json(unsigned helpers) {
        _cleanup_(json_decrefp) json_t *a = json_array();

        for (size_t i = 0; a && i < ELEMENTSOF(natgw_helpers); i++)
                if ((helpers & (1u << i)) && json_array_append_new(a, json_string(natgw_helpers[i].name)) < 0)
                        return NULL;
        return TAKE_PTR(a);
}

/* {"name", "kind", "line", ...the entry's settings...}; NULL when out of memory. */
static json_t *egress_to_json(const struct natgw_egress *e) {
        char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN], to[2 * INET6_ADDRSTRLEN + 2];
        bool snat = e->kind == NATGW_EGRESS_SNAT, one = natgw_addr_cmp(&e->to_lo, &e->to_hi) == 0;

        /* snat only: "A", or "A-B" for a pool. */
        if (snat)
                snprintf(to, sizeof(to), "%s%s%s", natgw_addr_format(&e->to_lo, lo, sizeof(lo)), one ? "" : "-",
                         one ? "" : natgw_addr_format(&e->to_hi, hi, sizeof(hi)));
        return json_pack("{s:s,s:s,s:I,s:o*,s:s,s:s*,s:o*}", "name", e->name, "kind", snat ? "snat" : "masquerade",
                         "line", (json_int_t)e->line, "source", prefixes_json(e->sources, e->n_sources),
                         "out_interface", e->out_interface, "to", snat ? to : NULL, "helpers",
                         e->helpers ? helpers_json(e->helpers) : NULL);
}

/* A port as a number, a range as "A-B". */
static json_t *ports_json(const struct natgw_port_range *p, size_t n) {
        _cleanup_(json_decrefp) json_t *a = json_array();

        for (size_t i = 0; a && i < n; i++)
                if (json_array_append_new(a, p[i].lo == p[i].hi ? json_integer(p[i].lo)
                                                                : json_sprintf("%u-%u", p[i].lo, p[i].hi)) < 0)
                        return NULL;
        return TAKE_PTR(a);
}

static const char *protos_name(unsigned protos) {
        if (protos == (NATGW_PROTO_TCP | NATGW_PROTO_UDP))
                return "tcp+udp";
        return protos & NATGW_PROTO_TCP ? "tcp" : "udp";
}

static json_t *forward_to_json(const struct natgw_forward *f) {
        char a[INET6_ADDRSTRLEN], dest[INET6_ADDRSTRLEN], to[INET6_ADDRSTRLEN + 16];
        bool v6 = f->to.family == AF_INET6;

        natgw_addr_format(&f->to, a, sizeof(a));
        switch (f->to_port_mode) {
        case NATGW_TO_PORT_KEEP:
                snprintf(to, sizeof(to), "%s", a);
                break;
        case NATGW_TO_PORT_SINGLE:
                snprintf(to, sizeof(to), v6 ? "[%s]:%u" : "%s:%u", a, f->to_port.lo);
                break;
        case NATGW_TO_PORT_RANGE:
                snprintf(to, sizeof(to), v6 ? "[%s]:%u-%u" : "%s:%u-%u", a, f->to_port.lo, f->to_port.hi);
                break;
        }
        /* The optional keys only when the entry has them. */
        return json_pack("{s:s,s:s,s:I,s:s,s:o*,s:s,s:s*,s:s*,s:o*,s:b,s:s*}", "name", f->name, "kind", "forward", "line",
                         (json_int_t)f->line, "proto", protos_name(f->protos), "port", ports_json(f->ports, f->n_ports),
                         "to", to, "in_interface", f->in_interface[0] ? f->in_interface : NULL, "destination",
                         f->has_destination ? natgw_addr_format(&f->destination, dest, sizeof(dest)) : NULL,
                         "allow_from", f->n_allow_from > 0 ? prefixes_json(f->allow_from, f->n_allow_from) : NULL,
                         "reflection", (int)f->reflection, "helper",
                         f->helper ? natgw_helpers[__builtin_ctz(f->helper)].name : NULL);
}

static json_t *netmap_to_json(const struct natgw_netmap *nm) {
        char in[NATGW_PREFIX_STRLEN], out[NATGW_PREFIX_STRLEN];

        return json_pack("{s:s,s:s,s:I,s:s,s:s,s:s}", "name", nm->name, "kind", "netmap", "line", (json_int_t)nm->line,
                         "interface", nm->interface, "inside", natgw_prefix_format(&nm->inside, in, sizeof(in)),
                         "outside", natgw_prefix_format(&nm->outside, out, sizeof(out)));
}

static int counter_cmp(const void *a, const void *b) {
        return strcmp(((const struct natgw_counter *)a)->name, ((const struct natgw_counter *)b)->name);
}

static const struct natgw_counter *find_counter(const char *name, const struct natgw_counter *counters, size_t n) {
        struct natgw_counter key = { .name = (char *)name };

        /* No counters at all (the table is gone) come as NULL, which bsearch() must not get. */
        return n > 0 ? bsearch(&key, counters, n, sizeof(*counters), counter_cmp) : NULL;
}

/* The entry's connection counter ("connections", "bytes": of first packets) and its traffic
 * counter ("traffic_bytes", "traffic_packets": every packet, both directions). */
static int add_counter(json_t *j, const char *name, const struct natgw_counter *counters, size_t n) {
        const struct natgw_counter *c = find_counter(name, counters, n), *t;
        char traffic[96];

        snprintf(traffic, sizeof(traffic), NATGW_BYTES_COUNTER_PREFIX "%s", name);
        t = find_counter(traffic, counters, n);
        if (json_object_set_new(j, "connections", c ? json_integer((json_int_t)c->packets) : json_null()) < 0 ||
            json_object_set_new(j, "bytes", c ? json_integer((json_int_t)c->bytes) : json_null()) < 0 ||
            json_object_set_new(j, "traffic_bytes", t ? json_integer((json_int_t)t->bytes) : json_null()) < 0 ||
            json_object_set_new(j, "traffic_packets", t ? json_integer((json_int_t)t->packets) : json_null()) < 0)
                return -ENOMEM;
        return 0;
}

/* The packets of counter @name as JSON, null when the kernel has none of that name. */
static json_t *packets_json(const char *name, const struct natgw_counter *counters, size_t n) {
        const struct natgw_counter *c = find_counter(name, counters, n);

        return c ? json_integer((json_int_t)c->packets) : json_null();
}

/* Entry @i of @c (egress entries, then forwards, then netmaps) with its counters: one element of
 * show's "entries". */
static json_t *show_entry_json(const struct natgw_config *c, size_t i, const struct natgw_counter *counters,
                               size_t n_counters) {
        _cleanup_(json_decrefp) json_t *e = i < c->n_egress ? egress_to_json(&c->egress[i])
                                            : i < c->n_egress + c->n_forwards
                                                    ? forward_to_json(&c->forwards[i - c->n_egress])
                                                    : netmap_to_json(&c->netmaps[i - c->n_egress - c->n_forwards]);
        char name[96];

        if (!e || add_counter(e, json_string_value(json_object_get(e, "name")), counters, n_counters) < 0)
                return NULL;
        /* Packets an allow list denied (new connections, and their retries). */
        if (i < c->n_egress && c->egress[i].has_allow) {
                snprintf(name, sizeof(name), NATGW_DENIED_COUNTER_PREFIX "%s", c->egress[i].name);
                if (json_object_set_new(e, "denied", packets_json(name, counters, n_counters)) < 0)
                        return NULL;
        }
        return TAKE_PTR(e);
}

/* A text that grows: show's reply. */
struct text {
        char *s;
        size_t len, cap;
};

static int text_add(struct text *t, const char *s, size_t n) {
        if (t->len + n + 1 > t->cap) {
                size_t cap = MAX(MAX(t->cap * 2, t->len + n + 1), (size_t)4096);
                char *p = realloc(t->s, cap);

                if (!p)
                        return -ENOMEM;
                t->s = p;
                t->cap = cap;
        }
        memcpy(t->s + t->len, s, n);
        t->len += n;
        t->s[t->len] = '\0';
        return 0;
}

/* @j as natgw_ctl_reply_format() writes it, appended; without its first and last byte with @trim
 * (the braces of an object that is a part of another). */
static int text_add_json(struct text *t, const json_t *j, bool trim) {
        _cleanup_(freep) char *s = j ? json_dumps(j, NATGW_CTL_JSON_FLAGS) : NULL;
        size_t n;

        if (!s)
                return -ENOMEM;
        n = strlen(s);
        if (trim && n < 2)
                return -EINVAL;
        return trim ? text_add(t, s + 1, n - 2) : text_add(t, s, n);
}

/* The name of entry @i of @c (egress entries, then forwards, then netmaps). */
static const char *entry_name(const struct natgw_config *c, size_t i) {
        return i < c->n_egress                    ? c->egress[i].name
               : i < c->n_egress + c->n_forwards ? c->forwards[i - c->n_egress].name
                                                  : c->netmaps[i - c->n_egress - c->n_forwards].name;
}

char *natgw_show_format(const struct natgw_config *c, struct natgw_counter *counters, size_t n_counters,
                        const char *only, size_t *ret_len) {
        size_t n = c->n_egress + c->n_forwards + c->n_netmaps;
        _cleanup_(json_decrefp) json_t *head = NULL, *tail = NULL;
        struct text t = {};
        int r;

        if (n_counters > 0)
                qsort(counters, n_counters, sizeof(*counters), counter_cmp);
        head = json_pack("{s:b,s:s}", "ok", 1, "config", c->path);
        tail = json_pack("{s:s,s:o}", "filter_forward", c->filter.forward == NATGW_FILTER_DROP ? "drop" : "accept",
                         "forward_dropped",
                         c->filter.forward == NATGW_FILTER_DROP
                                 ? packets_json(NATGW_FILTER_COUNTER, counters, n_counters)
                                 : json_null());
        /* {"ok":true,"config":PATH,"entries":[E,E,...],"filter_forward":...,"forward_dropped":...}
         * and a newline; each entry is built, written and freed in turn: as one tree, 50,000
         * entries took about 130 MB (the text is 16 MB). */
        r = text_add(&t, "{", 1);
        if (r >= 0)
                r = text_add_json(&t, head, true);
        if (r >= 0)
                r = text_add(&t, ",\"entries\":[", strlen(",\"entries\":["));
        for (size_t i = 0, k = 0; r >= 0 && i < n; i++) {
                _cleanup_(json_decrefp) json_t *e = NULL;

                if (only && !streq(entry_name(c, i), only))
                        continue;
                e = show_entry_json(c, i, counters, n_counters);
                if (k++ > 0)
                        r = text_add(&t, ",", 1);
                if (r >= 0)
                        r = e ? text_add_json(&t, e, false) : -ENOMEM;
        }
        if (r >= 0)
                r = text_add(&t, "],", 2);
        if (r >= 0)
                r = text_add_json(&t, tail, true);
        if (r >= 0)
                r = text_add(&t, "}\n", 2);
        if (r < 0) {
                free(t.s);
                return NULL;
        }
        if (ret_len)
                *ret_len = t.len;
        return t.s;
}

json_t *natgw_check_json(const char *path, int r, const struct natgw_check_result *res,
                         const struct natgw_errors *errors) {
        if (r < 0)
                return json_pack("{s:b,s:s,s:s,s:o*}", "ok", 0, "error", "invalid", "config", path, "errors",
                                 natgw_ctl_errors_to_json(errors));
        return json_pack("{s:b,s:s,s:I,s:I,s:I,s:I,s:b,s:f,s:o*}", "ok", 1, "config", path, "egress",
                         (json_int_t)res->egress, "forwards", (json_int_t)res->forwards, "netmaps",
                         (json_int_t)res->netmaps, "map_elements",
                         (json_int_t)res->map_elements, "kernel", res->kernel, "kernel_ms",
                         (double)res->kernel_usec / 1000.0, "warnings", natgw_ctl_errors_to_json(errors));
}

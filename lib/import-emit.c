/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The printer of natgwctl import: groups the converted rules as natgwd groups them, names the
 * entries and prints the config, every entry after a comment with the rules it came from. The
 * output depends only on the rules and their order: the same dump gives the same bytes.
 */

#include <sys/socket.h>

#include "import-rule.h"

#define NAME_MAX_LEN 64                /* natgwd.conf(5): 1 to 64 characters */
#define NAME_ROOM (NAME_MAX_LEN - 8) /* room for a "-NNN" that makes a name unique */

struct names {
        char **v;
        size_t n, cap;
};

static void names_done(struct names *ns) {
        for (size_t i = 0; i < ns->n; i++)
                free(ns->v[i]);
        free(ns->v);
}

static bool name_taken(const struct names *ns, const char *s) {
        for (size_t i = 0; i < ns->n; i++)
                if (streq(ns->v[i], s))
                        return true;
        return false;
}

static bool name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_';
}

/* "PREFIX[-COMMENT]" with what natgwd does not take in names as "-", unique in @ns. */
static const char *name_make(struct names *ns, const char *prefix, const char *comment) {
        char base[NAME_MAX_LEN + 1], name[NAME_MAX_LEN + 1];
        const char *parts[] = { prefix, comment };
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                if (!parts[i] || !*parts[i])
                        continue;
                if (n > 0 && n < NAME_ROOM)
                        base[n++] = '-';
                for (const char *s = parts[i]; *s && n < NAME_ROOM; s++) {
                        char c = *s;

                        if (!name_char(c))
                                c = '-';

                        if (c != '-' || (n > 0 && base[n - 1] != '-'))
                                base[n++] = c;
                }
        }
        while (n > 1 && base[n - 1] == '-')
                n--;
        if (n == 0)
                base[n++] = 'x';
        base[n] = 0;
        snprintf(name, sizeof(name), "%s", base);
        for (unsigned i = 2; name_taken(ns, name); i++)
                snprintf(name, sizeof(name), "%s-%u", base, i);
        if (GROW(ns->v, ns->cap, ns->n + 1) < 0 || !(ns->v[ns->n] = strdup(name)))
                return NULL;
        return ns->v[ns->n++];
}

static const char *first_comment(const struct imp_origins *o) {
        for (size_t i = 0; i < o->n; i++)
                if (o->v[i]->comment && *o->v[i]->comment)
                        return o->v[i]->comment;
        return NULL;
}

/* A string as libconfig reads it back. */
static void put_string(FILE *f, const char *s) {
        fputc('"', f);
        for (; *s; s++) {
                if (*s == '"' || *s == '\\')
                        fputc('\\', f);
                fputc(*s, f);
        }
        fputc('"', f);
}

static void put_origins(FILE *f, const struct imp_origins *o) {
        for (size_t i = 0; i < o->n; i++) {
                fprintf(f, "  # line %u: ", o->v[i]->line);
                for (const char *s = o->v[i]->text; *s; s++)
                        fputc((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f ? '?' : *s, f);
                fputc('\n', f);
        }
}

static void put_prefixes(FILE *f, const struct natgw_prefix *v, size_t n) {
        char buf[NATGW_PREFIX_STRLEN];

        if (n == 1) {
                put_string(f, natgw_prefix_format(&v[0], buf, sizeof(buf)));
                return;
        }
        fputs("[ ", f);
        for (size_t i = 0; i < n; i++) {
                fputs(i ? ", " : "", f);
                put_string(f, natgw_prefix_format(&v[i], buf, sizeof(buf)));
        }
        fputs(" ]", f);
}

/* ---------------------------------------------------------------- egress */

static bool allow_equal(const struct natgw_allow *a, const struct natgw_allow *b) {
        if (a->protos != b->protos || a->n_to != b->n_to || a->n_ports != b->n_ports)
                return false;
        for (size_t i = 0; i < a->n_to; i++)
                if (natgw_prefix_cmp(&a->to[i], &b->to[i]) != 0)
                        return false;
        for (size_t i = 0; i < a->n_ports; i++)
                if (a->ports[i].lo != b->ports[i].lo || a->ports[i].hi != b->ports[i].hi)
                        return false;
        return true;
}

/* The same filter (from the FORWARD chain): no allow list, or the same list, deny and log. */
static bool egress_same_filter(const struct natgw_egress *a, const struct natgw_egress *b) {
        if (a->has_allow != b->has_allow)
                return false;
        if (!a->has_allow)
                return true;
        if (a->n_allow != b->n_allow || a->deny != b->deny || a->log_denied != b->log_denied)
                return false;
        for (size_t i = 0; i < a->n_allow; i++)
                if (!allow_equal(&a->allow[i], &b->allow[i]))
                        return false;
        return true;
}

static bool egress_same_group(const struct natgw_egress *a, const struct natgw_egress *b) {
        return a->kind == b->kind && streq(a->out_interface, b->out_interface) && egress_same_filter(a, b) &&
               (a->kind == NATGW_EGRESS_MASQUERADE ||
                (natgw_addr_cmp(&a->to_lo, &b->to_lo) == 0 && natgw_addr_cmp(&a->to_hi, &b->to_hi) == 0));
}

/* One entry per (kind, out interface, pool): the sources of all its rules together. */
static int egress_group(struct imp_output *o) {
        size_t n = 0;

        for (size_t i = 0; i < o->n_egress; i++) {
                struct imp_egress_item *it = &o->egress[i];
                size_t g = 0;

                while (g < n && !egress_same_group(&o->egress[g].e, &it->e))
                        g++;
                if (g == n) {
                        o->egress[n++] = *it;
                        continue;
                }
                for (size_t j = 0; j < it->e.n_sources; j++)
                        if (imp_prefix_add(&o->egress[g].e.sources, &o->egress[g].e.n_sources, &it->e.sources[j]) < 0)
                                return -ENOMEM;
                for (size_t j = 0; j < it->from.n; j++)
                        if (imp_origins_add(&o->egress[g].from, it->from.v[j]) < 0)
                                return -ENOMEM;
                imp_egress_item_done(it);
        }
        o->n_egress = n;
        return 0;
}

static void put_ports(FILE *f, const struct natgw_port_range *v, size_t n);

/* An egress entry's allow list (from the FORWARD chain), its deny and log_denied. */
static void put_allow(FILE *f, const struct natgw_egress *e) {
        static const struct {
                unsigned protos;
                const char *name;
        } protos[] = { { NATGW_PROTO_TCP, "tcp" },   { NATGW_PROTO_UDP, "udp" },
                       { NATGW_PROTO_TCP | NATGW_PROTO_UDP, "tcp+udp" }, { NATGW_PROTO_ICMP, "icmp" } };

        fputs(";\n    allow = (", f);
        for (size_t i = 0; i < e->n_allow; i++) {
                const struct natgw_allow *a = &e->allow[i];
                const char *sep = " ";

                fputs(i ? ",\n              {" : " {", f);
                if (a->n_to) {
                        fputs(" to = ", f);
                        put_prefixes(f, a->to, a->n_to);
                        sep = "; ";
                }
                for (size_t j = 0; j < ELEMENTSOF(protos); j++)
                        if (a->protos == protos[j].protos) {
                                fprintf(f, "%sproto = \"%s\"", sep, protos[j].name);
                                sep = "; ";
                        }
                if (a->n_ports) {
                        fprintf(f, "%sport = ", sep);
                        put_ports(f, a->ports, a->n_ports);
                        sep = "; ";
                }
                fputs(streq(sep, " ") ? "}" : "; }", f);
        }
        fputs(" )", f);
        if (e->deny == NATGW_DENY_REJECT)
                fputs("; deny = \"reject\"", f);
        if (e->log_denied)
                fputs("; log_denied = true", f);
}

static void put_egress(FILE *f, struct imp_output *o, enum natgw_egress_kind kind, struct names *ns) {
        bool first = true;
        char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

        for (size_t i = 0; i < o->n_egress; i++) {
                const struct natgw_egress *e = &o->egress[i].e;

                if (e->kind != kind)
                        continue;
                fprintf(f, "%s", first ? (kind == NATGW_EGRESS_SNAT ? "\nsnat = (\n" : "\nmasquerade = (\n") : ",\n");
                first = false;
                put_origins(f, &o->egress[i].from);
                fputs("  { name = ", f);
                put_string(f, e->name);
                fputs("; source = ", f);
                put_prefixes(f, e->sources, e->n_sources);
                fputs("; out_interface = ", f);
                put_string(f, e->out_interface);
                if (kind == NATGW_EGRESS_SNAT) {
                        natgw_addr_format(&e->to_lo, a, sizeof(a));
                        natgw_addr_format(&e->to_hi, b, sizeof(b));
                        if (natgw_addr_cmp(&e->to_lo, &e->to_hi) == 0)
                                fprintf(f, "; to = \"%s\"", a);
                        else
                                fprintf(f, "; to = \"%s-%s\"", a, b);
                }
                if (e->has_allow)
                        put_allow(f, e);
                fputs("; }", f);
        }
        if (!first)
                fputs("\n);\n", f);
}

/* ---------------------------------------------------------------- forwards */

static bool prefixes_equal(const struct natgw_prefix *a, size_t na, const struct natgw_prefix *b, size_t nb) {
        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++) {
                bool found = false;

                for (size_t j = 0; j < nb && !found; j++)
                        found = natgw_prefix_cmp(&a[i], &b[j]) == 0;
                if (!found)
                        return false;
        }
        return true;
}

/* Forwards that can be one natgwd entry but for their protocols and ports. */
static bool forward_same_group(const struct natgw_forward *a, const struct natgw_forward *b) {
        if (!streq(a->in_interface, b->in_interface) || natgw_addr_cmp(&a->to, &b->to) != 0 ||
            a->to_port_mode != b->to_port_mode || a->has_destination != b->has_destination ||
            (a->has_destination && natgw_addr_cmp(&a->destination, &b->destination) != 0) ||
            !prefixes_equal(a->allow_from, a->n_allow_from, b->allow_from, b->n_allow_from))
                return false;
        if (a->to_port_mode == NATGW_TO_PORT_KEEP)
                return true;
        if (a->to_port.lo != b->to_port.lo || a->to_port.hi != b->to_port.hi)
                return false;
        /* A range maps one port range: the same one, or the entries stay apart. */
        return a->to_port_mode == NATGW_TO_PORT_SINGLE ||
               (a->ports[0].lo == b->ports[0].lo && a->ports[0].hi == b->ports[0].hi);
}

/* The runs of ports whose mask is @want, as ranges. */
static int ports_of(const uint8_t *mask, unsigned want, struct natgw_port_range **v, size_t *n) {
        for (unsigned p = 1; p <= 65535; p++) {
                unsigned q = p;

                if (mask[p] != want)
                        continue;
                while (q < 65535 && mask[q + 1] == want)
                        q++;
                if (imp_ports_add(v, n, (struct natgw_port_range) { (uint16_t)p, (uint16_t)q }) < 0)
                        return -ENOMEM;
                p = q;
        }
        return 0;
}

/*
 * The items of one group split by protocol: the ports only TCP forwards, only UDP, and both
 * (those become tcp+udp), each an entry of its own, appended to @res.
 */
static int forward_split(struct imp_forward_item *items, const size_t *members, size_t n_members,
                         struct imp_output *res) {
        static const unsigned masks[] = { NATGW_PROTO_TCP, NATGW_PROTO_UDP, NATGW_PROTO_TCP | NATGW_PROTO_UDP };
        _cleanup_(freep) uint8_t *mask = calloc(65536, 1);
        const struct natgw_forward *f0 = &items[members[0]].f;

        if (!mask)
                return -ENOMEM;
        for (size_t i = 0; i < n_members; i++) {
                const struct natgw_forward *f = &items[members[i]].f;

                for (size_t j = 0; j < f->n_ports; j++)
                        for (unsigned p = f->ports[j].lo; p <= f->ports[j].hi; p++)
                                mask[p] |= (uint8_t)f->protos;
        }
        for (size_t m = 0; m < ELEMENTSOF(masks); m++) {
                _cleanup_(imp_forward_item_done) struct imp_forward_item it = { .f = *f0 };

                it.f.name = NULL;
                it.f.ports = NULL;
                it.f.n_ports = 0;
                it.f.allow_from = NULL;
                it.f.n_allow_from = 0;
                it.f.protos = masks[m];
                if (ports_of(mask, masks[m], &it.f.ports, &it.f.n_ports) < 0)
                        return -ENOMEM;
                if (!it.f.n_ports)
                        continue;
                for (size_t i = 0; i < f0->n_allow_from; i++)
                        if (imp_prefix_add(&it.f.allow_from, &it.f.n_allow_from, &f0->allow_from[i]) < 0)
                                return -ENOMEM;
                for (size_t i = 0; i < n_members; i++) {
                        const struct imp_forward_item *src = &items[members[i]];
                        bool shares = false;

                        for (size_t j = 0; j < src->f.n_ports && !shares; j++)
                                for (unsigned p = src->f.ports[j].lo; p <= src->f.ports[j].hi && !shares; p++)
                                        shares = mask[p] == masks[m];
                        for (size_t j = 0; shares && j < src->from.n; j++)
                                if (imp_origins_add(&it.from, src->from.v[j]) < 0)
                                        return -ENOMEM;
                }
                if (GROW(res->forwards, res->cap_forwards, res->n_forwards + 1) < 0)
                        return -ENOMEM;
                /* cppcheck-suppress unreadVariable ; TAKE_STRUCT leaves it zeroed for its _cleanup_ */
                res->forwards[res->n_forwards++] = TAKE_STRUCT(it);
        }
        return 0;
}

static int forward_group(struct imp_output *o) {
        _cleanup_(freep) size_t *members = calloc(o->n_forwards + 1, sizeof(size_t));
        _cleanup_(freep) bool *done = calloc(o->n_forwards + 1, sizeof(bool));
        struct imp_output res = {};
        int k = 0;

        if (!members || !done)
                return -ENOMEM;
        for (size_t i = 0; i < o->n_forwards && k >= 0; i++) {
                size_t n = 0;

                if (done[i])
                        continue;
                for (size_t j = i; j < o->n_forwards; j++)
                        if (!done[j] && forward_same_group(&o->forwards[i].f, &o->forwards[j].f)) {
                                members[n++] = j;
                                done[j] = true;
                        }
                k = forward_split(o->forwards, members, n, &res);
        }
        for (size_t i = 0; i < o->n_forwards; i++)
                imp_forward_item_done(&o->forwards[i]);
        free(o->forwards);
        o->forwards = res.forwards;
        o->n_forwards = res.n_forwards;
        o->cap_forwards = res.cap_forwards;
        return k;
}

static bool forwards_overlap(const struct natgw_forward *a, const struct natgw_forward *b) {
        if (a->to.family != b->to.family || !(a->protos & b->protos))
                return false;
        if (*a->in_interface && *b->in_interface && !streq(a->in_interface, b->in_interface))
                return false;
        if (a->has_destination && b->has_destination && natgw_addr_cmp(&a->destination, &b->destination) != 0)
                return false;
        for (size_t i = 0; i < a->n_ports; i++)
                for (size_t j = 0; j < b->n_ports; j++)
                        if (a->ports[i].lo <= b->ports[j].hi && b->ports[j].lo <= a->ports[i].hi)
                                return true;
        return false;
}

/* natgwd refuses forwards that overlap (they differ only by allow_from, say): keep the first. */
static int forward_drop_overlaps(struct imp_output *o, const char *name, struct natgw_errors *problems) {
        size_t n = 0;

        for (size_t i = 0; i < o->n_forwards; i++) {
                struct imp_forward_item *it = &o->forwards[i];
                size_t j = 0;

                while (j < n && !forwards_overlap(&o->forwards[j].f, &it->f))
                        j++;
                if (j == n) {
                        o->forwards[n++] = *it;
                        continue;
                }
                for (size_t r = 0; r < it->from.n; r++)
                        if (natgw_errors_add(problems, name, it->from.v[r]->line, NULL,
                                             "shares ports with line %u, and natgwd forwards must not overlap "
                                             "(natgwd does not tell forwards apart by source)",
                                             o->forwards[j].from.v[0]->line) < 0)
                                return -ENOMEM;
                imp_forward_item_done(it);
        }
        o->n_forwards = n;
        return 0;
}

static void put_ports(FILE *f, const struct natgw_port_range *v, size_t n) {
        char buf[NATGW_PORTS_STRLEN];
        bool ranges = false;

        for (size_t i = 0; i < n; i++)
                ranges |= v[i].lo != v[i].hi;
        if (n == 1 && !ranges) {
                fprintf(f, "%u", v[0].lo);
                return;
        }
        if (n == 1) {
                put_string(f, natgw_ports_format(&v[0], buf, sizeof(buf)));
                return;
        }
        /* A libconfig array holds one type: numbers alone in [ ], with ranges a ( ) list. */
        fputs(ranges ? "( " : "[ ", f);
        for (size_t i = 0; i < n; i++) {
                fputs(i ? ", " : "", f);
                if (v[i].lo == v[i].hi)
                        fprintf(f, "%u", v[i].lo);
                else
                        put_string(f, natgw_ports_format(&v[i], buf, sizeof(buf)));
        }
        fputs(ranges ? " )" : " ]", f);
}

static void put_forward(FILE *f, const struct imp_forward_item *it, bool first) {
        const struct natgw_forward *fw = &it->f;
        char a[INET6_ADDRSTRLEN], p[NATGW_PORTS_STRLEN];
        bool v6 = fw->to.family == AF_INET6;

        fputs(first ? "\nforward = (\n" : ",\n", f);
        put_origins(f, &it->from);
        fputs("  { name = ", f);
        put_string(f, fw->name);
        if (*fw->in_interface) {
                fputs("; in_interface = ", f);
                put_string(f, fw->in_interface);
        }
        fprintf(f, "; proto = \"%s\"; port = ",
                fw->protos == (NATGW_PROTO_TCP | NATGW_PROTO_UDP) ? "tcp+udp" : fw->protos == NATGW_PROTO_TCP ? "tcp" : "udp");
        put_ports(f, fw->ports, fw->n_ports);
        fprintf(f, "; to = \"%s%s%s", v6 ? "[" : "", natgw_addr_format(&fw->to, a, sizeof(a)), v6 ? "]" : "");
        if (fw->to_port_mode != NATGW_TO_PORT_KEEP)
                fprintf(f, ":%s", natgw_ports_format(&fw->to_port, p, sizeof(p)));
        fputc('"', f);
        if (fw->has_destination)
                fprintf(f, "; destination = \"%s\"", natgw_addr_format(&fw->destination, a, sizeof(a)));
        if (fw->n_allow_from) {
                fputs("; allow_from = ", f);
                put_prefixes(f, fw->allow_from, fw->n_allow_from);
        }
        /* A saved ruleset's DNAT does not reflect (no SNAT for inside clients): the same here. */
        fputs("; reflection = false; }", f);
}

/* ---------------------------------------------------------------- the file */

static int name_all(struct imp_output *o, struct names *ns) {
        char prefix[IFNAMSIZ + 16];

        for (size_t i = 0; i < o->n_egress; i++) {
                struct natgw_egress *e = &o->egress[i].e;
                const char *n;

                snprintf(prefix, sizeof(prefix), "%s-%s", e->kind == NATGW_EGRESS_SNAT ? "snat" : "masq",
                         e->out_interface);
                n = name_make(ns, prefix, first_comment(&o->egress[i].from));
                if (!n || !(e->name = strdup(n)))
                        return -ENOMEM;
        }
        for (size_t i = 0; i < o->n_forwards; i++) {
                struct natgw_forward *f = &o->forwards[i].f;
                const char *n;

                snprintf(prefix, sizeof(prefix), "%s-%u", o->forwards[i].from.v[0]->target == IMP_T_REDIRECT ?
                         "redirect" : "dnat", f->ports[0].lo);
                n = name_make(ns, prefix, first_comment(&o->forwards[i].from));
                if (!n || !(f->name = strdup(n)))
                        return -ENOMEM;
        }
        return 0;
}

static int name_netmaps(struct imp_output *o, struct names *ns) {
        char prefix[IFNAMSIZ + 16];

        for (size_t i = 0; i < o->n_netmaps; i++) {
                struct natgw_netmap *nm = &o->netmaps[i].nm;
                const char *n;

                snprintf(prefix, sizeof(prefix), "netmap-%s", nm->interface);
                n = name_make(ns, prefix, first_comment(&o->netmaps[i].from));
                if (!n || !(nm->name = strdup(n)))
                        return -ENOMEM;
        }
        return 0;
}

static void put_netmaps(FILE *f, const struct imp_output *o) {
        char a[NATGW_PREFIX_STRLEN];

        for (size_t i = 0; i < o->n_netmaps; i++) {
                const struct natgw_netmap *nm = &o->netmaps[i].nm;

                fputs(i == 0 ? "\nnetmap = (\n" : ",\n", f);
                put_origins(f, &o->netmaps[i].from);
                fputs("  { name = ", f);
                put_string(f, nm->name);
                fputs("; interface = ", f);
                put_string(f, nm->interface);
                fprintf(f, "; inside = \"%s\"", natgw_prefix_format(&nm->inside, a, sizeof(a)));
                fprintf(f, "; outside = \"%s\"; }", natgw_prefix_format(&nm->outside, a, sizeof(a)));
        }
        if (o->n_netmaps)
                fputs("\n);\n", f);
}

static bool any_ipv6(const struct imp_output *o) {
        for (size_t i = 0; i < o->n_egress; i++)
                for (size_t j = 0; j < o->egress[i].e.n_sources; j++)
                        if (o->egress[i].e.sources[j].addr.family == AF_INET6)
                                return true;
        for (size_t i = 0; i < o->n_forwards; i++)
                if (o->forwards[i].f.to.family == AF_INET6)
                        return true;
        for (size_t i = 0; i < o->n_netmaps; i++)
                if (o->netmaps[i].nm.inside.addr.family == AF_INET6)
                        return true;
        return false;
}

int imp_emit(struct imp_output *o, const char *name, const char *from_what, char **ret_text,
             struct natgw_errors *problems) {
        _cleanup_(names_done) struct names ns = {};
        _cleanup_(freep) char *text = NULL;
        size_t size = 0;
        bool drop = false;
        FILE *f;
        int k;

        /* Before the grouping: an allow list is of the rules whose sources it filters. */
        k = imp_filter(o, name, problems, &drop);
        if (k >= 0)
                k = egress_group(o);
        if (k >= 0)
                k = forward_group(o);
        if (k >= 0)
                k = forward_drop_overlaps(o, name, problems);
        if (k >= 0)
                k = name_all(o, &ns);
        if (k >= 0)
                k = name_netmaps(o, &ns);
        if (k < 0)
                return k;
        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "# natgwd config made by natgwctl import from %s: %zu entr%s.\n"
                   "# Each entry follows the rules it came from; what was left out is on natgwctl's standard error.\n"
                   "%s"
                   "version = 1;\n", from_what, o->n_egress + o->n_forwards + o->n_netmaps,
                o->n_egress + o->n_forwards + o->n_netmaps == 1 ? "y" : "ies",
                o->n_forwards == 0 ? ""
                        : "# Forwards say reflection = false, as the dump's DNAT does not reflect: delete it to let\n"
                          "# inside clients reach a forward by the public address (natgwd.conf(5), reflection).\n");
        if (drop)
                fprintf(f, "\n# The FORWARD chain's %s (line %u): what no entry below accepts is dropped.\n"
                           "filter = { forward = \"drop\"; };\n", o->drop_line ? "catch-all DROP" : "policy DROP",
                        o->drop_line ? o->drop_line : o->filter4 ? o->filter4->line : o->filter6->line);
        /* The dump translated IPv6, so the gateway forwards IPv6. */
        if (any_ipv6(o))
                fputs("\nkernel = { ipv6_forward = true; };\n", f);
        put_egress(f, o, NATGW_EGRESS_MASQUERADE, &ns);
        put_egress(f, o, NATGW_EGRESS_SNAT, &ns);
        for (size_t i = 0; i < o->n_forwards; i++)
                put_forward(f, &o->forwards[i], i == 0);
        if (o->n_forwards)
                fputs("\n);\n", f);
        put_netmaps(f, o);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret_text = TAKE_PTR(text);
        return 0;
}

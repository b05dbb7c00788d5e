/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The converter: walks PREROUTING and POSTROUTING of each family as the kernel would (rules in
 * order, jumps into user chains with the jump's matches added, RETURN and ACCEPT ending what
 * follows for the packets they match) and turns each NAT rule into a natgwd entry. natgwd has
 * no rule order: a rule is converted only when no earlier rule of its hook takes any of its
 * packets differently, except where natgwd's own precedence (the most specific egress source
 * wins) gives the same answer. Everything else is reported with its line and why.
 */

#include <sys/socket.h>

#include "import-rule.h"

/* Rules walked in all: chains jumped to from many places are walked once per jump, so a small
 * dump could otherwise expand without end (2 jumps a level, 32 levels). */
#define MAX_VISITS 1000000

/* What an earlier rule of the hook decided for the packets it matched. */
struct prior {
        struct imp_match m;
        const struct imp_rule *rule;
        bool converted; /* a NAT rule that became an entry */
        unsigned frame; /* RETURN: the depth whose end lifts it; 0: until the hook ends */
};

struct conv {
        const char *name;
        struct imp_ruleset *rs;
        struct natgw_errors *problems;
        struct imp_output *out;
        enum imp_hook hook;
        int family;
        struct prior *prior;
        size_t n_prior, cap_prior;
        size_t visits;
};

int imp_origins_add(struct imp_origins *o, const struct imp_rule *r) {
        for (size_t i = 0; i < o->n; i++)
                if (o->v[i] == r)
                        return 0;
        if (GROW(o->v, o->cap, o->n + 1) < 0) /* NOLINT(bugprone-sizeof-expression): an array of pointers */
                return -ENOMEM;
        o->v[o->n++] = r;
        return 0;
}

static void egress_done(struct natgw_egress *e) {
        for (size_t i = 0; i < e->n_allow; i++)
                imp_allow_done(&e->allow[i]);
        free(e->allow);
        free(e->name);
        free(e->sources);
        *e = (struct natgw_egress) {};
}

static void forward_done(struct natgw_forward *f) {
        free(f->name);
        free(f->ports);
        free(f->allow_from);
        *f = (struct natgw_forward) {};
}

void imp_egress_item_done(struct imp_egress_item *it) {
        egress_done(&it->e);
        free(it->from.v);
        it->from = (struct imp_origins) {};
}

void imp_forward_item_done(struct imp_forward_item *it) {
        forward_done(&it->f);
        free(it->from.v);
        it->from = (struct imp_origins) {};
}

void imp_output_done(struct imp_output *o) {
        for (size_t i = 0; i < o->n_egress; i++)
                imp_egress_item_done(&o->egress[i]);
        for (size_t i = 0; i < o->n_forwards; i++)
                imp_forward_item_done(&o->forwards[i]);
        for (size_t i = 0; i < o->n_netmaps; i++)
                imp_netmap_item_done(&o->netmaps[i]);
        for (size_t i = 0; i < o->n_made; i++) {
                imp_match_done(&o->made[i]->m);
                free(o->made[i]);
        }
        free(o->egress);
        free(o->forwards);
        free(o->netmaps);
        free(o->made);
        *o = (struct imp_output) {};
}

#define report(cv, r, ...) imp_report((cv)->problems, (cv)->name, (r), __VA_ARGS__)
#define note imp_note

/* ---------------------------------------------------------------- rules into entries */

static bool same_outcome(const struct imp_rule *a, const struct imp_rule *b) {
        return a->target == b->target && a->has_to == b->has_to &&
               (!a->has_to || (natgw_addr_cmp(&a->to_lo, &b->to_lo) == 0 && natgw_addr_cmp(&a->to_hi, &b->to_hi) == 0)) &&
               a->has_to_ports == b->has_to_ports &&
               (!a->has_to_ports || (a->to_ports.lo == b->to_ports.lo && a->to_ports.hi == b->to_ports.hi)) &&
               a->to_base == b->to_base;
}

static const char *neg_name(unsigned neg) {
        return neg & IMP_NEG_IIF ? "in interface" : neg & IMP_NEG_OIF ? "out interface" : neg & IMP_NEG_SRC ? "source"
                : neg & IMP_NEG_DST ? "destination" : neg & IMP_NEG_PROTO ? "protocol" : "port";
}

static int to_egress(struct conv *cv, struct imp_rule *r, const struct imp_match *m) {
        _cleanup_(egress_done) struct natgw_egress e = {};
        struct imp_egress_item *it;
        char a[NATGW_PORTS_STRLEN];

        if (!*m->oif)
                return report(cv, r, "no out interface (-o): natgwd egress entries name theirs");
        if (m->n_dst || m->dst_local)
                return report(cv, r, "destination match: natgwd egress entries match sources only");
        if (m->protos || m->other_proto || m->n_dports)
                return report(cv, r, "protocol or port match: natgwd egress entries translate every protocol");
        if (r->target == IMP_T_SNAT && !r->has_to)
                return report(cv, r, "SNAT to ports only: natgwd's snat needs an address");
        if (r->target == IMP_T_SNAT && r->to_lo.family != cv->family)
                return report(cv, r, "SNAT to an address of the other family");
        e.kind = r->target == IMP_T_SNAT ? NATGW_EGRESS_SNAT : NATGW_EGRESS_MASQUERADE;
        snprintf(e.out_interface, sizeof(e.out_interface), "%s", m->oif);
        e.to_lo = r->to_lo;
        e.to_hi = r->to_hi;
        e.line = r->line;
        for (size_t i = 0; i < m->n_src; i++)
                if (imp_prefix_add(&e.sources, &e.n_sources, &m->src[i]) < 0)
                        return -ENOMEM;
        if (!m->n_src) {
                struct natgw_prefix any = { .addr.family = cv->family };

                if (imp_prefix_add(&e.sources, &e.n_sources, &any) < 0)
                        return -ENOMEM;
        }
        if (r->has_to_ports &&
            note(cv, r, "source ports %s not kept: natgwd keeps a connection's source port where it is free",
                 natgw_ports_format(&r->to_ports, a, sizeof(a))) < 0)
                return -ENOMEM;
        if (GROW(cv->out->egress, cv->out->cap_egress, cv->out->n_egress + 1) < 0)
                return -ENOMEM;
        it = &cv->out->egress[cv->out->n_egress];
        *it = (struct imp_egress_item) { .e = TAKE_STRUCT(e) };
        cv->out->n_egress++;
        return imp_origins_add(&it->from, r);
}

/* The target port of a forward, as natgwd says it: kept, one port, or a range one to one. */
static int forward_ports(struct conv *cv, struct imp_rule *r, struct natgw_forward *f) {
        const struct natgw_port_range *p = &r->to_ports;
        unsigned width;

        if (!r->has_to_ports) {
                f->to_port_mode = NATGW_TO_PORT_KEEP;
                return 1;
        }
        if (p->lo == p->hi) {
                f->to_port_mode = NATGW_TO_PORT_SINGLE;
                f->to_port = *p;
                return 1;
        }
        /* A range: the kernel keeps a port that lies inside it, and gives any other the first
         * free one of it, unless /BASE maps them one to one. */
        if (f->n_ports == 1 && !r->to_base && f->ports[0].lo >= p->lo && f->ports[0].hi <= p->hi) {
                f->to_port_mode = NATGW_TO_PORT_KEEP;
                return 1;
        }
        if (!r->to_base || f->n_ports != 1 || f->ports[0].lo != r->to_base)
                return report(cv, r, "target port range %u-%u%s: the kernel gives each connection a free "
                              "port of it; natgwd maps ports one to one (ADDR:A-B/BASE with BASE the first port)",
                              p->lo, p->hi, r->to_base ? " with another BASE" : "");
        width = natgw_ports_width(&f->ports[0]);
        if ((unsigned)p->lo + width - 1 > p->hi)
                return report(cv, r, "target port range %u-%u is narrower than the ports it maps", p->lo, p->hi);
        f->to_port_mode = NATGW_TO_PORT_RANGE;
        f->to_port = (struct natgw_port_range) { p->lo, (uint16_t)(p->lo + width - 1) };
        return 1;
}

static int to_forward(struct conv *cv, struct imp_rule *r, const struct imp_match *m) {
        _cleanup_(forward_done) struct natgw_forward f = {};
        struct imp_forward_item *it;
        int k;

        if (m->other_proto || !m->protos)
                return report(cv, r, "%s: natgwd forwards TCP and UDP ports (1:1 NAT of whole addresses both "
                              "ways is a netmap entry, which NETMAP rules become)",
                              m->other_proto ? "a protocol other than TCP and UDP" : "every protocol (no -p)");
        if (m->n_dst > 1 || (m->n_dst == 1 && m->dst[0].len != (m->dst[0].addr.family == AF_INET ? 32u : 128u)))
                return report(cv, r, "destination prefix or list: natgwd's destination is one address");
        if (r->target == IMP_T_REDIRECT) {
                if (m->n_dst != 1)
                        return report(cv, r, "REDIRECT without -d ADDR: natgwd forwards to an address, "
                                      "REDIRECT to whichever address the in interface has");
                r->to_lo = r->to_hi = m->dst[0].addr;
        } else if (!r->has_to)
                return report(cv, r, "DNAT to ports only: natgwd forwards to an address");
        else if (natgw_addr_cmp(&r->to_lo, &r->to_hi) != 0)
                return report(cv, r, "DNAT to an address range: natgwd forwards to one address");
        if (r->to_lo.family != cv->family)
                return report(cv, r, "DNAT to an address of the other family");
        f.line = r->line;
        snprintf(f.in_interface, sizeof(f.in_interface), "%s", m->iif);
        f.protos = m->protos;
        f.to = r->to_lo;
        for (size_t i = 0; i < m->n_dports; i++)
                if (imp_ports_add(&f.ports, &f.n_ports, m->dports[i]) < 0)
                        return -ENOMEM;
        if (!f.n_ports && imp_ports_add(&f.ports, &f.n_ports, (struct natgw_port_range) { 1, 65535 }) < 0)
                return -ENOMEM;
        k = forward_ports(cv, r, &f);
        if (k <= 0)
                return k;
        if (m->n_dst) {
                f.has_destination = true;
                f.destination = m->dst[0].addr;
        }
        for (size_t i = 0; i < m->n_src; i++)
                if (imp_prefix_add(&f.allow_from, &f.n_allow_from, &m->src[i]) < 0)
                        return -ENOMEM;
        if (GROW(cv->out->forwards, cv->out->cap_forwards, cv->out->n_forwards + 1) < 0)
                return -ENOMEM;
        it = &cv->out->forwards[cv->out->n_forwards];
        *it = (struct imp_forward_item) { .f = TAKE_STRUCT(f) };
        cv->out->n_forwards++;
        return imp_origins_add(&it->from, r);
}

/* ---------------------------------------------------------------- the walk */

static int push_prior(struct conv *cv, const struct imp_match *m, const struct imp_rule *r, bool converted,
                      unsigned frame) {
        struct prior *p;

        if (GROW(cv->prior, cv->cap_prior, cv->n_prior + 1) < 0)
                return -ENOMEM;
        p = &cv->prior[cv->n_prior];
        *p = (struct prior) { .rule = r, .converted = converted, .frame = frame };
        if (imp_match_copy(m, &p->m) < 0)
                return -ENOMEM;
        cv->n_prior++;
        return 0;
}

static const char *verdict_name(const struct imp_rule *r) {
        static const char *const names[] = {
                [IMP_T_MASQUERADE] = "MASQUERADE", [IMP_T_SNAT] = "SNAT",     [IMP_T_DNAT] = "DNAT",
                [IMP_T_REDIRECT] = "REDIRECT",     [IMP_T_NETMAP] = "NETMAP", [IMP_T_RETURN] = "RETURN",
                [IMP_T_ACCEPT] = "ACCEPT",         [IMP_T_GOTO] = "goto",
        };

        return r->target < ELEMENTSOF(names) && names[r->target] ? names[r->target] : "a verdict";
}

/* How a report names an earlier rule: "line 8 (DNAT)", "line 20 (RETURN, not expressible)". */
static void prior_label(const struct prior *p, char *buf, size_t size) {
        bool nat = p->rule->target != IMP_T_RETURN && p->rule->target != IMP_T_ACCEPT &&
                   p->rule->target != IMP_T_GOTO;

        snprintf(buf, size, "line %u (%s%s)", p->rule->line, verdict_name(p->rule),
                 p->rule->why ? ", not expressible" : nat && !p->converted ? ", left out" : "");
}

/*
 * Whether an earlier rule takes some of @m's packets otherwise than @r would: 1 when @r is
 * reported (left out), 0 when it may be converted; 2 when an earlier rule does exactly the same
 * for all of them (nothing to add); 3 when earlier rules take all of them (reported). An earlier rule natgwd cannot express matched less than
 * what was read of it, so it is never said to take all.
 */
static int check_prior(struct conv *cv, struct imp_rule *r, const struct imp_match *m) {
        bool egress = r->target == IMP_T_MASQUERADE || r->target == IMP_T_SNAT;
        char label[64];

        for (size_t i = 0; i < cv->n_prior; i++) {
                const struct prior *p = &cv->prior[i];
                bool same = p->converted && same_outcome(p->rule, r);
                int k;

                if (!imp_match_intersects(&p->m, m))
                        continue;
                prior_label(p, label, sizeof(label));
                if (!p->rule->why && imp_match_covered(m, &p->m)) {
                        if (same)
                                return 2;
                        k = report(cv, r, "never matches: %s takes all of its packets first", label);
                        return k < 0 ? k : 3;
                }
                /* natgwd's most specific source wins: an earlier, narrower egress rule keeps its packets. */
                if (same || (egress && p->converted && imp_match_covered(&p->m, m)))
                        continue;
                k = report(cv, r, "%s takes some of its packets first; natgwd has no rule order to express that",
                           label);
                return k < 0 ? k : 1;
        }
        return 0;
}

static int nat_rule(struct conv *cv, struct imp_rule *r, const struct imp_match *m, const struct imp_rule *via) {
        bool egress = r->target == IMP_T_MASQUERADE || r->target == IMP_T_SNAT;
        size_t n_eg = cv->out->n_egress, n_fw = cv->out->n_forwards;
        bool netmap = false;
        const char *why;
        int k;

        if (via)
                k = report(cv, r, "reached through the jump at line %u, which cannot be expressed", via->line);
        else if (r->why)
                k = report(cv, r, "%s", r->why);
        else if (cv->hook == IMP_HOOK_OUTPUT || cv->hook == IMP_HOOK_INPUT)
                k = report(cv, r, "nat %s: connections of the gateway itself; natgwd has no equivalent",
                           cv->hook == IMP_HOOK_OUTPUT ? "OUTPUT" : "INPUT");
        else if (m->neg)
                k = report(cv, r, "negated %s match (! or !=): natgwd cannot express it", neg_name(m->neg));
        else if (r->target == IMP_T_NETMAP && (why = imp_netmap_why(r, m, cv->hook == IMP_HOOK_PREROUTING)))
                k = report(cv, r, "%s", why);
        else if (r->target == IMP_T_NETMAP) {
                /* Before any rule that takes some of its packets, as natgwd's netmap is. */
                k = check_prior(cv, r, m);
                if (k == 2)
                        return note(cv, r, "does what an earlier rule does: nothing to add");
                if (k == 3)
                        return 0;
                if (k == 0) {
                        k = imp_netmap_add(cv->out, r, m, cv->hook == IMP_HOOK_PREROUTING);
                        netmap = k >= 0;
                }
        }
        else if (egress != (cv->hook == IMP_HOOK_POSTROUTING))
                k = report(cv, r, "%s in the wrong chain", verdict_name(r));
        else {
                k = egress ? to_egress(cv, r, m) : to_forward(cv, r, m);
                if (k >= 0 && (cv->out->n_egress != n_eg || cv->out->n_forwards != n_fw)) {
                        k = check_prior(cv, r, m);
                        /* Taken first by an earlier rule, or nothing to add: the entry goes again. */
                        if (k > 0 && egress)
                                imp_egress_item_done(&cv->out->egress[--cv->out->n_egress]);
                        else if (k > 0)
                                imp_forward_item_done(&cv->out->forwards[--cv->out->n_forwards]);
                        /* Nothing to add, or a rule that never matches: it takes nothing from the
                         * rules after it. */
                        if (k == 2)
                                return note(cv, r, "does what an earlier rule does: nothing to add");
                        if (k == 3)
                                return 0;
                        if (k == 0 && r->random)
                                k = note(cv, r, "--random, --random-fully, --persistent: dropped (natgwd uses the "
                                         "kernel's default choice)");
                }
        }
        if (k < 0)
                return k;
        return push_prior(cv, m, r, netmap || cv->out->n_egress != n_eg || cv->out->n_forwards != n_fw, 0);
}

static void pop_frame(struct conv *cv, unsigned depth) {
        size_t j = 0;

        for (size_t i = 0; i < cv->n_prior; i++) {
                if (cv->prior[i].frame == depth && depth > 0) {
                        imp_match_done(&cv->prior[i].m);
                        continue;
                }
                cv->prior[j++] = cv->prior[i];
        }
        cv->n_prior = j;
}

/* Recursive into the chains a rule jumps to: bounded by IMP_JUMP_DEPTH_MAX, a jump back into a chain being
 * walked is refused, and MAX_VISITS bounds the whole walk. */
static int walk(struct conv *cv, struct imp_chain *c, /* NOLINT(misc-no-recursion): bounded, above */
                const struct imp_match *ctx, const struct imp_rule *via, unsigned depth) {
        for (size_t i = 0; i < c->n_rules; i++) {
                struct imp_rule *r = &c->rules[i];
                _cleanup_(imp_match_done) struct imp_match m = {};
                struct imp_chain *sub;
                int k;

                if (++cv->visits > MAX_VISITS)
                        return -E2BIG;
                k = imp_match_and(ctx, &r->m, &m);
                if (k == -EOPNOTSUPP) {
                        k = report(cv, r, "a negated match meets the same field of the jump that leads here");
                        if (k < 0)
                                return k;
                        continue;
                }
                if (k < 0)
                        return k;
                if (k == 0)
                        continue; /* the jump's matches exclude every packet of this rule */
                switch (r->target) {
                case IMP_T_NONE:
                        if (r->why && (k = report(cv, r, "%s", r->why)) < 0)
                                return k;
                        break;
                case IMP_T_JUMP:
                case IMP_T_GOTO:
                        sub = imp_chain_find(cv->rs, r->jump, c->family, false);
                        if (!sub || sub->hook != IMP_HOOK_NONE || depth >= IMP_JUMP_DEPTH_MAX || sub->walking) {
                                k = report(cv, r, "jump to %s: %s", r->jump,
                                           !sub ? "no such chain" : depth >= IMP_JUMP_DEPTH_MAX ? "jumps nest too deep"
                                           : sub->walking ? "a loop" : "a base chain");
                                if (k < 0)
                                        return k;
                                break;
                        }
                        if (r->why && !via && (k = report(cv, r, "%s", r->why)) < 0)
                                return k;
                        sub->walking = true;
                        k = walk(cv, sub, &m, via ? via : r->why ? r : NULL, depth + 1);
                        sub->walking = false;
                        pop_frame(cv, depth + 1);
                        if (k < 0)
                                return k;
                        /* After a goto, the packets it matched never come back to this chain. */
                        if (r->target == IMP_T_GOTO && push_prior(cv, &m, r, false, depth) < 0)
                                return -ENOMEM;
                        break;
                case IMP_T_RETURN:
                case IMP_T_ACCEPT:
                        if (r->why && (k = report(cv, r, "%s", r->why)) < 0)
                                return k;
                        if (push_prior(cv, &m, r, false, r->target == IMP_T_RETURN ? depth : 0) < 0)
                                return -ENOMEM;
                        break;
                case IMP_T_OTHER:
                        if ((k = report(cv, r, "%s", r->why ? r->why : "no equivalent")) < 0)
                                return k;
                        if (push_prior(cv, &m, r, false, 0) < 0)
                                return -ENOMEM;
                        break;
                default:
                        if ((k = nat_rule(cv, r, &m, via)) < 0)
                                return k;
                        break;
                }
        }
        return 0;
}

static int hook_walk(struct conv *cv, struct imp_chain *c) {
        struct imp_match any = {};
        int k;

        cv->hook = c->hook;
        cv->family = c->family;
        if (c->policy_drop) {
                k = natgw_errors_add(cv->problems, cv->name, c->line, NULL,
                                     "policy DROP of nat %s: natgwd does not drop in NAT", c->name);
                if (k < 0)
                        return k;
        }
        k = walk(cv, c, &any, NULL, 0);
        for (size_t i = 0; i < cv->n_prior; i++)
                imp_match_done(&cv->prior[i].m);
        cv->n_prior = 0;
        return k;
}

int imp_convert(struct imp_ruleset *rs, const char *name, const char *from_what, char **ret_text,
                struct natgw_errors *problems) {
        _cleanup_(imp_output_done) struct imp_output out = { .rs = rs };
        struct conv cv = { .name = name, .rs = rs, .problems = problems, .out = &out };
        static const enum imp_hook order[] = { IMP_HOOK_PREROUTING, IMP_HOOK_POSTROUTING, IMP_HOOK_OUTPUT,
                                               IMP_HOOK_INPUT };
        int k = 0;

        /* The FORWARD chains of the filter table: one a family (imp_filter() in the printer). */
        for (size_t i = 0; i < rs->n_chains && k >= 0; i++) {
                struct imp_chain *c = &rs->chains[i], **slot = c->family == AF_INET6 ? &out.filter6 : &out.filter4;

                if (!c->filter || c->hook != IMP_HOOK_FORWARD)
                        continue;
                if (!*slot) {
                        *slot = c;
                        continue;
                }
                k = natgw_errors_add(problems, name, c->line, NULL, "a second FORWARD chain of the family (the "
                                     "first is at line %u): natgwd has one filter; its rules are left out",
                                     (*slot)->line);
                for (size_t j = 0; j < c->n_rules && k >= 0; j++)
                        k = natgw_errors_add(problems, name, c->rules[j].line, NULL,
                                             "in a second FORWARD chain (line %u): left out", c->line);
        }
        for (size_t h = 0; h < ELEMENTSOF(order) && k >= 0; h++)
                for (size_t i = 0; i < rs->n_chains && k >= 0; i++)
                        if (rs->chains[i].hook == order[h])
                                k = hook_walk(&cv, &rs->chains[i]);
        free(cv.prior);
        /* A NETMAP whose other direction never came: the entry would add it. */
        for (size_t i = 0; i < out.n_netmaps && k >= 0; i++) {
                const char *lacks = NULL;
                struct imp_rule *r = imp_netmap_missing(&out.netmaps[i], &lacks);

                if (r)
                        k = report(&cv, r, "NETMAP of one direction only: a natgwd netmap translates both ways, "
                                   "and no %s NETMAP of the same interface and prefixes makes the other", lacks);
        }
        imp_netmap_prune(&out);
        if (k < 0)
                return k;
        return imp_emit(&out, name, from_what, ret_text, problems);
}

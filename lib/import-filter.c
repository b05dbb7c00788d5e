/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The filter table's FORWARD chain (iptables-save *filter, an nft filter chain of hook forward)
 * as natgwd's filter (natgwd.conf(5), FILTER and EGRESS ALLOW LISTS). natgwd's model of a
 * forwarded packet, policy drop: established and related packets pass, connections a forward
 * translated pass, an egress entry's new connections out of its interface pass as its allow
 * list says, the rest is dropped; policy accept: only the allow lists deny. A chain is
 * converted when it says exactly that:
 *   - the ESTABLISHED,RELATED accept (first, unrestricted) and the DNAT accept are implied;
 *   - an ACCEPT of -s SOURCES -o OUT, whose sources are exactly those of egress entries of OUT,
 *     accepts those entries (unrestricted) or becomes a rule of their allow lists (with -d, -p,
 *     --dport); a DROP or REJECT of the same shape closes the lists (deny = "reject"), a LOG
 *     just before it is log_denied;
 *   - an ACCEPT of a forward's target (-d ADDR, its translated ports) accepts that forward;
 *   - a catch-all DROP or REJECT at the end is the policy.
 * Everything else is reported, with the rules after it that share packets with it: the config
 * never allows more, nor less, than the chain without a report saying so.
 */

#include <stdarg.h>
#include <sys/socket.h>

#include "import-rule.h"

struct entry_state {
        bool full;   /* an ACCEPT takes every new connection of the entry */
        const struct imp_rule *full_iface; /* ... of those arriving by one interface (interface_accept()) */
        bool closed; /* a DROP/REJECT of its sources came: later ACCEPTs never match */
        bool reject, log;
        struct natgw_allow *allow;
        size_t n_allow, cap_allow;
};

struct rule_list {
        const struct imp_rule **v;
        size_t n, cap;
};

struct fwalk {
        struct imp_output *o;
        const char *name;
        struct natgw_errors *problems;
        struct imp_chain *c;
        int family;
        bool drop;          /* the policy is DROP, or a catch-all DROP/REJECT ends the chain */
        bool est;           /* the ESTABLISHED,RELATED accept came */
        bool dnat_all;      /* --ctstate DNAT -j ACCEPT */
        char dnat_iif[IFNAMSIZ];
        bool log_all;       /* a catch-all LOG before the catch-all DROP */
        bool left_out;      /* the chain as a whole cannot be converted (reported) */
        const struct imp_rule *end;        /* the catch-all DROP/REJECT */
        const struct imp_rule *first_drop; /* the first DROP/REJECT */
        const struct imp_rule *log;        /* a LOG waiting for its DROP */
        struct entry_state *es;  /* one per o->egress */
        struct rule_list accepts; /* ACCEPTs of forwards' targets */
        struct rule_list bad;     /* reported rules: a later rule sharing packets is reported too */
        struct rule_list taken;   /* rules converted (left out again with the chain) */
        struct rule_list plain;   /* policy ACCEPT: ACCEPTs that are no allow rule */
        struct rule_list rets;    /* RETURNs of the user chains being walked: the rest of those
                                   * chains does not see the packets they match */
        const struct imp_rule *via; /* walking a user chain: the jump that led into it */
        const char *via_chain;      /* ... and the chain's name */
};

static int push(struct rule_list *l, const struct imp_rule *r) {
        if (GROW(l->v, l->cap, l->n + 1) < 0) /* NOLINT(bugprone-sizeof-expression): an array of pointers */
                return -ENOMEM;
        l->v[l->n++] = r;
        return 0;
}

/*
 * Report @r as left out; a later rule sharing packets with it is reported too (fw->bad). A rule
 * of a user chain says which jump took FORWARD's packets to it: the reasons speak of FORWARD.
 */
static int report(struct fwalk *fw, struct imp_rule *r, const char *fmt, ...) _printf_(3, 4);
static int report(struct fwalk *fw, struct imp_rule *r, const char *fmt, ...) {
        _cleanup_(freep) char *why = NULL;
        va_list ap;
        int k;

        if (push(&fw->bad, r) < 0)
                return -ENOMEM;
        va_start(ap, fmt);
        k = vasprintf(&why, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        if (fw->via)
                return imp_report(fw->problems, fw->name, r, "%s (chain %s, reached by the jump at line %u)", why,
                                  fw->via_chain, fw->via->line);
        return imp_report(fw->problems, fw->name, r, "%s", why);
}
#define note imp_note

static int taken(struct fwalk *fw, const struct imp_rule *r) {
        return push(&fw->taken, r);
}

static bool catch_all(const struct imp_match *m) {
        return !*m->iif && !*m->oif && !m->n_src && !m->n_dst && !m->protos && !m->other_proto && !m->n_dports &&
               !m->dst_local && !m->ct && !m->neg;
}

static bool match_equal(const struct imp_match *a, const struct imp_match *b) {
        return a->ct == b->ct && a->other_proto == b->other_proto && a->icmp == b->icmp && a->neg == b->neg &&
               a->dst_local == b->dst_local && streq(a->iif, b->iif) && streq(a->oif, b->oif) &&
               (a->other_proto || (imp_match_covered(a, b) && imp_match_covered(b, a))) &&
               imp_pl_covered(a->src, a->n_src, b->src, b->n_src) && imp_pl_covered(b->src, b->n_src, a->src, a->n_src);
}

/* Every source of the entry is of the chain's family. */
static bool entry_of_family(const struct natgw_egress *e, int family) {
        for (size_t i = 0; i < e->n_sources; i++)
                if (e->sources[i].addr.family != family)
                        return false;
        return e->n_sources > 0;
}

/*
 * The egress entries an "-s SOURCES -o OUT" rule is about, marked in @hit: 1 when the rule's
 * sources are exactly the sources of those entries (each entry's all inside them, each of
 * them inside an entry); 0 when no entry of OUT shares a source (*why NULL) or they do not
 * line up (*why says how).
 */
static int egress_hits(const struct fwalk *fw, const struct imp_match *m, bool *hit, const char **why) {
        const struct imp_output *o = fw->o;
        bool any = false;

        *why = NULL;
        for (size_t i = 0; i < o->n_egress; i++) {
                const struct natgw_egress *e = &o->egress[i].e;

                hit[i] = streq(e->out_interface, m->oif) && imp_pl_intersects(e->sources, e->n_sources, m->src, m->n_src);
                if (!hit[i])
                        continue;
                any = true;
                if (!entry_of_family(e, fw->family)) {
                        *why = "its egress entry has sources of both families: natgwd's allow list would apply to both";
                        return 0;
                }
                if (!imp_pl_covered(e->sources, e->n_sources, m->src, m->n_src)) {
                        *why = "its sources are part of an egress entry's: natgwd's allow list is the whole entry's";
                        return 0;
                }
        }
        if (!any)
                return 0;
        for (size_t j = 0; j < m->n_src; j++) {
                bool in = false;

                for (size_t i = 0; i < o->n_egress && !in; i++)
                        in = hit[i] && imp_pl_covered(&m->src[j], 1, o->egress[i].e.sources, o->egress[i].e.n_sources);
                if (!in) {
                        *why = "some of its sources are in no egress entry of its out interface: natgwd's filter "
                               "accepts an egress entry's sources only";
                        return 0;
                }
        }
        for (size_t i = 0; i < o->n_netmaps; i++)
                if (streq(o->netmaps[i].nm.interface, m->oif) && imp_pl_intersects(&o->netmaps[i].nm.inside, 1, m->src, m->n_src)) {
                        *why = "a netmap's inside hosts are among its sources: natgwd's netmap accepts them first";
                        return 0;
                }
        return 1;
}

/* The packets of egress entry @e going out (a match). */
static void entry_match(struct natgw_egress *e, struct imp_match *ret) {
        *ret = (struct imp_match) { .src = e->sources, .n_src = e->n_sources };
        snprintf(ret->oif, sizeof(ret->oif), "%s", e->out_interface);
}

/* The forward's translated packets (of protocol @proto) as they cross FORWARD; @dst the space for
 * its target. The out interface is @oif: an ACCEPT's -o is taken as the route to the target. */
static void forward_match(struct natgw_forward *f, unsigned proto, const char *oif, struct natgw_prefix *dst,
                          struct imp_match *ret) {
        bool keep = f->to_port_mode == NATGW_TO_PORT_KEEP;

        *dst = (struct natgw_prefix) { .addr = f->to, .len = f->to.family == AF_INET ? 32 : 128 };
        *ret = (struct imp_match) { .src = f->allow_from, .n_src = f->n_allow_from, .dst = dst, .n_dst = 1,
                                    .protos = proto, .dports = keep ? f->ports : &f->to_port,
                                    .n_dports = keep ? f->n_ports : 1 };
        snprintf(ret->iif, sizeof(ret->iif), "%s", f->in_interface);
        snprintf(ret->oif, sizeof(ret->oif), "%s", oif);
}

/* Whether some forward's translated packets share a packet with @m. */
static bool hits_forward(const struct fwalk *fw, const struct imp_match *m) {
        for (size_t i = 0; i < fw->o->n_forwards; i++) {
                struct natgw_forward *f = &fw->o->forwards[i].f;
                struct natgw_prefix dst;
                struct imp_match x;

                if (f->to.family != fw->family)
                        continue;
                forward_match(f, f->protos, m->oif, &dst, &x);
                if (imp_match_intersects(&x, m))
                        return true;
        }
        return false;
}

/* Every destination of @m is the target of a forward (an ACCEPT of forwarded connections). */
static bool forward_targets(const struct fwalk *fw, const struct imp_match *m) {
        if (!m->n_dst || m->ct & ~IMP_CT_NEW)
                return false;
        for (size_t j = 0; j < m->n_dst; j++) {
                bool found = false;

                for (size_t i = 0; i < fw->o->n_forwards && !found; i++) {
                        const struct natgw_forward *f = &fw->o->forwards[i].f;

                        found = f->to.family == m->dst[j].addr.family &&
                                m->dst[j].len == (f->to.family == AF_INET ? 32u : 128u) &&
                                natgw_addr_cmp(&f->to, &m->dst[j].addr) == 0;
                }
                if (!found)
                        return false;
        }
        return true;
}

static int allow_from_rule(const struct imp_rule *r, struct natgw_allow *a) {
        const struct imp_match *m = &r->m;

        *a = (struct natgw_allow) { .line = r->line,
                                    .protos = m->protos ? m->protos : m->icmp ? NATGW_PROTO_ICMP : NATGW_PROTO_ALL };
        for (size_t i = 0; i < m->n_dst; i++)
                if (imp_prefix_add(&a->to, &a->n_to, &m->dst[i]) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < m->n_dports; i++)
                if (imp_ports_add(&a->ports, &a->n_ports, m->dports[i]) < 0)
                        return -ENOMEM;
        return 0;
}

/* An ACCEPT of -s SOURCES -o OUT whose sources line up with egress entries (@hit). */
static int egress_accept(struct fwalk *fw, struct imp_rule *r, const bool *hit) {
        const struct imp_match *m = &r->m;
        bool restricted = m->n_dst || m->protos || m->other_proto || m->n_dports;

        if (m->other_proto && !m->icmp)
                return report(fw, r, "a protocol other than tcp, udp and icmp: natgwd's allow rules take only those");
        for (size_t i = 0; i < fw->o->n_egress; i++) {
                struct entry_state *es = &fw->es[i];

                if (!hit[i])
                        continue;
                if (es->closed || es->full) {
                        int k = note(fw, r, "never matches: an earlier rule takes every new connection of the "
                                     "sources of line %u", fw->o->egress[i].from.v[0]->line);

                        if (k < 0)
                                return k;
                        continue;
                }
                if (imp_origins_add(&fw->o->egress[i].from, r) < 0)
                        return -ENOMEM;
                if (!restricted) {
                        es->full = true;
                        continue;
                }
                if (GROW(es->allow, es->cap_allow, es->n_allow + 1) < 0)
                        return -ENOMEM;
                if (allow_from_rule(r, &es->allow[es->n_allow]) < 0) {
                        imp_allow_done(&es->allow[es->n_allow]);
                        return -ENOMEM;
                }
                es->n_allow++;
        }
        return taken(fw, r);
}

/*
 * "-i IN -o OUT -j ACCEPT" with no other match, the home router's "the LAN may go out": taken as
 * the egress entries of OUT leaving unrestricted (natgwd matches an entry's sources, not the
 * interface they come from; the note says what differs). 0 when no entry of OUT is of the
 * chain's family (the caller reports the rule).
 */
static int interface_accept(struct fwalk *fw, struct imp_rule *r) {
        const struct imp_match *m = &r->m;
        size_t n = 0;
        int k;

        for (size_t i = 0; i < fw->o->n_egress; i++) {
                const struct natgw_egress *e = &fw->o->egress[i].e;
                struct entry_state *es = &fw->es[i];

                if (!streq(e->out_interface, m->oif) || !entry_of_family(e, fw->family))
                        continue;
                n++;
                if (es->closed || es->full)
                        continue;
                if (imp_origins_add(&fw->o->egress[i].from, r) < 0)
                        return -ENOMEM;
                es->full = true;
                es->full_iface = r;
        }
        if (n == 0)
                return 0;
        k = note(fw, r, "taken as: the egress entries of %s leave unrestricted. natgwd matches their sources, not "
                 "the in interface %s: a source from %s that no entry names (a routed public subnet) is dropped, "
                 "an entry's source arriving by another interface passes",
                 m->oif, m->iif, m->iif);
        if (k < 0)
                return k;
        k = taken(fw, r);
        return k < 0 ? k : 1;
}

static int accept_rule(struct fwalk *fw, struct imp_rule *r) {
        const struct imp_match *m = &r->m;
        _cleanup_(freep) bool *hit = calloc(fw->o->n_egress + 1, sizeof(bool));
        const char *why = NULL;
        int k;

        if (!hit)
                return -ENOMEM;
        if (m->ct & IMP_CT_OTHER)
                return report(fw, r, "conntrack state INVALID, UNTRACKED or SNAT: natgwd has no equivalent");
        if (m->ct & (IMP_CT_ESTABLISHED | IMP_CT_RELATED)) {
                if (m->ct != (IMP_CT_ESTABLISHED | IMP_CT_RELATED))
                        return report(fw, r, "an accept of %s: natgwd's filter accepts ESTABLISHED and RELATED "
                                      "packets, those two states exactly", m->ct & IMP_CT_ESTABLISHED ? "ESTABLISHED "
                                      "without RELATED, or with other states" : "RELATED without ESTABLISHED");
                if (*m->iif || *m->oif || m->n_src || m->n_dst || m->protos || m->other_proto || m->n_dports)
                        return report(fw, r, "an ESTABLISHED,RELATED accept of some packets only: natgwd's filter "
                                      "accepts every established and related packet");
                if (fw->first_drop)
                        return report(fw, r, "after the DROP or REJECT at line %u: natgwd's filter accepts "
                                      "established and related packets before anything else", fw->first_drop->line);
                fw->est = true;
                return taken(fw, r);
        }
        if (m->ct & IMP_CT_DNAT) {
                if (m->ct != IMP_CT_DNAT || *m->oif || m->n_src || m->n_dst || m->protos || m->other_proto ||
                    m->n_dports)
                        return report(fw, r, "an accept of some DNATed connections only: natgwd's filter accepts "
                                      "every connection a forward translated");
                fw->dnat_all = true;
                snprintf(fw->dnat_iif, sizeof(fw->dnat_iif), "%s", m->iif);
                return taken(fw, r);
        }
        if (m->ct & IMP_CT_NEW && !fw->est)
                return report(fw, r, "state NEW without an ESTABLISHED,RELATED accept before it: natgwd's filter "
                              "accepts established and related packets first");
        if (*m->oif && m->n_src && !*m->iif) {
                k = egress_hits(fw, m, hit, &why);
                if (k > 0)
                        return egress_accept(fw, r, hit);
                if (why)
                        return report(fw, r, "%s", why);
        }
        if (!fw->drop)
                /* An ACCEPT before the default ACCEPT: nothing, unless a DROP after it is meant to be an
                 * allow list's end (then that DROP is reported). */
                return push(&fw->plain, r);
        if (forward_targets(fw, m)) {
                if (push(&fw->accepts, r) < 0)
                        return -ENOMEM;
                /* The import sees no routes: the forward works in the script only if its target is
                 * routed by that interface, and natgwd accepts its connections whatever the route. */
                if (*m->oif && (k = note(fw, r, "-o %s is taken as the route to the forwards' target (the import "
                                         "sees no routes): natgwd accepts their connections whichever way the "
                                         "target is routed", m->oif)) < 0)
                        return k;
                return taken(fw, r);
        }
        if (*m->oif && m->n_src && !*m->iif)
                return report(fw, r, "no converted egress entry of %s has its sources (MASQUERADE or SNAT -o %s): "
                              "natgwd's filter accepts an egress entry's sources and forwards' connections only",
                              m->oif, m->oif);
        if (*m->iif && *m->oif && !m->n_src && !m->n_dst && !m->protos && !m->other_proto && !m->n_dports &&
            (k = interface_accept(fw, r)) != 0)
                return k < 0 ? k : 0;
        if (*m->iif && *m->oif && !m->n_src)
                return report(fw, r, "accepts every %s source from %s out of %s, and no egress entry of %s has %s "
                              "sources: natgwd's filter accepts an egress entry's sources (-s, -o) and forwards' "
                              "connections only (name the sources: -s, ip saddr)",
                              fw->family == AF_INET ? "IPv4" : "IPv6", m->iif, m->oif, m->oif,
                              fw->family == AF_INET ? "IPv4" : "IPv6");
        if (*m->iif && m->n_src && *m->oif)
                return report(fw, r, "an in interface (-i) with an egress entry's sources: natgwd accepts an "
                              "entry's sources from any interface");
        return report(fw, r, "accepts what is neither an egress entry's traffic (-s its sources -o its "
                      "interface) nor a forward's (-d its target): natgwd's filter cannot express it");
}

static int drop_rule(struct fwalk *fw, struct imp_rule *r, const struct imp_rule *log) {
        bool logged = log != NULL;
        const struct imp_match *m = &r->m;
        _cleanup_(freep) bool *hit = calloc(fw->o->n_egress + 1, sizeof(bool));
        bool reject = r->target == IMP_T_REJECT;
        const char *why = NULL;
        int k;

        if (!hit)
                return -ENOMEM;
        if (!fw->first_drop)
                fw->first_drop = r;
        if (m->ct)
                return report(fw, r, "a DROP or REJECT by conntrack state: natgwd's filter drops by state no packets");
        if (catch_all(m) && !fw->drop) /* of a user chain: FORWARD's own were seen first (chain_walk()) */
                return report(fw, r, "a catch-all %s in a user chain, and FORWARD's policy is ACCEPT: the import "
                              "takes FORWARD's policy DROP, or a catch-all DROP of FORWARD itself, as natgwd's "
                              "filter.forward = \"drop\"", reject ? "REJECT" : "DROP");
        if (catch_all(m)) {
                fw->end = r;
                fw->log_all = logged;
                /* natgwd's filter.forward drops: a REJECT of everything is left out, and taken as the
                 * DROP it also is (the rules after it never match). */
                if (reject)
                        return report(fw, r, "REJECT of everything left: natgwd's filter.forward drops what no "
                                      "entry accepts (only an allow list's denials can be rejected); taken as DROP");
                return taken(fw, r);
        }
        if (*m->oif && m->n_src && !*m->iif && !m->n_dst && !m->protos && !m->other_proto && !m->n_dports) {
                k = egress_hits(fw, m, hit, &why);
                if (k == 0 && why)
                        return report(fw, r, "%s", why);
                for (size_t i = 0; i < fw->plain.n && k > 0; i++)
                        if (imp_match_intersects(&fw->plain.v[i]->m, m))
                                return report(fw, r, "line %u accepts some of its packets first, and is no allow "
                                              "rule of an egress entry (-s its sources -o its interface)",
                                              fw->plain.v[i]->line);
                for (size_t i = 0; i < fw->o->n_egress && k > 0; i++) {
                        struct entry_state *es = &fw->es[i];

                        if (!hit[i])
                                continue;
                        if (es->full || es->closed) {
                                int n = es->full_iface
                                        ? note(fw, r, "matches only sources of its egress entry arriving by another "
                                               "interface than %s: natgwd lets them out (line %u's note)",
                                               es->full_iface->m.iif, es->full_iface->line)
                                        : note(fw, r, "never matches: an earlier rule takes every new connection of "
                                               "its egress entry");

                                if (n < 0)
                                        return n;
                                continue;
                        }
                        es->closed = true;
                        es->reject = reject;
                        es->log = logged;
                        if ((log && log != r && imp_origins_add(&fw->o->egress[i].from, log) < 0) ||
                            imp_origins_add(&fw->o->egress[i].from, r) < 0)
                                return -ENOMEM;
                }
                if (k > 0)
                        return taken(fw, r);
        }
        if (!fw->drop)
                return report(fw, r, "drops what natgwd's filter accepts: with policy ACCEPT natgwd denies only "
                              "what an egress entry's allow list does not allow (a DROP of -s its sources -o its "
                              "interface after its ACCEPTs)");
        for (size_t i = 0; i < fw->o->n_egress; i++) {
                struct imp_match em;

                entry_match(&fw->o->egress[i].e, &em);
                if (!fw->es[i].closed && imp_match_intersects(&em, m))
                        return report(fw, r, "drops some new connections of the sources of line %u: natgwd's "
                                      "allow lists say what is allowed, not what is denied",
                                      fw->o->egress[i].from.v[0]->line);
        }
        if (hits_forward(fw, m))
                return report(fw, r, "drops some connections of a forward: natgwd's filter accepts every "
                              "connection a forward translated");
        if (reject)
                return note(fw, r, "REJECT of what natgwd's filter drops anyway: dropped, not rejected");
        return 0;
}

/* Whether an earlier reported rule shares packets with @r: then @r is reported too. */
static const struct imp_rule *after_bad(const struct fwalk *fw, const struct imp_rule *r) {
        for (size_t i = 0; i < fw->bad.n; i++) {
                const struct imp_match *b = &fw->bad.v[i]->m;

                /* A LOG changes no verdict; a rule of INVALID (UNTRACKED) packets only shares none
                 * with the new connections the rules after it are converted for. */
                if (fw->bad.v[i]->target == IMP_T_LOG || (b->ct == IMP_CT_OTHER && !fw->bad.v[i]->why))
                        continue;
                /* An earlier ACCEPT that takes some of an ACCEPT's packets accepts them all the same;
                 * one of established or related packets only accepts what natgwd accepts anyway. */
                if (fw->bad.v[i]->target == IMP_T_ACCEPT &&
                    (r->target == IMP_T_ACCEPT || (b->ct && !(b->ct & ~(IMP_CT_ESTABLISHED | IMP_CT_RELATED)))))
                        continue;
                if (imp_match_intersects(b, &r->m))
                        return fw->bad.v[i];
        }
        return NULL;
}

static int rule(struct fwalk *fw, struct imp_rule *r) {
        const struct imp_rule *bad, *log = NULL;
        int k;

        if (fw->log) {
                if ((r->target == IMP_T_DROP || r->target == IMP_T_REJECT) && !r->why && match_equal(&fw->log->m, &r->m))
                        log = fw->log;
                if (!log && (k = report(fw, (struct imp_rule *)fw->log,
                                           "LOG: natgwd logs only what an allow list denies (log_denied), and this "
                                           "LOG is not just before a DROP of the same packets")) < 0)
                        return k;
                fw->log = NULL;
        }
        if (fw->end)
                return note(fw, r, "never matches: the catch-all %s at line %u takes every packet first",
                            fw->end->target == IMP_T_REJECT ? "REJECT" : "DROP", fw->end->line);
        if (r->why)
                return report(fw, r, "%s", r->why);
        if (r->m.neg)
                return report(fw, r, "a negated match (! or !=) in FORWARD: natgwd's filter cannot express it");
        if (r->m.dst_local)
                return report(fw, r, "address type LOCAL in FORWARD: never true of a forwarded packet");
        /* A catch-all DROP that is the policy drops what the reported rules before it would have
         * accepted, with them left out as without: it stays the policy. */
        bad = fw->drop && (r->target == IMP_T_DROP || r->target == IMP_T_REJECT) && catch_all(&r->m) ? NULL
                                                                                                      : after_bad(fw, r);
        if (bad)
                return report(fw, r, "line %u, which is not converted, takes some of its packets first", bad->line);
        if (r->log && r->target != IMP_T_DROP && r->target != IMP_T_REJECT && r->target != IMP_T_LOG)
                return report(fw, r, "log with %s: natgwd logs only what an allow list denies",
                              r->target == IMP_T_ACCEPT ? "accept" : "this verdict");
        switch (r->target) {
        case IMP_T_LOG:
                fw->log = r;
                return 0;
        case IMP_T_ACCEPT:
                return accept_rule(fw, r);
        case IMP_T_DROP:
        case IMP_T_REJECT:
                return drop_rule(fw, r, log ? log : r->log ? r : NULL);
        case IMP_T_NONE:
                return 0; /* a counter */
        case IMP_T_GOTO:
                return report(fw, r, "a goto (-g, goto) in FORWARD: the import follows jumps (-j, jump) only");
        case IMP_T_RETURN:
                return report(fw, r, "RETURN in FORWARD (its packets get the chain's policy): natgwd's filter "
                              "cannot express it");
        default:
                return report(fw, r, "this target in FORWARD: natgwd's filter has no other verdicts than accept, "
                              "drop and reject");
        }
}

/* ---- user chains: FORWARD's jumps (-j) walked as the kernel walks them ---- */

/*
 * Rule @r of a user chain as FORWARD reaches it through jumps that match @ctx: a rule of its
 * own with both matches (*ret, kept in fw->o->made: the config's comments name it); 0 when
 * the jumps take none of its packets, -EOPNOTSUPP when the match cannot be expressed (@r is
 * reported).
 */
static int made_rule(struct fwalk *fw, struct imp_rule *r, const struct imp_match *ctx, struct imp_rule **ret) {
        _cleanup_(imp_match_done) struct imp_match m = {};
        struct imp_rule *x;
        int k = imp_match_and(ctx, &r->m, &m);

        if (k == -EOPNOTSUPP) {
                k = report(fw, r, "a negated match meets the same field of the jump that leads here");
                return k < 0 ? k : -EOPNOTSUPP;
        }
        if (k <= 0)
                return k;
        if (GROW(fw->o->made, fw->o->cap_made, fw->o->n_made + 1) < 0) /* NOLINT(bugprone-sizeof-expression) */
                return -ENOMEM;
        x = malloc(sizeof(*x));
        if (!x)
                return -ENOMEM;
        *x = *r;
        x->m = TAKE_STRUCT(m);
        fw->o->made[fw->o->n_made++] = x;
        *ret = x;
        return 1;
}

/* The RETURN of an enclosing user chain (fw->rets) that takes some of @r's packets first. */
static const struct imp_rule *returned(const struct fwalk *fw, const struct imp_rule *r) {
        if (r->target == IMP_T_NONE && !r->why)
                return NULL; /* a counter */
        for (size_t i = 0; i < fw->rets.n; i++)
                if (imp_match_intersects(&fw->rets.v[i]->m, &r->m))
                        return fw->rets.v[i];
        return NULL;
}

static int chain_rules(struct fwalk *fw, struct imp_chain *c, const struct imp_match *ctx, unsigned depth);

/* A jump (-j) of FORWARD or of a user chain it reached: the chain's rules, each with @r's
 * matches added, stand in for it. Each user chain is walked once, where FORWARD first reaches it. */
static int jump(struct fwalk *fw, struct imp_rule *r, unsigned depth) { /* NOLINT(misc-no-recursion): bounded by the depth */
        struct imp_chain *sub = imp_chain_find(fw->o->rs, r->jump, fw->family, true);
        const struct imp_rule *via;
        const char *via_chain;
        int k;

        /* nft: a chain with no rule of the family has no filter twin. */
        if (!sub && (sub = imp_chain_find(fw->o->rs, r->jump, fw->family, false)) && sub->n_rules == 0 &&
            sub->hook == IMP_HOOK_NONE)
                return 0;
        if (!sub || sub->hook != IMP_HOOK_NONE)
                return report(fw, r, "jump to %s: %s", r->jump, sub ? "a base chain" : "no such chain");
        if (sub->walking)
                return report(fw, r, "jump to %s: a loop", r->jump);
        if (sub->walked)
                return report(fw, r, "a second jump to %s: the import converts a user chain once, where "
                              "FORWARD first reaches it", r->jump);
        if (depth + 1 >= IMP_JUMP_DEPTH_MAX)
                return report(fw, r, "jump to %s: jumps nest too deep", r->jump);
        sub->walking = sub->walked = true;
        via = fw->via;
        via_chain = fw->via_chain;
        fw->via = r;
        fw->via_chain = sub->name;
        k = chain_rules(fw, sub, &r->m, depth + 1);
        fw->via = via;
        fw->via_chain = via_chain;
        sub->walking = false;
        return k;
}

/*
 * The rules of @c in order, for the packets the jumps that lead here match (@ctx; depth 0:
 * FORWARD itself, every packet). A RETURN makes the rest of its chain miss the packets it
 * matches: a catch-all one ends the walk of the chain (the rules after it never match), the
 * rules after another one that share packets with it are reported (natgwd has no rule order
 * to express that the RETURN takes them first).
 */
static int chain_rules(struct fwalk *fw, struct imp_chain *c, const struct imp_match *ctx, unsigned depth) { /* NOLINT(misc-no-recursion): bounded by the depth */
        size_t n_rets = fw->rets.n;
        int k = 0;

        for (size_t i = 0; i < c->n_rules && k >= 0; i++) {
                struct imp_rule *r = &c->rules[i], *x = r;
                const struct imp_rule *back;

                if (depth > 0) {
                        k = made_rule(fw, r, ctx, &x);
                        if (k <= 0) {
                                k = k == -EOPNOTSUPP ? 0 : k;
                                continue;
                        }
                }
                back = returned(fw, x);
                if (back)
                        k = report(fw, x, "the RETURN at line %u takes some of its packets back first: natgwd's "
                                   "filter has no rule order to express that", back->line);
                else if (x->target == IMP_T_JUMP && !x->why && !x->m.neg)
                        k = jump(fw, x, depth);
                else if (x->target == IMP_T_RETURN && depth > 0 && !x->why && catch_all(&r->m)) {
                        for (size_t j = i + 1; j < c->n_rules && k >= 0; j++)
                                k = note(fw, &c->rules[j], "never matches: the RETURN at line %u returns every "
                                         "packet of chain %s first", r->line, c->name);
                        break;
                } else if (x->target == IMP_T_RETURN && depth > 0 && !x->why && !x->m.neg)
                        k = push(&fw->rets, x);
                else
                        k = rule(fw, x);
                r->reported |= x->reported;
        }
        fw->rets.n = n_rets;
        return k;
}

/* Every forward of the family whose connections the chain does not all accept: reported, left out. */
static int forwards_check(struct fwalk *fw) {
        struct imp_output *o = fw->o;
        size_t n = 0;

        for (size_t i = 0; i < o->n_forwards; i++) {
                struct imp_forward_item *it = &o->forwards[i];
                struct natgw_forward *f = &it->f;
                /* A REDIRECT's connections go to the gateway itself: they never cross FORWARD. */
                bool ok = f->to.family != fw->family || it->from.v[0]->target == IMP_T_REDIRECT ||
                          (fw->dnat_all && (!*fw->dnat_iif || streq(fw->dnat_iif, f->in_interface)));

                for (unsigned proto = NATGW_PROTO_TCP; proto <= NATGW_PROTO_UDP && !ok; proto <<= 1) {
                        bool all = true;

                        if (!(f->protos & proto))
                                continue;
                        for (size_t j = 0; j < (f->to_port_mode == NATGW_TO_PORT_KEEP ? f->n_ports : 1) && all; j++) {
                                bool one = false;

                                for (size_t a = 0; a < fw->accepts.n && !one; a++) {
                                        const struct imp_rule *r = fw->accepts.v[a];
                                        struct natgw_prefix dst;
                                        struct imp_match x;

                                        forward_match(f, proto, r->m.oif, &dst, &x);
                                        x.dports += j;
                                        x.n_dports = 1;
                                        one = imp_match_covered(&x, &r->m);
                                        if (one && imp_origins_add(&it->from, r) < 0)
                                                return -ENOMEM;
                                }
                                all = one;
                        }
                        ok = all;
                        if (!all)
                                break;
                }
                if (ok) {
                        o->forwards[n++] = *it;
                        continue;
                }
                for (size_t j = 0; j < it->from.n; j++)
                        if (it->from.v[j]->target == IMP_T_DNAT || it->from.v[j]->target == IMP_T_REDIRECT)
                                if (natgw_errors_add(fw->problems, fw->name, it->from.v[j]->line, NULL,
                                                     "the FORWARD chain (policy DROP, line %u) does not accept all "
                                                     "of its connections (-d its target, its ports, as many "
                                                     "sources): natgwd's filter would", fw->c->line) < 0)
                                        return -ENOMEM;
                imp_forward_item_done(it);
        }
        o->n_forwards = n;
        return 0;
}

/* The chain cannot be converted: its policy and every rule taken are reported. */
static int leave_out(struct fwalk *fw, const struct imp_rule *at, const char *why) {
        if (natgw_errors_add(fw->problems, fw->name, at ? at->line : fw->c->line, NULL, "%s", why) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < fw->taken.n; i++)
                if (fw->taken.v[i] != at &&
                    natgw_errors_add(fw->problems, fw->name, fw->taken.v[i]->line, NULL,
                                     "left out with the FORWARD chain's policy (line %u)", at ? at->line : fw->c->line) < 0)
                        return -ENOMEM;
        fw->left_out = true;
        return 0;
}

static int finish(struct fwalk *fw, bool *ret_drop) {
        struct imp_output *o = fw->o;
        int k;

        if (fw->log && (k = report(fw, (struct imp_rule *)fw->log, "LOG at the end: natgwd logs only what an allow "
                                   "list denies (log_denied), and this LOG is before no DROP")) < 0)
                return k;
        if (fw->drop && !fw->est)
                return leave_out(fw, fw->end, "FORWARD drops without an ESTABLISHED,RELATED accept first: natgwd's "
                                 "filter accepts established and related packets; the chain is left out");
        if (fw->drop && o->n_netmaps)
                return leave_out(fw, fw->end, "FORWARD drops, and netmaps' hosts pass natgwd's filter: the import "
                                 "does not compare the chain with netmaps; the chain is left out");
        if (fw->log_all && fw->end &&
            (k = note(fw, fw->end, "its LOG: natgwd logs what allow lists deny (log_denied), the other drops of "
                      "filter.forward are counted, not logged")) < 0)
                return k;
        for (size_t i = 0; i < o->n_egress; i++) {
                struct entry_state *es = &fw->es[i];
                struct natgw_egress *e = &o->egress[i].e;

                if (es->full || (!fw->drop && !es->closed))
                        continue;
                if (!entry_of_family(e, fw->family)) {
                        bool some = false;

                        for (size_t j = 0; j < e->n_sources; j++)
                                some |= e->sources[j].addr.family == fw->family;
                        if (some && natgw_errors_add(fw->problems, fw->name, o->egress[i].from.v[0]->line, NULL,
                                                     "its egress entry has IPv4 and IPv6 sources, and the FORWARD "
                                                     "chain (line %u) limits one family's: natgwd's allow list would "
                                                     "apply to both; not filtered", fw->c->line) < 0)
                                return -ENOMEM;
                        continue;
                }
                e->has_allow = true;
                e->allow = TAKE_PTR(es->allow);
                e->n_allow = es->n_allow;
                es->n_allow = 0;
                e->deny = es->closed && es->reject ? NATGW_DENY_REJECT : NATGW_DENY_DROP;
                e->log_denied = es->closed ? es->log : fw->log_all;
                if (!es->closed && fw->end && !fw->end->reported && imp_origins_add(&o->egress[i].from, fw->end) < 0)
                        return -ENOMEM;
        }
        if (!fw->drop)
                return 0;
        k = forwards_check(fw);
        if (k < 0)
                return k;
        *ret_drop = true;
        return 0;
}

static int chain_walk(struct fwalk *fw, bool *ret_drop) {
        int k = 0;

        /* A catch-all DROP or REJECT is the policy (what comes after it never matches). */
        fw->drop = fw->c->policy_drop;
        for (size_t i = 0; i < fw->c->n_rules && !fw->drop; i++) {
                const struct imp_rule *r = &fw->c->rules[i];

                fw->drop = (r->target == IMP_T_DROP || r->target == IMP_T_REJECT) && !r->why && catch_all(&r->m);
        }
        fw->c->walking = true;
        k = chain_rules(fw, fw->c, NULL, 0);
        fw->c->walking = false;
        if (k < 0)
                return k;
        return finish(fw, ret_drop);
}

int imp_filter(struct imp_output *o, const char *name, struct natgw_errors *problems, bool *ret_drop) {
        struct imp_chain *chains[] = { o->filter4, o->filter6 };
        bool drop[2] = {};
        int k = 0;

        *ret_drop = false;
        for (size_t c = 0; c < ELEMENTSOF(chains) && k >= 0; c++) {
                struct fwalk fw = { .o = o, .name = name, .problems = problems, .c = chains[c],
                                    .family = c == 0 ? AF_INET : AF_INET6 };

                if (!chains[c])
                        continue;
                fw.es = calloc(o->n_egress + 1, sizeof(*fw.es));
                if (!fw.es)
                        return -ENOMEM;
                k = chain_walk(&fw, &drop[c]);
                if (k >= 0 && drop[c] && !chains[c]->policy_drop && fw.end && !o->drop_line)
                        o->drop_line = fw.end->line;
                for (size_t i = 0; i < o->n_egress; i++) {
                        for (size_t j = 0; j < fw.es[i].n_allow; j++)
                                imp_allow_done(&fw.es[i].allow[j]);
                        free(fw.es[i].allow);
                }
                free(fw.es);
                free(fw.accepts.v);
                free(fw.bad.v);
                free(fw.taken.v);
                free(fw.plain.v);
                free(fw.rets.v);
        }
        /* The rules of user chains no jump of FORWARD reached (a chain of INPUT's, say). */
        for (size_t i = 0; o->rs && i < o->rs->n_chains && k >= 0; i++) {
                const struct imp_chain *c = &o->rs->chains[i];

                if (!c->filter || c->hook != IMP_HOOK_NONE || c->walked || c->twin)
                        continue;
                for (size_t j = 0; j < c->n_rules && k >= 0; j++)
                        k = natgw_errors_add(problems, name, c->rules[j].line, NULL, "filter table, chain %s: no "
                                             "converted jump of FORWARD reaches it, and natgwd filters forwarded "
                                             "traffic only", c->name);
        }
        if (k < 0)
                return k;
        /* filter.forward is both families': one family's chain that accepts while the other drops is
         * not expressible when the config forwards both. */
        for (size_t c = 0; c < 2; c++) {
                int other = c == 0 ? AF_INET6 : AF_INET;
                bool other_used = false;

                if (!drop[c] || drop[1 - c])
                        continue;
                for (size_t i = 0; i < o->n_egress && !other_used; i++)
                        for (size_t j = 0; j < o->egress[i].e.n_sources; j++)
                                other_used |= o->egress[i].e.sources[j].addr.family == other;
                for (size_t i = 0; i < o->n_forwards && !other_used; i++)
                        other_used = o->forwards[i].f.to.family == other;
                if (other_used) {
                        k = natgw_errors_add(problems, name, chains[c]->line, NULL,
                                             "%s FORWARD drops while %s traffic is forwarded unfiltered: natgwd's "
                                             "filter.forward is both families'; not converted",
                                             c == 0 ? "the IPv4" : "the IPv6", c == 0 ? "IPv6" : "IPv4");
                        return k < 0 ? k : 0;
                }
        }
        *ret_drop = drop[0] || drop[1];
        return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The `nft list ruleset` reader: tables of family ip, ip6 and inet, their chains, and the rule
 * shapes NAT scripts use (iifname/oifname, ip/ip6 saddr/daddr, meta l4proto, tcp/udp/th dport,
 * anonymous sets { ... }, fib daddr type local, ct state new, comment; masquerade, snat to,
 * dnat to, redirect to, jump, goto, return, accept). An inet chain becomes one chain per family,
 * each holding the rules that can match it. Rules of filter chains other than forward ones are
 * reported at once; a user chain's are read twice (rule_parse()), as a nat chain's and as a
 * forward chain's. Sets, maps and other objects are skipped (a rule that uses one is reported
 * by the converter).
 */

#include <stdarg.h>
#include <sys/socket.h>

#include "import-rule.h"

enum chain_kind {
        KIND_NONE,   /* not in a chain */
        KIND_USER,   /* no type line (yet) */
        KIND_NAT,
        KIND_FILTER, /* any base chain that is not nat */
};

struct nft_reader {
        const char *name;
        struct imp_ruleset *rs;
        struct natgw_errors *problems;
        int table_family; /* AF_INET, AF_INET6, AF_UNSPEC (inet); -1: a table we skip */
        char table[64];
        unsigned table_line;
        bool in_table;
        char chain[128];  /* "TABLE/CHAIN" */
        enum chain_kind kind;
        bool forward_hook;
        bool filter_user; /* rule_parse(): a user chain's rule read as a forward chain's (its filter twin) */
        unsigned skip_depth; /* inside a set, map or other block: its depth */
        unsigned depth;
};

/* An error that stops the reader (imp_stop()). */
#define fail(rd, line, ...) imp_stop(natgw_errors_add((rd)->problems, (rd)->name, line, NULL, __VA_ARGS__))

/* nft prints "{ 25, 110 }": braces and commas apart from the words (quotes untouched). */
static char *spread(const char *s) {
        const char *start = s;
        size_t n = strlen(s);
        char *out = malloc(3 * n + 1), *o = out;
        bool quoted = false;

        if (!out)
                return NULL;
        for (; *s; s++) {
                if (*s == '"' && (s == start || s[-1] != '\\'))
                        quoted = !quoted;
                if (!quoted && (*s == '{' || *s == '}')) {
                        *o++ = ' ';
                        *o++ = *s;
                        *o++ = ' ';
                } else if (!quoted && (*s == ',' || *s == ';'))
                        *o++ = ' ';
                else
                        *o++ = *s;
        }
        *o = 0;
        return out;
}

/* The values at t->v[*i]: one word, or the words of a "{ ... }" set; *i ends on the last. */
static size_t values(const struct imp_tokens *t, size_t *i, const char ***ret) {
        size_t first;

        if (*i >= t->n)
                return 0;
        if (!streq(t->v[*i], "{")) {
                *ret = (const char **)&t->v[*i];
                return 1;
        }
        first = ++*i;

        while (*i < t->n && !streq(t->v[*i], "}"))
                ++*i;
        *ret = (const char **)&t->v[first];
        return *i - first;
}

struct rule_ctx {
        struct imp_rule *r;
        int family; /* the family the rule names (ip, ip6, an address), 0: both */
        bool family_clash;
};

static void want_family(struct rule_ctx *x, int family) {
        if (x->family && x->family != family)
                x->family_clash = true;
        x->family = family;
}

static int addrs(struct rule_ctx *x, const char *const *v, size_t n, bool dst) {
        struct imp_rule *r = x->r;

        for (size_t j = 0; j < n; j++) {
                const char *dash = strchr(v[j], '-');
                struct natgw_prefix p;
                struct natgw_addr lo, hi;
                int k;

                if (v[j][0] == '@' || v[j][0] == '$')
                        return imp_rule_fail(r, "named set or variable %s: natgwd has no equivalent", v[j]);
                if (dash && !strchr(v[j], '/') && natgw_addr_parse_n(v[j], (size_t)(dash - v[j]), &lo) == 0 &&
                    natgw_addr_parse(dash + 1, &hi) == 0) {
                        want_family(x, lo.family);
                        k = imp_prefixes_from_range(&lo, &hi, dst ? &r->m.dst : &r->m.src, dst ? &r->m.n_dst : &r->m.n_src);
                        if (k == -EINVAL)
                                return imp_rule_fail(r, "\"%s\" is not an address range", v[j]);
                        if (k < 0)
                                return k;
                        continue;
                }
                if (imp_prefix_parse(v[j], &p) < 0)
                        return imp_rule_fail(r, "\"%s\" is not an address or a prefix", v[j]);
                want_family(x, p.addr.family);
                if (imp_prefix_add(dst ? &r->m.dst : &r->m.src, dst ? &r->m.n_dst : &r->m.n_src, &p) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int ports(struct imp_rule *r, const char *const *v, size_t n) {
        for (size_t j = 0; j < n; j++) {
                struct natgw_port_range p;

                if (natgw_port_parse(v[j], &p) < 0)
                        return imp_rule_fail(r, "port \"%s\" is not a port or a range of 1-65535", v[j]);
                if (imp_ports_add(&r->m.dports, &r->m.n_dports, p) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int protos(struct imp_rule *r, const char *const *v, size_t n) {
        for (size_t j = 0; j < n; j++) {
                if (streq(v[j], "tcp"))
                        r->m.protos |= NATGW_PROTO_TCP;
                else if (streq(v[j], "udp"))
                        r->m.protos |= NATGW_PROTO_UDP;
                else {
                        /* One of a set: the rule matches more than ICMP then. */
                        r->m.icmp = n == 1 && (streq(v[j], "icmp") || streq(v[j], "icmpv6") || streq(v[j], "ipv6-icmp"));
                        r->m.other_proto = 1;
                }
        }
        return 0;
}

/* "ct state established,related" (the commas spread into words), "ct state { ... }", "ct status dnat"
 * of a filter rule, at t->v[*i] ("ct"), into the rule's IMP_CT_* bits; *i ends on the last. */
static int ct_states(struct imp_rule *r, const struct imp_tokens *t, size_t *i) {
        const char *field = t->v[*i + 1]; /* "state" or "status" (the caller saw it) */
        size_t at = *i + 2;
        bool brace = false;

        if (at < t->n && streq(t->v[at], "!=")) {
                *i = t->n;
                return imp_rule_fail(r, "negated conntrack state: natgwd has no equivalent");
        }
        if (at < t->n && streq(t->v[at], "==")) /* NOLINT(bugprone-branch-clone) */
                at++;
        if (at < t->n && streq(t->v[at], "{")) {
                brace = true;
                at++;
        }
        for (; at < t->n; at++) {
                int bit;

                if (brace && streq(t->v[at], "}"))
                        break;
                bit = imp_ct_state(t->v[at]);
                if (bit < 0 && brace) {
                        *i = t->n;
                        return imp_rule_fail(r, "conntrack state %s: natgwd has no equivalent", t->v[at]);
                }
                if (bit < 0)
                        break;
                r->m.ct |= (unsigned)bit;
        }
        if (brace && at >= t->n) {
                *i = t->n;
                return imp_rule_fail(r, "ct %s { without its }", field);
        }
        *i = brace ? at : at - 1;
        if (!r->m.ct)
                return imp_rule_fail(r, "\"ct %s\" without a state", field);
        return 0;
}

static const char *word(const struct imp_tokens *t, size_t i) {
        return i < t->n ? t->v[i] : "";
}

/* In a base chain of the forward hook that is not nat: its rules are the FORWARD chain's. */
static bool filter_forward(const struct nft_reader *rd) {
        return rd->filter_user || (rd->kind == KIND_FILTER && rd->forward_hook);
}

static bool is_verdict(const char *w) {
        static const char *const verdicts[] = { "masquerade", "snat", "dnat", "redirect", "jump", "goto",
                                                "return", "accept", "drop", "reject" };

        for (size_t k = 0; k < ELEMENTSOF(verdicts); k++)
                if (streq(w, verdicts[k]))
                        return true;
        return false;
}

/* A verdict or NAT statement at t->v[*i]; 1 when it was one. */
static int statement(struct nft_reader *rd, struct rule_ctx *x, const struct imp_tokens *t, size_t *i) {
        struct imp_rule *r = x->r;
        const char *w = t->v[*i];

        /* nft refuses a statement after a verdict; a dump never holds two. */
        if ((r->target != IMP_T_NONE || r->jump) && is_verdict(w))
                return imp_rule_fail(r, "a second verdict \"%s\": a rule has one", w);
        if (streq(w, "masquerade") || streq(w, "snat") || streq(w, "dnat") || streq(w, "redirect")) {
                const char *verb = w;

                r->target = streq(w, "masquerade") ? IMP_T_MASQUERADE : streq(w, "snat") ? IMP_T_SNAT
                        : streq(w, "dnat") ? IMP_T_DNAT : IMP_T_REDIRECT;
                for (++*i; *i < t->n; ++*i) {
                        w = t->v[*i];
                        if (streq(w, "ip"))
                                want_family(x, AF_INET);
                        else if (streq(w, "ip6"))
                                want_family(x, AF_INET6);
                        else if (streq(w, "random") || streq(w, "fully-random") || streq(w, "persistent"))
                                r->random = true;
                        else if (streq(w, "prefix") && (r->target == IMP_T_SNAT || r->target == IMP_T_DNAT))
                                r->target = IMP_T_NETMAP; /* "snat ip prefix to P": 1:1 by offset */
                        else if (streq(w, "to") && *i + 1 < t->n && r->target == IMP_T_NETMAP) {
                                struct natgw_prefix p;

                                w = t->v[++*i];
                                if (imp_prefix_parse(w, &p) < 0)
                                        return imp_rule_fail(r, "%s prefix to \"%s\": not a prefix", verb, w);
                                r->to_lo = p.addr;
                                r->to_len = p.len;
                                r->has_to = true;
                                want_family(x, p.addr.family);
                        } else if (streq(w, "to") && *i + 1 < t->n) {
                                int k;

                                w = t->v[++*i];
                                if (streq(w, "{") || streq(w, "ip") || streq(w, "ip6") || streq(w, "tcp") || streq(w, "udp"))
                                        return imp_rule_fail(r, "%s to a map: natgwd has no equivalent", verb);
                                k = imp_nat_to_parse(r, w);
                                if (k < 0)
                                        return k;
                                if (r->has_to)
                                        want_family(x, r->to_lo.family);
                        } else if (streq(w, "comment") || is_verdict(w))
                                break; /* a second verdict: the next statement says so */
                        else
                                return imp_rule_fail(r, "%s option \"%s\": natgwd has no equivalent", verb, w);
                }
                --*i;
                return 1;
        }
        if (streq(w, "jump") || streq(w, "goto")) {
                char buf[sizeof(rd->chain)];

                r->target = streq(w, "jump") ? IMP_T_JUMP : IMP_T_GOTO;
                snprintf(buf, sizeof(buf), "%s/%s", rd->table, word(t, *i + 1));
                ++*i;
                r->jump = strdup(buf);
                return r->jump ? 1 : -ENOMEM;
        }
        if (streq(w, "return") || streq(w, "accept")) {
                r->target = streq(w, "return") ? IMP_T_RETURN : IMP_T_ACCEPT;
                return 1;
        }
        if ((streq(w, "drop") || streq(w, "reject")) && filter_forward(rd)) {
                r->target = streq(w, "drop") ? IMP_T_DROP : IMP_T_REJECT;
                /* "reject with tcp reset", "with icmpx type port-unreachable": natgwd's deny = "reject". */
                while (streq(w, "reject") && *i + 1 < t->n && !streq(t->v[*i + 1], "comment"))
                        ++*i;
                return 1;
        }
        if (streq(w, "drop") || streq(w, "reject")) {
                r->target = IMP_T_OTHER;
                return imp_rule_fail(r, "%s in a nat chain: natgwd does not drop in NAT", w);
        }
        return 0;
}

/* One match or statement at t->v[*i]; advances *i to its last word. */
static int expression(struct nft_reader *rd, struct rule_ctx *x, const struct imp_tokens *t, size_t *i) {
        struct imp_rule *r = x->r;
        const char *w = t->v[*i], *field = word(t, *i + 1);
        const char **v = NULL;
        size_t n, at;
        bool neg;
        int k;

        k = statement(rd, x, t, i);
        if (k != 0)
                return k < 0 ? k : 0;
        if (streq(w, "counter")) {
                if (streq(field, "packets"))
                        *i += 4;
                return 0;
        }
        if (streq(w, "comment")) {
                free(r->comment);
                r->comment = strdup(field);
                ++*i;
                return r->comment ? 0 : -ENOMEM;
        }
        if (streq(w, "log") && filter_forward(rd)) {
                /* Its options (prefix "...", level, flags, group) up to the verdict or the end. */
                while (*i + 1 < t->n && !is_verdict(t->v[*i + 1]) && !streq(t->v[*i + 1], "comment") &&
                       !streq(t->v[*i + 1], "counter"))
                        ++*i;
                r->log = true;
                return 0;
        }
        if (streq(w, "ct") && (streq(field, "state") || streq(field, "status")) && filter_forward(rd))
                return ct_states(r, t, i);
        if (streq(w, "log") || streq(w, "limit") || (streq(w, "meta") && streq(field, "mark"))) {
                *i = t->n; /* the rest is its options */
                return imp_rule_fail(r, "%s: natgwd has no equivalent", w);
        }
        /* The matches: KEYWORD [FIELD] [!=|==] VALUE|{ SET }. */
        at = *i + 1;
        if (streq(w, "ip") || streq(w, "ip6") || streq(w, "tcp") || streq(w, "udp") || streq(w, "th") ||
            streq(w, "meta") || streq(w, "fib") || streq(w, "ct"))
                at++;
        neg = streq(word(t, at), "!=");
        if (neg || streq(word(t, at), "=="))
                at++;
        n = values(t, &at, &v);
        if (!n)
                return imp_rule_fail(r, "\"%s\" without a value", w);
        *i = at;
        if (streq(w, "iifname") || streq(w, "oifname") || streq(w, "iif") || streq(w, "oif")) {
                bool in = w[0] == 'i';

                if (n != 1)
                        return imp_rule_fail(r, "a set of interfaces: natgwd names one interface");
                if (strchr(v[0], '*'))
                        return imp_rule_fail(r, "interface wildcard \"%s\": natgwd names one interface", v[0]);
                if (imp_ifname(v[0], in ? r->m.iif : r->m.oif) < 0)
                        return imp_rule_fail(r, "interface name \"%s\": natgwd takes 1 to 15 characters, no "
                                             "blanks, \"/\", \":\" or quotes", v[0]);
                r->m.neg |= neg ? (in ? IMP_NEG_IIF : IMP_NEG_OIF) : 0;
                return 0;
        }
        if ((streq(w, "ip") || streq(w, "ip6")) && (streq(field, "saddr") || streq(field, "daddr"))) {
                want_family(x, w[2] ? AF_INET6 : AF_INET);
                r->m.neg |= neg ? (field[0] == 'd' ? IMP_NEG_DST : IMP_NEG_SRC) : 0;
                return addrs(x, v, n, field[0] == 'd');
        }
        if ((streq(w, "ip") && streq(field, "protocol")) || (streq(w, "ip6") && streq(field, "nexthdr")) ||
            (streq(w, "meta") && streq(field, "l4proto"))) {
                if (w[1] == 'p')
                        want_family(x, w[2] ? AF_INET6 : AF_INET);
                r->m.neg |= neg ? IMP_NEG_PROTO : 0;
                return protos(r, v, n);
        }
        if ((streq(w, "tcp") || streq(w, "udp") || streq(w, "th")) && streq(field, "dport")) {
                if (w[0] != 't' || w[1] != 'h')
                        r->m.protos = streq(w, "tcp") ? NATGW_PROTO_TCP : NATGW_PROTO_UDP;
                r->m.neg |= neg ? IMP_NEG_DPORT : 0;
                return ports(r, v, n);
        }
        if (streq(w, "meta") && streq(field, "nfproto") && n == 1 && !neg) {
                want_family(x, streq(v[0], "ipv6") ? AF_INET6 : AF_INET);
                return 0;
        }
        if (streq(w, "fib") && streq(field, "daddr") && streq(v[0], "type") && !neg) {
                *i = at + 1;
                if (!streq(word(t, *i), "local"))
                        return imp_rule_fail(r, "fib daddr type %s: natgwd knows only local", word(t, *i));
                r->m.dst_local = true;
                return 0;
        }
        if (streq(w, "ct") && streq(field, "state") && n == 1 && streq(v[0], "new") && !neg)
                return 0; /* only a connection's first packet reaches a NAT chain */
        *i = t->n;
        return imp_rule_fail(r, "\"%s %s\": natgwd has no equivalent", w, field);
}

static int add_rule(struct nft_reader *rd, int family, unsigned line, const char *text, const struct imp_rule *src) {
        struct imp_chain *c = imp_chain_find(rd->rs, rd->chain, family, filter_forward(rd)), *user;
        struct imp_rule *r;

        /* A user chain's filter twin, made with its first rule. */
        if (!c && rd->filter_user && (user = imp_chain_find(rd->rs, rd->chain, family, false))) {
                c = imp_chain_add(rd->rs, rd->chain, user->line, family, IMP_HOOK_NONE);
                if (!c)
                        return -ENOMEM;
                c->filter = c->twin = true;
        }
        if (!c)
                return 0;
        r = imp_rule_add(c, line, text);
        if (!r)
                return -ENOMEM;
        r->target = src->target;
        r->has_to = src->has_to;
        r->to_lo = src->to_lo;
        r->to_hi = src->to_hi;
        r->has_to_ports = src->has_to_ports;
        r->to_ports = src->to_ports;
        r->to_base = src->to_base;
        r->to_len = src->to_len;
        r->random = src->random;
        r->log = src->log;
        if (imp_match_copy(&src->m, &r->m) < 0 || (src->jump && !(r->jump = strdup(src->jump))) ||
            (src->comment && !(r->comment = strdup(src->comment))) || (src->why && !(r->why = strdup(src->why))))
                return -ENOMEM;
        return 0;
}

static int rule_parse_one(struct nft_reader *rd, unsigned line, const char *text) {
        _cleanup_(imp_tokens_done) struct imp_tokens t = {};
        _cleanup_(freep) char *spreaded = spread(text);
        struct imp_rule r = { .line = line };
        struct rule_ctx x = { .r = &r };
        char *cut;
        int k;

        if (!spreaded)
                return -ENOMEM;
        if (rd->kind == KIND_FILTER && !rd->forward_hook) {
                k = natgw_errors_add(rd->problems, rd->name, line, NULL,
                                     "filter chain: natgwd filters no traffic of the gateway itself");
                return k < 0 ? k : 0;
        }
        /* nft -a: "# handle N" after the rule. */
        cut = strstr(spreaded, " # handle ");
        if (cut)
                *cut = 0;
        k = imp_tokenize(spreaded, &t);
        if (k == -EINVAL)
                return fail(rd, line, "a quote is not closed");
        for (size_t i = 0; k >= 0 && i < t.n; i++)
                k = expression(rd, &x, &t, &i);
        if (k >= 0 && r.m.n_dports && !r.m.protos && !r.why)
                k = imp_rule_fail(&r, "th dport without meta l4proto tcp or udp");
        /* "log prefix ..." alone: a LOG rule; with drop or reject after it, both. */
        if (k >= 0 && r.log && r.target == IMP_T_NONE)
                r.target = IMP_T_LOG;
        if (rd->table_family != AF_UNSPEC && x.family && x.family != rd->table_family)
                x.family_clash = true;
        if (k >= 0 && x.family_clash) {
                k = imp_rule_fail(&r, "the rule mixes IPv4 and IPv6");
                x.family = 0; /* reported in the chain(s) it is in */
        }
        if (k >= 0 && (!x.family || x.family == AF_INET))
                k = add_rule(rd, AF_INET, line, text, &r);
        if (k >= 0 && (!x.family || x.family == AF_INET6))
                k = add_rule(rd, AF_INET6, line, text, &r);
        imp_match_done(&r.m);
        free(r.jump);
        free(r.comment);
        free(r.why);
        return k;
}

/*
 * A rule. A user chain's may be jumped to from a nat chain and from a forward chain, where its
 * verdicts and matches mean other things (drop, reject, log, ct state): its rules are read both
 * ways, into the chain and into its filter twin, which import-filter.c walks.
 */
static int rule_parse(struct nft_reader *rd, unsigned line, const char *text) {
        int k = rule_parse_one(rd, line, text);

        if (k < 0 || rd->kind != KIND_USER)
                return k;
        rd->filter_user = true;
        k = rule_parse_one(rd, line, text);
        rd->filter_user = false;
        return k;
}

static enum imp_hook hook_of(const char *h) {
        return streq(h, "prerouting") ? IMP_HOOK_PREROUTING : streq(h, "postrouting") ? IMP_HOOK_POSTROUTING
                : streq(h, "output") ? IMP_HOOK_OUTPUT : streq(h, "input") ? IMP_HOOK_INPUT : IMP_HOOK_NONE;
}

/* "type nat hook prerouting priority dstnat; policy accept;" of the current chain. */
static int chain_type(struct nft_reader *rd, unsigned line, const struct imp_tokens *t) {
        const char *type = word(t, 1), *hook = "";
        bool drop = false;

        for (size_t i = 2; i + 1 < t->n; i++) {
                if (streq(t->v[i], "hook"))
                        hook = t->v[i + 1];
                if (streq(t->v[i], "policy"))
                        drop = strncmp(t->v[i + 1], "drop", 4) == 0;
        }
        if (!streq(type, "nat")) {
                rd->kind = KIND_FILTER;
                rd->forward_hook = streq(type, "filter") && streq(hook, "forward");
                if (rd->forward_hook) {
                        for (size_t i = 0; i < rd->rs->n_chains; i++)
                                if (streq(rd->rs->chains[i].name, rd->chain)) {
                                        rd->rs->chains[i].hook = IMP_HOOK_FORWARD;
                                        rd->rs->chains[i].filter = true;
                                        rd->rs->chains[i].policy_drop = drop;
                                        rd->rs->chains[i].line = line;
                                }
                        return 0;
                }
                if (drop) {
                        int k = natgw_errors_add(rd->problems, rd->name, line, NULL, "filter chain with policy drop: "
                                                 "natgwd filters no traffic of the gateway itself");

                        return k < 0 ? k : 0;
                }
                return 0;
        }
        rd->kind = KIND_NAT;
        for (size_t i = 0; i < rd->rs->n_chains; i++)
                if (streq(rd->rs->chains[i].name, rd->chain)) {
                        rd->rs->chains[i].hook = hook_of(hook);
                        rd->rs->chains[i].policy_drop = drop;
                }
        return 0;
}

static int open_chain(struct nft_reader *rd, unsigned line, const char *name) {
        static const int both[] = { AF_INET, AF_INET6 };

        if ((size_t)snprintf(rd->chain, sizeof(rd->chain), "%s/%s", rd->table, name) >= sizeof(rd->chain))
                return fail(rd, line, "chain name %s is too long", name);
        rd->kind = KIND_USER;
        if (rd->table_family < 0)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(both); i++)
                if ((rd->table_family == AF_UNSPEC || rd->table_family == both[i]) &&
                    !imp_chain_add(rd->rs, rd->chain, line, both[i], IMP_HOOK_NONE))
                        return -ENOMEM;
        return 0;
}

static int line_parse(struct nft_reader *rd, unsigned line, const char *text) {
        _cleanup_(imp_tokens_done) struct imp_tokens t = {};
        _cleanup_(freep) char *spreaded = spread(text);
        const char *last;
        int k;

        if (!spreaded)
                return -ENOMEM;
        k = imp_tokenize(spreaded, &t);
        if (k == -EINVAL)
                return fail(rd, line, "a quote is not closed");
        if (k < 0 || t.n == 0 || t.v[0][0] == '#')
                return k;
        last = t.v[t.n - 1];
        if (rd->skip_depth) {
                for (size_t i = 0; i < t.n; i++)
                        rd->depth += streq(t.v[i], "{") - streq(t.v[i], "}");
                if (rd->depth < rd->skip_depth)
                        rd->skip_depth = 0;
                return 0;
        }
        if (streq(t.v[0], "}")) {
                if (rd->depth == 0)
                        return fail(rd, line, "\"}\" closes nothing");
                rd->depth--;
                if (rd->depth == 1)
                        rd->kind = KIND_NONE;
                if (rd->depth == 0)
                        rd->in_table = false;
                return 0;
        }
        if (rd->depth == 0) {
                if (!streq(t.v[0], "table") || t.n != 4 || !streq(last, "{"))
                        return fail(rd, line, "\"%s\" is not a table (table FAMILY NAME {): not an nft list ruleset dump",
                                    t.v[0]);
                rd->table_family = streq(t.v[1], "ip") ? AF_INET : streq(t.v[1], "ip6") ? AF_INET6
                        : streq(t.v[1], "inet") ? AF_UNSPEC : -1;
                if (strlen(t.v[2]) >= sizeof(rd->table))
                        return fail(rd, line, "table name %s is too long", t.v[2]);
                snprintf(rd->table, sizeof(rd->table), "%s", t.v[2]);
                rd->table_line = line;
                rd->in_table = true;
                rd->depth = 1;
                return 0;
        }
        if (rd->depth == 1) {
                if (!streq(last, "{"))
                        return fail(rd, line, "\"%s\" in a table is not a chain, set or other block", t.v[0]);
                rd->depth = 2;
                if (streq(t.v[0], "chain") && t.n == 3)
                        return open_chain(rd, line, t.v[1]);
                rd->skip_depth = 2; /* a set, a map, a flowtable, a named counter, ... */
                return 0;
        }
        if (rd->kind == KIND_NONE)
                return fail(rd, line, "unexpected \"%s\"", t.v[0]);
        if (streq(t.v[0], "type"))
                return chain_type(rd, line, &t);
        if (streq(t.v[0], "policy"))
                return 0;
        if (rd->table_family < 0) {
                k = natgw_errors_add(rd->problems, rd->name, line, NULL, "a rule of a table that is not ip, ip6 "
                                     "or inet: natgwd has no equivalent");
                return k < 0 ? k : 0;
        }
        return rule_parse(rd, line, text);
}

int imp_read_nft(const char *text, const char *name, struct imp_ruleset *rs, struct natgw_errors *problems) {
        struct nft_reader rd = { .name = name, .rs = rs, .problems = problems };
        unsigned line = 0, first = 0;
        _cleanup_(freep) char *joined = NULL;
        const char *p = text;
        int k;

        while (*p) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t)(nl - p) : strlen(p);
                const char *next = nl ? nl + 1 : p + n;
                int open = 0;
                char *j;

                line++;
                /* Trailing blanks and a CR are not part of the line. */
                while (n > 0 && strchr(" \t\r", p[n - 1]))
                        n--;
                /* A rule whose set nft wrapped onto more lines goes on until its braces close. */
                if (asprintf(&j, "%s%s%.*s", joined ? joined : "", joined ? " " : "", (int)n, p) < 0)
                        return -ENOMEM;
                free(joined);
                joined = j;
                if (!first)
                        first = line;
                for (const char *c = joined; *c; c++)
                        open += (*c == '{') - (*c == '}');
                p = next;
                if (open > 0 && rd.kind != KIND_NONE && !rd.skip_depth && strchr(joined, '{') &&
                    joined[strlen(joined) - 1] != '{' && *p)
                        continue;
                k = line_parse(&rd, first, joined + strspn(joined, " \t"));
                if (k < 0)
                        return k;
                free(joined);
                joined = NULL;
                first = 0;
        }
        if (rd.depth)
                return fail(&rd, rd.table_line, "table %s is not closed", rd.table);
        return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The rules of a saved ruleset as the importer sees them (private to import-*): both readers
 * (iptables-save, nft) fill a struct imp_ruleset, the converter walks it. A rule the reader
 * cannot read all of keeps what it read and says why in @why; the converter reports it.
 */

#include <net/if.h>

#include "addr.h"
#include "conf.h"
#include "diag.h"
#include "util.h"

enum imp_hook {
        IMP_HOOK_NONE, /* a user chain */
        IMP_HOOK_PREROUTING,
        IMP_HOOK_INPUT,
        IMP_HOOK_OUTPUT,
        IMP_HOOK_POSTROUTING,
        IMP_HOOK_FORWARD, /* the filter table's FORWARD (chain->filter) */
};

enum imp_target {
        IMP_T_NONE, /* no verdict: a counter, or a rule whose target is unknown (@why says) */
        IMP_T_MASQUERADE,
        IMP_T_SNAT,
        IMP_T_DNAT,
        IMP_T_REDIRECT,
        IMP_T_NETMAP,
        IMP_T_RETURN,
        IMP_T_ACCEPT,
        IMP_T_JUMP,
        IMP_T_GOTO,
        IMP_T_OTHER, /* a verdict natgwd has no equivalent for (@why says) */
        /* Filter chains only (a nat chain's DROP, REJECT and LOG are IMP_T_OTHER, IMP_T_NONE). */
        IMP_T_DROP,
        IMP_T_REJECT,
        IMP_T_LOG,
};

/* Conntrack states a filter rule matches (-m conntrack --ctstate, -m state, ct state/status). */
enum {
        IMP_CT_NEW = 1 << 0,
        IMP_CT_ESTABLISHED = 1 << 1,
        IMP_CT_RELATED = 1 << 2,
        IMP_CT_DNAT = 1 << 3,
        IMP_CT_OTHER = 1 << 4, /* INVALID, UNTRACKED, SNAT, ... */
};

/* Which fields of a match are negated ("! -s ..."). */
enum {
        IMP_NEG_IIF = 1 << 0,
        IMP_NEG_OIF = 1 << 1,
        IMP_NEG_SRC = 1 << 2,
        IMP_NEG_DST = 1 << 3,
        IMP_NEG_PROTO = 1 << 4,
        IMP_NEG_DPORT = 1 << 5,
};

/* What a rule matches; an empty field matches everything. */
struct imp_match {
        char iif[IFNAMSIZ], oif[IFNAMSIZ];
        struct natgw_prefix *src, *dst; /* any of them */
        size_t n_src, n_dst;
        unsigned protos; /* NATGW_PROTO_* bits; 0: every protocol */
        unsigned other_proto; /* a protocol natgwd cannot forward (its number), 0: none */
        struct natgw_port_range *dports; /* sorted, disjoint */
        size_t n_dports;
        bool dst_local; /* addrtype LOCAL / fib daddr type local */
        bool icmp;      /* the protocol (in other_proto) is ICMP or ICMPv6 */
        unsigned ct;    /* IMP_CT_*: filter rules only; 0: any state */
        unsigned neg;   /* IMP_NEG_* */
};

struct imp_rule {
        unsigned line;
        char *text; /* the rule as written, for the output's comments */
        struct imp_match m;
        enum imp_target target;
        char *jump; /* JUMP, GOTO: the chain */
        bool has_to;
        struct natgw_addr to_lo, to_hi; /* SNAT, DNAT, NETMAP (prefix in to_lo, length in to_len) */
        unsigned to_len;
        bool has_to_ports;
        struct natgw_port_range to_ports;
        uint16_t to_base;   /* DNAT "ADDR:A-B/BASE": ports map one to one from BASE; 0: none */
        bool random;        /* --random, --random-fully, --persistent, nft's flags */
        bool log;           /* nft: a log statement before the verdict ("log prefix ... drop") */
        char *comment;
        char *why; /* set: this rule cannot be expressed, and why */
        bool reported; /* its problem is in the list (a chain jumped to twice is walked twice) */
};

struct imp_chain {
        char *name;
        unsigned line;
        int family; /* AF_INET or AF_INET6 */
        enum imp_hook hook;
        bool filter; /* a chain of the filter table, walked by import-filter.c: FORWARD (hook
                      * IMP_HOOK_FORWARD), or a user chain it may jump to (iptables-save; nft: twin) */
        bool policy_drop;
        bool walking; /* the converter is inside it: a jump back to it is a loop */
        bool walked;  /* a filter user chain FORWARD reached (import-filter.c walks each once) */
        bool twin;    /* nft: a user chain's rules read as a forward chain's (filter too): reported
                       * only where a forward chain reaches it */
        struct imp_rule *rules;
        size_t n_rules, cap_rules;
};

struct imp_ruleset {
        struct imp_chain *chains;
        size_t n_chains, cap_chains;
};

void imp_ruleset_done(struct imp_ruleset *rs);

/* A new chain (empty) at the end of @rs; NULL on -ENOMEM. */
struct imp_chain *imp_chain_add(struct imp_ruleset *rs, const char *name, unsigned line, int family,
                                enum imp_hook hook);
/* The chain @name of @family, of the filter table (@filter) or not; NULL: none. */
struct imp_chain *imp_chain_find(struct imp_ruleset *rs, const char *name, int family, bool filter);

/* How deep jumps into user chains nest before the walks stop following them. */
#define IMP_JUMP_DEPTH_MAX 32
/* A new zeroed rule at the end of @c; NULL on -ENOMEM. */
struct imp_rule *imp_rule_add(struct imp_chain *c, unsigned line, const char *text);

void imp_match_done(struct imp_match *m);
int imp_match_copy(const struct imp_match *m, struct imp_match *ret);

/* Record why the rule cannot be expressed (the first reason wins). 0 or -ENOMEM. */
int imp_rule_fail(struct imp_rule *r, const char *fmt, ...) _printf_(2, 3);

/* Report @r as left out, in @problems under the dump's @name and its line; a rule is reported
 * once (later reasons are dropped). 0 or -ENOMEM. */
int imp_report(struct natgw_errors *problems, const char *name, struct imp_rule *r, const char *fmt, ...)
        _printf_(4, 5);

/* A warning on the line of @r; @x has the dump's problems and name. */
#define imp_note(x, r, ...) natgw_errors_warn((x)->problems, (x)->name, (r)->line, NULL, __VA_ARGS__)

/* Free what allow rule @a holds (its destinations and ports), and zero it. */
void imp_allow_done(struct natgw_allow *a);

/* Port sets: sorted, disjoint ranges. Add one range, keeping the set sorted and merged. */
int imp_ports_add(struct natgw_port_range **v, size_t *n, struct natgw_port_range r);
/* Prefixes covering [lo, hi] exactly (an iprange), appended to *v. */
int imp_prefixes_from_range(const struct natgw_addr *lo, const struct natgw_addr *hi, struct natgw_prefix **v,
                            size_t *n);
int imp_prefix_add(struct natgw_prefix **v, size_t *n, const struct natgw_prefix *p);

/*
 * The target of SNAT/DNAT: "A", "A-B", "[A]", "A:P", "A-B:P-Q", "A:P-Q/BASE", "[A]:P", ":P" into
 * the rule's to_* fields. 0 (a bad one sets the rule's why), -ENOMEM.
 */
int imp_nat_to_parse(struct imp_rule *r, const char *s);

/* The tokens of a line: words split at blanks, "..." with \" and \\ kept as one word. */
struct imp_tokens {
        char **v;
        size_t n;
};
void imp_tokens_done(struct imp_tokens *t);
/* 0, -EINVAL (an unterminated quote), -ENOMEM. */
int imp_tokenize(const char *line, struct imp_tokens *ret);

/* "eth0" or "eth0+" (a wildcard, which natgwd does not have) into @ret; -EINVAL when too long. */
int imp_ifname(const char *s, char ret[IFNAMSIZ]);

/* "A/N", "A" (host), with A/N masked; "A/255.255.0.0" (iptables' old mask form) too. */
int imp_prefix_parse(const char *s, struct natgw_prefix *ret);

/* The rules an output entry came from (in the order they were met). */
struct imp_origins {
        const struct imp_rule **v;
        size_t n, cap;
};
int imp_origins_add(struct imp_origins *o, const struct imp_rule *r);

/* What the converter hands the printer: entries of the model, each with its origins. */
struct imp_egress_item {
        struct natgw_egress e;
        struct imp_origins from;
};
struct imp_forward_item {
        struct natgw_forward f;
        struct imp_origins from;
};
/* A netmap entry is made of two NETMAP rules, the PREROUTING one (@in) and the POSTROUTING one
 * (@out) of the same interface and prefixes; until both are met it is half of one. */
struct imp_netmap_item {
        struct natgw_netmap nm;
        struct imp_rule *in, *out;
        struct imp_origins from;
};
struct imp_output {
        struct imp_chain *filter4, *filter6; /* the FORWARD chains (filter table), for imp_filter() */
        struct imp_ruleset *rs;              /* ... and the user chains they jump to */
        unsigned drop_line; /* imp_filter(): the catch-all DROP that drops what no rule accepts (0:
                             * FORWARD's policy DROP does) */
        /* imp_filter(): the rules of user chains as FORWARD reaches them (the jumps' matches
         * added); they borrow all but their match from the chain's rule */
        struct imp_rule **made;
        size_t n_made, cap_made;
        struct imp_egress_item *egress;
        size_t n_egress, cap_egress;
        struct imp_forward_item *forwards;
        size_t n_forwards, cap_forwards;
        struct imp_netmap_item *netmaps;
        size_t n_netmaps, cap_netmaps;
};
void imp_output_done(struct imp_output *o);
void imp_egress_item_done(struct imp_egress_item *it);
void imp_forward_item_done(struct imp_forward_item *it);

/*
 * The printer: groups the entries as natgwd groups them (one entry per target, tcp and udp of
 * the same ports as tcp+udp, adjacent ports as ranges), names them, and prints the config.
 * Entries that would still overlap in natgwd's sense are left out and reported.
 */
int imp_emit(struct imp_output *o, const char *name, const char *from_what, char **ret_text,
             struct natgw_errors *problems);

/*
 * The converter: the NAT rules of @rs as natgwd entries, in config text (*ret_text); every rule
 * left out in @problems (an error with its line and why), notes as warnings. @name names the
 * input in @problems. @from_what says what the input was ("iptables-save", "nft").
 */
int imp_convert(struct imp_ruleset *rs, const char *name, const char *from_what, char **ret_text,
                struct natgw_errors *problems);

/*
 * The filter table's FORWARD chains (import-filter.c), called by the printer once the entries
 * are grouped: the FORWARD policy as filter.forward, restricted ACCEPTs as the allow lists of
 * the egress entries (entry.allow, deny, log_denied), what natgwd implies (established,
 * DNAT, an egress entry's own traffic) checked and dropped; every rule it cannot express
 * reported. A forward whose connections the chain does not accept is left out (reported).
 * *ret_drop: filter.forward = "drop". 0 or -ENOMEM.
 */
int imp_filter(struct imp_output *o, const char *name, struct natgw_errors *problems, bool *ret_drop);

/* What a reader that stops at an error returns: -EINVAL, or @k (-ENOMEM) when the error could not be added. */
static inline int imp_stop(int k) {
        return k < 0 ? k : -EINVAL;
}

/* A conntrack state's IMP_CT_* bit ("ESTABLISHED", "established", "DNAT", ...); -EINVAL. */
int imp_ct_state(const char *name);

/* ---- sets of packets (import-match.c) ---- */
bool imp_prefixes_overlap(const struct natgw_prefix *a, const struct natgw_prefix *b);
/* Whether some address is in both lists (an empty list is every address). */
bool imp_pl_intersects(const struct natgw_prefix *a, size_t na, const struct natgw_prefix *b, size_t nb);
/* Every prefix of @a inside one of @b (an empty @b is everything, an empty @a is not covered by a non-empty @b). */
bool imp_pl_covered(const struct natgw_prefix *a, size_t na, const struct natgw_prefix *b, size_t nb);
/* Whether some packet matches both; a negated field is taken as "anything" (the safe side). */
bool imp_match_intersects(const struct imp_match *a, const struct imp_match *b);
/* Whether every packet @a matches, @b matches too (conntrack states are not compared). */
bool imp_match_covered(const struct imp_match *a, const struct imp_match *b);
/*
 * The packets both @ctx (the jumps that led here) and @m match, in *ret (free with
 * imp_match_done()): 1; 0 when there are none; -EOPNOTSUPP when a negated field meets a field
 * of the other side; -ENOMEM.
 */
int imp_match_and(const struct imp_match *ctx, const struct imp_match *m, struct imp_match *ret);

/*
 * NETMAP rules (import-netmap.c). imp_netmap_why(): why the NETMAP rule @r matching @m in the
 * PREROUTING (@inbound) or POSTROUTING chain cannot be half of a netmap entry, NULL when it can.
 * imp_netmap_add(): that half into @o, joined to the other half of the same entry when it was
 * met already; 0 or -ENOMEM. imp_netmap_missing(): the rule of item @it whose other half
 * never came, and which one it lacks ("POSTROUTING" or "PREROUTING"); NULL for a whole entry.
 * imp_netmap_prune(): the half items left out of @o.
 */
const char *imp_netmap_why(const struct imp_rule *r, const struct imp_match *m, bool inbound);
int imp_netmap_add(struct imp_output *o, struct imp_rule *r, const struct imp_match *m, bool inbound);
struct imp_rule *imp_netmap_missing(const struct imp_netmap_item *it, const char **ret_lacks);
void imp_netmap_prune(struct imp_output *o);
void imp_netmap_item_done(struct imp_netmap_item *it);

/* Readers: each fills @rs from @text; problems of rules outside the nat table go to @problems. */
int imp_read_iptables(const char *text, const char *name, struct imp_ruleset *rs, struct natgw_errors *problems);
int imp_read_nft(const char *text, const char *name, struct imp_ruleset *rs, struct natgw_errors *problems);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The few fixed rules of table inet natgw, as libnftnl expressions. Their number does not
 * grow with the number of forwards: one rule per (forward map, protocol), one lookup per
 * egress map, one rule per egress entry chain.
 */

#include <libmnl/libmnl.h>

#include "nft-plan.h"

enum natgw_forward_rule {
        NATGW_FORWARD_OUTSIDE,        /* prerouting: the packet's own key */
        NATGW_FORWARD_REFLECT_PRE,    /* prerouting: the reflected key (nft-reflect.h), label */
        NATGW_FORWARD_REFLECT_OUTPUT, /* output: the same, for the gateway's own processes */
};

/* prerouting / output: [fib daddr type local] count and dnat through forward map @m for @proto.
 * NATGW_FORWARD_REFLECT_PRE: not for packets that arrive by one of the @n_outside interfaces
 * @outside (those an entry names: reflection is for the inside, nft-reflect.h). */
int natgw_rule_forward(struct nlmsghdr *nlh, const struct natgw_map *m, size_t map_index, unsigned proto,
                       enum natgw_forward_rule how, const char *const *outside, size_t n_outside);

/* hairpin: a new connection a reflecting forward without in_interface translated, whose target
 * is on the client's interface: ct label set (so postrouting masquerades it). */
int natgw_rule_hairpin(struct nlmsghdr *nlh, const struct natgw_map *m, size_t map_index, unsigned proto);

/* helper: a new connection forward @f translated to its target, @proto, @target_ports: ct helper set @obj. */
int natgw_rule_helper_forward(struct nlmsghdr *nlh, const struct natgw_forward *f, unsigned proto,
                              const struct natgw_port_range *target_ports, const char *obj);

/* egress-NAME (before its NAT rule): @proto dport @port: ct helper set @obj. */
int natgw_rule_helper_egress(struct nlmsghdr *nlh, const struct natgw_egress *eg, unsigned proto, uint16_t port,
                             const char *obj);

/* postrouting: a reflected connection (its label) is masqueraded. */
int natgw_rule_reflect_masquerade(struct nlmsghdr *nlh);

/* @chain (postrouting, forward): oifname . saddr vmap @egressN / @policyN. */
int natgw_rule_egress_lookup(struct nlmsghdr *nlh, const char *chain, const struct natgw_map *m, size_t map_index);

/* netmap map @m: in prerouting (inbound) or postrouting (outbound), [nfproto] key, count
 * through its counter twin and dnat / snat by offset (ip prefix to ... map); in @chain "forward"
 * (the filter), an outbound map's lookup accepts. */
int natgw_rule_netmap(struct nlmsghdr *nlh, const char *chain, const struct natgw_map *m, size_t map_index);

/* chain egress-NAME: counter name NAME, then masquerade or snat. */
int natgw_rule_egress_entry(struct nlmsghdr *nlh, const struct natgw_egress *e);

/* chain @chain (natgwctl diagnose --watch): [iifname] nfproto l4proto [th dport within @ports]
 * [daddr] of forward @f: meta nftrace set 1. */
int natgw_rule_trace(struct nlmsghdr *nlh, const char *chain, const struct natgw_forward *f, uint8_t l4proto,
                     const struct natgw_port_range *ports);
/* chain @chain (the HA guard, nft-guard.c): nfproto, daddr within @vip, ct state new, and
 * l4proto tcp with tcp flags without syn (@l4proto IPPROTO_TCP) or l4proto udp (IPPROTO_UDP):
 * drop. */
int natgw_rule_ha_guard(struct nlmsghdr *nlh, const char *chain, const struct natgw_prefix *vip, uint8_t l4proto);

/* Log lines a second per entry with log_denied, and the burst the limit lets through. */
#define NATGW_LOG_RATE 5
#define NATGW_LOG_BURST 10
/* The NFLOG group that also gets every log_denied line. */
#define NATGW_LOG_GROUP 14

enum natgw_filter_rule {
        NATGW_FILTER_RULE_ESTABLISHED, /* ct state established,related accept */
        NATGW_FILTER_RULE_DNAT,        /* ct status dnat accept */
        NATGW_FILTER_RULE_DROP,        /* counter name "filter:forward" drop */
};

/* chain forward: one of its fixed rules. */
int natgw_rule_filter(struct nlmsghdr *nlh, enum natgw_filter_rule which);

/* chain allow-NAME: meta nfproto F, daddr . th dport . l4proto . ENTRY @allowF accept. */
int natgw_rule_allow_lookup(struct nlmsghdr *nlh, const struct natgw_egress *eg, uint32_t entry,
                            const struct natgw_map *m, size_t map_index);

enum natgw_deny_rule {
        NATGW_DENY_RULE_COUNT,   /* counter name "denied:NAME" */
        NATGW_DENY_RULE_LOG,     /* limit rate, log prefix "natgw NAME denied: " (kernel log, NFLOG) */
        NATGW_DENY_RULE_VERDICT, /* drop, or (reject) meta l4proto tcp reject with tcp reset */
        NATGW_DENY_RULE_UNREACH, /* reject: icmpx port-unreachable for the rest */
};

/* chain allow-NAME: what follows a packet no rule allowed, one rule each. */
int natgw_rule_allow_deny(struct nlmsghdr *nlh, const struct natgw_egress *eg, enum natgw_deny_rule which);

enum natgw_account_rule {
        NATGW_ACCOUNT_COUNT,     /* the entry's traffic counter, accept */
        NATGW_ACCOUNT_HOSTS,     /* the entry's traffic counter, the host's set updated, accept */
        NATGW_ACCOUNT_UNTRACKED, /* (after _HOSTS broke: the set is full) counter hosts:untracked, accept */
};

/*
 * chain account: the packets of forward or egress map @m's connections in one direction
 * (@reply), matched by the key of @m: for a forward, built from the connection's original tuple
 * (ct status dnat; the interface of its direction); for an egress map, oifname . saddr of an
 * original packet or iifname . daddr of a reply. See enum natgw_account_rule for what follows.
 * @hosts_set_id: the id of the host set the rule updates (NATGW_ACCOUNT_HOSTS).
 */
int natgw_rule_account(struct nlmsghdr *nlh, const struct natgw_map *m, size_t map_index, bool reply,
                       enum natgw_account_rule which, uint32_t hosts_set_id);

/* Whether the inside host of a packet that natgw_rule_account() matches is its source (it sends:
 * "out") or its destination. */
static inline bool natgw_account_host_is_source(const struct natgw_map *m, bool reply) {
        return m->kind == NATGW_MAP_FORWARD ? reply : !reply;
}

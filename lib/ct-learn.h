/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * Learn mode (natgwctl egress learn): the flows an egress entry's hosts made, as conntrack
 * shows them, folded into a proposed allow list that lets every one of them through. Pure:
 * flows in, rules out.
 */

#include <stdint.h>

#include "conf.h"

/* One flow: where it went. dport is 0 for protocols without ports. */
struct natgw_learn_flow {
        uint8_t l4proto;
        struct natgw_addr daddr;
        uint16_t dport;
};

/* A proposed rule (the model's own type) and the number of flows it covers. */
struct natgw_learn_rule {
        struct natgw_allow rule;
        uint64_t flows;
};

/* A service's destinations become "any" above this many distinct hosts... */
#define NATGW_LEARN_ANY_HOSTS 16
/* ...and a /24 (IPv6: /64) when at least this many of them share it. */
#define NATGW_LEARN_NET_HOSTS 4

/**
 * natgw_learn_propose() - a proposed allow list that covers every flow of @flows
 * @flows:   the flows (duplicates count as flows, as they are)
 * @n:       their number
 * @ret:     the rules, most flows first (free with natgw_learn_rules_free())
 * @ret_n:   their number
 *
 * Flows are grouped by service: TCP or UDP and destination port, ICMP (ICMPv6 for IPv6), or
 * another protocol (a rule with proto "all"). A service's destinations are folded: more than
 * NATGW_LEARN_ANY_HOSTS distinct hosts become any destination, hosts of which at least
 * NATGW_LEARN_NET_HOSTS share a /24 (/64) become that prefix, the others stay single hosts.
 * Services of one protocol with the same destinations merge into one rule with a port list,
 * and TCP and UDP rules with the same destinations and ports into one "tcp+udp" rule.
 *
 * Return: 0 or -ENOMEM.
 */
int natgw_learn_propose(const struct natgw_learn_flow *flows, size_t n, struct natgw_learn_rule **ret,
                        size_t *ret_n);

void natgw_learn_rules_free(struct natgw_learn_rule *v, size_t n);

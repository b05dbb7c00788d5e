/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * The nftables trace, for natgwctl diagnose --watch: the trace rule natgwd puts into its own
 * table for a forward's traffic (chain "diagnose-trace", which no apply ever names), and the
 * trace events natgwctl reads from the NFNLGRP_NFTRACE group. Building and parsing are pure.
 */

#include <linux/netlink.h>
#include <stdint.h>

#include "addr.h"
#include "conf.h"
#include "nl.h"

#define NATGW_TRACE_CHAIN "diagnose-trace"
/* Before conntrack (-200) and raw (-300): the first packet of a connection is marked before
 * any table, natgwd's own included, decides anything about it. */
#define NATGW_TRACE_PRIORITY (-350)
/* More port ranges than this are traced by protocol and interface alone. */
#define NATGW_TRACE_RANGES_MAX 32

/* A chain of table inet natgw that no apply names (diagnose-trace, ha-guard): NEWCHAIN of a
 * filter chain @chain on prerouting at @priority, policy accept; and DELRULE of all its rules
 * (@type NFT_MSG_DELRULE) or DELCHAIN. Each writes one message at @buf and returns its length
 * (-ENOMEM). */
int natgw_nft_side_chain(char *buf, uint32_t seq, const char *chain, int32_t priority);
int natgw_nft_side_clear(char *buf, uint16_t type, uint32_t seq, const char *chain);

/**
 * natgw_nft_trace_batch() - the batch that puts the trace rule for @f in place, or takes it away
 * @seq:       the batch's first sequence number; it uses @ret_n of them
 * @f:         the forward (only @on needs it)
 * @on:        true: (re)create chain diagnose-trace with one rule per protocol and port range
 *             that sets meta nftrace; false: flush and delete the chain
 * @buf:       where to, at least natgw_nft_trace_batch_size(@f) bytes, aligned for nlmsghdr
 * @ret_len:   the batch's length
 * @ret_first: the sequence number of the first message that asks for an ack
 * @ret_acks:  how many ask for one (the messages after it, in order)
 *
 * Pure. Return: 0.
 */
int natgw_nft_trace_batch(uint32_t seq, const struct natgw_forward *f, bool on, void *buf, size_t *ret_len,
                          uint32_t *ret_first, uint32_t *ret_acks);
size_t natgw_nft_trace_batch_size(const struct natgw_forward *f);

/* One trace event (NFT_MSG_TRACE). */
struct natgw_nft_trace {
        uint32_t id;              /* the same for every event of one packet */
        uint32_t type;            /* NFT_TRACETYPE_RULE, _RETURN, _POLICY */
        uint8_t family;           /* the table's family */
        char table[64], chain[64];
        bool has_handle, has_verdict, has_policy;
        uint64_t rule_handle;
        int32_t verdict;          /* NFTA_VERDICT_CODE: NF_DROP, NF_ACCEPT, NFT_JUMP, ... */
        uint32_t policy;          /* NFTA_TRACE_POLICY: a chain's policy that decided */
        uint32_t nfproto;         /* NFTA_TRACE_NFPROTO: NFPROTO_IPV4 / _IPV6 */
        bool has_src;
        struct natgw_addr src;    /* the packet's source, from its network header */
};

/* Whether the event says the packet was dropped (a rule's drop or reject, or a drop policy). */
bool natgw_nft_trace_is_drop(const struct natgw_nft_trace *t);

/**
 * natgw_nft_trace_parse() - one message of the trace group
 * @nlh: the message; its nlmsg_len must lie within the buffer (natgw_nlmsg_next() checks that)
 *
 * Pure. Return: 0; -EPROTO when it is no NFT_MSG_TRACE message.
 */
int natgw_nft_trace_parse(const struct nlmsghdr *nlh, struct natgw_nft_trace *ret);

/* A socket in the trace group (NFNLGRP_NFTRACE) with a large receive buffer. 0 or -errno. */
int natgw_nft_trace_subscribe(struct natgw_nl **ret);

/* Called per trace event: <0 stops with that error, 0 reads on. */
typedef int (*natgw_nft_trace_cb)(const struct natgw_nft_trace *t, void *userdata);

/**
 * natgw_nft_trace_read() - read one datagram of the trace group and hand its events to @cb
 *
 * Waits as the socket's timeout allows (natgw_nl_set_timeout()).
 * Return: 0; -ETIMEDOUT when nothing came; -ENOBUFS when events were lost (the socket stays
 * usable); @cb's error; other -errno.
 */
int natgw_nft_trace_read(struct natgw_nl *nl, natgw_nft_trace_cb cb, void *userdata);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * Other tables' base chains on the hooks a forward's traffic passes (prerouting, forward,
 * postrouting): where they drop or reject, read from the rules as the kernel holds them. A
 * hint for natgwctl diagnose without --watch; only the trace says which packets a rule took.
 */

#include <linux/netlink.h>
#include <stdint.h>

struct natgw_nft_drop {
        uint8_t family;            /* NFPROTO_IPV4, _IPV6, _INET */
        char table[64], chain[64];
        uint32_t hook;             /* NF_INET_PRE_ROUTING, _FORWARD, _POST_ROUTING */
        bool policy;               /* the chain's policy is drop (else: a rule, @handle) */
        uint64_t handle;
};

struct natgw_nft_others {
        struct natgw_nft_drop drops[16]; /* the first ones */
        size_t n_drops;                  /* all of them, also beyond the array */
        size_t n_chains;                 /* other tables' base chains on those hooks */
        size_t n_jumps;                  /* their rules that jump or go to another chain */
};

/**
 * natgw_nft_others_read() - the drops of other tables' base chains on the forward's hooks
 * @deadline: CLOCK_MONOTONIC usec no read waits past
 *
 * Two dumps (chains, then rules) on a socket of its own; table inet natgw is left out.
 * Return: 0 or -errno.
 */
int natgw_nft_others_read(uint64_t deadline, struct natgw_nft_others *ret);

/* "ip", "ip6", "inet", ... for an NFPROTO_*. */
const char *natgw_nft_family_name(uint8_t family);

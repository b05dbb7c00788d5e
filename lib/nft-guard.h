/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * The HA guard (docs/HA.md): while a node of an HA pair is not master, chain "ha-guard" of table
 * inet natgw drops TCP segments to the VIPs that would start a connection in the middle (ct state
 * new without SYN). keepalived gives the node the VIPs before `conntrackd -c` has committed the
 * peer's connections; without the guard such a segment meets no entry, reaches the node's own
 * stack and is answered with a reset. Dropped, it is sent again once the commit is done, and
 * `natgwctl ha master` takes the guard away right after the commit.
 *
 * On a node known to be backup or in fault (not merely without a role yet) the guard drops
 * every new UDP datagram to the VIPs as well: one that arrives before the commit (a reply to a
 * datagram the old master forwarded, a server that speaks first) would otherwise become an
 * entry of its own to the node's stack, the commit of the flow's entry would clash with it, and
 * the flow's next datagram would be translated to another port.
 */

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define NATGW_HA_GUARD_CHAIN "ha-guard"
/* After conntrack (-200), which marks the segment new, and after destination NAT (-100): a
 * segment a forward translates goes to its target, not to the VIP, and passes (picked up, it is
 * translated as before); what still goes to the VIP is a reply to a connection the node does
 * not know yet. */
#define NATGW_HA_GUARD_PRIORITY (-50)

/* The buffer natgw_nft_ha_guard_batch() needs for @n_vips addresses (0: to take it away), UDP
 * rules included. */
size_t natgw_nft_ha_guard_batch_size(size_t n_vips);

/**
 * natgw_nft_ha_guard_batch() - the batch that puts the guard in place, or takes it away
 * @seq:       the batch's first sequence number
 * @vips:      the addresses to guard; NULL (and @n_vips 0) takes the chain away
 * @n_vips:    their number
 * @udp:       a UDP rule for each VIP too (after the TCP ones)
 * @buf:       natgw_nft_ha_guard_batch_size() bytes, aligned for struct nlmsghdr
 * @ret_len:   the batch's length
 * @ret_first: the sequence number of its first message after BATCH_BEGIN
 * @ret_acks:  how many acks it asks for
 *
 * Return: 0 or -ENOMEM.
 */
int natgw_nft_ha_guard_batch(uint32_t seq, const struct natgw_prefix *vips, size_t n_vips, bool udp, void *buf,
                             size_t *ret_len, uint32_t *ret_first, uint32_t *ret_acks);

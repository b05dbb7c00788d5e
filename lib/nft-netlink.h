/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * nftables over lib/nl, inside the nft subsystem: the transaction (nft-netlink.c: a batch sent
 * in one datagram, every answer read, every error traced back to its message and from there to
 * the config entry that produced it) and the parser of the counter dump (nft-dump.c). What to
 * send and what to do about a refusal is nft-apply.c's business.
 */

#include "nft-batch.h"
#include "nl.h"

/**
 * natgw_nft_socket_open() - the netfilter socket for transactions: extended and capped acks
 * @ret: the socket
 *
 * Return: 0 or -errno.
 */
int natgw_nft_socket_open(struct natgw_nl **ret);

/**
 * natgw_nft_transact() - send @b on @nl and read every answer to it
 * @nl:        the socket
 * @b:         the batch; its sequence numbers must be reserved on @nl (natgw_nl_seq())
 * @p:         the plan it was built from, to name entries in errors (NULL: none)
 * @errors:    the kernel's refusals and transport failures are added here
 * @ret_first: the first failed ack (error 0 when none)
 *
 * Return: 0 when the kernel committed the batch, -EINVAL when it refused it, other -errno on
 * transport failure (then whether the batch was committed is unknown).
 */
int natgw_nft_transact(struct natgw_nl *nl, const struct natgw_batch *b, const struct natgw_plan *p,
                       struct natgw_errors *errors, struct natgw_nl_ack *ret_first);

/**
 * natgw_nft_report() - add the error of ack @a to @errors, naming the config entry behind it
 * @b:      the batch @a answers
 * @p:      its plan (NULL: no entry is named)
 * @a:      a failed ack
 * @errors: where to
 *
 * An element message's error offset (NLMSGERR_ATTR_OFFS) names the element, hence its entry.
 */
void natgw_nft_report(const struct natgw_batch *b, const struct natgw_plan *p, const struct natgw_nl_ack *a,
                      struct natgw_errors *errors);

/* One named counter as a dump of nftables objects names it. */
struct natgw_nft_counter {
        char name[256];
        uint64_t packets, bytes;
};

/**
 * natgw_nft_counter_parse() - read one NFT_MSG_NEWOBJ message of a dump of objects
 * @nlh: the message; its nlmsg_len must lie within the buffer (natgw_nlmsg_next() checks that)
 * @ret: filled on success
 *
 * Pure; anything may be in the message, nothing outside it is read.
 * Return: 0; -ENOENT when it is not a named counter of table inet natgw; -EPROTO when it is
 * no object message or its name is malformed.
 */
int natgw_nft_counter_parse(const struct nlmsghdr *nlh, struct natgw_nft_counter *ret);

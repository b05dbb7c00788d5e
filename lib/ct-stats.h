/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * The conntrack table's size and its per-CPU statistics, read over ctnetlink
 * (IPCTNL_MSG_CT_GET_STATS and the IPCTNL_MSG_CT_GET_STATS_CPU dump) from the network namespace
 * natgwd runs in. Not from /proc/net/stat/nf_conntrack, which recent kernels leave out.
 */

#include <stdint.h>

struct natgw_ct_stats {
        uint32_t count; /* entries in the table */
        uint32_t max;   /* nf_conntrack_max as the kernel enforces it */
        /* Summed over all CPUs since boot (or since the namespace was made). */
        uint64_t found, invalid, insert, insert_failed, drop, early_drop, error, search_restart,
                clash_resolve, chain_toolong;
        uint32_t cpus; /* CPUs that answered the dump */
};

struct natgw_nl;
struct nlmsghdr;

/**
 * natgw_ct_stats_read() - the table's count, max and the summed per-CPU counters
 * @nl:  a NETLINK_NETFILTER socket (natgw_nl_open())
 * @ret: filled on success
 *
 * Two requests, each bounded in time. Return: 0 or -errno (-EPROTO for an answer that does not
 * parse, -ETIMEDOUT when the kernel stays silent).
 */
int natgw_ct_stats_read(struct natgw_nl *nl, struct natgw_ct_stats *ret);

/**
 * natgw_ct_stats_parse() - add what one ctnetlink statistics message says to @s
 * @nlh: the message; its nlmsg_len must lie within the buffer (natgw_nlmsg_next() checks that)
 * @s:   accumulates count/max (global stats) and the per-CPU counters (cpus counts messages)
 *
 * The kernel's answer is input too: anything may be in the message, nothing outside it is read.
 * Return: 1 for the global statistics (the whole answer to their request), 0 for one CPU's,
 * -EPROTO for any other message or one too short for its header.
 */
int natgw_ct_stats_parse(const struct nlmsghdr *nlh, struct natgw_ct_stats *s);

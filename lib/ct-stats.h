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
 * natgw_ct_stats_parse() - add what the ctnetlink messages in @buf say to @s
 * @buf: what one recv() returned: zero or more netlink messages
 * @len: its length
 * @s:   accumulates count/max (global stats) and the per-CPU counters (cpus counts messages)
 *
 * The kernel's answer is input too: anything may be in @buf, and nothing outside it is read.
 * Return: 1 when NLMSG_DONE (or the answer to a non-dump request) was seen, 0 when more is to
 * come, -errno from an NLMSG_ERROR, -EPROTO for a malformed message.
 */
int natgw_ct_stats_parse(const void *buf, size_t len, struct natgw_ct_stats *s);

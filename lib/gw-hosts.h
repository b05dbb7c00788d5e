/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * metrics.hosts for the control socket (command "hosts", docs/PROTOCOL.md) and natgwctl top:
 * each inside host's traffic as the kernel counts it, its connections in the conntrack table,
 * the entry it leaves by; and, for top, rates from two such readings, ranked (pure).
 */

#include <jansson.h>

#include "conf.h"
#include "nft-hosts.h"

/* How long the connection count may take: past it, "connections" is null. */
#define NATGW_HOSTS_CT_USEC (2u * 1000000u)

/**
 * natgw_hosts_json() - the reply of command "hosts"
 * @c: the config in force
 *
 * {"ok": true, "monotonic_usec", "max", "timeout", "untracked_packets", "untracked_bytes",
 *  "hosts": [{"address", "entry", "bytes_out", "packets_out", "bytes_in", "packets_in",
 *  "connections"}]} sorted by address; an error reply when metrics.hosts is off.
 * Return: the reply; NULL when out of memory.
 */
json_t *natgw_hosts_json(const struct natgw_config *c);

/* One host of natgwctl top: its counts at the later reading, its rates between the two. */
struct natgw_top_row {
        struct natgw_addr addr;
        const char *entry;          /* borrowed from the reading; NULL: none */
        uint64_t bytes_out, bytes_in, packets_out, packets_in;
        int64_t connections;        /* -1: unknown */
        double rate_out, rate_in;   /* bytes per second */
};

/* One reading of command "hosts": its rows (sorted by address) and when it was made. */
struct natgw_top_sample {
        struct natgw_host *hosts;
        const char **entries;       /* per host: its entry's name or NULL (borrowed) */
        int64_t *connections;       /* per host, -1: unknown */
        size_t n;
        uint64_t usec;              /* CLOCK_MONOTONIC of natgwd */
};

/**
 * natgw_top_rates() - the rows of top: each host of @cur with its rate since @prev
 *
 * A host's rate is the growth of its counter over the time between the readings. A host @prev
 * did not have, or whose counter went down (its element expired and came back), counts all of
 * its bytes as new. Rows come ranked: by rate (out + in), then by bytes (out + in), then by
 * address.
 * Return: 0 or -ENOMEM (@ret: free()).
 */
int natgw_top_rates(const struct natgw_top_sample *prev, const struct natgw_top_sample *cur,
                    struct natgw_top_row **ret, size_t *ret_n);

/* Rank @rows as natgw_top_rates() does. */
void natgw_top_sort(struct natgw_top_row *rows, size_t n);

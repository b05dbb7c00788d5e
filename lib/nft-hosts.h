/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * metrics.hosts read back: the traffic of each inside host, per direction, as the kernel counts
 * it in the dynamic sets hosts4_out, hosts4_in, hosts6_out and hosts6_in of table inet natgw
 * (see NATGW_HOSTS_* in nft.h), merged into one row per host.
 */

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct natgw_host {
        struct natgw_addr addr;
        uint64_t bytes_out, packets_out; /* what the host sent */
        uint64_t bytes_in, packets_in;   /* what it received */
        int64_t entry; /* natgw_host_entry(): egress entries first, then forwards; -1: none */
};

/**
 * natgw_nft_hosts_read() - read the per-host counters of table inet natgw
 * @c:     the config in force, which names each host's entry (NULL: every entry -1)
 * @ret:   the hosts, sorted by address (natgw_addr_cmp()), IPv4 first; free()
 * @ret_n: their number
 *
 * Four set dumps on a socket of their own; a host in one direction only has zeros in the other.
 * Return: 0; -ENOENT when the table or its host sets are not there (metrics.hosts is off);
 * other -errno.
 */
int natgw_nft_hosts_read(const struct natgw_config *c, struct natgw_host **ret, size_t *ret_n);

/* One element of a host set: a host, a direction, its counter. */
struct natgw_host_count {
        struct natgw_addr addr;
        bool out; /* what the host sent (else received) */
        uint64_t packets, bytes;
};

/**
 * natgw_hosts_merge() - the elements of the host sets @v (any order; sorted in place) as one
 * row per address, sorted by address, entries -1
 *
 * Pure, for natgw_nft_hosts_read() and its tests; O(n log n).
 * Return: 0 or -ENOMEM (@ret: free()).
 */
int natgw_hosts_merge(struct natgw_host_count *v, size_t n, struct natgw_host **ret, size_t *ret_n);

/**
 * natgw_host_entry() - the entry whose connections carry host @a's traffic
 *
 * The egress entry with the most specific source prefix covering @a (the one its connections
 * out leave by), else the first forward whose target is @a, else -1. Entries are numbered
 * egress first, then forwards, as in the plan.
 */
int64_t natgw_host_entry(const struct natgw_config *c, const struct natgw_addr *a);

/* The name of entry @idx of @c (egress first, then forwards), NULL when out of range. */
const char *natgw_config_entry_name(const struct natgw_config *c, int64_t idx);

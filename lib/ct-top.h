/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * "Who is filling my conntrack table?": one dump of the table aggregated into the top sources,
 * the top destinations (address, port, protocol) and the share per protocol and TCP state.
 *
 * Bounded whatever the table holds: the top lists come from a Space-Saving summary of
 * NATGW_CT_TOP_TRACKED keys per list (memory fixed, about 200 KiB), which is exact while the
 * table holds at most that many distinct sources (or destinations) and otherwise never
 * undercounts a heavy hitter and overcounts by at most the reported error; and the dump stops
 * at a deadline (the result then says so).
 */

#include <jansson.h>

#include "conf.h"

#define NATGW_CT_TOP_TRACKED 4096
#define NATGW_CT_TOP_DEADLINE_USEC (5u * 1000000u)

struct natgw_ct_count {
        struct natgw_addr addr;
        uint16_t port;   /* destinations only */
        uint8_t l4proto; /* destinations only */
        uint64_t count;  /* entries (an upper bound when error > 0) */
        uint64_t error;  /* how much of count may belong to other keys (0: exact) */
};

struct natgw_ct_top {
        uint64_t total;
        struct natgw_ct_count *sources, *destinations; /* the top ones, most first */
        size_t n_sources, n_destinations;
        bool approximate;         /* more distinct keys than tracked: counts carry an error */
        bool truncated;           /* the deadline stopped the dump: total is what was read */
        uint64_t protos[256];     /* entries per layer-4 protocol number */
        uint64_t tcp_states[16];  /* entries per TCP conntrack state (TCP_CONNTRACK_*) */
        uint64_t dump_usec;       /* how long the dump and aggregation took */
};

/**
 * natgw_ct_top_dump() - dump the conntrack table of this network namespace and aggregate it
 * @top: how many top sources and destinations to keep (at most NATGW_CT_TOP_TRACKED)
 * @ret: the result (free with natgw_ct_top_free())
 *
 * Return: 0 or -errno.
 */
int natgw_ct_top_dump(unsigned top, struct natgw_ct_top **ret);
struct natgw_ct_top *natgw_ct_top_free(struct natgw_ct_top *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct natgw_ct_top *, natgw_ct_top_free);

/* The aggregation alone, for tests: a summary fed with keys one by one. */
struct natgw_ct_summary;
int natgw_ct_summary_new(size_t capacity, struct natgw_ct_summary **ret);
struct natgw_ct_summary *natgw_ct_summary_free(struct natgw_ct_summary *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct natgw_ct_summary *, natgw_ct_summary_free);
void natgw_ct_summary_add(struct natgw_ct_summary *s, const struct natgw_addr *addr, uint16_t port, uint8_t l4proto);
/* The @top largest, most first (caller frees *ret); whether counts are approximate. */
int natgw_ct_summary_top(const struct natgw_ct_summary *s, size_t top, struct natgw_ct_count **ret, size_t *ret_n,
                         bool *ret_approximate);

/* {"ok": true, "total", "approximate", "truncated", "sources": [{"address","count","percent"}],
 *  "destinations": [...], "protocols": {"tcp": n, ...}, "tcp_states": {"ESTABLISHED": n, ...}};
 * NULL: no memory. */
json_t *natgw_ct_top_json(const struct natgw_ct_top *t);

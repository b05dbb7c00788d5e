/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * "Who is filling my conntrack table?": one dump of the table aggregated into the top sources,
 * the top destinations (address, port, protocol) and the share per protocol and TCP state.
 * Memory is bounded by the table's size (a few dozen bytes per entry while it runs).
 */

#include <jansson.h>

#include "conf.h"

struct natgw_ct_count {
        struct natgw_addr addr;
        uint16_t port;   /* destinations only */
        uint8_t l4proto; /* destinations only */
        uint64_t count;
};

struct natgw_ct_top {
        uint64_t total;
        struct natgw_ct_count *sources, *destinations; /* the top ones, most first */
        size_t n_sources, n_destinations;
        uint64_t protos[256];     /* entries per layer-4 protocol number */
        uint64_t tcp_states[16];  /* entries per TCP conntrack state (TCP_CONNTRACK_*) */
        uint64_t dump_usec;       /* how long the dump and aggregation took */
};

/**
 * natgw_ct_top_dump() - dump the conntrack table of this network namespace and aggregate it
 * @top: how many top sources and destinations to keep
 * @ret: the result (free with natgw_ct_top_free())
 *
 * Return: 0 or -errno.
 */
int natgw_ct_top_dump(unsigned top, struct natgw_ct_top **ret);
struct natgw_ct_top *natgw_ct_top_free(struct natgw_ct_top *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct natgw_ct_top *, natgw_ct_top_free);

/* {"ok": true, "total", "sources": [{"address","count","percent"}], "destinations": [...],
 *  "protocols": {"tcp": n, ...}, "tcp_states": {"ESTABLISHED": n, ...}}; NULL: no memory. */
json_t *natgw_ct_top_json(const struct natgw_ct_top *t);

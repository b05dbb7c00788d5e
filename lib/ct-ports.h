/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * SNAT port usage: for each address connections are source-NATed to (snat `to`, masquerade's
 * interface address, a reflection's inside address), how many source ports of the range NAT
 * picks from are in use, per protocol (TCP, UDP), from one dump of the conntrack table. A
 * translated entry's port on that address is its reply tuple's destination port.
 *
 * NAT picks a port for an unprivileged source port (>= 1024) from 1024-65535; ports below are
 * a range of their own and not counted here. The kernel may give one port to connections to
 * different destinations, so a full range is the warning that new connections to a busy
 * destination start to fail, not proof that they do.
 *
 * Bounded: at most NATGW_CT_PORTS_ADDRS_MAX addresses (8 KiB of bitmap per address and
 * protocol); translated entries of further addresses are counted as untracked.
 */

#include <jansson.h>

#include "conf.h"
#include "ct-level.h"

#define NATGW_CT_PORTS_ADDRS_MAX 64
#define NATGW_CT_PORTS_FIRST 1024u
#define NATGW_CT_PORTS_LAST 65535u
#define NATGW_CT_PORTS_RANGE (NATGW_CT_PORTS_LAST - NATGW_CT_PORTS_FIRST + 1u)
#define NATGW_CT_PORTS_DEADLINE_USEC (5u * 1000000u)

struct natgw_ct_record;

/* One address and protocol. */
struct natgw_ct_port_use {
        struct natgw_addr addr;
        uint8_t l4proto; /* IPPROTO_TCP or IPPROTO_UDP */
        uint32_t used;   /* distinct ports of the range in use */
        uint64_t entries; /* translated entries (one port may serve several destinations) */
};

/* What one dump found. */
struct natgw_ct_ports {
        struct natgw_ct_port_use *v; /* sorted by address, then protocol */
        size_t n;
        uint64_t untracked; /* translated entries of addresses beyond the bound */
        bool truncated;     /* the deadline cut the dump */
        uint64_t dump_usec;
        uint8_t (*bits)[NATGW_CT_PORTS_RANGE / 8]; /* per element of v, until finished */
        size_t cap;
};

/* The level over checks, as the conntrack watch keeps its own. */
struct natgw_ct_ports_state {
        struct natgw_ct_ports *last; /* NULL: no dump yet */
        enum natgw_ct_level level;   /* of the fullest address and protocol */
        enum natgw_ct_level prev_level;
        uint64_t level_since_usec;   /* CLOCK_REALTIME of the last change, 0: never */
        size_t worst;                /* index in last->v of the fullest (when last->n > 0) */
        unsigned warn, critical;     /* percent of NATGW_CT_PORTS_RANGE */
        int read_error;              /* -errno of the last dump, 0: it worked */
        uint64_t checks;
};

int natgw_ct_ports_new(struct natgw_ct_ports **ret);
struct natgw_ct_ports *natgw_ct_ports_free(struct natgw_ct_ports *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct natgw_ct_ports *, natgw_ct_ports_free);

/**
 * natgw_ct_ports_add() - count one conntrack entry
 * @p: the tally
 * @r: the entry; only source-NATed ones (IPS_SRC_NAT) of TCP and UDP with a reply tuple count
 *
 * Return: 0 or -ENOMEM.
 */
int natgw_ct_ports_add(struct natgw_ct_ports *p, const struct natgw_ct_record *r);

/* The tally is complete: sort it and drop the bitmaps. */
void natgw_ct_ports_finish(struct natgw_ct_ports *p);

/**
 * natgw_ct_ports_dump() - one dump of this network namespace's conntrack table, tallied
 * @ret: the result (free with natgw_ct_ports_free())
 *
 * Stops at NATGW_CT_PORTS_DEADLINE_USEC (truncated). Return: 0 or -errno.
 */
int natgw_ct_ports_dump(struct natgw_ct_ports **ret);

/* Percent of the range @u uses. */
double natgw_ct_port_percent(const struct natgw_ct_port_use *u);

/**
 * natgw_ct_ports_update() - take the result of a dump into the state
 * @st: the state; its warn and critical are the thresholds
 * @p:  the new tally (taken over; NULL with @error < 0 when the dump failed)
 * @error: 0, or the -errno of a failed dump
 *
 * The level is natgw_ct_level_next() of the fullest address and protocol (with hysteresis).
 * Return: true when the level changed.
 */
bool natgw_ct_ports_update(struct natgw_ct_ports_state *st, struct natgw_ct_ports *p, int error);

void natgw_ct_ports_state_clear(struct natgw_ct_ports_state *st);

/* {"level", "since", "warn", "critical", "range", "untracked", "truncated", "dump_ms", "read_error", "addresses": [{"address",
 *  "protocol", "used", "percent", "entries"}], ...} for `status`; NULL: no memory. */
json_t *natgw_ct_ports_json(const struct natgw_ct_ports_state *st);

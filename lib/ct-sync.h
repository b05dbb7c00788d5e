/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * The HA pair's connection sync (docs/HA.md): the roles keepalived gives a node, the conntrackd
 * commands each transition runs, and what conntrackd tells about the sync. conntrackd does the
 * replication; natgwd only orders it and shows it.
 */

#include <stdbool.h>
#include <stdint.h>

#include "util-ha.h"

#define NATGW_HA_STEPS_MAX 4

/* One conntrackd client command of a transition: its option and what it does. */
struct natgw_ha_step {
        const char *option; /* "-c", ... */
        const char *what;
};

/**
 * natgw_ha_steps() - the conntrackd commands of the transition to @role, in order
 * @role:    master, backup or fault
 * @ret_n:   their number
 *
 * master: commit the external cache into the kernel (the peer's connections, before traffic
 * needs them), flush both caches, resync the internal cache from the kernel, send it all to the
 * peer. backup: check that conntrackd answers, shorten the kernel timers of connections this
 * node no longer carries, ask the master for its table. fault: shorten the timers.
 *
 * Return: the steps (static), or NULL for NATGW_HA_NONE.
 */
const struct natgw_ha_step *natgw_ha_steps(enum natgw_ha_role role, size_t *ret_n);

/* What `conntrackd -s` reports (the counters natgwd shows). */
struct natgw_ct_sync_stats {
        uint64_t internal_active; /* connections this node carries */
        uint64_t external_active; /* connections of the peer, held for a failover */
        uint64_t pkts_sent, pkts_recv; /* sync messages on the dedicated link */
        uint64_t errors_send, errors_recv;
        uint64_t lost;            /* sync messages the sequence tracking found missing */
};

/**
 * natgw_ct_sync_parse_stats() - read the output of `conntrackd -s`
 * @text: the text, NUL-terminated
 * @ret:  the counters, filled only on success
 *
 * Return: 0; -EBADMSG when the text lacks the cache and traffic sections (not conntrackd's, or
 * conntrackd not in sync mode).
 */
int natgw_ct_sync_parse_stats(const char *text, struct natgw_ct_sync_stats *ret);

/**
 * natgw_ct_sync_conf_socket() - the control socket a conntrackd.conf names (General/UNIX/Path)
 * @text: the file's text, NUL-terminated
 * @buf:  where the path goes
 * @size: its size
 *
 * Return: 0; -ENOENT when the file names none; -ENAMETOOLONG.
 */
int natgw_ct_sync_conf_socket(const char *text, char *buf, size_t size);

/**
 * natgw_ct_sync_query_stats() - ask the conntrackd on @path for its statistics
 * @path:         conntrackd's UNIX socket
 * @timeout_usec: how long the whole exchange may take
 * @ret:          the counters, filled only on success
 *
 * What `conntrackd -s` does, without a process: one request, the text until conntrackd closes.
 * Return: 0; -ETIMEDOUT; -EBADMSG (see natgw_ct_sync_parse_stats()); -errno of the socket.
 */
int natgw_ct_sync_query_stats(const char *path, uint64_t timeout_usec, struct natgw_ct_sync_stats *ret);

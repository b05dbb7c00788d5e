/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"
#include "time-util.h"

/*
 * What natgwd reports over the control socket, as JSON (docs/PROTOCOL.md has every field):
 * the entries with their counters (`show`), the daemon's state (`status`), the outcome of a
 * reload or a check. natgwctl prints these; scripts read them with -j.
 */

#include <jansson.h>

#include "conf.h"
#include "ct-ports.h"
#include "ct-watch.h"
#include "ctl-server.h"
#include "gw.h"
#include "nft.h"

/* The last reload as the daemon remembers it. */
struct natgw_reload_record {
        uint64_t realtime_usec; /* 0: no reload yet */
        const char *trigger;    /* "natgwctl", "SIGHUP" */
        bool ok;
        struct natgw_errors errors; /* why it was rejected, or its warnings */
};

void natgw_reload_record_clear(struct natgw_reload_record *r);

/* The daemon's own facts that `status` shows next to the gateway's. */
struct natgw_daemon_info {
        const char *version;
        const char *socket;
        uint64_t started_realtime_usec;
        const struct natgw_reload_record *last_reload;
        bool on_exit_remove;
        const struct natgw_ctl_server_stats *control; /* may be NULL */
        const struct natgw_ct_watch *watch;           /* may be NULL: the table's size is read */
        const struct natgw_ct_ports_state *ports;     /* SNAT port usage; may be NULL */
};

/**
 * natgw_show_format() - every entry of @c with its counter: the reply to show, as the line the
 * daemon sends
 * @c:          the config in force
 * @counters:   the kernel's named counters (natgw_nft_dump_counters()), any order (sorted here)
 * @n_counters: their number
 * @only:       NULL, or the name of the one entry to show (none when no entry has that name)
 * @ret_len:    the line's length (may be NULL)
 *
 * Return: {"ok": true, "config": PATH, "entries": [...], "filter_forward", "forward_dropped"}
 * and a newline, with "connections" (the counter's packets: NAT chains see only the first packet
 * of each connection), "bytes", "traffic_bytes" and "traffic_packets" per entry (null when the
 * kernel has no counter of that name); NULL when out of memory. Written one entry at a time, never
 * as one JSON tree: at 50,000 entries the tree alone took about 130 MB.
 */
char *natgw_show_format(const struct natgw_config *c, struct natgw_counter *counters, size_t n_counters,
                        const char *only, size_t *ret_len);

/* {"ok": true, ...}: daemon, config, generation, last apply and reload, kernel settings. */
json_t *natgw_status_json(const struct natgw_gw *gw, const struct natgw_daemon_info *info);

/**
 * natgw_ct_stale_json() - the conntrack clean-up after an apply, for the reload reply and status
 * @st: what natgw_ct_stale_clean() did
 *
 * Return: {"read", "seen", "deleted", "deleted_added", "deleted_changed", "deleted_removed",
 * "kept_established", "kept_entry", "kept_entries_more", "vanished", "failed", "usec"}, or NULL
 * (out of memory).
 */
json_t *natgw_ct_stale_json(const struct natgw_ct_stale_stats *st);

/* The reply to `check` for @path: counts when @r >= 0, the errors when not; NULL: no memory. */
json_t *natgw_check_json(const char *path, int r, const struct natgw_check_result *res,
                         const struct natgw_errors *errors);


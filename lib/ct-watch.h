/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * The conntrack watch: every interval, the table's count and max and the kernel's per-CPU
 * counters (ct-stats), turned into a level with hysteresis (ct-level). What happens is told to
 * the daemon through one callback, which logs it:
 *   - LEVEL:   the level changed;
 *   - TOP:     at warn and above, one aggregated dump of the table (ct-top) — at most one per
 *              level change, and otherwise at most one a minute;
 *   - GREW / GROW_REFUSED: conntrack.auto_grow raised nf_conntrack_max one step (at critical and
 *              above, up to the ceiling), or the kernel refused (then not tried again until the
 *              next configure);
 *   - READ_FAILED / READ_OK: the statistics could not be read, or can again (said once each).
 */

#include <systemd/sd-event.h>

#include "ct-level.h"
#include "ct-stats.h"
#include "ct-top.h"

#define NATGW_CT_TOP_INTERVAL_USEC (60u * 1000000u)
#define NATGW_CT_WATCH_TOP 10

enum natgw_ct_watch_event {
        NATGW_CT_WATCH_LEVEL,
        NATGW_CT_WATCH_TOP_REPORT,
        NATGW_CT_WATCH_GREW,
        NATGW_CT_WATCH_GROW_REFUSED,
        NATGW_CT_WATCH_READ_FAILED,
        NATGW_CT_WATCH_READ_OK,
};

struct natgw_ct_watch_state {
        bool have_stats;
        struct natgw_ct_stats stats;   /* of the last successful check */
        uint64_t drops;                /* drop + early_drop that the last check saw rise */
        enum natgw_ct_level level;
        enum natgw_ct_level prev_level; /* before the last change */
        uint64_t level_since_usec;     /* CLOCK_REALTIME of the last change, 0: since start */
        int read_error;                /* -errno of the last check, 0: it worked */
        uint64_t checks;
        uint64_t check_usec_total;     /* wall time spent in checks */
        /* The last aggregated dump the watch made (NULL: none yet), when, and at which level. */
        struct natgw_ct_top *top;
        uint64_t top_realtime_usec;
        enum natgw_ct_level top_level;
        /* conntrack.auto_grow */
        int64_t grow_ceiling, grow_step; /* -1: off */
        uint32_t grown_from, grown_to;   /* the last step taken (0: none) */
        int grow_error;                  /* -errno when the kernel refused, 0 otherwise */
};

struct natgw_ct_watch;

/* @old is the level before a LEVEL event; the state is the watch's own (read-only). */
typedef void (*natgw_ct_watch_cb)(enum natgw_ct_watch_event ev, const struct natgw_ct_watch_state *st,
                                  enum natgw_ct_level old, void *userdata);

/**
 * natgw_ct_watch_new() - a watch on @event, stopped until configured
 * Return: 0 or -errno.
 */
int natgw_ct_watch_new(sd_event *event, natgw_ct_watch_cb cb, void *userdata, struct natgw_ct_watch **ret);
struct natgw_ct_watch *natgw_ct_watch_free(struct natgw_ct_watch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct natgw_ct_watch *, natgw_ct_watch_free);

/**
 * natgw_ct_watch_configure() - (re)start the watch with the settings of a config
 * @w:             the watch
 * @warn:          percent
 * @critical:      percent
 * @interval_usec: between checks
 * @grow_ceiling:  conntrack.auto_grow, -1: off
 * @grow_step:     conntrack.auto_grow, -1: off
 *
 * Checks once at once (so the state is current when this returns), then every interval.
 * Return: 0 or -errno.
 */
int natgw_ct_watch_configure(struct natgw_ct_watch *w, unsigned warn, unsigned critical, uint64_t interval_usec,
                             int64_t grow_ceiling, int64_t grow_step);

const struct natgw_ct_watch_state *natgw_ct_watch_get_state(const struct natgw_ct_watch *w);

/* Percent of max the table holds (0 when max is unknown). */
double natgw_ct_percent(const struct natgw_ct_stats *s);

/* {"count","max","percent","level","since","drop","early_drop",...,"last_top": {...},
 *  "auto_grow": {...}} for `natgwctl status`; NULL: no memory. */
json_t *natgw_ct_watch_json(const struct natgw_ct_watch *w);

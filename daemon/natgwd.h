/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The daemon's state, shared by natgwd.c (loop, verbs) and natgwd-ct.c (the watch's log). */

#include <systemd/sd-event.h>

#include "ct-watch.h"
#include "ctl-server.h"
#include "gw-http.h"
#include "gw-json.h"
#include "gw-metrics.h"
#include "gw.h"

struct table_watch;
struct natgwd_ha;

struct daemon {
        struct natgw_gw *gw;
        sd_event *event;
        struct natgw_ctl_server *ctl;
        struct natgw_ct_watch *watch;
        uint64_t started_usec; /* CLOCK_REALTIME */
        struct natgw_reload_record last_reload;
        struct table_watch *table_watch; /* NULL: not watched (the table is owned by natgwd) */
        sd_event_source *trace_timer;    /* the diagnose trace rule is in place until it fires */
        struct natgwd_ha *ha;            /* NULL until natgwctl ha reports a transition */
        struct natgw_reload_stats reloads;
        struct natgw_http_server *metrics; /* GET /metrics on systemd's sockets; NULL: none passed */
        struct natgw_ct_ports_state ports; /* SNAT port usage (natgwd-metrics.c) */
        sd_event_source *ports_timer;
        double ports_interval; /* the config's conntrack.ports_interval the timer runs at */
        sd_event_source *trim_timer; /* natgwd_release_memory(): the heap trimmed when quiet */
        sd_event_source *release_defer; /* the config a reload replaced, freed after the reply */
};

/* Give the memory an apply freed back to the kernel once natgwd has been quiet for this long
 * (natgwd.c): a burst of reloads keeps it mapped. */
#define NATGWD_TRIM_DELAY_USEC (5u * 1000000u)
/* From the first apply on (natgwd.c: natgwd_keep_memory()): arrays below this size come from the
 * heap (glibc's most; 50,000 forwards are 7 MB), and free() never trims by itself. */
#define NATGWD_MMAP_THRESHOLD (32 * 1024 * 1024)
#define NATGWD_TRIM_THRESHOLD (1024 * 1024 * 1024)
void natgwd_release_memory(struct daemon *d);

/* STATUS= for systemd: generation, entries, the last reload, the conntrack level. */
void natgwd_notify_status(const struct daemon *d);

/* After the first apply: watch table inet natgw for other processes' changes and restore it
 * (natgwd-table.c), where the kernel lets them change it (no owner flag); a no-op elsewhere. */
void natgwd_table_watch_start(struct daemon *d);
void natgwd_table_watch_stop(struct daemon *d);

/* The control command "trace" (natgwd-trace.c): the diagnose trace rule for forward @entry for
 * @seconds, or away (0). natgwd_trace_stop(): away, if it is there. */
json_t *natgwd_trace(struct daemon *d, const char *entry, unsigned seconds);
void natgwd_trace_stop(struct daemon *d);

/* The control command "ha" (natgwd-ha.c): record and log the transition natgwctl ha ran, and
 * from then on read conntrackd's sync statistics. natgwd_ha_json(): the "ha" object of status. */
json_t *natgwd_ha_transition(struct daemon *d, const struct natgw_ctl_request *req);
json_t *natgwd_ha_json(const struct daemon *d);
/* After every apply and transition: the guard of the VIPs in place while the config has an "ha"
 * hint and this node is not master (lib/nft-guard.h), away otherwise. */
void natgwd_ha_guard(struct daemon *d);
void natgwd_ha_free(struct daemon *d);
/* The HA state for the metrics; false: not one of a pair (no transition reported). */
bool natgwd_ha_metrics(const struct daemon *d, struct natgw_ha_metrics *ret);
/* The journal priority of a level (conntrack, SNAT ports): notice for ok ... crit for full. */
int natgwd_level_priority(enum natgw_ct_level l);

/* natgw_ct_watch_cb: log what the conntrack watch saw. @userdata is the struct daemon. */
void natgwd_on_ct_event(enum natgw_ct_watch_event ev, const struct natgw_ct_watch_state *st,
                        enum natgw_ct_level old, void *userdata);

/* The control command "metrics": {"ok": true, "text": the exposition}. */
json_t *natgwd_metrics_reply(struct daemon *d);

/* Serve GET /metrics on the sockets systemd passed with FileDescriptorName=metrics (none: a
 * no-op); start the SNAT port usage check. Return: 0 or -errno (logged). */
int natgwd_metrics_start(struct daemon *d);
/* The port check follows the config in force (thresholds, interval). */
void natgwd_metrics_configure(struct daemon *d);
void natgwd_metrics_stop(struct daemon *d);

#ifdef NATGW_TEST_HOOKS
/* Test builds only (-Dtest_hooks=true, natgwd-test-hooks.c): SIGUSR2 hangs the event loop. */
int natgwd_test_hooks_add(sd_event *event);
#endif

/* Reserve the regions of libconfig's slice trees, for which natgwd replaces malloc()
 * (natgwd-alloc.c): for natgw_conf_tree_alloc, before any thread starts. NULL when there are
 * none: built with AddressSanitizer, run under valgrind, or no address space to be had. */
const struct natgw_tree_alloc *natgwd_tree_alloc_setup(void);

/* For the unit tests: allocations made in the regions since the start (read while none is used). */
size_t natgwd_tree_alloc_count(void);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The daemon's state, shared by natgwd.c (loop, verbs) and natgwd-ct.c (the watch's log). */

#include <systemd/sd-event.h>

#include "ct-watch.h"
#include "ctl-server.h"
#include "gw-json.h"
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
};

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

/* natgw_ct_watch_cb: log what the conntrack watch saw. @userdata is the struct daemon. */
void natgwd_on_ct_event(enum natgw_ct_watch_event ev, const struct natgw_ct_watch_state *st,
                        enum natgw_ct_level old, void *userdata);

#ifdef NATGW_TEST_HOOKS
/* Test builds only (-Dtest_hooks=true, natgwd-test-hooks.c): SIGUSR2 hangs the event loop. */
int natgwd_test_hooks_add(sd_event *event);
#endif

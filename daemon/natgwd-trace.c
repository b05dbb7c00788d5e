/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The trace rule of natgwctl diagnose --watch (control command "trace"): natgwd puts it into its
 * own table, since the table's owner flag refuses natgwctl's socket, and takes it away when
 * natgwctl asks, when the time natgwctl named has passed (plus a grace period: a natgwctl that
 * was killed leaves nothing behind for long), and when natgwd stops.
 */

#include "log.h"
#include "natgwd.h"
#include "nft.h"
#include "time-util.h"

/* natgwctl takes the rule away itself after its watch; this is for a natgwctl that could not. */
#define TRACE_GRACE_USEC (5 * 1000000ull)

static const struct natgw_forward *find_forward(const struct natgw_config *c, const char *name) {
        for (size_t i = 0; c && i < c->n_forwards; i++)
                if (streq(c->forwards[i].name, name))
                        return &c->forwards[i];
        return NULL;
}

static void trace_remove(struct daemon *d, const char *why) {
        int r;

        d->trace_timer = sd_event_source_disable_unref(d->trace_timer);
        r = natgw_nft_trace(d->gw->nft, NULL, false);
        if (r < 0)
                natgw_log(LOG_WARNING, "cannot remove the diagnose trace rule (%s): %s", why, strerror(-r));
        else
                natgw_log(LOG_INFO, "diagnose trace rule removed (%s)", why);
}

static int on_trace_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        trace_remove(userdata, "its time ran out");
        return 0;
}

json_t *natgwd_trace(struct daemon *d, const char *entry, unsigned seconds) {
        const struct natgw_forward *f = find_forward(d->gw->config, entry);
        int r;

        if (seconds == 0) {
                trace_remove(d, "natgwctl is done");
                return json_pack("{s:b,s:s,s:b}", "ok", 1, "entry", entry, "tracing", 0);
        }
        if (!f)
                return natgw_ctl_reply_error("no forward named \"%s\" in the config in force", entry);
        r = natgw_nft_trace(d->gw->nft, f, true);
        if (r < 0)
                return natgw_ctl_reply_error("cannot add the trace rule: %s", strerror(-r));
        d->trace_timer = sd_event_source_disable_unref(d->trace_timer);
        r = sd_event_add_time_relative(d->event, &d->trace_timer, CLOCK_MONOTONIC,
                                       seconds * 1000000ull + TRACE_GRACE_USEC, 100000, on_trace_timer, d);
        if (r < 0) {
                trace_remove(d, "no timer");
                return natgw_ctl_reply_error("cannot arm the trace rule's timer: %s", strerror(-r));
        }
        natgw_log(LOG_INFO, "diagnose trace rule for forward %s, at most %u s", entry, seconds);
        return json_pack("{s:b,s:s,s:b,s:s,s:I}", "ok", 1, "entry", entry, "tracing", 1, "chain", "diagnose-trace",
                         "seconds", (json_int_t)seconds);
}

void natgwd_trace_stop(struct daemon *d) {
        if (d->trace_timer)
                trace_remove(d, "natgwd stops");
}

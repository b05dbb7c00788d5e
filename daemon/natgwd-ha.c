/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * natgwd's view of the HA pair (docs/HA.md): the role `natgwctl ha` reported, how its last
 * transition went, and the sync, read from conntrackd's socket once a second while natgwd knows
 * it. conntrackd replicates the connections; natgwd only shows what it can see and says when the
 * picture looks like a split-brain: this node is master and its peer has gone silent on the
 * sync link (the peer is down, or both nodes are master and nothing is replicated).
 */

#include <limits.h>

#include "ct-sync.h"
#include "log.h"
#include "natgwd.h"
#include "nft.h"
#include "time-util.h"

#define HA_POLL_USEC 1000000ull          /* how often conntrackd is asked */
#define HA_QUERY_USEC 100000ull          /* how long one question may take (the loop waits) */
#define HA_PEER_SILENT_USEC 3000000ull   /* no sync message for this long: the peer is silent */

struct natgwd_ha {
        uint64_t since_usec;             /* CLOCK_REALTIME of the last transition */
        uint64_t steps_usec;
        sd_event_source *timer;
        uint64_t peer_heard_usec;        /* CLOCK_MONOTONIC when pkts_recv last grew */
        struct natgw_ct_sync_stats stats;
        enum natgw_ha_role role;
        unsigned transitions;
        int query_error;                 /* the last poll's -errno, 0 when it answered */
        bool result;
        bool have_stats;
        bool split_brain_logged;
        bool guard;                      /* chain ha-guard is in place */
        bool guard_udp;                  /* with its UDP rules (backup or fault) */
        char failed[8];
        char conntrackd[PATH_MAX];       /* "": not known, nothing polled */
};

static bool peer_silent(const struct natgwd_ha *h, uint64_t now) {
        return h->have_stats && now - h->peer_heard_usec >= HA_PEER_SILENT_USEC;
}

static bool split_brain(const struct natgwd_ha *h, uint64_t now) {
        return h->role == NATGW_HA_MASTER && peer_silent(h, now);
}

static void poll_conntrackd(struct natgwd_ha *h) {
        struct natgw_ct_sync_stats st;
        uint64_t now = natgw_mono_usec();
        int r;

        r = natgw_ct_sync_query_stats(h->conntrackd, HA_QUERY_USEC, &st);
        h->query_error = r < 0 ? r : 0;
        if (r < 0)
                return;
        if (!h->have_stats || st.pkts_recv != h->stats.pkts_recv)
                h->peer_heard_usec = now;
        h->stats = st;
        h->have_stats = true;
        if (split_brain(h, now) && !h->split_brain_logged) {
                natgw_log(LOG_WARNING, "ha: this node is master and its peer has sent nothing on the sync link for "
                                       "%.0f s: the peer is down, or both nodes are master (split-brain); "
                                       "connections are not replicated",
                          (double)(now - h->peer_heard_usec) / 1e6);
                h->split_brain_logged = true;
        } else if (!split_brain(h, now) && h->split_brain_logged) {
                natgw_log(LOG_INFO, "ha: the peer is heard on the sync link again");
                h->split_brain_logged = false;
        }
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct natgwd_ha *h = userdata;

        poll_conntrackd(h);
        (void)sd_event_source_set_time(s, usec + HA_POLL_USEC);
        return 0;
}

static int ensure(struct daemon *d) {
        if (!d->ha) {
                d->ha = calloc(1, sizeof(*d->ha));
                if (!d->ha)
                        return -ENOMEM;
        }
        return 0;
}

static void log_transition(const struct natgwd_ha *h) {
        char role[32], result[32], usec[48];
        const char *fields[] = { "NATGW_EVENT=ha", role, result, usec, NULL };

        snprintf(role, sizeof(role), "NATGW_HA_ROLE=%s", natgw_ha_role_to_string(h->role));
        snprintf(result, sizeof(result), "NATGW_HA_RESULT=%s", h->result ? "ok" : "failed");
        snprintf(usec, sizeof(usec), "NATGW_HA_USEC=%llu", (unsigned long long)h->steps_usec);
        if (h->result)
                natgw_log_fields(LOG_NOTICE, fields, "ha: now %s; conntrackd's sequence took %.1f ms",
                                 natgw_ha_role_to_string(h->role), (double)h->steps_usec / 1000.0);
        else
                natgw_log_fields(LOG_ERR, fields, "ha: now %s; conntrackd's sequence FAILED at %s after %.1f ms",
                                 natgw_ha_role_to_string(h->role), h->failed[0] ? h->failed : "?",
                                 (double)h->steps_usec / 1000.0);
}

void natgwd_ha_guard(struct daemon *d) {
        const struct natgw_config *c = d->gw->config;
        bool want = c && c->ha.present && c->ha.n_vips > 0 && (!d->ha || d->ha->role != NATGW_HA_MASTER);
        /* UDP only where this node is known not to be master: a natgwd restarted on the master
         * (no role until the next transition) must not drop new UDP to services on a VIP. */
        bool udp = want && d->ha && (d->ha->role == NATGW_HA_BACKUP || d->ha->role == NATGW_HA_FAULT);
        int r;

        if (!want && (!d->ha || !d->ha->guard))
                return;
        if (ensure(d) < 0)
                return;
        /* Put in place again after every apply: a replace of the table takes the chain away. */
        r = natgw_nft_ha_guard(d->gw->nft, want ? c->ha.vips : NULL, want ? c->ha.n_vips : 0, udp);
        if (r < 0) {
                natgw_log(LOG_ERR, "ha: cannot %s the guard of the VIPs: %s", want ? "put in place" : "take away",
                          strerror(-r));
                return;
        }
        if (want != d->ha->guard || udp != d->ha->guard_udp)
                natgw_log(LOG_INFO, "ha: guard of the VIPs %s", !want ? "taken away (master)" : udp ?
                          "in place, TCP and UDP (backup or fault)" : "in place, TCP (no role yet)");
        d->ha->guard = want;
        d->ha->guard_udp = udp;
}

json_t *natgwd_ha_transition(struct daemon *d, const struct natgw_ctl_request *req) {
        struct natgwd_ha *h;
        int r;

        if (ensure(d) < 0)
                return NULL;
        h = d->ha;
        if (req->ha.partial) {
                /* The commit is done; the rest of the sequence still runs. */
                h->role = req->ha.role;
                natgwd_ha_guard(d);
                return json_pack("{s:b,s:s}", "ok", 1, "role", natgw_ha_role_to_string(h->role));
        }
        h->role = req->ha.role;
        h->since_usec = natgw_now_usec(CLOCK_REALTIME);
        h->result = req->ha.result;
        h->steps_usec = req->ha.usec;
        snprintf(h->failed, sizeof(h->failed), "%s", req->ha.failed);
        h->transitions++;
        log_transition(h);
        natgwd_ha_guard(d);
        if (req->ha.conntrackd[0] && !streq(req->ha.conntrackd, h->conntrackd)) {
                snprintf(h->conntrackd, sizeof(h->conntrackd), "%s", req->ha.conntrackd);
                h->have_stats = false;
        }
        if (h->conntrackd[0]) {
                /* A fresh reading now: status right after a transition shows the new state. */
                poll_conntrackd(h);
                if (!h->timer) {
                        r = sd_event_add_time_relative(d->event, &h->timer, CLOCK_MONOTONIC, HA_POLL_USEC, 0,
                                                       on_timer, h);
                        if (r >= 0)
                                r = sd_event_source_set_enabled(h->timer, SD_EVENT_ON);
                        if (r < 0)
                                natgw_log(LOG_WARNING, "ha: cannot schedule the sync statistics: %s", strerror(-r));
                }
        }
        return json_pack("{s:b,s:s}", "ok", 1, "role", natgw_ha_role_to_string(h->role));
}

json_t *natgwd_ha_json(const struct daemon *d) {
        const struct natgwd_ha *h = d->ha;
        uint64_t now = natgw_mono_usec();
        json_t *sync, *o;
        char t[32];

        if (!h || (!h->transitions && !h->role))
                return json_pack("{s:s,s:b,s:b}", "role", "none", "guard", h && h->guard, "guard_udp", h && h->guard_udp);
        sync = json_pack("{s:s?}", "conntrackd", h->conntrackd[0] ? h->conntrackd : NULL);
        if (sync && h->query_error)
                json_object_set_new(sync, "error", json_string(strerror(-h->query_error)));
        if (sync && h->have_stats) {
                json_object_set_new(sync, "state", json_string(peer_silent(h, now) ? "peer-silent" : "ok"));
                json_object_set_new(sync, "peer_heard_ms_ago", json_integer((json_int_t)((now - h->peer_heard_usec) / 1000)));
                json_object_set_new(sync, "internal", json_integer((json_int_t)h->stats.internal_active));
                json_object_set_new(sync, "external", json_integer((json_int_t)h->stats.external_active));
                json_object_set_new(sync, "sent", json_integer((json_int_t)h->stats.pkts_sent));
                json_object_set_new(sync, "received", json_integer((json_int_t)h->stats.pkts_recv));
                json_object_set_new(sync, "lost", json_integer((json_int_t)h->stats.lost));
                json_object_set_new(sync, "errors", json_integer((json_int_t)h->stats.errors_send + (json_int_t)h->stats.errors_recv));
        } else if (sync)
                json_object_set_new(sync, "state", json_string(h->conntrackd[0] ? "unreachable" : "unknown"));
        o = json_pack("{s:s,s:s,s:I,s:{s:s,s:b,s:f,s:s?},s:o*,s:b,s:b,s:b}", "role", natgw_ha_role_to_string(h->role),
                      "since", natgw_format_time(h->since_usec, t, sizeof(t)), "transitions",
                      (json_int_t)h->transitions, "last_transition", "role", natgw_ha_role_to_string(h->role),
                      "result", h->result, "ms", (double)h->steps_usec / 1000.0, "failed",
                      h->failed[0] ? h->failed : NULL, "sync", sync, "split_brain", split_brain(h, now), "guard",
                      h->guard, "guard_udp", h->guard_udp);
        return o;
}

void natgwd_ha_free(struct daemon *d) {
        if (!d->ha)
                return;
        sd_event_source_disable_unref(d->ha->timer);
        free(d->ha);
        d->ha = NULL;
}

bool natgwd_ha_metrics(const struct daemon *d, struct natgw_ha_metrics *ret) {
        const struct natgwd_ha *h = d->ha;

        if (!h || (!h->transitions && !h->role))
                return false;
        *ret = (struct natgw_ha_metrics){
                .role = h->role,
                .transitions = h->transitions,
                .last_result = h->result,
                .split_brain = split_brain(h, natgw_mono_usec()),
                .guard = h->guard,
        };
        return true;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "ct-watch.h"
#include "nl.h"
#include "util-sysctl.h"
#include "time-util.h"

#define SYSCTL_CT_MAX "net/netfilter/nf_conntrack_max"

struct natgw_ct_watch {
        sd_event *event;
        sd_event_source *timer;
        struct natgw_nl *nl; /* ctnetlink, for the stats */
        natgw_ct_watch_cb cb;
        void *userdata;
        unsigned warn, critical;
        uint64_t interval_usec;
        uint64_t top_mono_usec; /* when the last dump was made, CLOCK_MONOTONIC */
        bool level_changed;     /* since the last dump */
        struct natgw_ct_watch_state st;
};

static void emit(struct natgw_ct_watch *w, enum natgw_ct_watch_event ev, enum natgw_ct_level old) {
        if (w->cb)
                w->cb(ev, &w->st, old, w->userdata);
}

static void maybe_dump(struct natgw_ct_watch *w) {
        uint64_t now = natgw_mono_usec();
        struct natgw_ct_top *t = NULL;

        if (w->st.level < NATGW_CT_WARN)
                return;
        if (!w->level_changed && w->st.top && now - w->top_mono_usec < NATGW_CT_TOP_INTERVAL_USEC)
                return;
        w->level_changed = false;
        w->top_mono_usec = now;
        /* A failed dump is not reported on its own: the next level change or minute tries again. */
        if (natgw_ct_top_dump(NATGW_CT_WATCH_TOP, &t) < 0)
                return;
        natgw_ct_top_free(w->st.top);
        w->st.top = t;
        w->st.top_realtime_usec = natgw_now_usec(CLOCK_REALTIME);
        w->st.top_level = w->st.level;
        emit(w, NATGW_CT_WATCH_TOP_REPORT, w->st.level);
}

static void maybe_grow(struct natgw_ct_watch *w) {
        const struct natgw_ct_stats *s = &w->st.stats;
        char value[32];
        uint64_t target;
        int r;

        if (w->st.grow_ceiling < 0 || w->st.grow_error < 0)
                return;
        /* The write was taken but the kernel's max did not follow: do not write it again and again. */
        if (w->st.grown_to && s->max < w->st.grown_to) {
                w->st.grow_error = -EIO;
                emit(w, NATGW_CT_WATCH_GROW_REFUSED, w->st.level);
                return;
        }
        if (w->st.level < NATGW_CT_CRITICAL || s->max >= (uint64_t)w->st.grow_ceiling)
                return;
        target = MIN((uint64_t)s->max + (uint64_t)w->st.grow_step, (uint64_t)w->st.grow_ceiling);
        snprintf(value, sizeof(value), "%" PRIu64, target);
        r = natgw_sysctl_write(SYSCTL_CT_MAX, value);
        if (r < 0) {
                w->st.grow_error = r;
                emit(w, NATGW_CT_WATCH_GROW_REFUSED, w->st.level);
                return;
        }
        w->st.grown_from = s->max;
        w->st.grown_to = (uint32_t)target;
        /* The next check sees the new max and recomputes the level. */
        emit(w, NATGW_CT_WATCH_GREW, w->st.level);
}

static void check(struct natgw_ct_watch *w) {
        uint64_t start = natgw_mono_usec();
        struct natgw_ct_stats s;
        enum natgw_ct_level old = w->st.level;
        int r;

        r = natgw_ct_stats_read(w->nl, &s);
        w->st.checks++;
        w->st.check_usec_total += natgw_mono_usec() - start;
        if (r < 0) {
                if (w->st.read_error != r) {
                        w->st.read_error = r;
                        emit(w, NATGW_CT_WATCH_READ_FAILED, old);
                }
                return;
        }
        if (w->st.read_error < 0) {
                w->st.read_error = 0;
                emit(w, NATGW_CT_WATCH_READ_OK, old);
        }
        w->st.drops = 0;
        if (w->st.have_stats) {
                uint64_t before = w->st.stats.drop + w->st.stats.early_drop, now = s.drop + s.early_drop;

                /* Counters only grow; a smaller sum means CPUs went offline: no drops seen. */
                w->st.drops = now > before ? now - before : 0;
        }
        w->st.stats = s;
        w->st.have_stats = true;
        w->st.level = natgw_ct_level_next(old, w->warn, w->critical, s.count, s.max, w->st.drops);
        if (w->st.level != old) {
                w->st.prev_level = old;
                w->st.level_since_usec = natgw_now_usec(CLOCK_REALTIME);
                w->level_changed = true;
                emit(w, NATGW_CT_WATCH_LEVEL, old);
        }
        maybe_dump(w);
        maybe_grow(w);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct natgw_ct_watch *w = userdata;
        uint64_t next = usec + w->interval_usec, now;

        check(w);
        /* From the time it was due, so checks keep their rhythm; but after the loop was busy
         * (a long reload) the next check is one interval away, not a burst to catch up. */
        if (sd_event_now(w->event, CLOCK_MONOTONIC, &now) >= 0 && next < now)
                next = now + w->interval_usec;
        (void)sd_event_source_set_time(s, next);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

int natgw_ct_watch_new(sd_event *event, natgw_ct_watch_cb cb, void *userdata, struct natgw_ct_watch **ret) {
        _cleanup_(natgw_ct_watch_freep) struct natgw_ct_watch *w = NULL;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->event = sd_event_ref(event);
        w->cb = cb;
        w->userdata = userdata;
        w->st.grow_ceiling = w->st.grow_step = -1;
        r = natgw_nl_open(NETLINK_NETFILTER, 0, &w->nl);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(event, &w->timer, CLOCK_MONOTONIC, UINT64_MAX / 2, 0, on_timer, w);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(w->timer, SD_EVENT_OFF);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}

struct natgw_ct_watch *natgw_ct_watch_free(struct natgw_ct_watch *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->timer);
        natgw_nl_free(w->nl);
        natgw_ct_top_free(w->st.top);
        sd_event_unref(w->event);
        free(w);
        return NULL;
}

int natgw_ct_watch_configure(struct natgw_ct_watch *w, unsigned warn, unsigned critical, uint64_t interval_usec,
                             int64_t grow_ceiling, int64_t grow_step) {
        uint64_t now;
        int r;

        w->warn = warn;
        w->critical = critical;
        w->interval_usec = MAX(interval_usec, (uint64_t)1000);
        /* A reload gives a refused auto_grow another chance (the operator may have fixed why). */
        w->st.grow_error = 0;
        w->st.grown_from = w->st.grown_to = 0;
        w->st.grow_ceiling = grow_ceiling;
        w->st.grow_step = grow_step;
        check(w);
        r = sd_event_now(w->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        r = sd_event_source_set_time(w->timer, now + w->interval_usec);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(w->timer, SD_EVENT_ONESHOT);
}

const struct natgw_ct_watch_state *natgw_ct_watch_get_state(const struct natgw_ct_watch *w) {
        return &w->st;
}

double natgw_ct_percent(const struct natgw_ct_stats *s) {
        return s->max ? 100.0 * (double)s->count / (double)s->max : 0.0;
}

static json_t *grow_json(const struct natgw_ct_watch_state *st) {
        if (st->grow_ceiling < 0)
                return json_null();
        return json_pack("{s:I,s:I,s:I,s:I,s:s?}", "ceiling", (json_int_t)st->grow_ceiling, "step",
                         (json_int_t)st->grow_step, "grown_from", (json_int_t)st->grown_from, "grown_to",
                         (json_int_t)st->grown_to, "refused", st->grow_error < 0 ? strerror(-st->grow_error) : NULL);
}

static json_t *top_json(const struct natgw_ct_watch_state *st) {
        json_t *j;
        char t[32];

        if (!st->top)
                return json_null();
        j = natgw_ct_top_json(st->top);
        if (j && (json_object_set_new(j, "time", json_string(natgw_format_time(st->top_realtime_usec, t, sizeof(t)))) < 0 ||
                  json_object_set_new(j, "level", json_string(natgw_ct_level_to_string(st->top_level))) < 0 ||
                  json_object_del(j, "ok") < 0)) {
                json_decref(j);
                return NULL;
        }
        return j;
}

json_t *natgw_ct_watch_json(const struct natgw_ct_watch *w) {
        const struct natgw_ct_watch_state *st = &w->st;
        const struct natgw_ct_stats *s = &st->stats;
        char since[32] = "";

        if (st->level_since_usec)
                natgw_format_time(st->level_since_usec, since, sizeof(since));
        return json_pack("{s:I,s:I,s:f,s:s,s:s?,s:s?,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:I,s:I,s:f,s:s?,s:o,"
                         "s:o}",
                         "count", (json_int_t)s->count, "max", (json_int_t)s->max, "percent", natgw_ct_percent(s),
                         "level", natgw_ct_level_to_string(st->level), "since", since[0] ? since : NULL,
                         "previous_level", st->level_since_usec ? natgw_ct_level_to_string(st->prev_level) : NULL,
                         "drop", (json_int_t)s->drop, "early_drop", (json_int_t)s->early_drop, "insert_failed",
                         (json_int_t)s->insert_failed, "search_restart", (json_int_t)s->search_restart, "invalid",
                         (json_int_t)s->invalid, "error", (json_int_t)s->error, "insert", (json_int_t)s->insert,
                         "found", (json_int_t)s->found, "clash_resolve", (json_int_t)s->clash_resolve, "cpus",
                         (json_int_t)s->cpus, "interval", (double)w->interval_usec / 1e6, "warn",
                         (json_int_t)w->warn, "critical", (json_int_t)w->critical, "check_ms_average",
                         st->checks ? (double)st->check_usec_total / (double)st->checks / 1000.0 : 0.0,
                         "read_error", st->read_error < 0 ? strerror(-st->read_error) : NULL, "last_top",
                         top_json(st), "auto_grow", grow_json(st));
}
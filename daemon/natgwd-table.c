/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * natgwd's watch on its own table. On kernels without the owner flag (natgwd's table then has
 * no flags) any process may delete or edit table inet natgw. natgwd listens to the kernel's
 * nftables notifications (lib/nft-monitor.c) and, when another process changed the table, puts
 * it back as the config in force says (natgw_gw_restore()), and logs NATGW_EVENT=table-restored.
 * Everything pending is read first, and a short settle delay lets a burst of changes end, so
 * that one restore answers them all; restores are limited (lib/nft-monitor.h: at most once a
 * second, at most once a minute while they keep being undone or keep failing, said once as
 * NATGW_EVENT=table-restore-paused). Where natgwd owns the table the kernel refuses everyone
 * else, and nothing is watched: a listener would make the kernel build a notification for every
 * element natgwd loads.
 */

#include <limits.h>
#include <sys/epoll.h>
#include <time.h>

#include "gw.h"
#include "log.h"
#include "natgwd.h"
#include "nft-monitor.h"
#include "time-util.h"

#define TABLE_WATCH_SETTLE_USEC (20u * 1000u)

struct table_watch {
        struct natgw_nft_monitor *monitor;
        sd_event_source *io, *timer;
        struct natgw_nft_change seen; /* what the notifications said since the last restore */
        bool missing;                 /* notifications were lost, and the table is gone */
        bool wanted;                  /* a restore is due */
        uint64_t wanted_since;        /* CLOCK_MONOTONIC */
        struct natgw_restore_limit limit;
};

static struct table_watch *table_watch_free(struct table_watch *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->io);
        sd_event_source_disable_unref(w->timer);
        natgw_nft_monitor_free(w->monitor);
        free(w);
        return NULL;
}

/* Why the table is restored, in words, for the log and for status; a retry keeps the words of
 * the change it retries (@last). */
static void restore_cause(const struct table_watch *w, const char *last, char *buf, size_t size) {
        char what[160], who[96];

        if (w->seen.changes > 0)
                snprintf(buf, size, "table inet natgw %s by another process (%s)",
                         natgw_nft_change_describe(&w->seen, what, sizeof(what)),
                         natgw_nft_change_who(&w->seen, who, sizeof(who)));
        else if (w->missing)
                snprintf(buf, size, "table inet natgw is gone (natgwd's notifications overran, so who removed it "
                                    "is unknown)");
        else if (buf != last)
                snprintf(buf, size, "%s", last);
}

/* Restore now; the cause is what the notifications said. Return: as natgw_gw_restore(). */
static int table_restore(struct daemon *d) {
        struct table_watch *w = d->table_watch;
        struct natgw_restore_record *rec = &d->gw->restore;
        struct natgw_errors errors = {};
        char ev[48], cfg[PATH_MAX + 16], gen[48], n[48], pid[48];
        const char *fields[] = { ev, cfg, gen, n, pid, NULL };
        int r;

        natgw_restore_limit_record(&w->limit, natgw_now_usec(CLOCK_MONOTONIC));
        restore_cause(w, rec->last_cause, rec->last_cause, sizeof(rec->last_cause));
        snprintf(pid, sizeof(pid), "NATGW_NFT_PID=%lu", (unsigned long)w->seen.pid);
        if (!w->seen.pid)
                fields[4] = NULL;
        /* From here on, what the notifications say is news (the restore's own are ignored). */
        w->seen = (struct natgw_nft_change){};
        w->missing = false;
        r = natgw_gw_restore(d->gw, &errors);
        /* As after an apply: the batch's memory goes back when natgwd is quiet. */
        natgwd_release_memory(d);
        snprintf(cfg, sizeof(cfg), "NATGW_CONFIG=%s", d->gw->config->path);
        snprintf(gen, sizeof(gen), "NATGW_GENERATION=%llu", (unsigned long long)d->gw->generation);
        snprintf(n, sizeof(n), "NATGW_RESTORES=%llu", (unsigned long long)rec->restored);
        if (r >= 0) {
                w->wanted = false;
                /* The restore put back the table the config says, without the HA guard (chain
                 * ha-guard is natgwd's per role, not the config's): back with it as after an apply. */
                natgwd_ha_guard(d);
                snprintf(ev, sizeof(ev), "NATGW_EVENT=table-restored");
                natgw_log_fields(LOG_WARNING, fields,
                                 "%s; restored it as %s (generation %llu) says, kernel %.1f ms (restore %llu)",
                                 rec->last_cause, d->gw->config->path, (unsigned long long)d->gw->generation,
                                 (double)rec->last_kernel_usec / 1000.0, (unsigned long long)rec->restored);
        } else {
                snprintf(ev, sizeof(ev), "NATGW_EVENT=table-restore-failed");
                natgw_log_fields(LOG_ERR, fields, "%s; restoring it failed:", rec->last_cause);
                natgw_log_errors(LOG_ERR, "table-restore-failed", "  ", &errors);
        }
        natgw_errors_clear(&errors);
        return r;
}

/* Restore now if the settle delay and the limit allow, else arm the timer for when they do. A
 * failed restore stays wanted: the second round arms the timer for the next try. */
static void table_watch_schedule(struct daemon *d) {
        struct table_watch *w = d->table_watch;

        for (int round = 0;; round++) {
                uint64_t now = natgw_now_usec(CLOCK_MONOTONIC), t;
                bool new_pause;
                int enabled = SD_EVENT_OFF, r;

                t = natgw_restore_limit_next(&w->limit, now, &new_pause);
                t = MAX(t, w->wanted_since + TABLE_WATCH_SETTLE_USEC);
                if (new_pause) {
                        char cause[256];

                        restore_cause(w, d->gw->restore.last_cause, cause, sizeof(cause));
                        natgw_log_fields(LOG_ERR, (const char *[]){ "NATGW_EVENT=table-restore-paused", NULL },
                                         "%s, again: natgwd tried to restore it %d times within %u s, and it keeps "
                                         "being changed or cannot be restored; natgwd now tries at most once every "
                                         "%u s until that stops",
                                         cause, NATGW_RESTORE_BURST, NATGW_RESTORE_WINDOW_USEC / 1000000u,
                                         NATGW_RESTORE_PAUSE_USEC / 1000000u);
                }
                if (t <= now && round == 0) {
                        (void)sd_event_source_set_enabled(w->timer, SD_EVENT_OFF);
                        if (table_restore(d) >= 0)
                                return;
                        continue;
                }
                /* An armed timer stays as it is: it never fires later than this one would. */
                if (sd_event_source_get_enabled(w->timer, &enabled) >= 0 && enabled != SD_EVENT_OFF)
                        return;
                r = sd_event_source_set_time(w->timer, t);
                if (r >= 0)
                        r = sd_event_source_set_enabled(w->timer, SD_EVENT_ONESHOT);
                if (r < 0)
                        natgw_log(LOG_ERR, "cannot schedule the restore of table inet natgw: %s", strerror(-r));
                return;
        }
}

static int on_table_watch_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct daemon *d = userdata;

        if (d->table_watch->wanted)
                table_watch_schedule(d);
        return 0;
}

static void table_watch_want(struct daemon *d) {
        struct table_watch *w = d->table_watch;

        if (!w->wanted) {
                w->wanted = true;
                w->wanted_since = natgw_now_usec(CLOCK_MONOTONIC);
        }
        table_watch_schedule(d);
}

static int on_table_watch_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct daemon *d = userdata;
        struct table_watch *w = d->table_watch;
        int r;

        r = natgw_nft_monitor_read(w->monitor, natgw_nft_portid(d->gw->nft), &w->seen);
        if (r < 0) {
                natgw_log(LOG_ERR, "reading the nftables notifications failed: %s; table inet natgw is no longer "
                                   "watched for changes by other processes",
                          strerror(-r));
                d->gw->restore.watching = false;
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        }
        /* More is pending: the loop calls again, and the decision waits for all of it. */
        if (r == NATGW_NFT_MONITOR_MORE)
                return 0;
        if (w->seen.lost && w->seen.changes == 0 && !w->missing) {
                /* Some notifications are gone: only the table's existence can be checked. */
                w->seen.lost = false;
                r = natgw_nft_table_exists();
                if (r < 0)
                        natgw_log(LOG_WARNING, "nftables notifications were lost, and whether table inet natgw is "
                                               "still there cannot be checked: %s",
                                  strerror(-r));
                else
                        natgw_log(LOG_DEBUG, "nftables notifications were lost; table inet natgw is %s",
                                  r ? "still there" : "gone");
                w->missing = r == 0;
        }
        if (w->seen.changes > 0 || w->missing)
                table_watch_want(d);
        return 0;
}

void natgwd_table_watch_start(struct daemon *d) {
        _cleanup_(freep) struct table_watch *w = NULL;
        int r;

        if (d->gw->last_stats.table_flags & NATGW_TABLE_F_OWNER)
                return;
        w = calloc(1, sizeof(*w));
        r = w ? natgw_nft_monitor_new(&w->monitor) : -ENOMEM;
        if (r >= 0)
                r = sd_event_add_io(d->event, &w->io, natgw_nft_monitor_fd(w->monitor), EPOLLIN, on_table_watch_io, d);
        if (r >= 0)
                r = sd_event_add_time(d->event, &w->timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_table_watch_timer, d);
        if (r >= 0)
                r = sd_event_source_set_enabled(w->timer, SD_EVENT_OFF);
        if (r < 0) {
                natgw_log(LOG_WARNING, "cannot watch table inet natgw for changes by other processes: %s",
                          strerror(-r));
                table_watch_free(TAKE_PTR(w));
                return;
        }
        d->table_watch = TAKE_PTR(w);
        d->gw->restore.watching = true;
        natgw_log(LOG_INFO, "table inet natgw has no owner flag on this kernel: natgwd restores it when another "
                            "process changes it");
}

void natgwd_table_watch_stop(struct daemon *d) {
        d->table_watch = table_watch_free(d->table_watch);
        if (d->gw)
                d->gw->restore.watching = false;
}

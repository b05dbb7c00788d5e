/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What natgwd says about the conntrack watch's events: one journal entry per event, with the
 * numbers as structured fields (NATGW_CT_*), so that `journalctl NATGW_EVENT=conntrack-level`
 * is the table's history.
 */

#include <arpa/inet.h>
#include <stdio.h>

#include "ct-watch.h"
#include "log.h"
#include "natgwd.h"

int natgwd_level_priority(enum natgw_ct_level l) {
        switch (l) {
        case NATGW_CT_FULL:
                return LOG_CRIT;
        case NATGW_CT_CRITICAL:
                return LOG_ERR;
        case NATGW_CT_WARN:
                return LOG_WARNING;
        default:
                return LOG_NOTICE;
        }
}

/* "10.0.0.5 120 (45.8%), 10.0.0.6 ..." for the first @n of @v (destinations with port/proto). */
static void top_text(const struct natgw_ct_count *v, size_t n, uint64_t total, bool dest, char *buf, size_t size) {
        size_t off = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < n && off < size; i++) {
                char a[INET6_ADDRSTRLEN], where[INET6_ADDRSTRLEN + 16];

                natgw_addr_format(&v[i].addr, a, sizeof(a));
                if (dest && v[i].port)
                        snprintf(where, sizeof(where), v[i].addr.family == AF_INET6 ? "[%s]:%u/%u" : "%s:%u/%u", a,
                                 v[i].port, v[i].l4proto);
                else
                        snprintf(where, sizeof(where), "%s", a);
                /* An approximate count is a range: at least count - error, at most count. */
                if (v[i].error)
                        off += (size_t)snprintf(buf + off, size - off, "%s%s %llu-%llu", i ? ", " : "", where,
                                                (unsigned long long)(v[i].count - v[i].error),
                                                (unsigned long long)v[i].count);
                else
                        off += (size_t)snprintf(buf + off, size - off, "%s%s %llu (%.1f%%)", i ? ", " : "",
                                                where, (unsigned long long)v[i].count,
                                                total ? 100.0 * (double)v[i].count / (double)total : 0.0);
        }
}

static void log_level(const struct natgw_ct_watch_state *st, enum natgw_ct_level old) {
        const struct natgw_ct_stats *s = &st->stats;
        char f[8][64];
        const char *fields[9];

        snprintf(f[0], sizeof(f[0]), "NATGW_EVENT=conntrack-level");
        snprintf(f[1], sizeof(f[1]), "NATGW_CT_LEVEL=%s", natgw_ct_level_to_string(st->level));
        snprintf(f[2], sizeof(f[2]), "NATGW_CT_PREVIOUS_LEVEL=%s", natgw_ct_level_to_string(old));
        snprintf(f[3], sizeof(f[3]), "NATGW_CT_COUNT=%u", s->count);
        snprintf(f[4], sizeof(f[4]), "NATGW_CT_MAX=%u", s->max);
        snprintf(f[5], sizeof(f[5]), "NATGW_CT_PERCENT=%.1f", natgw_ct_percent(s));
        snprintf(f[6], sizeof(f[6]), "NATGW_CT_DROP=%llu", (unsigned long long)s->drop);
        snprintf(f[7], sizeof(f[7]), "NATGW_CT_EARLY_DROP=%llu", (unsigned long long)s->early_drop);
        for (size_t i = 0; i < 8; i++)
                fields[i] = f[i];
        fields[8] = NULL;
        natgw_log_fields(natgwd_level_priority(st->level), fields,
                         "conntrack table %s (was %s): %u of %u entries (%.1f%%); drop %llu, early_drop %llu "
                         "(+%llu since the last check), insert_failed %llu",
                         natgw_ct_level_to_string(st->level), natgw_ct_level_to_string(old), s->count, s->max,
                         natgw_ct_percent(s), (unsigned long long)s->drop, (unsigned long long)s->early_drop,
                         (unsigned long long)st->drops, (unsigned long long)s->insert_failed);
}

static void log_top(const struct natgw_ct_watch_state *st) {
        const struct natgw_ct_top *t = st->top;
        char src[512], dst[640], fs[600], fd[720], lv[48];
        const char *fields[] = { "NATGW_EVENT=conntrack-top", lv, fs, fd, NULL };

        top_text(t->sources, MIN(t->n_sources, (size_t)5), t->total, false, src, sizeof(src));
        top_text(t->destinations, MIN(t->n_destinations, (size_t)5), t->total, true, dst, sizeof(dst));
        snprintf(lv, sizeof(lv), "NATGW_CT_LEVEL=%s", natgw_ct_level_to_string(st->top_level));
        snprintf(fs, sizeof(fs), "NATGW_CT_TOP_SOURCES=%s", src);
        snprintf(fd, sizeof(fd), "NATGW_CT_TOP_DESTINATIONS=%s", dst);
        natgw_log_fields(natgwd_level_priority(st->top_level), fields,
                         "conntrack table %s: %llu entries%s; top sources: %s; top destinations: %s "
                         "(natgwctl conntrack for more)",
                         natgw_ct_level_to_string(st->top_level), (unsigned long long)t->total,
                         t->truncated ? " (dump cut at its deadline)" : "", src, dst);
}

void natgwd_on_ct_event(enum natgw_ct_watch_event ev, const struct natgw_ct_watch_state *st,
                        enum natgw_ct_level old, void *userdata) {
        struct daemon *d = userdata;

        switch (ev) {
        case NATGW_CT_WATCH_LEVEL:
                log_level(st, old);
                natgwd_notify_status(d);
                break;
        case NATGW_CT_WATCH_TOP_REPORT:
                log_top(st);
                break;
        case NATGW_CT_WATCH_GREW:
                natgw_log_fields(LOG_WARNING, (const char *[]){ "NATGW_EVENT=conntrack-grow", NULL },
                                 "conntrack.auto_grow: raised nf_conntrack_max from %u to %u (ceiling %lld)",
                                 st->grown_from, st->grown_to, (long long)st->grow_ceiling);
                break;
        case NATGW_CT_WATCH_GROW_REFUSED:
                if (st->grow_error == -EIO) {
                        natgw_log_fields(LOG_ERR, (const char *[]){ "NATGW_EVENT=conntrack-grow", NULL },
                                         "conntrack.auto_grow: wrote %u to nf_conntrack_max but the kernel kept %u; "
                                         "not trying again until the next reload",
                                         st->grown_to, st->stats.max);
                        break;
                }
                natgw_log_fields(LOG_ERR, (const char *[]){ "NATGW_EVENT=conntrack-grow", NULL },
                                 "conntrack.auto_grow: cannot raise nf_conntrack_max from %u: %s%s; not trying "
                                 "again until the next reload",
                                 st->stats.max, strerror(-st->grow_error),
                                 st->grow_error == -EACCES || st->grow_error == -EROFS || st->grow_error == -EPERM
                                         ? " (it is read-only here: only the initial network namespace may change it)"
                                         : "");
                break;
        case NATGW_CT_WATCH_READ_FAILED:
                natgw_log(LOG_ERR, "cannot read the conntrack statistics over ctnetlink: %s (trying on)",
                          strerror(-st->read_error));
                break;
        case NATGW_CT_WATCH_READ_OK:
                natgw_log(LOG_INFO, "conntrack statistics readable again");
                break;
        }
}

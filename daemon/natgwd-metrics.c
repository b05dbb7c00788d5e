/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * natgwd's metrics: the exposition (for `natgwctl metrics` and GET /metrics on the sockets
 * systemd passes; natgwd opens no IP socket itself) and the SNAT port usage check, on its own
 * timer because it dumps the whole conntrack table.
 */

#include <arpa/inet.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "config.h"
#include "ct-ports.h"
#include "log.h"
#include "natgwd.h"
#include "time-util.h"

#define METRICS_FD_NAME "metrics"

static int render(struct daemon *d, char **ret, size_t *ret_len) {
        struct natgw_counter *counters = NULL;
        size_t n = 0;
        struct natgw_metrics_input in = {
                .version = NATGW_VERSION,
                .started_realtime_usec = d->started_usec,
                .config = d->gw->config,
                .generation = d->gw->generation,
                .ct = d->watch ? natgw_ct_watch_get_state(d->watch) : NULL,
                .reloads = &d->reloads,
                .restore = &d->gw->restore,
                .ports = &d->ports,
                .render_started_usec = natgw_mono_usec(),
        };
        int r;

        struct natgw_host *hosts = NULL;
        struct natgw_ha_metrics ha;

        if (natgwd_ha_metrics(d, &ha))
                in.ha = &ha;
        if (d->gw->config && d->gw->config->metrics.hosts) {
                r = natgw_nft_hosts_read(d->gw->config, &hosts, &in.n_hosts);
                if (r >= 0) {
                        in.hosts = hosts;
                        in.have_hosts = true;
                } else
                        natgw_log(LOG_DEBUG, "metrics: cannot read the host sets: %s", strerror(-r));
        }
        /* Without the counters (the table is gone) the rest is still worth a scrape. */
        r = natgw_nft_read_counters(d->gw->nft, &counters, &n);
        if (r >= 0) {
                natgw_counters_sort(counters, n);
                in.counters = counters;
                in.n_counters = n;
                in.have_counters = true;
        } else
                natgw_log(LOG_DEBUG, "metrics: cannot read the counters of table inet natgw: %s", strerror(-r));
        r = natgw_metrics_render(&in, ret, ret_len);
        natgw_counters_free(counters, n);
        free(hosts);
        return r;
}

json_t *natgwd_metrics_reply(struct daemon *d) {
        _cleanup_(freep) char *text = NULL;
        int r;

        r = render(d, &text, NULL);
        if (r < 0)
                return natgw_ctl_reply_error("cannot render the metrics: %s", strerror(-r));
        return json_pack("{s:b,s:s}", "ok", 1, "text", text);
}

static int on_scrape(char **ret_body, size_t *ret_len, void *userdata) {
        int r = render(userdata, ret_body, ret_len);

        if (r < 0)
                natgw_log(LOG_ERR, "GET /metrics: cannot render the metrics: %s", strerror(-r));
        return r;
}

static void log_ports_level(const struct natgw_ct_ports_state *st) {
        const struct natgw_ct_port_use *u = st->last->n > 0 ? &st->last->v[st->worst] : NULL;
        char a[INET6_ADDRSTRLEN] = "-", f[6][96];
        const char *fields[] = { f[0], f[1], f[2], f[3], f[4], f[5], NULL };

        if (u)
                natgw_addr_format(&u->addr, a, sizeof(a));
        snprintf(f[0], sizeof(f[0]), "NATGW_EVENT=snat-ports-level");
        snprintf(f[1], sizeof(f[1]), "NATGW_PORTS_LEVEL=%s", natgw_ct_level_to_string(st->level));
        snprintf(f[2], sizeof(f[2]), "NATGW_PORTS_PREVIOUS_LEVEL=%s", natgw_ct_level_to_string(st->prev_level));
        snprintf(f[3], sizeof(f[3]), "NATGW_PORTS_ADDRESS=%s", a);
        snprintf(f[4], sizeof(f[4]), "NATGW_PORTS_PROTOCOL=%s",
                 u ? (u->l4proto == IPPROTO_TCP ? "tcp" : "udp") : "-");
        snprintf(f[5], sizeof(f[5]), "NATGW_PORTS_USED=%u", u ? u->used : 0);
        natgw_log_fields(natgwd_level_priority(st->level), fields,
                         "SNAT port usage %s (was %s): %s/%s uses %u of %u source ports (%.1f%%; warn %u%%, "
                         "critical %u%%)",
                         natgw_ct_level_to_string(st->level), natgw_ct_level_to_string(st->prev_level), a,
                         f[4] + strlen("NATGW_PORTS_PROTOCOL="), u ? u->used : 0, NATGW_CT_PORTS_RANGE,
                         u ? natgw_ct_port_percent(u) : 0.0, st->warn, st->critical);
}

static void check_ports(struct daemon *d) {
        struct natgw_ct_ports *p = NULL;
        int before = d->ports.read_error, r;

        r = natgw_ct_ports_dump(&p);
        if (natgw_ct_ports_update(&d->ports, r < 0 ? NULL : p, r < 0 ? r : 0))
                log_ports_level(&d->ports);
        if (r < 0 && r != before)
                natgw_log(LOG_ERR, "SNAT port usage: cannot dump the conntrack table: %s (trying on)", strerror(-r));
}

static int on_ports_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct daemon *d = userdata;
        uint64_t interval = (uint64_t)(d->gw->config->conntrack.ports_interval * 1e6);

        check_ports(d);
        /* The next one an interval after this one ended: a long dump never makes a burst. */
        (void)sd_event_source_set_time(s, natgw_mono_usec() + interval);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

void natgwd_metrics_configure(struct daemon *d) {
        const struct natgw_config *c = d->gw->config;
        bool again;
        int r;

        /* The count reads the conntrack table alone: after a reload it is counted again at once
         * only when what it is judged by (thresholds, interval) changed, or the reload deleted
         * stale conntrack entries. A reload of forwards leaves both as they were, and a count is
         * a dump of the whole table (200,000 entries: 1.2-1.6 s, natgwd(8)): configuration
         * management reloading once per drop-in would have dumped it as often. */
        again = !d->ports_timer || d->ports.warn != c->conntrack.ports_warn ||
                d->ports.critical != c->conntrack.ports_critical || d->ports_interval != c->conntrack.ports_interval ||
                d->gw->last_ct_stale.deleted > 0;
        d->ports.warn = c->conntrack.ports_warn;
        d->ports.critical = c->conntrack.ports_critical;
        d->ports_interval = c->conntrack.ports_interval;
        if (!again)
                return;
        /* The first count at the loop's next turn, not here: a reload (and its reply) must not
         * wait for a dump of the whole conntrack table. */
        if (!d->ports_timer)
                r = sd_event_add_time(d->event, &d->ports_timer, CLOCK_MONOTONIC, 0, 0, on_ports_timer, d);
        else {
                r = sd_event_source_set_time(d->ports_timer, 0);
                if (r >= 0)
                        r = sd_event_source_set_enabled(d->ports_timer, SD_EVENT_ONESHOT);
        }
        if (r < 0)
                natgw_log(LOG_ERR, "cannot schedule the SNAT port usage check: %s", strerror(-r));
}

int natgwd_metrics_start(struct daemon *d) {
        int fds[NATGW_HTTP_LISTEN_MAX];
        char **names = NULL;
        size_t k = 0;
        int n, r;

        /* Sockets of natgwd-metrics.socket (FileDescriptorName=metrics); others are not ours. */
        n = sd_listen_fds_with_names(true, &names);
        if (n < 0) {
                natgw_log(LOG_ERR, "cannot take the sockets systemd passed: %s", strerror(-n));
                return n;
        }
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;

                if (names && streq(names[i], METRICS_FD_NAME) && k < ELEMENTSOF(fds))
                        fds[k++] = fd;
                else {
                        natgw_log(LOG_WARNING, "closing a socket systemd passed as \"%s\": natgwd serves only \"%s\"",
                                  names ? names[i] : "?", METRICS_FD_NAME);
                        close(fd);
                }
        }
        for (int i = 0; names && i < n; i++)
                free(names[i]);
        free(names);
        if (k == 0)
                return 0;
        r = natgw_http_server_new(d->event, fds, k, "/metrics", NATGW_METRICS_CONTENT_TYPE, on_scrape, d, &d->metrics);
        if (r < 0) {
                natgw_log(LOG_ERR, "cannot serve GET /metrics on the sockets systemd passed: %s", strerror(-r));
                return r;
        }
        natgw_log(LOG_INFO, "serving GET /metrics on %zu socket%s passed by systemd", k, k == 1 ? "" : "s");
        return 0;
}

void natgwd_metrics_stop(struct daemon *d) {
        d->metrics = natgw_http_server_free(d->metrics);
        d->ports_timer = sd_event_source_disable_unref(d->ports_timer);
        natgw_ct_ports_state_clear(&d->ports);
}

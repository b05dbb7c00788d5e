/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>

#include "gw-metrics.h"
#include "time-util.h"

/* The exposition's writer: open_memstream() grows the text; the first error sticks. */

int natgw_metrics_open(struct natgw_metrics *m) {
        *m = (struct natgw_metrics){};
        m->f = open_memstream(&m->text, &m->len);
        return m->f ? 0 : -ENOMEM;
}

void natgw_metrics_done(struct natgw_metrics *m) {
        if (m->f)
                fclose(m->f);
        free(m->text);
        *m = (struct natgw_metrics){};
}

int natgw_metrics_close(struct natgw_metrics *m, char **ret_text, size_t *ret_len) {
        int r = m->error;

        if (fclose(m->f) != 0 && r == 0)
                r = -ENOMEM;
        m->f = NULL;
        if (r == 0 && !m->text)
                r = -ENOMEM;
        if (r < 0) {
                natgw_metrics_done(m);
                return r;
        }
        *ret_text = TAKE_PTR(m->text);
        if (ret_len)
                *ret_len = m->len;
        *m = (struct natgw_metrics){};
        return 0;
}

static bool name_valid(const char *s, bool metric) {
        if (!s || !*s || (s[0] >= '0' && s[0] <= '9'))
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                      *s == '_' || (metric && *s == ':')))
                        return false;
        return true;
}

/* Backslash and newline always; the double quote in label values only (the format says so). */
static void put_escaped(FILE *f, const char *s, bool quote) {
        size_t n;

        for (;;) {
                n = strcspn(s, quote ? "\\\n\"" : "\\\n"); /* a run to write as it is */
                fwrite(s, 1, n, f);
                s += n;
                if (!*s)
                        return;
                fputs(*s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : "\\\"", f);
                s++;
        }
}

static bool usable(struct natgw_metrics *m, const char *name, bool metric) {
        if (m->error < 0)
                return false;
        if (!name_valid(name, metric)) {
                m->error = -EINVAL;
                return false;
        }
        return true;
}

void natgw_metrics_family(struct natgw_metrics *m, const char *name, enum natgw_metric_type type,
                          const char *help) {
        if (!usable(m, name, true))
                return;
        fprintf(m->f, "# HELP %s ", name);
        put_escaped(m->f, help, false);
        fprintf(m->f, "\n# TYPE %s %s\n", name, type == NATGW_METRIC_COUNTER ? "counter" : "gauge");
}

static void sample_start(struct natgw_metrics *m, const char *name, const char *const *labels) {
        fputs(name, m->f);
        if (!labels || !labels[0])
                return;
        fputc('{', m->f);
        for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
                if (!name_valid(labels[i], false)) {
                        m->error = -EINVAL;
                        return;
                }
                fprintf(m->f, "%s%s=\"", i ? "," : "", labels[i]);
                put_escaped(m->f, labels[i + 1], true);
                fputc('"', m->f);
        }
        fputc('}', m->f);
}

/*
 * " VALUE\n" with the fewest digits that read back as @value: 0.1 is "0.1" and 1e300 "1e+300",
 * where %.17g wrote 0.10000000000000001 and 1.0000000000000001e+300 (the same doubles, but not
 * what a person reading the text expects, nor what Go's exporters write).
 */
static void put_double(FILE *f, double value) {
        char buf[32];

        for (int prec = 15; prec <= 17; prec++) {
                snprintf(buf, sizeof(buf), "%.*g", prec, value);
                if (prec == 17 || strtod(buf, NULL) == value)
                        break;
        }
        fprintf(f, " %s\n", buf);
}

void natgw_metrics_sample(struct natgw_metrics *m, const char *name, const char *const *labels, double value) {
        if (!usable(m, name, true))
                return;
        sample_start(m, name, labels);
        if (isnan(value))
                fputs(" NaN\n", m->f);
        else if (isinf(value))
                fputs(value > 0 ? " +Inf\n" : " -Inf\n", m->f);
        else
                put_double(m->f, value);
}

void natgw_metrics_sample_u64(struct natgw_metrics *m, const char *name, const char *const *labels,
                              uint64_t value) {
        if (!usable(m, name, true))
                return;
        sample_start(m, name, labels);
        fprintf(m->f, " %" PRIu64 "\n", value);
}

void natgw_metrics_single(struct natgw_metrics *m, const char *name, enum natgw_metric_type type,
                          const char *help, double value) {
        natgw_metrics_family(m, name, type, help);
        natgw_metrics_sample(m, name, NULL, value);
}

static int counter_cmp(const void *a, const void *b) {
        return strcmp(((const struct natgw_counter *)a)->name, ((const struct natgw_counter *)b)->name);
}

void natgw_counters_sort(struct natgw_counter *v, size_t n) {
        if (n > 0)
                qsort(v, n, sizeof(*v), counter_cmp);
}

const struct natgw_counter *natgw_counter_find(const struct natgw_counter *v, size_t n, const char *name) {
        struct natgw_counter key = { .name = (char *)name };

        return n > 0 ? bsearch(&key, v, n, sizeof(*v), counter_cmp) : NULL;
}

/* The families. */

static void render_build(struct natgw_metrics *m, const struct natgw_metrics_input *in) {
        natgw_metrics_family(m, "natgw_build_info", NATGW_METRIC_GAUGE, "natgwd's version; always 1.");
        natgw_metrics_sample(m, "natgw_build_info", (const char *[]){ "version", in->version, NULL }, 1);
        natgw_metrics_single(m, "natgw_start_time_seconds", NATGW_METRIC_GAUGE,
                             "When natgwd started, in seconds since the epoch.",
                             (double)in->started_realtime_usec / 1e6);
}

static void render_config(struct natgw_metrics *m, const struct natgw_metrics_input *in) {
        const struct natgw_config *c = in->config;
        uint64_t kinds[2] = {};

        if (!c)
                return;
        natgw_metrics_single(m, "natgw_config_generation", NATGW_METRIC_GAUGE,
                             "Applies of a config since natgwd started (the first apply is 1).",
                             (double)in->generation);
        for (size_t i = 0; i < c->n_egress; i++)
                kinds[c->egress[i].kind == NATGW_EGRESS_SNAT]++;
        natgw_metrics_family(m, "natgw_entries", NATGW_METRIC_GAUGE, "Entries of the config in force, by kind.");
        natgw_metrics_sample_u64(m, "natgw_entries", (const char *[]){ "kind", "masquerade", NULL }, kinds[0]);
        natgw_metrics_sample_u64(m, "natgw_entries", (const char *[]){ "kind", "snat", NULL }, kinds[1]);
        natgw_metrics_sample_u64(m, "natgw_entries", (const char *[]){ "kind", "forward", NULL }, c->n_forwards);
}

/* The kernel's per-CPU conntrack statistics, summed: one counter family each. */
static const struct {
        const char *name, *help;
        size_t offset;
} ct_stats[] = {
        { "natgw_conntrack_drop_total", "Packets dropped because the conntrack table was full.",
          offsetof(struct natgw_ct_stats, drop) },
        { "natgw_conntrack_early_drop_total", "Entries dropped early to make room for new ones.",
          offsetof(struct natgw_ct_stats, early_drop) },
        { "natgw_conntrack_insert_failed_total", "Entries that could not be inserted (a clash).",
          offsetof(struct natgw_ct_stats, insert_failed) },
        { "natgw_conntrack_invalid_total", "Packets conntrack could not track.",
          offsetof(struct natgw_ct_stats, invalid) },
        { "natgw_conntrack_error_total", "Packets with errors (ICMP errors without a matching entry).",
          offsetof(struct natgw_ct_stats, error) },
        { "natgw_conntrack_search_restart_total", "Table lookups restarted because of a resize.",
          offsetof(struct natgw_ct_stats, search_restart) },
        { "natgw_conntrack_found_total", "Lookups that found an entry.", offsetof(struct natgw_ct_stats, found) },
        { "natgw_conntrack_insert_total", "Entries inserted.", offsetof(struct natgw_ct_stats, insert) },
        { "natgw_conntrack_clash_resolve_total", "Insert clashes resolved.",
          offsetof(struct natgw_ct_stats, clash_resolve) },
        { "natgw_conntrack_chain_toolong_total", "Hash chains found too long (the kernel then grows nothing).",
          offsetof(struct natgw_ct_stats, chain_toolong) },
};

static void render_conntrack(struct natgw_metrics *m, const struct natgw_metrics_input *in) {
        const struct natgw_ct_watch_state *st = in->ct;

        if (!st)
                return;
        natgw_metrics_single(m, "natgw_conntrack_stats_up", NATGW_METRIC_GAUGE,
                             "1 when the last check could read the conntrack statistics over ctnetlink.",
                             st->have_stats && st->read_error == 0);
        if (!st->have_stats)
                return;
        natgw_metrics_single(m, "natgw_conntrack_entries", NATGW_METRIC_GAUGE, "Entries in the conntrack table.",
                             st->stats.count);
        natgw_metrics_single(m, "natgw_conntrack_entries_max", NATGW_METRIC_GAUGE,
                             "nf_conntrack_max as the kernel enforces it.", st->stats.max);
        natgw_metrics_single(m, "natgw_conntrack_level", NATGW_METRIC_GAUGE,
                             "The conntrack watch's level: 0 ok, 1 warn, 2 critical, 3 full.", st->level);
        for (size_t i = 0; i < ELEMENTSOF(ct_stats); i++) {
                uint64_t v;

                memcpy(&v, (const char *)&st->stats + ct_stats[i].offset, sizeof(v));
                natgw_metrics_family(m, ct_stats[i].name, NATGW_METRIC_COUNTER, ct_stats[i].help);
                natgw_metrics_sample_u64(m, ct_stats[i].name, NULL, v);
        }
}

enum entry_value {
        ENTRY_PACKETS,
        ENTRY_BYTES,
};

static const char *entry_kind(const struct natgw_config *c, size_t i) {
        if (i >= c->n_egress)
                return "forward";
        return c->egress[i].kind == NATGW_EGRESS_SNAT ? "snat" : "masquerade";
}

static const char *entry_name(const struct natgw_config *c, size_t i) {
        return i < c->n_egress ? c->egress[i].name : c->forwards[i - c->n_egress].name;
}

/*
 * One family with a sample per entry that has counter PREFIX + its name: the packets or bytes
 * of that counter, labelled entry and kind. @allow_only: only egress entries with an allow list.
 */
static void entry_counter_family(struct natgw_metrics *m, const struct natgw_metrics_input *in, const char *name,
                                 const char *help, const char *prefix, enum entry_value which, bool allow_only) {
        const struct natgw_config *c = in->config;
        char counter[256]; /* names are at most 64 characters (natgwd.conf(5)) */

        if (!c || !in->have_counters)
                return;
        natgw_metrics_family(m, name, NATGW_METRIC_COUNTER, help);
        for (size_t i = 0; i < c->n_egress + c->n_forwards; i++) {
                const struct natgw_counter *k;

                if (allow_only && (i >= c->n_egress || !c->egress[i].has_allow))
                        continue;
                snprintf(counter, sizeof(counter), "%s%s", prefix, entry_name(c, i));
                k = natgw_counter_find(in->counters, in->n_counters, counter);
                if (k)
                        natgw_metrics_sample_u64(m, name,
                                                 (const char *[]){ "entry", entry_name(c, i), "kind", entry_kind(c, i), NULL },
                                                 which == ENTRY_BYTES ? k->bytes : k->packets);
        }
}

static void render_entries(struct natgw_metrics *m, const struct natgw_metrics_input *in) {
        const struct natgw_counter *k;

        /* NAT chains see only the first packet of a connection: the packets are connections. */
        entry_counter_family(m, in, "natgw_entry_connections_total", "Connections each entry translated.", "",
                             ENTRY_PACKETS, false);
        entry_counter_family(m, in, "natgw_entry_denied_total",
                             "Packets an egress entry's allow list denied (new connections and their retries).",
                             NATGW_DENIED_COUNTER_PREFIX, ENTRY_PACKETS, true);
        entry_counter_family(m, in, "natgw_entry_traffic_bytes_total",
                             "Bytes of each entry's connections, both directions (chain account).",
                             NATGW_BYTES_COUNTER_PREFIX, ENTRY_BYTES, false);
        entry_counter_family(m, in, "natgw_entry_traffic_packets_total",
                             "Packets of each entry's connections, both directions (chain account).",
                             NATGW_BYTES_COUNTER_PREFIX, ENTRY_PACKETS, false);
        if (in->config && in->config->metrics.hosts && in->have_counters) {
                k = natgw_counter_find(in->counters, in->n_counters, NATGW_HOSTS_UNTRACKED_COUNTER);
                if (k)
                        natgw_metrics_single(m, "natgw_hosts_untracked_packets_total", NATGW_METRIC_COUNTER,
                                             "Packets of inside hosts that found the host sets full (metrics.hosts).",
                                             (double)k->packets);
        }
        if (!in->config || in->config->filter.forward != NATGW_FILTER_DROP || !in->have_counters)
                return;
        k = natgw_counter_find(in->counters, in->n_counters, NATGW_FILTER_COUNTER);
        if (k)
                natgw_metrics_single(m, "natgw_forward_filter_dropped_total", NATGW_METRIC_COUNTER,
                                     "Forwarded packets filter.forward = \"drop\" dropped.", (double)k->packets);
}

void natgw_reload_stats_add(struct natgw_reload_stats *s, uint64_t realtime_usec, uint64_t usec, bool ok) {
        if (ok)
                s->applied++;
        else
                s->rejected++;
        s->last_realtime_usec = realtime_usec;
        s->last_usec = usec;
        s->last_ok = ok;
}

static void render_reloads(struct natgw_metrics *m, const struct natgw_metrics_input *in) {
        const struct natgw_reload_stats *r = in->reloads;

        if (!r)
                return;
        natgw_metrics_family(m, "natgw_reloads_total", NATGW_METRIC_COUNTER,
                             "Reloads (natgwctl reload, SIGHUP) by result; rejected ones changed nothing.");
        natgw_metrics_sample_u64(m, "natgw_reloads_total", (const char *[]){ "result", "applied", NULL }, r->applied);
        natgw_metrics_sample_u64(m, "natgw_reloads_total", (const char *[]){ "result", "rejected", NULL }, r->rejected);
        if (!r->last_realtime_usec)
                return;
        natgw_metrics_single(m, "natgw_last_reload_timestamp_seconds", NATGW_METRIC_GAUGE,
                             "When the last reload started, in seconds since the epoch.",
                             (double)r->last_realtime_usec / 1e6);
        natgw_metrics_single(m, "natgw_last_reload_duration_seconds", NATGW_METRIC_GAUGE,
                             "How long the last reload took.", (double)r->last_usec / 1e6);
        natgw_metrics_single(m, "natgw_last_reload_success", NATGW_METRIC_GAUGE,
                             "1 when the last reload was applied, 0 when it was rejected.", r->last_ok);
}

static void render_restores(struct natgw_metrics *m, const struct natgw_metrics_input *in) {
        const struct natgw_restore_record *r = in->restore;

        if (!r)
                return;
        natgw_metrics_family(m, "natgw_table_restores_total", NATGW_METRIC_COUNTER,
                             "Restores of table inet natgw after another process changed it, by result.");
        natgw_metrics_sample_u64(m, "natgw_table_restores_total", (const char *[]){ "result", "restored", NULL },
                                 r->restored);
        natgw_metrics_sample_u64(m, "natgw_table_restores_total", (const char *[]){ "result", "failed", NULL },
                                 r->failed);
}

/* metrics.hosts: per inside host and direction, bounded by the host sets' size (65,536 each). */
static void render_hosts(struct natgw_metrics *m, const struct natgw_metrics_input *in) {
        static const struct {
                const char *name, *help;
                bool bytes;
        } fam[] = {
                { "natgw_host_bytes_total", "Bytes an inside host sent (out) and received (in).", true },
                { "natgw_host_packets_total", "Packets an inside host sent (out) and received (in).", false },
        };
        char a[INET6_ADDRSTRLEN];

        if (!in->have_hosts)
                return;
        natgw_metrics_single(m, "natgw_hosts_tracked", NATGW_METRIC_GAUGE,
                             "Inside hosts the kernel's host sets hold now (metrics.hosts).", (double)in->n_hosts);
        for (size_t f = 0; f < ELEMENTSOF(fam); f++) {
                natgw_metrics_family(m, fam[f].name, NATGW_METRIC_COUNTER, fam[f].help);
                for (size_t i = 0; i < in->n_hosts; i++) {
                        const struct natgw_host *h = &in->hosts[i];

                        natgw_addr_format(&h->addr, a, sizeof(a));
                        natgw_metrics_sample_u64(m, fam[f].name, (const char *[]){ "host", a, "direction", "out", NULL },
                                                 fam[f].bytes ? h->bytes_out : h->packets_out);
                        natgw_metrics_sample_u64(m, fam[f].name, (const char *[]){ "host", a, "direction", "in", NULL },
                                                 fam[f].bytes ? h->bytes_in : h->packets_in);
                }
        }
}

/* The HA pair (docs/HA.md): this node's role, its transitions, split-brain, the guard. */
static void render_ha(struct natgw_metrics *m, const struct natgw_metrics_input *in) {
        static const enum natgw_ha_role roles[] = { NATGW_HA_MASTER, NATGW_HA_BACKUP, NATGW_HA_FAULT };
        const struct natgw_ha_metrics *h = in->ha;

        if (!h)
                return;
        natgw_metrics_family(m, "natgw_ha_role", NATGW_METRIC_GAUGE,
                             "1 for this node's role in the HA pair (keepalived's, told by natgwctl ha).");
        for (size_t i = 0; i < ELEMENTSOF(roles); i++)
                natgw_metrics_sample(m, "natgw_ha_role",
                                     (const char *[]){ "role", natgw_ha_role_to_string(roles[i]), NULL },
                                     h->role == roles[i]);
        natgw_metrics_single(m, "natgw_ha_transitions_total", NATGW_METRIC_COUNTER,
                             "Role transitions natgwctl ha reported.", h->transitions);
        natgw_metrics_single(m, "natgw_ha_last_transition_success", NATGW_METRIC_GAUGE,
                             "1 when every conntrackd step of the last transition worked.", h->last_result);
        natgw_metrics_single(m, "natgw_ha_split_brain", NATGW_METRIC_GAUGE,
                             "1 when this node is master and has not heard its peer for 3 s.", h->split_brain);
        natgw_metrics_single(m, "natgw_ha_guard", NATGW_METRIC_GAUGE,
                             "1 while chain ha-guard drops mid-connection TCP to the VIPs (not master).", h->guard);
}

static const char *l4_name(uint8_t p) {
        return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : "other";
}

/* One family over every address and protocol of the last port dump. */
static void port_family(struct natgw_metrics *m, const struct natgw_ct_ports *p, const char *name,
                        const char *help, int what) {
        natgw_metrics_family(m, name, NATGW_METRIC_GAUGE, help);
        for (size_t i = 0; i < p->n; i++) {
                char a[INET6_ADDRSTRLEN];
                const char *labels[] = { "address", natgw_addr_format(&p->v[i].addr, a, sizeof(a)), "protocol",
                                         l4_name(p->v[i].l4proto), NULL };

                natgw_metrics_sample_u64(m, name, labels,
                                         what == 0 ? p->v[i].used : what == 1 ? NATGW_CT_PORTS_RANGE : p->v[i].entries);
        }
}

static void render_ports(struct natgw_metrics *m, const struct natgw_metrics_input *in) {
        const struct natgw_ct_ports_state *st = in->ports;

        if (!st || !st->last)
                return;
        port_family(m, st->last, "natgw_snat_ports_used",
                    "Source ports (1024-65535) in use on an address connections are source-NATed to.", 0);
        port_family(m, st->last, "natgw_snat_ports_available", "Source ports NAT picks from (1024-65535).", 1);
        port_family(m, st->last, "natgw_snat_port_entries",
                    "Source-NATed conntrack entries on an address (a port may serve several destinations).", 2);
        natgw_metrics_single(m, "natgw_snat_port_level", NATGW_METRIC_GAUGE,
                             "SNAT port usage level of the fullest address: 0 ok, 1 warn, 2 critical, 3 full.",
                             st->level);
        natgw_metrics_single(m, "natgw_snat_port_untracked_entries", NATGW_METRIC_GAUGE,
                             "Source-NATed entries of addresses beyond the tracked number.",
                             (double)st->last->untracked);
}

int natgw_metrics_render(const struct natgw_metrics_input *in, char **ret_text, size_t *ret_len) {
        static void (*const families[])(struct natgw_metrics *, const struct natgw_metrics_input *) = {
                render_build, render_config, render_conntrack, render_entries,
                render_reloads, render_restores, render_ports, render_hosts, render_ha,
        };
        struct natgw_metrics m;
        int r;

        r = natgw_metrics_open(&m);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(families); i++)
                families[i](&m, in);
        if (in->render_started_usec)
                natgw_metrics_single(&m, "natgw_scrape_duration_seconds", NATGW_METRIC_GAUGE,
                                     "How long natgwd took to gather and render this exposition.",
                                     (double)(natgw_mono_usec() - in->render_started_usec) / 1e6);
        return natgw_metrics_close(&m, ret_text, ret_len);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * The Prometheus text exposition (format 0.0.4) of what natgwd knows: the conntrack table and
 * the kernel's conntrack statistics, the entries' counters, reloads, table restores, SNAT port
 * usage and the build. `natgwctl metrics` prints it; natgwd serves it on GET /metrics.
 *
 * A family is one natgw_metrics_family() call followed by its samples; rendering is a list of
 * small functions, one per family or group of families, so a new family is one more call in
 * natgw_metrics_render(). Pure: everything comes in through struct natgw_metrics_input.
 */

#include <stdio.h>

#include "conf.h"
#include "ct-ports.h"
#include "ct-watch.h"
#include "gw.h"
#include "nft-hosts.h"
#include "nft.h"
#include "util-ha.h"

enum natgw_metric_type {
        NATGW_METRIC_COUNTER,
        NATGW_METRIC_GAUGE,
};

/* An exposition being written: the text so far, or the first error (sticky). */
struct natgw_metrics {
        FILE *f;
        char *text;
        size_t len;
        int error;
};

/* Reloads as the daemon counts them (the first apply at start is not a reload). */
struct natgw_reload_stats {
        uint64_t applied, rejected;
        uint64_t last_realtime_usec; /* 0: no reload yet */
        uint64_t last_usec;          /* how long the last one took */
        bool last_ok;
};

/* Count one reload that started at @realtime_usec and took @usec. */
void natgw_reload_stats_add(struct natgw_reload_stats *s, uint64_t realtime_usec, uint64_t usec, bool ok);

/* The HA pair's state (docs/HA.md) as the daemon knows it from natgwctl ha. */
struct natgw_ha_metrics {
        enum natgw_ha_role role;
        unsigned transitions;
        bool last_result;   /* the last transition's steps all worked */
        bool split_brain;   /* master, and the peer silent */
        bool guard;         /* chain ha-guard in place */
};

struct natgw_metrics_input {
        const char *version;
        uint64_t started_realtime_usec;
        const struct natgw_config *config; /* in force; NULL: none yet */
        uint64_t generation;
        /* Named counters of table inet natgw, sorted by name (natgw_counters_sort()); without
         * them (have_counters false) the per-entry families are left out. */
        const struct natgw_counter *counters;
        size_t n_counters;
        bool have_counters;
        const struct natgw_ct_watch_state *ct;       /* NULL: no watch */
        const struct natgw_reload_stats *reloads;    /* NULL: none counted */
        const struct natgw_restore_record *restore;  /* NULL: none */
        const struct natgw_ct_ports_state *ports;    /* NULL: not measured */
        /* metrics.hosts: the host sets' elements (natgw_nft_hosts_read()); have_hosts false:
         * off or not readable, the family is left out. */
        const struct natgw_host *hosts;
        size_t n_hosts;
        bool have_hosts;
        const struct natgw_ha_metrics *ha;           /* NULL: not one of an HA pair (yet) */
        uint64_t render_started_usec; /* CLOCK_MONOTONIC; 0: no natgw_scrape_duration_seconds */
};

/**
 * natgw_metrics_open() - start an exposition
 * @m: zeroed by the caller; freed with natgw_metrics_done()
 *
 * Return: 0 or -ENOMEM.
 */
int natgw_metrics_open(struct natgw_metrics *m);

/**
 * natgw_metrics_close() - end an exposition and take its text
 * @m:        the exposition
 * @ret_text: NUL-terminated text (caller frees); untouched on failure
 * @ret_len:  its length (may be NULL)
 *
 * Return: 0, or the first error any call met (-ENOMEM, -EINVAL for a bad name).
 */
int natgw_metrics_close(struct natgw_metrics *m, char **ret_text, size_t *ret_len);

/* Free what an exposition holds (after a failure, or instead of closing it). */
void natgw_metrics_done(struct natgw_metrics *m);

/**
 * natgw_metrics_family() - begin family @name: its # HELP and # TYPE lines
 * @m:    the exposition
 * @name: [a-zA-Z_:][a-zA-Z0-9_:]*; counters end in _total by convention
 * @type: counter or gauge
 * @help: one line of text (backslashes and newlines are escaped)
 */
void natgw_metrics_family(struct natgw_metrics *m, const char *name, enum natgw_metric_type type,
                          const char *help);

/**
 * natgw_metrics_sample() - one sample of the family begun last
 * @m:      the exposition
 * @name:   the family's name
 * @labels: label name, value, name, value, ..., NULL (NULL itself: no labels); values are
 *          escaped, names must be [a-zA-Z_][a-zA-Z0-9_]*
 * @value:  the value (NaN and infinities are written as Prometheus spells them)
 */
void natgw_metrics_sample(struct natgw_metrics *m, const char *name, const char *const *labels, double value);

/* natgw_metrics_sample() for a counter's exact integer value. */
void natgw_metrics_sample_u64(struct natgw_metrics *m, const char *name, const char *const *labels,
                              uint64_t value);

/* A family of one sample without labels: natgw_metrics_family() and natgw_metrics_sample(). */
void natgw_metrics_single(struct natgw_metrics *m, const char *name, enum natgw_metric_type type,
                          const char *help, double value);

/**
 * natgw_metrics_render() - the whole exposition of @in
 * @in:       what natgwd knows
 * @ret_text: the text (caller frees)
 * @ret_len:  its length (may be NULL)
 *
 * Return: 0, -ENOMEM.
 */
int natgw_metrics_render(const struct natgw_metrics_input *in, char **ret_text, size_t *ret_len);

/* Sort counters by name for natgw_counter_find(). */
void natgw_counters_sort(struct natgw_counter *v, size_t n);

/* The counter named @name in sorted @v, or NULL. */
const struct natgw_counter *natgw_counter_find(const struct natgw_counter *v, size_t n, const char *name);

/* The content type of the exposition, for an HTTP reply. */
#define NATGW_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

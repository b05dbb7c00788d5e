/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * metrics.hosts for the control socket and natgwctl top (see gw-hosts.h).
 */

#include <arpa/inet.h>
#include <linux/netfilter/nf_conntrack_common.h>

#include "ct-dump.h"
#include "ctl-proto.h"
#include "gw-hosts.h"
#include "nft.h"
#include "time-util.h"

struct ct_count {
        const struct natgw_host *hosts;
        size_t n;
        int64_t *counts;
};

static ssize_t host_find(const struct natgw_host *v, size_t n, const struct natgw_addr *a) {
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = natgw_addr_cmp(&v[mid].addr, a);

                if (c == 0)
                        return (ssize_t)mid;
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return -1;
}

/* A connection is its inside host's: the source of what it sent first, or the target a forward
 * sent it to (the reply's source). */
static int on_record(const struct natgw_ct_record *r, void *userdata) {
        struct ct_count *x = userdata;
        ssize_t i = host_find(x->hosts, x->n, &r->orig.src);

        if (i < 0 && r->has_reply && (r->status & IPS_DST_NAT))
                i = host_find(x->hosts, x->n, &r->reply.src);
        if (i >= 0)
                x->counts[i]++;
        return 0;
}

static json_t *host_json(const struct natgw_config *c, const struct natgw_host *h, int64_t connections) {
        char a[INET6_ADDRSTRLEN];

        return json_pack("{s:s,s:s?,s:I,s:I,s:I,s:I,s:o}", "address", natgw_addr_format(&h->addr, a, sizeof(a)),
                         "entry", natgw_config_entry_name(c, h->entry), "bytes_out", (json_int_t)h->bytes_out,
                         "packets_out", (json_int_t)h->packets_out, "bytes_in", (json_int_t)h->bytes_in,
                         "packets_in", (json_int_t)h->packets_in, "connections",
                         connections >= 0 ? json_integer((json_int_t)connections) : json_null());
}

json_t *natgw_hosts_json(const struct natgw_config *c) {
        _cleanup_(freep) struct natgw_host *hosts = NULL;
        _cleanup_(freep) int64_t *counts = NULL;
        _cleanup_(json_decrefp) json_t *a = NULL;
        const char *untracked_name = NATGW_HOSTS_UNTRACKED_COUNTER;
        struct natgw_counter *counters = NULL;
        uint64_t now, untracked_p = 0, untracked_b = 0;
        size_t n = 0, n_counters = 0;
        bool have_ct;
        int r;

        if (!c || !c->metrics.hosts)
                return natgw_ctl_reply_error("per-host accounting is off: set metrics = { hosts = true; } in %s",
                                             c ? c->path : "the config");
        r = natgw_nft_hosts_read(c, &hosts, &n);
        now = natgw_now_usec(CLOCK_MONOTONIC);
        if (r < 0)
                return natgw_ctl_reply_error("cannot read the host sets of table inet natgw: %s",
                                             r == -ENOENT ? "they are not there" : strerror(-r));
        counts = calloc(MAX(n, (size_t)1), sizeof(*counts));
        a = json_array();
        if (!counts || !a)
                return NULL;
        /* Connections: one pass over the conntrack table, bounded in time. */
        have_ct = n == 0 || natgw_ct_dump_records(now + NATGW_HOSTS_CT_USEC, on_record,
                                                  &(struct ct_count){ .hosts = hosts, .n = n, .counts = counts }) >= 0;
        /* The one counter, by name: a dump would read every entry's (100,000 at 50,000 forwards). */
        if (natgw_nft_get_counters(&untracked_name, 1, &counters, &n_counters) >= 0) {
                if (n_counters == 1) {
                        untracked_p = counters[0].packets;
                        untracked_b = counters[0].bytes;
                }
                natgw_counters_free(counters, n_counters);
        }
        for (size_t i = 0; i < n; i++)
                if (json_array_append_new(a, host_json(c, &hosts[i], have_ct ? counts[i] : -1)) < 0)
                        return NULL;
        return json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:O}", "ok", 1, "monotonic_usec", (json_int_t)now, "max",
                         (json_int_t)NATGW_HOSTS_MAX, "timeout", (json_int_t)NATGW_HOSTS_TIMEOUT_SEC,
                         "untracked_packets", (json_int_t)untracked_p, "untracked_bytes", (json_int_t)untracked_b,
                         "hosts", a);
}

/* ---- natgwctl top: rates and rank (pure) ---- */

static int row_cmp(const void *x, const void *y) {
        const struct natgw_top_row *a = x, *b = y;
        double ra = a->rate_out + a->rate_in, rb = b->rate_out + b->rate_in;
        uint64_t ba = a->bytes_out + a->bytes_in, bb = b->bytes_out + b->bytes_in;

        if (ra != rb)
                return ra > rb ? -1 : 1;
        if (ba != bb)
                return ba > bb ? -1 : 1;
        return natgw_addr_cmp(&a->addr, &b->addr);
}

void natgw_top_sort(struct natgw_top_row *rows, size_t n) {
        if (n > 1)
                qsort(rows, n, sizeof(*rows), row_cmp);
}

/* Bytes per second from @was to @now over @seconds; all of @now when the counter restarted. */
static double rate(uint64_t was, uint64_t now, double seconds) {
        return (double)(now >= was ? now - was : now) / seconds;
}

int natgw_top_rates(const struct natgw_top_sample *prev, const struct natgw_top_sample *cur,
                    struct natgw_top_row **ret, size_t *ret_n) {
        double seconds = cur->usec > prev->usec ? (double)(cur->usec - prev->usec) / 1e6 : 1.0;
        struct natgw_top_row *rows = calloc(MAX(cur->n, (size_t)1), sizeof(*rows));
        size_t j = 0;

        if (!rows)
                return -ENOMEM;
        for (size_t i = 0; i < cur->n; i++) {
                const struct natgw_host *h = &cur->hosts[i];
                const struct natgw_host *was = NULL;
                static const struct natgw_host zero;

                /* Both sorted by address: one walk. */
                while (j < prev->n && natgw_addr_cmp(&prev->hosts[j].addr, &h->addr) < 0)
                        j++;
                if (j < prev->n && natgw_addr_cmp(&prev->hosts[j].addr, &h->addr) == 0)
                        was = &prev->hosts[j];
                if (!was)
                        was = &zero;
                rows[i] = (struct natgw_top_row){
                        .addr = h->addr,
                        .entry = cur->entries ? cur->entries[i] : NULL,
                        .bytes_out = h->bytes_out,
                        .bytes_in = h->bytes_in,
                        .packets_out = h->packets_out,
                        .packets_in = h->packets_in,
                        .connections = cur->connections ? cur->connections[i] : -1,
                        .rate_out = rate(was->bytes_out, h->bytes_out, seconds),
                        .rate_in = rate(was->bytes_in, h->bytes_in, seconds),
                };
        }
        natgw_top_sort(rows, cur->n);
        *ret = rows;
        *ret_n = cur->n;
        return 0;
}

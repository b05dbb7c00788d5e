/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "gw-diagnose.h"
#include "nft-trace.h"
#include "time-util.h"

#include <linux/netfilter/nf_tables.h>

/* Packets told apart by their trace id; more than this many are counted as new each time. */
#define IDS_MAX 4096
/* How long one read waits: the stop flag is looked at in between. */
#define READ_USEC 200000ull

struct watch {
        const struct natgw_diag_input *in;
        struct natgw_diag_watch *w;
        uint32_t ids[IDS_MAX], dropped_ids[IDS_MAX];
        size_t n_ids, n_dropped;
};

/* Whether @id is in @v; if not, it is added (when there is room). */
static bool seen(uint32_t *v, size_t *n, uint32_t id) {
        for (size_t i = 0; i < *n; i++)
                if (v[i] == id)
                        return true;
        if (*n < IDS_MAX)
                v[(*n)++] = id;
        return false;
}

static int on_event(const struct natgw_nft_trace *t, void *userdata) {
        struct watch *d = userdata;
        struct natgw_diag_watch *w = d->w;

        /* Only the client asked about, when there is one. */
        if (d->in->has_from && t->has_src && natgw_addr_cmp(&t->src, &d->in->from) != 0)
                return 0;
        if (!seen(d->ids, &d->n_ids, t->id)) {
                w->packets++;
                if (!w->has_src && t->has_src) {
                        w->src = t->src;
                        w->has_src = true;
                }
        }
        /* natgwd's own table drops nothing it was not told to: only others' drops count. */
        if (!natgw_nft_trace_is_drop(t) || streq(t->table, "natgw") || seen(d->dropped_ids, &d->n_dropped, t->id))
                return 0;
        if (w->dropped++ == 0) {
                w->drop_family = t->family;
                snprintf(w->drop_table, sizeof(w->drop_table), "%s", t->table);
                snprintf(w->drop_chain, sizeof(w->drop_chain), "%s", t->chain);
                w->drop_policy = t->type == NFT_TRACETYPE_POLICY;
                w->drop_handle = t->rule_handle;
        }
        return 0;
}

int natgw_diag_watch(struct natgw_nl *nl, const struct natgw_diag_input *in, double seconds,
                     const volatile int *stop, struct natgw_diag_watch *ret) {
        _cleanup_(freep) struct watch *d = calloc(1, sizeof(*d));
        uint64_t start = natgw_mono_usec(), end = start + (uint64_t)(seconds * 1e6);
        struct natgw_diag_watch w = {};
        int r = 0;

        if (!d)
                return -ENOMEM;
        d->in = in;
        d->w = &w;
        while (!*stop) {
                uint64_t now = natgw_mono_usec();

                if (now >= end)
                        break;
                natgw_nl_set_timeout(nl, MIN(READ_USEC, end - now), UINT64_MAX);
                r = natgw_nft_trace_read(nl, on_event, d);
                /* A lost burst still leaves what was read; the next read goes on. */
                if (r == -ETIMEDOUT || r == -ENOBUFS) {
                        if (r == -ENOBUFS)
                                w.error = r;
                        r = 0;
                        continue;
                }
                if (r < 0)
                        break;
        }
        w.interrupted = *stop;
        w.seconds = (double)(natgw_mono_usec() - start) / 1e6;
        if (r < 0)
                w.error = r;
        *ret = w;
        return r;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * What a batch leaves in table inet natgw, by name, and what an update does with each set of
 * the previous content (nft-state.c); nft-batch.c encodes it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft-plan.h"
#include "util-sha256.h"

/* The chain of egress entry NAME is "egress-NAME". */
#define NATGW_EGRESS_CHAIN_PREFIX "egress-"

/*
 * One kernel set of the table, the size it was created with (0: no size, an interval map) and
 * the elements it holds, also as records (a 16-bit length, then the key, start and end for an
 * interval map, and what the element maps to: data bytes, or the name of the entry whose chain
 * or counter it names), sorted (memcmp): an update sends only the difference. Twins that map
 * the same keys to their entry's name (a forward map's two counter maps) share their records.
 */
struct natgw_table_set {
        char name[48];
        uint32_t size;
        size_t elements;
        uint8_t *recs;    /* the records, back to back */
        size_t *rec_off;  /* offsets of the records in @recs, in the plan's order of the elements */
        uint32_t key_len; /* bytes of one key (start or end) */
        bool recs_shared; /* @recs and @rec_off are the set's before (its twin's, the same records) */
};

/* The most elements an update deletes one by one from an interval map; with more to delete the
 * map is deleted and recreated (see natgw_batch_build()). */
#define NATGW_INTERVAL_DELETE_MAX 1000

/*
 * What a batch leaves in the kernel, by name: enough to build the next update. Names are kept
 * sorted (strcmp) for lookups; they point into @names.
 */
struct natgw_table_state {
        uint64_t serial;          /* the plan's it was built for (natgw_plan.serial) */
        bool valid;
        bool unfinished;          /* natgw_table_state_begin()'s: the sets laid out, nothing else */
        uint32_t table_flags;
        char *names;              /* every name below, NUL-terminated, back to back */
        const char **counters;    /* named counters: the entries' names, "bytes:NAME", "denied:NAME",
                                   * "filter:forward", "hosts:untracked" */
        size_t n_counters;
        size_t counters_len;      /* the counters' names come first in @names, in the plan's
                                   * order: these bytes */
        size_t names_len;         /* the bytes of @names */
        /* Built as an update of a valid state (natgw_table_state_build()'s @old): the counters
         * that are new (sorted, into @names) and those of @old that go (sorted, offsets into
         * @old's names: meaningful with that @old only). */
        const char **counters_added;
        size_t n_counters_added;
        size_t *counters_gone;
        size_t n_counters_gone;
        const char **chains;      /* regular chains: "egress-" / "allow-" + an egress entry's name */
        size_t n_chains;
        bool forward_chain;       /* the base chain forward (the filter) is there */
        /* The rules of every chain but postrouting, as natgw_batch_build() encodes them from
         * sequence number 0: an update whose rules hash the same keeps them (nft-batch.c). */
        bool rules_known;
        uint8_t rules_sha256[NATGW_SHA256_SIZE];
        bool hosts;               /* the sets of metrics.hosts are there (kept across updates) */
        bool reflect_chains;      /* the base chains output and hairpin (reflection) are there */
        unsigned helper_objs;     /* the conntrack helper objects there, 1 << NATGW_HOBJ_* */
        bool helper_chain;        /* the base chain helper is there */
        struct natgw_table_set *sets;
        size_t n_sets;
};

void natgw_table_state_clear(struct natgw_table_state *s);

/*
 * The size a forward map is created with: room to grow by half, so that reloads that add
 * entries keep the map (the kernel refuses elements beyond a set's size).
 */
uint32_t natgw_batch_set_size(size_t n_elements);

/* What an update does with one set of the new state. */
struct natgw_set_plan {
        bool kept;        /* the set stays (else it is created, after a delete if it was there) */
        bool delta;       /* kept map: only the difference is sent */
        size_t *removed;  /* delta: offsets of the old records to delete (in the old set's recs) */
        size_t n_removed;
        uint32_t *added;  /* delta: indexes of the plan map's elements to add */
        size_t n_added;
};

void natgw_set_plans_free(struct natgw_set_plan *v, size_t n);

/**
 * natgw_table_state_build() - what a batch for @p leaves, and what it does with each set
 * @p:           the plan
 * @old:         what the previous batch left, NULL for a replace
 * @table_flags: NATGW_TABLE_F_* the table is created with
 * @st:          the new state (cleared on failure)
 * @ret_sets:    per set of @st->sets: kept or not, the difference (free with natgw_set_plans_free())
 *
 * Return: 0 or -ENOMEM.
 */
int natgw_table_state_build(const struct natgw_plan *p, const struct natgw_table_state *old, uint32_t table_flags,
                            struct natgw_table_state *st, struct natgw_set_plan **ret_sets);

/*
 * A replace's state in two steps. natgw_table_state_begin(): what its batch is encoded from, the
 * sets' names and sizes (@ret_sets: none kept); the state is not valid yet. Then
 * natgw_table_state_finish(): what only the next update needs, the names, the sorted counters,
 * the chains and the records of every set (at 50,000 forwards most of the state's time, spent
 * while the kernel takes the batch: nft-apply.c). It touches only @st and reads only @p.
 * Both return 0 or -ENOMEM; a state that failed to finish is cleared by the caller.
 */
int natgw_table_state_begin(const struct natgw_plan *p, uint32_t table_flags, struct natgw_table_state *st,
                            struct natgw_set_plan **ret_sets);
int natgw_table_state_finish(const struct natgw_plan *p, struct natgw_table_state *st);

/* Whether @name is in the sorted (strcmp) names @v. */
bool natgw_table_state_has_name(const char *const *v, size_t n, const char *name);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * A plan -> one nftables transaction, in one contiguous buffer: BATCH_BEGIN, the new content of
 * table inet natgw, BATCH_END. Every message has its own sequence number; each is remembered
 * with what produced it so that an error can name the entry.
 *
 * Two forms. A replace deletes the table and creates it anew (first apply, takeover). An update
 * keeps the table, its base chains, the maps the new config still has and the counters of the
 * entries it still has, and replaces their content: it flushes every chain and map, deletes what
 * the new config no longer has, adds what it adds, and refills. Both are one transaction: the
 * kernel applies all of it or none. The update exists because a packet evaluated while the
 * table is deleted and recreated can miss both the old and the new rules (a new connection
 * refused now and then under load; docs/PERFORMANCE.md), and because counters should survive a
 * reload.
 */

#include <stdint.h>

#include "nft-plan.h"
#include "nft-state.h"
#include "nft.h"

enum natgw_msg_kind {
        NATGW_MSG_CONTROL,   /* batch begin / end */
        NATGW_MSG_TABLE,     /* the table itself (create, delete, recreate) */
        NATGW_MSG_COUNTER,   /* an entry's named counter */
        NATGW_MSG_CHAIN,
        NATGW_MSG_SET,
        NATGW_MSG_ELEMENTS,
        NATGW_MSG_RULE,
        NATGW_MSG_CLEAR,     /* an update's flush or delete of what the previous config made */
        NATGW_MSG_HELPER,    /* a conntrack helper object (what: its kernel name) */
};

struct natgw_msg {
        uint32_t seq;
        enum natgw_msg_kind kind;
        size_t offset;     /* of the message in the buffer */
        int64_t entry;     /* the entry that produced it, -1: none (shared structure) */
        int32_t map;       /* index in plan->maps, -1: none */
        enum natgw_twin twin; /* NATGW_MSG_SET/ELEMENTS: which of the map's sets */
        size_t first_elem; /* NATGW_MSG_ELEMENTS: index of its first element in the map ... */
        size_t subset;     /* ... or, when not SIZE_MAX, in batch->subset from this index on */
        const char *what;  /* what the message creates, for errors: "table inet natgw", "prerouting", ... */
};

struct natgw_batch {
        uint8_t *buf; /* buf and msgs: anonymous memory of their own (nft-batch.c) */
        size_t len, cap;
        struct natgw_msg *msgs;
        size_t n_msgs, msgs_bytes;
        size_t n_acks;         /* messages that ask for an ack */
        uint32_t last_ack_seq; /* the last of them */
        uint32_t *subset;      /* element indexes of messages that send some of a map's elements */
        size_t n_subset;
        struct natgw_ahead *ahead; /* populating buf and msgs ahead of the encoder (nft-batch.c) */
};

/*
 * For the unit tests: a replace of a plan of at least this many entries has its memory populated
 * ahead of the encoder (util-ahead.h); the room reserved for its buffer (0: from the plan).
 */
extern size_t natgw_batch_ahead_min_entries;
extern size_t natgw_batch_ahead_reserve;

/**
 * natgw_batch_build() - encode the transaction that makes the table hold @p
 * @p:           the plan
 * @old:         what the previous batch left (natgw_table_state), or NULL / not valid: replace
 *               the table as a whole
 * @seq:         sequence number of the first message; the others follow
 * @table_flags: NATGW_TABLE_F_* for a new table (0 on kernels without them); an update keeps
 *               the table and its flags (the caller replaces when they change)
 * @ret:         the batch, freed with natgw_batch_free()
 * @ret_state:   optional: what the batch leaves in the kernel once committed (cleared first)
 *
 * Return: 0 or -ENOMEM.
 */
int natgw_batch_build(const struct natgw_plan *p, const struct natgw_table_state *old, uint32_t seq,
                      uint32_t table_flags, struct natgw_batch **ret, struct natgw_table_state *ret_state);

/*
 * natgw_batch_build(), but a replace's *@ret_state comes unfinished (natgw_table_state_begin()):
 * natgw_table_state_finish() completes it, while the kernel takes the batch. An update's is
 * complete, as with natgw_batch_build().
 */
int natgw_batch_build_unfinished(const struct natgw_plan *p, const struct natgw_table_state *old, uint32_t seq,
                                 uint32_t table_flags, struct natgw_batch **ret, struct natgw_table_state *ret_state);

/* A batch that only deletes the table (used by on_exit = "remove" and by tests). */
int natgw_batch_build_delete(uint32_t seq, struct natgw_batch **ret);

/*
 * Drop the batch's BATCH_END (its last message): the kernel then checks every message, answers
 * each, and aborts the transaction instead of committing it (NFNL_ABORT_VALIDATE).
 */
void natgw_batch_strip_end(struct natgw_batch *b);

struct natgw_batch *natgw_batch_free(struct natgw_batch *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct natgw_batch *, natgw_batch_free);

/* The message with sequence number @seq, or NULL. */
const struct natgw_msg *natgw_batch_find(const struct natgw_batch *b, uint32_t seq);

/*
 * The element of an ELEMENTS message that contains byte @offset of that message (as an
 * extended ack reports it): its index in the map, or -1 when @offset is not inside one.
 */
int64_t natgw_batch_element_at(const struct natgw_batch *b, const struct natgw_msg *m, uint32_t offset);

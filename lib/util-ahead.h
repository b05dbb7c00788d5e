/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Fresh memory faulted in ahead of its writer, by a thread of its own. The first write to a page
 * of anonymous memory costs a fault and the zeroing of the page; on the virtual machines natgwd
 * runs on, memory new to the process costs several times the writing of the data into it (see
 * docs/PERFORMANCE.md, the eleventh round). A writer that fills a big region from its start (a
 * 14 MB batch at 50,000 forwards) gives the region to natgw_ahead_start(): the thread populates
 * its pages (MADV_POPULATE_WRITE: the pages are faulted in writable, their content untouched)
 * a window ahead of what the writer reported, so that the writer, on the other core, finds them
 * there. Populating never changes the memory's content, so it may run beside the writer.
 *
 * The regions must stay mapped, and in place, until natgw_ahead_stop() returns.
 */

#include <stdbool.h>
#include <stddef.h>

#define NATGW_AHEAD_REGIONS 2

struct natgw_ahead_region {
        void *base;
        size_t size;   /* mapped; nothing beyond it is populated */
        size_t window; /* populated ahead of what the writer reported, at most */
};

struct natgw_ahead;

/*
 * Start populating the first window of each of the @n regions @r (n <= NATGW_AHEAD_REGIONS).
 * NULL when it cannot: no thread, or a kernel without MADV_POPULATE_WRITE (before 5.14); the
 * writer then faults the pages in itself, as without.
 */
struct natgw_ahead *natgw_ahead_start(const struct natgw_ahead_region *r, size_t n);

/*
 * The writer has written region @i up to @offset: populate up to @offset plus its window. Cheap
 * (a comparison) unless the window must move, about once per MiB.
 */
void natgw_ahead_wrote(struct natgw_ahead *a, size_t i, size_t offset);

/* Stop the thread and wait for it (NULL: nothing). What it populated stays. */
void natgw_ahead_stop(struct natgw_ahead *a);

/*
 * Fault in the pages of [@p, @p + @n) now, writable, their content untouched: one system call
 * instead of one fault per page, for memory about to be written whole (an array of @n bytes just
 * allocated, a buffer a file is read into). Best effort: nothing below NATGW_POPULATE_MIN bytes,
 * where a fault or two cost less than the call, nor without MADV_POPULATE_WRITE.
 */
void natgw_populate(void *p, size_t n);

#define NATGW_POPULATE_MIN ((size_t)64 << 10)

/* calloc(), faulted in at once (natgw_populate()): for a table about to be written all over.
 * NULL when out of memory (or n * size overflows). */
void *natgw_calloc_populated(size_t n, size_t size);

/*
 * Leave about @bytes of faulted-in free memory in the calling thread's malloc arena, for the
 * many small allocations it is about to make (a libconfig tree, the model's names). Pieces below
 * malloc's mmap threshold are allocated, populated and freed again, but the last one: it stays
 * allocated, so that the others are not at the top of the arena, which free() gives back to the
 * kernel. Returns that piece, for natgw_arena_release() when the thread is done; NULL when there
 * is nothing to release.
 */
void *natgw_arena_prefault(size_t bytes);

/* Free the piece natgw_arena_prefault() kept (NULL: nothing). */
void natgw_arena_release(void *piece);

/* Whether this kernel populates on request (MADV_POPULATE_WRITE; valgrind refuses it too). */
bool natgw_ahead_supported(void);

/* For the unit tests: false, natgw_ahead_start() starts nothing. */
extern bool natgw_ahead_enabled;

/* For the unit tests: bytes populated by the threads since the start. */
extern size_t natgw_ahead_populated;

/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * natgwd's malloc(): glibc's, except for libconfig's trees of a big forward list's slices
 * (lib/conf-slice.h), which go to regions: a slice's tree is some 20 small allocations per entry
 * (a setting, its name, its value, a group's member list), and glibc spent as long allocating
 * and freeing them (bins, coalescing, malloc_consolidate()) as libconfig spent parsing. In a
 * region an allocation is a pointer bump, a free does nothing, and when the slice's tree has been
 * destroyed the whole region is used again from its start (natgw_tree_alloc.reset).
 *
 * natgwd replaces malloc, free, calloc and realloc (glibc's manual, "Replacing malloc"): an
 * allocation of a thread that uses a region (natgw_tree_alloc.use, set only around libconfig's
 * parse of a slice) is bumped; every other one, and every one that does not fit, is glibc's
 * (__libc_malloc() and the others, which glibc exports for this). free() and realloc() tell a
 * region's pointer by its address: the regions are one reservation, made before any thread
 * starts, whose place never changes. The other allocation functions (memalign() and the like)
 * stay glibc's: they never return a region's pointer, and free() hands theirs to glibc.
 *
 * Not built with AddressSanitizer, which replaces malloc itself; under valgrind, which replaces
 * natgwd's malloc() as well, natgwd_tree_alloc_setup() finds its own not called and uses none.
 */

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "conf.h"
#include "natgwd.h"
#include "util-ahead.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#define NATGWD_REGIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NATGWD_REGIONS 0
#endif
#endif
#ifndef NATGWD_REGIONS
#define NATGWD_REGIONS 1
#endif

#if NATGWD_REGIONS

/* glibc's own, which it exports for a malloc() that replaces its. */
void *__libc_malloc(size_t n);              /* NOLINT(bugprone-reserved-identifier): glibc's name */
void __libc_free(void *p);                  /* NOLINT(bugprone-reserved-identifier): glibc's name */
void *__libc_calloc(size_t n, size_t size); /* NOLINT(bugprone-reserved-identifier): glibc's name */
void *__libc_realloc(void *p, size_t n);    /* NOLINT(bugprone-reserved-identifier): glibc's name */

/* Each region's room: a slice's tree takes about 10 times its 128 KiB of text. Address space
 * only (MAP_NORESERVE): what is not touched costs nothing. */
#define REGION_BYTES ((size_t)16 << 20)
/* Faulted in at a region's first use in a load (natgw_populate()): about a tree's worth. */
#define REGION_WARM ((size_t)2 << 20)
#define HUGE_PAGE ((size_t)2 << 20)
/* Before each allocation: its size, for realloc(); 16 bytes keep malloc's alignment. */
#define HEADER 16

struct region {
        char *start, *next, *end;
        char *high; /* the most of it used in this load */
        size_t bumped; /* allocations, since the start (for the unit tests) */
};

static char *regions_start, *regions_end; /* set once, before any thread starts */
static struct region regions[NATGW_TREE_REGIONS];
static atomic_bool regions_busy;
static _Thread_local struct region *current;

static bool in_regions(const void *p) {
        return (const char *)p >= regions_start && (const char *)p < regions_end;
}

static void *bump(struct region *r, size_t n) {
        size_t need = HEADER + ((n + 15) & ~(size_t)15);
        char *p = r->next;

        if (n > REGION_BYTES || (size_t)(r->end - p) < need)
                return NULL;
        r->next = p + need;
        r->bumped++;
        if (r->next > r->high)
                r->high = r->next;
        *(size_t *)p = n;
        return p + HEADER;
}

/* The four replaced (glibc's declarations name the parameters __size and the like: NOLINT). */
void *malloc(size_t n) { /* NOLINT(readability-inconsistent-declaration-parameter-name) */
        void *p;

        if (current && (p = bump(current, n)))
                return p;
        return __libc_malloc(n);
}

void free(void *p) { /* NOLINT(readability-inconsistent-declaration-parameter-name) */
        if (p && !in_regions(p))
                __libc_free(p);
}

void *calloc(size_t n, size_t size) { /* NOLINT(readability-inconsistent-declaration-parameter-name) */
        void *p;

        /* A region's room is used again: it is not zero. */
        if (current && (size == 0 || n <= SIZE_MAX / size) && (p = bump(current, n * size)))
                return memset(p, 0, n * size);
        return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n) { /* NOLINT(readability-inconsistent-declaration-parameter-name) */
        size_t old;
        void *q;

        if (!p)
                return malloc(n);
        if (!in_regions(p))
                return __libc_realloc(p, n);
        if (n == 0)
                return NULL; /* glibc's realloc(p, 0) frees p */
        old = *(size_t *)((char *)p - HEADER);
        q = malloc(n);
        if (q)
                memcpy(q, p, MIN(old, n));
        return q;
}

static bool regions_begin(void) {
        bool busy = false;

        return regions_start && atomic_compare_exchange_strong(&regions_busy, &busy, true);
}

static void regions_use(int k) {
        struct region *r = k >= 0 && k < NATGW_TREE_REGIONS ? &regions[k] : NULL;

        if (r && r->high == r->start) {
                natgw_populate(r->start, REGION_WARM);
                r->high = r->start + REGION_WARM;
        }
        current = r;
}

static void regions_reset(int k) {
        if (k >= 0 && k < NATGW_TREE_REGIONS)
                regions[k].next = regions[k].start;
}

/* The load is over: what it touched goes back to the kernel (natgwd idles without it). */
static void regions_end_load(void) {
        for (size_t k = 0; k < NATGW_TREE_REGIONS; k++) {
                struct region *r = &regions[k];

                /* To the end of its last huge page: a part of one would stay resident. */
                size_t used = MIN(((size_t)(r->high - r->start) + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1), REGION_BYTES);

                if (used > 0)
                        (void)madvise(r->start, used, MADV_DONTNEED);
                r->next = r->high = r->start;
        }
        current = NULL;
        atomic_store(&regions_busy, false);
}

static const struct natgw_tree_alloc tree_alloc = {
        .begin = regions_begin,
        .use = regions_use,
        .reset = regions_reset,
        .end = regions_end_load,
};

const struct natgw_tree_alloc *natgwd_tree_alloc_setup(void) {
        void *(*volatile m)(size_t) = malloc;
        size_t size = NATGW_TREE_REGIONS * REGION_BYTES;
        char *p;
        void *q;

        if (regions_start)
                return &tree_alloc;
        /* On a huge page's boundary, so that each region's start is one (natgw_populate(),
         * regions_end_load()): a huge page more, the slack before and after unmapped. */
        p = mmap(NULL, size + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
        if (p == MAP_FAILED)
                return NULL;
        {
                char *aligned = p + (HUGE_PAGE - (uintptr_t)p % HUGE_PAGE) % HUGE_PAGE;

                if (aligned > p)
                        (void)munmap(p, (size_t)(aligned - p));
                if (aligned < p + HUGE_PAGE)
                        (void)munmap(aligned + size, (size_t)(p + HUGE_PAGE - aligned));
                p = aligned;
        }
        /* Huge pages where the kernel has them: a tree's 2 MB is one fault, not 500. */
        (void)madvise(p, size, MADV_HUGEPAGE);
        for (size_t k = 0; k < NATGW_TREE_REGIONS; k++)
                regions[k] = (struct region) {
                        .start = p + k * REGION_BYTES,
                        .next = p + k * REGION_BYTES,
                        .end = p + (k + 1) * REGION_BYTES,
                        .high = p + k * REGION_BYTES,
                };
        regions_end = p + size;
        regions_start = p;
        /* Is this malloc() the one called? Under valgrind it is not (valgrind replaces it too):
         * then there are no regions, and valgrind sees every allocation. */
        current = &regions[0];
        q = m(1);
        current = NULL;
        regions[0].next = regions[0].start;
        regions[0].bumped = 0;
        /* The page it touched (a huge one) stays resident until a load uses the regions. */
        (void)madvise(p, HUGE_PAGE, MADV_DONTNEED);
        if (!in_regions(q)) {
                free(q);
                regions_start = regions_end = NULL;
                (void)munmap(p, size);
                return NULL;
        }
        return &tree_alloc;
}

size_t natgwd_tree_alloc_count(void) {
        size_t n = 0;

        for (size_t k = 0; k < NATGW_TREE_REGIONS; k++)
                n += regions[k].bumped;
        return n;
}

#else

const struct natgw_tree_alloc *natgwd_tree_alloc_setup(void) {
        return NULL;
}

size_t natgwd_tree_alloc_count(void) {
        return 0;
}

#endif

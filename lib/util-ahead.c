/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Fresh memory faulted in ahead of its writer: see util-ahead.h. */

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "util-ahead.h"
#include "util-thread.h"
#include "util.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Populated per madvise(): one huge page; the lock is not held meanwhile. */
#define CHUNK ((size_t)2 << 20)
/* The writer moves the window once it has used this much of it. */
#define STEP ((size_t)1 << 20)
/* natgw_arena_prefault(): pieces well below malloc's mmap threshold (128 KiB at first), at most 8 MiB. */
#define PREFAULT_PIECE ((size_t)32 << 10)
#define PREFAULT_PIECES_MAX 256

bool natgw_ahead_enabled = true;
size_t natgw_ahead_populated;

struct natgw_ahead {
        pthread_t tid;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        size_t n;
        struct {
                struct natgw_ahead_region r;
                size_t target; /* populate up to here (locked) */
                size_t done;   /* populated up to here (the thread's) */
                size_t next;   /* the writer's: move the window once it wrote this far */
        } v[NATGW_AHEAD_REGIONS];
        bool stop;
};

static void *ahead_main(void *arg) {
        struct natgw_ahead *a = arg;

        pthread_mutex_lock(&a->lock);
        for (;;) {
                size_t best = SIZE_MAX, lag = 0, from, len;

                /* The region whose populated part is the furthest behind its target. */
                for (size_t i = 0; i < a->n; i++)
                        if (a->v[i].target > a->v[i].done && a->v[i].target - a->v[i].done > lag) {
                                lag = a->v[i].target - a->v[i].done;
                                best = i;
                        }
                if (a->stop)
                        break;
                if (best == SIZE_MAX) {
                        pthread_cond_wait(&a->cond, &a->lock);
                        continue;
                }
                from = a->v[best].done;
                len = MIN(CHUNK, lag);
                pthread_mutex_unlock(&a->lock);
                if (madvise((char *)a->v[best].r.base + from, len, MADV_POPULATE_WRITE) < 0) {
                        pthread_mutex_lock(&a->lock);
                        break;
                }
                __atomic_fetch_add(&natgw_ahead_populated, len, __ATOMIC_RELAXED);
                pthread_mutex_lock(&a->lock);
                a->v[best].done = from + len;
        }
        pthread_mutex_unlock(&a->lock);
        return NULL;
}

/* Populate the pages [p, p + n) lies on: those of the allocation's own mapping. */
static void populate_range(void *p, size_t n) {
        size_t head = (uintptr_t)p & 4095;

        (void)madvise((char *)p - head, (head + n + 4095) & ~(size_t)4095, MADV_POPULATE_WRITE);
}

/* See util-ahead.h. */
void natgw_populate(void *p, size_t n) {
        if (p && n >= NATGW_POPULATE_MIN && natgw_ahead_supported())
                populate_range(p, n);
}

/* See util-ahead.h. */
void *natgw_calloc_populated(size_t n, size_t size) {
        void *p;

        if (size > 0 && n > SIZE_MAX / size)
                return NULL;
        /* Not calloc(): it may clear the memory first, page by page. */
        p = malloc(MAX(n * size, (size_t)1));
        if (p) {
                natgw_populate(p, n * size);
                memset(p, 0, n * size);
        }
        return p;
}

/* See util-ahead.h. */
void *natgw_arena_prefault(size_t bytes) {
        void *v[PREFAULT_PIECES_MAX];
        size_t n = bytes / PREFAULT_PIECE, k;

        if (n > PREFAULT_PIECES_MAX)
                n = PREFAULT_PIECES_MAX;
        if (n < 2 || !natgw_ahead_supported())
                return NULL;
        for (k = 0; k < n && (v[k] = malloc(PREFAULT_PIECE)); k++)
                populate_range(v[k], 2 * PREFAULT_PIECE); /* and where the next one is likely cut from */
        if (k == 0)
                return NULL;
        for (size_t i = 0; i + 1 < k; i++)
                free(v[i]);
        return v[k - 1];
}

/* See util-ahead.h. */
void natgw_arena_release(void *piece) {
        free(piece);
}

/* See util-ahead.h: a page of its own, populated and unmapped. */
bool natgw_ahead_supported(void) {
        static int known; /* 0 unknown, 1 yes, -1 no */
        size_t page = 4096;
        void *p;

        if (known == 0) {
                p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                known = p != MAP_FAILED && madvise(p, page, MADV_POPULATE_WRITE) == 0 ? 1 : -1;
                if (p != MAP_FAILED)
                        (void)munmap(p, page);
        }
        return known > 0;
}

/* See util-ahead.h. */
struct natgw_ahead *natgw_ahead_start(const struct natgw_ahead_region *r, size_t n) {
        struct natgw_ahead *a;

        if (!natgw_ahead_enabled || n == 0 || n > NATGW_AHEAD_REGIONS || !natgw_ahead_supported())
                return NULL;
        a = calloc(1, sizeof(*a));
        if (!a)
                return NULL;
        a->n = n;
        for (size_t i = 0; i < n; i++) {
                a->v[i].r = r[i];
                a->v[i].target = MIN(r[i].window, r[i].size);
                a->v[i].next = MIN(STEP, r[i].window);
        }
        pthread_mutex_init(&a->lock, NULL);
        pthread_cond_init(&a->cond, NULL);
        if (!natgw_thread_start(&a->tid, ahead_main, a)) {
                pthread_mutex_destroy(&a->lock);
                pthread_cond_destroy(&a->cond);
                free(a);
                return NULL;
        }
        return a;
}

/* See util-ahead.h. */
void natgw_ahead_wrote(struct natgw_ahead *a, size_t i, size_t offset) {
        size_t target;

        if (!a || offset < a->v[i].next)
                return;
        target = MIN(offset + a->v[i].r.window, a->v[i].r.size);
        a->v[i].next = offset + STEP;
        pthread_mutex_lock(&a->lock);
        if (target > a->v[i].target) {
                a->v[i].target = target;
                pthread_cond_signal(&a->cond);
        }
        pthread_mutex_unlock(&a->lock);
}

/* See util-ahead.h. */
void natgw_ahead_stop(struct natgw_ahead *a) {
        if (!a)
                return;
        pthread_mutex_lock(&a->lock);
        a->stop = true;
        pthread_cond_signal(&a->cond);
        pthread_mutex_unlock(&a->lock);
        pthread_join(a->tid, NULL);
        pthread_mutex_destroy(&a->lock);
        pthread_cond_destroy(&a->cond);
        free(a);
}

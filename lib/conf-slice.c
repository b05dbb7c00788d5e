/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The forward list of a big file in slices: see conf-slice.h. */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "conf-lex.h"
#include "conf-slice.h"
#include "util-ahead.h"
#include "util-thread.h"
#include "util.h"

size_t natgw_conf_slice_bytes = NATGW_CONF_SLICE_BYTES;
unsigned natgw_conf_sliced_files;
bool natgw_conf_slice_thread = true;
unsigned natgw_conf_slices_by_caller;
unsigned natgw_conf_slices_helped;
const struct natgw_tree_alloc *natgw_conf_tree_alloc;

/* Characters the scanner of a group's interior stops at (the rest is skipped in a tight loop). */
static const bool group_stop[256] = {
        ['"'] = true, ['{'] = true, ['}'] = true, ['('] = true, [')'] = true, ['['] = true, [']'] = true,
        ['#'] = true, ['/'] = true, ['\n'] = true, ['\0'] = true,
};

/* Skip blanks and comments; false at a comment that does not end. */
static bool skip_blank(struct natgw_lex *s) {
        for (;;) {
                int r;

                if (*s->p == '\n') {
                        s->line++;
                        s->p++;
                } else if (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\f')
                        s->p++;
                else if ((r = natgw_lex_skip_comment(s)) != 0) {
                        if (r < 0)
                                return false;
                } else
                        return true;
        }
}

/* Past the group at s->p (its "{") to after its "}"; false when it does not end where it should. */
static bool skip_group(struct natgw_lex *s) {
        unsigned depth = 0;

        for (;;) {
                char c;
                int r;

                while (!group_stop[(unsigned char)*s->p])
                        s->p++;
                c = *s->p;
                if (c == '\n') {
                        s->line++;
                        s->p++;
                } else if (c == '"') {
                        if (!natgw_lex_skip_string(s))
                                return false;
                } else if ((r = natgw_lex_skip_comment(s)) != 0) {
                        if (r < 0)
                                return false;
                } else if (c == '/')
                        s->p++;
                else if (!c)
                        return false;
                else {
                        s->p++;
                        if (c == '{' || c == '(' || c == '[')
                                depth++;
                        else if (depth == 0)
                                return false;
                        else if (--depth == 0)
                                return c == '}';
                }
        }
}

/*
 * The list of the one top-level key forward, in slices of about @slice_bytes: *@open at its
 * "(", *@close at its ")". 1 when found; 0 when there is none, more than one, or it is no plain
 * list of groups; -ENOMEM.
 */
static int find_list(const char *text, size_t slice_bytes, const char **open, const char **close,
                     struct natgw_conf_slices *ret) {
        struct natgw_lex s = { .p = text, .line = 1 };
        unsigned depth = 0, pos = 0;
        size_t cap = 0;

        *open = NULL;
        while (skip_blank(&s) && *s.p) {
                char c = *s.p;

                if (c == '"') {
                        if (!natgw_lex_skip_string(&s))
                                return 0;
                } else if (natgw_lex_name_start(c)) {
                        const char *name = s.p;

                        while (natgw_lex_name_char(*s.p))
                                s.p++;
                        if (depth > 0 || s.p - name != 7 || strncmp(name, "forward", 7) != 0)
                                continue;
                        if (*open || !skip_blank(&s) || (*s.p != '=' && *s.p != ':'))
                                return 0;
                        s.p++;
                        if (!skip_blank(&s) || *s.p != '(')
                                return 0;
                        *open = s.p++;
                        /* Groups separated by commas, then ")"; a slice ends after the group
                         * that makes it @slice_bytes long. */
                        for (;;) {
                                struct natgw_conf_slice *sl;

                                if (!skip_blank(&s) || *s.p != '{')
                                        return 0;
                                /* One more slice, when the last one is full. */
                                if (ret->n == 0 || ret->v[ret->n - 1].len > 0) {
                                        if (GROW(ret->v, cap, ret->n + 1) < 0)
                                                return -ENOMEM;
                                        ret->v[ret->n++] = (struct natgw_conf_slice) {
                                                .start = s.p, .line = s.line, .first = pos + 1,
                                        };
                                }
                                sl = &ret->v[ret->n - 1];
                                if (!skip_group(&s))
                                        return 0;
                                pos++;
                                if ((size_t)(s.p - sl->start) >= slice_bytes)
                                        sl->len = (size_t)(s.p - sl->start);
                                if (!skip_blank(&s))
                                        return 0;
                                if (*s.p == ')') {
                                        if (sl->len == 0)
                                                sl->len = (size_t)(s.p - sl->start);
                                        break;
                                }
                                if (*s.p != ',')
                                        return 0;
                                s.p++;
                        }
                        *close = s.p++;
                        ret->entries = pos;
                } else {
                        if (c == '{' || c == '(' || c == '[')
                                depth++;
                        else if ((c == '}' || c == ')' || c == ']') && depth-- == 0)
                                return 0;
                        s.p++;
                }
        }
        return *open && !*s.p && depth == 0;
}

/* See conf-slice.h. */
int natgw_conf_slice(const char *text, size_t slice_bytes, struct natgw_conf_slices *ret) {
        const char *open, *close;
        size_t newlines = 0, k, rest;
        int r;

        *ret = (struct natgw_conf_slices) {};
        r = find_list(text, slice_bytes, &open, &close, ret);
        if (r <= 0 || (size_t)(close - open) < 2 * slice_bytes) {
                natgw_conf_slices_done(ret);
                return MIN(r, 0);
        }
        /* The skeleton: the list's interior is its newlines only, so every line stays where it is. */
        for (const char *p = open + 1; (p = memchr(p, '\n', (size_t)(close - p))); p++)
                newlines++;
        k = (size_t) (open + 1 - text);
        rest = strlen(close) + 1;
        ret->skeleton = malloc(k + newlines + rest);
        if (!ret->skeleton) {
                natgw_conf_slices_done(ret);
                return -ENOMEM;
        }
        memcpy(ret->skeleton, text, k);
        memset(ret->skeleton + k, '\n', newlines);
        memcpy(ret->skeleton + k + newlines, close, rest);
        return 1;
}

static const char slice_head[] = "forward = (", slice_tail[] = ");";

/* See conf-slice.h. */
size_t natgw_conf_slice_text_size(const struct natgw_conf_slice *s) {
        return sizeof(slice_head) - 1 + s->len + sizeof(slice_tail);
}

/* See conf-slice.h. */
void natgw_conf_slice_text_into(const struct natgw_conf_slice *s, char *t) {
        memcpy(t, slice_head, sizeof(slice_head) - 1);
        memcpy(t + sizeof(slice_head) - 1, s->start, s->len);
        memcpy(t + sizeof(slice_head) - 1 + s->len, slice_tail, sizeof(slice_tail));
}

void natgw_conf_slices_done(struct natgw_conf_slices *s) {
        free(s->skeleton);
        free(s->v);
        *s = (struct natgw_conf_slices) {};
}

/* Slices parsed ahead of the one the caller converts, at most (each tree about 9 times its text). */
#define AHEAD 2
#define SLOTS (AHEAD + 1)
/* The region of own[k]'s tree; the reader's cfg[k] is in region k. */
#define OWN_REGION(k) (SLOTS + (int)(k))
_Static_assert(2 * SLOTS <= NATGW_TREE_REGIONS, "a reader's trees need a region each");

/* The memory a parsing thread's trees take, faulted in at once before its first slice
 * (natgw_arena_prefault()): the trees of its slots, each about 9 times its text. */
#define TREE_BYTES(sl) (SLOTS * 9 * (sl)->v[0].len)

/*
 * Two threads parse: the reader's, in order, and a helper, which the caller sends to parse the
 * next slice nobody has claimed whenever the slice it needs is still being parsed (on 2 cores
 * the caller's conversion alone leaves it idle about half the time; the caller parsing in the
 * helper's stead left libconfig's freed trees between the model's allocations in the caller's
 * heap). Each thread destroys the trees it parsed itself: malloc gives each thread an arena of
 * its own, and a tree freed by another thread is freed across arenas, under their locks (that
 * made the parse slower than without a thread). In natgwd the trees are in regions of their own
 * instead (natgw_conf_tree_alloc, conf.h): region k holds cfg[k]'s tree, region SLOTS + k own[k]'s,
 * and a tree's destruction starts its region over.
 *
 * The slices in flight are the one the caller holds and AHEAD after it: slice i's state is in ring
 * entry i % SLOTS. The reader parses slice i into its slot cfg[i % SLOTS], destroying the tree
 * of an earlier slice there, which the caller is done with; the helper parses into own[], first
 * destroying its trees of slices the caller is done with.
 */
struct natgw_conf_slice_reader {
        const struct natgw_conf_slices *sl;
        config_t cfg[SLOTS];      /* the reader's trees */
        bool used[SLOTS];         /* cfg[k] holds a tree */
        const config_t *tree[SLOTS]; /* of the slice: its tree, in cfg[] or own[] */
        bool parsed[SLOTS];       /* of the slice: its tree (or its failure) is there */
        int result[SLOTS];        /* of the slice: 0 parsed, -EINVAL refused, -ENOMEM */
        config_t own[SLOTS];      /* the helper's trees (without threads: the caller's) ... */
        size_t own_slice[SLOTS];  /* ... of these slices; SIZE_MAX: none */
        size_t claimed;           /* slices claimed by a thread so far */
        size_t taken;             /* slices handed to the caller so far (it holds the last one) */
        size_t help;              /* the slice the helper is asked to parse; SIZE_MAX: none */
        bool stop, thread, helper;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        pthread_t tid, helper_tid;
        const struct natgw_tree_alloc *alloc; /* the trees' regions; NULL: malloc's */
        char *text[2];            /* each thread's slice text, kept for the next slice */
        size_t text_size[2];
};

/* Parse slice @i into @cfg with the text buffer @t (0 the reader's, 1 the helper's or caller's). */
static int parse_one(struct natgw_conf_slice_reader *rd, size_t i, config_t *cfg, unsigned t, int region) {
        const struct natgw_conf_slice *s = &rd->sl->v[i];
        size_t size = natgw_conf_slice_text_size(s);
        bool ok;

        if (size > rd->text_size[t]) {
                char *p = realloc(rd->text[t], size);

                if (!p) {
                        config_init(cfg);
                        return -ENOMEM;
                }
                rd->text[t] = p;
                rd->text_size[t] = size;
        }
        natgw_conf_slice_text_into(s, rd->text[t]);
        /* The tree, and nothing else, in the region (the text buffer stays the thread's). */
        if (rd->alloc)
                rd->alloc->use(region);
        config_init(cfg);
        ok = config_read_string(cfg, rd->text[t]);
        if (rd->alloc)
                rd->alloc->use(-1);
        return ok ? 0 : -EINVAL;
}

/* Destroy @cfg, the tree of region @region. */
static void tree_destroy(struct natgw_conf_slice_reader *rd, config_t *cfg, int region) {
        config_destroy(cfg);
        if (rd->alloc)
                rd->alloc->reset(region);
}

/* Claim the next slice: its ring entry is reset. Locked. */
static size_t claim(struct natgw_conf_slice_reader *rd) {
        size_t i = rd->claimed++;

        rd->parsed[i % SLOTS] = false;
        return i;
}

/* Record the outcome @r of slice @i, parsed into @tree. Locked. */
static void done(struct natgw_conf_slice_reader *rd, size_t i, const config_t *tree, int r) {
        rd->tree[i % SLOTS] = tree;
        rd->result[i % SLOTS] = r;
        rd->parsed[i % SLOTS] = true;
        pthread_cond_broadcast(&rd->cond);
}

/* Destroy the trees of own[] of slices before @before. */
static void own_release(struct natgw_conf_slice_reader *rd, size_t before) {
        for (size_t k = 0; k < SLOTS; k++)
                if (rd->own_slice[k] != SIZE_MAX && rd->own_slice[k] < before) {
                        tree_destroy(rd, &rd->own[k], OWN_REGION(k));
                        rd->own_slice[k] = SIZE_MAX;
                }
}

/*
 * Parse slice @i (claimed for own[]) into a free tree of own[], after releasing those of slices
 * before @before. There is one: @i <= before + AHEAD, so at most AHEAD trees are left. Unlocked.
 */
static int own_parse(struct natgw_conf_slice_reader *rd, size_t i, size_t before, const config_t **ret) {
        size_t k;

        own_release(rd, before);
        for (k = 0; k < SLOTS && rd->own_slice[k] != SIZE_MAX; k++)
                ;
        *ret = NULL;
        if (k == SLOTS)
                return -EINVAL; /* cannot be; the whole file is parsed instead */
        rd->own_slice[k] = i;
        *ret = &rd->own[k];
        return parse_one(rd, i, &rd->own[k], 1, OWN_REGION(k));
}

static void *reader_main(void *arg) {
        struct natgw_conf_slice_reader *rd = arg;
        /* Trees in regions leave the arena nearly unused. */
        void *prefaulted = rd->alloc ? NULL : natgw_arena_prefault(TREE_BYTES(rd->sl));

        for (;;) {
                size_t i;
                int r;

                pthread_mutex_lock(&rd->lock);
                /* Slice i may be parsed once the caller asked for slice i - AHEAD: the slices of
                 * its slot before it are done with. */
                while (!rd->stop && rd->claimed < rd->sl->n && rd->claimed + 1 > rd->taken + AHEAD)
                        pthread_cond_wait(&rd->cond, &rd->lock);
                if (rd->stop || rd->claimed >= rd->sl->n) {
                        pthread_mutex_unlock(&rd->lock);
                        break;
                }
                i = claim(rd);
                pthread_mutex_unlock(&rd->lock);
                if (rd->used[i % SLOTS])
                        tree_destroy(rd, &rd->cfg[i % SLOTS], (int)(i % SLOTS));
                rd->used[i % SLOTS] = true;
                r = parse_one(rd, i, &rd->cfg[i % SLOTS], 0, (int)(i % SLOTS));
                pthread_mutex_lock(&rd->lock);
                done(rd, i, &rd->cfg[i % SLOTS], r);
                pthread_mutex_unlock(&rd->lock);
                if (r < 0)
                        break;
        }
        natgw_arena_release(prefaulted);
        return NULL;
}

static void *helper_main(void *arg) {
        struct natgw_conf_slice_reader *rd = arg;
        void *prefaulted = NULL;
        bool first = true;

        pthread_mutex_lock(&rd->lock);
        for (;;) {
                const config_t *tree;
                size_t i, before;
                int r;

                while (!rd->stop && rd->help == SIZE_MAX)
                        pthread_cond_wait(&rd->cond, &rd->lock);
                if (rd->stop)
                        break;
                i = rd->help;
                before = rd->taken - 1;
                pthread_mutex_unlock(&rd->lock);
                /* The helper may never be needed: its memory is faulted in at its first slice. */
                if (first && !rd->alloc)
                        prefaulted = natgw_arena_prefault(TREE_BYTES(rd->sl));
                first = false;
                r = own_parse(rd, i, before, &tree);
                pthread_mutex_lock(&rd->lock);
                rd->help = SIZE_MAX;
                done(rd, i, tree, r);
        }
        pthread_mutex_unlock(&rd->lock);
        /* The caller is done with every slice. */
        own_release(rd, SIZE_MAX);
        natgw_arena_release(prefaulted);
        return NULL;
}

/* See conf-slice.h. */
int natgw_conf_slice_reader_new(const struct natgw_conf_slices *sl, struct natgw_conf_slice_reader **ret) {
        struct natgw_conf_slice_reader *rd = calloc(1, sizeof(*rd));

        if (!rd)
                return -ENOMEM;
        rd->sl = sl;
        rd->help = SIZE_MAX;
        if (natgw_conf_tree_alloc && natgw_conf_tree_alloc->begin())
                rd->alloc = natgw_conf_tree_alloc;
        for (size_t k = 0; k < SLOTS; k++)
                rd->own_slice[k] = SIZE_MAX;
        pthread_mutex_init(&rd->lock, NULL);
        pthread_cond_init(&rd->cond, NULL);
        rd->thread = natgw_conf_slice_thread && natgw_thread_start(&rd->tid, reader_main, rd);
        rd->helper = rd->thread && sl->n > 1 && natgw_thread_start(&rd->helper_tid, helper_main, rd);
        *ret = rd;
        return 0;
}

/* See conf-slice.h. */
const config_t *natgw_conf_slice_reader_next(struct natgw_conf_slice_reader *rd, int *r) {
        const config_t *tree;
        size_t i = rd->taken;

        /* Without threads the caller parses each slice itself: its tree of the slice before is
         * done with. */
        if (!rd->thread)
                own_release(rd, i);
        if (i >= rd->sl->n) {
                *r = 0;
                return NULL;
        }
        pthread_mutex_lock(&rd->lock);
        rd->taken = i + 1; /* the slice before is done with */
        pthread_cond_broadcast(&rd->cond);
        while (i >= rd->claimed || !rd->parsed[i % SLOTS]) {
                if (!rd->thread) {
                        size_t j = claim(rd);
                        const config_t *t;

                        natgw_conf_slices_by_caller++;
                        pthread_mutex_unlock(&rd->lock);
                        *r = own_parse(rd, j, i, &t);
                        pthread_mutex_lock(&rd->lock);
                        done(rd, j, t, *r);
                } else if (rd->helper && rd->help == SIZE_MAX && rd->claimed < rd->sl->n &&
                           rd->claimed <= i + AHEAD) {
                        /* Slice i is being parsed: the helper takes the next one nobody claimed. */
                        rd->help = claim(rd);
                        natgw_conf_slices_helped++;
                        pthread_cond_broadcast(&rd->cond);
                } else
                        pthread_cond_wait(&rd->cond, &rd->lock);
        }
        *r = rd->result[i % SLOTS];
        tree = rd->tree[i % SLOTS];
        pthread_mutex_unlock(&rd->lock);
        return *r < 0 ? NULL : tree;
}

/* See conf-slice.h. */
void natgw_conf_slice_reader_free(struct natgw_conf_slice_reader *rd) {
        if (!rd)
                return;
        pthread_mutex_lock(&rd->lock);
        rd->stop = true;
        pthread_cond_broadcast(&rd->cond);
        pthread_mutex_unlock(&rd->lock);
        if (rd->thread)
                pthread_join(rd->tid, NULL);
        if (rd->helper)
                pthread_join(rd->helper_tid, NULL);
        for (size_t k = 0; k < SLOTS; k++)
                if (rd->used[k])
                        tree_destroy(rd, &rd->cfg[k], (int)k);
        own_release(rd, SIZE_MAX);
        if (rd->alloc)
                rd->alloc->end();
        free(rd->text[0]);
        free(rd->text[1]);
        pthread_mutex_destroy(&rd->lock);
        pthread_cond_destroy(&rd->cond);
        free(rd);
}

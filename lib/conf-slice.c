/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The forward list of a big file in slices: see conf-slice.h. */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "conf-lex.h"
#include "conf-slice.h"
#include "util.h"

size_t natgw_conf_slice_bytes = NATGW_CONF_SLICE_BYTES;
unsigned natgw_conf_sliced_files;

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

/* See conf-slice.h. */
char *natgw_conf_slice_text(const struct natgw_conf_slice *s) {
        static const char head[] = "forward = (", tail[] = ");";
        size_t pad = s->line - 1;
        char *t = malloc(pad + sizeof(head) - 1 + s->len + sizeof(tail));

        if (!t)
                return NULL;
        memset(t, '\n', pad);
        memcpy(t + pad, head, sizeof(head) - 1);
        memcpy(t + pad + sizeof(head) - 1, s->start, s->len);
        memcpy(t + pad + sizeof(head) - 1 + s->len, tail, sizeof(tail));
        return t;
}

void natgw_conf_slices_done(struct natgw_conf_slices *s) {
        free(s->skeleton);
        free(s->v);
        *s = (struct natgw_conf_slices) {};
}

/* Trees parsed ahead of the caller at most (each about 8 times its slice's text). */
#define AHEAD 2
#define SLOTS (AHEAD + 1)

/*
 * Slice i is parsed into slot i % SLOTS. A slot's tree is destroyed by the thread that parses the
 * next tree into it: malloc gives each thread an arena of its own, and a tree freed by the other
 * thread would be freed across arenas, under their locks (that made the parse slower than
 * without a thread).
 */
struct natgw_conf_slice_reader {
        const struct natgw_conf_slices *sl;
        config_t cfg[SLOTS];
        int result[SLOTS];         /* of that slice: 0 parsed, -EINVAL refused, -ENOMEM */
        size_t parsed;             /* slices parsed so far (their trees exist, SLOTS at most) */
        size_t taken;              /* slices handed to the caller so far (it holds the last one) */
        bool stop, thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        pthread_t tid;
};

/* Parse slice @i into its slot, destroying the slot's tree before. */
static int parse_one(struct natgw_conf_slice_reader *rd, size_t i) {
        config_t *cfg = &rd->cfg[i % SLOTS];
        char *text;
        int r;

        if (i >= SLOTS)
                config_destroy(cfg);
        config_init(cfg);
        text = natgw_conf_slice_text(&rd->sl->v[i]);
        if (!text)
                return -ENOMEM;
        r = config_read_string(cfg, text) ? 0 : -EINVAL;
        free(text);
        return r;
}

static void *reader_main(void *arg) {
        struct natgw_conf_slice_reader *rd = arg;

        for (size_t i = 0; i < rd->sl->n; i++) {
                bool stop;
                int r;

                pthread_mutex_lock(&rd->lock);
                /* Slice i's slot holds slice i - SLOTS: free once the caller asked for the slice
                 * after it. */
                while (!rd->stop && i + 1 > rd->taken + AHEAD)
                        pthread_cond_wait(&rd->cond, &rd->lock);
                stop = rd->stop;
                pthread_mutex_unlock(&rd->lock);
                if (stop)
                        break;
                r = parse_one(rd, i);
                pthread_mutex_lock(&rd->lock);
                rd->result[i % SLOTS] = r;
                rd->parsed = i + 1;
                pthread_cond_broadcast(&rd->cond);
                pthread_mutex_unlock(&rd->lock);
                if (r < 0)
                        break;
        }
        return NULL;
}

/* See conf-slice.h. */
int natgw_conf_slice_reader_new(const struct natgw_conf_slices *sl, struct natgw_conf_slice_reader **ret) {
        struct natgw_conf_slice_reader *rd = calloc(1, sizeof(*rd));
        sigset_t all, was;

        if (!rd)
                return -ENOMEM;
        rd->sl = sl;
        pthread_mutex_init(&rd->lock, NULL);
        pthread_cond_init(&rd->cond, NULL);
        /* Signals are the caller's thread's to take (sd-event reads them from a signalfd, which
         * works only while they are blocked in every thread). */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &was);
        rd->thread = pthread_create(&rd->tid, NULL, reader_main, rd) == 0;
        pthread_sigmask(SIG_SETMASK, &was, NULL);
        *ret = rd;
        return 0;
}

/* See conf-slice.h. */
const config_t *natgw_conf_slice_reader_next(struct natgw_conf_slice_reader *rd, int *r) {
        size_t i = rd->taken;

        if (i >= rd->sl->n) {
                *r = 0;
                return NULL;
        }
        if (!rd->thread) {
                *r = parse_one(rd, i);
                rd->parsed = i + 1;
                rd->taken = i + 1;
        } else {
                pthread_mutex_lock(&rd->lock);
                rd->taken = i + 1; /* the slice before is done with */
                pthread_cond_broadcast(&rd->cond);
                while (rd->parsed <= i)
                        pthread_cond_wait(&rd->cond, &rd->lock);
                *r = rd->result[i % SLOTS];
                pthread_mutex_unlock(&rd->lock);
        }
        return *r < 0 ? NULL : &rd->cfg[i % SLOTS];
}

/* See conf-slice.h. */
void natgw_conf_slice_reader_free(struct natgw_conf_slice_reader *rd) {
        if (!rd)
                return;
        if (rd->thread) {
                pthread_mutex_lock(&rd->lock);
                rd->stop = true;
                pthread_cond_broadcast(&rd->cond);
                pthread_mutex_unlock(&rd->lock);
                pthread_join(rd->tid, NULL);
        }
        /* The trees still there: the last SLOTS parsed. */
        for (size_t i = rd->parsed > SLOTS ? rd->parsed - SLOTS : 0; i < rd->parsed; i++)
                config_destroy(&rd->cfg[i % SLOTS]);
        pthread_mutex_destroy(&rd->lock);
        pthread_cond_destroy(&rd->cond);
        free(rd);
}

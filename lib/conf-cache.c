/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <time.h>

#include "conf-cache.h"
#include "conf-entry.h"
#include "conf-netmap.h"
#include "util.h"

/*
 * File times are coarse (a clock tick; a second on some file systems): a file written again
 * within the tick of the write before keeps its ctime. So a file changed less than this before
 * it was read is not known by its times (as git treats "racy" index entries): the next reload
 * reads it again, and only its hash may spare the parse.
 */
#define RACY_NSEC (2 * (int64_t)1000000000)

static void identity_of(const struct stat *st, struct natgw_conf_file *f) {
        f->dev = (uint64_t)st->st_dev;
        f->ino = (uint64_t)st->st_ino;
        f->st_size = (int64_t)st->st_size;
        f->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
        f->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

void natgw_conf_file_set_identity(struct natgw_conf_file *f, const struct stat *st) {
        struct timespec now;

        identity_of(st, f);
        f->identity = clock_gettime(CLOCK_REALTIME, &now) >= 0 &&
                      f->ctime_ns < (int64_t)now.tv_sec * 1000000000 + now.tv_nsec - RACY_NSEC &&
                      f->mtime_ns < (int64_t)now.tv_sec * 1000000000 + now.tv_nsec - RACY_NSEC;
}

bool natgw_conf_file_same(const struct natgw_conf_file *f, const struct stat *st) {
        struct natgw_conf_file now = {};

        identity_of(st, &now);
        return f->identity && S_ISREG(st->st_mode) && f->dev == now.dev && f->ino == now.ino &&
               f->st_size == now.st_size && f->mtime_ns == now.mtime_ns && f->ctime_ns == now.ctime_ns;
}

const struct natgw_conf_file *natgw_conf_cache_find(const struct natgw_config *old, const char *path) {
        for (size_t i = 1; old && i < old->n_files; i++)
                if (streq(old->files[i].path, path))
                        return &old->files[i];
        return NULL;
}

/* Where @file is among @c's files, from the cursor *@k on (the entries of one section come in
 * file order, so the cursor mostly stays or moves on); -1: not found. */
static ssize_t file_index(const struct natgw_config *c, const char *file, size_t *k) {
        for (size_t n = 0; n < c->n_files; n++, *k = (*k + 1) % c->n_files)
                if (c->files[*k].path == file)
                        return (ssize_t)*k;
        return -1;
}

/* natgw_conf_add_name() of @name at @line of the file @file of @c (its path and rank there). */
static int add_name(struct natgw_conf_ctx *ctx, const struct natgw_config *c, const char *file, const char *name,
                    unsigned line, size_t *k) {
        ssize_t f = file_index(c, file, k);

        ctx->file = f >= 0 ? c->files[f].path : c->path;
        ctx->rank = f >= 0 ? (unsigned)f : 0;
        return natgw_conf_add_name(ctx, name, line);
}

int natgw_conf_cache_add_names(struct natgw_conf_ctx *ctx, const struct natgw_config *c) {
        const char *file = ctx->file;
        unsigned rank = ctx->rank;
        size_t k = 0;
        int r = 0;

        for (size_t i = 0; i < c->n_egress && r >= 0; i++)
                if (c->egress[i].borrowed)
                        r = add_name(ctx, c, c->egress[i].file, c->egress[i].name, c->egress[i].line, &k);
        for (size_t i = 0; i < c->n_forwards && r >= 0; i++)
                if (c->forwards[i].borrowed)
                        r = add_name(ctx, c, c->forwards[i].file, c->forwards[i].name, c->forwards[i].line, &k);
        ctx->file = file;
        ctx->rank = rank;
        return r;
}

void natgw_config_take_entries(struct natgw_config *c, struct natgw_config *old) {
        bool any_cached = false;
        size_t k = 1;

        /* Entries are borrowed only from the files of @old that @c did not read again (at
         * 50,000 forwards read anew, the loops would touch 7 MB for nothing). */
        for (size_t i = 0; i < c->n_files; i++)
                any_cached = any_cached || c->files[i].cached;
        for (size_t i = 0; any_cached && i < c->n_egress; i++)
                c->egress[i].borrowed = false;
        for (size_t i = 0; any_cached && i < c->n_forwards; i++)
                c->forwards[i].borrowed = false;
        if (!old)
                return;
        /* Drop-ins are in name order in both (paths in one directory sort as names do). */
        for (size_t i = 1; i < c->n_files; i++) {
                if (!c->files[i].cached)
                        continue;
                while (k < old->n_files && strcmp(old->files[k].path, c->files[i].path) < 0)
                        k++;
                if (k < old->n_files && streq(old->files[k].path, c->files[i].path))
                        old->files[k].lent = true;
        }
        k = 0;
        for (size_t i = 0; i < old->n_egress; i++) {
                ssize_t f = file_index(old, old->egress[i].file, &k);

                if (f >= 0 && old->files[f].lent)
                        old->egress[i].borrowed = true;
        }
        k = 0;
        for (size_t i = 0; i < old->n_forwards; i++) {
                ssize_t f = file_index(old, old->forwards[i].file, &k);

                if (f >= 0 && old->files[f].lent)
                        old->forwards[i].borrowed = true;
        }
}

/* The netmap entries of @old_path's file of @old, as natgw_conf_cache_copy() copies the others. */
static int copy_netmaps(struct natgw_conf_ctx *ctx, const struct natgw_config *old, const char *old_path,
                        const char *file, struct natgw_config *c) {
        for (size_t i = 0; i < old->n_netmaps; i++) {
                if (old->netmaps[i].file != old_path)
                        continue;
                if (GROW(c->netmaps, ctx->cap_netmaps, c->n_netmaps + 1) < 0 ||
                    natgw_netmap_copy(&old->netmaps[i], file, &c->netmaps[c->n_netmaps]) < 0)
                        return -ENOMEM;
                c->n_netmaps++;
                if (natgw_conf_add_name(ctx, c->netmaps[c->n_netmaps - 1].name, c->netmaps[c->n_netmaps - 1].line) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int natgw_conf_cache_copy(struct natgw_conf_ctx *ctx, const struct natgw_config *old, const char *old_path,
                          const char *key, const char *file, struct natgw_config *c) {
        bool fwd = streq(key, "forward");
        enum natgw_egress_kind kind = streq(key, "snat") ? NATGW_EGRESS_SNAT : NATGW_EGRESS_MASQUERADE;
        size_t n = fwd ? old->n_forwards : old->n_egress;

        if (streq(key, "netmap"))
                return copy_netmaps(ctx, old, old_path, file, c);

        for (size_t i = 0; i < n; i++) {
                if (fwd) {
                        if (old->forwards[i].file != old_path)
                                continue;
                        if (GROW(c->forwards, ctx->cap_forwards, c->n_forwards + 1) < 0)
                                return -ENOMEM;
                        c->forwards[c->n_forwards] = old->forwards[i];
                        c->forwards[c->n_forwards].file = file;
                        c->forwards[c->n_forwards].borrowed = true;
                        c->n_forwards++;
                } else {
                        if (old->egress[i].kind != kind || old->egress[i].file != old_path)
                                continue;
                        if (GROW(c->egress, ctx->cap_egress, c->n_egress + 1) < 0)
                                return -ENOMEM;
                        c->egress[c->n_egress] = old->egress[i];
                        c->egress[c->n_egress].file = file;
                        c->egress[c->n_egress].borrowed = true;
                        c->n_egress++;
                }
        }
        return 0;
}

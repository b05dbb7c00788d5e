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

const struct natgw_conf_file *natgw_config_find_dropin(const struct natgw_config *c, const char *path, size_t *hint) {
        if (!c)
                return NULL;
        if (*hint >= 1 && *hint < c->n_files && streq(c->files[*hint].path, path))
                return &c->files[(*hint)++];
        for (size_t i = 1; i < c->n_files; i++)
                if (streq(c->files[i].path, path)) {
                        *hint = i + 1;
                        return &c->files[i];
                }
        return NULL;
}

int natgw_conf_cache_add_names(struct natgw_conf_ctx *ctx, const struct natgw_config *c) {
        const char *file = ctx->file;
        unsigned rank = ctx->rank;
        int r = 0;

        /* The borrowed entries are those of the files not read again, each file's in runs. */
        for (size_t i = 0; i < c->n_files && r >= 0; i++) {
                const struct natgw_conf_file *f = &c->files[i];

                if (!f->cached)
                        continue;
                ctx->file = f->path;
                ctx->rank = (unsigned)i;
                for (enum natgw_section sec = NATGW_SECTION_MASQUERADE; sec <= NATGW_SECTION_FORWARD; sec++)
                        for (size_t e = f->at[sec].first; e < f->at[sec].first + f->at[sec].n && r >= 0; e++)
                                r = sec == NATGW_SECTION_FORWARD
                                            ? natgw_conf_add_name(ctx, c->forwards[e].name, c->forwards[e].line)
                                            : natgw_conf_add_name(ctx, c->egress[e].name, c->egress[e].line);
        }
        ctx->file = file;
        ctx->rank = rank;
        return r;
}

/* Set the borrowed flag of the egress entries and forwards of file @f of @c to @on. */
static void file_borrowed(struct natgw_config *c, const struct natgw_conf_file *f, bool on) {
        for (enum natgw_section sec = NATGW_SECTION_MASQUERADE; sec <= NATGW_SECTION_SNAT; sec++)
                for (size_t e = f->at[sec].first; e < f->at[sec].first + f->at[sec].n; e++)
                        c->egress[e].borrowed = on;
        for (size_t e = f->at[NATGW_SECTION_FORWARD].first;
             e < f->at[NATGW_SECTION_FORWARD].first + f->at[NATGW_SECTION_FORWARD].n; e++)
                c->forwards[e].borrowed = on;
}

void natgw_config_take_entries(struct natgw_config *c, struct natgw_config *old) {
        size_t k = 1;

        /* Entries are borrowed only from the files of @old that @c did not read again: the
         * flags of those files' runs change, not of every entry. */
        for (size_t i = 0; i < c->n_files; i++)
                if (c->files[i].cached)
                        file_borrowed(c, &c->files[i], false);
        if (!old)
                return;
        /* Drop-ins are in name order in both (paths in one directory sort as names do). */
        for (size_t i = 1; i < c->n_files; i++) {
                if (!c->files[i].cached)
                        continue;
                while (k < old->n_files && strcmp(old->files[k].path, c->files[i].path) < 0)
                        k++;
                if (k < old->n_files && streq(old->files[k].path, c->files[i].path)) {
                        old->files[k].lent = true;
                        file_borrowed(old, &old->files[k], true);
                }
        }
}

int natgw_conf_cache_copy(struct natgw_conf_ctx *ctx, const struct natgw_config *old,
                          const struct natgw_conf_file *was, enum natgw_section sec, const char *file,
                          struct natgw_config *c) {
        size_t first = was->at[sec].first, n = was->at[sec].n;

        if (n == 0)
                return 0;
        switch (sec) {
        case NATGW_SECTION_NETMAP:
                /* Netmaps are copied (few, and checked anew on every load). */
                if (GROW(c->netmaps, ctx->cap_netmaps, c->n_netmaps + n) < 0)
                        return -ENOMEM;
                for (size_t i = first; i < first + n; i++) {
                        if (natgw_netmap_copy(&old->netmaps[i], file, &c->netmaps[c->n_netmaps]) < 0)
                                return -ENOMEM;
                        c->n_netmaps++;
                        if (natgw_conf_add_name(ctx, c->netmaps[c->n_netmaps - 1].name,
                                                c->netmaps[c->n_netmaps - 1].line) < 0)
                                return -ENOMEM;
                }
                return 0;
        case NATGW_SECTION_FORWARD:
                if (GROW(c->forwards, ctx->cap_forwards, c->n_forwards + n) < 0)
                        return -ENOMEM;
                memcpy(c->forwards + c->n_forwards, old->forwards + first, n * sizeof(*c->forwards));
                for (size_t i = c->n_forwards; i < c->n_forwards + n; i++) {
                        c->forwards[i].file = file;
                        c->forwards[i].borrowed = true;
                }
                c->n_forwards += n;
                return 0;
        default:
                if (GROW(c->egress, ctx->cap_egress, c->n_egress + n) < 0)
                        return -ENOMEM;
                memcpy(c->egress + c->n_egress, old->egress + first, n * sizeof(*c->egress));
                for (size_t i = c->n_egress; i < c->n_egress + n; i++) {
                        c->egress[i].file = file;
                        c->egress[i].borrowed = true;
                }
                c->n_egress += n;
                return 0;
        }
}

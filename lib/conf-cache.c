/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <time.h>

#include "conf-cache.h"
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

/* A deep copy: every array the entry owns (natgw_egress_done() frees the same ones). */
static int egress_copy(const struct natgw_egress *e, const char *file, struct natgw_egress *ret) {
        struct natgw_egress x = *e;

        x.file = file;
        x.name = strdup(e->name);
        x.sources = e->n_sources ? malloc(e->n_sources * sizeof(*e->sources)) : NULL;
        if (!x.name || (e->n_sources && !x.sources)) {
                free(x.name);
                free(x.sources);
                return -ENOMEM;
        }
        if (e->n_sources)
                memcpy(x.sources, e->sources, e->n_sources * sizeof(*e->sources));
        *ret = x;
        return 0;
}

/* As egress_copy(), as natgw_forward_done() frees. */
static int forward_copy(const struct natgw_forward *f, const char *file, struct natgw_forward *ret) {
        struct natgw_forward x = *f;

        x.file = file;
        x.name = strdup(f->name);
        x.ports = f->n_ports ? malloc(f->n_ports * sizeof(*f->ports)) : NULL;
        x.allow_from = f->n_allow_from ? malloc(f->n_allow_from * sizeof(*f->allow_from)) : NULL;
        if (!x.name || (f->n_ports && !x.ports) || (f->n_allow_from && !x.allow_from)) {
                free(x.name);
                free(x.ports);
                free(x.allow_from);
                return -ENOMEM;
        }
        if (f->n_ports)
                memcpy(x.ports, f->ports, f->n_ports * sizeof(*f->ports));
        if (f->n_allow_from)
                memcpy(x.allow_from, f->allow_from, f->n_allow_from * sizeof(*f->allow_from));
        *ret = x;
        return 0;
}

int natgw_conf_cache_copy(struct natgw_conf_ctx *ctx, const struct natgw_config *old, const char *old_path,
                          const char *key, const char *file, struct natgw_config *c) {
        bool fwd = streq(key, "forward");
        enum natgw_egress_kind kind = streq(key, "snat") ? NATGW_EGRESS_SNAT : NATGW_EGRESS_MASQUERADE;
        size_t n = fwd ? old->n_forwards : old->n_egress;

        for (size_t i = 0; i < n; i++) {
                const char *name;
                unsigned line;

                if (fwd) {
                        if (old->forwards[i].file != old_path)
                                continue;
                        if (GROW(c->forwards, ctx->cap_forwards, c->n_forwards + 1) < 0 ||
                            forward_copy(&old->forwards[i], file, &c->forwards[c->n_forwards]) < 0)
                                return -ENOMEM;
                        name = c->forwards[c->n_forwards].name;
                        line = c->forwards[c->n_forwards++].line;
                } else {
                        if (old->egress[i].kind != kind || old->egress[i].file != old_path)
                                continue;
                        if (GROW(c->egress, ctx->cap_egress, c->n_egress + 1) < 0 ||
                            egress_copy(&old->egress[i], file, &c->egress[c->n_egress]) < 0)
                                return -ENOMEM;
                        name = c->egress[c->n_egress].name;
                        line = c->egress[c->n_egress++].line;
                }
                if (natgw_conf_add_name(ctx, name, line) < 0)
                        return -ENOMEM;
        }
        return 0;
}

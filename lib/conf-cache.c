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

/* A copy of @n elements of @size bytes at @src; NULL for none, or when out of memory. */
static void *dup_array(const void *src, size_t n, size_t size) {
        void *copy = n ? malloc(n * size) : NULL;

        if (copy)
                memcpy(copy, src, n * size);
        return copy;
}

/* A deep copy: every array the entry owns (natgw_egress_done() frees the same ones, also of
 * a copy made halfway: what it does not own yet is NULL). */
static int egress_copy(const struct natgw_egress *e, const char *file, struct natgw_egress *ret) {
        struct natgw_egress x = *e;
        bool ok;

        x.file = file;
        x.name = strdup(e->name);
        x.sources = dup_array(e->sources, e->n_sources, sizeof(*e->sources));
        x.allow = e->n_allow ? calloc(e->n_allow, sizeof(*x.allow)) : NULL;
        x.n_allow = x.allow ? e->n_allow : 0;
        ok = x.name && (x.sources || !e->n_sources) && (x.allow || !e->n_allow);
        for (size_t i = 0; i < x.n_allow; i++) {
                const struct natgw_allow *a = &e->allow[i];

                x.allow[i] = *a;
                x.allow[i].to = dup_array(a->to, a->n_to, sizeof(*a->to));
                x.allow[i].ports = dup_array(a->ports, a->n_ports, sizeof(*a->ports));
                ok = ok && (x.allow[i].to || !a->n_to) && (x.allow[i].ports || !a->n_ports);
        }
        if (!ok) {
                natgw_egress_done(&x);
                return -ENOMEM;
        }
        *ret = x;
        return 0;
}

/* As egress_copy(), as natgw_forward_done() frees. */
static int forward_copy(const struct natgw_forward *f, const char *file, struct natgw_forward *ret) {
        struct natgw_forward x = *f;

        x.file = file;
        x.name = strdup(f->name);
        x.ports = dup_array(f->ports, f->n_ports, sizeof(*f->ports));
        x.allow_from = dup_array(f->allow_from, f->n_allow_from, sizeof(*f->allow_from));
        if (!x.name || (f->n_ports && !x.ports) || (f->n_allow_from && !x.allow_from)) {
                natgw_forward_done(&x);
                return -ENOMEM;
        }
        *ret = x;
        return 0;
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

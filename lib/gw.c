/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>

#include "gw.h"
#include "nft-monitor.h"
#include "nft-plan.h"
#include "sysctl.h"
#include "time-util.h"
#include "util.h"

int natgw_gw_new(struct natgw_gw **ret) {
        _cleanup_(natgw_gw_freep) struct natgw_gw *gw = NULL;
        int r;

        gw = calloc(1, sizeof(*gw));
        if (!gw)
                return -ENOMEM;
        r = natgw_nft_new(&gw->nft);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(gw);
        return 0;
}

void natgw_gw_release(struct natgw_gw *gw) {
        if (!gw->replaced)
                return;
        natgw_config_take_entries(gw->config, gw->replaced);
        gw->replaced = natgw_config_free(gw->replaced);
}

struct natgw_gw *natgw_gw_free(struct natgw_gw *gw) {
        if (!gw)
                return NULL;
        natgw_gw_release(gw);
        natgw_nft_free(gw->nft);
        natgw_config_free(gw->config);
        free(gw->record_path);
        free(gw);
        return NULL;
}

struct if_use {
        const char *ifname;
        size_t entry; /* egress entries first, then forwards, then netmaps */
};

static int cmp_if_use(const void *a, const void *b) {
        const struct if_use *x = a, *y = b;
        int r = strcmp(x->ifname, y->ifname);

        return r ? r : CMP(x->entry, y->entry);
}

/* Entry @i (numbered as struct if_use): its name, interface, file and line. */
static void entry_at(const struct natgw_config *c, size_t i, const char **ret_name, const char **ret_ifname,
                     const char **ret_file, unsigned *ret_line) {
        const struct natgw_netmap *nm;

        if (i < c->n_egress) {
                *ret_name = c->egress[i].name, *ret_ifname = c->egress[i].out_interface;
                *ret_file = c->egress[i].file, *ret_line = c->egress[i].line;
        } else if (i - c->n_egress < c->n_forwards) {
                i -= c->n_egress;
                *ret_name = c->forwards[i].name, *ret_ifname = c->forwards[i].in_interface;
                *ret_file = c->forwards[i].file, *ret_line = c->forwards[i].line;
        } else {
                nm = &c->netmaps[i - c->n_egress - c->n_forwards];
                *ret_name = nm->name, *ret_ifname = nm->interface, *ret_file = nm->file, *ret_line = nm->line;
        }
}

static const char *entry_name(const struct natgw_config *c, size_t i) {
        const char *name, *ifname, *file;
        unsigned line;

        entry_at(c, i, &name, &ifname, &file, &line);
        return name;
}

/* An interface the entries name: the first entry that names it, up to three others, how many. */
struct if_named {
        const char *ifname;
        size_t first, others[3], n;
};

static int cmp_if_named(const void *a, const void *b) {
        return strcmp(((const struct if_named *)a)->ifname, ((const struct if_named *)b)->ifname);
}

/* The interfaces the entries of @c name, each once, into @v (room for @max): most configs name a
 * few, in runs. The number of them, or SIZE_MAX if there are more than @max. One pass, in the
 * entries' order. */
static size_t interfaces_named(const struct natgw_config *c, size_t total, struct if_named *v, size_t max) {
        size_t n = 0, last = 0;

        for (size_t i = 0; i < total; i++) {
                const char *name, *ifname, *file;
                unsigned line;
                size_t k = last;

                entry_at(c, i, &name, &ifname, &file, &line);
                if (!ifname[0])
                        continue;
                if (n == 0 || !streq_short(v[k].ifname, ifname)) {
                        for (k = 0; k < n && !streq_short(v[k].ifname, ifname); k++)
                                ;
                        if (k == n) {
                                if (n == max)
                                        return SIZE_MAX;
                                v[n++] = (struct if_named){ .ifname = ifname, .first = i };
                        }
                        last = k;
                }
                if (v[k].n > 0 && v[k].n <= ELEMENTSOF(v[k].others))
                        v[k].others[v[k].n - 1] = i;
                v[k].n++;
        }
        return n;
}

/* The same, for any number of interfaces: the entries sorted by interface. */
static size_t interfaces_named_sorted(const struct natgw_config *c, size_t total, struct if_named **ret) {
        _cleanup_(freep) struct if_use *v = NULL;
        struct if_named *w;
        size_t n = 0, n_w = 0;

        v = calloc(MAX(total, (size_t)1), sizeof(*v));
        w = calloc(MAX(total, (size_t)1), sizeof(*w));
        if (!v || !w) {
                free(w);
                return 0; /* only a warning */
        }
        for (size_t i = 0; i < total; i++) {
                const char *name, *ifname, *file;
                unsigned line;

                entry_at(c, i, &name, &ifname, &file, &line);
                if (ifname[0])
                        v[n++] = (struct if_use){ ifname, i };
        }
        qsort(v, n, sizeof(*v), cmp_if_use);
        for (size_t i = 0; i < n; i++) {
                struct if_named *x;

                if (n_w == 0 || !streq(w[n_w - 1].ifname, v[i].ifname)) {
                        w[n_w++] = (struct if_named){ .ifname = v[i].ifname, .first = v[i].entry, .n = 1 };
                        continue;
                }
                x = &w[n_w - 1];
                if (x->n <= ELEMENTSOF(x->others))
                        x->others[x->n - 1] = v[i].entry;
                x->n++;
        }
        *ret = w;
        return n_w;
}

/* One warning per interface that does not exist (yet): a PPP link that is down, a hot-plugged
 * NIC. Not an error: the table matches names, so the entries work once it appears. The warning
 * points at the first entry that names it and counts the others (a config of 50,000 forwards
 * on one missing interface says so once, not 50,000 times). Each interface is looked up once;
 * the entries are read once, without a copy, when they name a few (most configs). */
static void warn_missing_interfaces(const struct natgw_config *c, struct natgw_errors *errors) {
        size_t total = c->n_egress + c->n_forwards + c->n_netmaps, n;
        _cleanup_(freep) struct if_named *many = NULL;
        struct if_named few[16], *v = few;

        n = interfaces_named(c, total, few, ELEMENTSOF(few));
        if (n == SIZE_MAX) {
                n = interfaces_named_sorted(c, total, &many);
                v = many;
        } else
                qsort(few, n, sizeof(*few), cmp_if_named);
        for (size_t i = 0; i < n; i++) {
                const char *name, *ifname, *file;
                char others[256] = "";
                size_t len = 0;
                unsigned line;

                if (if_nametoindex(v[i].ifname) > 0 || errno != ENODEV)
                        continue;
                if (v[i].n > 1) {
                        size_t more = v[i].n - 1;

                        len = (size_t)snprintf(others, sizeof(others), " and %zu other%s (", more, more > 1 ? "s" : "");
                        for (size_t k = 0; k < MIN(more, ELEMENTSOF(v[i].others)) && len < sizeof(others); k++)
                                len += (size_t)snprintf(others + len, sizeof(others) - len, "%s\"%s\"",
                                                        k > 0 ? ", " : "", entry_name(c, v[i].others[k]));
                        if (len < sizeof(others))
                                snprintf(others + len, sizeof(others) - len, "%s)",
                                         more > ELEMENTSOF(v[i].others) ? ", ..." : "");
                }
                entry_at(c, v[i].first, &name, &ifname, &file, &line);
                (void)natgw_errors_warn(errors, natgw_config_entry_file(c, file), line, name,
                                       "interface \"%s\" does not exist (yet): the entry%s %s as soon as an "
                                       "interface of that name appears",
                                       v[i].ifname, others, v[i].n > 1 ? "apply" : "applies");
        }
}

int natgw_gw_set_record(struct natgw_gw *gw, const char *path) {
        char *p = NULL;

        if (path && path[0] && !(p = strdup(path)))
                return -ENOMEM;
        free(gw->record_path);
        gw->record_path = p;
        return 0;
}

/* Write @text to the record, atomically: a reader sees the old record or the new one. */
static int record_write(const char *path, const char *text) {
        _cleanup_(freep) char *tmp = NULL;
        size_t len = strlen(text), done = 0;
        int fd, r = 0;

        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        while (done < len && r == 0) {
                ssize_t n = write(fd, text + done, len - done);

                if (n < 0 && errno != EINTR)
                        r = -errno;
                else if (n > 0)
                        done += (size_t)n;
        }
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void)unlink(tmp);
        return r;
}

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

/* Delete the flat directory @dir (natgwd's own: files only) and what it holds; 0 when it is gone. */
static int remove_flat_dir(const char *dir) {
        _cleanup_(closedirp) DIR *d = opendir(dir);
        const struct dirent *de;

        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") &&
                    unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
                        return -errno;
        return rmdir(dir) < 0 && errno != ENOENT ? -errno : 0;
}

/*
 * The drop-ins of @c, copied under their own names into RECORD.d (replaced as a whole: written
 * to RECORD.d.tmp first), or RECORD.d removed when @c has no include_dir.
 */
static int record_write_dropins(const char *record, const struct natgw_config *c) {
        _cleanup_(freep) char *dir = NULL, *tmp = NULL;
        int r;

        if (asprintf(&dir, "%s.d", record) < 0 || asprintf(&tmp, "%s.d.tmp", record) < 0)
                return -ENOMEM;
        r = remove_flat_dir(tmp);
        if (r < 0)
                return r;
        if (!c->include_dir)
                return remove_flat_dir(dir);
        if (mkdir(tmp, 0700) < 0)
                return -errno;
        for (size_t i = 1; i < c->n_files; i++) {
                const char *name = strrchr(c->files[i].path, '/') + 1;
                _cleanup_(freep) char *p = NULL, *was = NULL;

                if (asprintf(&p, "%s/%s", tmp, name) < 0 || asprintf(&was, "%s/%s", dir, name) < 0)
                        return -ENOMEM;
                /* A drop-in not read again is the one the record holds already. */
                r = c->texts[i] ? record_write(p, c->texts[i]) : link(was, p) < 0 ? -errno : 0;
                if (r < 0)
                        return r;
        }
        r = remove_flat_dir(dir);
        if (r < 0)
                return r;
        return rename(tmp, dir) < 0 ? -errno : 0;
}

/* Whether file @i of @c has the bytes of file @k of @old (by the hashes the loader computes). */
static bool file_same(const struct natgw_config *old, const struct natgw_config *c, size_t i, size_t k) {
        const struct natgw_conf_file *a = &old->files[k], *b = &c->files[i];

        return !a->hash_pending && !b->hash_pending && a->size == b->size &&
               memcmp(a->sha256, b->sha256, sizeof(b->sha256)) == 0;
}

/* Whether the record's directory of drop-ins (RECORD.d) is there. */
static bool record_dir_present(const char *record) {
        _cleanup_(freep) char *dir = NULL;

        return asprintf(&dir, "%s.d", record) >= 0 && access(dir, F_OK) >= 0;
}

/*
 * The record's drop-ins made @c's from @old's, in place: each drop-in @c read whose bytes differ
 * from @old's file of that path written (atomically, by rename), each of @old's that @c lacks
 * removed; the unchanged ones, most of a reload's, are not touched (with 1,000 drop-ins,
 * rebuilding the directory cost a reload 3,000 system calls). The whole directory is written
 * anew (record_write_dropins()) when it is gone or the directory of drop-ins changed.
 */
static int record_update_dropins(const char *record, const struct natgw_config *old, const struct natgw_config *c) {
        _cleanup_(freep) bool *kept = NULL;
        _cleanup_(freep) char *dir = NULL;
        size_t hint = 1;

        if (!old->include_dir || !c->include_dir || !streq(old->include_dir, c->include_dir) ||
            !record_dir_present(record))
                return record_write_dropins(record, c);
        kept = calloc(MAX(old->n_files, (size_t)1), sizeof(*kept));
        if (!kept || asprintf(&dir, "%s.d", record) < 0)
                return -ENOMEM;
        for (size_t i = 1; i < c->n_files; i++) {
                const struct natgw_conf_file *was = natgw_config_find_dropin(old, c->files[i].path, &hint);
                _cleanup_(freep) char *p = NULL;
                int r;

                if (was)
                        kept[was - old->files] = true;
                /* Not read again (the record holds it), or read with the bytes the record holds. */
                if (!c->texts[i] || (was && file_same(old, c, i, (size_t)(was - old->files))))
                        continue;
                if (asprintf(&p, "%s/%s", dir, strrchr(c->files[i].path, '/') + 1) < 0)
                        return -ENOMEM;
                r = record_write(p, c->texts[i]);
                if (r < 0)
                        return r;
        }
        for (size_t k = 1; k < old->n_files; k++) {
                _cleanup_(freep) char *p = NULL;

                if (kept[k])
                        continue;
                if (asprintf(&p, "%s/%s", dir, strrchr(old->files[k].path, '/') + 1) < 0)
                        return -ENOMEM;
                if (unlink(p) < 0 && errno != ENOENT)
                        return -errno;
        }
        return 0;
}

/* Whether the record holds every drop-in of the config in force, for a reload to link the ones
 * it does not read again: not when its last write failed, nor when its directory is gone. */
static bool record_intact(const struct natgw_gw *gw) {
        if (!gw->record_path || !gw->config || !gw->config->include_dir)
                return true;
        return gw->record_written && record_dir_present(gw->record_path);
}

/* The config in force before natgwd started, from the record, when natgwd's table is still in
 * the kernel (else this is a plain start: nothing of an earlier config is left to clean). */
static void record_load(const struct natgw_gw *gw, const char *path, struct natgw_config **ret,
                        struct natgw_errors *errors) {
        struct natgw_errors record_errors = {};
        _cleanup_(freep) char *text = NULL, *dir = NULL;
        int r;

        if (!gw->record_path || access(gw->record_path, F_OK) < 0)
                return;
        r = natgw_nft_table_exists();
        if (r <= 0) {
                if (r < 0)
                        (void)natgw_errors_warn(errors, path, 0, NULL,
                                               "cannot tell whether table inet natgw exists (%s): the record %s "
                                               "of the config in force before is ignored",
                                               strerror(-r), gw->record_path);
                return;
        }
        r = natgw_config_read_file(gw->record_path, &text, &record_errors);
        if (r >= 0 && asprintf(&dir, "%s.d", gw->record_path) < 0)
                r = -ENOMEM;
        if (r >= 0)
                r = natgw_config_load_string_dir(text, gw->record_path, dir, ret, &record_errors);
        if (r < 0) {
                _cleanup_(freep) char *why =
                        record_errors.n > 0 ? natgw_error_format(&record_errors.v[0]) : NULL;

                (void)natgw_errors_warn(errors, path, 0, NULL,
                                       "the record %s of the config in force before cannot be loaded (%s): "
                                       "conntrack entries that config left stale are not deleted",
                                       gw->record_path, why ? why : strerror(-r));
        }
        natgw_errors_clear(&record_errors);
}

int natgw_gw_remove_record(struct natgw_gw *gw) {
        _cleanup_(freep) char *dir = NULL;

        if (!gw->record_path)
                return 0;
        gw->record_written = false;
        if (asprintf(&dir, "%s.d", gw->record_path) < 0)
                return -ENOMEM;
        (void)remove_flat_dir(dir);
        if (unlink(gw->record_path) >= 0 || errno == ENOENT)
                return 0;
        return -errno;
}

static void finish_hashes(void *userdata) {
        natgw_config_finish_hashes(userdata);
}

int natgw_gw_apply_file(struct natgw_gw *gw, const char *path, struct natgw_errors *errors) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL, *recorded = NULL;
        struct natgw_ct_stale_stats ct_stats = {};
        const struct natgw_config *old;
        struct natgw_apply_stats stats;
        int r;

        natgw_gw_release(gw);
        /* The texts are kept in the model until recorded: the record must hold exactly what was
         * applied. */
        /* Drop-ins unchanged since the config in force are neither read nor parsed again, unless
         * the record lacks them: then all are read, and the record is written whole. */
        r = natgw_config_load_file_cached(path, record_intact(gw) ? gw->config : NULL, &c, errors);
        if (r < 0)
                return r;
        /* Before the apply, which creates the table if it was not there. */
        if (!gw->config)
                record_load(gw, path, &recorded, errors);
        /* The files' hashes (only a kept config needs them) while the kernel works. */
        r = natgw_nft_apply_during(gw->nft, c, finish_hashes, c, errors, &stats);
        if (r < 0)
                return r;
        /* The table is in; a sysctl the kernel refuses is a warning and undoes nothing. A
         * rejected file never gets here: it changes no setting either. */
        (void)natgw_settings_apply(&gw->settings, c, errors);
        warn_missing_interfaces(c, errors);
        old = gw->config ? gw->config : recorded;
        if (old) {
                r = natgw_ct_stale_clean(old, c, &ct_stats);
                if (r < 0)
                        (void)natgw_errors_warn(errors, c->path, 0, NULL,
                                               "conntrack entries of added, removed or changed entries were not all "
                                               "deleted (%" PRIu64 " of %" PRIu64 " found stale): %s",
                                               ct_stats.deleted, ct_stats.stale,
                                               ct_stats.timed_out ? "the cleanup stopped at its deadline"
                                               : r == -EINTR ? "the dump was interrupted (the table changed or "
                                                               "the socket overran)"
                                                             : strerror(-r));
                else if (ct_stats.failed > 0)
                        (void)natgw_errors_warn(errors, c->path, 0, NULL,
                                               "the kernel refused to delete %" PRIu64 " of %" PRIu64
                                               " stale conntrack entries: %s",
                                               ct_stats.failed, ct_stats.stale, strerror(-ct_stats.first_error));
        }
        natgw_config_finish_hashes(c);
        if (gw->record_path) {
                /* What the record holds already is not written again: most reloads change a
                 * drop-in or two, and on a disk file system each rename over a file costs. */
                bool kept = gw->record_written && gw->config;

                r = kept ? record_update_dropins(gw->record_path, gw->config, c) : record_write_dropins(gw->record_path, c);
                if (r >= 0 && !(kept && file_same(gw->config, c, 0, 0) && access(gw->record_path, F_OK) >= 0))
                        r = record_write(gw->record_path, c->texts[0]);
                gw->record_written = r >= 0;
                if (r < 0)
                        (void)natgw_errors_warn(errors, c->path, 0, NULL,
                                               "cannot write the record %s of the config in force: %s (after a "
                                               "restart, conntrack entries this config leaves stale are not deleted)",
                                               gw->record_path, strerror(-r));
        }
        natgw_config_drop_texts(c);
        /* The config replaced is freed later (natgw_gw_release()); it still owns its entries. */
        gw->replaced = gw->config;
        gw->config = TAKE_PTR(c);
        gw->generation++;
        gw->last_stats = stats;
        gw->last_ct_stale = ct_stats;
        return 0;
}

int natgw_gw_restore(struct natgw_gw *gw, struct natgw_errors *errors) {
        struct natgw_restore_record *rec = &gw->restore;
        struct natgw_apply_stats stats = {};
        int r;

        if (!gw->config)
                return -ENOENT;
        /* Whatever natgwd last sent is not what the kernel holds now: replace, do not update. */
        natgw_nft_forget(gw->nft);
        r = natgw_nft_apply(gw->nft, gw->config, errors, &stats);
        rec->last_realtime_usec = natgw_now_usec(CLOCK_REALTIME);
        rec->last_error = r < 0 ? r : 0;
        if (r < 0) {
                rec->failed++;
                return r;
        }
        rec->restored++;
        rec->last_kernel_usec = stats.kernel_usec;
        return 0;
}

int natgw_gw_check_kernel(struct natgw_gw *gw, const char *path, struct natgw_errors *errors,
                          struct natgw_check_result *ret) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL;
        struct natgw_apply_stats stats = {};
        int r;

        r = natgw_config_load_file(path, &c, errors);
        if (r < 0)
                return r;
        natgw_config_drop_texts(c);
        r = natgw_nft_validate(gw->nft, c, errors, &stats);
        if (r < 0)
                return r;
        warn_missing_interfaces(c, errors);
        *ret = (struct natgw_check_result){
                .egress = c->n_egress,
                .forwards = c->n_forwards,
                .netmaps = c->n_netmaps,
                .map_elements = stats.elements,
                .kernel = true,
                .kernel_usec = stats.kernel_usec,
        };
        return 0;
}

int natgw_check_file(const char *path, struct natgw_errors *errors, struct natgw_check_result *ret) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL;
        _cleanup_(natgw_plan_freep) struct natgw_plan *p = NULL;
        int r;

        r = natgw_config_load_file(path, &c, errors);
        if (r >= 0)
                r = natgw_plan_build(c, &p, errors);
        if (r < 0)
                return r;
        warn_missing_interfaces(c, errors);
        *ret = (struct natgw_check_result){
                .egress = c->n_egress,
                .forwards = c->n_forwards,
                .netmaps = c->n_netmaps,
                .map_elements = p->n_elements,
        };
        return 0;
}

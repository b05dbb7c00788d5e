/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * The gateway as natgwd runs it: the config in force and the kernel state made from it.
 * Apply is all-or-nothing: a file that fails validation, compilation or the kernel's own
 * checks leaves the running table, the sysctls and the config in force as they were.
 */

#include <stdint.h>

#include "conf.h"
#include "ct-stale.h"
#include "nft.h"
#include "sysctl.h"

/* The table put back as the config in force says, after another process changed it
 * (natgw_gw_restore()). Not an apply: the generation and the last apply stay. */
struct natgw_restore_record {
        bool watching;               /* set by the daemon: it watches the table for others' changes */
        uint64_t restored;           /* restores that succeeded */
        uint64_t failed;             /* restores that failed */
        uint64_t last_realtime_usec; /* the last attempt, 0: none */
        int last_error;              /* 0, or -errno of the last attempt */
        uint64_t last_kernel_usec;   /* the kernel's time for the last successful one */
        char last_cause[256];        /* why it was made, as the caller put it ("" not said) */
};

struct natgw_gw {
        struct natgw_nft *nft;
        struct natgw_config *config; /* in force; NULL before the first apply */
        /* The config the last apply replaced, until natgw_gw_release() frees it */
        struct natgw_config *replaced;
        uint64_t generation;         /* successful applies so far */
        struct natgw_apply_stats last_stats;
        /* conntrack entries of added, removed or changed entries, deleted after the last apply */
        struct natgw_ct_stale_stats last_ct_stale;
        /* the record of the config in force (natgw_gw_set_record()), NULL: none */
        char *record_path;
        bool record_written; /* the last apply wrote the record whole */
        /* forwarding and conntrack sysctls: wanted, previous, actual, outcome (lib/sysctl.h) */
        struct natgw_settings settings;
        struct natgw_restore_record restore;
};

int natgw_gw_new(struct natgw_gw **ret);
struct natgw_gw *natgw_gw_free(struct natgw_gw *gw);

/*
 * Free the config the last apply replaced (the config in force takes the entries it shares with
 * it first). natgwd calls it once the reply of a reload is sent: at 50,000 forwards it is a pass
 * over each config's entries that the reply need not wait for. The next apply and
 * natgw_gw_free() call it too.
 */
void natgw_gw_release(struct natgw_gw *gw);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct natgw_gw *, natgw_gw_free);

/**
 * natgw_gw_apply_file() - load @path and make the kernel match it
 * @gw:     the gateway
 * @path:   config file
 * @errors: every reason the file was rejected; after a successful apply, warnings
 *
 * After the table is in, on a reload, the conntrack entries that still carry a translation of
 * the old config that the new one no longer makes, and those of untranslated flows the new one
 * now translates, are deleted (natgw_ct_stale_clean(), counts in @gw->last_ct_stale). A cleanup
 * that fails is a warning in @errors: the new config is in force all the same.
 *
 * With a record (natgw_gw_set_record()), the text applied is written to it after every
 * successful apply, and the first apply takes the recorded config as the old one when table
 * inet natgw is still in the kernel: entries changed or removed while natgwd was not running
 * are cleaned as on a reload. A record that cannot be loaded or written is a warning.
 *
 * Return: 0 when applied; -EINVAL when the file or the kernel rejected it; other -errno.
 */
int natgw_gw_apply_file(struct natgw_gw *gw, const char *path, struct natgw_errors *errors);

/**
 * natgw_gw_set_record() - keep a record of the config in force at @path
 * @gw:   the gateway
 * @path: the record's path (its directory must exist); NULL or "": no record
 *
 * Return: 0 or -ENOMEM.
 */
int natgw_gw_set_record(struct natgw_gw *gw, const char *path);

/* Delete the record (when natgwd removes its table on exit): the next start is a plain one.
 * Return: 0 (also when there was none) or -errno. */
int natgw_gw_remove_record(struct natgw_gw *gw);

/**
 * natgw_gw_restore() - put table inet natgw back as the config in force says
 * @gw:     the gateway, after a successful apply
 * @errors: why the kernel refused, if it did
 *
 * For when another process changed or deleted the table (kernels without the owner flag):
 * the config in force (@gw->config, not the file, which may have been edited since) is
 * applied again, the table replaced as a whole. Nothing else is touched: not the generation,
 * the last apply's statistics, the kernel settings or conntrack. Counted in @gw->restore.
 *
 * Return: 0 when restored; -ENOENT when no config is in force; -EINVAL when the kernel
 * rejected the table; other -errno.
 */
int natgw_gw_restore(struct natgw_gw *gw, struct natgw_errors *errors);

/* What natgw_check_file() found in a valid file. */
struct natgw_check_result {
        size_t egress, forwards, map_elements, netmaps;
        bool kernel;          /* the kernel checked the batch too (natgw_gw_check_kernel()) */
        uint64_t kernel_usec; /* ... in this time */
};

/**
 * natgw_gw_check_kernel() - natgw_check_file(), and the kernel checks what a reload would send
 * @gw:     the gateway (its netlink socket owns the table: only it may have a batch checked)
 * @path:   config file
 * @errors: every problem, the kernel's mapped to entries (and, when valid, the warnings)
 * @ret:    counts of the valid file
 *
 * natgw_nft_validate(): the batch of a reload to @path, which the kernel checks and aborts.
 * Nothing changes: not the table, its generation, the config in force or the generation of @gw.
 * Return: 0 when the file and the kernel accept it; -EINVAL when not; other -errno.
 */
int natgw_gw_check_kernel(struct natgw_gw *gw, const char *path, struct natgw_errors *errors,
                          struct natgw_check_result *ret);

/**
 * natgw_check_file() - load, validate and compile @path without touching the kernel
 * @path:   config file
 * @errors: every problem (and, when valid, the warnings)
 * @ret:    counts of the valid file
 *
 * Return: 0 when valid; -EINVAL when not; other -errno (also described in @errors).
 */
int natgw_check_file(const char *path, struct natgw_errors *errors, struct natgw_check_result *ret);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Drop-ins a reload need not read again: a drop-in that is still the file the config in force
 * was read from (same device, inode, size, modification and change time) is not read, and one
 * whose text hashes the same is not parsed; its entries are copied from the config in force.
 * A file that changed in any of these is read and parsed whole.
 *
 * The copies are shallow (a reload of 50,000 unchanged forwards would otherwise spend more time
 * in malloc() than the kernel spends on the whole update): they borrow the names and arrays of
 * the config in force, which frees them, until natgw_config_take_entries() (conf.h) hands them over when
 * the new config replaces it. A new config that is rejected is freed without touching them.
 */

#include <sys/stat.h>

#include "conf-ctx.h"

/* Record in @f which file @st describes, unless it changed too recently for its times to tell
 * (then @f has no identity and the next reload reads it again). */
void natgw_conf_file_set_identity(struct natgw_conf_file *f, const struct stat *st);

/* Whether @st describes the file @f was read from. ctime as well as mtime: a write that puts
 * the mtime back (touch -d, a copy that keeps it) still moves the ctime, which no user can set. */
bool natgw_conf_file_same(const struct natgw_conf_file *f, const struct stat *st);

/**
 * natgw_conf_cache_copy() - the entries of one section of an unchanged drop-in, borrowed from the config in force
 * @ctx:  the loader
 * @old:  the config in force
 * @was:  the drop-in in @old (its entries of @sec are at was->at[@sec])
 * @sec:  the section
 * @file: the drop-in's path in @c, which the copies are marked with
 * @c:    the model being built
 *
 * The cost is the drop-in's entries, not the table's: a reload of 1,000 unchanged drop-ins
 * copies each one's run at once.
 *
 * Return: 0 or -ENOMEM.
 */
int natgw_conf_cache_copy(struct natgw_conf_ctx *ctx, const struct natgw_config *old,
                          const struct natgw_conf_file *was, enum natgw_section sec, const char *file,
                          struct natgw_config *c);

/* Add the names of @c's borrowed entries to ctx->names, each with its file and rank (the copies
 * are not named when they are made: natgw_config_validate_changed() needs no list, only the
 * full checks do). 0 or -ENOMEM. */
int natgw_conf_cache_add_names(struct natgw_conf_ctx *ctx, const struct natgw_config *c);

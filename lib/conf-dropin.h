/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * include_dir: which files of the directory are drop-ins, and in what order (natgwd.conf(5),
 * docs/BAD-INPUT.md). The names only: reading and parsing them is the loader's.
 */

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* The drop-ins a directory may hold: a file ends up in the model only through one of these. */
#define NATGW_DROPIN_MAX 10000

/**
 * natgw_conf_dropin_wanted() - whether a directory entry named @name is a drop-in
 * @name: the entry's name (no directory)
 *
 * A drop-in's name ends in ".conf" and does not start with "." (hidden files, and Emacs lock
 * files ".#NAME"). So editor backups ("NAME.conf~", "#NAME.conf#"), package manager leftovers
 * ("NAME.conf.dpkg-old", ".dpkg-new", ".dpkg-dist", ".rpmnew", ".rpmsave") and anything else
 * are ignored: names alone, whatever the entry is.
 */
bool natgw_conf_dropin_wanted(const char *name);

/**
 * natgw_conf_dropin_list() - the drop-ins of a directory, in name order
 * @dir:     the directory
 * @ret:     a NULL-terminated array of names (no directory), sorted by strcmp() (byte order,
 *           whatever the locale); caller frees with natgw_conf_dropin_free()
 * @ret_n:   how many
 *
 * Only names are looked at (natgw_conf_dropin_wanted()): a wanted name that is not a regular
 * file, or a symlink to none, is the reader's to refuse.
 * Return: 0; -ENOENT, -ENOTDIR, -EACCES (as opendir(3) says); -E2BIG when more than
 * NATGW_DROPIN_MAX are wanted; -ENOMEM. @ret is untouched on failure.
 */
int natgw_conf_dropin_list(const char *dir, char ***ret, size_t *ret_n);

char **natgw_conf_dropin_free(char **names);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, natgw_conf_dropin_free);

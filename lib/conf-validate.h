/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The checks across entries, on a model whose entries are each valid. */

#include "conf.h"

/* More overlap reports than this help nobody: the rest are summed up in one error. */
#define NATGW_OVERLAPS_MAX 1000

/* One entry name seen in the file, with the line of its entry. */
struct natgw_conf_name {
        const char *name;
        unsigned line;
        const char *file; /* NULL: the main file */
        unsigned rank;    /* the file's place: 0 the main file, then the drop-ins in name order */
};

/**
 * natgw_config_validate() - cross-entry checks on a model whose entries are each valid
 * @c:       the model
 * @names:   every entry name of the file (also of entries left out of @c because of their own
 *           errors)
 * @n_names: size of @names
 * @file:    file name for the errors
 * @errors:  problems are appended here
 *
 * Checks: names unique; no two egress entries with the same source prefix on the same
 * out_interface; no two forwards that overlap. O(n log n) in the number of entries.
 * Return: 0 when nothing is wrong; -EINVAL when errors were added; -ENOMEM.
 */
int natgw_config_validate(const struct natgw_config *c, const struct natgw_conf_name *names,
                          size_t n_names, const char *file, struct natgw_errors *errors);

/* The most new entries natgw_config_validate_changed() checks pair by pair. */
#define NATGW_VALIDATE_CHANGED_MAX 64

/**
 * natgw_config_validate_changed() - whether natgw_config_validate() can only pass, when most
 *                                   entries come from a config that passed it
 * @c: the model, each of its entries valid; the borrowed ones (copied from the config in force,
 *     lib/conf-cache.h) were all in that one config
 *
 * The checks are all about pairs, and every pair of borrowed entries passed them together: only
 * pairs with a new entry are checked: one pass over all n entries, each against every new
 * one, instead of sorts of all n. It finds whether something conflicts, not the errors: on 1 the
 * caller runs natgw_config_validate(), which reports them as always. A check added there must
 * be added here too.
 *
 * Return: 0 when natgw_config_validate() would find nothing; 1 when it may, or when more than
 * NATGW_VALIDATE_CHANGED_MAX entries are new.
 */
int natgw_config_validate_changed(const struct natgw_config *c);

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
#include "nft.h"

struct natgw_gw {
        struct natgw_nft *nft;
        struct natgw_config *config; /* in force; NULL before the first apply */
        uint64_t generation;         /* successful applies so far */
        struct natgw_apply_stats last_stats;
};

int natgw_gw_new(struct natgw_gw **ret);
struct natgw_gw *natgw_gw_free(struct natgw_gw *gw);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct natgw_gw *, natgw_gw_free);

/**
 * natgw_gw_apply_file() - load @path and make the kernel match it
 * @gw:     the gateway
 * @path:   config file
 * @errors: every reason the file was rejected
 *
 * Return: 0 when applied; -EINVAL when the file or the kernel rejected it; other -errno.
 */
int natgw_gw_apply_file(struct natgw_gw *gw, const char *path, struct natgw_errors *errors);

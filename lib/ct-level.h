/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * How full the conntrack table is, as a level with hysteresis: a level is entered as soon as its
 * threshold is reached and left only when the table is NATGW_CT_HYSTERESIS points below it, so a
 * table hovering at a threshold makes one log entry, not one per check.
 *
 *   ok        below warn
 *   warn      count >= warn % of max
 *   critical  count >= critical % of max
 *   full      count >= max, or the kernel dropped packets for want of room (drop or
 *             early_drop rose since the last check)
 */

#include <stdint.h>

enum natgw_ct_level {
        NATGW_CT_OK,
        NATGW_CT_WARN,
        NATGW_CT_CRITICAL,
        NATGW_CT_FULL,
        _NATGW_CT_LEVEL_MAX,
};

/* Points (percent of max) below a threshold before its level clears. */
#define NATGW_CT_HYSTERESIS 5.0

const char *natgw_ct_level_to_string(enum natgw_ct_level l);

/**
 * natgw_ct_level_next() - the level after one check
 * @cur:      the level so far
 * @warn:     percent of max (1-100)
 * @critical: percent of max (warn-100)
 * @count:    entries now
 * @max:      nf_conntrack_max now (0: unknown, the level then stays ok)
 * @drops:    drop + early_drop since the last check
 *
 * Return: the new level.
 */
enum natgw_ct_level natgw_ct_level_next(enum natgw_ct_level cur, unsigned warn, unsigned critical, uint64_t count,
                                        uint64_t max, uint64_t drops);

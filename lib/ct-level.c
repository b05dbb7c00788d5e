/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "ct-level.h"

static const char *const level_names[_NATGW_CT_LEVEL_MAX] = {
        [NATGW_CT_OK] = "ok",
        [NATGW_CT_WARN] = "warn",
        [NATGW_CT_CRITICAL] = "critical",
        [NATGW_CT_FULL] = "full",
};

const char *natgw_ct_level_to_string(enum natgw_ct_level l) {
        return (unsigned)l < _NATGW_CT_LEVEL_MAX ? level_names[l] : "?";
}

enum natgw_ct_level natgw_ct_level_next(enum natgw_ct_level cur, unsigned warn, unsigned critical, uint64_t count,
                                        uint64_t max, uint64_t drops) {
        const double threshold[_NATGW_CT_LEVEL_MAX] = { [NATGW_CT_WARN] = warn, [NATGW_CT_CRITICAL] = critical,
                                                         [NATGW_CT_FULL] = 100.0 };
        enum natgw_ct_level raw;
        double pct;

        if (max == 0)
                return NATGW_CT_OK;
        pct = 100.0 * (double)count / (double)max;
        if (count >= max || drops > 0)
                raw = NATGW_CT_FULL;
        else if (pct >= critical)
                raw = NATGW_CT_CRITICAL;
        else if (pct >= warn)
                raw = NATGW_CT_WARN;
        else
                raw = NATGW_CT_OK;
        if (raw >= cur || (unsigned)cur >= _NATGW_CT_LEVEL_MAX)
                return raw;
        /* Going down: each level above the raw one holds while the table is within the
         * hysteresis band below its threshold. */
        for (enum natgw_ct_level l = cur; l > raw; l--)
                if (pct >= threshold[l] - NATGW_CT_HYSTERESIS)
                        return l;
        return raw;
}

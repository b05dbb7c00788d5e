/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "util-ha.h"

static const char *const role_names[NATGW_HA_ROLE_COUNT] = {
        [NATGW_HA_NONE] = "none",
        [NATGW_HA_MASTER] = "master",
        [NATGW_HA_BACKUP] = "backup",
        [NATGW_HA_FAULT] = "fault",
};

const char *natgw_ha_role_to_string(enum natgw_ha_role r) {
        return (unsigned)r < NATGW_HA_ROLE_COUNT ? role_names[r] : NULL;
}

int natgw_ha_role_from_string(const char *s) {
        for (int i = NATGW_HA_MASTER; i < NATGW_HA_ROLE_COUNT; i++)
                if (streq(s, role_names[i]))
                        return i;
        return -EINVAL;
}

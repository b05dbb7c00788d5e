/* SPDX-License-Identifier: GPL-2.0-or-later */
/* netmap entries in diagnose: which one translates an address, read from `show`'s entries. */

#include "gw-diagnose.h"

/* See gw-diagnose.h. */
int natgw_diag_netmap_match(const json_t *entries, const struct natgw_addr *addr, const char *ifname, bool outside,
                            struct natgw_addr *ret_to) {
        size_t i;
        json_t *e;

        json_array_foreach(entries, i, e) {
                const char *kind = json_string_value(json_object_get(e, "kind")) ?: "",
                           *iface = json_string_value(json_object_get(e, "interface")) ?: "",
                           *in = json_string_value(json_object_get(e, "inside")) ?: "",
                           *out = json_string_value(json_object_get(e, "outside")) ?: "";
                struct natgw_prefix pin, pout;
                struct natgw_addr to;

                if (!streq(kind, "netmap") || (ifname && !streq(iface, ifname)) ||
                    natgw_prefix_parse_loose(in, &pin) < 0 || natgw_prefix_parse_loose(out, &pout) < 0 ||
                    natgw_netmap_translate(outside ? &pout : &pin, outside ? &pin : &pout, addr, &to) < 0)
                        continue;
                if (ret_to)
                        *ret_to = to;
                return (int)i;
        }
        return -1;
}

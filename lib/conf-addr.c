/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The address forms only the config file has: an snat pool "A-B" and a forward's target
 * "ADDR:PORT". Pure functions, like addr.c underneath them.
 */

#include <arpa/inet.h>
#include <sys/socket.h>

#include "conf-addr.h"
#include "util.h"

/**
 * natgw_addr_range_parse() - parse an snat `to`
 * @s:      "ADDR" or "A-B"
 * @ret_lo: first address
 * @ret_hi: last address (== @ret_lo for one address)
 *
 * Return: 0; -EINVAL on a syntax error; -EAFNOSUPPORT when A and B differ in family; -EDOM
 * when A > B.
 */
int natgw_addr_range_parse(const char *s, struct natgw_addr *ret_lo, struct natgw_addr *ret_hi) {
        struct natgw_addr lo, hi;
        const char *dash;

        if (!s)
                return -EINVAL;
        /* One address is a range of one: it is parsed as both ends. */
        dash = strchr(s, '-');
        if (natgw_addr_parse_n(s, dash ? (size_t)(dash - s) : strlen(s), &lo) < 0 ||
            natgw_addr_parse(dash ? dash + 1 : s, &hi) < 0)
                return -EINVAL;
        if (lo.family != hi.family)
                return -EAFNOSUPPORT;
        if (natgw_addr_cmp(&lo, &hi) > 0)
                return -EDOM;
        *ret_lo = lo;
        *ret_hi = hi;
        return 0;
}

/**
 * natgw_forward_to_parse() - parse a forward `to`
 * @s:        "ADDR", "ADDR:PORT", "ADDR:A-B", "[V6]", "[V6]:PORT" or "[V6]:A-B"; an IPv6
 *            address without brackets is an address only
 * @ret_addr: the address
 * @ret_mode: whether and how the port is rewritten
 * @ret_port: the new port(s); zero for NATGW_TO_PORT_KEEP
 *
 * Return: 0; -EINVAL on a syntax error; -ERANGE when a port is 0 or above 65535; -EDOM when
 * A > B. Nothing is written on failure.
 */
int natgw_forward_to_parse(const char *s, struct natgw_addr *ret_addr, enum natgw_to_port *ret_mode,
                           struct natgw_port_range *ret_port) {
        struct natgw_port_range port = {};
        struct natgw_addr addr;
        const char *a, *ports = NULL;
        size_t n;
        int r;

        if (!s)
                return -EINVAL;
        if (s[0] == '[') {
                const char *close = strchr(s, ']');

                if (!close)
                        return -EINVAL;
                a = s + 1;
                n = close - a;
                if (close[1] == ':')
                        ports = close + 2;
                else if (close[1] != 0)
                        return -EINVAL;
        } else {
                const char *colon = strchr(s, ':');

                a = s;
                n = strlen(s);
                /* One colon: IPv4 with a port. More: a bare IPv6 address. */
                if (colon && !strchr(colon + 1, ':')) {
                        n = colon - s;
                        ports = colon + 1;
                }
        }

        r = natgw_addr_parse_n(a, n, &addr);
        if (r < 0)
                return r;
        /* Brackets are for IPv6 only; "[192.0.2.1]" is most likely a typo. */
        if (s[0] == '[' && addr.family != AF_INET6)
                return -EINVAL;
        if (ports) {
                r = natgw_port_parse(ports, &port);
                if (r < 0)
                        return r;
        }

        *ret_addr = addr;
        *ret_mode = !ports ? NATGW_TO_PORT_KEEP :
                    port.lo == port.hi && !strchr(ports, '-') ? NATGW_TO_PORT_SINGLE :
                    NATGW_TO_PORT_RANGE;
        *ret_port = port;
        return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The address forms only the config file has (addr.h has the rest). */

#include "conf.h"

/**
 * natgw_addr_range_parse() - parse an snat `to`: "ADDR" or "A-B" of one family
 *
 * Return: 0 (lo == hi for one address); -EINVAL on a syntax error; -EAFNOSUPPORT when A and B
 * are of different families; -EDOM when A > B.
 */
int natgw_addr_range_parse(const char *s, struct natgw_addr *ret_lo, struct natgw_addr *ret_hi);

/**
 * natgw_forward_to_parse() - parse a forward `to`
 *
 * "ADDR", "ADDR:PORT", "ADDR:A-B", "[V6]", "[V6]:PORT", "[V6]:A-B"; an IPv6 address without
 * brackets is an address only. @ret_port is zeroed for NATGW_TO_PORT_KEEP.
 * Return: 0; -EINVAL on a syntax error; -ERANGE when a port is 0 or above 65535; -EDOM when A > B.
 */
int natgw_forward_to_parse(const char *s, struct natgw_addr *ret_addr, enum natgw_to_port *ret_mode,
                           struct natgw_port_range *ret_port);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The address forms only the config file has (addr.h has the rest). */

#include "conf.h"

/* An snat `to`, "ADDR" or "A-B" (see conf-addr.c). */
int natgw_addr_range_parse(const char *s, struct natgw_addr *ret_lo, struct natgw_addr *ret_hi);

/* A forward `to`, "ADDR", "ADDR:PORT", "[V6]:A-B"... (see conf-addr.c). */
int natgw_forward_to_parse(const char *s, struct natgw_addr *ret_addr, enum natgw_to_port *ret_mode,
                           struct natgw_port_range *ret_port);

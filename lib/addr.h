/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * Addresses, prefixes and port ranges (base layer): the config loader parses them, the
 * compiler turns prefixes into intervals, the conntrack code matches entries against them.
 * Pure functions: they return a code and leave the wording of errors to the caller.
 */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for "ffff:...:ffff/128" and its NUL. */
#define NATGW_PREFIX_STRLEN (INET6_ADDRSTRLEN + 4)
/* Room for "65535-65535" and its NUL. */
#define NATGW_PORTS_STRLEN 12

struct natgw_addr {
        int family; /* AF_INET or AF_INET6 */
        union {
                struct in_addr v4;
                struct in6_addr v6;
                uint8_t bytes[16];
        };
};

/* A CIDR prefix; host bits are always zero (the loader rejects them). */
struct natgw_prefix {
        struct natgw_addr addr;
        unsigned len;
};

struct natgw_port_range {
        uint16_t lo, hi; /* inclusive, 1 <= lo <= hi */
};

/* An address as a number, IPv4 in the low 32 bits: prefixes become intervals [lo, hi]. */
typedef unsigned __int128 natgw_u128;

int natgw_addr_parse(const char *s, struct natgw_addr *ret);
/* natgw_addr_parse() of the first @n characters of @s (an address inside a longer text). */
int natgw_addr_parse_n(const char *s, size_t n, struct natgw_addr *ret);
/* Formats into buf (at least INET6_ADDRSTRLEN bytes) and returns buf. */
const char *natgw_addr_format(const struct natgw_addr *a, char *buf, size_t size);
int natgw_addr_cmp(const struct natgw_addr *a, const struct natgw_addr *b);

/* "A/N" or "A" (a /32 or /128), host bits kept: the loader tells which network was meant.
 * 0, -EINVAL, or -ERANGE (N too long for the family). */
int natgw_prefix_parse_loose(const char *s, struct natgw_prefix *ret);

/* Whether any bit past the prefix length is set. */
bool natgw_prefix_has_host_bits(const struct natgw_prefix *p);

/* Clear every bit past the prefix length. */
void natgw_prefix_mask(struct natgw_prefix *p);

/* "A/N" into buf (at least NATGW_PREFIX_STRLEN bytes); returns buf, or NULL when it does not fit. */
const char *natgw_prefix_format(const struct natgw_prefix *p, char *buf, size_t size);

int natgw_prefix_cmp(const struct natgw_prefix *a, const struct natgw_prefix *b);

/* "N" or "A-B" (decimal, no blanks). 0, -EINVAL, -ERANGE (0 or > 65535), -EDOM (A > B). */
int natgw_port_parse(const char *s, struct natgw_port_range *ret);

/* "80" or "70-90" into buf (at least NATGW_PORTS_STRLEN bytes); returns buf. */
const char *natgw_ports_format(const struct natgw_port_range *r, char *buf, size_t size);

/* Number of ports in @r. */
static inline unsigned natgw_ports_width(const struct natgw_port_range *r) {
        return (unsigned) r->hi - r->lo + 1;
}

/* "IPv4" or "IPv6". */
const char *natgw_family_name(int family);

/* ---- the address space as 128-bit integers ---- */

natgw_u128 natgw_addr_to_u128(const struct natgw_addr *a);

/* The address of @family whose number is @v (IPv4: its low 32 bits). */
void natgw_addr_from_u128(natgw_u128 v, int family, struct natgw_addr *ret);

/* The first and the last address of @p, as numbers. */
void natgw_prefix_bounds(const struct natgw_prefix *p, natgw_u128 *ret_lo, natgw_u128 *ret_hi);

/* Whether @a is inside @p (false when their families differ). */
bool natgw_prefix_contains(const struct natgw_prefix *p, const struct natgw_addr *a);

/* ---- who can reach an address ---- */

/* The ranges that outside clients cannot reach directly: only NATGW_ADDR_PUBLIC can be. */
enum natgw_addr_class {
        NATGW_ADDR_PUBLIC,
        NATGW_ADDR_PRIVATE,     /* RFC 1918: 10/8, 172.16/12, 192.168/16 */
        NATGW_ADDR_CGNAT,       /* RFC 6598: 100.64.0.0/10, carrier-grade NAT */
        NATGW_ADDR_ULA,         /* RFC 4193: fc00::/7 */
        NATGW_ADDR_LINK_LOCAL,  /* 169.254/16, fe80::/10 */
        NATGW_ADDR_LOOPBACK,    /* 127/8, ::1 */
        NATGW_ADDR_UNSPECIFIED, /* 0.0.0.0/8, :: */
};

/* The class of @a. Pure. */
enum natgw_addr_class natgw_addr_classify(const struct natgw_addr *a);

/* "public", "private (RFC 1918)", "carrier-grade NAT (100.64.0.0/10)", ... */
const char *natgw_addr_class_name(enum natgw_addr_class c);

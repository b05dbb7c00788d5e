/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Addresses, prefixes and ports: parse, format, compare, and the arithmetic of prefixes as
 * intervals of 128-bit numbers. Pure functions: they return a code and leave the wording of
 * errors to the caller.
 */

#include <arpa/inet.h>
#include <sys/socket.h>

#include "addr.h"

static unsigned addr_bits(int family) {
        return family == AF_INET ? 32 : 128;
}

static size_t addr_len(int family) {
        return family == AF_INET ? 4 : 16;
}

/**
 * natgw_addr_parse() - parse an IPv4 or IPv6 address
 * @s:   the text, e.g. "192.168.1.1" or "fd00::1" (no brackets, no zone)
 * @ret: the address
 *
 * Return: 0, or -EINVAL (@ret untouched).
 */
int natgw_addr_parse(const char *s, struct natgw_addr *ret) {
        struct natgw_addr a = {};

        if (!s)
                return -EINVAL;
        if (inet_pton(AF_INET, s, &a.v4) == 1)
                a.family = AF_INET;
        else if (inet_pton(AF_INET6, s, &a.v6) == 1)
                a.family = AF_INET6;
        else
                return -EINVAL;
        *ret = a;
        return 0;
}

/**
 * natgw_addr_parse_n() - natgw_addr_parse() of the first @n characters of @s
 * @s:   the text
 * @n:   how many characters of it are the address
 * @ret: the address
 *
 * Return: 0, or -EINVAL (@ret untouched).
 */
int natgw_addr_parse_n(const char *s, size_t n, struct natgw_addr *ret) {
        char buf[INET6_ADDRSTRLEN];

        if (!s || n >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, n);
        buf[n] = 0;
        return natgw_addr_parse(buf, ret);
}

/* A decimal number of at most @max_digits digits; nothing else. */
static int parse_decimal(const char *s, size_t n, size_t max_digits, unsigned *ret) {
        unsigned v = 0;

        if (n == 0 || n > max_digits)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        *ret = v;
        return 0;
}

/**
 * natgw_prefix_parse_loose() - parse "ADDR/LEN" or "ADDR", keeping host bits
 * @s:   the text; a bare address is a /32 or /128
 * @ret: the prefix
 *
 * Return: 0; -EINVAL on a syntax error; -ERANGE when LEN is too long for the family.
 */
int natgw_prefix_parse_loose(const char *s, struct natgw_prefix *ret) {
        struct natgw_prefix p = {};
        const char *slash;
        unsigned len;
        int r;

        if (!s)
                return -EINVAL;
        slash = strchr(s, '/');
        r = natgw_addr_parse_n(s, slash ? (size_t)(slash - s) : strlen(s), &p.addr);
        if (r < 0)
                return r;
        p.len = addr_bits(p.addr.family);
        if (slash) {
                /* Up to nine digits a number is "too long" (ERANGE); beyond, it is garbage (EINVAL). */
                r = parse_decimal(slash + 1, strlen(slash + 1), 9, &len);
                if (r < 0)
                        return r;
                if (len > p.len)
                        return -ERANGE;
                p.len = len;
        }
        *ret = p;
        return 0;
}

void natgw_prefix_mask(struct natgw_prefix *p) {
        unsigned bits = addr_bits(p->addr.family);

        for (unsigned i = p->len; i < bits; i++)
                p->addr.bytes[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
}

bool natgw_prefix_has_host_bits(const struct natgw_prefix *p) {
        struct natgw_prefix masked = *p;

        natgw_prefix_mask(&masked);
        return memcmp(masked.addr.bytes, p->addr.bytes, addr_len(p->addr.family)) != 0;
}

/**
 * natgw_addr_format() - an address as text
 * @a:    the address
 * @buf:  at least INET6_ADDRSTRLEN bytes
 * @size: size of @buf
 *
 * Return: @buf, or NULL when @a has no known family or @buf is too small.
 */
const char *natgw_addr_format(const struct natgw_addr *a, char *buf, size_t size) {
        if (a->family != AF_INET && a->family != AF_INET6)
                return NULL;
        if (size > INT32_MAX)
                size = INT32_MAX;
        return inet_ntop(a->family, a->bytes, buf, (socklen_t) size);
}

const char *natgw_prefix_format(const struct natgw_prefix *p, char *buf, size_t size) {
        size_t n;

        if (!natgw_addr_format(&p->addr, buf, size))
                return NULL;
        n = strlen(buf);
        if ((size_t) snprintf(buf + n, size - n, "/%u", p->len) >= size - n)
                return NULL;
        return buf;
}

/**
 * natgw_addr_cmp() - order addresses: by family (IPv4 first), then by their bytes
 * @a: one address
 * @b: another
 *
 * Return: <0, 0 or >0, as for qsort().
 */
int natgw_addr_cmp(const struct natgw_addr *a, const struct natgw_addr *b) {
        if (a->family != b->family)
                return CMP(a->family, b->family);
        return memcmp(a->bytes, b->bytes, addr_len(a->family));
}

int natgw_prefix_cmp(const struct natgw_prefix *a, const struct natgw_prefix *b) {
        int r = natgw_addr_cmp(&a->addr, &b->addr);

        return r != 0 ? r : CMP(a->len, b->len);
}

/**
 * natgw_port_parse() - parse "N" or "A-B"
 * @s:   the text (decimal, no blanks)
 * @ret: the range; lo == hi for one port
 *
 * Return: 0; -EINVAL on a syntax error; -ERANGE when a port is 0 or above 65535; -EDOM when
 * A > B. @ret is untouched on failure.
 */
int natgw_port_parse(const char *s, struct natgw_port_range *ret) {
        const char *dash, *hi;
        unsigned lo_v, hi_v;

        if (!s)
                return -EINVAL;
        /* One port is a range of one: it is parsed as both ends. */
        dash = strchr(s, '-');
        hi = dash ? dash + 1 : s;
        /* Syntax first, so that "0-x" is a syntax error, not a range error. Up to nine digits a
         * number is "too big" (ERANGE); beyond, it is garbage (EINVAL). */
        if (parse_decimal(s, dash ? (size_t)(dash - s) : strlen(s), 9, &lo_v) < 0 ||
            parse_decimal(hi, strlen(hi), 9, &hi_v) < 0)
                return -EINVAL;
        if (lo_v < 1 || lo_v > 65535 || hi_v < 1 || hi_v > 65535)
                return -ERANGE;
        if (lo_v > hi_v)
                return -EDOM;
        *ret = (struct natgw_port_range){ (uint16_t)lo_v, (uint16_t)hi_v };
        return 0;
}

const char *natgw_ports_format(const struct natgw_port_range *r, char *buf, size_t size) {
        if (r->lo == r->hi)
                snprintf(buf, size, "%u", r->lo);
        else
                snprintf(buf, size, "%u-%u", r->lo, r->hi);
        return buf;
}

const char *natgw_family_name(int family) {
        return family == AF_INET ? "IPv4" : family == AF_INET6 ? "IPv6" : "unknown family";
}

natgw_u128 natgw_addr_to_u128(const struct natgw_addr *a) {
        size_t n = addr_len(a->family);
        natgw_u128 v = 0;

        for (size_t i = 0; i < n; i++)
                v = (v << 8) | a->bytes[i];
        return v;
}

void natgw_addr_from_u128(natgw_u128 v, int family, struct natgw_addr *ret) {
        *ret = (struct natgw_addr){ .family = family };
        for (size_t i = addr_len(family); i > 0; i--) {
                ret->bytes[i - 1] = (uint8_t)v;
                v >>= 8;
        }
}

void natgw_prefix_bounds(const struct natgw_prefix *p, natgw_u128 *ret_lo, natgw_u128 *ret_hi) {
        unsigned bits = addr_bits(p->addr.family);
        unsigned host = bits - MIN(p->len, bits);
        natgw_u128 mask = host >= 128 ? ~(natgw_u128)0 : (((natgw_u128)1 << host) - 1);

        *ret_lo = natgw_addr_to_u128(&p->addr) & ~mask;
        *ret_hi = *ret_lo | mask;
}

bool natgw_prefix_contains(const struct natgw_prefix *p, const struct natgw_addr *a) {
        natgw_u128 lo, hi, v;

        if (p->addr.family != a->family)
                return false;
        natgw_prefix_bounds(p, &lo, &hi);
        v = natgw_addr_to_u128(a);
        return lo <= v && v <= hi;
}

enum natgw_addr_class natgw_addr_classify(const struct natgw_addr *a) {
        static const struct {
                int family;
                uint8_t bytes[16];
                unsigned len;
                enum natgw_addr_class class;
        } ranges[] = {
                { AF_INET, { 10 }, 8, NATGW_ADDR_PRIVATE },
                { AF_INET, { 172, 16 }, 12, NATGW_ADDR_PRIVATE },
                { AF_INET, { 192, 168 }, 16, NATGW_ADDR_PRIVATE },
                { AF_INET, { 100, 64 }, 10, NATGW_ADDR_CGNAT },
                { AF_INET, { 169, 254 }, 16, NATGW_ADDR_LINK_LOCAL },
                { AF_INET, { 127 }, 8, NATGW_ADDR_LOOPBACK },
                { AF_INET, { 0 }, 8, NATGW_ADDR_UNSPECIFIED },
                { AF_INET6, { 0xfc }, 7, NATGW_ADDR_ULA },
                { AF_INET6, { 0xfe, 0x80 }, 10, NATGW_ADDR_LINK_LOCAL },
                { AF_INET6, { [15] = 1 }, 128, NATGW_ADDR_LOOPBACK },
                { AF_INET6, {}, 128, NATGW_ADDR_UNSPECIFIED },
        };

        for (size_t i = 0; i < ELEMENTSOF(ranges); i++) {
                struct natgw_prefix p = { .addr.family = ranges[i].family, .len = ranges[i].len };

                memcpy(p.addr.bytes, ranges[i].bytes, sizeof(p.addr.bytes));
                if (natgw_prefix_contains(&p, a))
                        return ranges[i].class;
        }
        return NATGW_ADDR_PUBLIC;
}

const char *natgw_addr_class_name(enum natgw_addr_class c) {
        static const char *const names[] = {
                [NATGW_ADDR_PUBLIC] = "public",
                [NATGW_ADDR_PRIVATE] = "private (RFC 1918)",
                [NATGW_ADDR_CGNAT] = "carrier-grade NAT (100.64.0.0/10)",
                [NATGW_ADDR_ULA] = "unique local (fc00::/7)",
                [NATGW_ADDR_LINK_LOCAL] = "link-local",
                [NATGW_ADDR_LOOPBACK] = "loopback",
                [NATGW_ADDR_UNSPECIFIED] = "unspecified",
        };

        return (size_t)c < ELEMENTSOF(names) ? names[c] : "?";
}

/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The pure parsers of addr.c and conf-addr.c, and the diagnostics list of diag.c. */

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "addr.h"
#include "conf-addr.h"
#include "util.h"

static const uint8_t sentinel_bytes[16] = {
        0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
};

/* A prefix as the loader takes it: host bits set are an error (-EDOM). */
static int natgw_prefix_parse(const char *s, struct natgw_prefix *ret) {
        struct natgw_prefix p;
        int r;

        r = natgw_prefix_parse_loose(s, &p);
        if (r < 0)
                return r;
        if (natgw_prefix_has_host_bits(&p))
                return -EDOM;
        *ret = p;
        return 0;
}

static void assert_addr(const struct natgw_addr *a, const char *expected) {
        char buf[INET6_ADDRSTRLEN];

        assert_non_null(natgw_addr_format(a, buf, sizeof(buf)));
        assert_string_equal(buf, expected);
}

static void test_addr_parse(void **state) {
        static const char *const bad[] = {
                "", "1.2.3", "1.2.3.4.5", "256.1.1.1", " 1.2.3.4", "1.2.3.4 ", "[::1]", "fd00::1%eth0",
                "fd00::1/64", "10.0.0.0/8", "eth0", "1.2.3.4:80", ":::",
        };
        struct natgw_addr a;

        assert_int_equal(natgw_addr_parse("192.168.1.66", &a), 0);
        assert_int_equal(a.family, AF_INET);
        assert_memory_equal(a.bytes, ((uint8_t[]) { 192, 168, 1, 66 }), 4);
        assert_int_equal(a.v4.s_addr, htonl(0xc0a80142));

        assert_int_equal(natgw_addr_parse("fd00:1::10", &a), 0);
        assert_int_equal(a.family, AF_INET6);
        assert_memory_equal(a.bytes, ((uint8_t[]) { 0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10 }), 16);

        assert_int_equal(natgw_addr_parse("::", &a), 0);
        assert_int_equal(a.family, AF_INET6);
        assert_addr(&a, "::");

        /* Failures leave the result alone. */
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                memcpy(a.bytes, sentinel_bytes, 16);
                a.family = 99;
                assert_int_equal(natgw_addr_parse(bad[i], &a), -EINVAL);
                assert_int_equal(a.family, 99);
                assert_memory_equal(a.bytes, sentinel_bytes, 16);
        }
        assert_int_equal(natgw_addr_parse(NULL, &a), -EINVAL);
}

/* An address inside a longer text: only the first n characters count. */
static void test_addr_parse_n(void **state) {
        struct natgw_addr a;
        char buf[INET6_ADDRSTRLEN];

        assert_int_equal(natgw_addr_parse_n("10.0.0.1-10.0.0.9", 8, &a), 0);
        assert_string_equal(natgw_addr_format(&a, buf, sizeof(buf)), "10.0.0.1");
        assert_int_equal(natgw_addr_parse_n("fd00::1]:80", 7, &a), 0);
        assert_string_equal(natgw_addr_format(&a, buf, sizeof(buf)), "fd00::1");
        assert_int_equal(natgw_addr_parse_n("10.0.0.1", 7, &a), -EINVAL);
        assert_int_equal(natgw_addr_parse_n("10.0.0.1", 0, &a), -EINVAL);
        /* Longer than any address: refused before it is copied. */
        assert_int_equal(natgw_addr_parse_n("1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa", 49, &a), -EINVAL);
        assert_int_equal(natgw_addr_parse_n(NULL, 0, &a), -EINVAL);
}

static void test_addr_format(void **state) {
        struct natgw_addr a = { .family = AF_INET };
        char small[8], buf[INET6_ADDRSTRLEN];

        assert_int_equal(natgw_addr_parse("2001:0db8:0000:0000:0000:0000:0000:0001", &a), 0);
        assert_addr(&a, "2001:db8::1");
        assert_int_equal(natgw_addr_parse("203.0.113.10", &a), 0);
        assert_addr(&a, "203.0.113.10");
        assert_null(natgw_addr_format(&a, small, sizeof(small)));
        a.family = 0;
        assert_null(natgw_addr_format(&a, buf, sizeof(buf)));
}

static void test_addr_cmp(void **state) {
        struct natgw_addr a, b, c, d;

        assert_int_equal(natgw_addr_parse("10.0.0.2", &a), 0);
        assert_int_equal(natgw_addr_parse("10.0.0.10", &b), 0);
        assert_int_equal(natgw_addr_parse("::1", &c), 0);
        assert_int_equal(natgw_addr_parse("10.0.0.2", &d), 0);

        assert_true(natgw_addr_cmp(&a, &b) < 0); /* bytes, not text: 2 < 10 */
        assert_true(natgw_addr_cmp(&b, &a) > 0);
        assert_int_equal(natgw_addr_cmp(&a, &d), 0);
        assert_true(natgw_addr_cmp(&b, &c) < 0); /* IPv4 before IPv6, whatever the bytes */
        assert_true(natgw_addr_cmp(&c, &a) > 0);
}

static void assert_prefix(const char *s, const char *expected, unsigned len) {
        char buf[NATGW_PREFIX_STRLEN];
        struct natgw_prefix p;

        assert_int_equal(natgw_prefix_parse(s, &p), 0);
        assert_int_equal(p.len, len);
        assert_string_equal(natgw_prefix_format(&p, buf, sizeof(buf)), expected);
}

static void test_prefix_parse(void **state) {
        static const char *const bad[] = {
                "", "/8", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8/8",
                "10.0.0.0/ 8", "10.0.0/8", "10.0.0.0/1000000000", "[fd00::]/64", "fd00::/64 ",
        };
        struct natgw_prefix p = { .len = 77 };

        assert_prefix("10.0.0.0/8", "10.0.0.0/8", 8);
        assert_prefix("192.168.1.0/24", "192.168.1.0/24", 24);
        assert_prefix("192.168.1.5", "192.168.1.5/32", 32);
        assert_prefix("192.168.1.5/32", "192.168.1.5/32", 32);
        assert_prefix("0.0.0.0/0", "0.0.0.0/0", 0);
        assert_prefix("fd00:1::/64", "fd00:1::/64", 64);
        assert_prefix("fd00::1", "fd00::1/128", 128);
        assert_prefix("::/0", "::/0", 0);
        assert_prefix("2001:db8::/32", "2001:db8::/32", 32);

        assert_int_equal(natgw_prefix_parse("192.168.1.5/24", &p), -EDOM);
        assert_int_equal(natgw_prefix_parse("fd00::1/64", &p), -EDOM);
        assert_int_equal(natgw_prefix_parse("10.0.0.128/25", &p), 0);
        assert_int_equal(natgw_prefix_parse("10.0.0.128/24", &p), -EDOM);
        assert_int_equal(natgw_prefix_parse("10.0.0.0/33", &p), -ERANGE);
        assert_int_equal(natgw_prefix_parse("fd00::/129", &p), -ERANGE);
        assert_int_equal(natgw_prefix_parse("10.0.0.0/999999999", &p), -ERANGE);

        p.len = 77;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(natgw_prefix_parse(bad[i], &p), -EINVAL);
        assert_int_equal(p.len, 77);
}

static void test_prefix_loose_mask(void **state) {
        char buf[NATGW_PREFIX_STRLEN];
        struct natgw_prefix p;

        assert_int_equal(natgw_prefix_parse_loose("192.168.1.5/24", &p), 0);
        assert_true(natgw_prefix_has_host_bits(&p));
        assert_string_equal(natgw_prefix_format(&p, buf, sizeof(buf)), "192.168.1.5/24");
        natgw_prefix_mask(&p);
        assert_false(natgw_prefix_has_host_bits(&p));
        assert_string_equal(natgw_prefix_format(&p, buf, sizeof(buf)), "192.168.1.0/24");

        assert_int_equal(natgw_prefix_parse_loose("10.255.255.255/9", &p), 0);
        natgw_prefix_mask(&p);
        assert_string_equal(natgw_prefix_format(&p, buf, sizeof(buf)), "10.128.0.0/9");

        assert_int_equal(natgw_prefix_parse_loose("fd00:1:2:3:4::1/50", &p), 0);
        natgw_prefix_mask(&p);
        assert_string_equal(natgw_prefix_format(&p, buf, sizeof(buf)), "fd00:1:2::/50");

        assert_int_equal(natgw_prefix_parse_loose("10.0.0.0/33", &p), -ERANGE);
        assert_null(natgw_prefix_format(&p, buf, 8));
}

static void assert_ports(const char *s, unsigned lo, unsigned hi) {
        struct natgw_port_range r;
        char buf[NATGW_PORTS_STRLEN];

        assert_int_equal(natgw_port_parse(s, &r), 0);
        assert_int_equal(r.lo, lo);
        assert_int_equal(r.hi, hi);
        assert_string_equal(natgw_ports_format(&r, buf, sizeof(buf)), s);
}

static void test_port_parse(void **state) {
        static const char *const bad[] = {
                "", "-", "1-", "-1", "a", "+1", " 1", "1 ", "1 - 2", "1-2-3", "0x50", "1.5", "http",
                "1000000000", "0-x",
        };
        struct natgw_port_range r = { 7, 7 };

        assert_ports("80", 80, 80);
        assert_ports("1", 1, 1);
        assert_ports("65535", 65535, 65535);
        assert_ports("50000-50100", 50000, 50100);
        assert_ports("1-65535", 1, 65535);
        assert_int_equal(natgw_port_parse("8000-8000", &r), 0);
        assert_int_equal(r.lo, 8000);
        assert_int_equal(r.hi, 8000);
        assert_int_equal(natgw_ports_width(&(struct natgw_port_range) { 50000, 50100 }), 101);
        assert_int_equal(natgw_ports_width(&(struct natgw_port_range) { 1, 65535 }), 65535);

        r = (struct natgw_port_range) { 7, 7 };
        assert_int_equal(natgw_port_parse("0", &r), -ERANGE);
        assert_int_equal(natgw_port_parse("65536", &r), -ERANGE);
        assert_int_equal(natgw_port_parse("0-80", &r), -ERANGE);
        assert_int_equal(natgw_port_parse("80-65536", &r), -ERANGE);
        assert_int_equal(natgw_port_parse("999999999", &r), -ERANGE);
        assert_int_equal(natgw_port_parse("200-100", &r), -EDOM);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(natgw_port_parse(bad[i], &r), -EINVAL);
        assert_int_equal(r.lo, 7);
        assert_int_equal(r.hi, 7);
}

static void test_addr_range_parse(void **state) {
        struct natgw_addr lo, hi;

        assert_int_equal(natgw_addr_range_parse("203.0.113.20-203.0.113.23", &lo, &hi), 0);
        assert_addr(&lo, "203.0.113.20");
        assert_addr(&hi, "203.0.113.23");
        assert_int_equal(natgw_addr_range_parse("203.0.113.10", &lo, &hi), 0);
        assert_addr(&lo, "203.0.113.10");
        assert_addr(&hi, "203.0.113.10");
        assert_int_equal(natgw_addr_range_parse("2001:db8::1-2001:db8::ff", &lo, &hi), 0);
        assert_int_equal(lo.family, AF_INET6);
        assert_addr(&lo, "2001:db8::1");
        assert_addr(&hi, "2001:db8::ff");
        assert_int_equal(natgw_addr_range_parse("203.0.113.1-203.0.113.1", &lo, &hi), 0);

        lo.family = hi.family = 99;
        assert_int_equal(natgw_addr_range_parse("203.0.113.1-2001:db8::1", &lo, &hi), -EAFNOSUPPORT);
        assert_int_equal(natgw_addr_range_parse("2001:db8::1-203.0.113.1", &lo, &hi), -EAFNOSUPPORT);
        assert_int_equal(natgw_addr_range_parse("203.0.113.9-203.0.113.1", &lo, &hi), -EDOM);
        assert_int_equal(natgw_addr_range_parse("2001:db8::2-2001:db8::1", &lo, &hi), -EDOM);
        assert_int_equal(natgw_addr_range_parse("203.0.113.1-", &lo, &hi), -EINVAL);
        assert_int_equal(natgw_addr_range_parse("-203.0.113.1", &lo, &hi), -EINVAL);
        assert_int_equal(natgw_addr_range_parse("203.0.113.0/24", &lo, &hi), -EINVAL);
        assert_int_equal(natgw_addr_range_parse("a-b", &lo, &hi), -EINVAL);
        assert_int_equal(lo.family, 99);
        assert_int_equal(hi.family, 99);
}

static void assert_to(const char *s, const char *addr, enum natgw_to_port mode, unsigned lo, unsigned hi) {
        struct natgw_port_range port = { 7, 7 };
        enum natgw_to_port m = 99;
        struct natgw_addr a;

        assert_int_equal(natgw_forward_to_parse(s, &a, &m, &port), 0);
        assert_addr(&a, addr);
        assert_int_equal(m, mode);
        assert_int_equal(port.lo, lo);
        assert_int_equal(port.hi, hi);
}

static void test_forward_to_parse(void **state) {
        static const char *const bad[] = {
                "", "192.168.1.1:", "192.168.1.1:http", "[192.168.1.1]", "[192.168.1.1]:80", "[fd00::1",
                "[fd00::1]x", "[fd00::1]:", "[fd00::1]80", "fd00::1]", "host:80", "192.168.1.0/24",
                "192.168.1.1:80:90", "[]", "[]:80",
        };
        struct natgw_port_range port = { 7, 7 };
        enum natgw_to_port m = 99;
        struct natgw_addr a = { .family = 99 };

        assert_to("192.168.1.10", "192.168.1.10", NATGW_TO_PORT_KEEP, 0, 0);
        assert_to("192.168.1.66:80", "192.168.1.66", NATGW_TO_PORT_SINGLE, 80, 80);
        assert_to("192.168.1.30:6000-6099", "192.168.1.30", NATGW_TO_PORT_RANGE, 6000, 6099);
        assert_to("192.168.1.30:6000-6000", "192.168.1.30", NATGW_TO_PORT_RANGE, 6000, 6000);
        assert_to("[fd00:1::10]", "fd00:1::10", NATGW_TO_PORT_KEEP, 0, 0);
        assert_to("[fd00:1::10]:8443", "fd00:1::10", NATGW_TO_PORT_SINGLE, 8443, 8443);
        assert_to("[fd00:1::10]:8000-8099", "fd00:1::10", NATGW_TO_PORT_RANGE, 8000, 8099);
        /* Without brackets, an IPv6 address is an address only: the last group is not a port. */
        assert_to("fd00:1::10", "fd00:1::10", NATGW_TO_PORT_KEEP, 0, 0);
        assert_to("fd00::10:8443", "fd00::10:8443", NATGW_TO_PORT_KEEP, 0, 0);
        assert_to("::1", "::1", NATGW_TO_PORT_KEEP, 0, 0);

        assert_int_equal(natgw_forward_to_parse("192.168.1.1:0", &a, &m, &port), -ERANGE);
        assert_int_equal(natgw_forward_to_parse("192.168.1.1:65536", &a, &m, &port), -ERANGE);
        assert_int_equal(natgw_forward_to_parse("[fd00::1]:0-10", &a, &m, &port), -ERANGE);
        assert_int_equal(natgw_forward_to_parse("192.168.1.1:6100-6000", &a, &m, &port), -EDOM);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(natgw_forward_to_parse(bad[i], &a, &m, &port), -EINVAL);
        assert_int_equal(a.family, 99);
        assert_int_equal(m, 99);
        assert_int_equal(port.lo, 7);
}

static void assert_formatted(const struct natgw_error *e, const char *expected) {
        _cleanup_(freep) char *s = natgw_error_format(e);

        assert_non_null(s);
        assert_string_equal(s, expected);
}

static void test_errors(void **state) {
        struct natgw_errors errors = {};
        _cleanup_(freep) char *printed = NULL;
        size_t size = 0;
        FILE *f;

        assert_int_equal(natgw_errors_add(&errors, "a.conf", 12, "web", "port %d is out of range", 0), 0);
        assert_int_equal(natgw_errors_add(&errors, "a.conf", 3, NULL, "unknown key \"%s\"", "foo"), 0);
        assert_int_equal(natgw_errors_add(&errors, "a.conf", 0, NULL, "cannot read: %s", strerror(ENOENT)), 0);
        assert_int_equal(natgw_errors_add(&errors, NULL, 0, NULL, "plain"), 0);
        assert_int_equal(natgw_errors_add(&errors, "a.conf", 0, "web", "no line"), 0);
        assert_int_equal(errors.n, 5);

        assert_string_equal(errors.v[0].file, "a.conf");
        assert_int_equal(errors.v[0].line, 12);
        assert_string_equal(errors.v[0].entry, "web");
        assert_string_equal(errors.v[0].message, "port 0 is out of range");
        assert_null(errors.v[1].entry);

        assert_formatted(&errors.v[0], "a.conf:12: entry \"web\": port 0 is out of range");
        assert_formatted(&errors.v[1], "a.conf:3: unknown key \"foo\"");
        assert_formatted(&errors.v[2], "a.conf: cannot read: No such file or directory");
        assert_formatted(&errors.v[3], "plain");
        assert_formatted(&errors.v[4], "a.conf: entry \"web\": no line");

        f = open_memstream(&printed, &size);
        assert_non_null(f);
        natgw_errors_print(&errors, f);
        assert_int_equal(fclose(f), 0);
        assert_string_equal(printed,
                            "a.conf:12: entry \"web\": port 0 is out of range\n"
                            "a.conf:3: unknown key \"foo\"\n"
                            "a.conf: cannot read: No such file or directory\n"
                            "plain\n"
                            "a.conf: entry \"web\": no line\n");

        natgw_errors_clear(&errors);
        assert_int_equal(errors.n, 0);
        assert_null(errors.v);

        /* Warnings: a severity of their own, and printed as such. */
        assert_int_equal(natgw_errors_add(&errors, "a.conf", 2, NULL, "bad"), 0);
        assert_int_equal(natgw_errors_warn(&errors, "a.conf", 5, "up", "interface \"%s\" missing", "ppp0"), 0);
        assert_int_equal(errors.v[0].severity, NATGW_SEVERITY_ERROR);
        assert_int_equal(errors.v[1].severity, NATGW_SEVERITY_WARNING);
        assert_formatted(&errors.v[1], "a.conf:5: entry \"up\": interface \"ppp0\" missing");
        free(printed);
        printed = NULL;
        f = open_memstream(&printed, &size);
        assert_non_null(f);
        natgw_errors_print(&errors, f);
        assert_int_equal(fclose(f), 0);
        assert_string_equal(printed, "a.conf:2: bad\n"
                                     "warning: a.conf:5: entry \"up\": interface \"ppp0\" missing\n");
        natgw_errors_clear(&errors);
        natgw_errors_clear(&errors); /* twice is fine */

        /* Many: the list grows. */
        for (unsigned i = 1; i <= 100; i++)
                assert_int_equal(natgw_errors_add(&errors, "b.conf", i, NULL, "error %u", i), 0);
        assert_int_equal(errors.n, 100);
        assert_formatted(&errors.v[99], "b.conf:100: error 100");
        natgw_errors_clear(&errors);
}

static void assert_u128(natgw_u128 v, uint64_t hi, uint64_t lo) {
        assert_true((uint64_t)(v >> 64) == hi);
        assert_true((uint64_t)v == lo);
}

/* Prefixes as intervals of numbers: the values come from the addresses written out by hand. */
static void test_u128(void **state) {
        struct natgw_prefix p;
        struct natgw_addr a;
        natgw_u128 lo, hi;
        char buf[INET6_ADDRSTRLEN];

        assert_int_equal(natgw_addr_parse("192.168.1.66", &a), 0);
        assert_u128(natgw_addr_to_u128(&a), 0, 0xc0a80142);
        assert_int_equal(natgw_addr_parse("2001:db8::1", &a), 0);
        assert_u128(natgw_addr_to_u128(&a), 0x20010db800000000u, 1);

        natgw_addr_from_u128(0xc0a80142, AF_INET, &a);
        assert_string_equal(natgw_addr_format(&a, buf, sizeof(buf)), "192.168.1.66");
        natgw_addr_from_u128(~(natgw_u128)0, AF_INET6, &a);
        assert_string_equal(natgw_addr_format(&a, buf, sizeof(buf)), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

        assert_int_equal(natgw_prefix_parse("10.1.0.0/16", &p), 0);
        natgw_prefix_bounds(&p, &lo, &hi);
        assert_u128(lo, 0, 0x0a010000);
        assert_u128(hi, 0, 0x0a01ffff);
        assert_int_equal(natgw_prefix_parse("0.0.0.0/0", &p), 0);
        natgw_prefix_bounds(&p, &lo, &hi);
        assert_u128(lo, 0, 0);
        assert_u128(hi, 0, 0xffffffff);
        assert_int_equal(natgw_prefix_parse("::/0", &p), 0);
        natgw_prefix_bounds(&p, &lo, &hi);
        assert_u128(lo, 0, 0);
        assert_u128(hi, UINT64_MAX, UINT64_MAX);
        assert_int_equal(natgw_prefix_parse("2001:db8::/32", &p), 0);
        natgw_prefix_bounds(&p, &lo, &hi);
        assert_u128(lo, 0x20010db800000000u, 0);
        assert_u128(hi, 0x20010db8ffffffffu, UINT64_MAX);

        assert_int_equal(natgw_prefix_parse("10.1.0.0/16", &p), 0);
        assert_int_equal(natgw_addr_parse("10.1.255.255", &a), 0);
        assert_true(natgw_prefix_contains(&p, &a));
        assert_int_equal(natgw_addr_parse("10.2.0.0", &a), 0);
        assert_false(natgw_prefix_contains(&p, &a));
        /* ::a01:0 has the same low bits as 10.1.0.0, but not the family. */
        assert_int_equal(natgw_addr_parse("::a01:0", &a), 0);
        assert_false(natgw_prefix_contains(&p, &a));
}

/* Who can reach an address: the boundaries of each range from the RFCs, checked one address
 * inside and one outside each edge. */
static void test_addr_classify(void **state) {
        static const struct {
                const char *addr;
                enum natgw_addr_class want;
        } cases[] = {
                { "10.0.0.0", NATGW_ADDR_PRIVATE },       { "10.255.255.255", NATGW_ADDR_PRIVATE },
                { "11.0.0.0", NATGW_ADDR_PUBLIC },        { "9.255.255.255", NATGW_ADDR_PUBLIC },
                { "172.16.0.0", NATGW_ADDR_PRIVATE },     { "172.31.255.255", NATGW_ADDR_PRIVATE },
                { "172.15.255.255", NATGW_ADDR_PUBLIC },  { "172.32.0.0", NATGW_ADDR_PUBLIC },
                { "192.168.0.1", NATGW_ADDR_PRIVATE },    { "192.169.0.0", NATGW_ADDR_PUBLIC },
                { "192.167.255.255", NATGW_ADDR_PUBLIC }, { "100.64.0.0", NATGW_ADDR_CGNAT },
                { "100.127.255.255", NATGW_ADDR_CGNAT },  { "100.63.255.255", NATGW_ADDR_PUBLIC },
                { "100.128.0.0", NATGW_ADDR_PUBLIC },     { "169.254.1.1", NATGW_ADDR_LINK_LOCAL },
                { "127.0.0.1", NATGW_ADDR_LOOPBACK },     { "0.0.0.0", NATGW_ADDR_UNSPECIFIED },
                { "203.0.113.1", NATGW_ADDR_PUBLIC },     { "8.8.8.8", NATGW_ADDR_PUBLIC },
                { "fd00:1::1", NATGW_ADDR_ULA },          { "fc00::", NATGW_ADDR_ULA },
                { "fdff:ffff::1", NATGW_ADDR_ULA },       { "fe00::1", NATGW_ADDR_PUBLIC },
                { "fe80::1", NATGW_ADDR_LINK_LOCAL },     { "febf:ffff::1", NATGW_ADDR_LINK_LOCAL },
                { "fec0::1", NATGW_ADDR_PUBLIC },         { "::1", NATGW_ADDR_LOOPBACK },
                { "::", NATGW_ADDR_UNSPECIFIED },         { "::2", NATGW_ADDR_PUBLIC },
                { "2001:db8::1", NATGW_ADDR_PUBLIC },     { "fbff:ffff::1", NATGW_ADDR_PUBLIC },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct natgw_addr a;

                assert_int_equal(natgw_addr_parse(cases[i].addr, &a), 0);
                if (natgw_addr_classify(&a) != cases[i].want)
                        fail_msg("%s: want %s, got %s", cases[i].addr, natgw_addr_class_name(cases[i].want),
                                 natgw_addr_class_name(natgw_addr_classify(&a)));
        }
        assert_string_equal(natgw_addr_class_name(NATGW_ADDR_CGNAT), "carrier-grade NAT (100.64.0.0/10)");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_addr_parse),
                cmocka_unit_test(test_addr_parse_n),
                cmocka_unit_test(test_addr_format),
                cmocka_unit_test(test_addr_cmp),
                cmocka_unit_test(test_prefix_parse),
                cmocka_unit_test(test_prefix_loose_mask),
                cmocka_unit_test(test_port_parse),
                cmocka_unit_test(test_addr_range_parse),
                cmocka_unit_test(test_forward_to_parse),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_u128),
                cmocka_unit_test(test_addr_classify),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

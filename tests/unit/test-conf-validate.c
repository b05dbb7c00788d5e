/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Checks across entries: unique names, one egress entry per (prefix, interface), no overlapping
 * forwards; and that they scale to tens of thousands of entries.
 */

#include <arpa/inet.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "conf-validate.h"
#include "util.h"

#include "conf-test.h"

static void expect_valid(const char *text) {
        natgw_config_free(load_ok(text));
}

/* ---- names ---- */

static void test_duplicate_name(void **state) {
        EXPECT_ERRORS("version = 1;\n"
                      "masquerade = ( { name = \"web\"; source = \"10.0.0.0/8\"; out_interface = \"eth0\"; } );\n"
                      "snat = ( { name = \"web\"; source = \"10.1.0.0/16\"; out_interface = \"eth1\"; to = \"203.0.113.1\"; } );\n"
                      "forward = (\n"
                      "  { name = \"other\"; proto = \"tcp\"; port = 1; to = \"10.0.0.1\"; },\n"
                      "  { name = \"web\"; proto = \"tcp\"; port = 2; to = \"10.0.0.1\"; }\n"
                      ");\n",
                      "test.conf:3: entry \"web\": name already used by the entry at line 2",
                      "test.conf:6: entry \"web\": name already used by the entry at line 2");
        /* Names are case-sensitive. */
        expect_valid("version = 1;\n"
                     "forward = (\n"
                     "  { name = \"web\"; proto = \"tcp\"; port = 1; to = \"10.0.0.1\"; },\n"
                     "  { name = \"Web\"; proto = \"tcp\"; port = 2; to = \"10.0.0.1\"; }\n"
                     ");\n");
}

static void test_duplicate_name_of_bad_entry(void **state) {
        /* An entry with errors of its own still holds its name. */
        EXPECT_ERRORS("version = 1;\n"
                      "forward = (\n"
                      "  { name = \"web\"; proto = \"tcp\"; port = 0; to = \"10.0.0.1\"; },\n"
                      "  { name = \"web\"; proto = \"tcp\"; port = 2; to = \"10.0.0.1\"; }\n"
                      ");\n",
                      "test.conf:3: entry \"web\": port 0 is out of range 1-65535",
                      "test.conf:4: entry \"web\": name already used by the entry at line 3");
}

/* ---- forwards ---- */

static void test_overlap(void **state) {
        EXPECT_ERRORS("version = 1;\n"
                      "forward = (\n"
                      "  { name = \"a\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; },\n"
                      "  { name = \"x\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 9000; to = \"192.168.1.66:80\"; },\n"
                      "  {\n"
                      "    name = \"b\"; in_interface = \"eth0\"; proto = \"tcp\"; port = [ 80, 8080 ]; to = \"192.168.1.67\";\n"
                      "  }\n"
                      ");\n",
                      "test.conf:5: entry \"b\": overlaps entry \"a\" (line 3) on tcp port 8080");
}

static void test_overlap_ranges(void **state) {
        /* The report names the first port the two share, and the run of ports from there. */
        EXPECT_ERRORS("version = 1;\n"
                      "forward = (\n"
                      "  { name = \"a\"; proto = \"udp\"; port = ( 1000, \"8000-8080\" ); to = \"10.0.0.1\"; },\n"
                      "  { name = \"b\"; proto = \"udp\"; port = \"8050-9000\"; to = \"10.0.0.2\"; },\n"
                      "  { name = \"c\"; proto = \"udp\"; port = \"1-999\"; to = \"10.0.0.3\"; },\n"
                      "  { name = \"d\"; proto = \"udp\"; port = \"8081-8081\"; to = \"10.0.0.4\"; }\n"
                      ");\n",
                      "test.conf:4: entry \"b\": overlaps entry \"a\" (line 3) on udp ports 8050-8080",
                      "test.conf:6: entry \"d\": overlaps entry \"b\" (line 4) on udp port 8081");
}

static void test_overlap_reported_once(void **state) {
        /* Shared on tcp and udp, and on several ports and ranges: one error for the pair. */
        EXPECT_ERRORS("version = 1;\n"
                      "forward = (\n"
                      "  { name = \"a\"; proto = \"tcp+udp\"; port = ( 53, 80, \"100-200\" ); to = \"10.0.0.1\"; },\n"
                      "  { name = \"b\"; proto = \"tcp+udp\"; port = ( 53, 80, 150, \"190-300\" ); to = \"10.0.0.2\"; },\n"
                      "  { name = \"c\"; proto = \"udp\"; port = 53; to = \"10.0.0.3\"; }\n"
                      ");\n",
                      "test.conf:4: entry \"b\": overlaps entry \"a\" (line 3) on tcp port 53",
                      "test.conf:5: entry \"c\": overlaps entry \"a\" (line 3) on udp port 53",
                      "test.conf:5: entry \"c\": overlaps entry \"b\" (line 4) on udp port 53");
}

static void test_overlap_wildcard_interface(void **state) {
        /* No in_interface means any interface: it collides with eth0, whichever comes first. */
        EXPECT_ERRORS("version = 1;\n"
                      "forward = (\n"
                      "  { name = \"any\"; proto = \"tcp\"; port = 22; to = \"10.0.0.1\"; },\n"
                      "  { name = \"wan\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 22; to = \"10.0.0.2\"; },\n"
                      "  { name = \"wan2\"; in_interface = \"eth1\"; proto = \"tcp\"; port = 443; to = \"10.0.0.2\"; },\n"
                      "  { name = \"any2\"; proto = \"tcp\"; port = 443; to = \"10.0.0.1\"; }\n"
                      ");\n",
                      "test.conf:4: entry \"wan\": overlaps entry \"any\" (line 3) on tcp port 22",
                      "test.conf:6: entry \"any2\": overlaps entry \"wan2\" (line 5) on tcp port 443");
}

static void test_overlap_wildcard_destination(void **state) {
        /* No destination means any local address: it collides with one address. */
        EXPECT_ERRORS("version = 1;\n"
                      "forward = (\n"
                      "  { name = \"public-a\"; in_interface = \"eth0\"; destination = \"203.0.113.5\";\n"
                      "    proto = \"tcp\"; port = 80; to = \"10.0.0.1\"; },\n"
                      "  { name = \"all\"; in_interface = \"eth0\"; proto = \"tcp\"; port = \"1-1024\"; to = \"10.0.0.2\"; },\n"
                      "  { name = \"both-any\"; proto = \"tcp\"; port = 80; to = \"10.0.0.3\"; }\n"
                      ");\n",
                      "test.conf:5: entry \"all\": overlaps entry \"public-a\" (line 3) on tcp port 80",
                      "test.conf:6: entry \"both-any\": overlaps entry \"public-a\" (line 3) on tcp port 80",
                      "test.conf:6: entry \"both-any\": overlaps entry \"all\" (line 5) on tcp port 80");
        /* Interface left out on one side, destination on the other: still the same packets. */
        EXPECT_ERRORS("version = 1;\n"
                      "forward = (\n"
                      "  { name = \"a\"; destination = \"203.0.113.5\"; proto = \"udp\"; port = 53; to = \"10.0.0.1\"; },\n"
                      "  { name = \"b\"; in_interface = \"eth0\"; proto = \"udp\"; port = 53; to = \"10.0.0.2\"; }\n"
                      ");\n",
                      "test.conf:4: entry \"b\": overlaps entry \"a\" (line 3) on udp port 53");
}

static void test_no_overlap(void **state) {
        expect_valid("version = 1;\n"
                     "forward = (\n"
                     /* different protocol */
                     "  { name = \"dns-tcp\"; proto = \"tcp\"; port = 53; to = \"10.0.0.1\"; },\n"
                     "  { name = \"dns-udp\"; proto = \"udp\"; port = 53; to = \"10.0.0.2\"; },\n"
                     /* different family */
                     "  { name = \"web4\"; proto = \"tcp\"; port = 80; to = \"10.0.0.1\"; },\n"
                     "  { name = \"web6\"; proto = \"tcp\"; port = 80; to = \"[fd00::1]\"; },\n"
                     /* disjoint and adjacent ports */
                     "  { name = \"low\"; proto = \"tcp\"; port = \"8000-8080\"; to = \"10.0.0.1\"; },\n"
                     "  { name = \"high\"; proto = \"tcp\"; port = \"8081-8090\"; to = \"10.0.0.2\"; },\n"
                     /* different interfaces */
                     "  { name = \"ssh-wan\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 22; to = \"10.0.0.1\"; },\n"
                     "  { name = \"ssh-vpn\"; in_interface = \"wg0\"; proto = \"tcp\"; port = 22; to = \"10.0.0.2\"; },\n"
                     /* different destinations */
                     "  { name = \"site-a\"; destination = \"203.0.113.5\"; proto = \"tcp\"; port = 443; to = \"10.0.0.1\"; },\n"
                     "  { name = \"site-b\"; destination = \"203.0.113.6\"; proto = \"tcp\"; port = 443; to = \"10.0.0.2\"; },\n"
                     /* different interface, destination left out on one side */
                     "  { name = \"x\"; in_interface = \"eth0\"; destination = \"203.0.113.5\"; proto = \"udp\"; port = 500; to = \"10.0.0.1\"; },\n"
                     "  { name = \"y\"; in_interface = \"eth1\"; proto = \"udp\"; port = 500; to = \"10.0.0.2\"; }\n"
                     ");\n");
}

/* ---- egress ---- */

static void test_same_egress_prefix(void **state) {
        EXPECT_ERRORS("version = 1;\n"
                      "snat = ( { name = \"dmz\"; source = [ \"10.10.0.0/16\", \"fd00:1::/64\" ]; out_interface = \"eth0\";\n"
                      "           to = \"2001:db8::1\"; } );\n"
                      "masquerade = (\n"
                      "  { name = \"lan\"; source = [ \"192.168.1.0/24\", \"fd00:1::/64\" ]; out_interface = \"eth0\"; },\n"
                      "  { name = \"lan2\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\"; }\n"
                      ");\n",
                      "test.conf:2: entry \"dmz\": source \"10.10.0.0/16\" is IPv4 but \"to\" is IPv6",
                      "test.conf:6: entry \"lan2\": source 192.168.1.0/24 on \"eth0\" is already used by entry "
                      "\"lan\" (line 5)");
        /* masquerade and snat mixed, the snat one first in the file. */
        EXPECT_ERRORS("version = 1;\n"
                      "snat = ( { name = \"dmz\"; source = [ \"10.10.0.0/16\", \"fd00:1::/64\" ]; out_interface = \"eth0\";\n"
                      "           to = \"2001:db8::1\"; },\n"
                      "         { name = \"six\"; source = \"fd00:1::/64\"; out_interface = \"eth0\"; to = \"2001:db8::1\"; } );\n"
                      "masquerade = (\n"
                      "  { name = \"lan\"; source = [ \"192.168.1.0/24\", \"fd00:1::/64\" ]; out_interface = \"eth0\"; }\n"
                      ");\n",
                      "test.conf:2: entry \"dmz\": source \"10.10.0.0/16\" is IPv4 but \"to\" is IPv6",
                      "test.conf:6: entry \"lan\": source fd00:1::/64 on \"eth0\" is already used by entry "
                      "\"six\" (line 4)");
}

static void test_egress_fine(void **state) {
        expect_valid("version = 1;\n"
                     "masquerade = (\n"
                     /* nested prefixes: the most specific wins */
                     "  { name = \"all\"; source = \"10.0.0.0/8\"; out_interface = \"eth0\"; },\n"
                     "  { name = \"part\"; source = \"10.1.0.0/16\"; out_interface = \"eth0\"; },\n"
                     /* the same prefix on another interface */
                     "  { name = \"backup\"; source = \"10.0.0.0/8\"; out_interface = \"ppp0\"; },\n"
                     /* same address, other length */
                     "  { name = \"host\"; source = \"10.0.0.0/32\"; out_interface = \"eth0\"; }\n"
                     ");\n"
                     "snat = ( { name = \"s\"; source = \"10.2.0.0/16\"; out_interface = \"eth0\"; to = \"203.0.113.1\"; } );\n");
}

/* ---- the validator on its own, with a model built by hand ---- */

static void test_validate_model(void **state) {
        struct natgw_port_range p80 = { 80, 80 }, p70 = { 70, 90 };
        struct natgw_forward fw[2] = {
                { .name = (char *) "a", .line = 10, .protos = NATGW_PROTO_UDP, .ports = &p80, .n_ports = 1 },
                { .name = (char *) "b", .line = 20, .protos = NATGW_PROTO_TCP | NATGW_PROTO_UDP, .ports = &p70,
                  .n_ports = 1 },
        };
        struct natgw_prefix src;
        struct natgw_egress eg[2] = {
                { .name = (char *) "a", .line = 5, .sources = &src, .n_sources = 1, .out_interface = "eth0" },
                { .name = (char *) "c", .line = 6, .sources = &src, .n_sources = 1, .out_interface = "eth1" },
        };
        struct natgw_config c = { .egress = eg, .n_egress = 2, .forwards = fw, .n_forwards = 2 };
        /* The names as the loader hands them over: every entry of the file. */
        struct natgw_conf_name names[] = { { "a", 5 }, { "c", 6 }, { "a", 10 }, { "b", 20 } };
        struct natgw_errors errors = {};
        _cleanup_(freep) char *s0 = NULL, *s1 = NULL;

        assert_int_equal(natgw_prefix_parse_loose("10.0.0.0/8", &src), 0);
        assert_int_equal(natgw_addr_parse("10.0.0.1", &fw[0].to), 0);
        assert_int_equal(natgw_addr_parse("10.0.0.2", &fw[1].to), 0);

        assert_int_equal(natgw_config_validate(&c, names, ELEMENTSOF(names), "m.conf", &errors), -EINVAL);
        assert_int_equal(errors.n, 2);
        s0 = natgw_error_format(&errors.v[0]);
        s1 = natgw_error_format(&errors.v[1]);
        assert_string_equal(s0, "m.conf:10: entry \"a\": name already used by the entry at line 5");
        assert_string_equal(s1, "m.conf:20: entry \"b\": overlaps entry \"a\" (line 10) on udp port 80");
        natgw_errors_clear(&errors);

        fw[1].protos = NATGW_PROTO_TCP;
        fw[0].name = (char *) "d";
        names[2].name = "d";
        assert_int_equal(natgw_config_validate(&c, names, ELEMENTSOF(names), "m.conf", &errors), 0);
        assert_int_equal(errors.n, 0);
}

/* Among many names, each later use of a name is reported against its first, in the order of the
 * names (then of the files, then of the lines), however the uses are spread. */
static void test_duplicate_names_many(void **state) {
        enum { N = 3000 };
        static const struct natgw_conf_name dups[] = {
                { "b", 100, "m.conf", 0 }, { "a", 40, "d/20.conf", 2 }, { "b", 7, "m.conf", 0 },
                { "a", 90, "d/10.conf", 1 }, { "b", 3, "d/10.conf", 1 }, { "a", 12, "d/20.conf", 2 },
        };
        static const char *const want[] = {
                "d/20.conf:12: entry \"a\": name already used by the entry at d/10.conf:90",
                "d/20.conf:40: entry \"a\": name already used by the entry at d/10.conf:90",
                "m.conf:100: entry \"b\": name already used by the entry at line 7",
                "d/10.conf:3: entry \"b\": name already used by the entry at m.conf:7",
        };
        struct natgw_conf_name *names = calloc(N, sizeof(*names));
        char (*text)[16] = calloc(N, sizeof(*text));
        struct natgw_config c = {};
        struct natgw_errors errors = {};

        assert_non_null(names);
        assert_non_null(text);
        /* Unique names, with the duplicates spread among them. */
        for (size_t i = 0; i < N; i++) {
                snprintf(text[i], sizeof(text[i]), "u%zu", i);
                names[i] = (struct natgw_conf_name) { text[i], (unsigned) i + 1000, NULL, 0 };
        }
        for (size_t i = 0; i < ELEMENTSOF(dups); i++)
                names[i * 499 + 17] = dups[i];
        assert_int_equal(natgw_config_validate(&c, names, N, "m.conf", &errors), -EINVAL);
        assert_int_equal(errors.n, ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                _cleanup_(freep) char *e = natgw_error_format(&errors.v[i]);

                assert_string_equal(e, want[i]);
        }
        natgw_errors_clear(&errors);
        free(names);
        free(text);
}

/* ---- scale ---- */

/*
 * libconfig 1.5 grows a list 16 elements at a time. Under meson's MALLOC_PERTURB_, glibc fills
 * every block that realloc() moves away from, which turns the parse of a 50,000-entry list into
 * seconds of memset(). The scale tests switch perturbation off (the other tests keep it).
 */
static int scale_setup(void **state) {
        mallopt(M_PERTURB, 0);
        return 0;
}

static int scale_teardown(void **state) {
        const char *p = getenv("MALLOC_PERTURB_");

        mallopt(M_PERTURB, p ? atoi(p) : 0);
        return 0;
}

/*
 * @n forwards that are valid together, in the shapes that stress each path of the sweep: every
 * port of a family taken many times over, by entries kept apart by interface or destination.
 */
static char *build_many_forwards(size_t n) {
        char *text = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&text, &size);
        assert_non_null(f);
        fputs("version = 1;\nforward = (\n", f);
        for (size_t i = 0; i < n; i++) {
                const char *sep = i + 1 < n ? "," : "";
                size_t k = i / 6;

                switch (i % 6) {
                case 0: /* one port each, both protocols, on eth0 to any address */
                        fprintf(f, "{ name = \"p%zu\"; in_interface = \"eth0\"; proto = \"tcp+udp\"; port = %zu;"
                                " to = \"10.%zu.%zu.%zu\"; }%s\n",
                                i, 1 + k, (i >> 16) & 255, (i >> 8) & 255, i & 255, sep);
                        break;
                case 1: /* every udp port, each for its own public IPv6 address */
                        fprintf(f, "{ name = \"d%zu\"; in_interface = \"eth1\"; destination = \"2001:db8::%zx\";"
                                " proto = \"udp\"; port = \"1-65535\"; to = \"[fd00::%zx]\"; }%s\n", i, i, i, sep);
                        break;
                case 2: /* every port, each on its own interface */
                        fprintf(f, "{ name = \"i%zu\"; in_interface = \"v%zu\"; proto = \"tcp+udp\";"
                                " port = \"1-65535\"; to = \"10.200.0.1\"; }%s\n", i, i, sep);
                        break;
                case 3: /* lists of ports, interface and destination given */
                        fprintf(f, "{ name = \"l%zu\"; in_interface = \"eth2\"; destination = \"203.0.113.%zu\";"
                                " proto = \"tcp\"; port = [ %zu, %zu, %zu ]; to = \"10.201.0.1\"; }%s\n",
                                i, k % 256, 1 + (k / 256) * 3, 2 + (k / 256) * 3, 3 + (k / 256) * 3, sep);
                        break;
                case 4: /* ranges side by side on one interface and destination */
                        fprintf(f, "{ name = \"r%zu\"; in_interface = \"eth3\"; destination = \"198.51.100.1\";"
                                " proto = \"udp\"; port = \"%zu-%zu\"; to = \"10.202.0.1\"; }%s\n",
                                i, 1 + k * 6, 6 + k * 6, sep);
                        break;
                default: /* any interface, any address: IPv6 tcp, where nothing else is */
                        fprintf(f, "{ name = \"w%zu\"; proto = \"tcp\"; port = %zu; to = \"[fd00:1::%zx]:80\"; }%s\n",
                                i, 1 + k, i, sep);
                        break;
                }
        }
        fputs(");\n", f);
        assert_int_equal(fclose(f), 0);
        return text;
}

static void test_many_forwards(void **state) {
        _cleanup_(freep) char *text = build_many_forwards(50000);
        struct natgw_errors errors = {};
        struct natgw_config *c = NULL;
        int r;

        r = natgw_config_load_string(text, "many.conf", &c, &errors);
        if (r != 0)
                dump_errors(&errors);
        assert_int_equal(r, 0);
        assert_int_equal(errors.n, 0);
        assert_int_equal(c->n_forwards, 50000);
        assert_string_equal(c->forwards[0].name, "p0");
        assert_string_equal(c->forwards[49999].name, "d49999");
        assert_int_equal(c->forwards[49999].line, 50002);
        assert_int_equal(c->forwards[49999].ports[0].hi, 65535);
        natgw_config_free(c);
}

static void test_many_forwards_one_conflict(void **state) {
        _cleanup_(freep) char *text = build_many_forwards(50000), *bigger = NULL;
        struct natgw_errors errors = {};
        struct natgw_config *c = SENTINEL;
        _cleanup_(freep) char *s = NULL;
        size_t len = strlen(text);

        /* Replace the closing ");" by one more entry that collides with "p0" on udp port 1 only. */
        assert_true(asprintf(&bigger, "%.*s,{ name = \"late\"; in_interface = \"eth0\"; proto = \"udp\"; port = 1;"
                             " to = \"10.9.9.9\"; }\n);\n", (int) (len - 4), text) > 0);
        assert_int_equal(natgw_config_load_string(bigger, "many.conf", &c, &errors), -EINVAL);
        assert_ptr_equal(c, SENTINEL);
        if (errors.n != 1)
                dump_errors(&errors);
        assert_int_equal(errors.n, 1);
        s = natgw_error_format(&errors.v[0]);
        assert_string_equal(s, "many.conf:50002: entry \"late\": overlaps entry \"p0\" (line 3) on udp port 1");
        natgw_errors_clear(&errors);
}

static void test_many_egress(void **state) {
        _cleanup_(freep) char *text = NULL;
        struct natgw_errors errors = {};
        struct natgw_config *c = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        f = open_memstream(&text, &size);
        assert_non_null(f);
        fputs("version = 1;\nmasquerade = (\n", f);
        for (size_t i = 0; i < 50000; i++)
                fprintf(f, "{ name = \"m%zu\"; source = [ \"10.%zu.%zu.0/24\", \"fd00:%zx::/64\" ]; out_interface = \"eth%zu\"; }%s\n",
                        i, i >> 8, i & 255, i, i % 4, i + 1 < 50000 ? "," : "");
        fputs(");\n", f);
        assert_int_equal(fclose(f), 0);

        r = natgw_config_load_string(text, "egress.conf", &c, &errors);
        if (r != 0)
                dump_errors(&errors);
        assert_int_equal(r, 0);
        assert_int_equal(c->n_egress, 50000);
        natgw_config_free(c);
}

static void test_overlap_cap(void **state) {
        /* 100 forwards on one port are 4950 pairs: the report stops at NATGW_OVERLAPS_MAX. */
        _cleanup_(freep) char *text = NULL, *first = NULL, *last = NULL;
        struct natgw_errors errors = {};
        struct natgw_config *c = SENTINEL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&text, &size);
        assert_non_null(f);
        fputs("version = 1;\nforward = (\n", f);
        for (size_t i = 0; i < 100; i++)
                fprintf(f, "{ name = \"f%zu\"; proto = \"tcp\"; port = 80; to = \"10.0.0.1\"; }%s\n", i,
                        i + 1 < 100 ? "," : "");
        fputs(");\n", f);
        assert_int_equal(fclose(f), 0);

        assert_int_equal(natgw_config_load_string(text, "cap.conf", &c, &errors), -EINVAL);
        assert_ptr_equal(c, SENTINEL);
        assert_int_equal(errors.n, NATGW_OVERLAPS_MAX + 1);
        first = natgw_error_format(&errors.v[0]);
        assert_string_equal(first, "cap.conf: too many overlapping forwards: only the first 1000 are reported");
        last = natgw_error_format(&errors.v[1]);
        assert_string_equal(last, "cap.conf:4: entry \"f1\": overlaps entry \"f0\" (line 3) on tcp port 80");
        natgw_errors_clear(&errors);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_duplicate_name),
                cmocka_unit_test(test_duplicate_name_of_bad_entry),
                cmocka_unit_test(test_duplicate_names_many),
                cmocka_unit_test(test_overlap),
                cmocka_unit_test(test_overlap_ranges),
                cmocka_unit_test(test_overlap_reported_once),
                cmocka_unit_test(test_overlap_wildcard_interface),
                cmocka_unit_test(test_overlap_wildcard_destination),
                cmocka_unit_test(test_no_overlap),
                cmocka_unit_test(test_same_egress_prefix),
                cmocka_unit_test(test_egress_fine),
                cmocka_unit_test(test_validate_model),
                cmocka_unit_test_setup_teardown(test_many_forwards, scale_setup, scale_teardown),
                cmocka_unit_test_setup_teardown(test_many_forwards_one_conflict, scale_setup, scale_teardown),
                cmocka_unit_test_setup_teardown(test_many_egress, scale_setup, scale_teardown),
                cmocka_unit_test(test_overlap_cap),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

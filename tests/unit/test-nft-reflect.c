/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NAT reflection in the plan (natgwd.conf(5), "reflection"): a reflecting forward's elements
 * again under the name natgw:reflect in its map with the in-interface field, the same keys
 * otherwise and the same targets; none for reflection = false; forwards that reflect the same
 * key share one element when their target is the same and are refused when it is not.
 */

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "conf.h"
#include "nft-plan.h"
#include "nft-reflect.h"
#include "util.h"

#include "conf-test.h"
#include "nft-test.h"

#define REFLECT "natgw:reflect"

/* Elements of @m whose interface field is @ifname (the field comes first in these maps). */
static size_t count_iif(const struct natgw_map *m, const char *ifname) {
        size_t n = 0, stride = m->key_len * (m->interval ? 2 : 1);

        for (size_t i = 0; i < m->n; i++)
                n += strncmp((const char *)m->keys + i * stride, ifname, IFNAMSIZ) == 0;
        return n;
}

/* Whether @m has an element @ifname . proto . port (hash maps of shape IIF) going to @to:@to_port. */
static bool has_elem(const struct natgw_map *m, const char *ifname, uint8_t proto, uint16_t port, const char *to,
                     uint16_t to_port) {
        struct natgw_addr a = A(to);

        for (size_t i = 0; i < m->n; i++) {
                const uint8_t *k = m->keys + i * m->key_len, *d = m->data + i * m->data_len;
                uint16_t kp, dp;

                memcpy(&kp, k + IFNAMSIZ + 4, 2);
                memcpy(&dp, d + (m->family == AF_INET ? 4 : 16), 2);
                if (strncmp((const char *)k, ifname, IFNAMSIZ) == 0 && k[IFNAMSIZ] == proto && ntohs(kp) == port &&
                    memcmp(d, a.bytes, m->family == AF_INET ? 4 : 16) == 0 && ntohs(dp) == to_port)
                        return true;
        }
        return false;
}

static void test_reflected_copy(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(
                "version = 1;\n"
                "forward = (\n"
                "  { name = \"web\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; },\n"
                "  { name = \"shift\"; in_interface = \"eth0\"; proto = \"tcp+udp\"; port = \"7000-7001\";\n"
                "    to = \"192.168.1.66:9000-9001\"; },\n"
                "  { name = \"off\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 8081; to = \"192.168.1.66\";\n"
                "    reflection = false; },\n"
                "  { name = \"any\"; proto = \"udp\"; port = 53; to = \"192.168.1.53\"; }\n"
                ");\n");
        _cleanup_(natgw_plan_freep) struct natgw_plan *p = build(c);
        const struct natgw_map *m = find_map(p, "fwd4_if"), *any = find_map(p, "fwd4");

        assert_true(c->forwards[0].reflection);
        assert_false(c->forwards[2].reflection);
        assert_true(p->reflect);
        assert_non_null(m);
        /* eth0: web 1 + shift 2 ports x 2 protocols + off 1; reflected: all but off, and any's. */
        assert_int_equal(count_iif(m, "eth0"), 6);
        assert_int_equal(count_iif(m, REFLECT), 6);
        assert_true(has_elem(m, REFLECT, IPPROTO_TCP, 8080, "192.168.1.66", 80));
        assert_true(has_elem(m, REFLECT, IPPROTO_UDP, 7001, "192.168.1.66", 9001));
        assert_true(has_elem(m, REFLECT, IPPROTO_UDP, 53, "192.168.1.53", 53));
        assert_false(has_elem(m, REFLECT, IPPROTO_TCP, 8081, "192.168.1.66", 8081));
        assert_true(has_elem(m, "eth0", IPPROTO_TCP, 8081, "192.168.1.66", 8081));
        assert_true(m->reflect);
        assert_true(m->hairpin); /* "any" has no in_interface */
        /* The forward without in_interface keeps its own element where it was. */
        assert_non_null(any);
        assert_int_equal(any->n, 1);
        for (size_t i = 0; i < m->n; i++)
                assert_int_equal(natgw_reflect_elem(m, i), strncmp((const char *)m->keys + i * m->key_len, REFLECT,
                                                                   IFNAMSIZ) == 0);
}

/* The reflected copy of a forward without in_interface lands in the map with that field: the
 * map's protocols (for which its rules look up) are its too. */
static void test_reflected_protos(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(
                "version = 1;\n"
                "forward = (\n"
                "  { name = \"web\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; },\n"
                "  { name = \"any\"; proto = \"udp\"; port = 53; to = \"192.168.1.53\"; }\n"
                ");\n");
        _cleanup_(natgw_plan_freep) struct natgw_plan *p = build(c);

        assert_int_equal(find_map(p, "fwd4_if")->protos, NATGW_PROTO_TCP | NATGW_PROTO_UDP);
        assert_int_equal(find_map(p, "fwd4")->protos, NATGW_PROTO_UDP);
        assert_true(find_map(p, "fwd4_if")->hairpin);
        assert_false(find_map(p, "fwd4")->reflect);
}

static void test_no_reflection(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(
                "version = 1;\n"
                "forward = ( { name = \"web\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 8080;\n"
                "              to = \"192.168.1.66:80\"; reflection = false; } );\n");
        _cleanup_(natgw_plan_freep) struct natgw_plan *p = build(c);

        assert_false(p->reflect);
        assert_int_equal(find_map(p, "fwd4_if")->n, 1);
}

/* The same port on two outside interfaces: one reflected element when both go to one target. */
static void test_shared_key(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(
                "version = 1;\n"
                "forward = (\n"
                "  { name = \"a\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 80; to = \"192.168.1.66\"; },\n"
                "  { name = \"b\"; in_interface = \"eth1\"; proto = \"tcp\"; port = 80; to = \"192.168.1.66\"; }\n"
                ");\n");
        _cleanup_(natgw_plan_freep) struct natgw_plan *p = build(c);
        const struct natgw_map *m = find_map(p, "fwd4_if");

        assert_int_equal(count_iif(m, REFLECT), 1);
        assert_int_equal(count_iif(m, "eth0") + count_iif(m, "eth1"), 2);
}

/* Entries that name more interfaces than the reflected rule compares: a warning, the plan builds. */
static void test_many_outside(void **state) {
        char text[16384] = "version = 1;\nforward = (\n";
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL;
        struct natgw_errors errors = {};
        struct natgw_plan *p = NULL;
        size_t len = strlen(text);

        for (int i = 0; i <= NATGW_REFLECT_OUTSIDE_MAX; i++)
                len += (size_t)snprintf(text + len, sizeof(text) - len,
                                        "  { name = \"f%d\"; in_interface = \"nx%d\"; proto = \"tcp\"; port = %d; "
                                        "to = \"192.168.1.66\"; }%s\n", i, i, 1000 + i,
                                        i < NATGW_REFLECT_OUTSIDE_MAX ? "," : "");
        snprintf(text + len, sizeof(text) - len, ");\n");
        c = load_ok(text);
        assert_int_equal(natgw_plan_build(c, &p, &errors), 0);
        assert_int_equal(errors.n, 1);
        assert_int_equal(errors.v[0].severity, NATGW_SEVERITY_WARNING);
        assert_non_null(strstr(errors.v[0].message, "more than 64 interfaces"));
        natgw_plan_free(p);
        natgw_errors_clear(&errors);
}

static void assert_clash(const char *text, const char *want) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(text);
        struct natgw_errors errors = {};
        struct natgw_plan *p = NULL;

        assert_int_equal(natgw_plan_build(c, &p, &errors), -EINVAL);
        assert_null(p);
        if (errors.n != 1)
                dump_errors(&errors);
        assert_int_equal(errors.n, 1);
        {
                _cleanup_(freep) char *s = natgw_error_format(&errors.v[0]);

                assert_string_equal(s, want);
        }
        natgw_errors_clear(&errors);
}

static void test_clash(void **state) {
        assert_clash("version = 1;\n"
                     "forward = (\n"
                     "  { name = \"a\"; in_interface = \"eth0\"; proto = \"tcp\"; port = \"80-81\"; to = \"192.168.1.66\"; },\n"
                     "  { name = \"b\"; in_interface = \"eth1\"; proto = \"tcp\"; port = 81; to = \"192.168.1.67\"; }\n"
                     ");\n",
                     "test.conf:4: entry \"b\": reflects the same address and port as entry \"a\" (line 3), to "
                     "another target or for overlapping allow_from: set reflection = false on one of them");
        /* Client prefixes that overlap without being equal clash too (an interval map). */
        assert_clash("version = 1;\n"
                     "forward = (\n"
                     "  { name = \"a\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 80; to = \"192.168.1.66\";\n"
                     "    allow_from = \"10.0.0.0/8\"; },\n"
                     "  { name = \"b\"; in_interface = \"eth1\"; proto = \"tcp\"; port = 80; to = \"192.168.1.66\";\n"
                     "    allow_from = \"10.1.0.0/16\"; }\n"
                     ");\n",
                     "test.conf:5: entry \"b\": reflects the same address and port as entry \"a\" (line 3), to "
                     "another target or for overlapping allow_from: set reflection = false on one of them");
        /* Either one without reflection: no clash. */
        {
                _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(
                        "version = 1;\n"
                        "forward = (\n"
                        "  { name = \"a\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 80; to = \"192.168.1.66\"; },\n"
                        "  { name = \"b\"; in_interface = \"eth1\"; proto = \"tcp\"; port = 80; to = \"192.168.1.67\";\n"
                        "    reflection = false; }\n"
                        ");\n");
                _cleanup_(natgw_plan_freep) struct natgw_plan *p = build(c);

                assert_int_equal(count_iif(find_map(p, "fwd4_if"), REFLECT), 1);
        }
}

static void test_bad_value(void **state) {
        EXPECT_ERRORS("version = 1;\n"
                      "forward = ( { name = \"w\"; proto = \"tcp\"; port = 80; to = \"192.168.1.66\"; reflection = \"yes\"; } );\n",
                      "test.conf:2: entry \"w\": wrong type for \"reflection\": expected true or false, got a string");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_reflected_copy),
                cmocka_unit_test(test_reflected_protos),
                cmocka_unit_test(test_no_reflection),
                cmocka_unit_test(test_shared_key),
                cmocka_unit_test(test_clash),
                cmocka_unit_test(test_many_outside),
                cmocka_unit_test(test_bad_value),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

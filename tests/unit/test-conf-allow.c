/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Egress policy in the file (issue 14): allow lists, deny, log_denied and the filter section;
 * every error and warning with its text and line; and the model's answer to "does this entry
 * allow that packet", checked against cases worked out by hand from the rules.
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "conf.h"
#include "util.h"

#include "conf-test.h"

/* Load @text, which must be valid, with exactly the warnings @expected, in order. */
static struct natgw_config *check_warnings(const char *text, const char *const *expected) {
        struct natgw_errors errors = {};
        struct natgw_config *c = NULL;
        size_t n = 0;
        int r;

        while (expected[n])
                n++;
        r = natgw_config_load_string(text, "test.conf", &c, &errors);
        if (r != 0 || errors.n != n)
                dump_errors(&errors);
        assert_int_equal(r, 0);
        assert_int_equal(errors.n, n);
        for (size_t i = 0; i < n; i++) {
                _cleanup_(freep) char *s = natgw_error_format(&errors.v[i]);

                assert_int_equal(errors.v[i].severity, NATGW_SEVERITY_WARNING);
                if (!streq(s, expected[i]))
                        dump_errors(&errors);
                assert_string_equal(s, expected[i]);
        }
        natgw_errors_clear(&errors);
        return c;
}

#define EXPECT_WARNINGS(text, ...) check_warnings(text, (const char *const[]) { __VA_ARGS__, NULL })

static const char design_example[] =
        "version = 1;\n"
        "filter = { forward = \"drop\"; };\n"
        "masquerade = (\n"
        "  { name = \"db\"; source = \"10.0.5.0/24\"; out_interface = \"eth0\";\n"
        "    allow = ( { to = \"198.51.100.80/32\"; proto = \"tcp\"; port = [ 80, 443 ]; },\n"
        "              { proto = \"udp\"; port = 53; } );\n"
        "    deny = \"drop\";\n"
        "    log_denied = true; },\n"
        "  { name = \"app\"; source = [ \"10.0.6.0/24\", \"fd00:6::/64\" ]; out_interface = \"eth0\";\n"
        "    deny = \"reject\";\n"
        "    allow = ( { to = [ \"198.51.100.0/24\", \"2001:db8:2::/48\" ]; proto = \"tcp+udp\"; port = \"8000-8099\"; },\n"
        "              { proto = \"icmp\"; },\n"
        "              { to = \"203.0.113.0/24\"; proto = \"all\"; } ); }\n"
        ");\n"
        "snat = (\n"
        "  { name = \"open\"; source = \"10.0.7.0/24\"; out_interface = \"eth0\"; to = \"203.0.113.6\"; }\n"
        ");\n";

static void test_model(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(design_example);
        const struct natgw_egress *db = &c->egress[0], *app = &c->egress[1], *open = &c->egress[2];
        char buf[NATGW_PREFIX_STRLEN];

        (void)state;
        assert_int_equal(c->filter.forward, NATGW_FILTER_DROP);
        assert_int_equal(c->filter.forward_line, 2);
        assert_true(db->has_allow);
        assert_int_equal(db->n_allow, 2);
        assert_int_equal(db->allow[0].line, 5);
        assert_int_equal(db->allow[0].n_to, 1);
        assert_string_equal(natgw_prefix_format(&db->allow[0].to[0], buf, sizeof(buf)), "198.51.100.80/32");
        assert_int_equal(db->allow[0].protos, NATGW_PROTO_TCP);
        assert_int_equal(db->allow[0].n_ports, 2);
        assert_int_equal(db->allow[0].ports[1].lo, 443);
        assert_int_equal(db->allow[1].n_to, 0);
        assert_int_equal(db->allow[1].protos, NATGW_PROTO_UDP);
        assert_int_equal(db->deny, NATGW_DENY_DROP);
        assert_true(db->log_denied);

        assert_int_equal(app->deny, NATGW_DENY_REJECT);
        assert_false(app->log_denied);
        assert_int_equal(app->allow[0].protos, NATGW_PROTO_TCP | NATGW_PROTO_UDP);
        assert_int_equal(app->allow[0].ports[0].lo, 8000);
        assert_int_equal(app->allow[0].ports[0].hi, 8099);
        assert_int_equal(app->allow[1].protos, NATGW_PROTO_ICMP);
        assert_int_equal(app->allow[1].n_ports, 0);
        assert_int_equal(app->allow[2].protos, NATGW_PROTO_ALL);

        assert_false(open->has_allow);
        assert_int_equal(open->n_allow, 0);
}

static void test_defaults(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c =
                load_ok("version = 1;\n"
                        "masquerade = ( { name = \"a\"; source = \"10.0.0.0/8\"; out_interface = \"eth0\";\n"
                        "  allow = ( { to = \"198.51.100.7\"; } ); } );\n");

        (void)state;
        assert_int_equal(c->filter.forward, NATGW_FILTER_ACCEPT);
        assert_int_equal(c->filter.forward_line, 0);
        /* No proto: every protocol; an address without a length is a host. */
        assert_int_equal(c->egress[0].allow[0].protos, NATGW_PROTO_ALL);
        assert_int_equal(c->egress[0].allow[0].to[0].len, 32);
        assert_int_equal(c->egress[0].deny, NATGW_DENY_DROP);
        assert_false(c->egress[0].log_denied);
}

static void test_errors(void **state) {
        (void)state;
        EXPECT_ERRORS("version = 1;\n"
                      "masquerade = (\n"
                      "  { name = \"a\"; source = \"10.0.0.0/8\"; out_interface = \"eth0\";\n"
                      "    allow = ( { proto = \"icmp\"; port = 8; },\n"
                      "              { proto = \"all\"; port = [ 80 ]; },\n"
                      "              { proto = \"sctp\"; },\n"
                      "              { to = \"2001:db8::/32\"; proto = \"tcp\"; },\n"
                      "              { to = [ ]; },\n"
                      "              { port = 99999; proto = \"udp\"; },\n"
                      "              { proto = \"tcp\"; dport = 80; },\n"
                      "              \"198.51.100.1\" );\n"
                      "    deny = \"refuse\"; log_denied = \"yes\"; },\n"
                      "  { name = \"b\"; source = \"10.1.0.0/16\"; out_interface = \"eth0\"; allow = { proto = \"tcp\"; }; }\n"
                      ");\n"
                      "filter = { forward = \"reject\"; input = \"drop\"; };\n",
                      "test.conf:4: entry \"a\": allow rule 1: \"port\" needs proto \"tcp\", \"udp\" or \"tcp+udp\" "
                      "(this rule is for icmp)",
                      "test.conf:5: entry \"a\": allow rule 2: \"port\" needs proto \"tcp\", \"udp\" or \"tcp+udp\" "
                      "(this rule is for every protocol)",
                      "test.conf:6: entry \"a\": allow rule 3: proto \"sctp\" is not \"tcp\", \"udp\", \"tcp+udp\", "
                      "\"icmp\" or \"all\"",
                      "test.conf:7: entry \"a\": allow rule 4: to 2001:db8::/32 is IPv6, but no source of the entry is",
                      "test.conf:8: entry \"a\": \"to\" is an empty list",
                      "test.conf:9: entry \"a\": port 99999 is out of range 1-65535",
                      "test.conf:10: entry \"a\": unknown key \"dport\"",
                      "test.conf:11: entry \"a\": allow rule 8: wrong type: expected a rule { to; proto; port; }, got a string",
                      "test.conf:12: entry \"a\": deny \"refuse\" is not \"drop\" or \"reject\"",
                      "test.conf:12: entry \"a\": wrong type for \"log_denied\": expected true or false, got a string",
                      "test.conf:13: entry \"b\": wrong type for \"allow\": expected a list of rules ( { to; proto; port; }, ... ), got a group",
                      "test.conf:15: filter: unknown key \"input\"",
                      "test.conf:15: filter: forward \"reject\" is not \"accept\" or \"drop\"");
}

static void test_warnings(void **state) {
        struct natgw_config *c;

        (void)state;
        c = EXPECT_WARNINGS(
                "version = 1;\n"
                "masquerade = (\n"
                "  { name = \"a\"; source = \"10.0.0.0/8\"; out_interface = \"eth0\";\n"
                "    allow = ( { to = \"198.51.100.0/24\"; proto = \"tcp+udp\"; port = ( 80, \"440-450\" ); },\n"
                "              { to = \"198.51.100.7\"; proto = \"tcp\"; port = 443; },\n"
                "              { to = \"198.51.100.7\"; proto = \"tcp\"; port = [ 443, 8443 ]; },\n"
                "              { to = \"203.0.113.0/24\"; },\n"
                "              { to = [ \"198.51.100.10\", \"198.51.100.9\" ]; proto = \"udp\"; port = 80; },\n"
                "              { proto = \"icmp\"; },\n"
                "              { proto = \"icmp\"; } ); },\n"
                "  { name = \"b\"; source = \"10.1.0.0/16\"; out_interface = \"eth0\"; allow = ( ); },\n"
                "  { name = \"c\"; source = \"10.2.0.0/16\"; out_interface = \"eth0\"; deny = \"reject\";\n"
                "    log_denied = true; }\n"
                ");\n",
                "test.conf:5: entry \"a\": allow rule 2 adds nothing: rule 1 (line 4) already allows all it allows",
                "test.conf:8: entry \"a\": allow rule 5 adds nothing: rule 1 (line 4) already allows all it allows",
                "test.conf:10: entry \"a\": allow rule 7 adds nothing: rule 6 (line 9) already allows all it allows",
                "test.conf:11: entry \"b\": \"allow\" is an empty list: everything from the entry's sources is denied",
                "test.conf:12: entry \"c\": \"deny\" has no effect without \"allow\"",
                "test.conf:13: entry \"c\": \"log_denied\" has no effect without \"allow\"");
        /* Warnings change nothing: every rule is in the model, an empty list denies everything. */
        assert_int_equal(c->egress[0].n_allow, 7);
        assert_true(c->egress[1].has_allow);
        assert_int_equal(c->egress[1].n_allow, 0);
        natgw_config_free(c);
}

static void addr(const char *s, struct natgw_addr *a) {
        assert_int_equal(natgw_addr_parse(s, a), 0);
}

/* Cases worked out by hand from the rules of the design example above. */
static void test_allows(void **state) {
        static const struct {
                size_t entry;
                uint8_t proto;
                const char *daddr;
                uint16_t dport;
                bool allowed;
        } cases[] = {
                { 0, IPPROTO_TCP, "198.51.100.80", 443, true },
                { 0, IPPROTO_TCP, "198.51.100.80", 80, true },
                { 0, IPPROTO_TCP, "198.51.100.80", 22, false },  /* another port, same host */
                { 0, IPPROTO_TCP, "198.51.100.81", 443, false }, /* another host */
                { 0, IPPROTO_UDP, "192.0.2.53", 53, true },      /* udp 53 anywhere */
                { 0, IPPROTO_UDP, "198.51.100.80", 443, false },
                { 0, IPPROTO_TCP, "192.0.2.53", 53, false },
                { 0, IPPROTO_ICMP, "198.51.100.80", 0, false },
                { 1, IPPROTO_UDP, "198.51.100.200", 8050, true },
                { 1, IPPROTO_TCP, "2001:db8:2:ffff::1", 8099, true },
                { 1, IPPROTO_TCP, "2001:db8:3::1", 8099, false },
                { 1, IPPROTO_TCP, "198.51.100.200", 8100, false },
                { 1, IPPROTO_ICMP, "192.0.2.1", 0, true },
                { 1, IPPROTO_ICMPV6, "2001:db8:9::1", 0, true },
                { 1, IPPROTO_ICMP, "2001:db8:9::1", 0, false }, /* ICMP means ICMPv6 for IPv6 */
                { 1, IPPROTO_GRE, "203.0.113.77", 0, true },    /* all protocols to 203.0.113.0/24 */
                { 1, IPPROTO_GRE, "203.0.114.1", 0, false },
                { 2, IPPROTO_GRE, "203.0.114.1", 0, true },     /* no allow list: everything */
        };
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(design_example);

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct natgw_addr a;

                addr(cases[i].daddr, &a);
                if (natgw_egress_allows(&c->egress[cases[i].entry], cases[i].proto, &a, cases[i].dport) !=
                    cases[i].allowed)
                        fail_msg("case %zu: entry %zu proto %u %s port %u: expected %s", i, cases[i].entry,
                                 cases[i].proto, cases[i].daddr, cases[i].dport,
                                 cases[i].allowed ? "allowed" : "denied");
        }
}

static void test_egress_match(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = EXPECT_WARNINGS(
                        "version = 1;\n"
                        "masquerade = (\n"
                        "  { name = \"lan\"; source = \"10.0.5.0/24\"; out_interface = \"eth0\"; },\n"
                        "  { name = \"db\"; source = \"10.0.5.9/32\"; out_interface = \"eth0\"; allow = ( ); },\n"
                        "  { name = \"other\"; source = \"10.0.0.0/8\"; out_interface = \"eth1\"; }\n"
                        ");\n",
                        "test.conf:4: entry \"db\": \"allow\" is an empty list: everything from the entry's "
                        "sources is denied");
        struct natgw_addr a;

        (void)state;
        addr("10.0.5.9", &a);
        assert_int_equal(natgw_config_egress_match(c, "eth0", &a), 1); /* the /32 inside the /24 */
        addr("10.0.5.10", &a);
        assert_int_equal(natgw_config_egress_match(c, "eth0", &a), 0);
        assert_int_equal(natgw_config_egress_match(c, "eth1", &a), 2);
        assert_int_equal(natgw_config_egress_match(c, "eth2", &a), -ENOENT);
        addr("10.1.0.1", &a);
        assert_int_equal(natgw_config_egress_match(c, "eth0", &a), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_model),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_warnings),
                cmocka_unit_test(test_allows),
                cmocka_unit_test(test_egress_match),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

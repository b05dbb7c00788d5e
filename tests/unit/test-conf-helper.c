/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Conntrack helpers in the file (natgwd.conf(5): "helper" on forwards, "helpers" on egress
 * entries) and the helper objects a plan asks for: one per (helper, protocol) in use, named
 * after the first entry that uses it.
 */

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "conf.h"
#include "nft-helper.h"
#include "nft-plan.h"
#include "util.h"

#include "conf-test.h"
#include "nft-test.h"

static void test_parse(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(
                "version = 1;\n"
                "masquerade = ( { name = \"lan\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\";\n"
                "                 helpers = [ \"ftp\", \"sip\" ]; } );\n"
                "snat = ( { name = \"dmz\"; source = \"10.0.0.0/8\"; out_interface = \"eth0\"; to = \"203.0.113.5\";\n"
                "           helpers = \"tftp\"; } );\n"
                "forward = (\n"
                "  { name = \"ftp\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 21; to = \"192.168.1.30\"; helper = \"ftp\"; },\n"
                "  { name = \"voip\"; proto = \"tcp+udp\"; port = 5060; to = \"192.168.1.50\"; helper = \"sip\"; },\n"
                "  { name = \"web\"; proto = \"tcp\"; port = 80; to = \"192.168.1.80\"; }\n"
                ");\n");

        assert_int_equal(c->egress[0].helpers, NATGW_HELPER_FTP | NATGW_HELPER_SIP);
        assert_int_equal(c->egress[1].helpers, NATGW_HELPER_TFTP);
        assert_int_equal(c->forwards[0].helper, NATGW_HELPER_FTP);
        assert_int_equal(c->forwards[1].helper, NATGW_HELPER_SIP);
        assert_int_equal(c->forwards[2].helper, 0);
}

static void test_errors(void **state) {
        EXPECT_ERRORS("version = 1;\n"
                      "forward = ( { name = \"f\"; proto = \"tcp\"; port = 21; to = \"192.168.1.30\"; helper = \"http\"; } );\n",
                      "test.conf:2: entry \"f\": helper \"http\" is not \"ftp\", \"tftp\" or \"sip\"");
        EXPECT_ERRORS("version = 1;\n"
                      "forward = ( { name = \"f\"; proto = \"udp\"; port = 21; to = \"192.168.1.30\"; helper = \"ftp\"; } );\n",
                      "test.conf:2: entry \"f\": helper \"ftp\" takes tcp connections, proto is \"udp\"");
        EXPECT_ERRORS("version = 1;\n"
                      "forward = ( { name = \"f\"; proto = \"tcp\"; port = 69; to = \"192.168.1.30\"; helper = \"tftp\"; } );\n",
                      "test.conf:2: entry \"f\": helper \"tftp\" takes udp connections, proto is \"tcp\"");
        EXPECT_ERRORS("version = 1;\n"
                      "masquerade = ( { name = \"m\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\";\n"
                      "                 helpers = [ \"ftp\", \"ftp\" ]; } );\n",
                      "test.conf:3: entry \"m\": helpers: \"ftp\" is listed twice");
        EXPECT_ERRORS("version = 1;\n"
                      "masquerade = ( { name = \"m\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\"; helpers = 21; } );\n",
                      "test.conf:2: entry \"m\": wrong type for \"helpers\": expected \"ftp\", \"tftp\" or \"sip\", got an integer");
}

static void test_plan_objects(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(
                "version = 1;\n"
                "masquerade = ( { name = \"lan\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\"; helpers = \"ftp\"; } );\n"
                "forward = (\n"
                "  { name = \"ftp\"; proto = \"tcp\"; port = 21; to = \"192.168.1.30\"; helper = \"ftp\"; },\n"
                "  { name = \"voip\"; proto = \"udp\"; port = 5060; to = \"192.168.1.50\"; helper = \"sip\"; }\n"
                ");\n");
        _cleanup_(natgw_plan_freep) struct natgw_plan *p = build(c);

        /* ftp (first used by lan, entry 0) and sip over UDP only (voip, entry 2): no sip-tcp, no tftp. */
        assert_int_equal(p->helper_objs, (1u << NATGW_HOBJ_FTP) | (1u << NATGW_HOBJ_SIP_UDP));
        assert_int_equal(p->helper_entry[NATGW_HOBJ_FTP], 0);
        assert_int_equal(p->helper_entry[NATGW_HOBJ_SIP_UDP], 2);
        assert_true(p->helper_chain);
        assert_string_equal(natgw_hobjs[NATGW_HOBJ_SIP_TCP].name, "sip-tcp");
}

static void test_plan_none(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(
                "version = 1;\n"
                "masquerade = ( { name = \"lan\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\"; helpers = \"sip\"; } );\n");
        _cleanup_(natgw_plan_freep) struct natgw_plan *p = build(c);

        /* An egress entry's sip takes both protocols; no forward: no helper chain. */
        assert_int_equal(p->helper_objs, (1u << NATGW_HOBJ_SIP_UDP) | (1u << NATGW_HOBJ_SIP_TCP));
        assert_false(p->helper_chain);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_plan_objects),
                cmocka_unit_test(test_plan_none),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

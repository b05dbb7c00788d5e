/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The HA pair's pure parts (docs/HA.md): the conntrackd sequence of each transition (the order
 * conntrack-tools documents for keepalived), conntrackd's statistics as conntrackd 1.4.7 prints
 * them, the socket a conntrackd.conf names, the "ha" control request, and the "ha" hint's
 * warnings.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "conf.h"
#include "ct-sync.h"
#include "ctl-proto.h"
#include "util.h"

#include "conf-test.h"

static void test_steps(void **state) {
        static const char *const master[] = { "-c", "-f", "-R", "-B" };
        static const char *const backup[] = { "-s", "-t", "-n" };
        const struct natgw_ha_step *s;
        size_t n;

        /* Commit the peer's connections first: traffic may already arrive. */
        s = natgw_ha_steps(NATGW_HA_MASTER, &n);
        assert_int_equal(n, ELEMENTSOF(master));
        for (size_t i = 0; i < n; i++)
                assert_string_equal(s[i].option, master[i]);
        s = natgw_ha_steps(NATGW_HA_BACKUP, &n);
        assert_int_equal(n, ELEMENTSOF(backup));
        for (size_t i = 0; i < n; i++)
                assert_string_equal(s[i].option, backup[i]);
        s = natgw_ha_steps(NATGW_HA_FAULT, &n);
        assert_int_equal(n, 1);
        assert_string_equal(s[0].option, "-t");
        assert_null(natgw_ha_steps(NATGW_HA_NONE, &n));
        assert_int_equal(n, 0);
        assert_int_equal(natgw_ha_role_from_string("master"), NATGW_HA_MASTER);
        assert_int_equal(natgw_ha_role_from_string("none"), -EINVAL);
        assert_int_equal(natgw_ha_role_from_string("primary"), -EINVAL);
}

/* `conntrackd -s` of conntrackd 1.4.7 in FTFW mode (spacing as it prints it). */
static const char stats_text[] =
        "cache internal:\n"
        "current active connections:\t           7\n"
        "connections created:\t\t          12\tfailed:\t           0\n"
        "connections updated:\t\t          30\tfailed:\t           0\n"
        "connections destroyed:\t\t           5\tfailed:\t           0\n"
        "\n"
        "cache external:\n"
        "current active connections:\t           3\n"
        "connections created:\t\t           3\tfailed:\t           0\n"
        "connections updated:\t\t           0\tfailed:\t           0\n"
        "connections destroyed:\t\t           0\tfailed:\t           0\n"
        "\n"
        "traffic processed:\n"
        "                   0 Bytes                         0 Pckts\n"
        "\n"
        "UDP traffic (active device=eth2):\n"
        "                9120 Bytes sent                 4410 Bytes recv\n"
        "                 118 Pckts sent                   61 Pckts recv\n"
        "                   0 Error send                    2 Error recv\n"
        "\n"
        "message tracking:\n"
        "                   0 Malformed msgs                    4 Lost msgs\n";

static void test_parse_stats(void **state) {
        struct natgw_ct_sync_stats st = { .lost = 99 };

        assert_int_equal(natgw_ct_sync_parse_stats(stats_text, &st), 0);
        assert_int_equal(st.internal_active, 7);
        assert_int_equal(st.external_active, 3);
        assert_int_equal(st.pkts_sent, 118);
        assert_int_equal(st.pkts_recv, 61);
        assert_int_equal(st.errors_send, 0);
        assert_int_equal(st.errors_recv, 2);
        assert_int_equal(st.lost, 4);
        /* Not conntrackd's statistics, or a conntrackd without sync: nothing is filled. */
        st.pkts_recv = 5;
        assert_int_equal(natgw_ct_sync_parse_stats("", &st), -EBADMSG);
        assert_int_equal(natgw_ct_sync_parse_stats("cache internal:\ncache external:\n", &st), -EBADMSG);
        assert_int_equal(st.pkts_recv, 5);
}

static void test_conf_socket(void **state) {
        char buf[64];

        assert_int_equal(natgw_ct_sync_conf_socket("General {\n"
                                                   "  # UNIX { Path /commented }\n"
                                                   "  LockFile /var/lock/x\n"
                                                   "  Path /not/here\n"
                                                   "  UNIX {\n"
                                                   "    Backlog 20\n"
                                                   "    Path /run/ct.ctl\n"
                                                   "  }\n"
                                                   "}\n",
                                                   buf, sizeof(buf)),
                         0);
        assert_string_equal(buf, "/run/ct.ctl");
        assert_int_equal(natgw_ct_sync_conf_socket("General{UNIX{Path /a}}", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "/a");
        assert_int_equal(natgw_ct_sync_conf_socket("General { UNIX { } Path /b }", buf, sizeof(buf)), -ENOENT);
        assert_int_equal(natgw_ct_sync_conf_socket("General { UNIX { Path /a/very/long/path/indeed } }", buf, 8),
                         -ENAMETOOLONG);
}

static void test_shipped_conntrackd_conf(void **state) {
        char buf[128];
        char *text = NULL;
        size_t n = 0;
        FILE *f = fopen(SRCDIR "/conf/ha/conntrackd-a.conf", "re");

        assert_non_null(f);
        assert_true(getdelim(&text, &n, '\0', f) > 0);
        fclose(f);
        assert_int_equal(natgw_ct_sync_conf_socket(text, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "/var/run/conntrackd.ctl");
        free(text);
}

static void test_ha_request(void **state) {
        struct natgw_ctl_request req = { .command = NATGW_CTL_HA }, back = {};
        _cleanup_(freep) char *line = NULL, *error = NULL;
        static const char *const bad[] = {
                "{\"command\":\"ha\"}",
                "{\"command\":\"status\",\"role\":\"master\"}",
                "{\"command\":\"ha\",\"role\":\"primary\"}",
                "{\"command\":\"ha\",\"role\":\"master\",\"usec\":-1}",
                "{\"command\":\"ha\",\"role\":\"master\",\"result\":1}",
                "{\"command\":\"ha\",\"role\":\"master\",\"failed\":\"-too-long\"}",
                "{\"command\":\"ha\",\"role\":\"master\",\"conntrackd\":\"relative\"}",
        };

        req.ha.role = NATGW_HA_BACKUP;
        req.ha.result = false;
        req.ha.usec = 123456;
        snprintf(req.ha.failed, sizeof(req.ha.failed), "-n");
        snprintf(req.ha.conntrackd, sizeof(req.ha.conntrackd), "/run/conntrackd.ctl");
        line = natgw_ctl_request_format(&req);
        assert_non_null(line);
        assert_int_equal(natgw_ctl_request_parse(line, strlen(line) - 1, &back, &error), 0);
        assert_int_equal(back.command, NATGW_CTL_HA);
        assert_int_equal(back.ha.role, NATGW_HA_BACKUP);
        assert_false(back.ha.result);
        assert_int_equal(back.ha.usec, 123456);
        assert_string_equal(back.ha.failed, "-n");
        assert_string_equal(back.ha.conntrackd, "/run/conntrackd.ctl");
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                free(error);
                error = NULL;
                assert_int_equal(natgw_ctl_request_parse(bad[i], strlen(bad[i]), &back, &error), -EINVAL);
                assert_non_null(error);
        }
}

/* Load @text with exactly the warnings @expected (NULL-terminated), in order. */
static void expect_warnings(const char *text, const char *const *expected) {
        struct natgw_errors errors = {};
        struct natgw_config *c = NULL;
        size_t n = 0;

        while (expected[n])
                n++;
        assert_int_equal(natgw_config_load_string(text, "ha.conf", &c, &errors), 0);
        if (errors.n != n)
                dump_errors(&errors);
        assert_int_equal(errors.n, n);
        for (size_t i = 0; i < n; i++) {
                _cleanup_(freep) char *s = natgw_error_format(&errors.v[i]);

                assert_int_equal(errors.v[i].severity, NATGW_SEVERITY_WARNING);
                assert_string_equal(s, expected[i]);
        }
        natgw_errors_clear(&errors);
        natgw_config_free(c);
}

static void test_ha_hint(void **state) {
        static const char body[] =
                "masquerade = ( { name = \"m\"; source = \"10.0.0.0/24\"; out_interface = \"eth0\"; } );\n"
                "snat = ( { name = \"s\"; source = \"10.0.1.0/24\"; out_interface = \"eth0\"; to = \"203.0.113.10\"; },\n"
                "         { name = \"t\"; source = \"10.0.2.0/24\"; out_interface = \"eth0\"; to = \"203.0.113.11\"; } );\n"
                "forward = ( { name = \"f\"; proto = \"tcp\"; port = 80; to = \"10.0.0.5\"; },\n"
                "            { name = \"g\"; proto = \"tcp\"; port = 81; to = \"10.0.0.5\"; destination = \"203.0.113.10\"; },\n"
                "            { name = \"h\"; proto = \"tcp\"; port = 82; to = \"10.0.0.5\"; destination = \"203.0.113.12\"; } );\n";
        _cleanup_(freep) char *with = NULL, *without = NULL;

        assert_true(asprintf(&with, "version = 1;\nha = { vips = [ \"192.168.1.1\", \"203.0.113.10\" ]; };\n%s", body) > 0);
        assert_true(asprintf(&without, "version = 1;\n%s", body) > 0);
        /* Without the hint the same file is silent: a single gateway may masquerade. */
        expect_warnings(without, (const char *const[]) { NULL });
        expect_warnings(with, (const char *const[]) {
                "ha.conf:3: entry \"m\": masquerade in an HA pair: the kernel deletes these connections when the "
                "interface's address goes away, and the peer's copies name the peer's own address; use snat with "
                "to = the public VIP",
                "ha.conf:5: entry \"t\": snat to an address that is not one of ha.vips: after a failover the replies "
                "go to the node that no longer has it",
                "ha.conf:6: entry \"f\": forward without destination in an HA pair: it answers on every local address "
                "of the node; set destination = the public VIP",
                "ha.conf:8: entry \"h\": forward destination is not one of ha.vips: clients of it are cut by a failover",
                NULL });
}

static void test_ha_hint_errors(void **state) {
        struct natgw_errors errors = {};
        struct natgw_config *c = NULL;

        assert_int_equal(natgw_config_load_string("version = 1;\nha = { vip = \"1.2.3.4\"; };\n", "ha.conf", &c, &errors),
                         -EINVAL);
        assert_null(c);
        assert_true(errors.n >= 1);
        natgw_errors_clear(&errors);
        assert_int_equal(natgw_config_load_string("version = 1;\nha = 1;\n", "ha.conf", &c, &errors), -EINVAL);
        natgw_errors_clear(&errors);
}

static void test_shipped_ha_config(void **state) {
        struct natgw_errors errors = {};
        struct natgw_config *c = NULL;

        /* conf/ha/natgwd.conf is what docs/HA.md tells a pair to use: no warning of its own. */
        assert_int_equal(natgw_config_load_file(SRCDIR "/conf/ha/natgwd.conf", &c, &errors), 0);
        if (errors.n)
                dump_errors(&errors);
        assert_int_equal(errors.n, 0);
        assert_true(c->ha.present);
        assert_int_equal(c->ha.n_vips, 2);
        natgw_config_free(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_steps),
                cmocka_unit_test(test_parse_stats),
                cmocka_unit_test(test_conf_socket),
                cmocka_unit_test(test_shipped_conntrackd_conf),
                cmocka_unit_test(test_ha_request),
                cmocka_unit_test(test_ha_hint),
                cmocka_unit_test(test_ha_hint_errors),
                cmocka_unit_test(test_shipped_ha_config),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The control protocol's decoder and encoders: every class of malformed request, round trips. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ctl-proto.h"
#include "util.h"

static void parse_ok(const char *text, enum natgw_ctl_command want, unsigned want_top) {
        struct natgw_ctl_request req = {};
        char *error = NULL;

        assert_int_equal(natgw_ctl_request_parse(text, strlen(text), &req, &error), 0);
        assert_null(error);
        assert_int_equal(req.command, want);
        assert_int_equal(req.top, want_top);
}

static void parse_bad_len(const char *text, size_t len, const char *want_error) {
        struct natgw_ctl_request req = { .command = NATGW_CTL_SHOW, .top = 77 };
        _cleanup_(freep) char *error = NULL;

        assert_int_equal(natgw_ctl_request_parse(text, len, &req, &error), -EINVAL);
        assert_non_null(error);
        if (!strstr(error, want_error))
                print_message("error: %s\n", error);
        assert_non_null(strstr(error, want_error));
        /* ret untouched on failure */
        assert_int_equal(req.command, NATGW_CTL_SHOW);
        assert_int_equal(req.top, 77);
}

static void parse_bad(const char *text, const char *want_error) {
        parse_bad_len(text, strlen(text), want_error);
}

static void test_commands(void **state) {
        parse_ok("{\"command\":\"reload\"}", NATGW_CTL_RELOAD, NATGW_CTL_TOP_DEFAULT);
        parse_ok("{\"command\":\"status\"}", NATGW_CTL_STATUS, NATGW_CTL_TOP_DEFAULT);
        parse_ok(" { \"command\" : \"show\" } ", NATGW_CTL_SHOW, NATGW_CTL_TOP_DEFAULT);
        parse_ok("{\"command\":\"check\"}", NATGW_CTL_CHECK, NATGW_CTL_TOP_DEFAULT);
        parse_ok("{\"command\":\"conntrack\",\"top\":3}", NATGW_CTL_CONNTRACK, 3);
        parse_ok("{\"top\":1000,\"command\":\"conntrack\"}", NATGW_CTL_CONNTRACK, 1000);
        /* A trailing carriage return (telnet, socat crlf) is whitespace. */
        parse_ok("{\"command\":\"status\"}\r", NATGW_CTL_STATUS, NATGW_CTL_TOP_DEFAULT);
}

/* check --kernel: a flag of check only; the file goes absolute, and only with the flag. */
static void test_check_kernel(void **state) {
        struct natgw_ctl_request req = {};
        _cleanup_(freep) char *error = NULL, *line = NULL;
        const char *text = "{\"command\":\"check\",\"kernel\":true,\"config\":\"/etc/natgw/new.conf\"}";

        assert_int_equal(natgw_ctl_request_parse(text, strlen(text), &req, &error), 0);
        assert_int_equal(req.command, NATGW_CTL_CHECK);
        assert_true(req.kernel);
        assert_string_equal(req.config, "/etc/natgw/new.conf");
        /* What natgwctl sends is what natgwd reads. */
        line = natgw_ctl_request_format(&req);
        assert_non_null(line);
        req = (struct natgw_ctl_request) {};
        assert_int_equal(natgw_ctl_request_parse(line, strlen(line) - 1, &req, &error), 0);
        assert_true(req.kernel);
        assert_string_equal(req.config, "/etc/natgw/new.conf");

        parse_ok("{\"command\":\"check\",\"kernel\":false}", NATGW_CTL_CHECK, NATGW_CTL_TOP_DEFAULT);
        parse_bad("{\"command\":\"check\",\"kernel\":1}", "\"kernel\" must be a boolean");
        parse_bad("{\"command\":\"reload\",\"kernel\":true}", "\"kernel\" goes only with the command \"check\"");
        parse_bad("{\"command\":\"check\",\"config\":\"/etc/x.conf\"}", "\"config\" goes only with \"kernel\": true");
        parse_bad("{\"command\":\"check\",\"kernel\":true,\"config\":\"x.conf\"}", "must be an absolute path");
        parse_bad("{\"command\":\"check\",\"kernel\":true,\"config\":\"/a\\u0000b\"}", "malformed request");
        parse_bad("{\"command\":\"check\",\"kernel\":true,\"config\":5}", "\"config\" must be a string");
}

static void test_malformed(void **state) {
        parse_bad("", "malformed request");
        parse_bad("reload", "malformed request");
        parse_bad("{\"command\":\"reload\"", "malformed request");
        parse_bad("{\"command\":\"reload\"}{}", "malformed request");
        parse_bad("[\"reload\"]", "a JSON object is expected");
        parse_bad("\"reload\"", "malformed request");
        parse_bad("{}", "no \"command\"");
        parse_bad("{\"command\":7}", "\"command\" must be a string");
        parse_bad("{\"command\":null}", "\"command\" must be a string");
        parse_bad("{\"command\":\"reboot\"}", "unknown command \"reboot\"");
        parse_bad("{\"command\":\"RELOAD\"}", "unknown command");
        parse_bad("{\"command\":\"reload\",\"force\":true}", "unknown key \"force\"");
        parse_bad("{\"command\":\"reload\",\"command\":\"status\"}", "malformed request");
        parse_bad("{\"command\":\"conntrack\",\"top\":0}", "\"top\" must be between 1 and 1000");
        parse_bad("{\"command\":\"conntrack\",\"top\":1001}", "\"top\" must be between 1 and 1000");
        parse_bad("{\"command\":\"conntrack\",\"top\":-5}", "\"top\" must be between");
        parse_bad("{\"command\":\"conntrack\",\"top\":\"5\"}", "\"top\" must be an integer");
        parse_bad("{\"command\":\"conntrack\",\"top\":5.5}", "\"top\" must be an integer");
        parse_bad("{\"command\":\"conntrack\",\"top\":99999999999999999999999}", "malformed request");
        parse_bad("{\"command\":\"trace\",\"seconds\":5}", "trace needs \"entry\"");
        parse_bad("{\"command\":\"trace\",\"entry\":\"\",\"seconds\":5}", "\"entry\" must be a name");
        parse_bad("{\"command\":\"trace\",\"entry\":7}", "\"entry\" must be a name");
        /* show of one entry (natgwctl diagnose): the same rules for the name. */
        parse_bad("{\"command\":\"show\",\"entry\":\"\"}", "\"entry\" must be a name");
        parse_bad("{\"command\":\"show\",\"entry\":[\"web\"]}", "\"entry\" must be a name");
        {
                char name[NATGW_CTL_ENTRY_MAX + 1], text[NATGW_CTL_ENTRY_MAX + 64];

                memset(name, 'n', NATGW_CTL_ENTRY_MAX);
                name[NATGW_CTL_ENTRY_MAX] = '\0';
                snprintf(text, sizeof(text), "{\"command\":\"show\",\"entry\":\"%s\"}", name);
                parse_bad(text, "\"entry\" must be a name of 1 to 255 bytes");
                name[NATGW_CTL_ENTRY_MAX - 1] = '\0';
                snprintf(text, sizeof(text), "{\"command\":\"show\",\"entry\":\"%s\"}", name);
                parse_ok(text, NATGW_CTL_SHOW, NATGW_CTL_TOP_DEFAULT);
        }
        parse_bad("{\"command\":\"trace\",\"entry\":\"web\",\"seconds\":3601}", "\"seconds\" must be an integer from 0 to 3600");
        parse_bad("{\"command\":\"trace\",\"entry\":\"web\",\"seconds\":-1}", "\"seconds\" must be");
        parse_bad("{\"command\":\"rel\\u0000oad\"}", "malformed request");
        parse_bad("\xff\xfe{\"command\":\"reload\"}", "malformed request");
        parse_bad_len("{\"command\":\"reload\"}\0garbage", 29, "malformed request");
}

static void test_long_names_cut(void **state) {
        char text[512], want[64];

        memset(want, 0, sizeof(want));
        snprintf(text, sizeof(text), "{\"command\":\"%0300d\"}", 1);
        /* The echoed name is cut at 32 characters. */
        snprintf(want, sizeof(want), "unknown command \"%032d\"", 0);
        parse_bad(text, want);
}

/* An echo cut in the middle of a character would make the error reply invalid UTF-8, which
 * jansson refuses to build: the client would read "out of memory" instead of the error. */
static void expect_reply_echo(const char *text, const char *want) {
        struct natgw_ctl_request req = {};
        _cleanup_(freep) char *error = NULL, *line = NULL;
        _cleanup_(json_decrefp) json_t *reply = NULL;
        size_t len;

        assert_int_equal(natgw_ctl_request_parse(text, strlen(text), &req, &error), -EINVAL);
        assert_non_null(error);
        assert_string_equal(error, want);
        reply = natgw_ctl_reply_error("%s", error);
        assert_non_null(reply);
        line = natgw_ctl_reply_format(reply, &len);
        assert_non_null(line);
}

static void test_long_names_cut_utf8(void **state) {
        /* 31 ASCII bytes, then "é" (2 bytes) across the 32-byte cut: the "é" goes whole. */
        expect_reply_echo("{\"command\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\u00e9tc\"}",
                          "unknown command \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"");
        /* Eleven "€" (3 bytes each, 33 bytes): ten fit in 32 bytes. */
        expect_reply_echo("{\"command\":\"status\",\"\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\":1}",
                          "unknown key \"\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\" in request");
        /* A 4-byte character (U+1F600) at bytes 30-33. */
        expect_reply_echo("{\"command\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xf0\x9f\x98\x80\"}",
                          "unknown command \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"");
        /* Exactly 32 bytes, ending with a whole "é": echoed whole. */
        expect_reply_echo("{\"command\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9xyz\"}",
                          "unknown command \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9\"");
}

static void test_too_large(void **state) {
        size_t n = NATGW_CTL_REQUEST_MAX + 1;
        _cleanup_(freep) char *big = malloc(n);

        assert_non_null(big);
        memset(big, ' ', n);
        parse_bad_len(big, n, "request too large");
}

static void test_deep_nesting(void **state) {
        /* Deeper than jansson's parser allows: rejected, not a stack overflow. */
        size_t depth = 5000;
        _cleanup_(freep) char *s = malloc(2 * depth + 1);

        assert_non_null(s);
        memset(s, '[', depth);
        memset(s + depth, ']', depth);
        s[2 * depth] = '\0';
        parse_bad(s, "malformed request");
}

static void test_round_trip(void **state) {
        for (int c = 0; c < _NATGW_CTL_COMMAND_MAX; c++) {
                struct natgw_ctl_request req = { .command = c, .top = 42, .entry = "web", .seconds = 30 }, back = {};
                _cleanup_(freep) char *line = NULL, *error = NULL;
                size_t len;

                /* ha needs its role (test-ct-sync.c checks its keys). */
                req.ha.role = c == NATGW_CTL_HA ? 1 : 0;
                line = natgw_ctl_request_format(&req);
                assert_non_null(line);
                len = strlen(line);
                assert_true(len > 0 && line[len - 1] == '\n');
                assert_null(memchr(line, '\n', len - 1));
                assert_int_equal(natgw_ctl_request_parse(line, len - 1, &back, &error), 0);
                assert_int_equal(back.command, c);
                assert_int_equal(back.top, c == NATGW_CTL_CONNTRACK ? 42 : NATGW_CTL_TOP_DEFAULT);
                /* Trace carries an entry and seconds, show an entry (one entry shown). */
                assert_string_equal(back.entry, c == NATGW_CTL_TRACE || c == NATGW_CTL_SHOW ? "web" : "");
                assert_int_equal(back.seconds, c == NATGW_CTL_TRACE ? 30 : 0);
                assert_string_equal(natgw_ctl_command_to_string(c),
                                    natgw_ctl_command_to_string(natgw_ctl_command_from_string(natgw_ctl_command_to_string(c))));
        }
        assert_null(natgw_ctl_command_to_string(_NATGW_CTL_COMMAND_MAX));
        assert_int_equal(natgw_ctl_command_from_string("nope"), -EINVAL);
}

static void test_errors_round_trip(void **state) {
        struct natgw_errors in = {};
        _cleanup_(json_decrefp) json_t *a = NULL, *reply = NULL, *back = NULL;
        const json_t *e0, *e1, *e2;
        _cleanup_(freep) char *line = NULL;
        size_t len;

        assert_int_equal(natgw_errors_add(&in, "/etc/natgw/natgwd.conf", 12, "web", "port %d is out of range", 0), 0);
        assert_int_equal(natgw_errors_add(&in, NULL, 0, NULL, "kernel said \"no\"\nnewline"), 0);
        assert_int_equal(natgw_errors_warn(&in, "/etc/natgw/natgwd.conf", 3, "up", "interface missing"), 0);
        a = natgw_ctl_errors_to_json(&in);
        assert_non_null(a);
        assert_int_equal(json_array_size(a), 3);
        /* Every item says what it is: the client prints by that, not by the array it is in. */
        assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "severity")), "error");
        assert_string_equal(json_string_value(json_object_get(json_array_get(a, 2), "severity")), "warning");
        assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "text")),
                            "/etc/natgw/natgwd.conf:12: entry \"web\": port 0 is out of range");

        reply = json_pack("{s:b,s:O}", "ok", 0, "errors", a);
        line = natgw_ctl_reply_format(reply, &len);
        assert_non_null(line);
        /* One line: the message's newline is escaped. */
        assert_int_equal(strlen(line), len);
        assert_null(memchr(line, '\n', len - 1));

        /* What a client reads back off the wire: the fields PROTOCOL.md names, nulls included. */
        back = json_loads(line, 0, NULL);
        assert_non_null(back);
        e0 = json_array_get(json_object_get(back, "errors"), 0);
        e1 = json_array_get(json_object_get(back, "errors"), 1);
        assert_string_equal(json_string_value(json_object_get(e0, "file")), "/etc/natgw/natgwd.conf");
        assert_int_equal(json_integer_value(json_object_get(e0, "line")), 12);
        assert_string_equal(json_string_value(json_object_get(e0, "entry")), "web");
        assert_string_equal(json_string_value(json_object_get(e0, "message")), "port 0 is out of range");
        assert_true(json_is_null(json_object_get(e1, "file")));
        assert_int_equal(json_integer_value(json_object_get(e1, "line")), 0);
        assert_true(json_is_null(json_object_get(e1, "entry")));
        assert_string_equal(json_string_value(json_object_get(e1, "message")), "kernel said \"no\"\nnewline");
        e2 = json_array_get(json_object_get(back, "errors"), 2);
        assert_string_equal(json_string_value(json_object_get(e0, "severity")), "error");
        assert_string_equal(json_string_value(json_object_get(e2, "severity")), "warning");
        assert_string_equal(json_string_value(json_object_get(e2, "entry")), "up");
        natgw_errors_clear(&in);
}

static void test_reply_error(void **state) {
        _cleanup_(json_decrefp) json_t *j = natgw_ctl_reply_error("busy %d", 3);

        assert_non_null(j);
        assert_true(json_is_false(json_object_get(j, "ok")));
        assert_string_equal(json_string_value(json_object_get(j, "error")), "busy 3");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_commands),
                cmocka_unit_test(test_check_kernel),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_long_names_cut),
                cmocka_unit_test(test_long_names_cut_utf8),
                cmocka_unit_test(test_too_large),
                cmocka_unit_test(test_deep_nesting),
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_errors_round_trip),
                cmocka_unit_test(test_reply_error),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

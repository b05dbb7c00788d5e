/* SPDX-License-Identifier: GPL-2.0-or-later */

/* natgwctl's reader of show's reply, a member and an entry at a time (ctl-json-stream.h): the same
 * object as jansson's whole parse, the same text as json_dumps(), and every malformed reply
 * refused with where. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "ctl-json-stream.h"

struct events {
        json_t *obj, *array;
        struct natgw_json_pretty pretty;
        size_t n_elements, n_begin, n_end;
        int fail_at; /* return -EIO at this event (1-based); 0: never */
        int n;
};

static int on_event(enum natgw_json_event ev, const char *key, json_t *value, void *userdata) {
        struct events *e = userdata;

        if (++e->n == e->fail_at)
                return -EIO;
        switch (ev) {
        case NATGW_JSON_MEMBER:
                assert_int_equal(json_object_set(e->obj, key, value), 0);
                break;
        case NATGW_JSON_ARRAY_BEGIN:
                assert_string_equal(key, "entries");
                e->array = json_array();
                assert_int_equal(json_object_set_new(e->obj, key, e->array), 0);
                e->n_begin++;
                break;
        case NATGW_JSON_ELEMENT:
                assert_non_null(value);
                assert_int_equal(json_array_append(e->array, value), 0);
                e->n_elements++;
                break;
        case NATGW_JSON_ARRAY_END:
                e->n_end++;
                break;
        }
        return natgw_json_pretty_event(&e->pretty, ev, key, value);
}

/* @text streamed: what the events rebuild and what the writer wrote equal jansson's own. */
static void assert_streams(const char *text, size_t want_elements) {
        _cleanup_(json_decrefp) json_t *whole = json_loads(text, 0, NULL), *obj = json_object();
        _cleanup_(freep) char *out = NULL, *want = NULL, *error = NULL;
        struct events e = { .obj = obj };
        size_t len = 0;

        assert_non_null(whole);
        e.pretty.f = open_memstream(&out, &len);
        assert_non_null(e.pretty.f);
        assert_int_equal(natgw_json_stream_object(text, strlen(text), "entries", on_event, &e, &error), 0);
        assert_null(error);
        assert_int_equal(natgw_json_pretty_end(&e.pretty), 0);
        assert_int_equal(fclose(e.pretty.f), 0);
        assert_true(json_equal(whole, obj));
        assert_int_equal(e.n_elements, want_elements);
        assert_int_equal(e.n_begin, e.n_end);
        want = json_dumps(whole, NATGW_JSON_PRETTY_FLAGS);
        assert_non_null(want);
        assert_int_equal(len, strlen(want) + 1);
        assert_memory_equal(out, want, strlen(want));
        assert_int_equal(out[len - 1], '\n');
}

static void test_show_reply(void **state) {
        assert_streams("{\"ok\":true,\"config\":\"/etc/natgwd/natgwd.conf\",\"entries\":["
                       "{\"kind\":\"forward\",\"name\":\"web\",\"port\":[80,443],\"allow_from\":[\"198.51.100.0/24\"],"
                       "\"reflection\":false,\"connections\":3,\"traffic_bytes\":4096,\"denied\":null,\"x\":{}},"
                       "{\"kind\":\"masquerade\",\"name\":\"lan\",\"source\":[],\"connections\":null}],"
                       "\"filter_forward\":\"drop\",\"forward_dropped\":12}\n",
                       2);
        /* No entries; an error reply (no entries member at all); the empty object. */
        assert_streams("{\"ok\":true,\"config\":\"c\",\"entries\":[],\"filter_forward\":\"accept\"}\n", 0);
        assert_streams("{\"ok\":false,\"error\":\"e\",\"errors\":[{\"file\":\"a.conf\",\"line\":3}]}", 0);
        assert_streams("{}", 0);
}

static void test_values(void **state) {
        /* White space anywhere; every kind of scalar; escapes, in names too; elements of any
         * kind; "entries" that is not an array is a member like any other. */
        assert_streams(" \t\r\n{ \"entries\" : [ 1 , -2.5e-3 , \"s\" , null , true , false , [ ] , { } , [ [ 1 ] ] ] ,"
                       " \"a\\\"b\\\\\" : \"\\u00e9\\n\\t\\\"\" , \"r\" : 1e300 , \"i\" : -9223372036854775807 } \n",
                       9);
        assert_streams("{\"entries\":5,\"more\":{\"entries\":[1]}}", 0);
        assert_streams("{\"entries\":{\"a\":[]}}", 0);
        assert_streams("{\"s\":\"]},[{\\\"\"}", 0);
}

static void test_malformed(void **state) {
        static const char *const bad[] = {
                "",
                "   ",
                "[]",
                "\"s\"",
                "{",
                "{\"a\"}",
                "{\"a\" 1}",
                "{\"a\":}",
                "{\"a\":1,}",
                "{\"a\":1 \"b\":2}",
                "{a:1}",
                "{\"a\":tru}",
                "{\"a\":\"unterminated}",
                "{\"a\":[1,2}",
                "{\"entries\":[1,]}",
                "{\"entries\":[1 2]}",
                "{\"entries\":[{\"a\":1]}",
                "{\"entries\":[",
                "{\"entries\":[1",
                "{\"a\":1} x",
                "{\"a\":1}{}",
                "{\"a\":\"\\u0000\"}",
                "{\"a\":\"\x01\"}",
                "{\"a\":\"\xff\"}",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(json_decrefp) json_t *obj = json_object();
                _cleanup_(freep) char *error = NULL;
                struct events e = { .obj = obj, .pretty.f = fopen("/dev/null", "w") };

                assert_non_null(e.pretty.f);
                assert_int_equal(natgw_json_stream_object(bad[i], strlen(bad[i]), "entries", on_event, &e, &error),
                                 -EBADMSG);
                assert_int_equal(fclose(e.pretty.f), 0);
                /* Says where: the byte, and how many there were. */
                assert_non_null(error);
                assert_non_null(strstr(error, " at byte "));
                /* jansson refuses it too. */
                json_decref(obj);
                obj = json_loads(bad[i], 0, NULL);
                assert_false(obj && json_is_object(obj));
        }
        /* A NUL inside the text is no end of it. */
        {
                _cleanup_(json_decrefp) json_t *obj = json_object();
                _cleanup_(freep) char *error = NULL;
                struct events e = { .obj = obj, .pretty.f = fopen("/dev/null", "w") };

                assert_int_equal(natgw_json_stream_object("{}\0{}", 5, "entries", on_event, &e, &error), -EBADMSG);
                assert_int_equal(fclose(e.pretty.f), 0);
        }
}

/* The callback's error stops the walk there and is what it returns. */
static void test_callback_stops(void **state) {
        const char *text = "{\"a\":1,\"entries\":[1,2,3],\"b\":2}";

        for (int at = 1; at <= 7; at++) {
                _cleanup_(json_decrefp) json_t *obj = json_object();
                struct events e = { .obj = obj, .fail_at = at, .pretty.f = fopen("/dev/null", "w") };

                assert_int_equal(natgw_json_stream_object(text, strlen(text), "entries", on_event, &e, NULL), -EIO);
                assert_int_equal(e.n, at);
                assert_int_equal(fclose(e.pretty.f), 0);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_show_reply),
                cmocka_unit_test(test_values),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_callback_stops),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

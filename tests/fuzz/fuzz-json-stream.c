/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * natgwctl's reader of show's reply (ctl-json-stream.h) on arbitrary bytes: it reads exactly the
 * texts jansson reads as one object (but none with a NUL byte), and what its events rebuild is
 * that object; its pretty writer writes what json_dumps() writes.
 */

#include <stdio.h>

#include "ctl-json-stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rebuild {
        json_t *obj, *array;
        size_t n_members;
        struct natgw_json_pretty pretty;
};

static int event(enum natgw_json_event ev, const char *key, json_t *value, void *userdata) {
        struct rebuild *b = userdata;

        switch (ev) {
        case NATGW_JSON_MEMBER:
                json_object_set(b->obj, key, value);
                b->n_members++;
                break;
        case NATGW_JSON_ARRAY_BEGIN:
                b->n_members++;
                b->array = json_array();
                json_object_set_new(b->obj, key, b->array);
                break;
        case NATGW_JSON_ELEMENT:
                json_array_append(b->array, value);
                break;
        case NATGW_JSON_ARRAY_END:
                break;
        }
        return natgw_json_pretty_event(&b->pretty, ev, key, value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(json_decrefp) json_t *whole = NULL, *obj = json_object();
        _cleanup_(freep) char *error = NULL, *out = NULL, *want = NULL;
        struct rebuild b = { .obj = obj };
        json_error_t err;
        size_t out_len = 0;
        int r;

        b.pretty.f = open_memstream(&out, &out_len);
        if (!obj || !b.pretty.f)
                abort();
        r = natgw_json_stream_object((const char *)data, size, "entries", event, &b, &error);
        if (natgw_json_pretty_end(&b.pretty) < 0 || fclose(b.pretty.f) != 0)
                abort();
        whole = json_loadb((const char *)data, size, 0, &err);
        /* The walker parses each member's value on its own, one level less deep. */
        if (!whole && json_error_code(&err) == json_error_stack_overflow)
                return 0;
        if (r == -EBADMSG) {
                /* Refused: so does jansson (a text that is one object, it reads whole), except a
                 * text with a NUL byte, which the walker always refuses. */
                if (!error || (whole && json_is_object(whole) && !memchr(data, '\0', size)))
                        abort();
                return 0;
        }
        if (r < 0)
                return 0;
        if (!whole || !json_is_object(whole) || !json_equal(whole, obj))
                abort();
        /* A name given twice: the object keeps the last, the writer writes both (natgwd never
         * sends one twice). */
        if (b.n_members != json_object_size(whole))
                return 0;
        want = json_dumps(whole, NATGW_JSON_PRETTY_FLAGS);
        if (!want || strlen(want) + 1 != out_len || memcmp(want, out, out_len - 1) != 0 || out[out_len - 1] != '\n')
                abort();
        return 0;
}

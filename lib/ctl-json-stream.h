/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/* A JSON object read a member at a time, one array member of it an element at a time: natgwctl
 * reads `show` of 50,000 entries (16 MB of text) without holding them as one tree (130 MB). */

#include <stdio.h>

#include <jansson.h>

enum natgw_json_event {
        NATGW_JSON_MEMBER,      /* @key and its @value */
        NATGW_JSON_ARRAY_BEGIN, /* the streamed member @key: its elements follow */
        NATGW_JSON_ELEMENT,     /* one element (@value) of it */
        NATGW_JSON_ARRAY_END,   /* its end */
};

/* @value is borrowed: take a reference to keep it. A negative return stops the walk with it. */
typedef int (*natgw_json_stream_cb)(enum natgw_json_event ev, const char *key, json_t *value, void *userdata);

/**
 * natgw_json_stream_object() - walk the members of the JSON object in @text
 * @text, @len:   the text: one object, maybe followed by white space
 * @array_key:    the member whose value, when it is an array, is passed an element at a time
 * @cb:           called for each member, in the text's order
 * @userdata:     passed to @cb
 * @ret_error:    on malformed text, what is wrong and where (caller frees); may be NULL
 *
 * Return: 0; -EBADMSG when @text is not one JSON object, or holds a NUL byte (events may
 * have been sent for its first part); -ENOMEM; what @cb returned when it was negative.
 */
int natgw_json_stream_object(const char *text, size_t len, const char *array_key, natgw_json_stream_cb cb,
                             void *userdata, char **ret_error);

/* Writes to @f, event by event, exactly what json_dumps(object, NATGW_JSON_PRETTY_FLAGS) of the
 * whole object writes, and a newline. */
#define NATGW_JSON_PRETTY_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9))

struct natgw_json_pretty {
        FILE *f;
        size_t n_members;
        size_t n_elements;
};

int natgw_json_pretty_event(struct natgw_json_pretty *p, enum natgw_json_event ev, const char *key, json_t *value);
int natgw_json_pretty_end(struct natgw_json_pretty *p);

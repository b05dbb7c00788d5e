/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-json-stream.h"

struct walk {
        const char *text;
        size_t len, pos;
        char **ret_error;
};

static int fail(struct walk *w, const char *what) {
        if (w->ret_error && !*w->ret_error &&
            asprintf(w->ret_error, "%s at byte %zu of %zu", what, w->pos, w->len) < 0)
                *w->ret_error = NULL;
        return -EBADMSG;
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void skip_space(struct walk *w) {
        while (w->pos < w->len && is_space(w->text[w->pos]))
                w->pos++;
}

static bool at(struct walk *w, char c) {
        skip_space(w);
        return w->pos < w->len && w->text[w->pos] == c;
}

/* The extent of the value at w->pos: a string to its closing quote, a scalar to what ends it.
 * Objects and arrays are measured by the parser itself (value_next()). */
static size_t scalar_end(const struct walk *w) {
        size_t i = w->pos;

        if (w->text[i] == '"') {
                for (i++; i < w->len && w->text[i] != '"'; i++)
                        if (w->text[i] == '\\')
                                i++;
                return i < w->len ? i + 1 : w->len;
        }
        while (i < w->len && !is_space(w->text[i]) && w->text[i] != ',' && w->text[i] != ']' && w->text[i] != '}')
                i++;
        return i;
}

/* The value at w->pos, parsed, and w->pos after it. */
static int value_next(struct walk *w, json_t **ret) {
        json_error_t err;
        json_t *v;

        skip_space(w);
        if (w->pos >= w->len)
                return fail(w, "a value expected");
        if (w->text[w->pos] == '{' || w->text[w->pos] == '[') {
                /* Stops after the closing bracket; err.position is how far it read. */
                v = json_loadb(w->text + w->pos, w->len - w->pos, JSON_DISABLE_EOF_CHECK, &err);
                if (!v) {
                        w->pos += (size_t)err.position;
                        return fail(w, err.text);
                }
                w->pos += (size_t)err.position;
        } else {
                size_t end = scalar_end(w);

                v = json_loadb(w->text + w->pos, end - w->pos, JSON_DECODE_ANY, &err);
                if (!v)
                        return fail(w, err.text);
                w->pos = end;
        }
        *ret = v;
        return 0;
}

static int member_key(struct walk *w, char **ret) {
        _cleanup_(json_decrefp) json_t *k = NULL;
        int r;

        if (!at(w, '"'))
                return fail(w, "a member name expected");
        r = value_next(w, &k);
        if (r < 0)
                return r;
        if (!at(w, ':'))
                return fail(w, "':' expected");
        w->pos++;
        *ret = strdup(json_string_value(k));
        return *ret ? 0 : -ENOMEM;
}

static int stream_array(struct walk *w, const char *key, natgw_json_stream_cb cb, void *userdata) {
        int r;

        w->pos++;
        r = cb(NATGW_JSON_ARRAY_BEGIN, key, NULL, userdata);
        if (r < 0)
                return r;
        if (at(w, ']')) {
                w->pos++;
                return cb(NATGW_JSON_ARRAY_END, key, NULL, userdata);
        }
        for (;;) {
                _cleanup_(json_decrefp) json_t *v = NULL;

                r = value_next(w, &v);
                if (r < 0)
                        return r;
                r = cb(NATGW_JSON_ELEMENT, key, v, userdata);
                if (r < 0)
                        return r;
                if (at(w, ']')) {
                        w->pos++;
                        return cb(NATGW_JSON_ARRAY_END, key, NULL, userdata);
                }
                if (!at(w, ','))
                        return fail(w, "',' or ']' expected");
                w->pos++;
        }
}

int natgw_json_stream_object(const char *text, size_t len, const char *array_key, natgw_json_stream_cb cb,
                             void *userdata, char **ret_error) {
        struct walk w = { .text = text, .len = len, .ret_error = ret_error };
        const char *nul = memchr(text, '\0', len);
        int r;

        /* No JSON text holds one; jansson skips one after a literal ("null\0,") and miscounts
         * where a value ended after it. */
        if (nul) {
                w.pos = (size_t)(nul - text);
                return fail(&w, "a NUL byte");
        }
        if (!at(&w, '{'))
                return fail(&w, "'{' expected");
        w.pos++;
        if (!at(&w, '}')) {
                for (;;) {
                        _cleanup_(freep) char *key = NULL;

                        r = member_key(&w, &key);
                        if (r < 0)
                                return r;
                        if (streq(key, array_key) && at(&w, '[')) {
                                r = stream_array(&w, key, cb, userdata);
                        } else {
                                _cleanup_(json_decrefp) json_t *v = NULL;

                                r = value_next(&w, &v);
                                if (r >= 0)
                                        r = cb(NATGW_JSON_MEMBER, key, v, userdata);
                        }
                        if (r < 0)
                                return r;
                        if (at(&w, '}'))
                                break;
                        if (!at(&w, ','))
                                return fail(&w, "',' or '}' expected");
                        w.pos++;
                }
        }
        w.pos++;
        skip_space(&w);
        if (w.pos != w.len)
                return fail(&w, "text after the object");
        return 0;
}

/* @v as json_dumps() writes it @depth levels deep: every line after its first indented by
 * 2 * @depth more. Strings never hold a raw newline (JSON escapes it). */
static int put_value(FILE *f, const json_t *v, unsigned depth) {
        _cleanup_(freep) char *s = json_dumps(v, NATGW_JSON_PRETTY_FLAGS | JSON_ENCODE_ANY);

        if (!s)
                return -ENOMEM;
        for (const char *p = s, *nl; *p; p = nl + 1) {
                nl = strchr(p, '\n');
                if (!nl) {
                        fputs(p, f);
                        break;
                }
                fprintf(f, "%.*s\n%*s", (int)(nl - p), p, (int)(2 * depth), "");
        }
        return 0;
}

static int put_key(struct natgw_json_pretty *p, const char *key) {
        _cleanup_(json_decrefp) json_t *k = json_string(key);

        if (!k)
                return -ENOMEM;
        fputs(p->n_members++ > 0 ? ",\n  " : "{\n  ", p->f);
        if (put_value(p->f, k, 1) < 0)
                return -ENOMEM;
        fputs(": ", p->f);
        return 0;
}

int natgw_json_pretty_event(struct natgw_json_pretty *p, enum natgw_json_event ev, const char *key, json_t *value) {
        int r = 0;

        switch (ev) {
        case NATGW_JSON_MEMBER:
                r = put_key(p, key);
                if (r >= 0)
                        r = put_value(p->f, value, 1);
                break;
        case NATGW_JSON_ARRAY_BEGIN:
                r = put_key(p, key);
                if (r >= 0)
                        fputc('[', p->f);
                p->n_elements = 0;
                break;
        case NATGW_JSON_ELEMENT:
                fputs(p->n_elements++ > 0 ? ",\n    " : "\n    ", p->f);
                r = put_value(p->f, value, 2);
                break;
        case NATGW_JSON_ARRAY_END:
                if (p->n_elements > 0)
                        fputs("\n  ", p->f);
                fputc(']', p->f);
                break;
        }
        return r;
}

int natgw_json_pretty_end(struct natgw_json_pretty *p) {
        fputs(p->n_members > 0 ? "\n}\n" : "{}\n", p->f);
        return ferror(p->f) ? -EIO : 0;
}

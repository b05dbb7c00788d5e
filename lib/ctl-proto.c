/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control protocol's encoding: requests in, replies out, errors both ways. No I/O here, so
 * the decoder can be tested and fuzzed on its own.
 */

#include <stdarg.h>

#include "ctl-proto.h"

static const char *const command_names[_NATGW_CTL_COMMAND_MAX] = {
        [NATGW_CTL_RELOAD] = "reload",
        [NATGW_CTL_STATUS] = "status",
        [NATGW_CTL_SHOW] = "show",
        [NATGW_CTL_CHECK] = "check",
        [NATGW_CTL_CONNTRACK] = "conntrack",
        [NATGW_CTL_TRACE] = "trace",
        [NATGW_CTL_HOSTS] = "hosts",
        [NATGW_CTL_HA] = "ha",
        [NATGW_CTL_METRICS] = "metrics",
};

const char *natgw_ctl_command_to_string(enum natgw_ctl_command c) {
        if ((unsigned)c >= _NATGW_CTL_COMMAND_MAX)
                return NULL;
        return command_names[c];
}

int natgw_ctl_command_from_string(const char *s) {
        for (int i = 0; i < _NATGW_CTL_COMMAND_MAX; i++)
                if (streq(command_names[i], s))
                        return i;
        return -EINVAL;
}

static int parse_error(char **ret_error, const char *fmt, ...) _printf_(2, 3);
static int parse_error(char **ret_error, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(ret_error, fmt, ap);
        va_end(ap);
        if (r < 0) {
                *ret_error = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

/*
 * How many bytes of @s to echo: at most ECHO_MAX, ending at a character boundary. The reply is
 * JSON, which jansson builds only from valid UTF-8: half a character would turn it into
 * "out of memory". @s is valid UTF-8 (jansson checked the request), so backing up over
 * continuation bytes lands on the start of the character that would be cut.
 */
#define ECHO_MAX 32
static int echo_len(const char *s) {
        size_t n = strnlen(s, ECHO_MAX);

        if (n == ECHO_MAX)
                while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
                        n--;
        return (int)n;
}

int natgw_ctl_request_parse(const char *buf, size_t len, struct natgw_ctl_request *ret, char **ret_error) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        struct natgw_ctl_request req = { .top = NATGW_CTL_TOP_DEFAULT };
        const char *key, *name = NULL;
        json_error_t err;
        json_t *v;
        int c;

        if (len > NATGW_CTL_REQUEST_MAX)
                return parse_error(ret_error, "request too large (%zu bytes, at most %u)", len,
                                   NATGW_CTL_REQUEST_MAX);
        j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
        if (!j)
                return parse_error(ret_error, "malformed request: %s (at byte %d)", err.text, err.position);
        if (!json_is_object(j))
                return parse_error(ret_error, "malformed request: a JSON object is expected");

        json_object_foreach(j, key, v) {
                if (streq(key, "command")) {
                        name = json_string_value(v);
                        if (!name)
                                return parse_error(ret_error, "malformed request: \"command\" must be a string");
                } else if (streq(key, "top")) {
                        json_int_t n;

                        if (!json_is_integer(v))
                                return parse_error(ret_error, "malformed request: \"top\" must be an integer");
                        n = json_integer_value(v);
                        if (n < 1 || n > NATGW_CTL_TOP_MAX)
                                return parse_error(ret_error, "\"top\" must be between 1 and %d", NATGW_CTL_TOP_MAX);
                        req.top = (unsigned)n;
                } else if (streq(key, "kernel")) {
                        if (!json_is_boolean(v))
                                return parse_error(ret_error, "malformed request: \"kernel\" must be a boolean");
                        req.kernel = json_is_true(v);
                } else if (streq(key, "config")) {
                        const char *path = json_string_value(v);

                        if (!path)
                                return parse_error(ret_error, "malformed request: \"config\" must be a string");
                        /* natgwd's working directory means nothing to the client. */
                        /* (A NUL inside is refused by the JSON parser already.) */
                        if (path[0] != '/' || json_string_length(v) >= sizeof(req.config))
                                return parse_error(ret_error, "\"config\" must be an absolute path");
                        memcpy(req.config, path, json_string_length(v) + 1);
                } else if (streq(key, "entry")) {
                        const char *e = json_string_value(v);

                        if (!e || !e[0] || strlen(e) >= sizeof(req.entry))
                                return parse_error(ret_error, "\"entry\" must be a name of 1 to %d bytes",
                                                   NATGW_CTL_ENTRY_MAX - 1);
                        snprintf(req.entry, sizeof(req.entry), "%s", e);
                } else if (streq(key, "seconds")) {
                        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                            json_integer_value(v) > NATGW_CTL_TRACE_MAX)
                                return parse_error(ret_error, "\"seconds\" must be an integer from 0 to %d",
                                                   NATGW_CTL_TRACE_MAX);
                        req.seconds = (unsigned)json_integer_value(v);
                } else if (natgw_ctl_ha_key(key)) {
                        c = natgw_ctl_parse_ha_key(key, v, &req, ret_error);
                        if (c < 0)
                                return c;
                } else
                        /* Keys are ASCII names; do not echo arbitrary bytes back at length. */
                        return parse_error(ret_error, "unknown key \"%.*s\" in request", echo_len(key), key);
        }
        if (!name)
                return parse_error(ret_error, "malformed request: no \"command\"");
        c = natgw_ctl_command_from_string(name);
        if (c < 0)
                return parse_error(ret_error, "unknown command \"%.*s\"", echo_len(name), name);
        req.command = c;
        if (req.config[0] && !req.kernel)
                return parse_error(ret_error, "\"config\" goes only with \"kernel\": true");
        if (req.kernel && c != NATGW_CTL_CHECK)
                return parse_error(ret_error, "\"kernel\" goes only with the command \"check\"");
        if (req.command == NATGW_CTL_TRACE && !req.entry[0])
                return parse_error(ret_error, "trace needs \"entry\"");
        if ((req.command == NATGW_CTL_HA) != (req.ha.role != 0))
                return parse_error(ret_error, "\"role\" goes with the command \"ha\", which needs it");
        *ret = req;
        return 0;
}

char *natgw_ctl_request_format(const struct natgw_ctl_request *req) {
        _cleanup_(json_decrefp) json_t *j = json_pack("{s:s}", "command", natgw_ctl_command_to_string(req->command));

        if (!j || (req->command == NATGW_CTL_CONNTRACK && json_object_set_new(j, "top", json_integer(req->top)) < 0) ||
            (req->kernel && json_object_set_new(j, "kernel", json_true()) < 0) ||
            (req->config[0] && json_object_set_new(j, "config", json_string(req->config)) < 0))
                return NULL;
        if (req->command == NATGW_CTL_TRACE &&
            (json_object_set_new(j, "entry", json_string(req->entry)) < 0 ||
             json_object_set_new(j, "seconds", json_integer(req->seconds)) < 0))
                return NULL;
        if (req->command == NATGW_CTL_SHOW && req->entry[0] && json_object_set_new(j, "entry", json_string(req->entry)) < 0)
                return NULL;
        if (req->command == NATGW_CTL_HA && natgw_ctl_format_ha(req, j) < 0)
                return NULL;
        /* A request is a line like a reply. */
        return natgw_ctl_reply_format(j, NULL);
}

json_t *natgw_ctl_reply_error(const char *fmt, ...) {
        _cleanup_(freep) char *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return NULL;
        return json_pack("{s:b,s:s}", "ok", 0, "error", msg);
}

json_t *natgw_ctl_errors_to_json(const struct natgw_errors *errors) {
        _cleanup_(json_decrefp) json_t *a = json_array();

        if (!a)
                return NULL;
        for (size_t i = 0; i < errors->n; i++) {
                const struct natgw_error *e = &errors->v[i];
                _cleanup_(freep) char *text = natgw_error_format(e);
                json_t *o;

                if (!text)
                        return NULL;
                o = json_pack("{s:s,s:s?,s:I,s:s?,s:s,s:s}", "severity", natgw_severity_to_string(e->severity),
                              "file", e->file, "line", (json_int_t)e->line, "entry", e->entry, "message",
                              e->message, "text", text);
                if (!o || json_array_append_new(a, o) < 0)
                        return NULL;
        }
        return TAKE_PTR(a);
}

char *natgw_ctl_reply_format(const json_t *reply, size_t *ret_len) {
        _cleanup_(freep) char *s = NULL;
        size_t n;
        char *line;

        s = json_dumps(reply, NATGW_CTL_JSON_FLAGS);
        if (!s)
                return NULL;
        n = strlen(s);
        line = realloc(s, n + 2);
        if (!line)
                return NULL;
        s = NULL;
        line[n] = '\n';
        line[n + 1] = '\0';
        if (ret_len)
                *ret_len = n + 1;
        return line;
}

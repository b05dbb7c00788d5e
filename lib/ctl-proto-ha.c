/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "ha" request: `natgwctl ha ROLE` tells natgwd the transition keepalived made and how the
 * conntrackd sequence went (docs/PROTOCOL.md). Decoded like every request: untrusted input.
 */

#include <stdarg.h>

#include "ctl-proto.h"
#include "util-ha.h"

static const char *const ha_keys[] = { "role", "result", "usec", "failed", "conntrackd", "partial", NULL };

bool natgw_ctl_ha_key(const char *key) {
        for (size_t i = 0; ha_keys[i]; i++)
                if (streq(key, ha_keys[i]))
                        return true;
        return false;
}

static int ha_error(char **ret_error, const char *msg) {
        *ret_error = strdup(msg);
        return *ret_error ? -EINVAL : -ENOMEM;
}

int natgw_ctl_parse_ha_key(const char *key, json_t *v, struct natgw_ctl_request *req, char **ret_error) {
        const char *s = json_string_value(v);

        if (streq(key, "role")) {
                int r = s ? natgw_ha_role_from_string(s) : -EINVAL;

                if (r < 0)
                        return ha_error(ret_error, "\"role\" must be \"master\", \"backup\" or \"fault\"");
                req->ha.role = r;
        } else if (streq(key, "result") || streq(key, "partial")) {
                if (!json_is_boolean(v))
                        return ha_error(ret_error, streq(key, "result") ? "malformed request: \"result\" must be a boolean"
                                                                        : "malformed request: \"partial\" must be a boolean");
                *(streq(key, "result") ? &req->ha.result : &req->ha.partial) = json_is_true(v);
        } else if (streq(key, "usec")) {
                if (!json_is_integer(v) || json_integer_value(v) < 0)
                        return ha_error(ret_error, "\"usec\" must be an integer of 0 or more");
                req->ha.usec = (uint64_t)json_integer_value(v);
        } else if (streq(key, "failed")) {
                if (!s || json_string_length(v) >= sizeof(req->ha.failed))
                        return ha_error(ret_error, "\"failed\" must be a conntrackd option such as \"-c\"");
                memcpy(req->ha.failed, s, json_string_length(v) + 1);
        } else {
                if (!s || s[0] != '/' || json_string_length(v) >= sizeof(req->ha.conntrackd))
                        return ha_error(ret_error, "\"conntrackd\" must be an absolute path");
                memcpy(req->ha.conntrackd, s, json_string_length(v) + 1);
        }
        return 0;
}

int natgw_ctl_format_ha(const struct natgw_ctl_request *req, json_t *j) {
        if (json_object_set_new(j, "role", json_string(natgw_ha_role_to_string(req->ha.role))) < 0 ||
            json_object_set_new(j, "result", json_boolean(req->ha.result)) < 0 ||
            json_object_set_new(j, "usec", json_integer((json_int_t)req->ha.usec)) < 0 ||
            (req->ha.failed[0] && json_object_set_new(j, "failed", json_string(req->ha.failed)) < 0) ||
            (req->ha.partial && json_object_set_new(j, "partial", json_true()) < 0) ||
            (req->ha.conntrackd[0] && json_object_set_new(j, "conntrackd", json_string(req->ha.conntrackd)) < 0))
                return -ENOMEM;
        return 0;
}

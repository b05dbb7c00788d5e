/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/* natgwctl's end of the control socket. */

#include <jansson.h>

#include "ctl-json-stream.h"
#include "ctl-proto.h"

/**
 * natgw_ctl_call() - send one request to natgwd and wait for its reply
 * @path:          the control socket
 * @req:           the request
 * @timeout_usec:  how long to wait for the whole exchange
 * @ret_reply:     the reply, a JSON object (caller drops it with json_decref())
 * @ret_error:     on a malformed reply, what was wrong (caller frees); may be NULL
 *
 * Return: 0; -ENOENT, -ECONNREFUSED, -EACCES...: natgwd is not reachable at @path;
 * -ETIMEDOUT; -EBADMSG when the reply is not a JSON object; -ENOMEM.
 */
int natgw_ctl_call(const char *path, const struct natgw_ctl_request *req, uint64_t timeout_usec,
                   json_t **ret_reply, char **ret_error);

/**
 * natgw_ctl_call_text() - natgw_ctl_call(), the reply as natgwd sent it
 * @ret_text, @ret_len:  the reply's text, NUL-terminated (caller frees), not yet checked
 *
 * Return: as natgw_ctl_call(); -EBADMSG only when natgwd sent nothing.
 */
int natgw_ctl_call_text(const char *path, const struct natgw_ctl_request *req, uint64_t timeout_usec,
                        char **ret_text, size_t *ret_len, char **ret_error);

/**
 * natgw_ctl_call_stream() - natgw_ctl_call(), the reply read a member at a time
 * @array_key, @cb, @userdata:  as natgw_json_stream_object(): @cb sees each member, and each
 *                              element of @array_key's array, as it is read
 *
 * Return: as natgw_ctl_call() (-EBADMSG also when the reply holds no boolean "ok", found only
 * once every member was passed to @cb); what @cb returned when it was negative.
 */
int natgw_ctl_call_stream(const char *path, const struct natgw_ctl_request *req, uint64_t timeout_usec,
                          const char *array_key, natgw_json_stream_cb cb, void *userdata, char **ret_error);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * The control protocol between natgwctl and natgwd (docs/PROTOCOL.md).
 *
 * A stream connection on a Unix socket carries one request and one reply, each a single JSON
 * object on one line (no newline inside, a newline after it); the daemon closes the connection
 * after its reply. A request may also end at the client's end of writing (shutdown(SHUT_WR))
 * instead of a newline. Requests are at most NATGW_CTL_REQUEST_MAX bytes.
 *
 *   request: {"command": "reload"|"status"|"show"|"check"|"conntrack"[, "top": N]}
 *            {"command": "check", "kernel": true[, "config": "/ABSOLUTE/PATH"]}
 *            {"command": "trace", "entry": NAME, "seconds": N}  (diagnose --watch; 0 ends it)
 *            {"command": "hosts"}  (natgwctl top)
 *            {"command": "ha", "role": "master"|"backup"|"fault", "result": BOOL, "usec": N
 *             [, "failed": "-c"][, "conntrackd": "/ABSOLUTE/SOCKET"][, "partial": true]}
 *            (natgwctl ha, docs/HA.md)
 *            {"command": "metrics"}  (reply: {"ok": true, "text": the Prometheus exposition})
 *   reply:   {"ok": true, ...what the command returns...}
 *            {"ok": false, "error": "one line", "errors": [ {"severity", "file", "line", "entry", "message"} ]}
 */

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>

#include "diag.h"

#define NATGW_CTL_SOCKET_DEFAULT "/run/natgwd/control.sock"
#define NATGW_CTL_REQUEST_MAX (64u * 1024u)
#define NATGW_CTL_TOP_DEFAULT 10
#define NATGW_CTL_TOP_MAX 1000
#define NATGW_CTL_TRACE_MAX 3600 /* seconds a trace rule may stay */
#define NATGW_CTL_ENTRY_MAX 256  /* an entry's name, with its NUL */

enum natgw_ctl_command {
        NATGW_CTL_RELOAD,
        NATGW_CTL_STATUS,
        NATGW_CTL_SHOW,
        NATGW_CTL_CHECK,
        NATGW_CTL_CONNTRACK,
        NATGW_CTL_TRACE,
        NATGW_CTL_HOSTS, /* metrics.hosts: each inside host's traffic and connections */
        NATGW_CTL_HA,
        NATGW_CTL_METRICS,
        _NATGW_CTL_COMMAND_MAX,
};

struct natgw_ctl_request {
        enum natgw_ctl_command command;
        unsigned top; /* NATGW_CTL_CONNTRACK: how many top sources / destinations */
        bool kernel;  /* NATGW_CTL_CHECK: the kernel checks the batch a reload would send */
        char config[PATH_MAX]; /* NATGW_CTL_CHECK with kernel: the file, absolute; "": natgwd's own */
        char entry[NATGW_CTL_ENTRY_MAX]; /* NATGW_CTL_TRACE: the forward whose traffic to trace */
        unsigned seconds;                 /* NATGW_CTL_TRACE: how long at most; 0 removes the trace */
        struct {                          /* NATGW_CTL_HA: a transition natgwctl ha ran */
                int role;                 /* enum natgw_ha_role (ct-sync.h); 0: none given */
                bool result;              /* every conntrackd step worked */
                bool partial;             /* master: sent right after the commit, before the rest */
                uint64_t usec;            /* how long the steps took */
                char failed[8];           /* the option of the first step that failed, or "" */
                char conntrackd[PATH_MAX]; /* conntrackd's control socket, absolute, or "" */
        } ha;
};

/* "reload", ... or NULL for a value out of range. */
const char *natgw_ctl_command_to_string(enum natgw_ctl_command c);
/* The command named @s, or -EINVAL. */
int natgw_ctl_command_from_string(const char *s);

/**
 * natgw_ctl_request_parse() - decode one request as it came off the socket
 * @buf:       the bytes of the request, not NUL-terminated, without the final newline
 * @len:       their number
 * @ret:       the request, filled only on success
 * @ret_error: on -EINVAL, a message for the client saying what is wrong (caller frees)
 *
 * Anything may arrive here: the input is untrusted and its size is the caller's bound.
 * Return: 0; -EINVAL for a malformed request (@ret_error says why); -ENOMEM.
 */
int natgw_ctl_request_parse(const char *buf, size_t len, struct natgw_ctl_request *ret, char **ret_error);

/* The request as the line natgwctl sends (with its newline); NULL when out of memory. */
char *natgw_ctl_request_format(const struct natgw_ctl_request *req);

/* {"ok": false, "error": @fmt...}; NULL when out of memory. */
json_t *natgw_ctl_reply_error(const char *fmt, ...) _printf_(1, 2);

/* A JSON array of @errors: [{"severity", "file", "line", "entry", "message", "text"}]; NULL: no memory. */
json_t *natgw_ctl_errors_to_json(const struct natgw_errors *errors);

/* How a reply is written: one line, numbers with 9 significant digits. */
#define NATGW_CTL_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(9))

/* The reply as the line the daemon sends (with its newline); NULL when out of memory. */
char *natgw_ctl_reply_format(const json_t *reply, size_t *ret_len);

/* jansson (>= 2.11) provides json_decrefp() for _cleanup_. */

/* The keys of the "ha" command (ctl-proto-ha.c): whether @key is one, and its parse into
 * @req->ha (0, or -EINVAL with *ret_error set, or -ENOMEM). */
bool natgw_ctl_ha_key(const char *key);
int natgw_ctl_parse_ha_key(const char *key, json_t *v, struct natgw_ctl_request *req, char **ret_error);
/* Add @req->ha's keys to the request object @j. 0 or -ENOMEM. */
int natgw_ctl_format_ha(const struct natgw_ctl_request *req, json_t *j);

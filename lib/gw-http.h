/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * The smallest HTTP server that serves a Prometheus scrape: on listening sockets someone else
 * opened (systemd's natgwd-metrics.socket), one request per connection, GET or HEAD of one
 * path, the answer, close. natgwd itself opens no IP socket.
 *
 * Bounded and never blocking the loop: sockets are non-blocking; a request (line and headers)
 * is at most NATGW_HTTP_REQUEST_MAX bytes and must arrive, and its answer be taken, within
 * NATGW_HTTP_TIMEOUT_USEC each; at most NATGW_HTTP_CLIENTS_MAX connections are open, more are
 * closed at once. Other paths get 404, other methods 405, anything unparsable 400.
 */

#include <systemd/sd-event.h>

#define NATGW_HTTP_REQUEST_MAX 8192u
#define NATGW_HTTP_TIMEOUT_USEC (10u * 1000000u)
#define NATGW_HTTP_CLIENTS_MAX 16
#define NATGW_HTTP_LISTEN_MAX 8

enum natgw_http_verdict {
        NATGW_HTTP_INCOMPLETE, /* more bytes needed */
        NATGW_HTTP_OK,         /* GET or HEAD of the served path */
        NATGW_HTTP_BAD,        /* 400 */
        NATGW_HTTP_NOT_FOUND,  /* 404 */
        NATGW_HTTP_METHOD,     /* 405 */
        NATGW_HTTP_TOO_LARGE,  /* 431: the request did not end within NATGW_HTTP_REQUEST_MAX */
};

/**
 * natgw_http_request_parse() - judge the bytes of a request received so far
 * @buf:      the bytes (not NUL-terminated; anything may be in them)
 * @len:      their number
 * @path:     the one path served ("/metrics"); a query string after it is ignored
 * @ret_head: set for a HEAD request (may be NULL)
 *
 * Pure. A request is complete at its empty line (CRLF CRLF, or LF LF); its line is
 * METHOD SP TARGET SP HTTP/1.x.
 * Return: the verdict.
 */
enum natgw_http_verdict natgw_http_request_parse(const char *buf, size_t len, const char *path, bool *ret_head);

/**
 * natgw_http_response() - the whole answer to a request
 * @v:          the request's verdict (not NATGW_HTTP_INCOMPLETE)
 * @head:       HEAD: the headers only
 * @type:       Content-Type of @body
 * @body:       the body for NATGW_HTTP_OK (NULL: 500)
 * @body_len:   its length
 * @ret:        the bytes to send (caller frees)
 * @ret_len:    their number
 *
 * Return: 0 or -ENOMEM.
 */
int natgw_http_response(enum natgw_http_verdict v, bool head, const char *type, const char *body, size_t body_len,
                        char **ret, size_t *ret_len);

struct natgw_http_stats {
        uint64_t accepted, served, refused_busy, bad, not_found, bad_method, timed_out, failed;
};

/* Renders the body for a GET of the path: 0 and *ret_body (caller frees), or -errno (500). */
typedef int (*natgw_http_handler_t)(char **ret_body, size_t *ret_len, void *userdata);

struct natgw_http_server;

/**
 * natgw_http_server_new() - serve @path on listening stream sockets
 * @event:    the loop
 * @fds:      listening sockets, taken over (closed by natgw_http_server_free(), or here on failure)
 * @n_fds:    their number, at most NATGW_HTTP_LISTEN_MAX
 * @path:     the path served ("/metrics"), kept by reference
 * @type:     the body's Content-Type, kept by reference
 * @handler:  makes the body
 * @userdata: passed to @handler
 * @ret:      the server
 *
 * Return: 0 or -errno (-ENOTSOCK: an fd is not a listening stream socket).
 */
int natgw_http_server_new(sd_event *event, const int *fds, size_t n_fds, const char *path, const char *type,
                          natgw_http_handler_t handler, void *userdata, struct natgw_http_server **ret);
struct natgw_http_server *natgw_http_server_free(struct natgw_http_server *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct natgw_http_server *, natgw_http_server_free);

const struct natgw_http_stats *natgw_http_server_get_stats(const struct natgw_http_server *s);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * natgwd's end of the control socket, on its sd-event loop. Only root may talk to it
 * (SO_PEERCRED). Every connection carries one request and gets one reply; a client that sends
 * too much, too slowly, or garbage gets an error reply or is dropped, and never blocks the
 * loop: sockets are non-blocking and every connection has a deadline.
 *
 * Requests are handled one at a time, in the loop's own thread: a reload that arrives while
 * another runs waits until it is done and then runs (they are serialized by construction).
 */

#include <jansson.h>
#include <systemd/sd-event.h>

#include "ctl-proto.h"

#define NATGW_CTL_CLIENTS_MAX 64      /* connections open at once; more are refused at once */
#define NATGW_CTL_CLIENT_TIMEOUT_USEC (5u * 1000000u) /* per connection, request and reply */

struct natgw_ctl_server;

/* A reply written by the handler itself, as natgw_ctl_reply_format() writes one (a JSON object and
 * a newline): for replies too big to build as one JSON tree (show). */
struct natgw_ctl_line {
        char *s;
        size_t len;
};

/*
 * Handles one request: fills @ret_reply (a JSON object with "ok"), or @ret_line, and returns 0,
 * or returns -errno (the client then gets a generic error reply).
 */
typedef int (*natgw_ctl_handler_t)(const struct natgw_ctl_request *req, json_t **ret_reply,
                                   struct natgw_ctl_line *ret_line, void *userdata);

struct natgw_ctl_server_stats {
        uint64_t accepted;
        uint64_t refused_busy;  /* over NATGW_CTL_CLIENTS_MAX */
        uint64_t refused_creds; /* not root */
        uint64_t malformed;     /* error replies to bad requests */
        uint64_t timed_out;
        uint64_t handled;
        uint64_t accept_paused; /* accept() out of descriptors (EMFILE...): listening paused 100 ms */
};

/**
 * natgw_ctl_server_new() - listen on @path
 * @event:    the loop
 * @path:     socket path; a stale socket there is replaced, any other file is left alone; the
 *            directory must exist
 * @handler:  called for each well-formed request from root
 * @userdata: passed to @handler
 * @ret:      the server, freed (socket closed and removed) with natgw_ctl_server_free()
 *
 * Return: 0 or -errno (-EADDRINUSE when another process listens on @path, -ENOTSOCK when
 * @path exists and is not a socket).
 */
int natgw_ctl_server_new(sd_event *event, const char *path, natgw_ctl_handler_t handler, void *userdata,
                         struct natgw_ctl_server **ret);
/**
 * natgw_ctl_server_flush() - finish the replies already made, once the loop has ended
 * @s:            the server
 * @timeout_usec: how long all of them may take together
 *
 * A reload applied just before SIGTERM was handled has its reply made but maybe not sent yet:
 * it is written out here, without the loop. Requests not handled yet are dropped (they did
 * nothing); so is a reply a client does not read within @timeout_usec.
 *
 * Return: the number of replies dropped unfinished.
 */
size_t natgw_ctl_server_flush(struct natgw_ctl_server *s, uint64_t timeout_usec);
struct natgw_ctl_server *natgw_ctl_server_free(struct natgw_ctl_server *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct natgw_ctl_server *, natgw_ctl_server_free);

const struct natgw_ctl_server_stats *natgw_ctl_server_get_stats(const struct natgw_ctl_server *s);

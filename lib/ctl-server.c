/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket server. Each connection moves through READ (collect one request line) →
 * handler → WRITE (the reply) → closed, with a deadline over each phase. Nothing here blocks:
 * a slow or hostile client only ever costs its own connection.
 */

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "ctl-server.h"
#include "time-util.h"

/* Connection sources run before the deadline timers: after a long reload, queued requests
 * are read and answered rather than timed out for a wait that was the daemon's, not theirs. */
#define PRIO_IO SD_EVENT_PRIORITY_NORMAL
#define PRIO_TIMER (SD_EVENT_PRIORITY_NORMAL + 10)
#define ACCEPT_BURST 64
/* Out of descriptors, accept() fails at once and the listening socket stays readable: listening
 * is paused this long instead of spinning the loop. Waiting clients stay in the backlog. */
#define ACCEPT_PAUSE_USEC (100u * 1000u)

enum conn_state {
        CONN_READ,
        CONN_WRITE,
};

struct conn {
        struct natgw_ctl_server *server;
        int fd;
        enum conn_state state;
        sd_event_source *io, *timer;
        char *buf; /* READ: the request so far; WRITE: the reply */
        size_t len, pos, cap;
};

struct natgw_ctl_server {
        sd_event *event;
        char *path;
        int fd;
        dev_t dev;
        ino_t ino;
        sd_event_source *io, *resume;
        natgw_ctl_handler_t handler;
        void *userdata;
        struct conn *conns[NATGW_CTL_CLIENTS_MAX]; /* in no order */
        size_t n_conns;
        struct natgw_ctl_server_stats stats;
};

static void conn_free(struct conn *c) {
        struct natgw_ctl_server *s = c->server;

        for (size_t i = 0; i < s->n_conns; i++)
                if (s->conns[i] == c) {
                        s->conns[i] = s->conns[--s->n_conns];
                        break;
                }
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->timer);
        if (c->fd >= 0)
                close(c->fd);
        free(c->buf);
        free(c);
}

/* Replace whatever the connection held with the line @line of @len bytes (taken), or NULL: out
 * of memory, and start writing it. */
static void conn_reply_line(struct conn *c, char *line, size_t len) {
        if (!line) {
                /* Out of memory: a fixed reply still tells the client what happened. */
                line = strdup("{\"ok\":false,\"error\":\"natgwd is out of memory\"}\n");
                if (!line) {
                        conn_free(c);
                        return;
                }
                len = strlen(line);
        }
        free(c->buf);
        c->buf = line;
        c->len = len;
        c->pos = 0;
        c->cap = len;
        c->state = CONN_WRITE;
        /* The reply's deadline, from now. Not from the loop's time (sd_event_source_set_time_relative()):
         * that is when this iteration woke up, before the handler ran, and a handler that took longer
         * than the deadline (show of 200,000 entries) would see its reply cut off at once. */
        if (sd_event_source_set_io_events(c->io, EPOLLOUT) < 0 ||
            sd_event_source_set_time(c->timer, natgw_mono_usec() + NATGW_CTL_CLIENT_TIMEOUT_USEC) < 0 ||
            sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT) < 0)
                conn_free(c);
}

/* As conn_reply_line(), @reply formatted. */
static void conn_reply(struct conn *c, const json_t *reply) {
        size_t len = 0;
        char *line = reply ? natgw_ctl_reply_format(reply, &len) : NULL;

        conn_reply_line(c, line, len);
}

static void conn_reply_error(struct conn *c, const char *msg) {
        _cleanup_(json_decrefp) json_t *j = natgw_ctl_reply_error("%s", msg);

        conn_reply(c, j);
}

static void conn_handle(struct conn *c, size_t len) {
        struct natgw_ctl_server *s = c->server;
        _cleanup_(json_decrefp) json_t *reply = NULL;
        _cleanup_(freep) char *error = NULL;
        struct natgw_ctl_line line = {};
        struct natgw_ctl_request req;
        int r;

        r = natgw_ctl_request_parse(c->buf, len, &req, &error);
        if (r < 0) {
                s->stats.malformed++;
                conn_reply_error(c, error ? error : "malformed request");
                return;
        }
        r = s->handler(&req, &reply, &line, s->userdata);
        s->stats.handled++;
        if (r >= 0 && line.s) {
                json_decref(reply);
                conn_reply_line(c, line.s, line.len);
                return;
        }
        free(line.s);
        if (r < 0 || !reply) {
                json_decref(reply);
                reply = natgw_ctl_reply_error("%s failed: %s", natgw_ctl_command_to_string(req.command),
                                              strerror(r < 0 ? -r : EIO));
        }
        conn_reply(c, reply);
}

static void conn_read(struct conn *c) {
        for (;;) {
                char *nl;
                ssize_t n;

                if (c->len == c->cap) {
                        /* One byte over the limit is enough to know the request is too large. */
                        size_t cap = MIN(MAX(c->cap * 2, (size_t)512), (size_t)NATGW_CTL_REQUEST_MAX + 1);
                        char *p;

                        if (cap == c->cap) {
                                c->server->stats.malformed++;
                                conn_reply_error(c, "request too large (at most 65536 bytes)");
                                return;
                        }
                        p = realloc(c->buf, cap);
                        if (!p) {
                                conn_reply(c, NULL);
                                return;
                        }
                        c->buf = p;
                        c->cap = cap;
                }
                n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return;
                        conn_free(c);
                        return;
                }
                if (n == 0) {
                        /* The client ended its request by closing its side: take what came. */
                        if (c->len == 0)
                                conn_free(c);
                        else
                                conn_handle(c, c->len);
                        return;
                }
                nl = memchr(c->buf + c->len, '\n', (size_t)n);
                c->len += (size_t)n;
                if (nl) {
                        conn_handle(c, (size_t)(nl - c->buf));
                        return;
                }
        }
}

static void conn_write(struct conn *c) {
        while (c->pos < c->len) {
                ssize_t n = send(c->fd, c->buf + c->pos, c->len - c->pos, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return;
                        break;
                }
                c->pos += (size_t)n;
        }
        conn_free(c);
}

static int on_conn_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        struct conn *c = userdata;

        if (c->state == CONN_READ)
                conn_read(c);
        else
                conn_write(c);
        return 0;
}

static int on_conn_timeout(sd_event_source *es, uint64_t usec, void *userdata) {
        struct conn *c = userdata;

        c->server->stats.timed_out++;
        conn_free(c);
        return 0;
}

/* Best effort, never blocking: a refused client may not read at all. */
static void refuse(int fd, const char *msg) {
        _cleanup_(json_decrefp) json_t *j = natgw_ctl_reply_error("%s", msg);
        _cleanup_(freep) char *line = NULL;
        size_t len;

        line = j ? natgw_ctl_reply_format(j, &len) : NULL;
        if (line)
                (void)send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        close(fd);
}

static bool peer_is_root(int fd) {
        struct ucred cred;
        socklen_t len = sizeof(cred);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred))
                return false;
        return cred.uid == 0;
}

static int conn_new(struct natgw_ctl_server *s, int fd) {
        struct conn *c;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c) {
                close(fd);
                return -ENOMEM;
        }
        c->server = s;
        c->fd = fd;
        s->conns[s->n_conns++] = c; /* on_listen_io() checked that there is room */

        r = sd_event_add_io(s->event, &c->io, fd, EPOLLIN, on_conn_io, c);
        if (r >= 0)
                r = sd_event_source_set_priority(c->io, PRIO_IO);
        if (r >= 0)
                r = sd_event_add_time_relative(s->event, &c->timer, CLOCK_MONOTONIC, NATGW_CTL_CLIENT_TIMEOUT_USEC,
                                               0, on_conn_timeout, c);
        if (r >= 0)
                r = sd_event_source_set_priority(c->timer, PRIO_TIMER);
        if (r < 0) {
                conn_free(c);
                return r;
        }
        if (!peer_is_root(fd)) {
                s->stats.refused_creds++;
                conn_reply_error(c, "permission denied: only root may use natgwd's control socket");
        }
        return 0;
}

static int on_resume(sd_event_source *es, uint64_t usec, void *userdata) {
        struct natgw_ctl_server *s = userdata;

        return sd_event_source_set_enabled(s->io, SD_EVENT_ON);
}

static void pause_accept(struct natgw_ctl_server *s) {
        int r;

        s->stats.accept_paused++;
        if (!s->resume)
                r = sd_event_add_time_relative(s->event, &s->resume, CLOCK_MONOTONIC, ACCEPT_PAUSE_USEC, 0,
                                               on_resume, s);
        else {
                r = sd_event_source_set_time_relative(s->resume, ACCEPT_PAUSE_USEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(s->resume, SD_EVENT_ONESHOT);
        }
        /* Without the timer, keep listening: a busy loop is better than a deaf server. */
        if (r >= 0)
                (void)sd_event_source_set_enabled(s->io, SD_EVENT_OFF);
}

static int on_listen_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        struct natgw_ctl_server *s = userdata;

        for (int i = 0; i < ACCEPT_BURST; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (cfd < 0) {
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                                pause_accept(s);
                        /* EAGAIN: drained; anything else (ECONNABORTED...) is retried at the
                         * next wake-up rather than ending the server. */
                        break;
                }
                s->stats.accepted++;
                if (s->n_conns >= NATGW_CTL_CLIENTS_MAX) {
                        s->stats.refused_busy++;
                        refuse(cfd, "natgwd is busy: too many control connections, try again");
                        continue;
                }
                (void)conn_new(s, cfd);
        }
        return 0;
}

/* Is a live server listening on @path? */
static bool socket_alive(const struct sockaddr_un *sun) {
        _cleanup_(closep) int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        if (fd < 0)
                return false;
        return connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0 || errno == EAGAIN;
}

int natgw_ctl_server_new(sd_event *event, const char *path, natgw_ctl_handler_t handler, void *userdata,
                         struct natgw_ctl_server **ret) {
        _cleanup_(natgw_ctl_server_freep) struct natgw_ctl_server *s = NULL;
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        struct stat st;
        mode_t old;
        int r;

        if (strlen(path) >= sizeof(sun.sun_path))
                return -ENAMETOOLONG;
        memcpy(sun.sun_path, path, strlen(path) + 1);

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->fd = -1;
        s->event = sd_event_ref(event);
        s->handler = handler;
        s->userdata = userdata;
        s->path = strdup(path);
        if (!s->path)
                return -ENOMEM;

        /* Only a socket is ever removed: -S naming some other file (a typo, a config, a link)
         * leaves that file alone and natgwd does not start. */
        if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
                return -ENOTSOCK;
        if (socket_alive(&sun))
                return -EADDRINUSE;
        /* A socket left behind by a natgwd that was killed. */
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s->fd < 0)
                return -errno;
        /* Mode 0600 from the start: no moment where another user could connect. */
        old = umask(0177);
        r = bind(s->fd, (struct sockaddr *)&sun, sizeof(sun));
        umask(old);
        if (r < 0)
                return -errno;
        if (stat(path, &st) == 0) {
                s->dev = st.st_dev;
                s->ino = st.st_ino;
        }
        if (listen(s->fd, SOMAXCONN) < 0)
                return -errno;
        r = sd_event_add_io(event, &s->io, s->fd, EPOLLIN, on_listen_io, s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

size_t natgw_ctl_server_flush(struct natgw_ctl_server *s, uint64_t timeout_usec) {
        uint64_t deadline = natgw_mono_usec() + timeout_usec;
        size_t left = 0;

        /* The loop is over: nothing new is accepted, and requests not handled yet are dropped. */
        (void)sd_event_source_set_enabled(s->io, SD_EVENT_OFF);
        for (;;) {
                struct pollfd pfd[NATGW_CTL_CLIENTS_MAX];
                struct conn *who[NATGW_CTL_CLIENTS_MAX];
                uint64_t now;
                size_t n;
                int r;

                /* Backwards: conn_free() moves the last connection into the slot it frees. */
                for (size_t i = s->n_conns; i-- > 0;)
                        if (s->conns[i]->state != CONN_WRITE)
                                conn_free(s->conns[i]);
                for (n = 0; n < s->n_conns; n++) {
                        pfd[n] = (struct pollfd) { .fd = s->conns[n]->fd, .events = POLLOUT };
                        who[n] = s->conns[n];
                }
                now = natgw_mono_usec();
                if (n == 0 || now >= deadline) {
                        left = n;
                        break;
                }
                r = poll(pfd, n, natgw_poll_ms(now, deadline));
                if (r < 0 && errno != EINTR) {
                        left = n;
                        break;
                }
                for (size_t i = 0; r > 0 && i < n; i++)
                        if (pfd[i].revents)
                                conn_write(who[i]); /* frees the connection once done or broken */
        }
        while (s->n_conns > 0)
                conn_free(s->conns[0]);
        return left;
}

struct natgw_ctl_server *natgw_ctl_server_free(struct natgw_ctl_server *s) {
        struct stat st;

        if (!s)
                return NULL;
        while (s->n_conns > 0)
                conn_free(s->conns[0]);
        sd_event_source_disable_unref(s->io);
        sd_event_source_disable_unref(s->resume);
        if (s->fd >= 0) {
                close(s->fd);
                /* Remove the socket only if it is still ours (not a successor's). */
                if (stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
                        (void)unlink(s->path);
        }
        free(s->path);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

const struct natgw_ctl_server_stats *natgw_ctl_server_get_stats(const struct natgw_ctl_server *s) {
        return &s->stats;
}

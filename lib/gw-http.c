/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The metrics endpoint's HTTP: a pure request judge and answer builder, and a server whose
 * connections go READ (until the empty line) → the answer, made at once → WRITE → closed, each
 * phase with its deadline, like the control socket's.
 */

#include <fcntl.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "gw-http.h"
#include "time-util.h"

static bool token_char(char c) {
        return c >= 'A' && c <= 'Z';
}

enum natgw_http_verdict natgw_http_request_parse(const char *buf, size_t len, const char *path, bool *ret_head) {
        const char *end, *eol, *sp1, *sp2;
        size_t line, plen = strlen(path), tlen;

        end = memmem(buf, len, "\r\n\r\n", 4);
        if (!end)
                end = memmem(buf, len, "\n\n", 2);
        if (!end)
                return len >= NATGW_HTTP_REQUEST_MAX ? NATGW_HTTP_TOO_LARGE : NATGW_HTTP_INCOMPLETE;
        /* The first line ends at the first newline, which the empty line's search found or passed. */
        eol = memchr(buf, '\n', len);
        line = (size_t)(eol - buf);
        if (line > 0 && buf[line - 1] == '\r')
                line--;
        for (size_t i = 0; i < line; i++)
                if ((unsigned char)buf[i] < 0x21 && buf[i] != ' ')
                        return NATGW_HTTP_BAD;
        sp1 = memchr(buf, ' ', line);
        if (!sp1 || sp1 == buf)
                return NATGW_HTTP_BAD;
        sp2 = memchr(sp1 + 1, ' ', line - (size_t)(sp1 + 1 - buf));
        if (!sp2 || sp2 == sp1 + 1)
                return NATGW_HTTP_BAD;
        if ((size_t)(buf + line - (sp2 + 1)) != 8 ||
            (memcmp(sp2 + 1, "HTTP/1.0", 8) != 0 && memcmp(sp2 + 1, "HTTP/1.1", 8) != 0))
                return NATGW_HTTP_BAD;
        for (const char *p = buf; p < sp1; p++)
                if (!token_char(*p))
                        return NATGW_HTTP_BAD;
        tlen = (size_t)(sp2 - (sp1 + 1));
        if (!(tlen == plen || (tlen > plen && sp1[1 + plen] == '?')) || memcmp(sp1 + 1, path, plen) != 0)
                return NATGW_HTTP_NOT_FOUND;
        if (sp1 - buf == 3 && memcmp(buf, "GET", 3) == 0) {
                if (ret_head)
                        *ret_head = false;
                return NATGW_HTTP_OK;
        }
        if (sp1 - buf == 4 && memcmp(buf, "HEAD", 4) == 0) {
                if (ret_head)
                        *ret_head = true;
                return NATGW_HTTP_OK;
        }
        return NATGW_HTTP_METHOD;
}

int natgw_http_response(enum natgw_http_verdict v, bool head, const char *type, const char *body, size_t body_len,
                        char **ret, size_t *ret_len) {
        static const struct {
                int code;
                const char *reason, *body;
        } status[] = {
                [NATGW_HTTP_INCOMPLETE] = { 400, "Bad Request", "bad request\n" },
                [NATGW_HTTP_OK] = { 200, "OK", NULL },
                [NATGW_HTTP_BAD] = { 400, "Bad Request", "bad request\n" },
                [NATGW_HTTP_NOT_FOUND] = { 404, "Not Found", "not found: natgwd serves /metrics only\n" },
                [NATGW_HTTP_METHOD] = { 405, "Method Not Allowed", "method not allowed: GET or HEAD\n" },
                [NATGW_HTTP_TOO_LARGE] = { 431, "Request Header Fields Too Large", "request too large\n" },
        };
        int code = status[v].code;
        const char *reason = status[v].reason;
        char *out = NULL;
        size_t len = 0;
        FILE *f;

        if (v == NATGW_HTTP_OK && !body) {
                code = 500;
                reason = "Internal Server Error";
                body = "natgwd could not gather the metrics (see its journal)\n";
                body_len = strlen(body);
                type = "text/plain; charset=utf-8";
        } else if (v != NATGW_HTTP_OK) {
                body = status[v].body;
                body_len = strlen(body);
                type = "text/plain; charset=utf-8";
        }
        f = open_memstream(&out, &len);
        if (!f)
                return -ENOMEM;
        fprintf(f, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
                code, reason, type, body_len, v == NATGW_HTTP_METHOD ? "Allow: GET, HEAD\r\n" : "");
        if (!head)
                fwrite(body, 1, body_len, f);
        if (fclose(f) != 0 || !out) {
                free(out);
                return -ENOMEM;
        }
        *ret = out;
        *ret_len = len;
        return 0;
}

struct client {
        struct natgw_http_server *server;
        int fd;
        bool writing;
        sd_event_source *io, *timer;
        char in[NATGW_HTTP_REQUEST_MAX];
        size_t in_len;
        char *out;
        size_t out_len, out_pos;
};

struct natgw_http_server {
        sd_event *event;
        const char *path, *type;
        natgw_http_handler_t handler;
        void *userdata;
        int fds[NATGW_HTTP_LISTEN_MAX];
        sd_event_source *listen[NATGW_HTTP_LISTEN_MAX];
        size_t n_fds;
        struct client *clients[NATGW_HTTP_CLIENTS_MAX];
        size_t n_clients;
        struct natgw_http_stats stats;
};

static void client_free(struct client *c) {
        struct natgw_http_server *s = c->server;

        for (size_t i = 0; i < s->n_clients; i++)
                if (s->clients[i] == c) {
                        s->clients[i] = s->clients[--s->n_clients];
                        break;
                }
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->timer);
        close(c->fd);
        free(c->out);
        free(c);
}

/* The answer to a complete (or hopeless) request, made now and then written. */
static void client_answer(struct client *c, enum natgw_http_verdict v, bool head) {
        struct natgw_http_server *s = c->server;
        _cleanup_(freep) char *body = NULL;
        size_t body_len = 0;

        switch (v) {
        case NATGW_HTTP_OK:
                if (s->handler(&body, &body_len, s->userdata) < 0) {
                        s->stats.failed++;
                        body = NULL;
                } else
                        s->stats.served++;
                break;
        case NATGW_HTTP_NOT_FOUND:
                s->stats.not_found++;
                break;
        case NATGW_HTTP_METHOD:
                s->stats.bad_method++;
                break;
        default:
                s->stats.bad++;
                break;
        }
        if (natgw_http_response(v, head, s->type, body, body_len, &c->out, &c->out_len) < 0) {
                client_free(c);
                return;
        }
        c->writing = true;
        /* The answer's deadline counts from now, not from when the request came in. */
        if (sd_event_source_set_io_events(c->io, EPOLLOUT) < 0 ||
            sd_event_source_set_time(c->timer, natgw_mono_usec() + NATGW_HTTP_TIMEOUT_USEC) < 0)
                client_free(c);
}

static void client_read(struct client *c) {
        enum natgw_http_verdict v;
        bool head = false;
        ssize_t n;

        n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                /* Gone, or ended before its request did. */
                client_free(c);
                return;
        }
        c->in_len += (size_t)n;
        v = natgw_http_request_parse(c->in, c->in_len, c->server->path, &head);
        if (v != NATGW_HTTP_INCOMPLETE)
                client_answer(c, v, head);
}

static void client_write(struct client *c) {
        while (c->out_pos < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_pos, c->out_len - c->out_pos, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                if (n <= 0)
                        break;
                c->out_pos += (size_t)n;
        }
        (void)shutdown(c->fd, SHUT_WR);
        client_free(c);
}

static int on_client_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        struct client *c = userdata;

        if (c->writing)
                client_write(c);
        else
                client_read(c);
        return 0;
}

static int on_client_timeout(sd_event_source *es, uint64_t usec, void *userdata) {
        struct client *c = userdata;

        c->server->stats.timed_out++;
        client_free(c);
        return 0;
}

static void client_new(struct natgw_http_server *s, int fd) {
        struct client *c = calloc(1, sizeof(*c));
        int r;

        if (!c) {
                close(fd);
                return;
        }
        c->server = s;
        c->fd = fd;
        s->clients[s->n_clients++] = c;
        r = sd_event_add_io(s->event, &c->io, fd, EPOLLIN, on_client_io, c);
        if (r >= 0)
                r = sd_event_add_time(s->event, &c->timer, CLOCK_MONOTONIC, natgw_mono_usec() + NATGW_HTTP_TIMEOUT_USEC,
                                      0, on_client_timeout, c);
        if (r < 0)
                client_free(c);
}

static int on_listen(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        struct natgw_http_server *s = userdata;

        /* A few per wake-up: scrapes are rare; the rest wait in the backlog for the next turn. */
        for (int i = 0; i < NATGW_HTTP_CLIENTS_MAX; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (cfd < 0)
                        break;
                s->stats.accepted++;
                if (s->n_clients >= NATGW_HTTP_CLIENTS_MAX) {
                        s->stats.refused_busy++;
                        close(cfd);
                        continue;
                }
                client_new(s, cfd);
        }
        return 0;
}

int natgw_http_server_new(sd_event *event, const int *fds, size_t n_fds, const char *path, const char *type,
                          natgw_http_handler_t handler, void *userdata, struct natgw_http_server **ret) {
        _cleanup_(natgw_http_server_freep) struct natgw_http_server *s = NULL;
        int r = 0;

        s = calloc(1, sizeof(*s));
        if (!s || n_fds > NATGW_HTTP_LISTEN_MAX) {
                for (size_t i = 0; i < n_fds; i++)
                        close(fds[i]);
                return s ? -E2BIG : -ENOMEM;
        }
        s->event = sd_event_ref(event);
        s->path = path;
        s->type = type;
        s->handler = handler;
        s->userdata = userdata;
        /* Every fd is the server's from here on, whatever happens below. */
        memcpy(s->fds, fds, n_fds * sizeof(*fds));
        s->n_fds = n_fds;
        for (size_t i = 0; i < n_fds && r >= 0; i++) {
                int flags;

                r = sd_is_socket(fds[i], AF_UNSPEC, SOCK_STREAM, 1);
                if (r == 0)
                        r = -ENOTSOCK;
                flags = r >= 0 ? fcntl(fds[i], F_GETFL) : 0;
                if (flags < 0 || (r >= 0 && fcntl(fds[i], F_SETFL, flags | O_NONBLOCK) < 0))
                        r = -errno;
                if (r >= 0)
                        r = sd_event_add_io(event, &s->listen[i], fds[i], EPOLLIN, on_listen, s);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

struct natgw_http_server *natgw_http_server_free(struct natgw_http_server *s) {
        if (!s)
                return NULL;
        while (s->n_clients > 0)
                client_free(s->clients[0]);
        for (size_t i = 0; i < s->n_fds; i++) {
                sd_event_source_disable_unref(s->listen[i]);
                close(s->fds[i]);
        }
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

const struct natgw_http_stats *natgw_http_server_get_stats(const struct natgw_http_server *s) {
        return &s->stats;
}

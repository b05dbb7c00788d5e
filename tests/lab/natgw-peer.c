/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * natgw-peer: the traffic end points of the namespace lab (tests/lab/lib.sh).
 *
 *   natgw-peer serve [--tcp PORTS] [--udp PORTS] [--bind ADDR] [--count N] [--timeout S]
 *   natgw-peer ask tcp|udp ADDR PORT [--from ADDR] [--sport PORT] [--timeout S]
 *   natgw-peer stream tcp ADDR PORT --seconds S [--from ADDR] [--timeout S]
 *   natgw-peer stream udp ADDR PORT --seconds S [--from ADDR] [--sport PORT]
 *     (SIGUSR1 ends a stream before its seconds are up, as a success)
 *   natgw-peer notify SOCKET [--all] [--timeout S]
 *   natgw-peer journal SOCKET [--timeout S]
 *
 * The server answers every request line (TCP: each line of a connection; UDP: each datagram)
 * with "peer=ADDR:PORT local=ADDR:PORT proto=tcp|udp": the client address as it arrived and
 * the local address it was reached on, which is exactly what a NAT test wants to see. IPv6
 * addresses are printed in brackets, IPv4-mapped ones as plain IPv4. UDP replies are sent from
 * the address the request was sent to (IP_PKTINFO), so that conntrack can reverse a DNAT.
 *
 * ask --sport binds the client's source port (with SO_REUSEADDR), so that two asks in a row
 * from the same --from and --sport are one UDP flow, one conntrack entry, as a client that
 * keeps sending would be.
 *
 * notify is the NOTIFY_SOCKET end for natgwd (sd_notify): it prints every message it receives
 * and exits 0 at READY=1, 1 when the timeout passes first; with --all it goes on printing until
 * the timeout (exit 0) or until it is killed.
 *
 * journal stands in for journald's native socket (/run/systemd/journal/socket, inside a private
 * mount namespace of the test): it prints each entry natgwd sends as its KEY=VALUE fields, one
 * per line (newlines inside a value as \n), and an empty line after each entry.
 *
 * Every wait is bounded: the server stops after --count requests or --timeout seconds, a client
 * after its --timeout. Nothing here blocks without poll() and a deadline.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lab-args.h"

#define MAX_LISTEN 512     /* sockets of one server: ports x protocols */
#define MAX_CONN 256       /* TCP connections open at once */
#define LINE_MAX_LEN 512   /* a request line longer than this is cut */
#define UDP_TRIES 4        /* datagrams an asking client sends within its timeout */

enum { PROTO_TCP, PROTO_UDP };

static const char *proto_name(int proto) {
        return proto == PROTO_TCP ? "tcp" : "udp";
}

static int64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ms_left(int64_t deadline) {
        int64_t d = deadline - now_ms();

        if (d < 0)
                return 0;
        return d > INT_MAX ? INT_MAX : (int) d;
}

/* Waits until @fd has @events (POLLIN, POLLOUT) or the deadline passes: 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline) {
        for (;;) {
                struct pollfd p = { .fd = fd, .events = events };
                int k = poll(&p, 1, ms_left(deadline));

                if (k > 0)
                        return 0;
                if (k == 0)
                        return -ETIMEDOUT;
                if (errno != EINTR)
                        return -errno;
        }
}

static void usage(void) {
        fputs("usage: natgw-peer serve [--tcp PORTS] [--udp PORTS] [--bind ADDR] [--count N] [--timeout S]\n"
              "       natgw-peer ask tcp|udp ADDR PORT [--from ADDR] [--sport PORT] [--timeout S]\n"
              "       natgw-peer stream tcp ADDR PORT --seconds S [--from ADDR] [--timeout S]\n"
              "       natgw-peer stream udp ADDR PORT --seconds S [--from ADDR] [--sport PORT]\n"
              "       natgw-peer notify SOCKET [--all] [--timeout S]\n"
              "       natgw-peer journal SOCKET [--timeout S]\n"
              "PORTS: a list like 80,8080,50000-50010; ADDR: IPv4 or IPv6 (brackets allowed)\n",
              stderr);
}

/* "ADDR:PORT", IPv6 in brackets, IPv4-mapped IPv6 as plain IPv4. */
static void format_sockaddr(const struct sockaddr_storage *ss, char *buf, size_t size) {
        char a[INET6_ADDRSTRLEN];

        if (ss->ss_family == AF_INET) {
                const struct sockaddr_in *sin = (const struct sockaddr_in *) ss;

                inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
                snprintf(buf, size, "%s:%u", a, ntohs(sin->sin_port));
        } else if (ss->ss_family == AF_INET6) {
                const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) ss;

                if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
                        inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], a, sizeof(a));
                        snprintf(buf, size, "%s:%u", a, ntohs(sin6->sin6_port));
                } else {
                        inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
                        snprintf(buf, size, "[%s]:%u", a, ntohs(sin6->sin6_port));
                }
        } else
                snprintf(buf, size, "?");
}

static int parse_seconds(const char *s, double max, int64_t *ret_ms) {
        char *end;
        double v;

        if (!s || !*s)
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno || *end || !(v > 0) || v > max)
                return -EINVAL;
        *ret_ms = (int64_t) (v * 1000);
        return 0;
}

/* Walk "80,8080,50000-50010"; calls add() for every port. */
static int parse_ports(const char *list, int (*add)(int proto, uint16_t port, void *userdata),
                       int proto, void *userdata) {
        char buf[4096], *save = NULL, *tok;

        if (strlen(list) >= sizeof(buf))
                return -EINVAL;
        strcpy(buf, list);
        for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                char *dash = strchr(tok, '-');
                unsigned long lo, hi;
                int r;

                if (dash) {
                        *dash = '\0';
                        if (parse_uint(tok, 1, 65535, &lo) < 0 || parse_uint(dash + 1, 1, 65535, &hi) < 0 || hi < lo)
                                return -EINVAL;
                } else {
                        if (parse_uint(tok, 1, 65535, &lo) < 0)
                                return -EINVAL;
                        hi = lo;
                }
                for (unsigned long p = lo; p <= hi; p++) {
                        r = add(proto, (uint16_t) p, userdata);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* ---------------------------------------------------------------- server */

struct listener {
        int fd;
        int proto;
        int family;
        uint16_t port;
};

struct conn {
        int fd;
        size_t len;
        char buf[LINE_MAX_LEN];
};

struct server {
        const char *bind;
        struct listener l[MAX_LISTEN];
        size_t n_l;
        struct conn c[MAX_CONN];
        size_t n_c;
        unsigned long handled, count;
};

static int server_add_port(int proto, uint16_t port, void *userdata) {
        struct server *s = userdata;
        struct sockaddr_storage ss;
        socklen_t len;
        int fd, one = 1;

        if (s->n_l >= MAX_LISTEN) {
                fprintf(stderr, "natgw-peer: more than %d sockets\n", MAX_LISTEN);
                return -E2BIG;
        }
        if (s->bind) {
                if (parse_addr(s->bind, port, &ss, &len) < 0) {
                        fprintf(stderr, "natgw-peer: bad --bind address '%s'\n", s->bind);
                        return -EINVAL;
                }
        } else {
                struct sockaddr_in6 any = { .sin6_family = AF_INET6, .sin6_port = htons(port),
                                            .sin6_addr = IN6ADDR_ANY_INIT };

                memset(&ss, 0, sizeof(ss));
                memcpy(&ss, &any, sizeof(any));
                len = sizeof(any);
        }

        fd = socket(ss.ss_family, (proto == PROTO_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ss.ss_family == AF_INET6) {
                int v6only = s->bind ? 1 : 0;

                if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0)
                        goto fail;
                if (proto == PROTO_UDP) {
                        /* Both: IPv4 datagrams on a dual-stack socket report either. */
                        if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0)
                                goto fail;
                        (void) setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
                }
        } else if (proto == PROTO_UDP) {
                if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0)
                        goto fail;
        }
        if (bind(fd, (struct sockaddr *) &ss, len) < 0)
                goto fail;
        if (proto == PROTO_TCP && listen(fd, 64) < 0)
                goto fail;

        s->l[s->n_l++] = (struct listener) { .fd = fd, .proto = proto, .family = ss.ss_family, .port = port };
        return 0;
fail:
        {
                int r = -errno;
                char a[80];

                format_sockaddr(&ss, a, sizeof(a));
                fprintf(stderr, "natgw-peer: %s %s: %s\n", proto_name(proto), a, strerror(-r));
                close(fd);
                return r;
        }
}

static void report(struct server *s, const struct sockaddr_storage *peer, const struct sockaddr_storage *local,
                   int proto, char *out, size_t size) {
        char p[80], l[80];

        format_sockaddr(peer, p, sizeof(p));
        format_sockaddr(local, l, sizeof(l));
        snprintf(out, size, "peer=%s local=%s proto=%s\n", p, l, proto_name(proto));
        fputs(out, stdout);
        fflush(stdout);
        s->handled++;
}

static void server_accept(struct server *s, struct listener *l) {
        for (;;) {
                int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (fd < 0) {
                        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                                fprintf(stderr, "natgw-peer: accept: %m\n");
                        return;
                }
                if (s->n_c >= MAX_CONN) {
                        fprintf(stderr, "natgw-peer: too many connections, closing one\n");
                        close(fd);
                        continue;
                }
                s->c[s->n_c++] = (struct conn) { .fd = fd };
        }
}

static void conn_close(struct server *s, size_t i) {
        close(s->c[i].fd);
        s->c[i] = s->c[--s->n_c];
}

/* Reads what a TCP connection sent and answers each full line; false: close it. */
static bool conn_handle(struct server *s, struct conn *c) {
        for (;;) {
                ssize_t n;
                char *nl;

                if (c->len == sizeof(c->buf))   /* an overlong line: treat the buffer as one */
                        c->buf[c->len - 1] = '\n';
                else {
                        n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
                        if (n == 0)
                                return false;
                        if (n < 0)
                                return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
                        c->len += (size_t) n;
                }

                while ((nl = memchr(c->buf, '\n', c->len))) {
                        struct sockaddr_storage peer, local;
                        socklen_t pl = sizeof(peer), ll = sizeof(local);
                        char out[256];
                        size_t used = (size_t) (nl - c->buf) + 1;

                        if (getpeername(c->fd, (struct sockaddr *) &peer, &pl) < 0 ||
                            getsockname(c->fd, (struct sockaddr *) &local, &ll) < 0)
                                return false;
                        report(s, &peer, &local, PROTO_TCP, out, sizeof(out));
                        if (send(c->fd, out, strlen(out), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                                return false;
                        memmove(c->buf, c->buf + used, c->len - used);
                        c->len -= used;
                        if (s->count && s->handled >= s->count)
                                return true;
                }
        }
}

/* The local address a datagram was sent to, from its IPV6_PKTINFO or IP_PKTINFO; false if none. */
static bool pktinfo_local(struct msghdr *m, const struct listener *l, struct sockaddr_storage *ret) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ret;
        struct sockaddr_in *sin = (struct sockaddr_in *) ret;
        struct cmsghdr *cm;

        memset(ret, 0, sizeof(*ret));
        for (cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm)) {
                if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
                        struct in6_pktinfo pi;

                        /* On a dual-stack socket IPv4 arrives here too, as a mapped address. */
                        memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
                        sin6->sin6_family = AF_INET6;
                        sin6->sin6_addr = pi.ipi6_addr;
                        sin6->sin6_port = htons(l->port);
                        return true;
                }
        }
        for (cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm)) {
                if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
                        struct in_pktinfo pi;

                        memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
                        if (l->family == AF_INET) {
                                sin->sin_family = AF_INET;
                                sin->sin_addr = pi.ipi_addr;
                                sin->sin_port = htons(l->port);
                        } else {
                                sin6->sin6_family = AF_INET6;
                                sin6->sin6_addr.s6_addr[10] = 0xff;
                                sin6->sin6_addr.s6_addr[11] = 0xff;
                                memcpy(&sin6->sin6_addr.s6_addr[12], &pi.ipi_addr, 4);
                                sin6->sin6_port = htons(l->port);
                        }
                        return true;
                }
        }
        return false;
}

/* Sends @text to @peer from @local: without it, a reply to a DNATed request would leave from the
 * interface's primary address and conntrack could not reverse the translation. */
static int udp_send_from(int fd, const struct sockaddr_storage *peer, socklen_t peer_len,
                         const struct sockaddr_storage *local, const char *text) {
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
        } cbuf = {};
        struct iovec iov = { .iov_base = (void *) text, .iov_len = strlen(text) };
        struct msghdr m = { .msg_name = (void *) peer, .msg_namelen = peer_len,
                            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf };
        struct cmsghdr *cm = (struct cmsghdr *) cbuf.buf;

        if (local->ss_family == AF_INET6) {
                struct in6_pktinfo pi = { .ipi6_addr = ((const struct sockaddr_in6 *) local)->sin6_addr };

                m.msg_controllen = CMSG_SPACE(sizeof(pi));
                cm->cmsg_level = IPPROTO_IPV6;
                cm->cmsg_type = IPV6_PKTINFO;
                cm->cmsg_len = CMSG_LEN(sizeof(pi));
                memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
        } else {
                struct in_pktinfo pi = { .ipi_spec_dst = ((const struct sockaddr_in *) local)->sin_addr };

                m.msg_controllen = CMSG_SPACE(sizeof(pi));
                cm->cmsg_level = IPPROTO_IP;
                cm->cmsg_type = IP_PKTINFO;
                cm->cmsg_len = CMSG_LEN(sizeof(pi));
                memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
        }
        return sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static void server_udp(struct server *s, struct listener *l) {
        while (!s->count || s->handled < s->count) {
                struct sockaddr_storage peer = {}, local;
                char data[LINE_MAX_LEN], out[256];
                union {
                        struct cmsghdr align;
                        char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
                } cbuf;
                struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
                struct msghdr m = {
                        .msg_name = &peer, .msg_namelen = sizeof(peer),
                        .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
                };
                int r;

                if (recvmsg(l->fd, &m, MSG_DONTWAIT) < 0) {
                        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                                fprintf(stderr, "natgw-peer: recvmsg: %m\n");
                        return;
                }
                if (!pktinfo_local(&m, l, &local)) {
                        fprintf(stderr, "natgw-peer: udp datagram without pktinfo, dropped\n");
                        continue;
                }
                report(s, &peer, &local, PROTO_UDP, out, sizeof(out));
                r = udp_send_from(l->fd, &peer, m.msg_namelen, &local, out);
                if (r < 0)
                        fprintf(stderr, "natgw-peer: udp reply: %s\n", strerror(-r));
        }
}

static int cmd_serve(int argc, char **argv) {
        static struct server s;
        const char *tcp = NULL, *udp = NULL;
        unsigned long count = 1000;
        int64_t timeout = 60000, deadline;
        struct pollfd pfd[MAX_LISTEN + MAX_CONN];

        for (int i = 0; i < argc; i += 2) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

                if (!v)
                        goto bad;
                if (!strcmp(a, "--tcp"))
                        tcp = v;
                else if (!strcmp(a, "--udp"))
                        udp = v;
                else if (!strcmp(a, "--bind"))
                        s.bind = v;
                else if (!strcmp(a, "--count")) {
                        if (parse_uint(v, 1, ULONG_MAX, &count) < 0)
                                goto bad;
                } else if (!strcmp(a, "--timeout")) {
                        if (parse_seconds(v, 86400, &timeout) < 0)
                                goto bad;
                } else
                        goto bad;
        }
        if (!tcp && !udp)
                goto bad;
        s.count = count;

        if ((tcp && parse_ports(tcp, server_add_port, PROTO_TCP, &s) < 0) ||
            (udp && parse_ports(udp, server_add_port, PROTO_UDP, &s) < 0)) {
                fprintf(stderr, "natgw-peer: cannot serve --tcp '%s' --udp '%s'\n", tcp ?: "", udp ?: "");
                return 2;
        }

        /* lib.sh waits for this line before it lets a client ask. */
        fprintf(stderr, "natgw-peer: listening on %zu sockets\n", s.n_l);

        deadline = now_ms() + timeout;
        while (s.handled < s.count) {
                size_t n = 0, nl = s.n_l, nc = s.n_c;
                int k;

                for (size_t i = 0; i < nl; i++)
                        pfd[n++] = (struct pollfd) { .fd = s.l[i].fd, .events = POLLIN };
                for (size_t i = 0; i < nc; i++)
                        pfd[n++] = (struct pollfd) { .fd = s.c[i].fd, .events = POLLIN };

                if (ms_left(deadline) == 0)
                        break;
                k = poll(pfd, n, ms_left(deadline));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        fprintf(stderr, "natgw-peer: poll: %m\n");
                        return 1;
                }

                /* Connections first (indices shift when one closes, so walk backwards). */
                for (size_t i = nc; i-- > 0 && s.handled < s.count;) {
                        if (!pfd[nl + i].revents)
                                continue;
                        if (!conn_handle(&s, &s.c[i]) || (pfd[nl + i].revents & (POLLERR | POLLHUP)))
                                conn_close(&s, i);
                }
                for (size_t i = 0; i < nl && s.handled < s.count; i++) {
                        if (!(pfd[i].revents & POLLIN))
                                continue;
                        if (s.l[i].proto == PROTO_TCP)
                                server_accept(&s, &s.l[i]);
                        else
                                server_udp(&s, &s.l[i]);
                }
        }

        fprintf(stderr, "natgw-peer: handled %lu requests, exiting\n", s.handled);
        return 0;
bad:
        usage();
        return 2;
}

/* ---------------------------------------------------------------- clients */

struct client_opts {
        int proto;
        struct sockaddr_storage dst;
        socklen_t dst_len;
        const char *from;
        uint16_t sport; /* 0: any */
        int64_t timeout;
        int64_t seconds;
};

static int parse_client(int argc, char **argv, bool stream, struct client_opts *o) {
        unsigned long port;

        if (argc < 3)
                return -EINVAL;
        if (!strcmp(argv[0], "tcp"))
                o->proto = PROTO_TCP;
        else if (!strcmp(argv[0], "udp"))
                o->proto = PROTO_UDP;
        else
                return -EINVAL;
        if (parse_uint(argv[2], 1, 65535, &port) < 0 ||
            parse_addr(argv[1], (uint16_t) port, &o->dst, &o->dst_len) < 0)
                return -EINVAL;

        o->timeout = 2000;
        for (int i = 3; i < argc; i += 2) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

                if (!v)
                        return -EINVAL;
                if (!strcmp(a, "--from"))
                        o->from = v;
                else if (!strcmp(a, "--sport") && (!stream || o->proto == PROTO_UDP)) {
                        unsigned long sport;

                        if (parse_uint(v, 1, 65535, &sport) < 0)
                                return -EINVAL;
                        o->sport = (uint16_t) sport;
                } else if (!strcmp(a, "--timeout")) {
                        if (parse_seconds(v, 3600, &o->timeout) < 0)
                                return -EINVAL;
                } else if (!strcmp(a, "--seconds") && stream) {
                        if (parse_seconds(v, 86400, &o->seconds) < 0)
                                return -EINVAL;
                } else
                        return -EINVAL;
        }
        if (stream && !o->seconds)
                return -EINVAL;
        return 0;
}

/* A socket to o->dst, bound to --from and --sport if given, connected (TCP: within the deadline). */
static int client_connect(const struct client_opts *o, int64_t deadline) {
        int fd, err = 0, one = 1;
        socklen_t el = sizeof(err);

        fd = socket(o->dst.ss_family, (o->proto == PROTO_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (o->from || o->sport) {
                struct sockaddr_storage src;
                socklen_t sl;

                if (!o->from)
                        (void) parse_addr(o->dst.ss_family == AF_INET ? "0.0.0.0" : "::", o->sport, &src, &sl);
                else if (parse_addr(o->from, o->sport, &src, &sl) < 0 || src.ss_family != o->dst.ss_family) {
                        fprintf(stderr, "natgw-peer: bad --from address '%s'\n", o->from);
                        close(fd);
                        return -EINVAL;
                }
                /* The previous ask's socket on this port may linger (TCP TIME_WAIT). */
                if (o->sport && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
                        goto fail;
                if (bind(fd, (struct sockaddr *) &src, sl) < 0)
                        goto fail;
        }
        if (connect(fd, (struct sockaddr *) &o->dst, o->dst_len) == 0)
                return fd;
        if (errno != EINPROGRESS)
                goto fail;

        err = -wait_fd(fd, POLLOUT, deadline);
        if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
                goto fail;
        if (err) {
                close(fd);
                return -err;
        }
        return fd;
fail:
        err = errno;
        close(fd);
        return -err;
}

/* Reads one line of a stream (without its newline) within the deadline; 0 or -errno. */
static int read_line(int fd, char *line, size_t size, int64_t deadline) {
        size_t len = 0;

        for (;;) {
                ssize_t n;
                char *nl;
                int k;

                k = wait_fd(fd, POLLIN, deadline);
                if (k < 0)
                        return k;
                /* Byte by byte is fine at these sizes and never reads past the line. */
                n = recv(fd, line + len, 1, 0);
                if (n == 0)
                        return -ECONNRESET;
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                continue;
                        return -errno;
                }
                len++;
                nl = memchr(line, '\n', len);
                if (nl) {
                        *nl = '\0';
                        return 0;
                }
                if (len == size - 1) {
                        line[len] = '\0';
                        return 0;
                }
        }
}

static int ask_tcp(const struct client_opts *o, char *line, size_t size) {
        int64_t deadline = now_ms() + o->timeout;
        int fd, r;

        fd = client_connect(o, deadline);
        if (fd < 0)
                return fd;
        if (send(fd, "hello\n", 6, MSG_NOSIGNAL) != 6) {
                r = -errno;
                close(fd);
                return r;
        }
        r = read_line(fd, line, size, deadline);
        close(fd);
        return r;
}

/* Reads one datagram as a line within the deadline. */
static int read_datagram(int fd, char *line, size_t size, int64_t deadline) {
        for (;;) {
                ssize_t n;
                char *nl;
                int k;

                k = wait_fd(fd, POLLIN, deadline);
                if (k < 0)
                        return k;
                n = recv(fd, line, size - 1, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                continue;
                        return -errno;
                }
                line[n] = '\0';
                nl = strchr(line, '\n');
                if (nl)
                        *nl = '\0';
                return 0;
        }
}

static int ask_udp(const struct client_opts *o, char *line, size_t size) {
        int64_t deadline = now_ms() + o->timeout;
        int64_t step = o->timeout / UDP_TRIES;
        int fd, r = -ETIMEDOUT;

        fd = client_connect(o, deadline);
        if (fd < 0)
                return fd;
        /* Resend a few times: a datagram may be lost while a neighbour entry resolves. */
        for (int t = 0; t < UDP_TRIES && ms_left(deadline) > 0; t++) {
                int64_t until = now_ms() + step;

                if (t == UDP_TRIES - 1 || until > deadline)
                        until = deadline;
                if (send(fd, "hello\n", 6, 0) < 0) {
                        r = -errno;
                        break;
                }
                r = read_datagram(fd, line, size, until);
                if (r != -ETIMEDOUT)
                        break;
        }
        close(fd);
        return r;
}

static int cmd_ask(int argc, char **argv) {
        struct client_opts o = {};
        char line[LINE_MAX_LEN];
        int r;

        if (parse_client(argc, argv, false, &o) < 0) {
                usage();
                return 2;
        }
        r = o.proto == PROTO_TCP ? ask_tcp(&o, line, sizeof(line)) : ask_udp(&o, line, sizeof(line));
        if (r < 0) {
                fprintf(stderr, "natgw-peer: ask %s %s %s: %s\n", argv[0], argv[1], argv[2], strerror(-r));
                return 1;
        }
        printf("%s\n", line);
        return 0;
}

/*
 * One UDP flow (one socket, one source port) that keeps sending: a datagram every 100 ms for
 * --seconds, whatever happens to it (ICMP errors are read and ignored), as a game or VoIP
 * client does. Prints each answer that differs from the one before, then sent= and answered=.
 */
/* SIGUSR1 ends a stream early, as a success (the test is done with it): --seconds is its bound. */
static volatile sig_atomic_t stream_stop;

static void on_stream_stop(int sig) {
        stream_stop = 1;
}

static int stream_udp(const struct client_opts *o) {
        char line[LINE_MAX_LEN], last[LINE_MAX_LEN] = "", req[64];
        unsigned long sent = 0, answered = 0;
        int64_t end, next;
        int fd;

        fd = client_connect(o, now_ms() + o->timeout);
        if (fd < 0) {
                fprintf(stderr, "natgw-peer: stream udp: %s\n", strerror(-fd));
                return 1;
        }
        end = now_ms() + o->seconds;
        next = now_ms();
        while (now_ms() < end && !stream_stop) {
                int len = snprintf(req, sizeof(req), "seq %lu\n", sent);

                /* A port unreachable from an earlier datagram fails this send once: not an error. */
                if (send(fd, req, (size_t) len, 0) == len)
                        sent++;
                next += 100;
                while (ms_left(next) > 0 && !stream_stop) {
                        int r = read_datagram(fd, line, sizeof(line), next);

                        if (r == -ETIMEDOUT)
                                break;
                        if (r < 0)
                                continue; /* ECONNREFUSED: the ICMP error of a datagram */
                        answered++;
                        if (strcmp(line, last)) {
                                printf("%s\n", line);
                                snprintf(last, sizeof(last), "%s", line);
                        }
                }
        }
        close(fd);
        printf("sent=%lu answered=%lu\n", sent, answered);
        return sent > 0 ? 0 : 1;
}

static int cmd_stream(int argc, char **argv) {
        struct client_opts o = {};
        char line[LINE_MAX_LEN], req[64];
        unsigned long ok = 0;
        int64_t end, next;
        int fd, r = 0;

        if (parse_client(argc, argv, true, &o) < 0) {
                usage();
                return 2;
        }
        signal(SIGUSR1, on_stream_stop);
        if (o.proto == PROTO_UDP)
                return stream_udp(&o);
        fd = client_connect(&o, now_ms() + o.timeout);
        if (fd < 0) {
                fprintf(stderr, "natgw-peer: stream %s %s: %s\n", argv[1], argv[2], strerror(-fd));
                printf("exchanges=0\n");
                return 1;
        }
        end = now_ms() + o.seconds;
        next = now_ms();
        while (now_ms() < end && !stream_stop) {
                int len = snprintf(req, sizeof(req), "seq %lu\n", ok);

                if (send(fd, req, (size_t) len, MSG_NOSIGNAL) != len) {
                        r = stream_stop ? 0 : -errno;
                        break;
                }
                r = read_line(fd, line, sizeof(line), now_ms() + o.timeout);
                if (r < 0) {
                        /* The signal interrupted the exchange: the stream ends here, no error. */
                        if (stream_stop)
                                r = 0;
                        break;
                }
                if (strncmp(line, "peer=", 5)) {
                        r = -EBADMSG;
                        break;
                }
                if (ok == 0)
                        printf("%s\n", line);
                ok++;
                next += 100;
                if (ms_left(next) > 0)
                        poll(NULL, 0, ms_left(next));
        }
        close(fd);
        printf("exchanges=%lu\n", ok);
        if (r < 0) {
                fprintf(stderr, "natgw-peer: stream %s %s: exchange %lu: %s\n", argv[1], argv[2], ok + 1, strerror(-r));
                return 1;
        }
        return ok > 0 ? 0 : 1;
}

/* ---------------------------------------------------------------- sd_notify listener */

/* A datagram socket bound at @path (replacing a stale one); -1 after saying why. */
static int dgram_listen(const char *path, const char *what) {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof(sun.sun_path)) {
                fprintf(stderr, "natgw-peer: %s socket path too long: %s\n", what, path);
                return -1;
        }
        strcpy(sun.sun_path, path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || (unlink(sun.sun_path) < 0 && errno != ENOENT) ||
            bind(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
                fprintf(stderr, "natgw-peer: %s socket %s: %m\n", what, path);
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        fprintf(stderr, "natgw-peer: listening on %s\n", path);
        return fd;
}

static int cmd_notify(int argc, char **argv) {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        int64_t timeout = 10000, deadline;
        bool all = false;
        int fd;

        if (argc < 1 || strlen(argv[0]) >= sizeof(sun.sun_path))
                goto bad;
        for (int i = 1; i < argc; i += 2) {
                if (!strcmp(argv[i], "--all")) {
                        all = true;
                        i--;
                        continue;
                }
                if (i + 1 >= argc || strcmp(argv[i], "--timeout") || parse_seconds(argv[i + 1], 3600, &timeout) < 0)
                        goto bad;
        }
        strcpy(sun.sun_path, argv[0]);
        fd = dgram_listen(sun.sun_path, "notify");
        if (fd < 0)
                return 1;

        deadline = now_ms() + timeout;
        for (;;) {
                char buf[4096], *line, *save = NULL;
                ssize_t n;

                if (wait_fd(fd, POLLIN, deadline) < 0)
                        break;
                n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
                if (n < 0)
                        continue;
                buf[n] = '\0';
                for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                        printf("%s\n", line);
                        if (!all && !strcmp(line, "READY=1")) {
                                close(fd);
                                unlink(sun.sun_path);
                                return 0;
                        }
                }
        }
        close(fd);
        unlink(sun.sun_path);
        if (all)
                return 0;
        fprintf(stderr, "natgw-peer: no READY=1 on %s\n", sun.sun_path);
        return 1;
bad:
        usage();
        return 2;
}

/* ---------------------------------------------------------------- journald stand-in */

/* Print one native-protocol datagram: "KEY=VALUE\n" fields, or "KEY\n" + le64 size + data + "\n". */
static void journal_entry(const char *buf, size_t n) {
        size_t i = 0;

        while (i < n) {
                const char *nl = memchr(buf + i, '\n', n - i), *eq;
                size_t len = nl ? (size_t) (nl - (buf + i)) : n - i;

                eq = memchr(buf + i, '=', len);
                if (eq) {
                        printf("%.*s\n", (int) len, buf + i);
                        i += len + 1;
                        continue;
                }
                /* Binary-safe form: the name, a newline, the value's size, the value, a newline. */
                {
                        uint64_t size = 0;
                        size_t start = i + len + 1;

                        if (start + 8 > n)
                                break;
                        for (int b = 7; b >= 0; b--)
                                size = size << 8 | (uint8_t) buf[start + (size_t) b];
                        if (size > n - start - 8)
                                break;
                        printf("%.*s=", (int) len, buf + i);
                        for (size_t k = 0; k < size; k++) {
                                char c = buf[start + 8 + k];

                                if (c == '\n')
                                        fputs("\\n", stdout);
                                else
                                        putchar(c);
                        }
                        putchar('\n');
                        i = start + 8 + (size_t) size + 1;
                }
        }
        printf("\n");
        fflush(stdout);
}

static int cmd_journal(int argc, char **argv) {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        int64_t timeout = 10000, deadline;
        static char buf[256 * 1024];
        int fd, big = 8 * 1024 * 1024;

        if (argc < 1 || strlen(argv[0]) >= sizeof(sun.sun_path))
                goto bad;
        for (int i = 1; i < argc; i += 2)
                if (i + 1 >= argc || strcmp(argv[i], "--timeout") || parse_seconds(argv[i + 1], 3600, &timeout) < 0)
                        goto bad;
        strcpy(sun.sun_path, argv[0]);
        fd = dgram_listen(sun.sun_path, "journal");
        if (fd < 0)
                return 1;
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));

        deadline = now_ms() + timeout;
        for (;;) {
                ssize_t n;

                if (wait_fd(fd, POLLIN, deadline) < 0)
                        break;
                n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n > 0)
                        journal_entry(buf, (size_t) n);
        }
        close(fd);
        unlink(sun.sun_path);
        return 0;
bad:
        usage();
        return 2;
}

int main(int argc, char **argv) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        signal(SIGPIPE, SIG_IGN);

        if (argc < 2) {
                usage();
                return 2;
        }
        if (!strcmp(argv[1], "serve"))
                return cmd_serve(argc - 2, argv + 2);
        if (!strcmp(argv[1], "ask"))
                return cmd_ask(argc - 2, argv + 2);
        if (!strcmp(argv[1], "stream"))
                return cmd_stream(argc - 2, argv + 2);
        if (!strcmp(argv[1], "notify"))
                return cmd_notify(argc - 2, argv + 2);
        if (!strcmp(argv[1], "journal"))
                return cmd_journal(argc - 2, argv + 2);
        usage();
        return 2;
}

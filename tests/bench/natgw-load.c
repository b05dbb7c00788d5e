/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * natgw-load: new TCP connections as fast as they go, for the datapath benchmarks
 * (tests/bench/bench-datapath.py, bench-reload.py).
 *
 *   natgw-load serve --port PORT [--bind ADDR] [--seconds S]
 *   natgw-load connect ADDR PORT [--concurrency N] [--count N] [--seconds S] [--rate R]
 *                                [--from ADDR] [--timeout S]
 *
 * serve accepts every connection, sends it one byte and closes it; it stops after --seconds
 * (600) or at SIGTERM/SIGINT and prints "accepted=N".
 *
 * connect keeps --concurrency (64) non-blocking connects in flight until it has started
 * --count (100000) connections or --seconds (10) have passed, whichever comes first, or until
 * SIGTERM/SIGINT; with --rate it starts at most R connections per second. A connection counts
 * as ok once the server's byte has arrived; the latency is from connect() to that byte. The
 * client then closes it with SO_LINGER 0 (a RST): no TIME_WAIT on either host, so the source
 * ports, which the kernel picks (with --from: bound with IP_BIND_ADDRESS_NO_PORT), can be used
 * again at once. A connection that gets no byte within --timeout (5 s) is a timeout. At the
 * end one line of key=value pairs:
 *
 *   connections=N ok=N failed=N refused=N reset=N timeout=N unreachable=N other=N
 *   seconds=S rate=R p50_us=N p99_us=N max_us=N
 *
 * rate is ok connections per second over the whole run. The exit status is 0 when at least
 * one connection worked (the counters say what failed), 1 when none did or the run could not
 * start, 2 on a usage error.
 *
 * Every wait is bounded; only lab addresses are ever given to it by the benchmarks, and it
 * refuses to run in the host's own network namespace (tests/lab/host-netns.h).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "host-netns.h"
#include "lab-args.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define MAX_CONCURRENCY 4096
#define MAX_COUNT 20000000UL      /* latencies kept: 4 bytes each */
#define MAX_EVENTS 256

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig) {
        stop_requested = 1;
}

static int64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Milliseconds until @deadline (ns), for epoll_wait: 0 when past, at most @cap. */
static int ms_until(int64_t deadline, int cap) {
        int64_t d = (deadline - now_ns() + 999999) / 1000000;

        if (d < 0)
                return 0;
        return d > cap ? cap : (int) d;
}

static void usage(void) {
        fputs("usage: natgw-load serve --port PORT [--bind ADDR] [--seconds S]\n"
              "       natgw-load connect ADDR PORT [--concurrency N] [--count N] [--seconds S] [--rate R]\n"
              "                                    [--from ADDR] [--timeout S]\n",
              stderr);
}

/* A positive number of seconds up to @max, as nanoseconds. */
static int parse_seconds(const char *s, double max, int64_t *ret_ns) {
        char *end;
        double v;

        if (!s || !*s)
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno || *end || !(v > 0) || v > max)
                return -EINVAL;
        *ret_ns = (int64_t) (v * 1e9);
        return 0;
}

static void handle_signals(void) {
        struct sigaction sa = { .sa_handler = on_stop };

        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
}

/* ---------------------------------------------------------------- server */

static int cmd_serve(int argc, char **argv) {
        const char *bind_addr = NULL;
        unsigned long port = 0, accepted = 0;
        int64_t seconds = 600LL * 1000000000, deadline;
        struct sockaddr_storage ss;
        struct epoll_event ev = { .events = EPOLLIN };
        socklen_t len;
        int fd, ep, one = 1;

        for (int i = 0; i < argc; i += 2) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

                if (!v)
                        goto bad;
                if (!strcmp(a, "--port")) {
                        if (parse_uint(v, 1, 65535, &port) < 0)
                                goto bad;
                } else if (!strcmp(a, "--bind"))
                        bind_addr = v;
                else if (!strcmp(a, "--seconds")) {
                        if (parse_seconds(v, 86400, &seconds) < 0)
                                goto bad;
                } else
                        goto bad;
        }
        if (!port)
                goto bad;
        if (parse_addr(bind_addr ?: "::", (uint16_t) port, &ss, &len) < 0) {
                fprintf(stderr, "natgw-load: bad --bind address '%s'\n", bind_addr);
                return 2;
        }

        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                fprintf(stderr, "natgw-load: socket: %m\n");
                return 1;
        }
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ss.ss_family == AF_INET6) {
                int v6only = bind_addr ? 1 : 0;

                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
        }
        /* The backlog is capped by the namespace's net.core.somaxconn. */
        if (bind(fd, (struct sockaddr *) &ss, len) < 0 || listen(fd, 4096) < 0) {
                fprintf(stderr, "natgw-load: listen on port %lu: %m\n", port);
                close(fd);
                return 1;
        }
        ep = epoll_create1(EPOLL_CLOEXEC);
        if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
                fprintf(stderr, "natgw-load: epoll: %m\n");
                close(fd);
                return 1;
        }
        handle_signals();
        /* The benchmarks wait for this line before they connect. */
        fprintf(stderr, "natgw-load: listening on port %lu\n", port);

        deadline = now_ns() + seconds;
        while (!stop_requested && now_ns() < deadline) {
                struct epoll_event out;
                int k = epoll_wait(ep, &out, 1, ms_until(deadline, 1000));

                if (k < 0 && errno != EINTR) {
                        fprintf(stderr, "natgw-load: epoll_wait: %m\n");
                        break;
                }
                if (k <= 0)
                        continue;
                for (;;) {
                        int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                        if (c < 0) {
                                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                                    errno != ECONNABORTED)
                                        fprintf(stderr, "natgw-load: accept: %m\n");
                                break;
                        }
                        /* The client closes with a RST once it has the byte: no TIME_WAIT here. */
                        (void) send(c, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
                        close(c);
                        accepted++;
                }
        }
        close(ep);
        close(fd);
        printf("accepted=%lu\n", accepted);
        return 0;
bad:
        usage();
        return 2;
}

/* ---------------------------------------------------------------- client */

struct slot {
        int fd;                 /* -1: free */
        int64_t started;        /* ns */
};

struct load {
        struct sockaddr_storage dst, src;
        socklen_t dst_len, src_len;
        bool bind_src;
        unsigned long concurrency, count;
        double rate;            /* connections started per second, 0: no limit */
        int64_t seconds, timeout;

        struct slot *slots;
        unsigned long in_flight, started;
        unsigned long ok, refused, reset, timedout, unreachable, other;
        uint32_t *lat_us;       /* of the ok connections, in completion order */
        int ep;
};

static void count_error(struct load *l, int err) {
        switch (err) {
        case ECONNREFUSED:
                l->refused++;
                break;
        case ECONNRESET:
        case EPIPE:
                l->reset++;
                break;
        case ETIMEDOUT:
                l->timedout++;
                break;
        case EHOSTUNREACH:
        case ENETUNREACH:
                l->unreachable++;
                break;
        default:
                l->other++;
                if (l->other <= 5)
                        fprintf(stderr, "natgw-load: connection failed: %s\n", strerror(err));
        }
}

static void slot_close(struct load *l, unsigned long i, bool reset) {
        struct slot *s = &l->slots[i];

        if (reset) {
                struct linger lg = { .l_onoff = 1, .l_linger = 0 };

                (void) setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        }
        close(s->fd);       /* also takes it out of the epoll set */
        s->fd = -1;
        l->in_flight--;
}

/* Starts a connection in a free slot; 0, or -errno when no socket could be made at all. */
static int slot_start(struct load *l, unsigned long i) {
        struct slot *s = &l->slots[i];
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = i };
        int fd, one = 1;

        fd = socket(l->dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        l->started++;
        if (l->bind_src) {
                /* The port is chosen at connect(), for the full 4-tuple: many more than 64k. */
                if (l->src.ss_family == AF_INET)
                        (void) setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
                if (bind(fd, (struct sockaddr *) &l->src, l->src_len) < 0) {
                        count_error(l, errno);
                        close(fd);
                        return 0;
                }
        }
        s->started = now_ns();
        if (connect(fd, (struct sockaddr *) &l->dst, l->dst_len) < 0 && errno != EINPROGRESS) {
                count_error(l, errno);
                close(fd);
                return 0;
        }
        /* A refused or reset connect shows up as EPOLLERR/EPOLLHUP, the server's byte as EPOLLIN. */
        if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        s->fd = fd;
        l->in_flight++;
        return 0;
}

static void slot_event(struct load *l, unsigned long i) {
        struct slot *s = &l->slots[i];
        char c;
        ssize_t n;

        if (s->fd < 0)
                return;
        n = recv(s->fd, &c, 1, MSG_DONTWAIT);
        if (n == 1) {
                int64_t us = (now_ns() - s->started) / 1000;

                l->lat_us[l->ok++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t) us;
                slot_close(l, i, true);
                return;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                return;
        count_error(l, n == 0 ? ECONNRESET : errno);
        slot_close(l, i, true);
}

/* Connections older than the timeout are given up. */
static void expire(struct load *l, int64_t now) {
        for (unsigned long i = 0; i < l->concurrency; i++)
                if (l->slots[i].fd >= 0 && now - l->slots[i].started > l->timeout) {
                        l->timedout++;
                        slot_close(l, i, true);
                }
}

static int cmp_u32(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

        return x < y ? -1 : x > y;
}

static uint32_t percentile(const uint32_t *sorted, unsigned long n, unsigned pct) {
        if (!n)
                return 0;
        return sorted[(n - 1) * pct / 100];
}

static int run_load(struct load *l) {
        struct epoll_event evs[MAX_EVENTS];
        int64_t t0 = now_ns(), stop_at = t0 + l->seconds, last_expire = t0, t1;
        unsigned long failed;
        bool starting = true;

        while (starting || l->in_flight > 0) {
                int64_t now = now_ns(), next_start = 0;
                int k, wait_ms;

                if (starting && (stop_requested || now >= stop_at || l->started >= l->count))
                        starting = false;
                if (starting) {
                        for (unsigned long i = 0; i < l->concurrency && l->started < l->count; i++) {
                                int r;

                                if (l->slots[i].fd >= 0)
                                        continue;
                                if (l->rate > 0) {
                                        next_start = t0 + (int64_t) ((double) l->started * 1e9 / l->rate);
                                        if (next_start > now)
                                                break;
                                }
                                r = slot_start(l, i);
                                if (r < 0) {
                                        fprintf(stderr, "natgw-load: socket: %s\n", strerror(-r));
                                        return r;
                                }
                        }
                }
                if (!starting && l->in_flight == 0)
                        break;

                wait_ms = 100;
                if (starting && l->rate > 0 && next_start > now)
                        wait_ms = ms_until(next_start, wait_ms);
                k = epoll_wait(l->ep, evs, MAX_EVENTS, wait_ms);
                if (k < 0 && errno != EINTR) {
                        fprintf(stderr, "natgw-load: epoll_wait: %m\n");
                        return -errno;
                }
                for (int j = 0; j < k; j++)
                        slot_event(l, evs[j].data.u64);

                now = now_ns();
                if (now - last_expire > 50000000) {
                        expire(l, now);
                        last_expire = now;
                }
        }
        t1 = now_ns();

        qsort(l->lat_us, l->ok, sizeof(l->lat_us[0]), cmp_u32);
        failed = l->refused + l->reset + l->timedout + l->unreachable + l->other;
        printf("connections=%lu ok=%lu failed=%lu refused=%lu reset=%lu timeout=%lu unreachable=%lu other=%lu "
               "seconds=%.3f rate=%.1f p50_us=%u p99_us=%u max_us=%u\n",
               l->ok + failed, l->ok, failed, l->refused, l->reset, l->timedout, l->unreachable, l->other,
               (double) (t1 - t0) / 1e9, t1 > t0 ? (double) l->ok * 1e9 / (double) (t1 - t0) : 0.0,
               percentile(l->lat_us, l->ok, 50), percentile(l->lat_us, l->ok, 99),
               l->ok ? l->lat_us[l->ok - 1] : 0);
        return 0;
}

static int cmd_connect(int argc, char **argv) {
        static struct load l;
        const char *from = NULL;
        unsigned long port, v;
        int r;

        l.concurrency = 64;
        l.count = 100000;
        l.seconds = 10LL * 1000000000;
        l.timeout = 5LL * 1000000000;

        if (argc < 2 || parse_uint(argv[1], 1, 65535, &port) < 0 ||
            parse_addr(argv[0], (uint16_t) port, &l.dst, &l.dst_len) < 0)
                goto bad;
        for (int i = 2; i < argc; i += 2) {
                const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

                if (!val)
                        goto bad;
                if (!strcmp(a, "--concurrency")) {
                        if (parse_uint(val, 1, MAX_CONCURRENCY, &l.concurrency) < 0)
                                goto bad;
                } else if (!strcmp(a, "--count")) {
                        if (parse_uint(val, 1, MAX_COUNT, &l.count) < 0)
                                goto bad;
                } else if (!strcmp(a, "--rate")) {
                        if (parse_uint(val, 1, 10000000, &v) < 0)
                                goto bad;
                        l.rate = (double) v;
                } else if (!strcmp(a, "--seconds")) {
                        if (parse_seconds(val, 86400, &l.seconds) < 0)
                                goto bad;
                } else if (!strcmp(a, "--timeout")) {
                        if (parse_seconds(val, 600, &l.timeout) < 0)
                                goto bad;
                } else if (!strcmp(a, "--from"))
                        from = val;
                else
                        goto bad;
        }
        if (from) {
                if (parse_addr(from, 0, &l.src, &l.src_len) < 0 || l.src.ss_family != l.dst.ss_family) {
                        fprintf(stderr, "natgw-load: bad --from address '%s'\n", from);
                        return 2;
                }
                l.bind_src = true;
        }

        l.slots = calloc(l.concurrency, sizeof(*l.slots));
        l.lat_us = calloc(l.count, sizeof(*l.lat_us));
        l.ep = epoll_create1(EPOLL_CLOEXEC);
        if (!l.slots || !l.lat_us || l.ep < 0) {
                fprintf(stderr, "natgw-load: out of memory or epoll: %m\n");
                return 1;
        }
        for (unsigned long i = 0; i < l.concurrency; i++)
                l.slots[i].fd = -1;
        handle_signals();

        r = run_load(&l);
        close(l.ep);
        free(l.slots);
        free(l.lat_us);
        return r < 0 || l.ok == 0 ? 1 : 0;
bad:
        usage();
        return 2;
}

int main(int argc, char **argv) {
        setvbuf(stdout, NULL, _IOLBF, 0);

        if (argc < 2) {
                usage();
                return 2;
        }
        if (in_host_netns()) {
                fputs("natgw-load: refusing to run in the host's network namespace; "
                      "run it inside a lab namespace (ip netns exec NS natgw-load ...)\n", stderr);
                return 1;
        }
        if (!strcmp(argv[1], "serve"))
                return cmd_serve(argc - 2, argv + 2);
        if (!strcmp(argv[1], "connect"))
                return cmd_connect(argc - 2, argv + 2);
        usage();
        return 2;
}

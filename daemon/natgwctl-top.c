/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * natgwctl top: two readings of natgwd's "hosts" (metrics.hosts) a second apart make each
 * host's rate; on a terminal the screen is redrawn every second, each time with the rate since
 * the reading before.
 */

#include <arpa/inet.h>
#include <inttypes.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "ctl-client.h"
#include "gw-hosts.h"
#include "natgwctl-top.h"
#include "util.h"

enum { EXIT_OK = 0, EXIT_REJECTED = 1, EXIT_UNREACHABLE = 3 };

/* A reading, with the reply its strings point into. */
struct reading {
        json_t *reply;
        struct natgw_top_sample s;
        uint64_t untracked_packets;
};

static void reading_clear(struct reading *r) {
        json_decref(r->reply);
        free(r->s.hosts);
        free(r->s.entries);
        free(r->s.connections);
        *r = (struct reading){};
}

static uint64_t u64(const json_t *o, const char *key) {
        json_int_t v = json_integer_value(json_object_get(o, key));

        return v > 0 ? (uint64_t)v : 0;
}

/* The rows of a "hosts" reply into @r->s; -EPROTO when it is not one. */
static int reading_parse(struct reading *r) {
        const json_t *hosts = json_object_get(r->reply, "hosts"), *h;
        size_t n = json_array_size(hosts), i;

        if (!json_is_array(hosts))
                return -EPROTO;
        r->s.hosts = calloc(MAX(n, (size_t)1), sizeof(*r->s.hosts));
        r->s.entries = calloc(MAX(n, (size_t)1), sizeof(*r->s.entries));
        r->s.connections = calloc(MAX(n, (size_t)1), sizeof(*r->s.connections));
        if (!r->s.hosts || !r->s.entries || !r->s.connections)
                return -ENOMEM;
        json_array_foreach(hosts, i, h) {
                struct natgw_host *x = &r->s.hosts[i];
                const json_t *conn = json_object_get(h, "connections");

                const char *addr = json_string_value(json_object_get(h, "address"));

                if (!addr || natgw_addr_parse(addr, &x->addr) < 0)
                        return -EPROTO;
                x->bytes_out = u64(h, "bytes_out");
                x->packets_out = u64(h, "packets_out");
                x->bytes_in = u64(h, "bytes_in");
                x->packets_in = u64(h, "packets_in");
                r->s.entries[i] = json_string_value(json_object_get(h, "entry"));
                r->s.connections[i] = json_is_integer(conn) ? (int64_t)json_integer_value(conn) : -1;
        }
        r->s.n = n;
        r->s.usec = u64(r->reply, "monotonic_usec");
        r->untracked_packets = u64(r->reply, "untracked_packets");
        return 0;
}

/* One "hosts" request; the exit code natgwctl ends with when it fails, else -1. */
static int read_hosts(const char *socket, double timeout, struct reading *r) {
        struct natgw_ctl_request req = { .command = NATGW_CTL_HOSTS };
        _cleanup_(freep) char *error = NULL;
        int k;

        reading_clear(r);
        k = natgw_ctl_call(socket, &req, (uint64_t)(timeout * 1e6), &r->reply, &error);
        if (k < 0) {
                fprintf(stderr, "natgwctl: cannot reach natgwd at %s: %s\n", socket, error ? error : strerror(-k));
                return EXIT_UNREACHABLE;
        }
        if (!json_is_true(json_object_get(r->reply, "ok"))) {
                fprintf(stderr, "natgwctl: %s\n", json_string_value(json_object_get(r->reply, "error")) ?: "top failed");
                return EXIT_REJECTED;
        }
        k = reading_parse(r);
        if (k < 0) {
                fprintf(stderr, "natgwctl: natgwd's hosts reply is not understood: %s\n", strerror(-k));
                return EXIT_REJECTED;
        }
        return -1;
}

/* "12.3 MB/s": decimal units, as network rates are given. */
static const char *rate_text(double bytes, char *buf, size_t size) {
        static const char *const units[] = { "B/s", "kB/s", "MB/s", "GB/s" };
        size_t u = 0;

        while (bytes >= 1000 && u < ELEMENTSOF(units) - 1) {
                bytes /= 1000;
                u++;
        }
        snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
        return buf;
}

static json_t *rows_json(const struct natgw_top_row *rows, size_t n, const struct reading *prev,
                         const struct reading *cur) {
        _cleanup_(json_decrefp) json_t *a = json_array();
        char addr[INET6_ADDRSTRLEN];

        for (size_t i = 0; a && i < n; i++) {
                const struct natgw_top_row *w = &rows[i];

                if (json_array_append_new(a, json_pack("{s:s,s:s?,s:f,s:f,s:I,s:I,s:I,s:I,s:o}", "address",
                                                        natgw_addr_format(&w->addr, addr, sizeof(addr)), "entry",
                                                        w->entry, "rate_out", w->rate_out, "rate_in", w->rate_in,
                                                        "bytes_out", (json_int_t)w->bytes_out, "bytes_in",
                                                        (json_int_t)w->bytes_in, "packets_out",
                                                        (json_int_t)w->packets_out, "packets_in",
                                                        (json_int_t)w->packets_in, "connections",
                                                        w->connections >= 0 ? json_integer(w->connections)
                                                                            : json_null())) < 0)
                        return NULL;
        }
        return json_pack("{s:b,s:f,s:I,s:I,s:I,s:O}", "ok", 1, "seconds",
                         (double)(cur->s.usec - prev->s.usec) / 1e6, "hosts_total", (json_int_t)cur->s.n, "max",
                         (json_int_t)u64(cur->reply, "max"), "untracked_packets", (json_int_t)cur->untracked_packets,
                         "hosts", a);
}

static void print_rows(const struct natgw_top_row *rows, size_t n, size_t top, const struct reading *cur) {
        char addr[INET6_ADDRSTRLEN], out[32], in[32], conn[24];

        printf("%zu inside hosts (at most %" PRIu64 " tracked), %" PRIu64 " packets untracked; top %zu by bandwidth\n\n",
               cur->s.n, u64(cur->reply, "max"), cur->untracked_packets, MIN(n, top));
        printf("%-39s %12s %12s %12s  %s\n", "HOST", "OUT", "IN", "CONNECTIONS", "ENTRY");
        for (size_t i = 0; i < n && i < top; i++) {
                const struct natgw_top_row *w = &rows[i];

                if (w->connections >= 0)
                        snprintf(conn, sizeof(conn), "%" PRId64, w->connections);
                else
                        snprintf(conn, sizeof(conn), "-");
                printf("%-39s %12s %12s %12s  %s\n", natgw_addr_format(&w->addr, addr, sizeof(addr)),
                       rate_text(w->rate_out, out, sizeof(out)), rate_text(w->rate_in, in, sizeof(in)), conn,
                       w->entry ?: "-");
        }
}

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
        stop = 1;
}

int natgwctl_top(const char *socket, bool json, double timeout, unsigned top) {
        struct reading a = {}, b = {}, *prev = &a, *cur = &b;
        bool live = !json && isatty(STDOUT_FILENO);
        int r = EXIT_OK, k;

        k = read_hosts(socket, timeout, prev);
        if (k >= 0) {
                reading_clear(prev);
                return k;
        }
        if (live) {
                signal(SIGINT, on_signal);
                signal(SIGTERM, on_signal);
        }
        do {
                _cleanup_(freep) struct natgw_top_row *rows = NULL;
                struct reading *t;
                size_t n = 0;

                /* A second between the readings: the rate is over it. */
                (void)nanosleep(&(struct timespec){ .tv_sec = 1 }, NULL);
                if (stop)
                        break;
                k = read_hosts(socket, timeout, cur);
                if (k >= 0) {
                        r = k;
                        break;
                }
                if (natgw_top_rates(&prev->s, &cur->s, &rows, &n) < 0) {
                        fprintf(stderr, "natgwctl: out of memory\n");
                        r = EXIT_REJECTED;
                        break;
                }
                if (json) {
                        _cleanup_(json_decrefp) json_t *j = rows_json(rows, MIN(n, (size_t)top), prev, cur);
                        _cleanup_(freep) char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;

                        if (!s) {
                                fprintf(stderr, "natgwctl: out of memory\n");
                                r = EXIT_REJECTED;
                                break;
                        }
                        printf("%s\n", s);
                } else {
                        if (live)
                                printf("\033[H\033[2J"); /* redraw in place, like top */
                        print_rows(rows, n, top, cur);
                }
                fflush(stdout);
                t = prev, prev = cur, cur = t;
        } while (live && !stop);
        reading_clear(&a);
        reading_clear(&b);
        return r;
}

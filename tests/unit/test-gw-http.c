/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The metrics endpoint's server (gw-http.c) on a real listening socket and sd-event loop: a
 * scrape gets the handler's body, a request that trickles in byte by byte is still answered,
 * a failing handler is a 500, more than NATGW_HTTP_CLIENTS_MAX connections are closed at once
 * while the others stay served, and only a listening stream socket is taken.
 */

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "gw-http.h"
#include "util.h"

struct ctx {
        unsigned calls;
        int fail;
};

static int handler(char **ret_body, size_t *ret_len, void *userdata) {
        struct ctx *c = userdata;

        c->calls++;
        if (c->fail)
                return c->fail;
        *ret_body = strdup("natgw_up 1\n");
        *ret_len = strlen("natgw_up 1\n");
        return *ret_body ? 0 : -ENOMEM;
}

static struct sockaddr_un addr(void) {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };

        /* Abstract: nothing in the file system to clean up. */
        snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1, "natgw-http-test-%d", (int)getpid());
        return sun;
}

static int listener(void) {
        struct sockaddr_un sun = addr();
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
        assert_int_equal(listen(fd, 64), 0);
        return fd;
}

static int client(void) {
        struct sockaddr_un sun = addr();
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
        return fd;
}

/* Run the loop until @fd has its whole answer (the server closed) or 200 turns passed. */
static size_t answer(sd_event *e, int fd, char *buf, size_t size) {
        size_t len = 0;

        for (int i = 0; i < 200; i++) {
                ssize_t n;

                assert_true(sd_event_run(e, 10000) >= 0);
                while ((n = recv(fd, buf + len, size - 1 - len, MSG_DONTWAIT)) > 0)
                        len += (size_t)n;
                if (n == 0)
                        break;
        }
        buf[len] = '\0';
        return len;
}

static void test_scrape(void **state) {
        _cleanup_(natgw_http_server_freep) struct natgw_http_server *s = NULL;
        struct ctx c = {};
        char buf[1024];
        sd_event *e = NULL;
        int lfd = listener(), fd;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(natgw_http_server_new(e, &lfd, 1, "/metrics", "text/plain", handler, &c, &s), 0);

        fd = client();
        assert_int_equal(send(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 35, 0), 35);
        answer(e, fd, buf, sizeof(buf));
        assert_string_equal(buf, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n"
                                 "Connection: close\r\n\r\nnatgw_up 1\n");
        close(fd);

        /* Byte by byte, with loop turns in between. */
        fd = client();
        for (const char *p = "GET /metrics HTTP/1.0\n\n"; *p; p++) {
                assert_int_equal(send(fd, p, 1, 0), 1);
                assert_true(sd_event_run(e, 1000) >= 0);
        }
        answer(e, fd, buf, sizeof(buf));
        assert_non_null(strstr(buf, "\r\n\r\nnatgw_up 1\n"));
        close(fd);

        /* The handler fails: 500, and natgwd goes on. */
        c.fail = -EIO;
        fd = client();
        assert_int_equal(send(fd, "GET /metrics HTTP/1.1\r\n\r\n", 25, 0), 25);
        answer(e, fd, buf, sizeof(buf));
        assert_true(strncmp(buf, "HTTP/1.1 500 ", 13) == 0);
        close(fd);
        c.fail = 0;

        /* Not the path: 404 without calling the handler. */
        fd = client();
        assert_int_equal(send(fd, "GET / HTTP/1.1\r\n\r\n", 18, 0), 18);
        answer(e, fd, buf, sizeof(buf));
        assert_true(strncmp(buf, "HTTP/1.1 404 ", 13) == 0);
        close(fd);
        assert_int_equal(c.calls, 3);
        assert_int_equal(natgw_http_server_get_stats(s)->served, 2);
        assert_int_equal(natgw_http_server_get_stats(s)->failed, 1);
        assert_int_equal(natgw_http_server_get_stats(s)->not_found, 1);

        s = natgw_http_server_free(s);
        sd_event_unref(e);
}

static void test_busy(void **state) {
        _cleanup_(natgw_http_server_freep) struct natgw_http_server *s = NULL;
        int idle[NATGW_HTTP_CLIENTS_MAX], lfd = listener(), fd;
        struct ctx c = {};
        char buf[1024];
        sd_event *e = NULL;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(natgw_http_server_new(e, &lfd, 1, "/metrics", "text/plain", handler, &c, &s), 0);
        /* As many connections as allowed, each silent. */
        for (size_t i = 0; i < ELEMENTSOF(idle); i++) {
                idle[i] = client();
                assert_true(sd_event_run(e, 1000) >= 0);
        }
        /* One more is closed at once, without an answer. */
        fd = client();
        assert_int_equal(answer(e, fd, buf, sizeof(buf)), 0);
        close(fd);
        assert_int_equal(natgw_http_server_get_stats(s)->refused_busy, 1);
        /* One of the silent ones goes: a scrape is served again. */
        close(idle[0]);
        for (int i = 0; i < 5; i++)
                assert_true(sd_event_run(e, 1000) >= 0);
        fd = client();
        assert_int_equal(send(fd, "GET /metrics HTTP/1.1\r\n\r\n", 25, 0), 25);
        answer(e, fd, buf, sizeof(buf));
        assert_true(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
        close(fd);
        for (size_t i = 1; i < ELEMENTSOF(idle); i++)
                close(idle[i]);
        s = natgw_http_server_free(s);
        sd_event_unref(e);
}

static void test_not_listening(void **state) {
        struct natgw_http_server *s = NULL;
        sd_event *e = NULL;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), dgram = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(natgw_http_server_new(e, &fd, 1, "/metrics", "text/plain", handler, NULL, &s), -ENOTSOCK);
        assert_int_equal(natgw_http_server_new(e, &dgram, 1, "/metrics", "text/plain", handler, NULL, &s), -ENOTSOCK);
        assert_null(s);
        /* Taken over even on failure: closed. */
        assert_int_equal(fcntl(fd, F_GETFD), -1);
        assert_int_equal(fcntl(dgram, F_GETFD), -1);
        sd_event_unref(e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_scrape),
                cmocka_unit_test(test_busy),
                cmocka_unit_test(test_not_listening),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

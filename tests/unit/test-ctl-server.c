/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The control socket server's own files: what it replaces at its path and what it leaves alone. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <fcntl.h>
#include <pthread.h>

#include <cmocka.h>

#include "ctl-client.h"
#include "ctl-server.h"
#include "time-util.h"
#include "util.h"

static int handler(const struct natgw_ctl_request *req, json_t **ret_reply, struct natgw_ctl_line *ret_line,
                   void *userdata) {
        *ret_reply = json_pack("{s:b}", "ok", true);
        return *ret_reply ? 0 : -ENOMEM;
}

static void write_file(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        assert_int_equal(close(fd), 0);
}

static void assert_file(const char *path, const char *text) {
        char buf[64] = "";
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(read(fd, buf, sizeof(buf) - 1), (ssize_t)strlen(text));
        assert_string_equal(buf, text);
        assert_int_equal(close(fd), 0);
}

/* A socket bound at @path whose owner is gone: what a killed natgwd leaves behind. */
static void make_stale_socket(const char *path) {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
        assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
        assert_int_equal(close(fd), 0);
}

static void test_socket_path(void **state) {
        char dir[] = "/tmp/natgw-ctl-XXXXXX";
        _cleanup_(freep) char *sock = NULL, *file = NULL, *link = NULL, *dangling = NULL;
        struct natgw_ctl_server *s = NULL, *other = NULL;
        sd_event *e = NULL;
        struct stat st;

        assert_int_equal(sd_event_new(&e), 0);
        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&sock, "%s/natgwd.sock", dir) > 0);
        assert_true(asprintf(&file, "%s/natgwd.conf", dir) > 0);
        assert_true(asprintf(&link, "%s/link.sock", dir) > 0);
        assert_true(asprintf(&dangling, "%s/dangling.sock", dir) > 0);

        /* A regular file, a link to one, a link to nothing: refused, and each stays as it was. */
        write_file(file, "version = 1;\n");
        assert_int_equal(natgw_ctl_server_new(e, file, handler, NULL, &s), -ENOTSOCK);
        assert_null(s);
        assert_file(file, "version = 1;\n");
        assert_int_equal(symlink(file, link), 0);
        assert_int_equal(natgw_ctl_server_new(e, link, handler, NULL, &s), -ENOTSOCK);
        assert_int_equal(lstat(link, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        assert_file(file, "version = 1;\n");
        assert_int_equal(symlink("/nonexistent/natgwd.sock", dangling), 0);
        assert_int_equal(natgw_ctl_server_new(e, dangling, handler, NULL, &s), -ENOTSOCK);
        assert_int_equal(lstat(dangling, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        /* And a directory. */
        assert_int_equal(natgw_ctl_server_new(e, dir, handler, NULL, &s), -ENOTSOCK);

        /* A stale socket is replaced; a live one is not; the server removes its own at the end. */
        make_stale_socket(sock);
        assert_int_equal(natgw_ctl_server_new(e, sock, handler, NULL, &s), 0);
        assert_non_null(s);
        assert_int_equal(natgw_ctl_server_new(e, sock, handler, NULL, &other), -EADDRINUSE);
        assert_null(other);
        s = natgw_ctl_server_free(s);
        assert_int_equal(lstat(sock, &st), -1);
        assert_int_equal(errno, ENOENT);

        assert_int_equal(unlink(dangling), 0);
        assert_int_equal(unlink(link), 0);
        assert_int_equal(unlink(file), 0);
        assert_int_equal(rmdir(dir), 0);
        sd_event_unref(e);
}

static size_t reply_size; /* of the "pad" string in handler_sized()'s reply */
static unsigned handled;

static int handler_sized(const struct natgw_ctl_request *req, json_t **ret_reply, struct natgw_ctl_line *ret_line,
                         void *userdata) {
        _cleanup_(freep) char *pad = malloc(reply_size + 1);

        handled++;
        if (!pad)
                return -ENOMEM;
        memset(pad, 'x', reply_size);
        pad[reply_size] = '\0';
        *ret_reply = json_pack("{s:b,s:s}", "ok", true, "pad", pad);
        return *ret_reply ? 0 : -ENOMEM;
}

static int client(const char *path, const char *request) {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
        assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
        if (request)
                assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
        return fd;
}

/* Everything the server sent until it closed. */
static size_t read_all(int fd) {
        char buf[65536];
        size_t n = 0;
        ssize_t k;

        while ((k = read(fd, buf, sizeof(buf))) > 0)
                n += (size_t)k;
        return n;
}

/* The client reads while the server flushes (the flush waits in poll() for it). */
static void *read_thread(void *fd) {
        return (void *)(uintptr_t)read_all(*(int *)fd);
}

static void test_flush(void **state) {
        char dir[] = "/tmp/natgw-ctl-XXXXXX";
        _cleanup_(freep) char *sock = NULL;
        struct natgw_ctl_server *s = NULL;
        sd_event *e = NULL;
        int answered, unhandled, silent;
        pthread_t reader;
        uint64_t t0, t1;
        void *got;

        assert_int_equal(sd_event_new(&e), 0);
        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&sock, "%s/natgwd.sock", dir) > 0);
        assert_int_equal(natgw_ctl_server_new(e, sock, handler_sized, NULL, &s), 0);

        /* A reply larger than the socket buffers, made but not yet written, when the loop ends
         * (a stop signal handled first): the flush writes it all. */
        reply_size = 4 * 1024 * 1024;
        answered = client(sock, "{\"command\":\"reload\"}\n");
        for (int i = 0; i < 10 && handled == 0; i++)
                assert_true(sd_event_run(e, 1000000) >= 0);
        assert_int_equal(handled, 1);
        /* One connected but not yet read: dropped, it did nothing. */
        unhandled = client(sock, "{\"command\":\"reload\"}\n");
        assert_int_equal(pthread_create(&reader, NULL, read_thread, &answered), 0);
        assert_int_equal(natgw_ctl_server_flush(s, 5 * 1000000u), 0);
        assert_int_equal(pthread_join(reader, &got), 0);
        assert_int_equal((size_t)(uintptr_t)got, reply_size + strlen("{\"ok\":true,\"pad\":\"\"}\n"));
        assert_int_equal(handled, 1);
        s = natgw_ctl_server_free(s);
        assert_int_equal(read_all(unhandled), 0);
        close(answered);
        close(unhandled);

        /* A client that never reads its reply is dropped at the timeout, and counted. */
        handled = 0;
        assert_int_equal(natgw_ctl_server_new(e, sock, handler_sized, NULL, &s), 0);
        silent = client(sock, "{\"command\":\"reload\"}\n");
        for (int i = 0; i < 10 && handled == 0; i++)
                assert_true(sd_event_run(e, 1000000) >= 0);
        assert_int_equal(handled, 1);
        t0 = natgw_now_usec(CLOCK_MONOTONIC);
        assert_int_equal(natgw_ctl_server_flush(s, 200 * 1000u), 1);
        t1 = natgw_now_usec(CLOCK_MONOTONIC);
        assert_true(t1 - t0 >= 200 * 1000u);
        assert_true(t1 - t0 < 2 * 1000000u);
        close(silent);
        s = natgw_ctl_server_free(s);

        assert_int_equal(rmdir(dir), 0);
        sd_event_unref(e);
}

#define SHOW_LINE "{\"ok\":true,\"entries\":[{\"name\":\"a\"},{\"name\":\"b\"}]}\n"

#define NO_OK_LINE "{\"entries\":[{\"name\":\"a\"}],\"ok\":\"yes\"}\n"

/* show: a line of its own; reload: a line, but a failure; metrics: a line without a boolean
 * "ok"; anything else: JSON. */
static int handler_line(const struct natgw_ctl_request *req, json_t **ret_reply, struct natgw_ctl_line *ret_line,
                        void *userdata) {
        handled++;
        if (req->command == NATGW_CTL_METRICS) {
                ret_line->s = strdup(NO_OK_LINE);
                ret_line->len = strlen(NO_OK_LINE);
                return 0;
        }
        if (req->command == NATGW_CTL_SHOW || req->command == NATGW_CTL_RELOAD) {
                ret_line->s = strdup(SHOW_LINE);
                ret_line->len = strlen(SHOW_LINE);
                return req->command == NATGW_CTL_SHOW ? 0 : -EIO;
        }
        *ret_reply = json_pack("{s:b,s:s}", "ok", true, "from", "json");
        return *ret_reply ? 0 : -ENOMEM;
}

/* The reply to @request, all of it. */
static char *ask(sd_event *e, const char *sock, const char *request) {
        int fd = client(sock, request);
        unsigned was = handled;
        char buf[4096];
        size_t n = 0;
        ssize_t k;

        for (int i = 0; i < 10 && handled == was; i++)
                assert_true(sd_event_run(e, 1000000) >= 0);
        assert_int_equal(handled, was + 1);
        /* The reply fits the socket's buffer: one more turn writes it and closes. */
        for (int i = 0; i < 3; i++)
                assert_true(sd_event_run(e, 100000) >= 0);
        while ((k = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
                n += (size_t)k;
        buf[n] = '\0';
        close(fd);
        return strdup(buf);
}

/* A handler's own line goes out byte for byte; with a failure, the line is dropped (and freed:
 * the ASan and valgrind runs) for the generic error. */
static void test_line_reply(void **state) {
        char dir[] = "/tmp/natgw-ctl-XXXXXX";
        _cleanup_(freep) char *sock = NULL, *show = NULL, *status = NULL, *reload = NULL;
        struct natgw_ctl_server *s = NULL;
        sd_event *e = NULL;

        assert_int_equal(sd_event_new(&e), 0);
        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&sock, "%s/natgwd.sock", dir) > 0);
        assert_int_equal(natgw_ctl_server_new(e, sock, handler_line, NULL, &s), 0);
        show = ask(e, sock, "{\"command\":\"show\"}\n");
        assert_string_equal(show, SHOW_LINE);
        status = ask(e, sock, "{\"command\":\"status\"}\n");
        assert_string_equal(status, "{\"ok\":true,\"from\":\"json\"}\n");
        reload = ask(e, sock, "{\"command\":\"reload\"}\n");
        assert_non_null(strstr(reload, "\"ok\":false"));
        assert_non_null(strstr(reload, "reload failed"));
        s = natgw_ctl_server_free(s);
        assert_int_equal(rmdir(dir), 0);
        sd_event_unref(e);
}

static volatile int serving;

/* The server's loop, while the test's own thread is the client. */
static void *serve_thread(void *e) {
        for (int i = 0; i < 100 && serving; i++)
                if (sd_event_run(e, 20000) < 0)
                        break;
        return NULL;
}

static int collect(enum natgw_json_event ev, const char *key, json_t *value, void *userdata) {
        json_t *names = userdata;

        if (ev == NATGW_JSON_ELEMENT)
                return json_array_append(names, json_object_get(value, "name"));
        return 0;
}

/* natgwctl's streamed call: the elements as they come, and a reply whose "ok" is no boolean
 * refused as natgw_ctl_call() refuses it, after its elements were passed. */
static void test_call_stream(void **state) {
        char dir[] = "/tmp/natgw-ctl-XXXXXX";
        _cleanup_(freep) char *sock = NULL, *error = NULL, *error2 = NULL;
        _cleanup_(json_decrefp) json_t *names = json_array(), *names2 = json_array(), *whole = NULL;
        struct natgw_ctl_request show = { .command = NATGW_CTL_SHOW }, metrics = { .command = NATGW_CTL_METRICS };
        struct natgw_ctl_server *s = NULL;
        sd_event *e = NULL;
        pthread_t server;

        assert_int_equal(sd_event_new(&e), 0);
        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&sock, "%s/natgwd.sock", dir) > 0);
        assert_int_equal(natgw_ctl_server_new(e, sock, handler_line, NULL, &s), 0);
        serving = 1;
        assert_int_equal(pthread_create(&server, NULL, serve_thread, e), 0);
        assert_int_equal(natgw_ctl_call_stream(sock, &show, 2000000, "entries", collect, names, &error), 0);
        assert_null(error);
        assert_int_equal(json_array_size(names), 2);
        assert_string_equal(json_string_value(json_array_get(names, 1)), "b");
        assert_int_equal(natgw_ctl_call_stream(sock, &metrics, 2000000, "entries", collect, names2, &error), -EBADMSG);
        assert_string_equal(error, "malformed reply from natgwd: not an object with \"ok\"");
        assert_int_equal(json_array_size(names2), 1);
        assert_int_equal(natgw_ctl_call(sock, &metrics, 2000000, &whole, &error2), -EBADMSG);
        assert_string_equal(error2, error);
        serving = 0;
        assert_int_equal(pthread_join(server, NULL), 0);
        s = natgw_ctl_server_free(s);
        assert_int_equal(rmdir(dir), 0);
        sd_event_unref(e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_socket_path),
                cmocka_unit_test(test_flush),
                cmocka_unit_test(test_line_reply),
                cmocka_unit_test(test_call_stream),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

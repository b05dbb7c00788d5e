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

#include <cmocka.h>

#include "ctl-server.h"
#include "util.h"

static int handler(const struct natgw_ctl_request *req, json_t **ret_reply, void *userdata) {
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_socket_path),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One request, one reply, within a deadline. */

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "ctl-client.h"
#include "ctl-json-stream.h"
#include "time-util.h"

/* A reply of `show` for 200,000 entries is a few tens of MB; more than this is not natgwd. */
#define REPLY_MAX (512u * 1024u * 1024u)

/* After a send() or recv() that failed with errno: when it would only block, wait for @events on @fd
 * until @deadline. 0 (try again), -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, uint64_t deadline) {
        return errno == EAGAIN || errno == EINTR ? natgw_wait_fd(fd, events, deadline) : -errno;
}

static int send_all(int fd, const char *buf, size_t len, uint64_t deadline) {
        size_t pos = 0;

        while (pos < len) {
                ssize_t n = send(fd, buf + pos, len - pos, MSG_DONTWAIT | MSG_NOSIGNAL);
                int r;

                if (n >= 0) {
                        pos += (size_t)n;
                        continue;
                }
                r = wait_fd(fd, POLLOUT, deadline);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Read until the peer closes (the daemon closes after its reply). */
static int recv_all(int fd, char **ret, size_t *ret_len, uint64_t deadline) {
        _cleanup_(freep) char *buf = NULL;
        size_t len = 0, cap = 0;

        for (;;) {
                ssize_t n;
                int r;

                if (len + 1 >= cap) {
                        if (cap >= REPLY_MAX)
                                return -EMSGSIZE;
                        if (GROW(buf, cap, MAX(len + 4096, (size_t)65536)) < 0)
                                return -ENOMEM;
                }
                n = recv(fd, buf + len, cap - len - 1, MSG_DONTWAIT);
                if (n > 0) {
                        len += (size_t)n;
                        continue;
                }
                if (n == 0)
                        break;
                /* natgwd closes after its reply even when it did not read all of the request
                 * (a refused client): the reset then only follows the reply. */
                if (errno == ECONNRESET && len > 0)
                        break;
                r = wait_fd(fd, POLLIN, deadline);
                if (r < 0)
                        return r;
        }
        buf[len] = '\0';
        *ret_len = len;
        *ret = TAKE_PTR(buf);
        return 0;
}

int natgw_ctl_call_text(const char *path, const struct natgw_ctl_request *req, uint64_t timeout_usec,
                        char **ret_text, size_t *ret_len, char **ret_error) {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        uint64_t deadline = natgw_mono_usec() + timeout_usec;
        _cleanup_(closep) int fd = -1;
        _cleanup_(freep) char *line = NULL, *reply = NULL;
        size_t len = 0;
        int r;

        if (strlen(path) >= sizeof(sun.sun_path))
                return -ENAMETOOLONG;
        memcpy(sun.sun_path, path, strlen(path) + 1);
        line = natgw_ctl_request_format(req);
        if (!line)
                return -ENOMEM;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* A blocking connect on a Unix socket returns at once (EAGAIN only when the backlog is full). */
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
                return -errno;
        r = send_all(fd, line, strlen(line), deadline);
        if (r < 0 && r != -EPIPE && r != -ECONNRESET)
                return r;
        /* Even when the daemon refused to read (EPIPE), it may have said why. */
        r = recv_all(fd, &reply, &len, deadline);
        if (r < 0)
                return r;
        if (len == 0) {
                if (ret_error)
                        *ret_error = strdup("natgwd closed the connection without a reply");
                return -EBADMSG;
        }
        *ret_text = TAKE_PTR(reply);
        *ret_len = len;
        return 0;
}

int natgw_ctl_call(const char *path, const struct natgw_ctl_request *req, uint64_t timeout_usec,
                   json_t **ret_reply, char **ret_error) {
        _cleanup_(freep) char *reply = NULL;
        json_error_t err;
        json_t *j;
        size_t len = 0;
        int r;

        r = natgw_ctl_call_text(path, req, timeout_usec, &reply, &len, ret_error);
        if (r < 0)
                return r;
        j = json_loadb(reply, len, 0, &err);
        if (!j || !json_is_object(j) || !json_is_boolean(json_object_get(j, "ok"))) {
                if (ret_error && asprintf(ret_error, "malformed reply from natgwd: %s",
                                          j ? "not an object with \"ok\"" : err.text) < 0)
                        *ret_error = NULL;
                json_decref(j);
                return -EBADMSG;
        }
        *ret_reply = j;
        return 0;
}

struct stream_call {
        natgw_json_stream_cb cb;
        void *userdata;
        bool ok; /* the last "ok" member is a boolean */
};

static int stream_event(enum natgw_json_event ev, const char *key, json_t *value, void *userdata) {
        struct stream_call *sc = userdata;

        if (ev == NATGW_JSON_MEMBER && streq(key, "ok"))
                sc->ok = json_is_boolean(value);
        return sc->cb(ev, key, value, sc->userdata);
}

int natgw_ctl_call_stream(const char *path, const struct natgw_ctl_request *req, uint64_t timeout_usec,
                          const char *array_key, natgw_json_stream_cb cb, void *userdata, char **ret_error) {
        struct stream_call sc = { .cb = cb, .userdata = userdata };
        _cleanup_(freep) char *reply = NULL, *why = NULL;
        size_t len = 0;
        int r;

        r = natgw_ctl_call_text(path, req, timeout_usec, &reply, &len, ret_error);
        if (r < 0)
                return r;
        r = natgw_json_stream_object(reply, len, array_key, stream_event, &sc, &why);
        if (r == -EBADMSG || (r >= 0 && !sc.ok)) {
                if (ret_error && asprintf(ret_error, "malformed reply from natgwd: %s",
                                          why ?: "not an object with \"ok\"") < 0)
                        *ret_error = NULL;
                return -EBADMSG;
        }
        return r;
}

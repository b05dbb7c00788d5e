/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Reading and writing one file under /proc/sys (or $NATGW_PROC_SYS): nothing more. */

#include <fcntl.h>

#include "util-sysctl.h"

int natgw_sysctl_path(const char *key, char *buf, size_t size) {
        const char *root = getenv("NATGW_PROC_SYS");
        int n;

        n = snprintf(buf, size, "%s/%s", root && *root ? root : "/proc/sys", key);
        return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Open the file of @key: the descriptor, or -errno. */
static int sysctl_open(const char *key, int flags) {
        char path[256];
        int fd, r;

        r = natgw_sysctl_path(key, path, sizeof(path));
        if (r < 0)
                return r;
        fd = open(path, flags | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int natgw_sysctl_read_int(const char *key, int64_t *ret) {
        _cleanup_(closep) int fd = sysctl_open(key, O_RDONLY);
        char buf[64], *end;
        long long v;
        ssize_t n;

        if (fd < 0)
                return fd;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        buf[strcspn(buf, "\n")] = 0;
        errno = 0;
        v = strtoll(buf, &end, 10);
        if (errno || end == buf || *end)
                return -EBADMSG;
        *ret = v;
        return 0;
}

int natgw_sysctl_write(const char *key, const char *value) {
        /* O_TRUNC as sysctl(8) and the shell do: /proc/sys ignores it, a regular file in its place
         * (tests) needs it. */
        _cleanup_(closep) int fd = sysctl_open(key, O_WRONLY | O_TRUNC);
        size_t len = strlen(value);
        ssize_t n;

        if (fd < 0)
                return fd;
        n = write(fd, value, len);
        if (n < 0)
                return -errno;
        return (size_t)n == len ? 0 : -EIO;
}

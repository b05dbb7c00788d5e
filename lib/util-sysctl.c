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

/* The first line of a sysctl (without the newline). 0 or -errno. */
static int sysctl_read(const char *key, char *buf, size_t size) {
        _cleanup_(closep) int fd = -1;
        char path[256];
        ssize_t n;
        int r;

        r = natgw_sysctl_path(key, path, sizeof(path));
        if (r < 0)
                return r;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        buf[strcspn(buf, "\n")] = 0;
        return 0;
}

int natgw_sysctl_read_int(const char *key, int64_t *ret) {
        char buf[64], *end;
        long long v;
        int r;

        r = sysctl_read(key, buf, sizeof(buf));
        if (r < 0)
                return r;
        errno = 0;
        v = strtoll(buf, &end, 10);
        if (errno || end == buf || *end)
                return -EBADMSG;
        *ret = v;
        return 0;
}

int natgw_sysctl_write(const char *key, const char *value) {
        _cleanup_(closep) int fd = -1;
        size_t len = strlen(value);
        char path[256];
        ssize_t n;
        int r;

        r = natgw_sysctl_path(key, path, sizeof(path));
        if (r < 0)
                return r;
        /* O_TRUNC as sysctl(8) and the shell do: /proc/sys ignores it, a regular file in its place
         * (tests) needs it. */
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = write(fd, value, len);
        if (n < 0)
                return -errno;
        return (size_t)n == len ? 0 : -EIO;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>

#include "sysctl.h"
#include "util.h"

static int sysctl_path(const char *key, char *buf, size_t size) {
        const char *root = getenv("NATGW_PROC_SYS");
        int n;

        n = snprintf(buf, size, "%s/%s", root && *root ? root : "/proc/sys", key);
        return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int natgw_sysctl_read(const char *key, char *buf, size_t size) {
        _cleanup_(closep) int fd = -1;
        char path[256];
        ssize_t n;
        int r;

        if (size == 0)
                return -EINVAL;
        r = sysctl_path(key, path, sizeof(path));
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

int natgw_sysctl_write(const char *key, const char *value) {
        _cleanup_(closep) int fd = -1;
        size_t len = strlen(value);
        char path[256];
        ssize_t n;
        int r;

        r = sysctl_path(key, path, sizeof(path));
        if (r < 0)
                return r;
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = write(fd, value, len);
        if (n < 0)
                return -errno;
        return (size_t)n == len ? 0 : -EIO;
}

int natgw_sysctl_apply_forwarding(const struct natgw_config *c, struct natgw_errors *errors) {
        const struct {
                bool want;
                const char *key;
        } knobs[] = {
                { c->kernel.ip_forward, NATGW_SYSCTL_IP_FORWARD },
                { c->kernel.ipv6_forward, NATGW_SYSCTL_IPV6_FORWARD },
        };
        int ret = 0;

        for (size_t i = 0; i < ELEMENTSOF(knobs); i++) {
                int r;

                if (!knobs[i].want)
                        continue;
                r = natgw_sysctl_write(knobs[i].key, "1");
                if (r < 0) {
                        natgw_errors_add(errors, c->path, 0, NULL, "cannot switch on %s: %s", knobs[i].key,
                                         strerror(-r));
                        if (ret == 0)
                                ret = r;
                }
        }
        return ret;
}

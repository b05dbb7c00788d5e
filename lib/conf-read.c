/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Reading a config file (the main one or a drop-in) into memory, as the loader takes it. */

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf-read.h"
#include "util-ahead.h"
#include "util.h"

/* A config file is text a person edits; anything this big is a mistake, not a config. */
#define NATGW_CONFIG_SIZE_MAX (64u * 1024 * 1024)

/*
 * Open without blocking (a FIFO would wait for a writer) and take only a regular file: a device
 * or a FIFO is no config, and /dev/zero would never end. The size is bounded all the same, as
 * the file may grow while it is read.
 */
static int read_file(const char *path, char **ret, struct stat *ret_st) {
        _cleanup_(closep) int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        _cleanup_(freep) char *buf = NULL;
        size_t n = 0, cap = 0;
        struct stat st;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -ENODEV; /* said as "not a regular file" */
        /* Room for the whole file at once (it may still grow while it is read). */
        if (st.st_size > 0 && st.st_size <= NATGW_CONFIG_SIZE_MAX) {
                if (GROW(buf, cap, (size_t)st.st_size + 4096 + 1) < 0)
                        return -ENOMEM;
                natgw_populate(buf, (size_t)st.st_size + 1);
        }
        for (;;) {
                ssize_t k;

                if (GROW(buf, cap, n + 4096 + 1) < 0)
                        return -ENOMEM;
                k = read(fd, buf + n, cap - n - 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                n += (size_t)k;
                if (n > NATGW_CONFIG_SIZE_MAX)
                        return -EFBIG;
                if (k == 0)
                        break;
        }
        buf[n] = 0;
        /* libconfig reads up to the first NUL: the rest of the file would be silently ignored. */
        if (memchr(buf, 0, n))
                return -EBADMSG;
        *ret = TAKE_PTR(buf);
        if (ret_st)
                *ret_st = st;
        return 0;
}

/* See conf-read.h. */
int natgw_conf_read_text(const char *path, char **ret_text, struct stat *ret_st, struct natgw_errors *errors) {
        _cleanup_(freep) char *text = NULL;
        char too_big[64];
        int r;

        r = read_file(path, &text, ret_st);
        if (r < 0) {
                snprintf(too_big, sizeof(too_big), "the file is larger than %u MiB",
                         NATGW_CONFIG_SIZE_MAX / 1024 / 1024);
                if (natgw_errors_add(errors, path, 0, NULL, "cannot read: %s",
                                     r == -EBADMSG ? "the file contains a NUL byte"
                                     : r == -ENODEV ? "not a regular file"
                                     : r == -EFBIG  ? too_big
                                                    : strerror(-r)) < 0)
                        return -ENOMEM;
                /* A NUL byte is a fault of the text, like a syntax error. */
                return r == -EBADMSG ? -EINVAL : r;
        }
        *ret_text = TAKE_PTR(text);
        return 0;
}

/* See conf.h. */
int natgw_config_read_file(const char *path, char **ret_text, struct natgw_errors *errors) {
        return natgw_conf_read_text(path, ret_text, NULL, errors);
}

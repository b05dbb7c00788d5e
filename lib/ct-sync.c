/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The HA pair's sync: roles, the conntrackd sequence of each transition, conntrackd's
 * statistics. The order of the steps is conntrack-tools' own for keepalived (its
 * doc/sync/primary-backup.sh), here so that natgwctl and the docs share one list.
 */

#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "ct-sync.h"
#include "time-util.h"

static const struct natgw_ha_step steps_master[] = {
        { "-c", "commit the external cache into the kernel" },
        { "-f", "flush the internal and external caches" },
        { "-R", "resync the internal cache with the kernel" },
        { "-B", "send a bulk update to the peer" },
};
static const struct natgw_ha_step steps_backup[] = {
        { "-s", "check that conntrackd answers" },
        { "-t", "shorten the kernel timers of this node's old connections" },
        { "-n", "request a resync from the master" },
};
static const struct natgw_ha_step steps_fault[] = {
        { "-t", "shorten the kernel timers of this node's old connections" },
};

const struct natgw_ha_step *natgw_ha_steps(enum natgw_ha_role role, size_t *ret_n) {
        switch (role) {
        case NATGW_HA_MASTER:
                *ret_n = ELEMENTSOF(steps_master);
                return steps_master;
        case NATGW_HA_BACKUP:
                *ret_n = ELEMENTSOF(steps_backup);
                return steps_backup;
        case NATGW_HA_FAULT:
                *ret_n = ELEMENTSOF(steps_fault);
                return steps_fault;
        default:
                *ret_n = 0;
                return NULL;
        }
}

/* The first unsigned number after @label in @s (at or after @from), or -1. */
static int64_t number_after(const char *s, const char *label) {
        const char *p = s ? strstr(s, label) : NULL;
        unsigned long long v;
        char *end;

        if (!p)
                return -1;
        p += strlen(label);
        while (*p && *p != '\n' && (*p < '0' || *p > '9'))
                p++;
        if (*p < '0' || *p > '9')
                return -1;
        v = strtoull(p, &end, 10);
        return (int64_t)(v > INT64_MAX ? INT64_MAX : v);
}

/* The number written just before @label on its line ("  12 Pckts recv"), or -1. */
static int64_t number_before(const char *s, const char *label) {
        const char *p = s ? strstr(s, label) : NULL;
        const char *q;

        if (!p)
                return -1;
        q = p;
        while (q > s && q[-1] == ' ')
                q--;
        while (q > s && q[-1] >= '0' && q[-1] <= '9')
                q--;
        if (q == p || *q < '0' || *q > '9')
                return -1;
        return (int64_t)strtoull(q, NULL, 10);
}

int natgw_ct_sync_parse_stats(const char *text, struct natgw_ct_sync_stats *ret) {
        const char *internal = strstr(text, "cache internal:"), *external = strstr(text, "cache external:");
        int64_t v[7];

        if (!internal || !external)
                return -EBADMSG;
        v[0] = number_after(internal, "current active connections:");
        v[1] = number_after(external, "current active connections:");
        v[2] = number_before(text, "Pckts sent");
        v[3] = number_before(text, "Pckts recv");
        v[4] = number_before(text, "Error send");
        v[5] = number_before(text, "Error recv");
        v[6] = number_before(text, "Lost msgs");
        for (size_t i = 0; i < 6; i++)
                if (v[i] < 0)
                        return -EBADMSG;
        *ret = (struct natgw_ct_sync_stats) {
                .internal_active = (uint64_t)v[0], .external_active = (uint64_t)v[1],
                .pkts_sent = (uint64_t)v[2], .pkts_recv = (uint64_t)v[3],
                .errors_send = (uint64_t)v[4], .errors_recv = (uint64_t)v[5],
                .lost = v[6] < 0 ? 0 : (uint64_t)v[6],
        };
        return 0;
}

/* Skip blanks and # comments; conntrackd.conf is a sequence of words and braces. */
static const char *next_word(const char *p, const char **ret_end) {
        for (;;) {
                while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
                        p++;
                if (*p != '#')
                        break;
                while (*p && *p != '\n')
                        p++;
        }
        if (!*p)
                return NULL;
        if (*p == '{' || *p == '}') {
                *ret_end = p + 1;
                return p;
        }
        *ret_end = p;
        while (**ret_end && !strchr(" \t\r\n{}#", **ret_end))
                (*ret_end)++;
        return p;
}

static bool word_is(const char *w, const char *end, const char *s) {
        return (size_t)(end - w) == strlen(s) && strncasecmp(w, s, (size_t)(end - w)) == 0;
}

int natgw_ct_sync_conf_socket(const char *text, char *buf, size_t size) {
        const char *p = text, *w, *end;
        int depth = 0, unix_depth = -1;
        bool path_next = false;

        while ((w = next_word(p, &end))) {
                p = end;
                if (*w == '{') {
                        depth++;
                        continue;
                }
                if (*w == '}') {
                        if (depth == unix_depth)
                                unix_depth = -1;
                        depth--;
                        continue;
                }
                if (path_next) {
                        if ((size_t)(end - w) >= size)
                                return -ENAMETOOLONG;
                        memcpy(buf, w, (size_t)(end - w));
                        buf[end - w] = '\0';
                        return 0;
                }
                if (word_is(w, end, "UNIX"))
                        unix_depth = depth + 1;
                else if (unix_depth == depth && word_is(w, end, "Path"))
                        path_next = true;
        }
        return -ENOENT;
}

#define CONNTRACKD_REQUEST_STATS 21 /* conntrackd's client request for `-s` */

int natgw_ct_sync_query_stats(const char *path, uint64_t timeout_usec, struct natgw_ct_sync_stats *ret) {
        _cleanup_(closep) int fd = -1;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        uint64_t deadline = natgw_mono_usec() + timeout_usec;
        int request = CONNTRACKD_REQUEST_STATS;
        char buf[8192];
        size_t len = 0;
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* A Unix stream connect completes at once or fails (EAGAIN: backlog full). */
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -errno;
        if (send(fd, &request, sizeof(request), MSG_NOSIGNAL) != (ssize_t)sizeof(request))
                return errno ? -errno : -EIO;
        for (;;) {
                ssize_t k;

                r = natgw_wait_fd(fd, POLLIN, deadline);
                if (r < 0)
                        return r;
                k = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
                if (k < 0 && errno == EAGAIN)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0 || (len += (size_t)k) == sizeof(buf) - 1)
                        break;
        }
        buf[len] = '\0';
        return natgw_ct_sync_parse_stats(buf, ret);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "sysctl.h"
#include "util.h"

/* readlink() of a /proc/.../ns/net link ("net:[4026532301]") into @buf. */
static int netns_link(const char *link, char *buf, size_t size) {
        ssize_t n = readlink(link, buf, size - 1);

        if (n < 0)
                return -errno;
        buf[n] = 0;
        return 0;
}

/* The sysctl's file has no write bit: the kernel registered it read-only for this namespace. */
static bool sysctl_is_read_only(const char *key) {
        char path[256];
        struct stat st;

        return natgw_sysctl_path(key, path, sizeof(path)) >= 0 && stat(path, &st) >= 0 && S_ISREG(st.st_mode) &&
               (st.st_mode & 0222) == 0;
}

const char *natgw_sysctl_refusal_reason(const char *key, int error, char *buf, size_t size) {
        char self[64], pid1[64], ns[256];

        /* Which namespace: its own name, and PID 1's (which need not be the initial one either,
         * e.g. in a container) to compare; /proc/1/ns is not always readable. */
        if (netns_link("/proc/self/ns/net", self, sizeof(self)) < 0)
                snprintf(ns, sizeof(ns), "this network namespace");
        else if (netns_link("/proc/1/ns/net", pid1, sizeof(pid1)) < 0)
                snprintf(ns, sizeof(ns), "network namespace %s", self);
        else if (streq(self, pid1))
                snprintf(ns, sizeof(ns), "network namespace %s (PID 1's too, so this whole system runs in a "
                         "child network namespace: a container?)", self);
        else
                snprintf(ns, sizeof(ns), "network namespace %s (PID 1 is in %s)", self, pid1);

        switch (error) {
        case -EACCES:
        case -EPERM:
                if (sysctl_is_read_only(key))
                        snprintf(buf, size, "read-only in %s: the kernel lets only the initial network namespace "
                                 "change it", ns);
                else
                        snprintf(buf, size, "permission denied in %s (natgwd needs CAP_NET_ADMIN there)", ns);
                break;
        case -EROFS:
                snprintf(buf, size, "/proc/sys is mounted read-only here (a container, or systemd's "
                         "ProtectKernelTunables= without a ReadWritePaths= for this file)");
                break;
        case -ENOENT:
                snprintf(buf, size, "not present in this kernel%s",
                         strncmp(key, "net/netfilter/", 14) == 0 ? " (nf_conntrack is not loaded)"
                         : strncmp(key, "net/ipv6/", 9) == 0     ? " (IPv6 is disabled or not built in)"
                                                                 : "");
                break;
        case -EINVAL:
                snprintf(buf, size, "the kernel refused the value (out of its range)");
                break;
        case -EBADMSG:
                snprintf(buf, size, "its value is not a number");
                break;
        default:
                snprintf(buf, size, "%s", strerror(-error));
                break;
        }
        return buf;
}

/* ---------------------------------------------------------------- the settings */

static const struct {
        const char *path;
        const char *config_key;
} settings_fixed[NATGW_SETTING_CT_TIMEOUT_FIRST] = {
        [NATGW_SETTING_IP_FORWARD] = { NATGW_SYSCTL_IP_FORWARD, "kernel.ip_forward" },
        [NATGW_SETTING_IPV6_FORWARD] = { NATGW_SYSCTL_IPV6_FORWARD, "kernel.ipv6_forward" },
        [NATGW_SETTING_CONNTRACK_MAX] = { NATGW_SYSCTL_CONNTRACK_MAX, "conntrack.max" },
        [NATGW_SETTING_CONNTRACK_BUCKETS] = { NATGW_SYSCTL_CONNTRACK_BUCKETS, "conntrack.buckets" },
};

const char *natgw_setting_path(enum natgw_setting_id id) {
        if (id < NATGW_SETTING_CT_TIMEOUT_FIRST)
                return settings_fixed[id].path;
        return natgw_ct_timeouts[id - NATGW_SETTING_CT_TIMEOUT_FIRST].sysctl;
}

const char *natgw_setting_name(enum natgw_setting_id id, char *buf, size_t size) {
        snprintf(buf, size, "%s", natgw_setting_path(id));
        for (char *p = buf; *p; p++)
                if (*p == '/')
                        *p = '.';
        return buf;
}

const char *natgw_setting_config_key(enum natgw_setting_id id, char *buf, size_t size) {
        if (id < NATGW_SETTING_CT_TIMEOUT_FIRST)
                snprintf(buf, size, "%s", settings_fixed[id].config_key);
        else
                snprintf(buf, size, "conntrack.timeouts.%s",
                         natgw_ct_timeouts[id - NATGW_SETTING_CT_TIMEOUT_FIRST].key);
        return buf;
}

const char *natgw_setting_result_to_string(enum natgw_setting_result r) {
        static const char *const names[] = {
                [NATGW_SETTING_LEFT] = "left as is",
                [NATGW_SETTING_UNCHANGED] = "unchanged",
                [NATGW_SETTING_APPLIED] = "applied",
                [NATGW_SETTING_REFUSED] = "refused",
        };

        return (unsigned) r < ELEMENTSOF(names) ? names[r] : names[NATGW_SETTING_LEFT];
}

/*
 * The value @c asks for, and in @ret_line the line of its key (0 when the file does not name it;
 * may be NULL). `kernel.ip_forward = false` means "leave it", not "switch it off". Returns -1
 * for "leave the kernel's value".
 */
static int64_t setting_wanted(const struct natgw_config *c, enum natgw_setting_id id, unsigned *ret_line) {
        unsigned line = 0;
        int64_t v;

        switch (id) {
        case NATGW_SETTING_IP_FORWARD:
                v = c->kernel.ip_forward ? 1 : -1;
                line = c->kernel.ip_forward_line;
                break;
        case NATGW_SETTING_IPV6_FORWARD:
                v = c->kernel.ipv6_forward ? 1 : -1;
                line = c->kernel.ipv6_forward_line;
                break;
        case NATGW_SETTING_CONNTRACK_MAX:
                v = c->conntrack.max;
                line = c->conntrack.max_line;
                break;
        case NATGW_SETTING_CONNTRACK_BUCKETS:
                v = c->conntrack.buckets;
                line = c->conntrack.buckets_line;
                break;
        default:
                v = c->conntrack.timeouts[id - NATGW_SETTING_CT_TIMEOUT_FIRST];
                line = c->conntrack.timeout_lines[id - NATGW_SETTING_CT_TIMEOUT_FIRST];
                break;
        }
        if (ret_line)
                *ret_line = line;
        return v < 0 ? -1 : v;
}

/* auto_grow raised nf_conntrack_max to @current: keep it (max is the floor, ceiling the top). */
static bool kept_by_auto_grow(const struct natgw_config *c, enum natgw_setting_id id, int64_t current) {
        return id == NATGW_SETTING_CONNTRACK_MAX && c->conntrack.auto_grow_ceiling >= 0 && c->conntrack.max >= 0 &&
               current >= c->conntrack.max && current <= c->conntrack.auto_grow_ceiling;
}

static int setting_refused(struct natgw_setting *st, enum natgw_setting_id id, const struct natgw_config *c,
                           unsigned line, int error, struct natgw_errors *errors) {
        char key[64], name[96], stays[48] = "";

        st->result = NATGW_SETTING_REFUSED;
        st->error = error;
        natgw_sysctl_refusal_reason(natgw_setting_path(id), error, st->reason, sizeof(st->reason));
        if (st->has_actual)
                snprintf(stays, sizeof(stays), "; it stays %" PRId64, st->actual);
        return natgw_errors_warn(errors, c->path, line, NULL, "%s: cannot set %s to %" PRId64 ": %s%s",
                                 natgw_setting_config_key(id, key, sizeof(key)),
                                 natgw_setting_name(id, name, sizeof(name)), st->wanted, st->reason, stays);
}

/* One setting: 1 when refused (and reported), 0 when not, -ENOMEM. */
static int setting_apply(struct natgw_setting *st, enum natgw_setting_id id, const struct natgw_config *c,
                         struct natgw_errors *errors) {
        const char *path = natgw_setting_path(id);
        char value[32];
        int64_t current = -1;
        unsigned line;
        int r;

        st->wanted = setting_wanted(c, id, &line);
        st->error = 0;
        st->reason[0] = 0;
        r = natgw_sysctl_read_int(path, &current);
        st->has_actual = r >= 0;
        st->actual = r >= 0 ? current : 0;
        if (st->wanted < 0) {
                st->result = NATGW_SETTING_LEFT;
                return 0;
        }
        if (r < 0)
                return setting_refused(st, id, c, line, r, errors) < 0 ? -ENOMEM : 1;
        if (current == st->wanted) {
                st->result = NATGW_SETTING_UNCHANGED;
                return 0;
        }
        if (kept_by_auto_grow(c, id, current)) {
                st->result = NATGW_SETTING_UNCHANGED;
                snprintf(st->reason, sizeof(st->reason), "kept: auto_grow may raise it up to %" PRId64,
                         c->conntrack.auto_grow_ceiling);
                return 0;
        }

        snprintf(value, sizeof(value), "%" PRId64, st->wanted);
        r = natgw_sysctl_write(path, value);
        if (r < 0)
                return setting_refused(st, id, c, line, r, errors) < 0 ? -ENOMEM : 1;
        if (!st->has_previous) {
                st->has_previous = true;
                st->previous = current;
        }
        st->result = NATGW_SETTING_APPLIED;
        r = natgw_sysctl_read_int(path, &current);
        st->has_actual = r >= 0;
        st->actual = r >= 0 ? current : 0;
        if (r < 0)
                snprintf(st->reason, sizeof(st->reason), "cannot read it back: %s", strerror(-r));
        else if (current != st->wanted)
                /* nf_conntrack_buckets, for one, is rounded up to a page's worth of buckets. */
                snprintf(st->reason, sizeof(st->reason), "the kernel made it %" PRId64, current);
        return 0;
}

int natgw_settings_apply(struct natgw_settings *s, const struct natgw_config *c, struct natgw_errors *errors) {
        int refused = 0;

        for (size_t i = 0; i < NATGW_SETTING_COUNT; i++) {
                int r = setting_apply(&s->v[i], (enum natgw_setting_id)i, c, errors);

                if (r < 0)
                        return r;
                refused += r;
        }
        return refused;
}

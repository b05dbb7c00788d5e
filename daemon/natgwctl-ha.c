/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * natgwctl ha ROLE: what keepalived runs on a transition of the pair. It runs conntrackd's
 * sequence for the new role (lib/ct-sync.c names the steps), each step bounded in time, then
 * tells natgwd the role, the result and how long it took. Transitions are serialized by a lock
 * next to natgwd's socket: keepalived starts notify scripts without waiting for the last one,
 * and a backup sequence still running must not interleave with the master's commit.
 */

#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ct-sync.h"
#include "ctl-client.h"
#include "natgwctl-ha.h"
#include "time-util.h"
#include "util.h"

#define CONNTRACKD_CONF_DEFAULT "/etc/conntrackd/conntrackd.conf"
#define LOCK_WAIT_USEC (30u * 1000000u)

struct step_result {
        bool ok;
        int status; /* exit status; -1 when killed at its deadline or not started */
        uint64_t usec;
};

/* Run `conntrackd -C CONF OPTION`, killed if it outlives @timeout_usec. */
static int run_step(const char *bin, const char *conf, const char *option, uint64_t timeout_usec,
                    struct step_result *ret) {
        char *argv[] = { (char *)bin, (char *)"-C", (char *)conf, (char *)option, NULL };
        posix_spawn_file_actions_t fa;
        uint64_t start = natgw_mono_usec();
        _cleanup_(closep) int pidfd = -1;
        int r, status = 0;
        pid_t pid;

        *ret = (struct step_result) { .status = -1 };
        /* Its statistics (-s) are of no use here; its errors go to keepalived's log. */
        if (posix_spawn_file_actions_init(&fa) != 0)
                return -ENOMEM;
        r = posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        if (r == 0)
                r = posix_spawnp(&pid, bin, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return -r;
        pidfd = pidfd_open(pid, 0);
        if (pidfd >= 0 && natgw_wait_fd(pidfd, POLLIN, start + timeout_usec) < 0)
                (void)kill(pid, SIGKILL);
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        ret->usec = natgw_mono_usec() - start;
        if (WIFEXITED(status)) {
                ret->status = WEXITSTATUS(status);
                ret->ok = ret->status == 0;
        }
        return 0;
}

/* The control socket @conf names, for natgwd's statistics; "" when it names none. */
static void conntrackd_socket(const char *conf, char *buf, size_t size) {
        _cleanup_(freep) char *text = NULL;
        size_t n = 0;
        FILE *f = fopen(conf, "re");

        buf[0] = '\0';
        if (!f)
                return;
        if (getdelim(&text, &n, '\0', f) < 0 || natgw_ct_sync_conf_socket(text, buf, size) < 0 || buf[0] != '/')
                buf[0] = '\0';
        fclose(f);
}

/* The lock serializing transitions: ha.lock beside natgwd's socket. -1 when it cannot be had. */
static int take_lock(const char *socket) {
        _cleanup_(freep) char *path = NULL;
        const char *slash = strrchr(socket, '/');
        uint64_t deadline = natgw_mono_usec() + LOCK_WAIT_USEC;
        int fd;

        if (asprintf(&path, "%.*s/ha.lock", slash ? (int)(slash - socket) : 1, slash ? socket : ".") < 0)
                return -1;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return -1;
        while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK || natgw_mono_usec() >= deadline) {
                        close(fd);
                        return -1;
                }
                (void)poll(NULL, 0, 5);
        }
        return fd;
}

/* The master's first message: the commit is done (its reply does not matter: the last one says). */
static void tell_committed(const char *socket, const struct natgw_ctl_request *req, uint64_t start, double timeout) {
        struct natgw_ctl_request partial = *req;
        _cleanup_(json_decrefp) json_t *reply = NULL;

        partial.ha.partial = true;
        partial.ha.usec = natgw_mono_usec() - start;
        /* Bounded more tightly than the last message: the sequence must go on. */
        (void)natgw_ctl_call(socket, &partial, (uint64_t)((timeout < 2 ? timeout : 2) * 1e6), &reply, NULL);
}

static void print_human(const json_t *out) {
        const json_t *steps = json_object_get(out, "steps"), *s;
        size_t i;

        json_array_foreach(steps, i, s)
                printf("  conntrackd %s  %-58s %s (%.1f ms)\n", json_string_value(json_object_get(s, "option")),
                       json_string_value(json_object_get(s, "what")),
                       json_is_true(json_object_get(s, "ok")) ? "ok" : "FAILED",
                       (double)json_integer_value(json_object_get(s, "usec")) / 1000.0);
        printf("%s: %s in %.1f ms; natgwd %s\n", json_string_value(json_object_get(out, "role")),
               json_is_true(json_object_get(out, "steps_ok")) ? "ok" : "FAILED",
               (double)json_integer_value(json_object_get(out, "usec")) / 1000.0,
               json_string_value(json_object_get(out, "natgwd")));
}

static int usage(const char *msg) {
        fprintf(stderr, "natgwctl ha: %s\nUsage: natgwctl ha master|backup|fault [--conntrackd-conf FILE] "
                        "[--conntrackd BIN] [--step-timeout SEC]\n", msg);
        return 2;
}

int natgwctl_ha(int argc, char *argv[], const char *socket, bool json, double timeout) {
        static const struct option options[] = {
                { "conntrackd-conf", required_argument, NULL, 'C' },
                { "conntrackd", required_argument, NULL, 'b' },
                { "step-timeout", required_argument, NULL, 's' },
                {},
        };
        const char *conf = CONNTRACKD_CONF_DEFAULT, *bin = "conntrackd";
        struct natgw_ctl_request req = { .command = NATGW_CTL_HA };
        _cleanup_(json_decrefp) json_t *out = NULL, *steps = NULL, *reply = NULL;
        const struct natgw_ha_step *plan;
        double step_timeout = 10;
        uint64_t start;
        size_t n;
        int c, role, lock, r;
        char *end;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'C':
                        conf = optarg;
                        break;
                case 'b':
                        bin = optarg;
                        break;
                case 's':
                        errno = 0;
                        step_timeout = strtod(optarg, &end);
                        if (errno || *end || !(step_timeout > 0 && step_timeout <= 3600))
                                return usage("--step-timeout must be a number of seconds up to 3600");
                        break;
                default:
                        return usage("unknown option");
                }
        if (optind != argc - 1)
                return usage("one role is needed");
        role = natgw_ha_role_from_string(argv[optind]);
        if (role < 0)
                return usage("the role is master, backup or fault");

        lock = take_lock(socket);
        start = natgw_mono_usec();
        req.ha.role = role;
        req.ha.result = true;
        steps = json_array();
        plan = natgw_ha_steps(role, &n);
        for (size_t i = 0; i < n && steps; i++) {
                struct step_result res;

                r = run_step(bin, conf, plan[i].option, (uint64_t)(step_timeout * 1e6), &res);
                if (r < 0)
                        fprintf(stderr, "natgwctl ha: cannot run %s: %s\n", bin, strerror(-r));
                else if (!res.ok)
                        fprintf(stderr, "natgwctl ha: conntrackd %s (%s) %s\n", plan[i].option, plan[i].what,
                                res.status < 0 ? "did not finish in time" : "failed");
                /* A failed step does not stop the sequence: the next ones still help (a commit
                 * that failed leaves the flush and resync to do), as keepalived goes on anyway. */
                if ((r < 0 || !res.ok) && req.ha.result) {
                        req.ha.result = false;
                        snprintf(req.ha.failed, sizeof(req.ha.failed), "%s", plan[i].option);
                }
                json_array_append_new(steps, json_pack("{s:s,s:s,s:b,s:i,s:I}", "option", plan[i].option, "what",
                                                       plan[i].what, "ok", r >= 0 && res.ok, "exit", res.status,
                                                       "usec", (json_int_t)res.usec));
                /* The peer's connections are in the kernel: natgwd lifts its guard (docs/HA.md)
                 * now, not after the flush, resync and bulk send. */
                if (role == NATGW_HA_MASTER && i == 0)
                        tell_committed(socket, &req, start, timeout);
        }
        req.ha.usec = natgw_mono_usec() - start;
        conntrackd_socket(conf, req.ha.conntrackd, sizeof(req.ha.conntrackd));
        r = natgw_ctl_call(socket, &req, (uint64_t)(timeout * 1e6), &reply, NULL);
        if (lock >= 0)
                close(lock);
        out = json_pack("{s:s,s:b,s:I,s:O?,s:s}", "role", natgw_ha_role_to_string(role), "steps_ok", req.ha.result,
                        "usec", (json_int_t)req.ha.usec, "steps", steps, "natgwd",
                        r < 0 ? strerror(-r) : json_is_true(json_object_get(reply, "ok")) ? "told" : "refused");
        if (!out)
                return 1;
        if (json) {
                _cleanup_(freep) char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

                if (s)
                        printf("%s\n", s);
        } else
                print_human(out);
        if (r < 0)
                fprintf(stderr, "natgwctl ha: cannot tell natgwd at %s: %s\n", socket, strerror(-r));
        return req.ha.result && r >= 0 && json_is_true(json_object_get(reply, "ok")) ? 0 : 1;
}

void natgwctl_ha_print_status(const json_t *ha) {
        const json_t *last = json_object_get(ha, "last_transition"), *sync = json_object_get(ha, "sync");
        const char *role = json_string_value(json_object_get(ha, "role"));

        if (!role || streq(role, "none"))
                return;
        printf("%-14s %s since %s (%lld transitions); last: %s in %.1f ms%s%s\n", "ha:", role,
               json_string_value(json_object_get(ha, "since")),
               (long long)json_integer_value(json_object_get(ha, "transitions")),
               json_is_true(json_object_get(last, "result")) ? "ok" : "FAILED",
               json_number_value(json_object_get(last, "ms")), json_object_get(last, "failed") ? " at conntrackd " : "",
               json_object_get(last, "failed") ? json_string_value(json_object_get(last, "failed")) : "");
        if (json_object_get(sync, "received"))
                printf("%-14s %s: %lld own and %lld peer connections; messages %lld sent, %lld received, %lld lost; "
                       "peer heard %lld ms ago\n",
                       "sync:", json_string_value(json_object_get(sync, "state")),
                       (long long)json_integer_value(json_object_get(sync, "internal")),
                       (long long)json_integer_value(json_object_get(sync, "external")),
                       (long long)json_integer_value(json_object_get(sync, "sent")),
                       (long long)json_integer_value(json_object_get(sync, "received")),
                       (long long)json_integer_value(json_object_get(sync, "lost")),
                       (long long)json_integer_value(json_object_get(sync, "peer_heard_ms_ago")));
        else
                printf("%-14s %s%s%s\n", "sync:", json_string_value(json_object_get(sync, "state")),
                       json_object_get(sync, "error") ? ": " : "",
                       json_object_get(sync, "error") ? json_string_value(json_object_get(sync, "error")) : "");
        if (json_is_true(json_object_get(ha, "split_brain")))
                printf("%-14s SPLIT-BRAIN suspected: this node is master and its peer is silent on the sync link "
                       "(peer down, or both master); connections are not replicated\n", "");
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * natgwd: keeps table inet natgw (and the forwarding sysctls) exactly as its config file says.
 * A thin main: options, the event loop, the control socket's verbs and what to log; the work
 * is in lib/.
 */

#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "config.h"
#include "conf.h"
#include "ct-top.h"
#include "ctl-server.h"
#include "gw-hosts.h"
#include "gw-json.h"
#include "gw.h"
#include "log.h"
#include "natgwd.h"
#include "util.h"
#include "time-util.h"

static const char *arg_config = NATGW_CONFIG_DEFAULT;
static const char *arg_socket = NATGW_CTL_SOCKET_DEFAULT;
static bool arg_check;
static int arg_verbose;

static void help(void) {
        printf("Usage: natgwd [OPTIONS]\n"
               "NAT gateway daemon: keeps table inet natgw as its config file says.\n\n"
               "  -c, --config FILE   config file (default %s)\n"
               "  -S, --socket PATH   control socket (default %s)\n"
               "  -t, --check         validate and compile the file, then exit (0 valid, 1 not)\n"
               "  -v, --verbose       log more (debug messages)\n"
               "  -V, --version       print the version\n"
               "  -h, --help          this text\n",
               NATGW_CONFIG_DEFAULT, NATGW_CTL_SOCKET_DEFAULT);
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' }, { "socket", required_argument, NULL, 'S' },
                { "check", no_argument, NULL, 't' },        { "verbose", no_argument, NULL, 'v' },
                { "version", no_argument, NULL, 'V' },      { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:S:tvVh", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        arg_config = optarg;
                        break;
                case 'S':
                        arg_socket = optarg;
                        break;
                case 't':
                        arg_check = true;
                        break;
                case 'v':
                        arg_verbose++;
                        break;
                case 'V':
                        printf("natgwd %s\n", NATGW_VERSION);
                        return 0;
                case 'h':
                        help();
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "natgwd: unexpected argument \"%s\"\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static int run_check(void) {
        struct natgw_errors errors = {};
        struct natgw_check_result res;
        int r;

        r = natgw_check_file(arg_config, &errors, &res);
        natgw_errors_print(&errors, stderr);
        natgw_errors_clear(&errors);
        if (r < 0) {
                if (r == -ENOMEM)
                        fprintf(stderr, "natgwd: out of memory\n");
                return 1;
        }
        printf("%s: valid: egress entries %zu, forwards %zu, map elements %zu", arg_config, res.egress, res.forwards,
               res.map_elements);
        if (res.netmaps > 0)
                printf(", netmaps %zu", res.netmaps);
        printf("\n");
        return 0;
}

void natgwd_notify_status(const struct daemon *d) {
        const struct natgw_config *c = d->gw->config;
        const struct natgw_reload_record *r = &d->last_reload;
        const struct natgw_ct_watch_state *ct = d->watch ? natgw_ct_watch_get_state(d->watch) : NULL;
        char last[128] = "", table[96] = "";

        if (r->realtime_usec) {
                char t[32];

                snprintf(last, sizeof(last), "; last reload %s %s", natgw_format_time(r->realtime_usec, t, sizeof(t)),
                         r->ok ? "applied" : "REJECTED (running state unchanged)");
        }
        if (ct && ct->have_stats)
                snprintf(table, sizeof(table), "; conntrack %.1f%% (%s)", natgw_ct_percent(&ct->stats),
                         natgw_ct_level_to_string(ct->level));
        sd_notifyf(false, "STATUS=generation %llu: %zu egress entries, %zu forwards%s%s",
                   (unsigned long long)d->gw->generation, c->n_egress, c->n_forwards, last, table);
}

/* The conntrack clean-up of an apply, one line per reason, each only when it did something. */
static void log_ct_cleanup(const struct natgw_ct_stale_stats *st, const char *ev, const char *cfg, const char *gen) {
        unsigned long long changed = st->deleted_for[NATGW_CT_STALE_CHANGED], removed = st->deleted_for[NATGW_CT_STALE_REMOVED];
        char ct[48], added[48], chg[48], rem[48], kept[48], usec[48];
        const char *fields[] = { ev, cfg, gen, ct, added, chg, rem, kept, usec, NULL };

        if (st->deleted == 0 && st->kept_established == 0)
                return;
        snprintf(ct, sizeof(ct), "NATGW_CT_DELETED=%llu", (unsigned long long)st->deleted);
        snprintf(added, sizeof(added), "NATGW_CT_DELETED_ADDED=%llu",
                 (unsigned long long)st->deleted_for[NATGW_CT_STALE_ADDED]);
        snprintf(chg, sizeof(chg), "NATGW_CT_DELETED_CHANGED=%llu", changed);
        snprintf(rem, sizeof(rem), "NATGW_CT_DELETED_REMOVED=%llu", removed);
        snprintf(kept, sizeof(kept), "NATGW_CT_KEPT_ESTABLISHED=%llu", (unsigned long long)st->kept_established);
        snprintf(usec, sizeof(usec), "NATGW_CT_USEC=%llu", (unsigned long long)st->usec);
        if (changed + removed > 0)
                natgw_log_fields(LOG_INFO, fields,
                                 "deleted %llu conntrack entries that carried a removed or changed translation "
                                 "(changed %llu, removed %llu)",
                                 changed + removed, changed, removed);
        if (st->deleted_for[NATGW_CT_STALE_ADDED] > 0)
                natgw_log_fields(LOG_INFO, fields,
                                 "deleted %llu conntrack entries of flows that an added or widened entry now "
                                 "translates",
                                 (unsigned long long)st->deleted_for[NATGW_CT_STALE_ADDED]);
        if (st->deleted_for[NATGW_CT_STALE_DENIED] > 0)
                natgw_log_fields(LOG_INFO, fields,
                                 "deleted %llu conntrack entries of flows that an allow list now denies",
                                 (unsigned long long)st->deleted_for[NATGW_CT_STALE_DENIED]);
        if (st->kept_established > 0)
                natgw_log_fields(LOG_NOTICE, fields,
                                 "kept %llu established TCP connections (to the gateway itself, or routed without "
                                 "NAT) that entry \"%s\"%s now covers: they go on untranslated until they end",
                                 (unsigned long long)st->kept_established, st->kept_entry,
                                 st->kept_entries_more ? " and others" : "");
}

static void log_applied(const struct natgw_gw *gw, const char *event) {
        const struct natgw_apply_stats *s = &gw->last_stats;
        char gen[48], elements[48], kernel[48], cfg[PATH_MAX + 16], ev[48], table[32];
        const char *fields[] = { ev, cfg, gen, elements, kernel, table, NULL };

        snprintf(ev, sizeof(ev), "NATGW_EVENT=%s", event);
        snprintf(cfg, sizeof(cfg), "NATGW_CONFIG=%s", gw->config->path);
        snprintf(gen, sizeof(gen), "NATGW_GENERATION=%llu", (unsigned long long)gw->generation);
        snprintf(elements, sizeof(elements), "NATGW_ELEMENTS=%llu", (unsigned long long)s->elements);
        snprintf(kernel, sizeof(kernel), "NATGW_KERNEL_USEC=%llu", (unsigned long long)s->kernel_usec);
        snprintf(table, sizeof(table), "NATGW_TABLE=%s", s->update ? "updated" : "replaced");
        natgw_log_fields(LOG_INFO, fields,
                         "%s %s (generation %llu, table %s): egress entries %zu, forwards %zu, map elements %llu "
                         "in %u messages (%llu bytes); compile %.1f ms, kernel %.1f ms; table flags 0x%x",
                         streq(event, "apply") ? "applied" : "reloaded", gw->config->path,
                         (unsigned long long)gw->generation, s->update ? "updated" : "replaced",
                         gw->config->n_egress, gw->config->n_forwards, (unsigned long long)s->elements,
                         s->messages, (unsigned long long)s->bytes,
                         (double)s->compile_usec / 1000.0, (double)s->kernel_usec / 1000.0, s->table_flags);
        log_ct_cleanup(&gw->last_ct_stale, ev, cfg, gen);
}

/* The watch follows the config in force: thresholds, interval, auto_grow. */
static void configure_watch(struct daemon *d) {
        const struct natgw_config *c = d->gw->config;
        int r;

        r = natgw_ct_watch_configure(d->watch, c->conntrack.warn, c->conntrack.critical,
                                     (uint64_t)(c->conntrack.interval * 1e6), c->conntrack.auto_grow_ceiling,
                                     c->conntrack.auto_grow_step);
        if (r < 0)
                natgw_log(LOG_ERR, "cannot schedule the conntrack watch: %s", strerror(-r));
        natgwd_metrics_configure(d);
}

/*
 * From the first apply on, free() gives nothing back to the kernel by itself: the memory an apply
 * frees stays for the next until natgwd has been quiet (natgwd_release_memory()). Without this,
 * glibc trims the heap's top at each free beyond its threshold and maps each large array anew
 * (above its mmap threshold, 128 KiB until it first frees a mapped one), and a reload that reads
 * no file, which pins nothing at the top of the heap, faulted 7 MB back in each time: at 50,000
 * forwards a no-change reload took 17 ms of natgwd's time right after the start, against 8 after
 * a reload that parsed a drop-in. The start itself keeps glibc's ways: its peak is the larger.
 */
static void natgwd_keep_memory(void) {
        (void)mallopt(M_MMAP_THRESHOLD, NATGWD_MMAP_THRESHOLD);
        (void)mallopt(M_TRIM_THRESHOLD, NATGWD_TRIM_THRESHOLD);
}

static int on_trim_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void)s;
        (void)usec;
        (void)userdata;
        (void)malloc_trim(0);
        return 0;
}

/* An apply frees tens of MiB it used once (libconfig's tree, the records, the batch), but the
 * model it keeps holds the top of the heap: without a trim natgwd idles at its peak (at 50,000
 * forwards about 60 MiB instead of 21, docs/PERFORMANCE.md). The trim waits until natgwd has been
 * quiet for NATGWD_TRIM_DELAY_USEC: the next apply of a burst (configuration management writing
 * drop-ins one by one, each with its reload) finds that memory still mapped, instead of faulting
 * it all back in, which costs a small reload at 50,000 forwards most of its time. */
void natgwd_release_memory(struct daemon *d) {
        uint64_t when = natgw_now_usec(CLOCK_MONOTONIC) + NATGWD_TRIM_DELAY_USEC;
        int r;

        if (!d->trim_timer)
                r = sd_event_add_time(d->event, &d->trim_timer, CLOCK_MONOTONIC, when, 100 * 1000, on_trim_timer, d);
        else
                r = sd_event_source_set_time(d->trim_timer, when);
        if (r >= 0)
                r = sd_event_source_set_enabled(d->trim_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                (void)malloc_trim(0);
}

static int on_release(sd_event_source *s, void *userdata) {
        struct daemon *d = userdata;

        (void)s;
        natgw_gw_release(d->gw);
        return 0;
}

/* The config a reload replaced is freed once the reply is out: the loop writes the reply (at
 * the connection's priority) before it runs an idle source. Without the source, at once. */
static void release_after_reply(struct daemon *d) {
        int r = 0;

        if (!d->release_defer) {
                r = sd_event_add_defer(d->event, &d->release_defer, on_release, d);
                if (r >= 0)
                        r = sd_event_source_set_priority(d->release_defer, SD_EVENT_PRIORITY_IDLE);
        }
        if (r >= 0)
                r = sd_event_source_set_enabled(d->release_defer, SD_EVENT_ONESHOT);
        if (r < 0)
                natgw_gw_release(d->gw);
}

/* Re-read the config file and apply it; the reply natgwctl prints (NULL: out of memory). */
static json_t *reload(struct daemon *d, const char *trigger) {
        struct natgw_reload_record *rec = &d->last_reload;
        uint64_t start = natgw_mono_usec();
        json_t *reply;
        int r;

        sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)natgw_now_usec(CLOCK_MONOTONIC));
        natgw_reload_record_clear(rec);
        rec->realtime_usec = natgw_now_usec(CLOCK_REALTIME);
        rec->trigger = trigger;
        r = natgw_gw_apply_file(d->gw, arg_config, &rec->errors);
        release_after_reply(d);
        natgwd_release_memory(d);
        rec->ok = r >= 0;
        natgw_reload_stats_add(&d->reloads, rec->realtime_usec, natgw_mono_usec() - start, rec->ok);
        if (r < 0) {
                natgw_log(LOG_ERR, "reload (%s) of %s rejected, the running state is unchanged:", trigger, arg_config);
                natgw_log_errors(LOG_ERR, "reload-rejected", "  ", &rec->errors);
                reply = json_pack("{s:b,s:s,s:s,s:o*}", "ok", 0, "error", "rejected, the running state is unchanged",
                                  "config", arg_config, "errors", natgw_ctl_errors_to_json(&rec->errors));
        } else {
                natgw_log_errors(LOG_WARNING, "reload", "", &rec->errors);
                log_applied(d->gw, "reload");
                configure_watch(d);
                natgwd_ha_guard(d);
                reply = json_pack("{s:b,s:s,s:I,s:s,s:I,s:I,s:f,s:I,s:o*,s:o*}", "ok", 1, "config", d->gw->config->path,
                                  "generation", (json_int_t)d->gw->generation, "table",
                                  d->gw->last_stats.update ? "updated" : "replaced", "egress",
                                  (json_int_t)d->gw->config->n_egress, "forwards",
                                  (json_int_t)d->gw->config->n_forwards, "kernel_ms",
                                  (double)d->gw->last_stats.kernel_usec / 1000.0, "conntrack_deleted",
                                  (json_int_t)d->gw->last_ct_stale.deleted, "conntrack",
                                  natgw_ct_stale_json(&d->gw->last_ct_stale), "warnings",
                                  natgw_ctl_errors_to_json(&rec->errors));
        }
        sd_notify(false, "READY=1");
        natgwd_notify_status(d);
        return reply;
}

/* check: the file (natgwd's own unless the request names one); with "kernel", the kernel checks
 * what a reload would send, through natgwd's socket, which owns the table. */
static json_t *check(struct daemon *d, const struct natgw_ctl_request *req) {
        const char *path = req->config[0] ? req->config : arg_config;
        struct natgw_errors errors = {};
        struct natgw_check_result res;
        json_t *reply;
        int r;

        r = req->kernel ? natgw_gw_check_kernel(d->gw, path, &errors, &res) : natgw_check_file(path, &errors, &res);
        reply = natgw_check_json(path, r, &res, &errors);
        natgw_errors_clear(&errors);
        return reply;
}

/* Why a dump failed; -EINTR is what the library returns after every retry was interrupted. */
static const char *dump_error(int r) {
        if (r == -EINTR)
                return "the dump was interrupted on every try (the table kept changing during it, or the "
                       "kernel's answers overran the socket); try again";
        return strerror(-r);
}

/* show's reply, of every entry or of the one named @entry (""): in @ret_line, or an error in
 * @ret_reply. */
static int show(struct daemon *d, const char *entry, json_t **ret_reply, struct natgw_ctl_line *ret_line) {
        struct natgw_counter *counters = NULL;
        size_t n = 0;
        int r;

        if (entry[0]) {
                /* The entry's own counters, asked for by name: natgwctl diagnose at 50,000 forwards
                 * need not read 100,000. */
                _cleanup_(freep) char *bytes = NULL, *denied = NULL;
                const char *names[4] = { entry, NULL, NULL, NATGW_FILTER_COUNTER };

                if (asprintf(&bytes, NATGW_BYTES_COUNTER_PREFIX "%s", entry) < 0 ||
                    asprintf(&denied, NATGW_DENIED_COUNTER_PREFIX "%s", entry) < 0)
                        return -ENOMEM;
                names[1] = bytes;
                names[2] = denied;
                r = natgw_nft_get_counters(names, ELEMENTSOF(names), &counters, &n);
        } else
                r = natgw_nft_read_counters(d->gw->nft, &counters, &n);
        if (r < 0) {
                *ret_reply = natgw_ctl_reply_error("cannot read the counters of table inet natgw: %s", dump_error(r));
                return *ret_reply ? 0 : -ENOMEM;
        }
        ret_line->s = natgw_show_format(d->gw->config, counters, n, entry[0] ? entry : NULL, &ret_line->len);
        natgw_counters_free(counters, n);
        return ret_line->s ? 0 : -ENOMEM;
}

static json_t *conntrack_top(unsigned top) {
        _cleanup_(natgw_ct_top_freep) struct natgw_ct_top *t = NULL;
        int r;

        r = natgw_ct_top_dump(top, &t);
        if (r < 0)
                return natgw_ctl_reply_error("cannot dump the conntrack table: %s", dump_error(r));
        return natgw_ct_top_json(t);
}

static int on_request(const struct natgw_ctl_request *req, json_t **ret_reply, struct natgw_ctl_line *ret_line,
                      void *userdata) {
        struct daemon *d = userdata;
        struct natgw_daemon_info info = {
                .version = NATGW_VERSION,
                .socket = arg_socket,
                .started_realtime_usec = d->started_usec,
                .last_reload = &d->last_reload,
                .on_exit_remove = d->gw->config->on_exit == NATGW_ON_EXIT_REMOVE,
                .control = natgw_ctl_server_get_stats(d->ctl),
                .watch = d->watch,
                .ports = &d->ports,
        };

        natgw_log(LOG_DEBUG, "control: %s", natgw_ctl_command_to_string(req->command));
        switch (req->command) {
        case NATGW_CTL_RELOAD:
                *ret_reply = reload(d, "natgwctl");
                break;
        case NATGW_CTL_STATUS:
                *ret_reply = natgw_status_json(d->gw, &info);
                if (*ret_reply && json_object_set_new(*ret_reply, "ha", natgwd_ha_json(d)) < 0) {
                        json_decref(*ret_reply);
                        *ret_reply = NULL;
                }
                break;
        case NATGW_CTL_SHOW:
                return show(d, req->entry, ret_reply, ret_line);
        case NATGW_CTL_CHECK:
                *ret_reply = check(d, req);
                break;
        case NATGW_CTL_CONNTRACK:
                *ret_reply = conntrack_top(req->top);
                break;
        case NATGW_CTL_TRACE:
                *ret_reply = natgwd_trace(d, req->entry, req->seconds);
                break;
        case NATGW_CTL_HOSTS:
                *ret_reply = natgw_hosts_json(d->gw->config);
                break;
        case NATGW_CTL_HA:
                *ret_reply = natgwd_ha_transition(d, req);
                break;
        case NATGW_CTL_METRICS:
                *ret_reply = natgwd_metrics_reply(d);
                break;
        default:
                *ret_reply = natgw_ctl_reply_error("%s is not supported by this natgwd",
                                                   natgw_ctl_command_to_string(req->command));
                break;
        }
        return *ret_reply ? 0 : -ENOMEM;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        json_decref(reload(userdata, "SIGHUP"));
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        sd_notify(false, "STOPPING=1");
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* The record of the config in force lives next to the control socket (/run/natgwd/applied.conf
 * under systemd): a lab or a second instance with its own -S keeps its own. */
static int set_record(struct natgw_gw *gw, const char *socket_path) {
        _cleanup_(freep) char *path = NULL;
        const char *slash = strrchr(socket_path, '/');
        int len = slash ? (int)(slash - socket_path) : 1;

        if (asprintf(&path, "%.*s/applied.conf", len, slash ? socket_path : ".") < 0)
                return -ENOMEM;
        return natgw_gw_set_record(gw, path);
}

/* The control socket's directory (/run/natgwd under systemd's RuntimeDirectory=) must exist. */
static int make_socket_dir(const char *path) {
        _cleanup_(freep) char *dir = strdup(path);
        char *slash;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0;
        *slash = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int setup_loop(struct daemon *d) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        r = sd_event_default(&d->event);
        if (r >= 0)
                r = sd_event_add_signal(d->event, NULL, SIGHUP, on_sighup, d);
        if (r >= 0)
                r = sd_event_add_signal(d->event, NULL, SIGTERM, on_exit_signal, NULL);
        if (r >= 0)
                r = sd_event_add_signal(d->event, NULL, SIGINT, on_exit_signal, NULL);
#ifdef NATGW_TEST_HOOKS
        if (r >= 0)
                r = natgwd_test_hooks_add(d->event);
#endif
        /* WATCHDOG=1 at half of WATCHDOG_USEC, when systemd asks for it; a no-op otherwise. */
        if (r >= 0)
                r = sd_event_set_watchdog(d->event, true);
        if (r < 0) {
                natgw_log(LOG_ERR, "cannot set up the event loop: %s", strerror(-r));
                return r;
        }
        r = natgw_ct_watch_new(d->event, natgwd_on_ct_event, d, &d->watch);
        if (r < 0) {
                natgw_log(LOG_ERR, "cannot open the conntrack netlink socket: %s", strerror(-r));
                return r;
        }
        r = make_socket_dir(arg_socket);
        if (r >= 0)
                r = set_record(d->gw, arg_socket);
        if (r >= 0)
                r = natgw_ctl_server_new(d->event, arg_socket, on_request, d, &d->ctl);
        if (r < 0) {
                natgw_log(LOG_ERR, "cannot listen on control socket %s: %s%s", arg_socket, strerror(-r),
                          r == -EADDRINUSE ? " (another natgwd is running; give this one its own -S)"
                          : r == -ENOTSOCK ? " (the file there is not a socket; natgwd replaces only a stale "
                                             "socket and leaves other files alone)"
                                           : "");
                return r;
        }
        return natgwd_metrics_start(d);
}

static void stop(struct daemon *d) {
        struct natgw_errors errors = {};
        int r;

        if (d->gw->config->on_exit != NATGW_ON_EXIT_REMOVE) {
                /* The table stays: NAT keeps working across a restart or an upgrade of natgwd. */
                natgw_log(LOG_INFO, "stopped; table inet natgw left in place (on_exit = \"keep\")");
                return;
        }
        /* Without the table, the next start is a plain one: nothing of this config to clean. */
        r = natgw_gw_remove_record(d->gw);
        if (r < 0)
                natgw_log(LOG_WARNING, "stopping: cannot remove the record %s: %s", d->gw->record_path, strerror(-r));
        if (natgw_nft_delete(d->gw->nft, &errors) < 0) {
                natgw_log(LOG_ERR, "stopping: cannot remove table inet natgw:");
                natgw_log_errors(LOG_ERR, "stop", "  ", &errors);
        } else
                natgw_log(LOG_INFO, "stopped; table inet natgw removed (on_exit = \"remove\")");
        natgw_errors_clear(&errors);
}

static int run_daemon(void) {
        struct daemon d = { .started_usec = natgw_now_usec(CLOCK_REALTIME) };
        int r, rc = 1;

        r = natgw_gw_new(&d.gw);
        if (r < 0) {
                natgw_log(LOG_ERR, "cannot open the netfilter netlink socket: %s", strerror(-r));
                return 1;
        }
        /* The loop and the control socket first: if another natgwd holds the socket, this one
         * stops before it has changed anything. */
        if (setup_loop(&d) < 0)
                goto out;
        r = natgw_gw_apply_file(d.gw, arg_config, &d.last_reload.errors);
        natgwd_release_memory(&d);
        natgwd_keep_memory();
        if (r < 0) {
                natgw_log(LOG_ERR, "%s rejected, nothing was changed:", arg_config);
                natgw_log_errors(LOG_ERR, "start-rejected", "  ", &d.last_reload.errors);
                goto out;
        }
        natgw_log_errors(LOG_WARNING, "apply", "", &d.last_reload.errors);
        natgw_reload_record_clear(&d.last_reload);
        log_applied(d.gw, "apply");
        configure_watch(&d);
        natgwd_ha_guard(&d);
        natgwd_table_watch_start(&d);

        sd_notify(false, "READY=1");
        natgwd_notify_status(&d);
        r = sd_event_loop(d.event);
        if (r < 0) {
                natgw_log(LOG_ERR, "event loop failed: %s", strerror(-r));
                goto out;
        }
        /* A reload applied just before the stop signal still tells its client so. */
        if (natgw_ctl_server_flush(d.ctl, NATGW_CTL_CLIENT_TIMEOUT_USEC) > 0)
                natgw_log(LOG_WARNING, "stopping: a client did not read its reply within %u s",
                          NATGW_CTL_CLIENT_TIMEOUT_USEC / 1000000u);
        natgwd_trace_stop(&d);
        stop(&d);
        rc = 0;
out:
        natgwd_table_watch_stop(&d);
        natgwd_ha_free(&d);
        natgwd_metrics_stop(&d);
        natgw_ct_watch_free(d.watch);
        natgw_ctl_server_free(d.ctl);
        sd_event_source_disable_unref(d.trim_timer);
        sd_event_source_disable_unref(d.release_defer);
        sd_event_unref(d.event);
        natgw_reload_record_clear(&d.last_reload);
        natgw_gw_free(d.gw);
        return rc;
}

int main(int argc, char *argv[]) {
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        /* Before any thread starts (natgwd-alloc.c). */
        natgw_conf_tree_alloc = natgwd_tree_alloc_setup();
        /* With the trees in regions natgwd's threads allocate little: one arena, the main one,
         * whose free memory malloc_trim() gives back whole. In an arena of its own the memory a
         * thread freed at the arena's top stayed resident (malloc_trim() does not trim the top
         * of a thread's arena): the state the first apply's finisher thread built, 5 MB at
         * 50,000 forwards, once the first reload had replaced it. */
        if (natgw_conf_tree_alloc)
                (void)mallopt(M_ARENA_MAX, 1);
        if (arg_check)
                return run_check();
        natgw_log_open("natgwd", arg_verbose > 0 ? LOG_DEBUG : LOG_INFO);
        return run_daemon();
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * natgwd: keeps table inet natgw (and the forwarding sysctls) exactly as its config file says.
 * A thin main: options, the event loop and what to log; the work is in lib/.
 */

#include <getopt.h>
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "conf.h"
#include "gw.h"
#include "nft-plan.h"
#include "util.h"

static const char *arg_config = NATGW_CONFIG_DEFAULT;
static const char *arg_socket = "/run/natgwd/control.sock";
static bool arg_check;
static int arg_verbose;

static void help(void) {
        printf("Usage: natgwd [OPTIONS]\n"
               "NAT gateway daemon: keeps table inet natgw as its config file says.\n\n"
               "  -c, --config FILE   config file (default %s)\n"
               "  -S, --socket PATH   control socket (default %s)\n"
               "  -t, --check         validate and compile the file, then exit (0 valid, 1 not)\n"
               "  -v, --verbose       log more\n"
               "  -V, --version       print the version\n"
               "  -h, --help          this text\n",
               NATGW_CONFIG_DEFAULT, "/run/natgwd/control.sock");
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

static void print_errors(const struct natgw_errors *errors, const char *prefix) {
        for (size_t i = 0; i < errors->n; i++) {
                _cleanup_(freep) char *s = natgw_error_format(&errors->v[i]);

                fprintf(stderr, "%s%s\n", prefix, s ? s : errors->v[i].message);
        }
}

static int run_check(void) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL;
        _cleanup_(natgw_plan_freep) struct natgw_plan *p = NULL;
        struct natgw_errors errors = {};
        int r;

        r = natgw_config_load_file(arg_config, &c, &errors);
        if (r >= 0)
                r = natgw_plan_build(c, &p, &errors);
        print_errors(&errors, "");
        natgw_errors_clear(&errors);
        if (r < 0) {
                if (r == -ENOMEM)
                        fprintf(stderr, "natgwd: out of memory\n");
                return 1;
        }
        printf("%s: valid: egress entries %zu, forwards %zu, map elements %zu\n", arg_config, c->n_egress,
               c->n_forwards, p->n_elements);
        return 0;
}

static void log_applied(const struct natgw_gw *gw, const char *what) {
        const struct natgw_apply_stats *s = &gw->last_stats;

        fprintf(stderr,
                "natgwd: %s %s (generation %llu): egress entries %zu, forwards %zu, map elements %llu "
                "in %u messages (%llu bytes); compile %.1f ms, kernel %.1f ms; table flags 0x%x\n",
                what, gw->config->path, (unsigned long long)gw->generation, gw->config->n_egress,
                gw->config->n_forwards, (unsigned long long)s->elements, s->messages,
                (unsigned long long)s->bytes, (double)s->compile_usec / 1000.0, (double)s->kernel_usec / 1000.0,
                s->table_flags);
        sd_notifyf(false, "STATUS=generation %llu: egress entries %zu, forwards %zu",
                   (unsigned long long)gw->generation, gw->config->n_egress, gw->config->n_forwards);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct natgw_gw *gw = userdata;
        struct natgw_errors errors = {};
        int r;

        sd_notify(false, "RELOADING=1");
        r = natgw_gw_apply_file(gw, arg_config, &errors);
        if (r < 0) {
                fprintf(stderr, "natgwd: reload of %s rejected, the running state is unchanged:\n", arg_config);
                print_errors(&errors, "  ");
        } else {
                print_errors(&errors, "natgwd: warning: ");
                log_applied(gw, "reloaded");
        }
        natgw_errors_clear(&errors);
        sd_notify(false, "READY=1");
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        sd_notify(false, "STOPPING=1");
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int run_daemon(void) {
        _cleanup_(natgw_gw_freep) struct natgw_gw *gw = NULL;
        _cleanup_(sd_event_unrefp) sd_event *ev = NULL;
        struct natgw_errors errors = {};
        sigset_t mask;
        int r;

        r = natgw_gw_new(&gw);
        if (r < 0) {
                fprintf(stderr, "natgwd: cannot open the netfilter netlink socket: %s\n", strerror(-r));
                return 1;
        }
        r = natgw_gw_apply_file(gw, arg_config, &errors);
        if (r < 0) {
                fprintf(stderr, "natgwd: %s rejected, nothing was changed:\n", arg_config);
                print_errors(&errors, "  ");
                natgw_errors_clear(&errors);
                return 1;
        }
        print_errors(&errors, "natgwd: warning: ");
        natgw_errors_clear(&errors);
        log_applied(gw, "applied");

        sigemptyset(&mask);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        r = sd_event_default(&ev);
        if (r >= 0)
                r = sd_event_add_signal(ev, NULL, SIGHUP, on_sighup, gw);
        if (r >= 0)
                r = sd_event_add_signal(ev, NULL, SIGTERM, on_exit_signal, NULL);
        if (r >= 0)
                r = sd_event_add_signal(ev, NULL, SIGINT, on_exit_signal, NULL);
        if (r < 0) {
                fprintf(stderr, "natgwd: cannot set up the event loop: %s\n", strerror(-r));
                return 1;
        }
        sd_notify(false, "READY=1");
        r = sd_event_loop(ev);
        if (r < 0) {
                fprintf(stderr, "natgwd: event loop failed: %s\n", strerror(-r));
                return 1;
        }
        /* The table stays: NAT keeps working across a restart or an upgrade of natgwd. */
        fprintf(stderr, "natgwd: stopped; table inet natgw left in place\n");
        return 0;
}

int main(int argc, char *argv[]) {
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        (void)arg_socket;
        (void)arg_verbose;
        return arg_check ? run_check() : run_daemon();
}

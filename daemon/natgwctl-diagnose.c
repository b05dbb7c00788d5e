/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * natgwctl diagnose: natgwd supplies the entry, its counter and the last reload (`show` and
 * `status`); the probes run here, in the operator's process (lib/gw-diagnose-run.c).
 */

#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>

#include "ctl-client.h"
#include "gw-diagnose.h"
#include "natgwctl-diagnose.h"
#include "nft-trace.h"

enum {
        EXIT_OK = 0,
        EXIT_FAULT = 1,
        EXIT_USAGE = 2,
        EXIT_UNREACHABLE = 3,
};

#define WATCH_MAX 3600

int natgwctl_diagnose_option(struct natgwctl_diagnose_args *a, int c, const char *value) {
        char *end;

        a->used = true;
        switch (c) {
        case 'f':
                a->from = value;
                return 0;
        case 'w':
                errno = 0;
                a->watch = strtod(value, &end);
                if (errno || *end || !(a->watch > 0 && a->watch <= WATCH_MAX)) {
                        fprintf(stderr, "natgwctl: --watch must be a number of seconds up to %d\n", WATCH_MAX);
                        return -EINVAL;
                }
                return 0;
        case 'e':
                a->egress = value;
                return 0;
        case 't':
                a->to = value;
                return 0;
        case 'p':
                a->proto = value;
                return 0;
        default:
                return -EINVAL;
        }
}

/* natgwd's reply to @cmd (natgw_ctl_call()'s @r and @error), checked: EXIT_OK, or why not on stderr. */
static int answered(const struct natgwctl_diagnose_args *a, enum natgw_ctl_command cmd, int r, const char *error,
                    const json_t *reply) {
        if (r < 0) {
                fprintf(stderr, "natgwctl: cannot reach natgwd at %s: %s\n", a->socket, error ?: strerror(-r));
                return EXIT_UNREACHABLE;
        }
        if (!json_is_true(json_object_get(reply, "ok"))) {
                fprintf(stderr, "natgwctl: %s: %s\n", natgw_ctl_command_to_string(cmd),
                        json_string_value(json_object_get(reply, "error")) ?: "failed");
                return EXIT_FAULT;
        }
        return EXIT_OK;
}

static int ask_req(const struct natgwctl_diagnose_args *a, const struct natgw_ctl_request *req, json_t **ret) {
        _cleanup_(freep) char *error = NULL;
        int r;

        r = natgw_ctl_call(a->socket, req, (uint64_t)(a->timeout * 1e6), ret, &error);
        return answered(a, req->command, r, error, *ret);
}

static int ask(const struct natgwctl_diagnose_args *a, enum natgw_ctl_command cmd, json_t **ret) {
        struct natgw_ctl_request req = { .command = cmd };

        return ask_req(a, &req, ret);
}

/* show's entries that are not forwards: all that --egress matches against. At 50,000 forwards
 * the whole reply as one tree took 135 MB; read an entry at a time, the forwards are passed by. */
static int no_forwards(enum natgw_json_event ev, const char *key, json_t *value, void *userdata) {
        json_t *show = userdata;

        switch (ev) {
        case NATGW_JSON_MEMBER:
                return json_object_set(show, key, value) < 0 ? -ENOMEM : 0;
        case NATGW_JSON_ARRAY_BEGIN:
                return json_object_set_new(show, key, json_array()) < 0 ? -ENOMEM : 0;
        case NATGW_JSON_ELEMENT:
                if (streq(json_string_value(json_object_get(value, "kind")) ?: "", "forward"))
                        return 0;
                return json_array_append(json_object_get(show, key), value) < 0 ? -ENOMEM : 0;
        case NATGW_JSON_ARRAY_END:
                break;
        }
        return 0;
}

static int ask_show_no_forwards(const struct natgwctl_diagnose_args *a, json_t **ret) {
        struct natgw_ctl_request req = { .command = NATGW_CTL_SHOW };
        _cleanup_(freep) char *error = NULL;
        int r;

        *ret = json_object();
        r = !*ret ? -ENOMEM
                  : natgw_ctl_call_stream(a->socket, &req, (uint64_t)(a->timeout * 1e6), "entries", no_forwards, *ret,
                                          &error);
        return answered(a, NATGW_CTL_SHOW, r, error, *ret);
}

/* ---------------------------------------------------------------- --watch */

static volatile int watch_stop;

static void on_stop_signal(int sig) {
        watch_stop = 1;
}

/* natgwd puts the trace rule in place (@seconds > 0) or takes it away (0). */
static int trace_request(const struct natgwctl_diagnose_args *a, const char *name, unsigned seconds) {
        _cleanup_(json_decrefp) json_t *reply = NULL;
        struct natgw_ctl_request req = { .command = NATGW_CTL_TRACE, .seconds = seconds };

        snprintf(req.entry, sizeof(req.entry), "%s", name);
        return ask_req(a, &req, &reply);
}

/* Trace the forward's attempts for --watch seconds; the rule is taken away on every way out,
 * SIGINT and SIGTERM included (they end the watch early). */
static int watch(const struct natgwctl_diagnose_args *a, const struct natgw_diag_input *in,
                 struct natgw_diag_watch *ret) {
        _cleanup_(natgw_nl_freep) struct natgw_nl *nl = NULL;
        struct sigaction sa = { .sa_handler = on_stop_signal }, old_int, old_term;
        int k, r;

        /* In the group before the rule exists: no event of the first packet is missed. */
        r = natgw_nft_trace_subscribe(&nl);
        if (r < 0) {
                fprintf(stderr, "natgwctl: cannot read the nftables trace: %s\n", strerror(-r));
                return EXIT_FAULT;
        }
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        k = trace_request(a, in->forward->name, (unsigned)ceil(a->watch));
        if (k != EXIT_OK)
                goto out;
        fprintf(stderr, "natgwctl: watching forward %s for %g s: make the attempts now\n", in->forward->name,
                a->watch);
        r = natgw_diag_watch(nl, in, a->watch, &watch_stop, ret);
        if (r < 0)
                fprintf(stderr, "natgwctl: the trace could not be read: %s\n", strerror(-r));
        k = trace_request(a, in->forward->name, 0);
out:
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        return k;
}

static const json_t *find_entry(const json_t *show, const char *name) {
        const json_t *entries = json_object_get(show, "entries");
        size_t i;
        json_t *e;

        json_array_foreach(entries, i, e)
                if (streq(json_string_value(json_object_get(e, "name")) ?: "", name))
                        return e;
        return NULL;
}

static void print_report(const struct natgw_diag_report *r) {
        enum natgw_diag_cause cause;
        int v = natgw_diag_verdict(r, &cause);

        printf("%-12s %-8s %s\n", "LAYER", "STATUS", "EVIDENCE");
        for (size_t i = 0; i < r->n_layers; i++) {
                const struct natgw_diag_layer *l = &r->layers[i];

                printf("%-12s %-8s ", l->name, natgw_diag_status_name(l->status));
                for (size_t k = 0; k < l->n_evidence; k++)
                        printf("%s%s", k ? "; " : "", l->evidence[k]);
                printf("\n");
        }
        printf("\nverdict: %s", natgw_diag_cause_name(cause));
        if (v >= 0)
                printf(" (layer %s)\nfix: %s\n", r->layers[v].name, r->layers[v].fix);
        else
                printf("\n");
        /* Warnings and unknowns do not make the verdict, but their fixes are worth a line. */
        for (size_t i = 0; i < r->n_layers; i++)
                if (r->layers[i].status != NATGW_DIAG_FAIL && r->layers[i].fix[0])
                        printf("note (%s): %s\n", r->layers[i].name, r->layers[i].fix);
}

static int output(const struct natgwctl_diagnose_args *a, const struct natgw_diag_report *r) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        enum natgw_diag_cause cause;

        natgw_diag_verdict(r, &cause);
        if (a->json) {
                _cleanup_(freep) char *s = NULL;

                j = natgw_diag_report_json(r);
                s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
                if (!s) {
                        fprintf(stderr, "natgwctl: out of memory\n");
                        return EXIT_FAULT;
                }
                printf("%s\n", s);
        } else
                print_report(r);
        return cause == NATGW_CAUSE_OK ? EXIT_OK : EXIT_FAULT;
}

/* The entry is not in force: a rejected reload may be why (the file has it, natgwd does not). */
static int not_in_force(const struct natgwctl_diagnose_args *a, const char *name, const json_t *status) {
        const json_t *lr = json_object_get(status, "last_reload");
        struct natgw_diag_report r = {};
        struct natgw_diag_layer *l;

        if (!streq(json_string_value(json_object_get(lr, "result")) ?: "", "rejected")) {
                fprintf(stderr, "natgwctl: natgwd has no forward named \"%s\" (see natgwctl show)\n", name);
                return EXIT_USAGE;
        }
        snprintf(r.subject, sizeof(r.subject), "forward %s", name);
        l = natgw_diag_layer_add(&r, "config");
        natgw_diag_evidence(l, "no forward %s in the config in force", name);
        natgw_diag_evidence(l, "last reload %s: rejected", json_string_value(json_object_get(lr, "time")) ?: "");
        natgw_diag_fail(l, NATGW_CAUSE_NOT_APPLIED,
                        "the last reload was rejected: `natgwctl check`, fix the errors, `natgwctl reload`");
        return output(a, &r);
}

/* The file natgwd has in force (`show`'s "config"), loaded here: into @ret, and returned; NULL
 * when it does not load. */
static const struct natgw_config *load_config_here(const json_t *path, struct natgw_config **ret) {
        struct natgw_errors errors = {};

        if (!json_is_string(path) || natgw_config_load_file(json_string_value(path), ret, &errors) < 0)
                *ret = NULL;
        natgw_errors_clear(&errors);
        return *ret;
}

/* diagnose NAME of an egress or netmap entry: say which command asks about its path. */
static int not_a_forward(const char *name, const json_t *e) {
        const char *kind = json_string_value(json_object_get(e, "kind")) ?: "?";

        if (streq(kind, "netmap"))
                fprintf(stderr,
                        "natgwctl: \"%s\" is a netmap entry, not a forward: \"diagnose --egress ADDR --to DEST\" with an "
                        "address of its inside %s shows its outbound path\n",
                        name, json_string_value(json_object_get(e, "inside")) ?: "prefix");
        else
                fprintf(stderr,
                        "natgwctl: \"%s\" is a %s entry, not a forward: \"diagnose --egress ADDR --to DEST\" with one of "
                        "its sources shows its path\n",
                        name, kind);
        return EXIT_USAGE;
}

static int diagnose_forward(const struct natgwctl_diagnose_args *a, const char *name) {
        _cleanup_(json_decrefp) json_t *show = NULL, *status = NULL;
        _cleanup_(natgw_diag_forward_clear) struct natgw_forward f = {};
        _cleanup_(natgw_config_freep) struct natgw_config *config = NULL;
        struct natgw_diag_input in = { .forward = &f, .connect_timeout = 2.0 };
        struct natgw_ctl_request show_req = { .command = NATGW_CTL_SHOW };
        struct natgw_diag_watch w = {};
        struct natgw_diag_report r;
        const json_t *e, *lr;
        int k;

        /* show of this entry alone: at 50,000 forwards the whole reply is 16 MB, and natgwd would
         * read every counter of the table for it. */
        snprintf(show_req.entry, sizeof(show_req.entry), "%s", name);
        k = ask_req(a, &show_req, &show);
        if (k != EXIT_OK)
                return k;
        k = ask(a, NATGW_CTL_STATUS, &status);
        if (k != EXIT_OK)
                return k;
        e = find_entry(show, name);
        if (!e)
                return not_in_force(a, name, status);
        if (natgw_diag_forward_from_json(e, &f) < 0)
                return not_a_forward(name, e);
        if (a->from) {
                if (natgw_addr_parse(a->from, &in.from) < 0) {
                        fprintf(stderr, "natgwctl: --from: \"%s\" is not an address\n", a->from);
                        return EXIT_USAGE;
                }
                in.has_from = true;
        }
        lr = json_object_get(status, "last_reload");
        in.config_path = json_string_value(json_object_get(show, "config")) ?: "?";
        in.config = load_config_here(json_object_get(show, "config"), &config);
        in.generation = json_integer_value(json_object_get(status, "generation"));
        in.in_kernel = json_is_integer(json_object_get(e, "connections"));
        in.connections = json_integer_value(json_object_get(e, "connections"));
        in.bytes = json_integer_value(json_object_get(e, "bytes"));
        in.last_reload = json_string_value(json_object_get(lr, "result"));
        in.last_reload_time = json_string_value(json_object_get(lr, "time"));
        if (a->watch > 0) {
                k = watch(a, &in, &w);
                if (k != EXIT_OK)
                        return k;
                in.watch = &w;
        }
        natgw_diag_run(&in, &r);
        return output(a, &r);
}

static int diagnose_egress(const struct natgwctl_diagnose_args *a) {
        _cleanup_(json_decrefp) json_t *show = NULL;
        _cleanup_(natgw_config_freep) struct natgw_config *config = NULL;
        struct natgw_diag_egress_input in = { .l4proto = IPPROTO_TCP };
        struct natgw_port_range port;
        struct natgw_diag_report r;
        int k;

        if (natgw_addr_parse(a->egress, &in.from) < 0) {
                fprintf(stderr, "natgwctl: --egress: \"%s\" is not an address\n", a->egress);
                return EXIT_USAGE;
        }
        if (natgw_diag_parse_addr_port(a->to, &in.to, &port, &in.has_port) < 0 || (in.has_port && port.lo != port.hi)) {
                fprintf(stderr, "natgwctl: --to: \"%s\" is not ADDR or ADDR:PORT ([ADDR6]:PORT)\n", a->to);
                return EXIT_USAGE;
        }
        if (in.from.family != in.to.family) {
                fprintf(stderr, "natgwctl: --egress and --to must be of the same family\n");
                return EXIT_USAGE;
        }
        in.port = port.lo;
        if (a->proto && streq(a->proto, "udp"))
                in.l4proto = IPPROTO_UDP;
        else if (a->proto && streq(a->proto, "icmp"))
                in.l4proto = in.to.family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
        else if (a->proto && !streq(a->proto, "tcp")) {
                fprintf(stderr, "natgwctl: --proto must be tcp, udp or icmp\n");
                return EXIT_USAGE;
        }
        if (in.has_port && in.l4proto != IPPROTO_TCP && in.l4proto != IPPROTO_UDP) {
                fprintf(stderr, "natgwctl: --to with a port needs --proto tcp or udp\n");
                return EXIT_USAGE;
        }
        k = ask_show_no_forwards(a, &show);
        if (k != EXIT_OK)
                return k;
        in.entries = json_object_get(show, "entries");
        /* The allow lists are not in show: they are read from the file natgwd has in force. */
        in.config = load_config_here(json_object_get(show, "config"), &config);
        natgw_diag_egress_run(&in, &r);
        return output(a, &r);
}

int natgwctl_diagnose(const struct natgwctl_diagnose_args *a, int argc, char **argv) {
        if (a->egress || a->to || a->proto) {
                if (!a->egress || !a->to || argc != 0 || a->from || a->watch > 0) {
                        fprintf(stderr, "natgwctl: diagnose --egress ADDR --to ADDR[:PORT] [--proto P] takes nothing "
                                        "else; see --help\n");
                        return EXIT_USAGE;
                }
                return diagnose_egress(a);
        }
        if (argc != 1) {
                fprintf(stderr, "natgwctl: diagnose takes one forward's NAME (or --egress ADDR --to ADDR); see --help\n");
                return EXIT_USAGE;
        }
        return diagnose_forward(a, argv[0]);
}

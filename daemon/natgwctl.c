/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * natgwctl: asks a running natgwd over its control socket, prints the answer for people or, with
 * -j, as JSON for scripts. Exit codes: 0 ok, 1 rejected or invalid, 2 usage, 3 natgwd unreachable.
 */

#include <getopt.h>
#include <inttypes.h>

#include "config.h"
#include "ctl-client.h"
#include "gw-json.h"
#include "gw.h"
#include "natgwctl-diagnose.h"
#include "natgwctl-egress.h"
#include "natgwctl-ha.h"
#include "natgwctl-import.h"
#include "natgwctl-top.h"
#include "util.h"

enum {
        EXIT_OK = 0,
        EXIT_REJECTED = 1,
        EXIT_USAGE = 2,
        EXIT_UNREACHABLE = 3,
};

static const char *arg_socket = NATGW_CTL_SOCKET_DEFAULT;
static bool arg_json;
static unsigned arg_top = NATGW_CTL_TOP_DEFAULT;
static double arg_timeout = 300;
static bool arg_kernel;
static struct natgwctl_diagnose_args arg_diagnose;

static void help(void) {
        printf("Usage: natgwctl [OPTIONS] COMMAND\n"
               "Control a running natgwd.\n\n"
               "Commands:\n"
               "  reload         re-read the config file and apply it (waits until the kernel has it)\n"
               "  status         daemon, config, last reload, kernel settings, conntrack\n"
               "  show           every entry with its counters\n"
               "  check [FILE]   validate FILE here, or natgwd's own config file, without applying;\n"
               "                 with --kernel, natgwd has the kernel check the batch a reload would send\n"
               "  conntrack      the top sources and destinations in the conntrack table\n"
               "  top [-n N]     the inside hosts by current bandwidth (metrics.hosts), every second\n"
               "  metrics        natgwd's Prometheus metrics (the text GET /metrics answers)\n"
               "  diagnose NAME [--from ADDR] [--watch SEC]\n"
               "                 why clients cannot reach forward NAME, layer by layer\n"
               "           --egress ADDR --to ADDR[:PORT] [--proto P]\n"
               "                 which egress entry takes ADDR's traffic, and how it leaves\n"
               "  egress learn NAME [--for DURATION]\n"
               "                 a proposed allow list for egress entry NAME from its hosts' flows\n"
               "  import [--from iptables-save|nft] [FILE]\n"
               "                 a config equivalent to the NAT rules of a saved ruleset (no daemon needed)\n"
               "  ha master|backup|fault [--conntrackd-conf FILE]\n"
               "                 keepalived's notify hook: conntrackd's sequence, then natgwd is told\n\n"
               "Options:\n"
               "  -S, --socket PATH   natgwd's control socket (default %s)\n"
               "  -j, --json          print the reply as JSON\n"
               "  -n, --top N         conntrack, top: how many top sources, destinations, hosts (default %d)\n"
               "  -T, --timeout SEC   give up waiting for natgwd after SEC seconds (default 300)\n"
               "  -k, --kernel        check: natgwd has the kernel check the batch a reload would send\n"
               "  --from ADDR         diagnose: the client\n"
               "  --watch SEC         diagnose: trace real attempts for SEC seconds\n"
               "  --egress ADDR, --to ADDR[:PORT], --proto tcp|udp|icmp   diagnose --egress\n"
               "  -V, --version       print the version\n"
               "  -h, --help          this text\n\n"
               "Exit status: 0 ok, 1 rejected or invalid, 2 usage, 3 natgwd unreachable.\n",
               NATGW_CTL_SOCKET_DEFAULT, NATGW_CTL_TOP_DEFAULT);
}

/* The global options; command_index() reads which take a value from here too. */
static const struct option options[] = {
        { "socket", required_argument, NULL, 'S' }, { "json", no_argument, NULL, 'j' },
        { "top", required_argument, NULL, 'n' },    { "timeout", required_argument, NULL, 'T' },
        { "version", no_argument, NULL, 'V' },      { "help", no_argument, NULL, 'h' },
        { "kernel", no_argument, NULL, 'k' },
        { "from", required_argument, NULL, 'f' },   { "watch", required_argument, NULL, 'w' },
        { "egress", required_argument, NULL, 'e' }, { "to", required_argument, NULL, 't' },
        { "proto", required_argument, NULL, 'p' },  {},
};
static const char short_options[] = "S:jn:T:kVh";

static int parse_argv(int argc, char *argv[]) {
        char *end;
        long n;
        int c;

        while ((c = getopt_long(argc, argv, short_options, options, NULL)) >= 0)
                switch (c) {
                case 'S':
                        arg_socket = optarg;
                        break;
                case 'j':
                        arg_json = true;
                        break;
                case 'n':
                        errno = 0;
                        n = strtol(optarg, &end, 10);
                        if (errno || *end || n < 1 || n > NATGW_CTL_TOP_MAX) {
                                fprintf(stderr, "natgwctl: --top must be between 1 and %d\n", NATGW_CTL_TOP_MAX);
                                return -EINVAL;
                        }
                        arg_top = (unsigned)n;
                        break;
                case 'T':
                        errno = 0;
                        arg_timeout = strtod(optarg, &end);
                        if (errno || *end || !(arg_timeout > 0 && arg_timeout <= 86400)) {
                                fprintf(stderr, "natgwctl: --timeout must be a number of seconds up to 86400\n");
                                return -EINVAL;
                        }
                        break;
                case 'k':
                        arg_kernel = true;
                        break;
                case 'f':
                case 'w':
                case 'e':
                case 't':
                case 'p':
                        if (natgwctl_diagnose_option(&arg_diagnose, c, optarg) < 0)
                                return -EINVAL;
                        break;
                case 'V':
                        printf("natgwctl %s\n", NATGW_VERSION);
                        return 0;
                case 'h':
                        help();
                        return 0;
                default:
                        return -EINVAL;
                }
        return 1;
}

/* ---------------------------------------------------------------- printing */

static const char *str(const json_t *o, const char *key) {
        const char *s = json_string_value(json_object_get(o, key));

        return s ? s : "";
}

static long long num(const json_t *o, const char *key) {
        return json_integer_value(json_object_get(o, key));
}

static void print_json(const json_t *j) {
        _cleanup_(freep) char *s = json_dumps(j, NATGW_JSON_PRETTY_FLAGS);

        if (s)
                printf("%s\n", s);
}

/* Each error or warning as its text after @indent; a warning says so (its "severity"). */
static void print_errors(const json_t *array, FILE *f, const char *indent) {
        size_t i;
        json_t *e;

        json_array_foreach(array, i, e)
                fprintf(f, "%s%s%s\n", indent, streq(str(e, "severity"), "warning") ? "warning: " : "",
                        str(e, "text"));
}

/* A JSON value as short text: strings bare, arrays joined with commas. The recursion goes as deep
 * as natgwd's reply (two levels), and never deeper than jansson's parser allows. */
static void value_text(const json_t *v, char *buf, size_t size) { /* NOLINT(misc-no-recursion) */
        size_t i, off = 0;
        json_t *x;

        buf[0] = '\0';
        if (json_is_string(v))
                snprintf(buf, size, "%s", json_string_value(v));
        else if (json_is_integer(v))
                snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else if (json_is_array(v))
                json_array_foreach(v, i, x) {
                        char one[128];

                        value_text(x, one, sizeof(one));
                        if (off < size)
                                off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? "," : "", one);
                }
        if (off >= size && size > 4)
                memcpy(buf + size - 4, "...", 4);
}

static const char *int_text(const json_t *o, const char *key, char *buf, size_t size);

static void print_show_header(void) {
        printf("%-10s %-16s %-44s %-24s %12s %14s %10s\n", "KIND", "NAME", "MATCH", "TO", "CONNECTIONS", "TRAFFIC",
               "DENIED");
}

static void print_show_entry(const json_t *e) {
        char match[256], to[128], a[160], b[160], pk[24] = "-", by[24], dn[24];
        const char *kind = str(e, "kind"), *traffic = "-";

        if (streq(kind, "forward")) {
                value_text(json_object_get(e, "port"), a, sizeof(a));
                snprintf(match, sizeof(match), "%s%s%s %s%s%s", str(e, "in_interface"),
                         *str(e, "in_interface") ? " " : "", str(e, "proto"), a,
                         *str(e, "destination") ? " to " : "", str(e, "destination"));
                if (json_object_get(e, "allow_from")) {
                        size_t n = strlen(match);

                        value_text(json_object_get(e, "allow_from"), b, sizeof(b));
                        snprintf(match + n, sizeof(match) - n, " from %s", b);
                }
                if (json_is_false(json_object_get(e, "reflection")))
                        strncat(match, ", reflection off", sizeof(match) - strlen(match) - 1);
                snprintf(to, sizeof(to), "%s", str(e, "to"));
        } else if (streq(kind, "netmap")) {
                snprintf(match, sizeof(match), "%s on %s", str(e, "inside"), str(e, "interface"));
                snprintf(to, sizeof(to), "%s (1:1)", str(e, "outside"));
        } else {
                value_text(json_object_get(e, "source"), a, sizeof(a));
                snprintf(match, sizeof(match), "%s out %s", a, str(e, "out_interface"));
                snprintf(to, sizeof(to), "%s", streq(kind, "snat") ? str(e, "to") : "(interface address)");
        }
        if (json_is_integer(json_object_get(e, "connections"))) {
                snprintf(pk, sizeof(pk), "%lld", num(e, "connections"));
                traffic = int_text(e, "traffic_bytes", by, sizeof(by));
        }
        printf("%-10s %-16s %-44s %-24s %12s %14s %10s\n", kind, str(e, "name"), match, to, pk, traffic,
               int_text(e, "denied", dn, sizeof(dn)));
}

/* After the entries: @reply's other members. */
static void print_show_footer(const json_t *reply) {
        char dropped[24];

        printf("(CONNECTIONS: natgwd's NAT rules see the first packet of each; TRAFFIC: the bytes of\n"
               " every packet of them, both directions; DENIED: the packets an entry's allow list denied)\n");
        if (streq(str(reply, "filter_forward"), "drop"))
                printf("filter forward drop: %s packets dropped\n",
                       int_text(reply, "forward_dropped", dropped, sizeof(dropped)));
}

/* An integer of @o as text, "-" when it is null or missing. */
static const char *int_text(const json_t *o, const char *key, char *buf, size_t size) {
        const json_t *v = json_object_get(o, key);

        if (!json_is_integer(v))
                return "-";
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
}

/* Rows worth a line: the forwarding switches always, the others once natgwd set or changed them. */
static bool setting_shown(size_t i, const json_t *s) {
        return i < 2 || !streq(str(s, "result"), "left as is") || json_is_integer(json_object_get(s, "previous"));
}

/* The kernel settings as a small table; those left as is and never changed are only counted. */
static void print_settings(const json_t *settings) {
        size_t i, width = strlen("SYSCTL"), hidden = 0;
        json_t *s;

        json_array_foreach(settings, i, s)
                if (setting_shown(i, s))
                        width = MAX(width, strlen(str(s, "key")));
        printf("%-14s %-*s %10s %10s %10s  %s\n", "settings:", (int)width, "SYSCTL", "WANTED", "PREVIOUS", "ACTUAL",
               "RESULT");
        json_array_foreach(settings, i, s) {
                char w[24], p[24], a[24];

                if (!setting_shown(i, s)) {
                        hidden++;
                        continue;
                }
                printf("%-14s %-*s %10s %10s %10s  %s\n", "", (int)width, str(s, "key"),
                       int_text(s, "wanted", w, sizeof(w)), int_text(s, "previous", p, sizeof(p)),
                       int_text(s, "actual", a, sizeof(a)), str(s, "result"));
        }
        if (hidden > 0)
                printf("%-14s (%zu more left as is: conntrack timeouts and sizes the config does not set; "
                       "natgwctl -j status lists them)\n", "", hidden);
}

/* The first @n items of a top list as "ADDR COUNT (P%), ..." */
static void print_top_line(const char *label, const json_t *a, size_t n) {
        size_t i;
        json_t *e;

        printf("%-14s %s", "", label);
        json_array_foreach(a, i, e) {
                if (i >= n)
                        break;
                printf("%s%s", i ? ", " : " ", str(e, "address"));
                if (json_object_get(e, "port"))
                        printf(":%lld/%s", num(e, "port"), str(e, "protocol"));
                printf(" %lld (%.1f%%)", num(e, "count"), json_number_value(json_object_get(e, "percent")));
        }
        printf("\n");
}

static void print_conntrack_status(const json_t *ct) {
        const json_t *top = json_object_get(ct, "last_top"), *grow = json_object_get(ct, "auto_grow");

        if (!json_is_integer(json_object_get(ct, "count"))) {
                printf("%-14s unreadable\n", "conntrack:");
                return;
        }
        printf("%-14s %lld of %lld entries (%.1f%%), level %s", "conntrack:", num(ct, "count"), num(ct, "max"),
               json_number_value(json_object_get(ct, "percent")), json_object_get(ct, "level") ? str(ct, "level") : "?");
        if (json_is_string(json_object_get(ct, "since")))
                printf(" since %s (was %s)", str(ct, "since"), str(ct, "previous_level"));
        printf("\n");
        if (!json_object_get(ct, "level"))
                return;
        printf("%-14s drop %lld, early_drop %lld, insert_failed %lld, search_restart %lld, invalid %lld\n", "",
               num(ct, "drop"), num(ct, "early_drop"), num(ct, "insert_failed"), num(ct, "search_restart"),
               num(ct, "invalid"));
        printf("%-14s checked every %g s (%.2f ms per check), warn at %lld%%, critical at %lld%%\n", "",
               json_number_value(json_object_get(ct, "interval")),
               json_number_value(json_object_get(ct, "check_ms_average")), num(ct, "warn"), num(ct, "critical"));
        if (json_is_string(json_object_get(ct, "read_error")))
                printf("%-14s cannot read the statistics: %s\n", "", str(ct, "read_error"));
        if (json_is_object(top)) {
                printf("%-14s last dump at %s (%s): %lld entries\n", "", str(top, "time"), str(top, "level"),
                       num(top, "total"));
                print_top_line("top sources:", json_object_get(top, "sources"), 3);
                print_top_line("top destinations:", json_object_get(top, "destinations"), 3);
        }
        if (json_is_object(grow)) {
                printf("%-14s auto_grow up to %lld in steps of %lld", "", num(grow, "ceiling"), num(grow, "step"));
                if (num(grow, "grown_to"))
                        printf("; last raised %lld -> %lld", num(grow, "grown_from"), num(grow, "grown_to"));
                if (json_is_string(json_object_get(grow, "refused")))
                        printf("; refused by the kernel: %s", str(grow, "refused"));
                printf("\n");
        }
}

/* Where natgwd watches its table (no owner flag), how often it put it back, and the last time. */
static void print_restores(const json_t *t) {
        if (!json_is_object(t) || (!json_is_true(json_object_get(t, "watching")) && !num(t, "restored") &&
                                   !num(t, "failed")))
                return;
        printf("%-14s %lld", "restores:", num(t, "restored"));
        if (num(t, "failed"))
                printf(", %lld failed", num(t, "failed"));
        if (json_is_string(json_object_get(t, "last")))
                printf(" (last %s: %s; %s)\n", str(t, "last"), str(t, "last_cause"), str(t, "last_result"));
        else
                printf(" (table inet natgw has no owner flag: natgwd restores it when another process changes it)\n");
}

static void print_status(const json_t *r) {
        const json_t *entries = json_object_get(r, "entries"), *apply = json_object_get(r, "last_apply");
        const json_t *last = json_object_get(r, "last_reload"), *ct = json_object_get(r, "conntrack");

        printf("natgwd %s, pid %lld, running since %s\n", str(r, "version"), num(r, "pid"), str(r, "started"));
        printf("%-14s %s (generation %lld)\n", "config:", str(r, "config"), num(r, "generation"));
        /* As sha256sum(1) prints them, so that "sha256sum -c" can compare with the disk. */
        for (size_t i = 0; i < json_array_size(json_object_get(r, "files")); i++)
                printf("%-14s %s  %s\n", i == 0 ? "files:" : "", str(json_array_get(json_object_get(r, "files"), i), "sha256"),
                       str(json_array_get(json_object_get(r, "files"), i), "path"));
        printf("%-14s %lld egress, %lld forwards, ", "entries:", num(entries, "egress"), num(entries, "forwards"));
        if (num(entries, "netmaps") > 0)
                printf("%lld netmaps, ", num(entries, "netmaps"));
        printf("%lld map elements\n", num(entries, "map_elements"));
        printf("%-14s table %s, compile %.1f ms, kernel %.1f ms, %lld messages, %lld bytes\n", "last apply:",
               str(apply, "table"), json_number_value(json_object_get(apply, "compile_ms")),
               json_number_value(json_object_get(apply, "kernel_ms")), num(apply, "messages"), num(apply, "bytes"));
        if (json_is_true(json_object_get(json_object_get(apply, "conntrack"), "read"))) {
                const json_t *c = json_object_get(apply, "conntrack");

                printf("%-14s read %lld entries in %.1f ms; deleted %lld for added, %lld for changed, %lld for removed "
                       "entries; kept %lld established TCP connections\n",
                       "ct cleanup:", num(c, "seen"), (double)num(c, "usec") / 1000.0, num(c, "deleted_added"),
                       num(c, "deleted_changed"), num(c, "deleted_removed"), num(c, "kept_established"));
        }
        if (json_is_object(last)) {
                printf("%-14s %s (%s): %s\n", "last reload:", str(last, "time"), str(last, "trigger"),
                       str(last, "result"));
                print_errors(json_object_get(last, streq(str(last, "result"), "applied") ? "warnings" : "errors"),
                             stdout, "               ");
        } else
                printf("%-14s none since start\n", "last reload:");
        print_restores(json_object_get(r, "table_restore"));
        natgwctl_ha_print_status(json_object_get(r, "ha"));
        print_settings(json_object_get(r, "settings"));
        print_conntrack_status(ct);
        if (json_is_object(json_object_get(r, "control"))) {
                const json_t *c = json_object_get(r, "control");

                printf("%-14s %lld requests answered; refused: %lld malformed, %lld busy, %lld not root, "
                       "%lld timed out\n",
                       "control:", num(c, "handled"), num(c, "malformed"), num(c, "refused_busy"),
                       num(c, "refused_not_root"), num(c, "timed_out"));
                if (num(c, "accept_paused") > 0)
                        printf("%-14s out of file descriptors %lld times (listening paused 100 ms each)\n", "",
                               num(c, "accept_paused"));
        }
        printf("%-14s %s\n", "on exit:", streq(str(r, "on_exit"), "remove") ? "remove table inet natgw"
                                                                             : "keep table inet natgw");
}

static void print_counts(const json_t *a, bool dest) {
        size_t i;
        json_t *e;

        if (dest)
                printf("  %10s %7s  %-40s %-6s %5s\n", "ENTRIES", "SHARE", "ADDRESS", "PROTO", "PORT");
        else
                printf("  %10s %7s  %s\n", "ENTRIES", "SHARE", "ADDRESS");
        json_array_foreach(a, i, e) {
                char entries[32];

                /* An approximate count is a range: at least count - error, at most count. */
                if (num(e, "error") > 0)
                        snprintf(entries, sizeof(entries), "%lld-%lld", num(e, "count") - num(e, "error"),
                                 num(e, "count"));
                else
                        snprintf(entries, sizeof(entries), "%lld", num(e, "count"));
                printf("  %10s %6.1f%%  ", entries, json_number_value(json_object_get(e, "percent")));
                if (dest) {
                        char port[8] = "-";

                        if (json_object_get(e, "port"))
                                snprintf(port, sizeof(port), "%lld", num(e, "port"));
                        printf("%-40s %-6s %5s\n", str(e, "address"), str(e, "protocol"), port);
                } else
                        printf("%s\n", str(e, "address"));
        }
}

static void print_object_counts(const char *label, const json_t *o) {
        const char *key;
        json_t *v;

        printf("%-12s", label);
        json_object_foreach((json_t *)o, key, v)
                printf(" %s %lld", key, (long long)json_integer_value(v));
        printf("\n");
}

static void print_conntrack(const json_t *r) {
        printf("conntrack table: %lld entries (dump and count took %.1f ms)\n", num(r, "total"),
               json_number_value(json_object_get(r, "dump_ms")));
        if (json_is_true(json_object_get(r, "truncated")))
                printf("(the dump stopped at its deadline: counts cover the entries read)\n");
        if (json_is_true(json_object_get(r, "approximate")))
                printf("(more distinct addresses than natgwd tracks: a count A-B means at least A, at most B)\n");
        print_object_counts("protocols:", json_object_get(r, "protocols"));
        print_object_counts("tcp states:", json_object_get(r, "tcp_states"));
        printf("top sources:\n");
        print_counts(json_object_get(r, "sources"), false);
        printf("top destinations:\n");
        print_counts(json_object_get(r, "destinations"), true);
}

/* ---------------------------------------------------------------- commands */

/* What the conntrack clean-up of a reload did, by reason; nothing when it did nothing. */
static void print_ct_cleanup(const json_t *ct) {
        long long changed = num(ct, "deleted_changed"), removed = num(ct, "deleted_removed");

        if (changed + removed > 0)
                printf("deleted %lld conntrack entries that carried a removed or changed translation (changed %lld, "
                       "removed %lld)\n",
                       changed + removed, changed, removed);
        if (num(ct, "deleted_added") > 0)
                printf("deleted %lld conntrack entries of flows that an added or widened entry now translates\n",
                       num(ct, "deleted_added"));
        if (num(ct, "deleted_denied") > 0)
                printf("deleted %lld conntrack entries of flows that an allow list now denies\n",
                       num(ct, "deleted_denied"));
        if (num(ct, "kept_established") > 0)
                printf("kept %lld established TCP connections (to the gateway itself, or routed without NAT) that "
                       "entry \"%s\"%s now covers: they go on untranslated until they end\n",
                       num(ct, "kept_established"), str(ct, "kept_entry"),
                       json_is_true(json_object_get(ct, "kept_entries_more")) ? " and others" : "");
}

static int print_reply(enum natgw_ctl_command cmd, const json_t *reply) {
        bool ok = json_is_true(json_object_get(reply, "ok"));

        if (arg_json) {
                print_json(reply);
                return ok ? EXIT_OK : EXIT_REJECTED;
        }
        if (!ok) {
                fprintf(stderr, "natgwctl: %s: %s%s\n", natgw_ctl_command_to_string(cmd), str(reply, "error"),
                        json_array_size(json_object_get(reply, "errors")) ? ":" : "");
                print_errors(json_object_get(reply, "errors"), stderr, "");
                return EXIT_REJECTED;
        }
        switch (cmd) {
        case NATGW_CTL_RELOAD:
                print_errors(json_object_get(reply, "warnings"), stderr, "");
                printf("reloaded %s: generation %lld, egress entries %lld, forwards %lld (table %s, kernel %.1f ms)\n",
                       str(reply, "config"), num(reply, "generation"), num(reply, "egress"), num(reply, "forwards"),
                       str(reply, "table"), json_number_value(json_object_get(reply, "kernel_ms")));
                print_ct_cleanup(json_object_get(reply, "conntrack"));
                break;
        case NATGW_CTL_CHECK:
                print_errors(json_object_get(reply, "warnings"), stderr, "");
                printf("%s: valid: egress entries %lld, forwards %lld, map elements %lld", str(reply, "config"),
                       num(reply, "egress"), num(reply, "forwards"), num(reply, "map_elements"));
                if (num(reply, "netmaps") > 0)
                        printf(", netmaps %lld", num(reply, "netmaps"));
                if (json_is_true(json_object_get(reply, "kernel")))
                        printf("; the kernel accepts it (checked and aborted in %.1f ms, nothing changed)",
                               json_number_value(json_object_get(reply, "kernel_ms")));
                printf("\n");
                break;
        case NATGW_CTL_STATUS:
                print_status(reply);
                break;
        case NATGW_CTL_CONNTRACK:
                print_conntrack(reply);
                break;
        case NATGW_CTL_METRICS:
                fputs(str(reply, "text"), stdout);
                break;
        default:
                print_json(reply);
                break;
        }
        return EXIT_OK;
}

/* `check FILE`: validated here, with this natgwctl's own library; no daemon needed. */
static int check_local(const char *path) {
        _cleanup_(json_decrefp) json_t *reply = NULL;
        struct natgw_errors errors = {};
        struct natgw_check_result res;
        int r;

        r = natgw_check_file(path, &errors, &res);
        reply = natgw_check_json(path, r, &res, &errors);
        natgw_errors_clear(&errors);
        if (!reply) {
                fprintf(stderr, "natgwctl: out of memory\n");
                return EXIT_REJECTED;
        }
        return print_reply(NATGW_CTL_CHECK, reply);
}

/* natgwd could not be asked, or gave no reply natgwctl can read: why, on stderr. */
static int unreachable(int r, const char *error) {
        if (error)
                fprintf(stderr, "natgwctl: %s\n", error);
        else if (r == -EACCES || r == -EPERM)
                fprintf(stderr, "natgwctl: cannot connect to natgwd at %s: %s (natgwctl must run as root)\n",
                        arg_socket, strerror(-r));
        else
                fprintf(stderr, "natgwctl: cannot reach natgwd at %s: %s%s\n", arg_socket, strerror(-r),
                        r == -ENOENT || r == -ECONNREFUSED ? " (is natgwd running? see -S)" : "");
        return EXIT_UNREACHABLE;
}

/* show's reply, read and printed an entry at a time: read as one tree, 50,000 entries (16 MB
 * of text) took 135 MB. */
struct show_stream {
        json_t *rest; /* the members other than the entries */
        struct natgw_json_pretty pretty;
        bool header;
};

static int show_event(enum natgw_json_event ev, const char *key, json_t *value, void *userdata) {
        struct show_stream *s = userdata;

        if (ev == NATGW_JSON_MEMBER && json_object_set(s->rest, key, value) < 0)
                return -ENOMEM;
        if (arg_json)
                return natgw_json_pretty_event(&s->pretty, ev, key, value);
        if (ev == NATGW_JSON_ARRAY_BEGIN && json_is_true(json_object_get(s->rest, "ok"))) {
                print_show_header();
                s->header = true;
        } else if (ev == NATGW_JSON_ELEMENT && s->header)
                print_show_entry(value);
        return 0;
}

static int call_show(const struct natgw_ctl_request *req) {
        _cleanup_(json_decrefp) json_t *rest = json_object();
        _cleanup_(freep) char *error = NULL;
        struct show_stream s = { .rest = rest, .pretty.f = stdout };
        bool ok;
        int r;

        if (!rest)
                return unreachable(-ENOMEM, NULL);
        r = natgw_ctl_call_stream(arg_socket, req, (uint64_t)(arg_timeout * 1e6), "entries", show_event, &s, &error);
        if (r < 0) {
                fflush(stdout); /* what was printed of a malformed reply before the error */
                return unreachable(r, error);
        }
        ok = json_is_true(json_object_get(rest, "ok"));
        if (arg_json) {
                (void)natgw_json_pretty_end(&s.pretty);
                return ok ? EXIT_OK : EXIT_REJECTED;
        }
        if (!ok)
                return print_reply(NATGW_CTL_SHOW, rest);
        if (!s.header)
                print_show_header();
        print_show_footer(rest);
        return EXIT_OK;
}

static int call(enum natgw_ctl_command cmd, const char *config) {
        struct natgw_ctl_request req = { .command = cmd, .top = arg_top, .kernel = arg_kernel };
        _cleanup_(json_decrefp) json_t *reply = NULL;
        _cleanup_(freep) char *error = NULL;
        int r;

        /* natgwd resolves nothing against its own working directory: the path goes absolute. */
        if (config && !realpath(config, req.config)) {
                fprintf(stderr, "natgwctl: %s: %s\n", config, strerror(errno));
                return EXIT_REJECTED;
        }
        if (cmd == NATGW_CTL_SHOW)
                return call_show(&req);
        r = natgw_ctl_call(arg_socket, &req, (uint64_t)(arg_timeout * 1e6), &reply, &error);
        if (r < 0)
                return unreachable(r, error);
        return print_reply(cmd, reply);
}

/* Where the command starts: the first argument that is neither an option nor an option's value. */
static int command_index(int argc, char *argv[]) {
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *sh;
                bool value = false;

                if (a[0] != '-')
                        return i;
                if (a[1] == '-') {
                        for (const struct option *o = options; o->name && !value; o++)
                                value = o->has_arg == required_argument && streq(a + 2, o->name);
                } else if (a[1] && !a[2] && (sh = strchr(short_options, a[1])))
                        value = sh[1] == ':';
                if (value)
                        i++;
        }
        return argc;
}

int main(int argc, char *argv[]) {
        const char *verb;
        int r, cmd, k = command_index(argc, argv);

        /* egress has options of its own after it: the global ones end where it starts. */
        if (k < argc && streq(argv[k], "egress")) {
                r = parse_argv(k, argv);
                if (r <= 0)
                        return r < 0 ? EXIT_USAGE : EXIT_OK;
                return natgwctl_egress(argc - k, argv + k, arg_socket, arg_json, arg_timeout);
        }
        if (k < argc && streq(argv[k], "import")) {
                r = parse_argv(k, argv);
                if (r <= 0)
                        return r < 0 ? EXIT_USAGE : EXIT_OK;
                return natgwctl_import(argc - k, argv + k);
        }
        if (k < argc && streq(argv[k], "ha")) {
                r = parse_argv(k, argv);
                if (r <= 0)
                        return r < 0 ? EXIT_USAGE : EXIT_OK;
                return natgwctl_ha(argc - k, argv + k, arg_socket, arg_json, arg_timeout);
        }
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_OK;
        if (optind >= argc) {
                fprintf(stderr, "natgwctl: a command is needed (reload, status, show, check, conntrack, top, metrics, diagnose, "
                                "egress, import, ha); see --help\n");
                return EXIT_USAGE;
        }
        verb = argv[optind++];
        if (streq(verb, "diagnose")) {
                arg_diagnose.socket = arg_socket;
                arg_diagnose.timeout = arg_timeout;
                arg_diagnose.json = arg_json;
                return natgwctl_diagnose(&arg_diagnose, argc - optind, argv + optind);
        }
        if (streq(verb, "top") && !arg_diagnose.used && !arg_kernel) {
                if (optind < argc) {
                        fprintf(stderr, "natgwctl: unexpected argument \"%s\" after top\n", argv[optind]);
                        return EXIT_USAGE;
                }
                return natgwctl_top(arg_socket, arg_json, arg_timeout, arg_top);
        }
        if (arg_diagnose.used) {
                fprintf(stderr, "natgwctl: --from, --watch, --egress, --to and --proto belong to diagnose\n");
                return EXIT_USAGE;
        }
        cmd = natgw_ctl_command_from_string(verb);
        if (cmd < 0) {
                fprintf(stderr, "natgwctl: unknown command \"%s\"; see --help\n", verb);
                return EXIT_USAGE;
        }
        if (arg_kernel && cmd != NATGW_CTL_CHECK) {
                fprintf(stderr, "natgwctl: --kernel goes only with check\n");
                return EXIT_USAGE;
        }
        if (cmd == NATGW_CTL_CHECK && arg_kernel && optind >= argc - 1)
                return call(cmd, optind == argc - 1 ? argv[optind] : NULL);
        if (cmd == NATGW_CTL_CHECK && optind == argc - 1)
                return check_local(argv[optind]);
        /* check takes one file: what follows it is the unexpected argument. */
        if (cmd == NATGW_CTL_CHECK && optind < argc)
                optind++;
        if (optind < argc) {
                fprintf(stderr, "natgwctl: unexpected argument \"%s\" after %s\n", argv[optind], verb);
                return EXIT_USAGE;
        }
        return call(cmd, NULL);
}

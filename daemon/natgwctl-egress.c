/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * natgwctl egress learn NAME [--for DURATION]: the flows egress entry NAME's hosts made, read
 * from conntrack (once, or every second for DURATION), as a proposed allow list ready to paste
 * into the entry, each rule with the number of flows it covers. Runs in natgwctl: natgwd only
 * says which config file is in force.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "ct-dump.h"
#include "ct-learn.h"
#include "ctl-client.h"
#include "natgwctl-egress.h"
#include "time-util.h"
#include "util.h"

enum { EXIT_OK = 0, EXIT_REJECTED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

/* The most flows kept: beyond that, learn stops reading (and says so). */
#define LEARN_FLOWS_MAX 1000000

/* A flow as conntrack names it (its original tuple), zero-padded: equal flows, equal bytes. */
struct flow_item {
        uint8_t key[40];
        struct natgw_learn_flow flow;
};

struct learn {
        const struct natgw_config *c;
        size_t entry;
        struct flow_item *v;
        size_t n, cap;
        bool full;
};

static int on_record(const struct natgw_ct_record *r, void *userdata) {
        struct learn *l = userdata;
        const struct natgw_ct_entry *e = &r->entry;
        const struct natgw_egress *eg = &l->c->egress[l->entry];
        struct flow_item *it;

        /* A flow of the entry's hosts out of its interface: translated there, and the entry the
         * most specific one for its source. */
        if (!r->has_reply || !e->src_nat || natgw_addr_cmp(&e->reply_dst, &e->orig_src) == 0)
                return 0;
        if (natgw_config_egress_match(l->c, eg->out_interface, &e->orig_src) != (int)l->entry)
                return 0;
        if (l->n >= LEARN_FLOWS_MAX) {
                l->full = true;
                return 1;
        }
        if (GROW(l->v, l->cap, l->n + 1) < 0)
                return -ENOMEM;
        it = &l->v[l->n++];
        memset(it, 0, sizeof(*it));
        it->key[0] = r->orig.family;
        it->key[1] = r->orig.l4proto;
        memcpy(it->key + 2, r->orig.src.bytes, 16);
        memcpy(it->key + 18, r->orig.dst.bytes, 16);
        memcpy(it->key + 34, &r->orig.sport, 2);
        memcpy(it->key + 36, r->orig.has_icmp ? &r->orig.icmp_id : &r->orig.dport, 2);
        it->flow = (struct natgw_learn_flow){ .l4proto = e->l4proto, .daddr = e->orig_dst, .dport = e->orig_dport };
        return 0;
}

static int item_cmp(const void *a, const void *b) {
        return memcmp(((const struct flow_item *)a)->key, ((const struct flow_item *)b)->key, 40);
}

/* Each flow once: the dumps of DURATION read most flows many times. */
static void dedup(struct learn *l) {
        size_t k = 0;

        if (l->n == 0) /* l->v may be NULL: no qsort() of it */
                return;
        qsort(l->v, l->n, sizeof(*l->v), item_cmp);
        for (size_t i = 0; i < l->n; i++)
                if (i == 0 || item_cmp(&l->v[i - 1], &l->v[i]) != 0)
                        l->v[k++] = l->v[i];
        l->n = k;
}

/* "30", "30s", "5m", "2h" -> seconds; -1 when it is none of those. */
static double parse_duration(const char *s) {
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || !(v >= 0))
                return -1;
        if (streq(end, "m"))
                v *= 60;
        else if (streq(end, "h"))
                v *= 3600;
        else if (*end && !streq(end, "s"))
                return -1;
        return v <= 7 * 86400 ? v : -1;
}

/* The config natgwd has in force, loaded here. Its path from status (show would list every entry
 * and read every counter of the table for it). */
static int load_config(const char *socket, double timeout, struct natgw_config **ret) {
        struct natgw_ctl_request req = { .command = NATGW_CTL_STATUS };
        _cleanup_(json_decrefp) json_t *reply = NULL;
        _cleanup_(freep) char *error = NULL;
        struct natgw_errors errors = {};
        const char *path;
        int r;

        r = natgw_ctl_call(socket, &req, (uint64_t)(timeout * 1e6), &reply, &error);
        if (r < 0) {
                fprintf(stderr, "natgwctl: cannot reach natgwd at %s: %s\n", socket, error ? error : strerror(-r));
                return EXIT_UNREACHABLE;
        }
        path = json_string_value(json_object_get(reply, "config"));
        if (!path) {
                fprintf(stderr, "natgwctl: natgwd did not say which config is in force\n");
                return EXIT_REJECTED;
        }
        r = natgw_config_load_file(path, ret, &errors);
        if (r < 0) {
                fprintf(stderr, "natgwctl: %s (natgwd's config) does not load here:\n", path);
                natgw_errors_print(&errors, stderr);
        }
        natgw_errors_clear(&errors);
        return r < 0 ? EXIT_REJECTED : EXIT_OK;
}

static void print_ports(const struct natgw_allow *a) {
        bool range = false;

        for (size_t i = 0; i < a->n_ports; i++)
                range = range || a->ports[i].lo != a->ports[i].hi;
        if (a->n_ports == 1 && !range) {
                printf(" port = %u;", a->ports[0].lo);
                return;
        }
        /* libconfig arrays hold one type: numbers and "A-B" strings together make a list. */
        printf(" port = %s ", range ? "(" : "[");
        for (size_t i = 0; i < a->n_ports; i++) {
                char buf[NATGW_PORTS_STRLEN];

                natgw_ports_format(&a->ports[i], buf, sizeof(buf));
                printf(a->ports[i].lo == a->ports[i].hi ? "%s%s" : "%s\"%s\"", i ? ", " : "", buf);
        }
        printf(" %s;", range ? ")" : "]");
}

static const char *protos_name(unsigned protos) {
        switch (protos) {
        case NATGW_PROTO_TCP:
                return "tcp";
        case NATGW_PROTO_UDP:
                return "udp";
        case NATGW_PROTO_TCP | NATGW_PROTO_UDP:
                return "tcp+udp";
        case NATGW_PROTO_ICMP:
                return "icmp";
        default:
                return "all";
        }
}

static void print_rules(const struct natgw_learn_rule *v, size_t n) {
        char buf[NATGW_PREFIX_STRLEN];

        if (n == 0) {
                printf("# no flows seen: an empty list would deny everything\n");
                return;
        }
        printf("allow = (\n");
        for (size_t i = 0; i < n; i++) {
                const struct natgw_allow *a = &v[i].rule;

                printf("  {");
                if (a->n_to == 1)
                        printf(" to = \"%s\";", natgw_prefix_format(&a->to[0], buf, sizeof(buf)));
                else if (a->n_to > 1) {
                        printf(" to = [ ");
                        for (size_t k = 0; k < a->n_to; k++)
                                printf("%s\"%s\"", k ? ", " : "", natgw_prefix_format(&a->to[k], buf, sizeof(buf)));
                        printf(" ];");
                }
                printf(" proto = \"%s\";", protos_name(a->protos));
                if (a->n_ports)
                        print_ports(a);
                printf(" }%s  # %" PRIu64 " flow%s\n", i + 1 < n ? "," : " ", v[i].flows, v[i].flows == 1 ? "" : "s");
        }
        printf(");\n");
}

static json_t *rules_json(const struct natgw_learn_rule *v, size_t n) {
        json_t *a = json_array();
        char buf[NATGW_PREFIX_STRLEN];

        for (size_t i = 0; a && i < n; i++) {
                json_t *to = v[i].rule.n_to ? json_array() : json_null(), *ports = json_array();

                for (size_t k = 0; to && k < v[i].rule.n_to; k++)
                        json_array_append_new(to, json_string(natgw_prefix_format(&v[i].rule.to[k], buf, sizeof(buf))));
                for (size_t k = 0; ports && k < v[i].rule.n_ports; k++) {
                        char p[NATGW_PORTS_STRLEN];

                        json_array_append_new(ports, v[i].rule.ports[k].lo == v[i].rule.ports[k].hi
                                                             ? json_integer(v[i].rule.ports[k].lo)
                                                             : json_string(natgw_ports_format(&v[i].rule.ports[k], p, sizeof(p))));
                }
                json_array_append_new(a, json_pack("{s:o*,s:s,s:o*,s:I}", "to", to, "proto",
                                                   protos_name(v[i].rule.protos), "port", ports, "flows",
                                                   (json_int_t)v[i].flows));
        }
        return a;
}

static int learn(const char *socket, bool json, double timeout, const char *name, double seconds) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL;
        struct learn l = {};
        struct natgw_learn_rule *rules = NULL;
        size_t n_rules = 0;
        uint64_t start, end;
        int r, ex;

        ex = load_config(socket, timeout, &c);
        if (ex != EXIT_OK)
                return ex;
        for (l.entry = 0; l.entry < c->n_egress && !streq(c->egress[l.entry].name, name); l.entry++)
                ;
        if (l.entry == c->n_egress) {
                fprintf(stderr, "natgwctl: %s has no masquerade or snat entry \"%s\"\n", c->path, name);
                return EXIT_REJECTED;
        }
        l.c = c;
        start = natgw_mono_usec();
        end = start + (uint64_t)(seconds * 1e6);
        for (;;) {
                r = natgw_ct_dump_records(UINT64_MAX, on_record, &l);
                if (r < 0 && r != -EINTR) {
                        fprintf(stderr, "natgwctl: cannot read the conntrack table: %s\n", strerror(-r));
                        free(l.v);
                        return EXIT_REJECTED;
                }
                dedup(&l);
                if (l.full || natgw_mono_usec() >= end)
                        break;
                usleep((useconds_t)MIN((uint64_t)1000000, end - natgw_mono_usec()));
        }
        {
                _cleanup_(freep) struct natgw_learn_flow *flows = calloc(MAX(l.n, (size_t)1), sizeof(*flows));

                if (!flows) {
                        free(l.v);
                        return EXIT_REJECTED;
                }
                for (size_t i = 0; i < l.n; i++)
                        flows[i] = l.v[i].flow;
                r = natgw_learn_propose(flows, l.n, &rules, &n_rules);
        }
        free(l.v);
        if (r < 0) {
                fprintf(stderr, "natgwctl: out of memory\n");
                return EXIT_REJECTED;
        }
        if (json) {
                _cleanup_(json_decrefp) json_t *j = json_pack("{s:b,s:s,s:s,s:I,s:f,s:b,s:o}", "ok", 1, "config",
                                                               c->path, "entry", name, "flows", (json_int_t)l.n,
                                                               "seconds", (double)(natgw_mono_usec() - start) / 1e6,
                                                               "truncated", l.full, "rules", rules_json(rules, n_rules));
                _cleanup_(freep) char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

                if (s)
                        printf("%s\n", s);
        } else {
                printf("# entry \"%s\" of %s: %zu flow%s seen in %.0f s%s\n", name, c->path, l.n, l.n == 1 ? "" : "s",
                       (double)(natgw_mono_usec() - start) / 1e6, l.full ? " (stopped at 1000000 flows)" : "");
                print_rules(rules, n_rules);
        }
        natgw_learn_rules_free(rules, n_rules);
        return EXIT_OK;
}

int natgwctl_egress(int argc, char *argv[], const char *socket, bool json, double timeout) {
        double seconds = 0;
        const char *name;

        if (argc < 3 || !streq(argv[1], "learn")) {
                fprintf(stderr, "natgwctl: usage: egress learn NAME [--for DURATION]\n");
                return EXIT_USAGE;
        }
        name = argv[2];
        if (argc == 5 && streq(argv[3], "--for")) {
                seconds = parse_duration(argv[4]);
                if (seconds < 0) {
                        fprintf(stderr, "natgwctl: --for takes a duration: 30, 30s, 5m or 2h (up to 7 days)\n");
                        return EXIT_USAGE;
                }
        } else if (argc != 3) {
                fprintf(stderr, "natgwctl: usage: egress learn NAME [--for DURATION]\n");
                return EXIT_USAGE;
        }
        return learn(socket, json, timeout, name, seconds);
}

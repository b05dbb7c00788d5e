/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The loader: libconfig text -> struct natgw_config. It walks the whole file and reports every
 * problem it finds (it never stops at the first one), then hands the entries that are each valid
 * to the cross-entry checks in conf-validate.c. The entries themselves are parsed in conf-entry.c.
 */

#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "conf-cache.h"
#include "conf-dropin.h"
#include "conf-allow.h"
#include "conf-entry.h"
#include "conf-ha.h"
#include "conf-integers.h"
#include "conf-netmap.h"
#include "conf-read.h"
#include "conf-slice.h"
#include "conf-validate.h"
#include "util-ahead.h"
#include "util.h"

static const char *const top_keys[] = {
        "version", "on_exit", "kernel", "conntrack", "filter", "include_dir", "masquerade", "snat", "forward", "netmap",
        "metrics", "ha", NULL,
};
static const char *const metrics_keys[] = { "hosts", NULL };
static const char *const kernel_keys[] = { "ip_forward", "ipv6_forward", NULL };
static const char *const conntrack_keys[] = {
        "max", "buckets", "warn", "critical", "interval", "timeouts", "auto_grow", "ports", NULL,
};
static const char *const auto_grow_keys[] = { "ceiling", "step", NULL };
static const char *const ports_keys[] = { "warn", "critical", "interval", NULL };

#define CT_SYSCTL "net/netfilter/nf_conntrack_"

const struct natgw_ct_timeout_def natgw_ct_timeouts[NATGW_CT_TIMEOUT_COUNT] = {
        [NATGW_CT_TIMEOUT_TCP_ESTABLISHED] = { "tcp_established", CT_SYSCTL "tcp_timeout_established" },
        [NATGW_CT_TIMEOUT_TCP_SYN_SENT] = { "tcp_syn_sent", CT_SYSCTL "tcp_timeout_syn_sent" },
        [NATGW_CT_TIMEOUT_TCP_SYN_RECV] = { "tcp_syn_recv", CT_SYSCTL "tcp_timeout_syn_recv" },
        [NATGW_CT_TIMEOUT_TCP_FIN_WAIT] = { "tcp_fin_wait", CT_SYSCTL "tcp_timeout_fin_wait" },
        [NATGW_CT_TIMEOUT_TCP_CLOSE_WAIT] = { "tcp_close_wait", CT_SYSCTL "tcp_timeout_close_wait" },
        [NATGW_CT_TIMEOUT_TCP_LAST_ACK] = { "tcp_last_ack", CT_SYSCTL "tcp_timeout_last_ack" },
        [NATGW_CT_TIMEOUT_TCP_TIME_WAIT] = { "tcp_time_wait", CT_SYSCTL "tcp_timeout_time_wait" },
        [NATGW_CT_TIMEOUT_TCP_CLOSE] = { "tcp_close", CT_SYSCTL "tcp_timeout_close" },
        [NATGW_CT_TIMEOUT_TCP_UNACKNOWLEDGED] = { "tcp_unacknowledged", CT_SYSCTL "tcp_timeout_unacknowledged" },
        [NATGW_CT_TIMEOUT_TCP_MAX_RETRANS] = { "tcp_max_retrans", CT_SYSCTL "tcp_timeout_max_retrans" },
        [NATGW_CT_TIMEOUT_UDP] = { "udp", CT_SYSCTL "udp_timeout" },
        [NATGW_CT_TIMEOUT_UDP_STREAM] = { "udp_stream", CT_SYSCTL "udp_timeout_stream" },
        [NATGW_CT_TIMEOUT_ICMP] = { "icmp", CT_SYSCTL "icmp_timeout" },
        [NATGW_CT_TIMEOUT_ICMPV6] = { "icmpv6", CT_SYSCTL "icmpv6_timeout" },
        [NATGW_CT_TIMEOUT_GENERIC] = { "generic", CT_SYSCTL "generic_timeout" },
};

static void set_label(struct natgw_conf_ctx *ctx, const char *label) {
        ctx->entry = NULL;
        ctx->label_section = NULL;
        if (label)
                snprintf(ctx->label, sizeof(ctx->label), "%s", label);
        else
                ctx->label[0] = 0;
}

static void parse_on_exit(struct natgw_conf_ctx *ctx, const config_setting_t *root,
                          struct natgw_config *c) {
        const config_setting_t *s = natgw_conf_get_member(root, "on_exit");
        const char *v;

        if (!s)
                return;
        v = config_setting_get_string(s);
        if (!v) {
                natgw_conf_type_error(ctx, s, "on_exit", "a string (\"keep\" or \"remove\")");
                return;
        }
        if (streq(v, "keep"))
                c->on_exit = NATGW_ON_EXIT_KEEP;
        else if (streq(v, "remove"))
                c->on_exit = NATGW_ON_EXIT_REMOVE;
        else
                natgw_conf_error(ctx, s, "\"on_exit\" must be \"keep\" or \"remove\", got \"%s\"", v);
}

/* A boolean; *ret_line gets the line of the key when it is there and valid. */
static void parse_bool(struct natgw_conf_ctx *ctx, const config_setting_t *group, const char *key,
                       bool *ret, unsigned *ret_line) {
        const config_setting_t *s = natgw_conf_get_member(group, key);

        if (!s)
                return;
        if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
                natgw_conf_type_error(ctx, s, key, "a boolean (true or false)");
                return;
        }
        *ret = config_setting_get_bool(s);
        *ret_line = natgw_conf_line(ctx, s);
}

/* The group @key of @parent, or NULL when it is absent or not a group (reported as not @expected). */
static const config_setting_t *get_group(struct natgw_conf_ctx *ctx, const config_setting_t *parent,
                                         const char *key, const char *expected) {
        const config_setting_t *s = natgw_conf_get_member(parent, key);

        if (!s)
                return NULL;
        if (!config_setting_is_group(s)) {
                natgw_conf_type_error(ctx, s, key, expected);
                return NULL;
        }
        return s;
}

static void parse_kernel(struct natgw_conf_ctx *ctx, const config_setting_t *root,
                         struct natgw_config *c) {
        const config_setting_t *g = get_group(ctx, root, "kernel", "a group { ... }");

        if (!g)
                return;
        set_label(ctx, "kernel");
        natgw_conf_check_keys(ctx, g, kernel_keys);
        parse_bool(ctx, g, "ip_forward", &c->kernel.ip_forward, &c->kernel.ip_forward_line);
        parse_bool(ctx, g, "ipv6_forward", &c->kernel.ipv6_forward, &c->kernel.ipv6_forward_line);
        set_label(ctx, NULL);
}

static void parse_metrics(struct natgw_conf_ctx *ctx, const config_setting_t *root, struct natgw_config *c) {
        const config_setting_t *g = get_group(ctx, root, "metrics", "a group { hosts = true; }");

        if (!g)
                return;
        set_label(ctx, "metrics");
        natgw_conf_check_keys(ctx, g, metrics_keys);
        parse_bool(ctx, g, "hosts", &c->metrics.hosts, &c->metrics.hosts_line);
        set_label(ctx, NULL);
}

/* An integer in [min, max]; returns whether *ret (and *ret_line, unless NULL) was set. */
static bool parse_int(struct natgw_conf_ctx *ctx, const config_setting_t *group, const char *key,
                      long long min, long long max, long long *ret, unsigned *ret_line) {
        const config_setting_t *s = natgw_conf_get_member(group, key);
        long long v;

        if (!s)
                return false;
        if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64) {
                natgw_conf_type_error(ctx, s, key, "an integer");
                return false;
        }
        v = config_setting_get_int64(s);
        if (v < min || v > max) {
                if (max == LLONG_MAX)
                        natgw_conf_error(ctx, s, "\"%s\" must be at least %lld, got %lld", key, min, v);
                else
                        natgw_conf_error(ctx, s, "\"%s\" must be between %lld and %lld, got %lld", key,
                                         min, max, v);
                return false;
        }
        *ret = v;
        if (ret_line)
                *ret_line = natgw_conf_line(ctx, s);
        return true;
}

static void parse_version(struct natgw_conf_ctx *ctx, const config_setting_t *root,
                          struct natgw_config *c) {
        const config_setting_t *s = natgw_conf_get_member(root, "version");
        long long v;

        if (!s)
                natgw_conf_error(ctx, NULL, "missing required key \"version\" (this natgwd reads version 1)");
        else if (!parse_int(ctx, root, "version", LLONG_MIN, LLONG_MAX, &v, NULL))
                return; /* not an integer: reported */
        else if (v != 1)
                natgw_conf_error(ctx, s, "unsupported version %lld (this natgwd reads version 1)", v);
        else
                c->version = 1;
}

static void parse_interval(struct natgw_conf_ctx *ctx, const config_setting_t *group, double *ret) {
        const config_setting_t *s = natgw_conf_get_member(group, "interval");
        double v;

        if (!s)
                return;
        switch (config_setting_type(s)) {
        case CONFIG_TYPE_FLOAT:
                v = config_setting_get_float(s);
                break;
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64:
                v = (double) config_setting_get_int64(s);
                break;
        default:
                natgw_conf_type_error(ctx, s, "interval", "a number of seconds");
                return;
        }
        /* Written so that NaN fails too. */
        if (!(v > 0 && v <= 3600)) {
                natgw_conf_error(ctx, s, "\"interval\" must be more than 0 and at most 3600 seconds, got %g",
                                 v);
                return;
        }
        *ret = v;
}

/* conntrack.timeouts = { tcp_established = 3600; udp = 60; ... }: seconds, each optional. */
static void parse_timeouts(struct natgw_conf_ctx *ctx, const config_setting_t *conntrack,
                           struct natgw_config *c) {
        const config_setting_t *g = get_group(ctx, conntrack, "timeouts", "a group { udp = 60; ... }");
        const char *keys[NATGW_CT_TIMEOUT_COUNT + 1];
        long long v;

        if (!g)
                return;
        set_label(ctx, "conntrack.timeouts");
        for (size_t i = 0; i < NATGW_CT_TIMEOUT_COUNT; i++)
                keys[i] = natgw_ct_timeouts[i].key;
        keys[NATGW_CT_TIMEOUT_COUNT] = NULL;
        natgw_conf_check_keys(ctx, g, keys);
        for (size_t i = 0; i < NATGW_CT_TIMEOUT_COUNT; i++)
                if (parse_int(ctx, g, keys[i], 1, NATGW_CT_TIMEOUT_MAX_SEC, &v, &c->conntrack.timeout_lines[i]))
                        c->conntrack.timeouts[i] = v;
        set_label(ctx, "conntrack");
}

/* conntrack.auto_grow = { ceiling = N; step = M; }: both required; ceiling not below max. */
static void parse_auto_grow(struct natgw_conf_ctx *ctx, const config_setting_t *conntrack,
                            struct natgw_config *c) {
        const config_setting_t *g = get_group(ctx, conntrack, "auto_grow",
                                              "a group { ceiling = N; step = M; }");
        bool have_ceiling, have_step, ok = true;
        long long ceiling = 0, step = 0;

        if (!g)
                return;
        set_label(ctx, "conntrack.auto_grow");
        natgw_conf_check_keys(ctx, g, auto_grow_keys);
        for (const char *const *k = auto_grow_keys; *k; k++)
                if (!natgw_conf_get_member(g, *k)) {
                        natgw_conf_error(ctx, g, "missing required key \"%s\"", *k);
                        ok = false;
                }
        have_ceiling = parse_int(ctx, g, "ceiling", 1, LLONG_MAX, &ceiling, NULL);
        have_step = parse_int(ctx, g, "step", 1, LLONG_MAX, &step, NULL);
        /* Only a max that is itself valid is compared (an invalid one is reported already). */
        if (have_ceiling && c->conntrack.max >= 0 && ceiling < c->conntrack.max) {
                natgw_conf_error(ctx, natgw_conf_get_member(g, "ceiling"),
                                 "\"ceiling\" (%lld) must not be lower than conntrack \"max\" (%lld, line %u)",
                                 ceiling, (long long) c->conntrack.max, c->conntrack.max_line);
                ok = false;
        }
        if (ok && have_ceiling && have_step) {
                c->conntrack.auto_grow_ceiling = ceiling;
                c->conntrack.auto_grow_step = step;
        }
        set_label(ctx, "conntrack");
}

/* warn and critical, percent; critical not below warn. */
static void parse_levels(struct natgw_conf_ctx *ctx, const config_setting_t *g, unsigned *warn, unsigned *critical) {
        bool have_warn, have_critical;
        long long v;

        have_warn = parse_int(ctx, g, "warn", 1, 100, &v, NULL);
        if (have_warn)
                *warn = (unsigned) v;
        have_critical = parse_int(ctx, g, "critical", 1, 100, &v, NULL);
        if (have_critical)
                *critical = (unsigned) v;
        /* Only compare values that are each valid (a default counts as valid). */
        if ((have_warn || !natgw_conf_get_member(g, "warn")) &&
            (have_critical || !natgw_conf_get_member(g, "critical")) && *critical < *warn)
                natgw_conf_error(ctx, natgw_conf_get_member(g, have_critical ? "critical" : "warn"),
                                 "\"critical\" (%u) must not be lower than \"warn\" (%u)", *critical, *warn);
}

/* conntrack.ports = { warn = 80; critical = 95; interval = 30; }: SNAT port usage, each optional. */
static void parse_ports(struct natgw_conf_ctx *ctx, const config_setting_t *conntrack, struct natgw_config *c) {
        const config_setting_t *g = get_group(ctx, conntrack, "ports", "a group { warn = 80; ... }");

        if (!g)
                return;
        set_label(ctx, "conntrack.ports");
        natgw_conf_check_keys(ctx, g, ports_keys);
        parse_levels(ctx, g, &c->conntrack.ports_warn, &c->conntrack.ports_critical);
        parse_interval(ctx, g, &c->conntrack.ports_interval);
        set_label(ctx, "conntrack");
}

static void parse_conntrack(struct natgw_conf_ctx *ctx, const config_setting_t *root,
                            struct natgw_config *c) {
        const config_setting_t *g = get_group(ctx, root, "conntrack", "a group { ... }");
        long long v;

        if (!g)
                return;
        set_label(ctx, "conntrack");
        natgw_conf_check_keys(ctx, g, conntrack_keys);
        if (parse_int(ctx, g, "max", 1, LLONG_MAX, &v, &c->conntrack.max_line))
                c->conntrack.max = v;
        if (parse_int(ctx, g, "buckets", 1, LLONG_MAX, &v, &c->conntrack.buckets_line))
                c->conntrack.buckets = v;
        parse_levels(ctx, g, &c->conntrack.warn, &c->conntrack.critical);
        parse_interval(ctx, g, &c->conntrack.interval);
        parse_timeouts(ctx, g, c);
        parse_auto_grow(ctx, g, c);
        parse_ports(ctx, g, c);
        set_label(ctx, NULL);
}

/* The entries of a section, or NULL when there are none (an absent or wrong key is reported). */
static const config_setting_t *get_section(struct natgw_conf_ctx *ctx, const config_setting_t *root,
                                           const char *key) {
        const config_setting_t *s = natgw_conf_get_member(root, key);

        if (!s)
                return NULL;
        /* "[]" is libconfig's empty array: as good as "()" for "no entries". */
        if (!config_setting_is_list(s) &&
            !(config_setting_is_array(s) && config_setting_length(s) == 0)) {
                natgw_conf_type_error(ctx, s, key, "a list of entries ( { ... }, ... )");
                return NULL;
        }
        return s;
}

/* The entry at @pos (1-based) of @section, or NULL when it is not a group (reported). */
static const config_setting_t *get_entry(struct natgw_conf_ctx *ctx, const config_setting_t *section,
                                         unsigned pos) {
        const config_setting_t *g = config_setting_get_elem(section, pos - 1);

        if (config_setting_is_group(g))
                return g;
        natgw_conf_set_entry_label(ctx, config_setting_name(section), pos);
        natgw_conf_error(ctx, g, "wrong type: expected an entry { ... }, got %s", natgw_conf_type_name(g));
        set_label(ctx, NULL);
        return NULL;
}

/*
 * The sections of entries, in the order the model keeps them (masquerade entries first, then
 * snat, then forwards), each read from the main file and then from every drop-in. A new kind of
 * entry (netmap, issue 15) is one more row here and in dropin_sections.
 */
static const char *const sections[] = { [NATGW_SECTION_MASQUERADE] = "masquerade", [NATGW_SECTION_SNAT] = "snat",
                                        [NATGW_SECTION_FORWARD] = "forward", [NATGW_SECTION_NETMAP] = "netmap",
                                        [NATGW_SECTIONS] = NULL };
static const char dropin_sections[] = "masquerade, snat, forward and netmap";

/* How many entries @c holds of section @sec (the length of the array it adds them to). */
static size_t section_count(const struct natgw_config *c, enum natgw_section sec) {
        return sec == NATGW_SECTION_FORWARD ? c->n_forwards : sec == NATGW_SECTION_NETMAP ? c->n_netmaps : c->n_egress;
}

/* Every entry of the section @key of @root that is valid goes into the model, marked as @file's. */
static void parse_section(struct natgw_conf_ctx *ctx, const config_setting_t *root, const char *key,
                          const char *file, struct natgw_config *c) {
        const config_setting_t *section = get_section(ctx, root, key);
        unsigned n;

        if (!section)
                return;
        n = (unsigned) config_setting_length(section);
        for (unsigned pos = 1; pos <= n && ctx->r >= 0; pos++) {
                const config_setting_t *g = get_entry(ctx, section, pos);
                size_t n_egress = c->n_egress, n_forwards = c->n_forwards, n_netmaps = c->n_netmaps;

                if (!g)
                        continue;
                if (streq(key, "forward"))
                        natgw_conf_parse_forward(ctx, g, pos, c);
                else if (streq(key, "netmap"))
                        natgw_conf_parse_netmap(ctx, g, pos, c);
                else
                        natgw_conf_parse_egress(ctx, g, streq(key, "snat") ? NATGW_EGRESS_SNAT
                                                                           : NATGW_EGRESS_MASQUERADE, pos, c);
                /* The entry parsers append at most one entry, and know nothing of files. */
                if (c->n_egress > n_egress)
                        c->egress[n_egress].file = file;
                if (c->n_forwards > n_forwards)
                        c->forwards[n_forwards].file = file;
                if (c->n_netmaps > n_netmaps)
                        c->netmaps[n_netmaps].file = file;
                if (ctx->entry && natgw_conf_add_name(ctx, ctx->entry, natgw_conf_line(ctx, g)) < 0)
                        ctx->r = -ENOMEM;
                set_label(ctx, NULL);
        }
}

static int syntax_error(struct natgw_errors *errors, const config_t *cfg, const char *name) {
        const char *text = config_error_text(cfg);
        const char *file = config_error_file(cfg);
        int r;

        /* libconfig's own text is often just "syntax error": do not say it twice. */
        if ((config_error_type(cfg) != CONFIG_ERR_PARSE && config_error_type(cfg) != CONFIG_ERR_FILE_IO) ||
            !text || streq(text, "syntax error"))
                text = NULL;
        r = natgw_errors_add(errors, file ? file : name, (unsigned) MAX(config_error_line(cfg), 0), NULL,
                             "syntax error%s%s%s", text ? ": " : "", text ? text : "",
                             /* libconfig arrays hold one type: say how to mix them. */
                             text && strstr(text, "mismatched element type")
                                     ? " (a list that mixes numbers and \"A-B\" strings is written "
                                       "with ( ), e.g. port = ( 25, \"50000-50100\" );)"
                                     : "");
        return r < 0 ? r : -EINVAL;
}

/*
 * natgwd reads its files and nothing else (DESIGN.md): settings pulled in by @include would carry
 * lines of another file, which the model cannot name, and libconfig would open the included path
 * (a FIFO there hangs the daemon) before natgwd could see the directive. So the text is searched
 * first and libconfig never gets it. The test is libconfig's own (a line that starts with blanks
 * and "@include"), only without regard to comments: a commented-out @include is refused too.
 */
static int reject_includes(const char *text, const char *name, struct natgw_errors *errors) {
        const char *counted = text; /* lines are counted up to here */
        unsigned line = 1, found = 0;

        /* By its "@" (rare in a config: one search of the text, not a look at each line). */
        for (const char *at = text; (at = strchr(at, '@')); at++) {
                const char *bol = at;

                while (bol > text && (bol[-1] == ' ' || bol[-1] == '\t'))
                        bol--;
                if ((bol > text && bol[-1] != '\n') || strncmp(at, "@include", strlen("@include")) != 0)
                        continue;
                for (; (counted = memchr(counted, '\n', (size_t)(at - counted))); counted++)
                        line++;
                counted = at;
                if (natgw_errors_add(errors, name, line, NULL,
                                     "@include is not supported: drop-in files are read from include_dir") < 0)
                        return -ENOMEM;
                found++;
        }
        return found > 0 ? -EINVAL : 0;
}

/* The forwards of a file parsed in slices (conf-slice.h): build() puts them after the entries of
 * the files before it. */
struct sliced {
        bool on;
        struct natgw_forward *forwards;
        size_t n_forwards, cap_forwards;
        char **names; /* of the entries with errors: their names still count (owned) */
        size_t n_names, cap_names;
};

static void sliced_done(struct sliced *s) {
        for (size_t i = 0; i < s->n_forwards; i++)
                natgw_forward_done(&s->forwards[i]);
        free(s->forwards);
        for (size_t i = 0; i < s->n_names; i++)
                free(s->names[i]);
        free(s->names);
        *s = (struct sliced) {};
}

/* A name for ctx->names that outlives the slice's tree: the new entry's own (@tmp got one), or a
 * copy kept in @out. */
static int keep_name(struct natgw_conf_ctx *ctx, const struct natgw_config *tmp, size_t n_before,
                     struct sliced *out, unsigned line) {
        const char *name = ctx->entry;

        if (tmp->n_forwards > n_before)
                name = tmp->forwards[n_before].name;
        else {
                char *copy = strdup(name);

                if (!copy || GROW(out->names, out->cap_names, out->n_names + 1) < 0) {
                        free(copy);
                        return -ENOMEM;
                }
                out->names[out->n_names++] = copy;
                name = copy;
        }
        return natgw_conf_add_name(ctx, name, line);
}

/* The entries of one slice's tree into @tmp, as parse_section() does for a whole list. */
static void parse_slice(struct natgw_conf_ctx *ctx, const config_setting_t *list, unsigned first, const char *file,
                        struct natgw_config *tmp, struct sliced *out) {
        unsigned n = (unsigned) config_setting_length(list);

        for (unsigned j = 0; j < n && ctx->r >= 0; j++) {
                const config_setting_t *g = config_setting_get_elem(list, j);
                size_t n_before = tmp->n_forwards;

                natgw_conf_parse_forward(ctx, g, first + j, tmp);
                if (tmp->n_forwards > n_before)
                        tmp->forwards[n_before].file = file;
                if (ctx->entry && keep_name(ctx, tmp, n_before, out, natgw_conf_line(ctx, g)) < 0)
                        ctx->r = -ENOMEM;
                set_label(ctx, NULL);
        }
}

/*
 * The file @text: its forward list from its slices @sl into @out, and, while the reader's thread
 * parses the first slices, the integer check (the number of its errors in *@n_int). -EINVAL when
 * libconfig refuses a slice: then nothing of it is left (entries, names, errors), and the caller
 * parses the whole file, whose syntax error is the one to report. -ENOMEM.
 */
static int parse_slices(struct natgw_conf_ctx *ctx, const struct natgw_conf_slices *sl, const char *text,
                        const char *file, unsigned rank, struct sliced *out, int *n_int) {
        size_t n_errors = ctx->errors->n, n_names = ctx->n_names, cap_forwards = ctx->cap_forwards;
        unsigned n_config_errors = ctx->n_errors, rank0 = ctx->rank;
        struct natgw_conf_slice_reader *rd = NULL;
        const char *file0 = ctx->file;
        struct natgw_config tmp = {};
        void *prefaulted;
        int r;

        r = natgw_conf_slice_reader_new(sl, &rd);
        if (r < 0)
                return r;
        r = *n_int = natgw_conf_check_integers(text, file, ctx->errors);
        ctx->file = file;
        ctx->rank = rank;
        ctx->cap_forwards = 0;
        /* Room for every entry at once: grown one by one, the array would be copied again and again. */
        if (r >= 0 && (GROW(tmp.forwards, ctx->cap_forwards, sl->entries) < 0 ||
                       GROW(ctx->names, ctx->cap_names, n_names + sl->entries) < 0))
                r = -ENOMEM;
        /* Both are written whole: faulted in at once, not page by page (util-ahead.h). */
        if (r >= 0) {
                natgw_populate(tmp.forwards, sl->entries * sizeof(*tmp.forwards));
                natgw_populate(ctx->names + n_names, sl->entries * sizeof(*ctx->names));
        }
        /* Each entry allocates its name and its ports, 32 bytes each at least. */
        prefaulted = natgw_arena_prefault(sl->entries * 96);
        for (size_t i = 0; r >= 0 && ctx->r >= 0; i++) {
                const config_t *cfg = natgw_conf_slice_reader_next(rd, &r);
                const config_setting_t *list;

                if (!cfg)
                        break;
                list = config_lookup(cfg, "forward");
                if (!list || !config_setting_is_list(list))
                        r = -EINVAL;
                else {
                        /* The slice's text starts at its first line. */
                        ctx->line_offset = sl->v[i].line - 1;
                        parse_slice(ctx, list, sl->v[i].first, file, &tmp, out);
                        ctx->line_offset = 0;
                        /* The slice's tree goes: nothing of it may stay at hand. */
                        natgw_conf_forget_members(ctx);
                }
        }
        natgw_conf_slice_reader_free(rd);
        natgw_arena_release(prefaulted);
        if (r >= 0 && ctx->r < 0)
                r = ctx->r;
        ctx->file = file0;
        ctx->rank = rank0;
        out->forwards = tmp.forwards;
        out->n_forwards = tmp.n_forwards;
        out->cap_forwards = ctx->cap_forwards;
        ctx->cap_forwards = cap_forwards;
        out->on = true;
        if (r >= 0)
                return 0;
        sliced_done(out);
        ctx->n_names = n_names;
        ctx->n_errors = n_config_errors;
        natgw_errors_truncate(ctx->errors, n_errors);
        return r;
}

/*
 * Parse @text of the file @file (rank @rank) into @cfg (config_init()ed): @include refused,
 * libconfig's syntax, then the integers libconfig would silently truncate. A big forward list is
 * parsed in slices into @out (conf-slice.h). Returns the number of such integer errors (the tree
 * is usable: the caller reports the rest of the file too), -EINVAL when there is no tree, -ENOMEM.
 */
static int parse_file(struct natgw_conf_ctx *ctx, config_t *cfg, const char *text, const char *file,
                      unsigned rank, struct sliced *out) {
        _cleanup_(natgw_conf_slices_done) struct natgw_conf_slices sl = {};
        int r, n_int;

        r = reject_includes(text, file, ctx->errors);
        if (r < 0)
                return r;
        r = natgw_conf_slice(text, natgw_conf_slice_bytes, &sl);
        if (r < 0)
                return r;
        if (r > 0) {
                if (config_read_string(cfg, sl.skeleton)) {
                        r = parse_slices(ctx, &sl, text, file, rank, out, &n_int);
                        if (r >= 0) {
                                natgw_conf_sliced_files++;
                                return n_int;
                        }
                        if (r == -ENOMEM)
                                return r;
                }
                /* The whole file, as if it had not been sliced. */
                config_destroy(cfg);
                config_init(cfg);
        }
        if (!config_read_string(cfg, text))
                return syntax_error(ctx->errors, cfg, file);
        return natgw_conf_check_integers(text, file, ctx->errors);
}

/* A drop-in holds sections of entries only: other keys of the main file are refused by name. */
static void check_dropin_keys(struct natgw_conf_ctx *ctx, const config_setting_t *root) {
        int n = config_setting_length(root);

        for (int i = 0; i < n; i++) {
                const config_setting_t *s = config_setting_get_elem(root, i);
                const char *name = config_setting_name(s);
                bool section = false, main_key = false;

                for (const char *const *k = sections; *k; k++)
                        section |= streq(name, *k);
                for (const char *const *k = top_keys; *k; k++)
                        main_key |= streq(name, *k);
                if (section)
                        continue;
                if (main_key)
                        natgw_conf_error(ctx, s, "\"%s\" is not allowed in a drop-in file (drop-ins hold only "
                                         "%s lists)", name, dropin_sections);
                else
                        natgw_conf_error(ctx, s, "unknown key \"%s\"", name);
        }
}

/* The files being loaded, each parsed into its own tree; [0] is the main file. */
struct sources {
        config_t *cfg;
        bool *ok;             /* cfg[i] holds a tree */
        const struct natgw_conf_file **cached; /* or the entries come from this file of the config in force */
        struct sliced *sliced; /* its forwards, when its forward list was parsed in slices */
        size_t n;
        const struct natgw_config *old; /* the config in force, NULL: none (no cache) */
};

static void sources_done(struct sources *s) {
        for (size_t i = 0; i < s->n; i++) {
                config_destroy(&s->cfg[i]);
                sliced_done(&s->sliced[i]);
        }
        free(s->cfg);
        free(s->sliced);
        free(s->ok);
        free(s->cached);
}

/* Append a file read whole (c->files and c->texts have room; @text is handed over): its entry,
 * for the caller to give its path. Its SHA-256 now with @hash, else later
 * (natgw_config_finish_hashes()). */
static struct natgw_conf_file *add_file(struct natgw_config *c, char *text, bool hash) {
        struct natgw_conf_file *f = &c->files[c->n_files];
        size_t len = strlen(text);

        *f = (struct natgw_conf_file) { .size = len, .hash_pending = !hash };
        if (hash)
                natgw_sha256(text, len, f->sha256);
        c->texts[c->n_files++] = text;
        return f;
}

/* include_dir = "DIR": relative to the main file's directory. */
static int parse_include_dir(struct natgw_conf_ctx *ctx, const config_setting_t *root, const char *override,
                             struct natgw_config *c) {
        const config_setting_t *s = natgw_conf_get_member(root, "include_dir");
        const char *v, *slash;

        if (!s)
                return 0;
        v = config_setting_get_string(s);
        if (!v) {
                natgw_conf_type_error(ctx, s, "include_dir", "a string (a directory)");
                return 0;
        }
        if (!v[0]) {
                natgw_conf_error(ctx, s, "\"include_dir\" must name a directory, got \"\"");
                return 0;
        }
        slash = strrchr(ctx->file, '/');
        if (override)
                c->include_dir = strdup(override);
        else if (v[0] == '/' || !slash)
                c->include_dir = strdup(v);
        else if (asprintf(&c->include_dir, "%.*s/%s", (int)(slash - ctx->file), ctx->file, v) < 0)
                c->include_dir = NULL;
        return c->include_dir ? (int)natgw_conf_line(ctx, s) : -ENOMEM;
}

/*
 * Read and parse every drop-in of c->include_dir into @src (after the main file). A directory that
 * cannot be listed and a drop-in that cannot be read are errors at the include_dir line: the
 * operator named the directory, and a config silently without some of its entries is worse than
 * a reload refused.
 */
static int read_dropins(struct natgw_conf_ctx *ctx, unsigned line, struct natgw_config *c,
                        struct sources *src) {
        _cleanup_(natgw_conf_dropin_freep) char **names = NULL;
        size_t n = 0;
        int r;

        r = natgw_conf_dropin_list(c->include_dir, &names, &n);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (natgw_errors_add(ctx->errors, ctx->file, line, NULL, "include_dir \"%s\": %s", c->include_dir,
                                     r == -E2BIG ? "more than 10000 drop-in files" : strerror(-r)) < 0)
                        return -ENOMEM;
                ctx->n_errors++;
                return 0;
        }
        c->files = reallocarray(c->files, 1 + n, sizeof(*c->files));
        c->texts = c->files ? reallocarray(c->texts, 1 + n, sizeof(*c->texts)) : NULL;
        src->cfg = reallocarray(src->cfg, 1 + n, sizeof(*src->cfg));
        src->ok = reallocarray(src->ok, 1 + n, sizeof(*src->ok));
        /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
        src->cached = reallocarray(src->cached, 1 + n, sizeof(*src->cached));
        src->sliced = reallocarray(src->sliced, 1 + n, sizeof(*src->sliced));
        if (!c->files || !c->texts || !src->cfg || !src->ok || !src->cached || !src->sliced)
                return -ENOMEM;
        for (size_t i = 0, hint = 1; i < n; i++) {
                _cleanup_(freep) char *path = NULL, *text = NULL;
                const struct natgw_conf_file *was;
                struct natgw_conf_file *f;
                struct stat st;
                size_t k = src->n;

                if (asprintf(&path, "%s/%s", c->include_dir, names[i]) < 0)
                        return -ENOMEM;
                was = natgw_config_find_dropin(src->old, path, &hint);
                config_init(&src->cfg[k]);
                src->ok[k] = false;
                src->cached[k] = NULL;
                src->sliced[k] = (struct sliced) {};
                /* Still the file the config in force read: its entries are those. */
                if (was && stat(path, &st) >= 0 && natgw_conf_file_same(was, &st)) {
                        src->n++;
                        src->cached[k] = was;
                        f = &c->files[c->n_files];
                        *f = *was;
                        f->lent = false;
                        f->cached = true;
                        f->path = TAKE_PTR(path);
                        c->texts[c->n_files++] = NULL;
                        continue;
                }
                r = natgw_conf_read_text(path, &text, &st, ctx->errors);
                if (r < 0)
                        config_destroy(&src->cfg[k]); /* the slot is not taken */
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        ctx->n_errors++;
                        continue;
                }
                src->n++;
                /* A file new to the cache is hashed later, when the hash is needed
                 * (natgw_config_finish_hashes()); one that may be the same is hashed now. */
                f = add_file(c, TAKE_PTR(text), was != NULL);
                natgw_conf_file_set_identity(f, &st);
                /* Another file, or the same one written again, with the text the config in
                 * force was made of: not parsed again either. */
                if (was && memcmp(was->sha256, f->sha256, sizeof(f->sha256)) == 0) {
                        src->cached[k] = was;
                        f->cached = true;
                        f->path = TAKE_PTR(path);
                        continue;
                }
                r = parse_file(ctx, &src->cfg[k], c->texts[c->n_files - 1], path, (unsigned)(c->n_files - 1),
                               &src->sliced[k]);
                if (r == -ENOMEM)
                        return r;
                ctx->n_errors += r < 0 ? 1 : (unsigned)r;
                src->ok[k] = r >= 0;
                f->path = TAKE_PTR(path);
        }
        return 0;
}

/* The forwards of a file parsed in slices into the model, after those of the files before it
 * (the first file with forwards hands its array over). */
static int take_sliced(struct natgw_conf_ctx *ctx, struct sliced *s, struct natgw_config *c) {
        if (s->n_forwards == 0)
                return 0;
        if (c->n_forwards == 0) {
                free(c->forwards);
                c->forwards = TAKE_PTR(s->forwards);
                ctx->cap_forwards = s->cap_forwards;
        } else {
                if (GROW(c->forwards, ctx->cap_forwards, c->n_forwards + s->n_forwards) < 0)
                        return -ENOMEM;
                memcpy(c->forwards + c->n_forwards, s->forwards, s->n_forwards * sizeof(*s->forwards));
                free(s->forwards);
                s->forwards = NULL;
        }
        c->n_forwards += s->n_forwards;
        s->n_forwards = 0;
        return 0;
}

static void set_defaults(struct natgw_config *c) {
        c->kernel.ip_forward = true;
        c->conntrack.max = -1;
        c->conntrack.buckets = -1;
        c->conntrack.warn = 80;
        c->conntrack.critical = 95;
        c->conntrack.interval = 1.0;
        c->conntrack.ports_warn = 80;
        c->conntrack.ports_critical = 95;
        c->conntrack.ports_interval = 30.0;
        for (size_t i = 0; i < NATGW_CT_TIMEOUT_COUNT; i++)
                c->conntrack.timeouts[i] = -1;
        c->conntrack.auto_grow_ceiling = -1;
        c->conntrack.auto_grow_step = -1;
}

/* The main file's settings, the drop-ins, then every section of every file. */
static int build(struct sources *src, const char *include_dir, struct natgw_conf_ctx *ctx,
                 struct natgw_config *c) {
        const config_setting_t *root = config_root_setting(&src->cfg[0]);
        const char *main_file = ctx->file;
        int r, n;

        natgw_conf_check_keys(ctx, root, top_keys);
        parse_version(ctx, root, c);
        parse_on_exit(ctx, root, c);
        parse_kernel(ctx, root, c);
        parse_conntrack(ctx, root, c);
        natgw_conf_parse_filter(ctx, root, c);
        parse_metrics(ctx, root, c);
        natgw_conf_parse_ha(ctx, root, c);
        r = parse_include_dir(ctx, root, include_dir, c);
        if (r < 0)
                return r;
        if (r > 0) {
                r = read_dropins(ctx, (unsigned)r, c, src);
                if (r < 0)
                        return r;
        }
        for (size_t i = 1; i < src->n; i++)
                if (src->ok[i]) {
                        ctx->file = c->files[i].path;
                        check_dropin_keys(ctx, config_root_setting(&src->cfg[i]));
                }
        /* Room for the copies of the config in force at once: grown one by one, the arrays of
         * 50,000 entries would be copied again and again. */
        if (src->old && (GROW(c->forwards, ctx->cap_forwards, src->old->n_forwards) < 0 ||
                         GROW(c->egress, ctx->cap_egress, src->old->n_egress) < 0 ||
                         GROW(ctx->names, ctx->cap_names, src->old->n_forwards + src->old->n_egress) < 0))
                return -ENOMEM;
        /* Filled whole by the copies: faulted in at once (after a trim, page by page cost a small
         * reload at 50,000 forwards most of its time). */
        if (src->old) {
                natgw_populate(c->forwards, src->old->n_forwards * sizeof(*c->forwards));
                natgw_populate(ctx->names, (src->old->n_forwards + src->old->n_egress) * sizeof(*ctx->names));
        }
        for (enum natgw_section sec = 0; sec < NATGW_SECTIONS && ctx->r >= 0; sec++)
                for (size_t i = 0; i < src->n; i++) {
                        size_t first = section_count(c, sec);

                        ctx->file = c->files[i].path;
                        ctx->rank = (unsigned)i;
                        if (src->cached[i]) {
                                r = natgw_conf_cache_copy(ctx, src->old, src->cached[i], sec, c->files[i].path, c);
                                if (r < 0)
                                        ctx->r = r;
                        } else if (src->ok[i] && src->sliced[i].on && sec == NATGW_SECTION_FORWARD) {
                                if (take_sliced(ctx, &src->sliced[i], c) < 0)
                                        ctx->r = -ENOMEM;
                        } else if (src->ok[i])
                                parse_section(ctx, config_root_setting(&src->cfg[i]), sections[sec],
                                              c->files[i].path, c);
                        c->files[i].at[sec].first = first;
                        c->files[i].at[sec].n = section_count(c, sec) - first;
                        if (src->cached[i] && src->old) {
                                c->files[i].at[sec].was_first = src->cached[i]->at[sec].first;
                                c->copied_from = src->old->serial;
                        }
                }
        ctx->file = main_file;
        if (ctx->r < 0)
                return ctx->r;

        /* With a config in force, only the entries of files read again can conflict with anything
         * (see there); else, or for the errors, all entries are checked. Netmaps and the HA hint
         * are checked always (few entries). */
        r = 0;
        if (!src->old || ctx->n_errors > 0 || natgw_config_validate_changed(c) != 0) {
                r = natgw_conf_cache_add_names(ctx, c);
                if (r < 0)
                        return r;
                /* Entries with errors of their own are not in the model, but their names still count. */
                r = natgw_config_validate(c, ctx->names, ctx->n_names, ctx->file, ctx->errors);
                if (r == -ENOMEM)
                        return r;
        }
        n = natgw_conf_validate_netmaps(c, ctx->file, ctx->errors);
        if (n < 0)
                return n;
        if (r < 0 || n > 0 || ctx->n_errors > 0)
                return -EINVAL;
        return natgw_conf_check_ha(c, ctx->errors);
}

struct error_pos {
        struct natgw_error e;
        size_t rank, i;
};

static int error_pos_cmp(const void *a, const void *b) {
        const struct error_pos *x = a, *y = b;

        if (x->rank != y->rank)
                return x->rank < y->rank ? -1 : 1;
        if (x->e.line != y->e.line)
                return x->e.line < y->e.line ? -1 : 1;
        return x->i < y->i ? -1 : x->i > y->i;
}

/* The position of @file among @files (the main file first, then the drop-ins in name order). */
static size_t file_rank(const char *file, const struct natgw_conf_file *files, size_t n_files) {
        for (size_t k = 0; file && k < n_files; k++)
                if (streq(file, files[k].path))
                        return k;
        return 0;
}

/* Put the errors from @from on in file order, then line order, keeping the order of those on one line. */
static void sort_errors(struct natgw_errors *errors, size_t from, const struct natgw_conf_file *files,
                        size_t n_files) {
        _cleanup_(freep) struct error_pos *v = NULL;
        size_t n = errors->n - from;

        if (n < 2)
                return;
        v = calloc(n, sizeof(*v));
        if (!v)
                return; /* the order is a nicety; the errors are all there */
        for (size_t i = 0; i < n; i++)
                v[i] = (struct error_pos) {
                        .e = errors->v[from + i],
                        .rank = file_rank(errors->v[from + i].file, files, n_files),
                        .i = i,
                };
        qsort(v, n, sizeof(*v), error_pos_cmp);
        for (size_t i = 0; i < n; i++)
                errors->v[from + i] = v[i].e;
}

/* The serial of the last config loaded (natgw_config.serial). */
static uint64_t serial;

/* The loader: @text of the main file @name, its drop-ins from @include_dir or as it says, the
 * unchanged ones taken from @old (NULL: none). */
static int load(const char *text, const char *name, const char *include_dir, const struct natgw_config *old,
                struct natgw_config **ret, struct natgw_errors *errors) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL;
        struct natgw_conf_ctx ctx = {
                .file = name ? name : "<string>",
                .errors = errors,
        };
        struct sources src = { .old = old };
        char *main_text;
        size_t from = errors->n;
        int r;

        text = text ? text : "";
        c = calloc(1, sizeof(*c));
        main_text = strdup(text);
        src.cfg = calloc(1, sizeof(*src.cfg));
        src.ok = calloc(1, sizeof(*src.ok));
        src.cached = calloc(1, sizeof(*src.cached)); /* NOLINT(bugprone-sizeof-expression): of pointers */
        src.sliced = calloc(1, sizeof(*src.sliced));
        if (!c || !main_text || !src.cfg || !src.ok || !src.cached || !src.sliced) {
                free(main_text);
                sources_done(&src);
                return -ENOMEM;
        }
        set_defaults(c);
        c->serial = __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED);
        c->path = strdup(ctx.file);
        c->files = calloc(1, sizeof(*c->files));
        c->texts = calloc(1, sizeof(*c->texts));
        if (!c->path || !c->files || !c->texts) {
                free(main_text);
                sources_done(&src);
                return -ENOMEM;
        }
        add_file(c, TAKE_PTR(main_text), false)->path = strdup(ctx.file);
        if (!c->files[0].path) {
                sources_done(&src);
                return -ENOMEM;
        }
        config_init(&src.cfg[0]);
        src.n = 1;
        r = parse_file(&ctx, &src.cfg[0], text, c->files[0].path, 0, &src.sliced[0]);
        src.ok[0] = r >= 0;
        if (r >= 0) {
                /* Counted as config errors, so that build() reports the rest and then fails. */
                ctx.n_errors += (unsigned) r;
                r = build(&src, include_dir, &ctx, c);
        }
        sources_done(&src);
        free(ctx.names);
        sort_errors(errors, from, c->files, c->n_files);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

/* See conf.h. */
int natgw_config_load_string_dir(const char *text, const char *name, const char *include_dir,
                                 struct natgw_config **ret, struct natgw_errors *errors) {
        return load(text, name, include_dir, NULL, ret, errors);
}

/**
 * natgw_config_load_string() - parse and validate config text in memory
 * @text:   NUL-terminated config text
 * @name:   the file name to use in error messages (include_dir is relative to its directory)
 * @ret:    on success, the validated model (caller frees with natgw_config_free())
 * @errors: every problem found is appended here, in file order (the main file, then the
 *          drop-ins in name order), then line order
 *
 * Return: 0 when the text is valid; -EINVAL when it is not (@errors holds why); -ENOMEM.
 * @ret is untouched on failure.
 */
int natgw_config_load_string(const char *text, const char *name, struct natgw_config **ret,
                             struct natgw_errors *errors) {
        return natgw_config_load_string_dir(text, name, NULL, ret, errors);
}

/* See conf.h. */
int natgw_config_load_file_cached(const char *path, const struct natgw_config *old, struct natgw_config **ret,
                                  struct natgw_errors *errors) {
        _cleanup_(freep) char *text = NULL;
        int r;

        r = natgw_config_read_file(path, &text, errors);
        if (r < 0)
                return r;
        return load(text, path, NULL, old, ret, errors);
}

/* See conf.h. */
int natgw_config_load_file(const char *path, struct natgw_config **ret, struct natgw_errors *errors) {
        return natgw_config_load_file_cached(path, NULL, ret, errors);
}

/**
 * natgw_config_free() - free a model
 * @c: the model, or NULL
 *
 * Return: NULL.
 */

/* See conf.h. */
void natgw_config_finish_hashes(struct natgw_config *c) {
        for (size_t i = 0; c->texts && i < c->n_files; i++)
                if (c->files[i].hash_pending && c->texts[i]) {
                        natgw_sha256(c->texts[i], c->files[i].size, c->files[i].sha256);
                        c->files[i].hash_pending = false;
                }
}

void natgw_config_drop_texts(struct natgw_config *c) {
        for (size_t i = 0; c->texts && i < c->n_files; i++) {
                free(c->texts[i]);
                c->texts[i] = NULL;
        }
}

/**
 * natgw_config_free() - free a model
 * @c: the model, or NULL
 *
 * Return: NULL.
 */
struct natgw_config *natgw_config_free(struct natgw_config *c) {
        if (!c)
                return NULL;
        /* A borrowed entry's parts are the next config's (natgw_config_take_entries()); it is
         * not zeroed either, as done() would: the array goes (50,000 forwards: 7 MB written). */
        for (size_t i = 0; i < c->n_egress; i++)
                if (!c->egress[i].borrowed)
                        natgw_egress_done(&c->egress[i]);
        for (size_t i = 0; i < c->n_forwards; i++)
                if (!c->forwards[i].borrowed)
                        natgw_forward_done(&c->forwards[i]);
        for (size_t i = 0; i < c->n_netmaps; i++)
                natgw_netmap_done(&c->netmaps[i]);
        natgw_config_drop_texts(c);
        for (size_t i = 0; i < c->n_files; i++)
                free(c->files[i].path);
        free(c->files);
        free(c->ha.vips);
        free(c->texts);
        free(c->include_dir);
        free(c->egress);
        free(c->forwards);
        free(c->netmaps);
        free(c->path);
        free(c);
        return NULL;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The loader: libconfig text -> struct natgw_config. It walks the whole file and reports every
 * problem it finds (it never stops at the first one), then hands the entries that are each valid
 * to the cross-entry checks in conf-validate.c. The entries themselves are parsed in conf-entry.c.
 */

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf-allow.h"
#include "conf-entry.h"
#include "conf-integers.h"
#include "conf-validate.h"
#include "util.h"

/* A config file is text a person edits; anything this big is a mistake, not a config. */
#define NATGW_CONFIG_SIZE_MAX (64u * 1024 * 1024)

static const char *const top_keys[] = {
        "version", "on_exit", "kernel", "conntrack", "filter", "masquerade", "snat", "forward", NULL,
};
static const char *const kernel_keys[] = { "ip_forward", "ipv6_forward", NULL };
static const char *const conntrack_keys[] = {
        "max", "buckets", "warn", "critical", "interval", "timeouts", "auto_grow", NULL,
};
static const char *const auto_grow_keys[] = { "ceiling", "step", NULL };

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
        snprintf(ctx->label, sizeof(ctx->label), "%s", label ? label : "");
}

static void parse_on_exit(struct natgw_conf_ctx *ctx, const config_setting_t *root,
                          struct natgw_config *c) {
        const config_setting_t *s = config_setting_get_member(root, "on_exit");
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
        const config_setting_t *s = config_setting_get_member(group, key);

        if (!s)
                return;
        if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
                natgw_conf_type_error(ctx, s, key, "a boolean (true or false)");
                return;
        }
        *ret = config_setting_get_bool(s);
        *ret_line = config_setting_source_line(s);
}

/* The group @key of @parent, or NULL when it is absent or not a group (reported as not @expected). */
static const config_setting_t *get_group(struct natgw_conf_ctx *ctx, const config_setting_t *parent,
                                         const char *key, const char *expected) {
        const config_setting_t *s = config_setting_get_member(parent, key);

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

/* An integer in [min, max]; returns whether *ret (and *ret_line, unless NULL) was set. */
static bool parse_int(struct natgw_conf_ctx *ctx, const config_setting_t *group, const char *key,
                      long long min, long long max, long long *ret, unsigned *ret_line) {
        const config_setting_t *s = config_setting_get_member(group, key);
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
                *ret_line = config_setting_source_line(s);
        return true;
}

static void parse_version(struct natgw_conf_ctx *ctx, const config_setting_t *root,
                          struct natgw_config *c) {
        const config_setting_t *s = config_setting_get_member(root, "version");
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

static void parse_interval(struct natgw_conf_ctx *ctx, const config_setting_t *group,
                           struct natgw_config *c) {
        const config_setting_t *s = config_setting_get_member(group, "interval");
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
        c->conntrack.interval = v;
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
                if (!config_setting_get_member(g, *k)) {
                        natgw_conf_error(ctx, g, "missing required key \"%s\"", *k);
                        ok = false;
                }
        have_ceiling = parse_int(ctx, g, "ceiling", 1, LLONG_MAX, &ceiling, NULL);
        have_step = parse_int(ctx, g, "step", 1, LLONG_MAX, &step, NULL);
        /* Only a max that is itself valid is compared (an invalid one is reported already). */
        if (have_ceiling && c->conntrack.max >= 0 && ceiling < c->conntrack.max) {
                natgw_conf_error(ctx, config_setting_get_member(g, "ceiling"),
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

static void parse_conntrack(struct natgw_conf_ctx *ctx, const config_setting_t *root,
                            struct natgw_config *c) {
        const config_setting_t *g = get_group(ctx, root, "conntrack", "a group { ... }");
        bool have_warn, have_critical;
        long long v;

        if (!g)
                return;
        set_label(ctx, "conntrack");
        natgw_conf_check_keys(ctx, g, conntrack_keys);
        if (parse_int(ctx, g, "max", 1, LLONG_MAX, &v, &c->conntrack.max_line))
                c->conntrack.max = v;
        if (parse_int(ctx, g, "buckets", 1, LLONG_MAX, &v, &c->conntrack.buckets_line))
                c->conntrack.buckets = v;
        have_warn = parse_int(ctx, g, "warn", 1, 100, &v, NULL);
        if (have_warn)
                c->conntrack.warn = (unsigned) v;
        have_critical = parse_int(ctx, g, "critical", 1, 100, &v, NULL);
        if (have_critical)
                c->conntrack.critical = (unsigned) v;
        /* Only compare values that are each valid (a default counts as valid). */
        if ((have_warn || !config_setting_get_member(g, "warn")) &&
            (have_critical || !config_setting_get_member(g, "critical")) &&
            c->conntrack.critical < c->conntrack.warn)
                natgw_conf_error(ctx, config_setting_get_member(g, have_critical ? "critical" : "warn"),
                                 "\"critical\" (%u) must not be lower than \"warn\" (%u)",
                                 c->conntrack.critical, c->conntrack.warn);
        parse_interval(ctx, g, c);
        parse_timeouts(ctx, g, c);
        parse_auto_grow(ctx, g, c);
        set_label(ctx, NULL);
}

static int add_name(struct natgw_conf_ctx *ctx, const char *name, unsigned line) {
        if (GROW(ctx->names, ctx->cap_names, ctx->n_names + 1) < 0)
                return -ENOMEM;
        ctx->names[ctx->n_names++] = (struct natgw_conf_name) { .name = name, .line = line };
        return 0;
}

/* The entries of a section, or NULL when there are none (an absent or wrong key is reported). */
static const config_setting_t *get_section(struct natgw_conf_ctx *ctx, const config_setting_t *root,
                                           const char *key) {
        const config_setting_t *s = config_setting_get_member(root, key);

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
        ctx->entry = NULL;
        snprintf(ctx->label, sizeof(ctx->label), "%s entry %u", config_setting_name(section), pos);
        natgw_conf_error(ctx, g, "wrong type: expected an entry { ... }, got %s", natgw_conf_type_name(g));
        set_label(ctx, NULL);
        return NULL;
}

/* Every entry of the section @key (masquerade, snat or forward) that is valid goes into the model. */
static void parse_section(struct natgw_conf_ctx *ctx, const config_setting_t *root, const char *key,
                          struct natgw_config *c) {
        const config_setting_t *section = get_section(ctx, root, key);
        unsigned n;

        if (!section)
                return;
        n = (unsigned) config_setting_length(section);
        for (unsigned pos = 1; pos <= n && ctx->r >= 0; pos++) {
                const config_setting_t *g = get_entry(ctx, section, pos);

                if (!g)
                        continue;
                if (streq(key, "forward"))
                        natgw_conf_parse_forward(ctx, g, pos, c);
                else
                        natgw_conf_parse_egress(ctx, g, streq(key, "snat") ? NATGW_EGRESS_SNAT
                                                                           : NATGW_EGRESS_MASQUERADE, pos, c);
                if (ctx->entry && add_name(ctx, ctx->entry, config_setting_source_line(g)) < 0)
                        ctx->r = -ENOMEM;
                set_label(ctx, NULL);
        }
}

static int build(config_t *cfg, struct natgw_conf_ctx *ctx, struct natgw_config **ret) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL;
        const config_setting_t *root = config_root_setting(cfg);
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->path = strdup(ctx->file);
        if (!c->path)
                return -ENOMEM;
        c->kernel.ip_forward = true;
        c->conntrack.max = -1;
        c->conntrack.buckets = -1;
        c->conntrack.warn = 80;
        c->conntrack.critical = 95;
        c->conntrack.interval = 1.0;
        for (size_t i = 0; i < NATGW_CT_TIMEOUT_COUNT; i++)
                c->conntrack.timeouts[i] = -1;
        c->conntrack.auto_grow_ceiling = -1;
        c->conntrack.auto_grow_step = -1;

        natgw_conf_check_keys(ctx, root, top_keys);
        parse_version(ctx, root, c);
        parse_on_exit(ctx, root, c);
        parse_kernel(ctx, root, c);
        parse_conntrack(ctx, root, c);
        natgw_conf_parse_filter(ctx, root, c);
        /* The model wants masquerade entries first, then snat, whatever the order in the file. */
        parse_section(ctx, root, "masquerade", c);
        parse_section(ctx, root, "snat", c);
        parse_section(ctx, root, "forward", c);
        if (ctx->r < 0)
                return ctx->r;

        /* Entries with errors of their own are not in the model, but their names still count. */
        r = natgw_config_validate(c, ctx->names, ctx->n_names, ctx->file, ctx->errors);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || ctx->n_errors > 0)
                return -EINVAL;

        *ret = TAKE_PTR(c);
        return 0;
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

struct error_pos {
        struct natgw_error e;
        size_t i;
};

static int error_pos_cmp(const void *a, const void *b) {
        const struct error_pos *x = a, *y = b;

        if (x->e.line != y->e.line)
                return x->e.line < y->e.line ? -1 : 1;
        return x->i < y->i ? -1 : x->i > y->i;
}

/* Put the errors from @from on in line order, keeping the order of those on one line. */
static void sort_errors(struct natgw_errors *errors, size_t from) {
        _cleanup_(freep) struct error_pos *v = NULL;
        size_t n = errors->n - from;

        if (n < 2)
                return;
        v = calloc(n, sizeof(*v));
        if (!v)
                return; /* the order is a nicety; the errors are all there */
        for (size_t i = 0; i < n; i++)
                v[i] = (struct error_pos) { .e = errors->v[from + i], .i = i };
        qsort(v, n, sizeof(*v), error_pos_cmp);
        for (size_t i = 0; i < n; i++)
                errors->v[from + i] = v[i].e;
}

/*
 * natgwd reads one file (DESIGN.md): settings pulled in by @include would carry lines of another
 * file, which the model cannot name, and libconfig would open the included path (a FIFO there
 * hangs the daemon) before natgwd could see the directive. So the text is searched first and
 * libconfig never gets it. The test is libconfig's own (a line that starts with blanks and
 * "@include"), only without regard to comments: a commented-out @include is refused too.
 */
static int reject_includes(const char *text, const char *name, struct natgw_errors *errors) {
        unsigned line = 1, found = 0;

        for (const char *p = text; *p; line++) {
                const char *eol = strchrnul(p, '\n');

                p += strspn(p, " \t");
                if (strncmp(p, "@include", strlen("@include")) == 0) {
                        if (natgw_errors_add(errors, name, line, NULL,
                                             "@include is not supported: natgwd reads one file") < 0)
                                return -ENOMEM;
                        found++;
                }
                p = *eol ? eol + 1 : eol;
        }
        return found > 0 ? -EINVAL : 0;
}

/**
 * natgw_config_load_string() - parse and validate config text in memory
 * @text:   NUL-terminated config text
 * @name:   the file name to use in error messages
 * @ret:    on success, the validated model (caller frees with natgw_config_free())
 * @errors: every problem found is appended here, in line order
 *
 * Return: 0 when the text is valid; -EINVAL when it is not (@errors holds why); -ENOMEM.
 * @ret is untouched on failure.
 */
int natgw_config_load_string(const char *text, const char *name, struct natgw_config **ret,
                             struct natgw_errors *errors) {
        struct natgw_conf_ctx ctx = {
                .file = name ? name : "<string>",
                .errors = errors,
        };
        size_t from = errors->n;
        config_t cfg;
        int r;

        r = reject_includes(text ? text : "", ctx.file, errors);
        if (r < 0)
                return r;
        config_init(&cfg);
        if (!config_read_string(&cfg, text ? text : ""))
                r = syntax_error(errors, &cfg, ctx.file);
        else {
                /* Counted as config errors, so that build() reports the rest and then fails. */
                r = natgw_conf_check_integers(text ? text : "", ctx.file, errors);
                if (r >= 0) {
                        ctx.n_errors = (unsigned) r;
                        r = build(&cfg, &ctx, ret);
                }
        }
        config_destroy(&cfg);
        free(ctx.names);
        sort_errors(errors, from);
        return r;
}

/*
 * Open without blocking (a FIFO would wait for a writer) and take only a regular file: a device
 * or a FIFO is no config, and /dev/zero would never end. The size is bounded all the same, as
 * the file may grow while it is read.
 */
static int read_file(const char *path, char **ret) {
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
        return 0;
}

/* See conf.h. */
int natgw_config_read_file(const char *path, char **ret_text, struct natgw_errors *errors) {
        _cleanup_(freep) char *text = NULL;
        char too_big[64];
        int r;

        r = read_file(path, &text);
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
int natgw_config_load_file(const char *path, struct natgw_config **ret, struct natgw_errors *errors) {
        _cleanup_(freep) char *text = NULL;
        int r;

        r = natgw_config_read_file(path, &text, errors);
        if (r < 0)
                return r;
        return natgw_config_load_string(text, path, ret, errors);
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
        for (size_t i = 0; i < c->n_egress; i++)
                natgw_egress_done(&c->egress[i]);
        for (size_t i = 0; i < c->n_forwards; i++)
                natgw_forward_done(&c->forwards[i]);
        free(c->egress);
        free(c->forwards);
        free(c->path);
        free(c);
        return NULL;
}

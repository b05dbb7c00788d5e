/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Values that several kinds of entries share: members of a group, "one value or a list of
 * them", CIDR prefixes and ports, each checked and reported where it stands in the file.
 */

#include "conf-addr.h"
#include "conf-value.h"
#include "util.h"

/* The member @key of @group: from the members natgw_conf_check_keys() kept, when they are of @group. */
static const config_setting_t *find_member(const struct natgw_conf_ctx *ctx, const config_setting_t *group,
                                           const char *key) {
        if (group && group == ctx->members_of) {
                /* The parsers look their keys up by the literals of the known keys' lists, which the
                 * compiler and the linker merge: the same pointer, no string compared. */
                for (size_t k = 0; ctx->members_keys[k]; k++)
                        if (ctx->members_keys[k] == key)
                                return ctx->members[k];
                for (size_t k = 0; ctx->members_keys[k]; k++)
                        if (streq(ctx->members_keys[k], key))
                                return ctx->members[k];
        }
        return natgw_conf_get_member(group, key);
}

const config_setting_t *natgw_conf_member(struct natgw_conf_ctx *ctx, const config_setting_t *group,
                                      const char *key, bool required) {
        const config_setting_t *s = find_member(ctx, group, key);

        if (!s && required)
                natgw_conf_error(ctx, group, "missing required key \"%s\"", key);
        return s;
}

/* The string @key, or NULL when it is absent or not a string (reported). */
const char *natgw_conf_get_string(struct natgw_conf_ctx *ctx, const config_setting_t *group, const char *key,
                              bool required, const config_setting_t **ret_s) {
        const config_setting_t *s = natgw_conf_member(ctx, group, key, required);

        if (!s)
                return NULL;
        if (config_setting_type(s) != CONFIG_TYPE_STRING) {
                natgw_conf_type_error(ctx, s, key, "a string");
                return NULL;
        }
        *ret_s = s;
        return config_setting_get_string(s);
}


/*
 * An array of @size-byte elements for a key that takes "one value or a list of them", and in
 * *ret_n their number; NULL when @s is NULL, has the wrong shape (reported) or there is no
 * memory (ctx->r). @scalar_types: the NATGW_CONF_TYPE_BIT()s one value may have.
 */
void *natgw_conf_new_elements(struct natgw_conf_ctx *ctx, const config_setting_t *s, const char *key,
                          unsigned scalar_types, const char *expected, size_t size, size_t *ret_n) {
        void *v;

        if (!s)
                return NULL;
        if (config_setting_is_list(s) || config_setting_is_array(s)) {
                if (config_setting_length(s) == 0) {
                        natgw_conf_error(ctx, s, "\"%s\" is an empty list", key);
                        return NULL;
                }
                *ret_n = (size_t) config_setting_length(s);
        } else if (scalar_types & NATGW_CONF_TYPE_BIT(config_setting_type(s)))
                *ret_n = 1;
        else {
                natgw_conf_type_error(ctx, s, key, expected);
                return NULL;
        }
        v = calloc(*ret_n, size);
        if (!v)
                ctx->r = -ENOMEM;
        return v;
}

const config_setting_t *natgw_conf_element(const config_setting_t *s, size_t i) {
        if (config_setting_is_list(s) || config_setting_is_array(s))
                return config_setting_get_elem(s, (unsigned) i);
        return s;
}

static bool parse_prefix(struct natgw_conf_ctx *ctx, const config_setting_t *e, const char *key,
                         int family, struct natgw_prefix *ret) {
        char buf[NATGW_PREFIX_STRLEN];
        struct natgw_prefix p;
        const char *v;
        int r;

        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
                natgw_conf_error(ctx, e, "wrong type in \"%s\" list: expected a CIDR string, got %s", key,
                                 natgw_conf_type_name(e));
                return false;
        }
        v = config_setting_get_string(e);
        r = natgw_prefix_parse_loose(v, &p);
        if (r == -ERANGE)
                natgw_conf_error(ctx, e, "%s \"%s\": prefix length is longer than %d bits", key, v,
                                 strchr(v, ':') ? 128 : 32);
        else if (r < 0)
                natgw_conf_error(ctx, e, "%s \"%s\" is not an address or a CIDR prefix", key, v);
        else if (natgw_prefix_has_host_bits(&p)) {
                natgw_prefix_mask(&p);
                natgw_conf_error(ctx, e, "%s \"%s\" has host bits set; did you mean %s?", key, v,
                                 natgw_prefix_format(&p, buf, sizeof(buf)));
        } else if (family != 0 && p.addr.family != family)
                natgw_conf_error(ctx, e, "%s \"%s\" is %s but \"to\" is %s", key, v,
                                 natgw_family_name(p.addr.family), natgw_family_name(family));
        else {
                *ret = p;
                return true;
        }
        return false;
}

/* The indexes 0..n-1 in the order @cmp gives the elements of @v; NULL (ctx->r set): no memory. */
static size_t *sorted_index(struct natgw_conf_ctx *ctx, size_t n, int (*cmp)(const void *, const void *, void *),
                            const void *v) {
        size_t *idx = calloc(n, sizeof(*idx));

        if (!idx) {
                ctx->r = -ENOMEM;
                return NULL;
        }
        for (size_t i = 0; i < n; i++)
                idx[i] = i;
        qsort_r(idx, n, sizeof(*idx), cmp, (void *) v);
        return idx;
}

static int prefix_index_cmp(const void *a, const void *b, void *userdata) {
        const struct natgw_prefix *v = userdata;
        size_t x = *(const size_t *) a, y = *(const size_t *) b;
        int r = natgw_prefix_cmp(&v[x], &v[y]);

        return r != 0 ? r : x < y ? -1 : x > y;
}

/* A prefix twice in one entry would be a duplicate set element in the kernel. */
static int check_prefix_dups(struct natgw_conf_ctx *ctx, const config_setting_t *s, const char *key,
                             const struct natgw_prefix *v, size_t n) {
        _cleanup_(freep) size_t *idx = NULL;
        char buf[NATGW_PREFIX_STRLEN];
        bool dup = false;

        if (n < 2)
                return 0;
        idx = sorted_index(ctx, n, prefix_index_cmp, v);
        if (!idx)
                return ctx->r;
        for (size_t i = 1; i < n; i++)
                if (natgw_prefix_cmp(&v[idx[i - 1]], &v[idx[i]]) == 0) {
                        natgw_conf_error(ctx, natgw_conf_element(s, idx[i]), "%s %s is listed twice", key,
                                         natgw_prefix_format(&v[idx[i]], buf, sizeof(buf)));
                        dup = true;
                }
        return dup ? -EINVAL : 0;
}

/* "source" or "allow_from": one CIDR string or a list of them, all of @family unless it is 0. */
void natgw_conf_parse_prefixes(struct natgw_conf_ctx *ctx, const config_setting_t *group, const char *key,
                           bool required, int family, struct natgw_prefix **ret, size_t *ret_n) {
        const config_setting_t *s = natgw_conf_member(ctx, group, key, required);
        _cleanup_(freep) struct natgw_prefix *v = NULL;
        bool ok = true;
        size_t n = 0;

        v = natgw_conf_new_elements(ctx, s, key, NATGW_CONF_TYPE_BIT(CONFIG_TYPE_STRING), "a CIDR string or a list of them",
                         sizeof(*v), &n);
        if (!v)
                return;
        for (size_t i = 0; i < n; i++)
                if (!parse_prefix(ctx, natgw_conf_element(s, i), key, family, &v[i]))
                        ok = false;
        if (!ok || check_prefix_dups(ctx, s, key, v, n) < 0)
                return;
        *ret = TAKE_PTR(v);
        *ret_n = n;
}

/* See conf-value.h. */
bool natgw_conf_parse_prefix(struct natgw_conf_ctx *ctx, const config_setting_t *group, const char *key,
                             struct natgw_prefix *ret) {
        const config_setting_t *s = natgw_conf_member(ctx, group, key, true);

        if (!s)
                return false;
        if (config_setting_type(s) != CONFIG_TYPE_STRING) {
                natgw_conf_type_error(ctx, s, key, "a CIDR string");
                return false;
        }
        return parse_prefix(ctx, s, key, 0, ret);
}

static bool parse_port(struct natgw_conf_ctx *ctx, const config_setting_t *e, struct natgw_port_range *ret) {
        const char *v;
        long long n;
        int r;

        switch (config_setting_type(e)) {
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64:
                n = config_setting_get_int64(e);
                if (n < 1 || n > 65535) {
                        natgw_conf_error(ctx, e, "port %lld is out of range 1-65535", n);
                        return false;
                }
                ret->lo = ret->hi = (uint16_t) n;
                return true;
        case CONFIG_TYPE_STRING:
                v = config_setting_get_string(e);
                r = natgw_port_parse(v, ret);
                if (r == -ERANGE)
                        natgw_conf_error(ctx, e, "port \"%s\" is out of range 1-65535", v);
                else if (r == -EDOM)
                        natgw_conf_error(ctx, e, "port range \"%s\": start is greater than end", v);
                else if (r < 0)
                        natgw_conf_error(ctx, e, "port \"%s\" is not a number or an \"A-B\" range", v);
                return r >= 0;
        default:
                natgw_conf_error(ctx, e, "wrong type in \"port\" list: expected a port number or an "
                                 "\"A-B\" string, got %s", natgw_conf_type_name(e));
                return false;
        }
}

static int port_index_cmp(const void *a, const void *b, void *userdata) {
        const struct natgw_port_range *v = userdata;
        size_t x = *(const size_t *) a, y = *(const size_t *) b;

        if (v[x].lo != v[y].lo)
                return v[x].lo < v[y].lo ? -1 : 1;
        return x < y ? -1 : x > y;
}

/* Ports of one entry must not overlap: they become elements of one interval map. */
static int check_port_overlaps(struct natgw_conf_ctx *ctx, const config_setting_t *s,
                               const struct natgw_port_range *v, size_t n) {
        _cleanup_(freep) size_t *idx = NULL;
        char a[NATGW_PORTS_STRLEN], b[NATGW_PORTS_STRLEN];
        bool overlap = false;
        size_t widest;

        if (n < 2)
                return 0;
        idx = sorted_index(ctx, n, port_index_cmp, v);
        if (!idx)
                return ctx->r;
        /* The range seen so far that reaches furthest is the one a later range can run into. */
        widest = idx[0];
        for (size_t i = 1; i < n; i++) {
                if (v[idx[i]].lo <= v[widest].hi) {
                        natgw_conf_error(ctx, natgw_conf_element(s, idx[i]),
                                         "port %s overlaps port %s of the same entry",
                                         natgw_ports_format(&v[idx[i]], a, sizeof(a)),
                                         natgw_ports_format(&v[widest], b, sizeof(b)));
                        overlap = true;
                }
                if (v[idx[i]].hi > v[widest].hi)
                        widest = idx[i];
        }
        return overlap ? -EINVAL : 0;
}

#define PORT_TYPES (NATGW_CONF_TYPE_BIT(CONFIG_TYPE_INT) | NATGW_CONF_TYPE_BIT(CONFIG_TYPE_INT64) | NATGW_CONF_TYPE_BIT(CONFIG_TYPE_STRING))

void natgw_conf_parse_ports(struct natgw_conf_ctx *ctx, const config_setting_t *group, bool required,
                            struct natgw_port_range **ret, size_t *ret_n) {
        const config_setting_t *s = natgw_conf_member(ctx, group, "port", required);
        _cleanup_(freep) struct natgw_port_range *v = NULL;
        bool ok = true;
        size_t n = 0;

        v = natgw_conf_new_elements(ctx, s, "port", PORT_TYPES, "a port number, an \"A-B\" string or a list of them",
                         sizeof(*v), &n);
        if (!v)
                return;
        for (size_t i = 0; i < n; i++)
                if (!parse_port(ctx, natgw_conf_element(s, i), &v[i]))
                        ok = false;
        if (!ok || check_port_overlaps(ctx, s, v, n) < 0)
                return;
        *ret = TAKE_PTR(v);
        *ret_n = n;
}


bool natgw_conf_proto_parse(const char *v, unsigned allowed, unsigned *ret) {
        static const struct {
                const char *name;
                unsigned protos;
        } names[] = {
                { "tcp", NATGW_PROTO_TCP },
                { "udp", NATGW_PROTO_UDP },
                { "tcp+udp", NATGW_PROTO_TCP | NATGW_PROTO_UDP },
                { "icmp", NATGW_PROTO_ICMP },
                { "all", NATGW_PROTO_ALL },
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(v, names[i].name) && (names[i].protos & ~allowed) == 0) {
                        *ret = names[i].protos;
                        return true;
                }
        return false;
}

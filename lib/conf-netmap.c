/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * netmap entries (1:1 NAT): libconfig group -> model entry, and the checks that need more than
 * one entry. The translation itself (natgw_netmap_translate()) is the model's: the compiler,
 * diagnose and the tests all ask it.
 */

#include <limits.h>
#include <sys/socket.h>

#include "conf-entry.h"
#include "conf-netmap.h"
#include "conf-value.h"
#include "util.h"

static const char *const netmap_keys[] = { "name", "interface", "inside", "outside", NULL };

void natgw_netmap_done(struct natgw_netmap *nm) {
        free(nm->name);
        *nm = (struct natgw_netmap) {};
}

int natgw_netmap_copy(const struct natgw_netmap *nm, const char *file, struct natgw_netmap *ret) {
        struct natgw_netmap x = *nm;

        x.file = file;
        x.name = strdup(nm->name);
        if (!x.name)
                return -ENOMEM;
        *ret = x;
        return 0;
}

/**
 * natgw_conf_parse_netmap() - parse one netmap entry
 * @ctx:   loader state; errors go there, and ctx->entry names the entry afterwards (or is NULL)
 * @group: the entry
 * @pos:   1-based position in the netmap section, to name an entry that has no usable name
 * @c:     the model, which gets the entry when it has no errors
 *
 * Return: 0; -EINVAL when the entry has errors (reported); -ENOMEM (also in ctx->r).
 */
int natgw_conf_parse_netmap(struct natgw_conf_ctx *ctx, const config_setting_t *group, unsigned pos,
                            struct natgw_config *c) {
        _cleanup_(natgw_netmap_done) struct natgw_netmap nm = {
                .line = natgw_conf_line(ctx, group),
        };
        char a[NATGW_PREFIX_STRLEN], b[NATGW_PREFIX_STRLEN];
        unsigned n_errors = ctx->n_errors;
        bool in, out;
        int r;

        natgw_conf_entry_begin(ctx, group, "netmap", pos);
        natgw_conf_check_keys(ctx, group, netmap_keys);
        natgw_conf_parse_ifname(ctx, group, "interface", true, nm.interface);
        in = natgw_conf_parse_prefix(ctx, group, "inside", &nm.inside);
        out = natgw_conf_parse_prefix(ctx, group, "outside", &nm.outside);
        /* The offset maps one prefix onto the other: only prefixes of one size have one. */
        if (in && out && nm.inside.addr.family != nm.outside.addr.family)
                natgw_conf_error(ctx, natgw_conf_get_member(group, "outside"),
                                 "outside %s is %s but inside %s is %s",
                                 natgw_prefix_format(&nm.outside, a, sizeof(a)), natgw_family_name(nm.outside.addr.family),
                                 natgw_prefix_format(&nm.inside, b, sizeof(b)), natgw_family_name(nm.inside.addr.family));
        else if (in && out && nm.inside.len != nm.outside.len)
                natgw_conf_error(ctx, natgw_conf_get_member(group, "outside"),
                                 "outside %s and inside %s differ in length (/%u and /%u): a netmap maps "
                                 "each address to the one at the same offset, so both must be as long",
                                 natgw_prefix_format(&nm.outside, a, sizeof(a)),
                                 natgw_prefix_format(&nm.inside, b, sizeof(b)), nm.outside.len, nm.inside.len);
        r = natgw_conf_entry_end(ctx, n_errors, &nm.name);
        if (r >= 0 && GROW(c->netmaps, ctx->cap_netmaps, c->n_netmaps + 1) < 0)
                r = ctx->r = -ENOMEM;
        if (r < 0)
                return r;
        /* cppcheck-suppress unreadVariable ; TAKE_STRUCT leaves nm zeroed for its _cleanup_ */
        c->netmaps[c->n_netmaps++] = TAKE_STRUCT(nm);
        return 0;
}

/* See conf.h. */
int natgw_netmap_translate(const struct natgw_prefix *from, const struct natgw_prefix *to,
                           const struct natgw_addr *a, struct natgw_addr *ret) {
        natgw_u128 lo, hi, tlo, thi;

        if (!natgw_prefix_contains(from, a) || to->addr.family != from->addr.family || to->len != from->len)
                return -ENOENT;
        natgw_prefix_bounds(from, &lo, &hi);
        natgw_prefix_bounds(to, &tlo, &thi);
        natgw_addr_from_u128(tlo + (natgw_addr_to_u128(a) - lo), a->family, ret);
        return 0;
}

/* See conf.h. */
int natgw_config_netmap_match(const struct natgw_config *c, const char *ifname, const struct natgw_addr *a,
                              bool outside) {
        for (size_t i = 0; i < c->n_netmaps; i++) {
                const struct natgw_netmap *nm = &c->netmaps[i];

                if ((!ifname || streq(ifname, nm->interface)) &&
                    natgw_prefix_contains(outside ? &nm->outside : &nm->inside, a))
                        return (int)i;
        }
        return -ENOENT;
}

/* ---- checks across entries ---- */

struct side {
        const struct natgw_netmap *nm;
        const struct natgw_prefix *p;
        natgw_u128 lo, hi;
};

static int side_cmp(const void *a, const void *b) {
        const struct side *x = a, *y = b;
        int r = strcmp(x->nm->interface, y->nm->interface);

        if (r != 0)
                return r;
        if (x->p->addr.family != y->p->addr.family)
                return x->p->addr.family < y->p->addr.family ? -1 : 1;
        if (x->lo != y->lo)
                return x->lo < y->lo ? -1 : 1;
        if (x->hi != y->hi)
                return x->hi > y->hi ? -1 : 1; /* the wider first: it is the one named */
        return x->nm->line < y->nm->line ? -1 : x->nm->line > y->nm->line;
}

static const char *file_of(const char *entry_file, const char *main_file) {
        return entry_file ? entry_file : main_file;
}

/* "line N" for an entry of the same file, "FILE:N" for one of another (both files resolved). */
static const char *where(const char *file, const char *other_file, unsigned other_line, char *buf, size_t size) {
        if (streq(file, other_file))
                snprintf(buf, size, "line %u", other_line);
        else
                snprintf(buf, size, "%s:%u", other_file, other_line);
        return buf;
}

/* Overlapping @key prefixes of entries on one interface: each sorted run compared with the
 * widest reach so far, so that n entries cost n log n. */
static int check_side(const struct natgw_config *c, bool outside, const char *file, struct natgw_errors *errors) {
        _cleanup_(freep) struct side *v = NULL;
        char a[NATGW_PREFIX_STRLEN], b[NATGW_PREFIX_STRLEN], at[PATH_MAX + 32];
        const struct side *reach = NULL;
        int n_found = 0;

        if (c->n_netmaps < 2)
                return 0;
        v = calloc(c->n_netmaps, sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_netmaps; i++) {
                v[i] = (struct side) { .nm = &c->netmaps[i], .p = outside ? &c->netmaps[i].outside : &c->netmaps[i].inside };
                natgw_prefix_bounds(v[i].p, &v[i].lo, &v[i].hi);
        }
        qsort(v, c->n_netmaps, sizeof(*v), side_cmp);
        for (size_t i = 0; i < c->n_netmaps; i++) {
                const struct side *x = &v[i];

                if (reach && (!streq(reach->nm->interface, x->nm->interface) ||
                              reach->p->addr.family != x->p->addr.family || reach->hi < x->lo))
                        reach = NULL;
                if (reach) {
                        if (natgw_errors_add(errors, file_of(x->nm->file, file), x->nm->line, x->nm->name,
                                             "%s %s on \"%s\" overlaps %s %s of netmap entry \"%s\" (%s)",
                                             outside ? "outside" : "inside", natgw_prefix_format(x->p, a, sizeof(a)),
                                             x->nm->interface, outside ? "outside" : "inside",
                                             natgw_prefix_format(reach->p, b, sizeof(b)), reach->nm->name,
                                             where(file_of(x->nm->file, file), file_of(reach->nm->file, file),
                                                   reach->nm->line, at, sizeof(at))) < 0)
                                return -ENOMEM;
                        n_found++;
                }
                if (!reach || x->hi > reach->hi)
                        reach = x;
        }
        return n_found;
}

/* A forward to an address a netmap takes on the same interface would never see a packet. */
static int check_forwards(const struct natgw_config *c, const char *file, struct natgw_errors *errors) {
        char a[INET6_ADDRSTRLEN], b[NATGW_PREFIX_STRLEN], at[PATH_MAX + 32];
        int n_found = 0;

        for (size_t i = 0; i < c->n_forwards; i++) {
                const struct natgw_forward *f = &c->forwards[i];

                for (size_t k = 0; f->has_destination && k < c->n_netmaps; k++) {
                        const struct natgw_netmap *nm = &c->netmaps[k];

                        if ((f->in_interface[0] && !streq(f->in_interface, nm->interface)) ||
                            !natgw_prefix_contains(&nm->outside, &f->destination))
                                continue;
                        if (natgw_errors_add(errors, file_of(f->file, file), f->line, f->name,
                                             "destination %s is in outside %s of netmap entry \"%s\" (%s), "
                                             "which takes every packet to it on \"%s\"",
                                             natgw_addr_format(&f->destination, a, sizeof(a)),
                                             natgw_prefix_format(&nm->outside, b, sizeof(b)), nm->name,
                                             where(file_of(f->file, file), file_of(nm->file, file), nm->line, at,
                                                   sizeof(at)),
                                             nm->interface) < 0)
                                return -ENOMEM;
                        n_found++;
                }
        }
        return n_found;
}

/* See conf-netmap.h. */
int natgw_conf_validate_netmaps(const struct natgw_config *c, const char *file, struct natgw_errors *errors) {
        int n = 0, r;

        if (c->n_netmaps == 0)
                return 0; /* and no forward to walk */
        for (int outside = 0; outside < 2; outside++) {
                r = check_side(c, outside, file, errors);
                if (r < 0)
                        return r;
                n += r;
        }
        r = check_forwards(c, file, errors);
        return r < 0 ? r : n + r;
}

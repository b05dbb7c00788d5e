/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Shared by the compiler and batch unit tests. */

#include "nft-plan.h"

/* ---- building models by hand, so these tests do not depend on the loader ---- */

static inline struct natgw_addr A(const char *s) {
        struct natgw_addr a = {};

        a.family = strchr(s, ':') ? AF_INET6 : AF_INET;
        assert_int_equal(inet_pton(a.family, s, a.bytes), 1);
        return a;
}

static inline struct natgw_prefix P(const char *s, unsigned len) {
        return (struct natgw_prefix){ .addr = A(s), .len = len };
}

static inline struct natgw_config *config_new(void) {
        struct natgw_config *c = calloc(1, sizeof(*c));

        assert_non_null(c);
        c->path = strdup("test.conf");
        c->egress = calloc(16, sizeof(*c->egress));
        c->forwards = calloc(64, sizeof(*c->forwards));
        return c;
}

static inline void config_done(struct natgw_config *c) {
        for (size_t i = 0; i < c->n_egress; i++) {
                free(c->egress[i].name);
                free(c->egress[i].sources);
        }
        for (size_t i = 0; i < c->n_forwards; i++) {
                free(c->forwards[i].name);
                free(c->forwards[i].ports);
                free(c->forwards[i].allow_from);
        }
        free(c->egress);
        free(c->forwards);
        free(c->path);
        free(c);
}

static inline struct natgw_egress *egress_add(struct natgw_config *c, const char *name, const char *oif,
                                       enum natgw_egress_kind kind, size_t n, const struct natgw_prefix *src) {
        struct natgw_egress *e = &c->egress[c->n_egress++];

        e->name = strdup(name);
        e->line = (unsigned)c->n_egress * 10;
        e->kind = kind;
        snprintf(e->out_interface, sizeof(e->out_interface), "%s", oif);
        e->sources = calloc(n, sizeof(*src));
        memcpy(e->sources, src, n * sizeof(*src));
        e->n_sources = n;
        return e;
}

static inline struct natgw_forward *forward_add(struct natgw_config *c, const char *name, const char *iif,
                                         unsigned protos, uint16_t lo, uint16_t hi, const char *to) {
        struct natgw_forward *f = &c->forwards[c->n_forwards++];

        f->name = strdup(name);
        f->line = 100 + (unsigned)c->n_forwards;
        snprintf(f->in_interface, sizeof(f->in_interface), "%s", iif);
        f->protos = protos;
        f->ports = calloc(1, sizeof(*f->ports));
        f->ports[0] = (struct natgw_port_range){ lo, hi };
        f->n_ports = 1;
        f->to = A(to);
        return f;
}

static inline const struct natgw_map *find_map(const struct natgw_plan *p, const char *name) {
        for (size_t i = 0; i < p->n_maps; i++)
                if (streq(p->maps[i].name, name))
                        return &p->maps[i];
        return NULL;
}

static inline struct natgw_plan *build(const struct natgw_config *c) {
        struct natgw_errors errors = {};
        struct natgw_plan *p = NULL;

        assert_int_equal(natgw_plan_build(c, &p, &errors), 0);
        assert_int_equal(errors.n, 0);
        return p;
}

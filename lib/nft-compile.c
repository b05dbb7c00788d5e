/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Config model -> plan (maps and their elements). See nft-plan.h for the shape of the result.
 */

#include <arpa/inet.h>
#include <sys/socket.h>

#include "nft-helper.h"
#include "nft-plan.h"
#include "nft-reflect.h"
#include "util-ahead.h"
#include "util.h"

uint32_t natgw_field_len(enum natgw_field f, int family) {
        switch (f) {
        case NATGW_FIELD_IIFNAME:
        case NATGW_FIELD_OIFNAME:
                return IFNAMSIZ;
        case NATGW_FIELD_DADDR:
        case NATGW_FIELD_SADDR:
                return family == AF_INET ? 4 : 16;
        case NATGW_FIELD_L4PROTO:
                return 1;
        case NATGW_FIELD_DPORT:
                return 2;
        case NATGW_FIELD_ENTRY:
                return 4;
        }
        return 0;
}

static uint32_t pad4(uint32_t n) {
        return (n + 3) & ~3u;
}

size_t natgw_plan_n_entries(const struct natgw_plan *p) {
        return p->config->n_egress + p->config->n_forwards + p->config->n_netmaps;
}

/* The netmap entry of number @idx, or NULL when it is another entry's (or none). */
static const struct natgw_netmap *plan_netmap(const struct natgw_config *c, uint32_t idx) {
        size_t first = c->n_egress + c->n_forwards;

        return idx >= first && idx - first < c->n_netmaps ? &c->netmaps[idx - first] : NULL;
}

unsigned natgw_plan_entry_line(const struct natgw_plan *p, uint32_t idx) {
        const struct natgw_config *c = p->config;

        if (idx < c->n_egress)
                return c->egress[idx].line;
        if (idx - c->n_egress < c->n_forwards)
                return c->forwards[idx - c->n_egress].line;
        return plan_netmap(c, idx) ? plan_netmap(c, idx)->line : 0;
}

const char *natgw_plan_entry_file(const struct natgw_plan *p, uint32_t idx) {
        const struct natgw_config *c = p->config;
        const char *file = NULL;

        if (idx < c->n_egress)
                file = c->egress[idx].file;
        else if (idx - c->n_egress < c->n_forwards)
                file = c->forwards[idx - c->n_egress].file;
        else if (plan_netmap(c, idx))
                file = plan_netmap(c, idx)->file;
        return natgw_config_entry_file(c, file);
}

static void maps_free(struct natgw_map *maps, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(maps[i].keys);
                free(maps[i].data);
                free(maps[i].entry);
                free(maps[i].copied);
        }
}

struct natgw_plan *natgw_plan_free(struct natgw_plan *p) {
        if (!p)
                return NULL;
        maps_free(p->maps, p->n_maps);
        free(p->maps);
        free(p->reflect_outside);
        free(p);
        return NULL;
}

static void map_init(struct natgw_map *m, enum natgw_map_kind kind, int family, const char *name,
                     const enum natgw_field *fields, unsigned n_fields, bool interval) {
        *m = (struct natgw_map){
                .kind = kind,
                .family = family,
                .interval = interval,
                .n_fields = n_fields,
        };
        snprintf(m->name, sizeof(m->name), "%s", name);
        for (unsigned i = 0; i < n_fields; i++) {
                m->fields[i] = fields[i];
                m->field_len[i] = (uint8_t)natgw_field_len(fields[i], family);
                m->key_len += pad4(m->field_len[i]);
        }
}

/* Room in @m for @cap elements. */
static int map_grow(struct natgw_map *m, size_t cap) {
        size_t kstride = m->key_len * (m->interval ? 2 : 1);
        uint8_t *k, *d;
        uint32_t *e;

        k = realloc(m->keys, cap * kstride);
        if (!k)
                return -ENOMEM;
        m->keys = k;
        d = realloc(m->data, cap * MAX(m->data_len, 1u));
        if (!d)
                return -ENOMEM;
        m->data = d;
        e = realloc(m->entry, cap * sizeof(uint32_t));
        if (!e)
                return -ENOMEM;
        m->entry = e;
        /* The room just added is written whole, element by element: faulted in at once. */
        natgw_populate(m->keys + m->n * kstride, (cap - m->n) * kstride);
        natgw_populate(m->data + m->n * m->data_len, (cap - m->n) * m->data_len);
        natgw_populate(m->entry + m->n, (cap - m->n) * sizeof(uint32_t));
        m->cap = cap;
        return 0;
}

/* Reserve one more element; returns pointers to its (zeroed) key, key end and data. */
static int map_append(struct natgw_map *m, uint32_t entry, uint8_t **ret_key, uint8_t **ret_key_end,
                      uint8_t **ret_data) {
        size_t kstride = m->key_len * (m->interval ? 2 : 1);

        if (m->n == m->cap && map_grow(m, m->cap ? m->cap * 2 : 64) < 0)
                return -ENOMEM;
        *ret_key = m->keys + m->n * kstride;
        memset(*ret_key, 0, kstride);
        *ret_key_end = m->interval ? *ret_key + m->key_len : NULL;
        *ret_data = m->data + m->n * m->data_len;
        memset(*ret_data, 0, m->data_len);
        m->entry[m->n++] = entry;
        return 0;
}

/* The values of one element, field by field; a field is a range [lo, hi] in interval maps. */
struct elem_values {
        const char *ifname;
        const struct natgw_addr *daddr;
        struct natgw_addr saddr_lo, saddr_hi;
        uint8_t l4proto;
        uint16_t dport;
        /* Allow sets: every field is a range. */
        uint32_t entry;
        uint8_t l4proto_hi;
        struct natgw_addr daddr_hi;
        uint16_t dport_hi;
};

/* @key is zeroed (map_append()): the key's bytes of each field, the padding left. */
static void key_put(const struct natgw_map *m, const struct elem_values *v, uint8_t *key, bool end) {
        uint32_t off = 0;

        for (unsigned i = 0; i < m->n_fields; i++) {
                enum natgw_field f = m->fields[i];
                uint32_t len = m->field_len[i], entry;
                uint16_t port;

                switch (f) {
                case NATGW_FIELD_IIFNAME:
                case NATGW_FIELD_OIFNAME:
                        /* Short names, one per element: copied in line, the rest stays zero. */
                        for (unsigned j = 0; j < IFNAMSIZ && v->ifname[j]; j++)
                                key[off + j] = (uint8_t)v->ifname[j];
                        break;
                case NATGW_FIELD_DADDR:
                        memcpy(key + off, end && m->kind == NATGW_MAP_ALLOW ? v->daddr_hi.bytes : v->daddr->bytes, len);
                        break;
                case NATGW_FIELD_SADDR:
                        memcpy(key + off, end ? v->saddr_hi.bytes : v->saddr_lo.bytes, len);
                        break;
                case NATGW_FIELD_L4PROTO:
                        key[off] = end && m->kind == NATGW_MAP_ALLOW ? v->l4proto_hi : v->l4proto;
                        break;
                case NATGW_FIELD_DPORT:
                        port = htons(end && m->kind == NATGW_MAP_ALLOW ? v->dport_hi : v->dport);
                        memcpy(key + off, &port, sizeof(port));
                        break;
                case NATGW_FIELD_ENTRY:
                        entry = htonl(v->entry);
                        memcpy(key + off, &entry, sizeof(entry));
                        break;
                }
                off += pad4(len);
        }
}

static int map_add(struct natgw_map *m, uint32_t entry, const struct elem_values *v,
                   const struct natgw_addr *to, uint16_t to_port) {
        uint8_t *key, *key_end, *data;
        uint32_t alen = m->family == AF_INET ? 4 : 16;
        uint16_t port;
        int r;

        r = map_append(m, entry, &key, &key_end, &data);
        if (r < 0)
                return r;
        key_put(m, v, key, false);
        if (key_end)
                key_put(m, v, key_end, true);
        if (to) {
                memcpy(data, to->bytes, alen);
                port = htons(to_port);
                memcpy(data + alen, &port, sizeof(port));
        }
        return 0;
}

/* ---- forwards ---- */

static const char *shape_suffix[NATGW_SHAPE_MAX] = {
        [0] = "",
        [NATGW_SHAPE_IIF] = "_if",
        [NATGW_SHAPE_DST] = "_dst",
        [NATGW_SHAPE_IIF | NATGW_SHAPE_DST] = "_if_dst",
        [NATGW_SHAPE_SRC] = "_src",
        [NATGW_SHAPE_IIF | NATGW_SHAPE_SRC] = "_if_src",
        [NATGW_SHAPE_DST | NATGW_SHAPE_SRC] = "_dst_src",
        [NATGW_SHAPE_IIF | NATGW_SHAPE_DST | NATGW_SHAPE_SRC] = "_if_dst_src",
};

static unsigned forward_shape(const struct natgw_forward *f) {
        return (f->in_interface[0] ? NATGW_SHAPE_IIF : 0) | (f->has_destination ? NATGW_SHAPE_DST : 0) |
               (f->n_allow_from ? NATGW_SHAPE_SRC : 0);
}

static void forward_map_init(struct natgw_map *m, int family, unsigned shape) {
        enum natgw_field fields[NATGW_MAP_FIELDS_MAX];
        unsigned n = 0;
        char name[32];

        if (shape & NATGW_SHAPE_IIF)
                fields[n++] = NATGW_FIELD_IIFNAME;
        if (shape & NATGW_SHAPE_DST)
                fields[n++] = NATGW_FIELD_DADDR;
        if (shape & NATGW_SHAPE_SRC)
                fields[n++] = NATGW_FIELD_SADDR;
        fields[n++] = NATGW_FIELD_L4PROTO;
        fields[n++] = NATGW_FIELD_DPORT;
        snprintf(name, sizeof(name), "fwd%c%s", family == AF_INET ? '4' : '6', shape_suffix[shape]);
        map_init(m, NATGW_MAP_FORWARD, family, name, fields, n, shape & NATGW_SHAPE_SRC);
        m->shape = shape;
        m->data_len = (family == AF_INET ? 4 : 16) + 4;
}

/* Number of map elements a forward expands to (saturating, for the limit check). */
static uint64_t forward_elements(const struct natgw_forward *f) {
        uint64_t ports = 0;

        for (size_t i = 0; i < f->n_ports; i++)
                ports += (uint64_t)f->ports[i].hi - f->ports[i].lo + 1;
        /* A reflected forward has each element twice (nft-reflect.h). */
        return ports * (uint64_t)(!!(f->protos & NATGW_PROTO_TCP) + !!(f->protos & NATGW_PROTO_UDP)) *
               MAX(f->n_allow_from, (size_t)1) * (f->reflection ? 2 : 1);
}

/* A client prefix inside another prefix of the same allow_from adds nothing, and two
 * overlapping intervals would make the kernel reject the whole map. */
static bool allow_from_covered(const struct natgw_forward *f, size_t s) {
        natgw_u128 lo, hi, olo, ohi;

        natgw_prefix_bounds(&f->allow_from[s], &lo, &hi);
        for (size_t o = 0; o < f->n_allow_from; o++) {
                if (o == s)
                        continue;
                natgw_prefix_bounds(&f->allow_from[o], &olo, &ohi);
                if (olo <= lo && hi <= ohi && (olo != lo || ohi != hi || o < s))
                        return true;
        }
        return false;
}

/* The elements of forward @f in @m, for in-interface @ifname (the forward's, or the reflection's). */
/* The interfaces the reflected prerouting rule excludes, into @p; more than it compares: say so,
 * on the first forward that reflects (nft-reflect.h). */
static int reflect_outside(struct natgw_plan *p, const struct natgw_config *c, struct natgw_errors *errors) {
        if (natgw_outside_interfaces(c, &p->reflect_outside, &p->n_reflect_outside) < 0)
                return -ENOMEM;
        if (p->n_reflect_outside <= NATGW_REFLECT_OUTSIDE_MAX)
                return 0;
        for (size_t i = 0; i < c->n_forwards; i++)
                if (c->forwards[i].reflection)
                        return natgw_errors_warn(errors, natgw_plan_entry_file(p, (uint32_t)(c->n_egress + i)),
                                                 c->forwards[i].line, c->forwards[i].name,
                                                 "entries name more than %d interfaces, the most reflection tells "
                                                 "apart from the inside: inside clients are not reflected (the "
                                                 "gateway's own processes are); set reflection = false where it "
                                                 "is not needed", NATGW_REFLECT_OUTSIDE_MAX) < 0 ? -ENOMEM : 0;
        return 0;
}

static int forward_compile(struct natgw_map *m, const struct natgw_forward *f, const char *ifname, uint32_t entry) {
        static const struct {
                unsigned bit;
                uint8_t l4proto;
        } protos[] = { { NATGW_PROTO_TCP, IPPROTO_TCP }, { NATGW_PROTO_UDP, IPPROTO_UDP } };
        struct elem_values v = {
                .ifname = ifname,
                .daddr = &f->destination,
        };
        size_t n_src = MAX(f->n_allow_from, (size_t)1);
        int r;

        for (size_t pi = 0; pi < ELEMENTSOF(protos); pi++) {
                if (!(f->protos & protos[pi].bit))
                        continue;
                v.l4proto = protos[pi].l4proto;
                for (size_t s = 0; s < n_src; s++) {
                        if (f->n_allow_from) {
                                natgw_u128 lo, hi;

                                if (allow_from_covered(f, s))
                                        continue;
                                natgw_prefix_bounds(&f->allow_from[s], &lo, &hi);
                                natgw_addr_from_u128(lo, m->family, &v.saddr_lo);
                                natgw_addr_from_u128(hi, m->family, &v.saddr_hi);
                        }
                        for (size_t i = 0; i < f->n_ports; i++)
                                for (uint32_t port = f->ports[i].lo; port <= f->ports[i].hi; port++) {
                                        v.dport = (uint16_t)port;
                                        r = map_add(m, entry, &v, &f->to,
                                                    natgw_forward_target_port(f, (uint16_t)port));
                                        if (r < 0)
                                                return r;
                                }
                }
        }
        return 0;
}

/* ---- egress: most specific prefix wins, resolved into disjoint intervals ---- */

struct egress_item {
        const char *ifname;
        int family;
        natgw_u128 lo, hi;
        unsigned len;
        uint32_t entry;
};

static int egress_item_cmp(const void *a, const void *b) {
        const struct egress_item *x = a, *y = b;
        int r;

        if (x->family != y->family)
                return x->family < y->family ? -1 : 1;
        r = strcmp(x->ifname, y->ifname);
        if (r)
                return r;
        if (x->lo != y->lo)
                return x->lo < y->lo ? -1 : 1;
        if (x->len != y->len)
                return x->len < y->len ? -1 : 1; /* the wider prefix first */
        return x->entry < y->entry ? -1 : x->entry > y->entry;
}

static int egress_emit(struct natgw_map *m, const char *ifname, natgw_u128 lo, natgw_u128 hi, uint32_t entry) {
        struct elem_values v = { .ifname = ifname };

        natgw_addr_from_u128(lo, m->family, &v.saddr_lo);
        natgw_addr_from_u128(hi, m->family, &v.saddr_hi);
        return map_add(m, entry, &v, NULL, 0);
}

/*
 * Flatten the prefixes of one (family, interface) group into disjoint intervals, each owned
 * by the most specific prefix that covers it. Prefixes are laminar (two of them are nested or
 * disjoint), so a stack of the prefixes that contain the cursor is enough.
 */
static int egress_flatten(struct natgw_map *m, const struct egress_item *it, size_t n) {
        const struct egress_item *stack[129];
        size_t depth = 0;
        natgw_u128 cursor = 0;
        bool done = false; /* the cursor ran past the top of the address space */
        int r;

        for (size_t i = 0; i <= n; i++) {
                /* Close the prefixes that end before the next one starts (all of them at the end).
                 * Only stack[0, depth) is read, and each was written first (cppcheck cannot tell). */
                /* cppcheck-suppress uninitvar */
                while (depth > 0 && (i == n || stack[depth - 1]->hi < it[i].lo)) {
                        const struct egress_item *top = stack[--depth];

                        if (!done && cursor <= top->hi) {
                                r = egress_emit(m, top->ifname, cursor, top->hi, top->entry);
                                if (r < 0)
                                        return r;
                                if (top->hi == ~(natgw_u128)0 || (m->family == AF_INET && top->hi == 0xffffffffu))
                                        done = true;
                                else
                                        cursor = top->hi + 1;
                        }
                }
                if (i == n)
                        break;
                if (depth > 0 && cursor < it[i].lo) {
                        r = egress_emit(m, it[i].ifname, cursor, it[i].lo - 1, stack[depth - 1]->entry);
                        if (r < 0)
                                return r;
                }
                cursor = it[i].lo;
                done = false;
                if (depth < ELEMENTSOF(stack))
                        stack[depth++] = &it[i];
        }
        return 0;
}

static int egress_compile(struct natgw_plan *p, struct natgw_map *m4, struct natgw_map *m6) {
        const struct natgw_config *c = p->config;
        _cleanup_(freep) struct egress_item *items = NULL;
        size_t n = 0, total = 0;
        int r;

        for (size_t i = 0; i < c->n_egress; i++)
                total += c->egress[i].n_sources;
        if (total == 0)
                return 0;
        items = calloc(total, sizeof(*items));
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_egress; i++)
                for (size_t s = 0; s < c->egress[i].n_sources; s++) {
                        const struct natgw_prefix *pre = &c->egress[i].sources[s];

                        items[n] = (struct egress_item){
                                .ifname = c->egress[i].out_interface,
                                .family = pre->addr.family,
                                .len = pre->len,
                                .entry = (uint32_t)i,
                        };
                        natgw_prefix_bounds(pre, &items[n].lo, &items[n].hi);
                        n++;
                }
        qsort(items, n, sizeof(*items), egress_item_cmp);
        for (size_t a = 0, b; a < n; a = b) {
                for (b = a + 1; b < n; b++)
                        if (items[b].family != items[a].family || !streq(items[b].ifname, items[a].ifname))
                                break;
                r = egress_flatten(items[a].family == AF_INET ? m4 : m6, items + a, b - a);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- allow lists: daddr . dport . l4proto . entry, made disjoint ---- */

/*
 * The kernel's concatenated interval sets refuse an element that starts or ends inside
 * another one, and rules of an allow list overlap freely. So each list is compiled into
 * disjoint boxes: the destinations of its rules (prefixes, hence nested or disjoint) are cut
 * into segments, each covered by the same rules; per segment the ports of those rules are
 * merged per protocol. The lookup is one per packet whatever the number of rules.
 */

struct allow_item {
        natgw_u128 lo, hi;
        unsigned len;
        const struct natgw_allow *rule;
};

static int allow_item_cmp(const void *a, const void *b) {
        const struct allow_item *x = a, *y = b;

        if (x->lo != y->lo)
                return x->lo < y->lo ? -1 : 1;
        if (x->len != y->len)
                return x->len < y->len ? -1 : 1; /* the wider prefix first */
        return (x->rule > y->rule) - (x->rule < y->rule);
}

static int port_range_cmp(const void *a, const void *b) {
        const struct natgw_port_range *x = a, *y = b;

        return x->lo != y->lo ? (x->lo > y->lo) - (x->lo < y->lo) : (x->hi > y->hi) - (x->hi < y->hi);
}

struct allow_ctx {
        struct natgw_map *m;
        uint32_t entry;
        const struct allow_item **stack;
        size_t depth;
        struct natgw_port_range *ports; /* scratch: the ports of one protocol in one segment */
        size_t cap_ports;
};

static int allow_add(struct allow_ctx *x, natgw_u128 lo, natgw_u128 hi, uint8_t proto_lo, uint8_t proto_hi,
                     uint16_t port_lo, uint16_t port_hi) {
        struct natgw_addr dlo;
        struct elem_values v = {
                .daddr = &dlo, .entry = x->entry, .l4proto = proto_lo, .l4proto_hi = proto_hi,
                .dport = port_lo, .dport_hi = port_hi,
        };

        natgw_addr_from_u128(lo, x->m->family, &dlo);
        natgw_addr_from_u128(hi, x->m->family, &v.daddr_hi);
        return map_add(x->m, x->entry, &v, NULL, 0);
}

/* The elements of segment [lo, hi], which the rules on the stack cover. */
static int allow_segment(struct allow_ctx *x, natgw_u128 lo, natgw_u128 hi) {
        static const struct {
                unsigned bit;
                uint8_t v4, v6;
        } protos[] = {
                { NATGW_PROTO_TCP, IPPROTO_TCP, IPPROTO_TCP },
                { NATGW_PROTO_UDP, IPPROTO_UDP, IPPROTO_UDP },
                { NATGW_PROTO_ICMP, IPPROTO_ICMP, IPPROTO_ICMPV6 },
        };
        int r;

        for (size_t i = 0; i < x->depth; i++)
                if (x->stack[i]->rule->protos & NATGW_PROTO_ALL)
                        return allow_add(x, lo, hi, 0, 255, 0, 65535);
        for (size_t pi = 0; pi < ELEMENTSOF(protos); pi++) {
                uint8_t proto = x->m->family == AF_INET ? protos[pi].v4 : protos[pi].v6;
                size_t n = 0;

                for (size_t i = 0; i < x->depth; i++) {
                        const struct natgw_allow *a = x->stack[i]->rule;
                        size_t need = n + MAX(a->n_ports, (size_t)1);

                        if (!(a->protos & protos[pi].bit))
                                continue;
                        if (need > x->cap_ports) {
                                struct natgw_port_range *v = realloc(x->ports, 2 * need * sizeof(*v));

                                if (!v)
                                        return -ENOMEM;
                                x->ports = v;
                                x->cap_ports = 2 * need;
                        }
                        /* ICMP has no ports; the range covers whatever the lookup reads there. */
                        if (a->n_ports == 0 || protos[pi].bit == NATGW_PROTO_ICMP)
                                x->ports[n++] = (struct natgw_port_range){ 0, 65535 };
                        else
                                for (size_t k = 0; k < a->n_ports; k++)
                                        x->ports[n++] = a->ports[k];
                }
                if (n == 0)
                        continue;
                qsort(x->ports, n, sizeof(*x->ports), port_range_cmp);
                for (size_t k = 0, j; k < n; k = j) {
                        uint32_t end = x->ports[k].hi;

                        for (j = k + 1; j < n && x->ports[j].lo <= end + 1; j++)
                                end = MAX(end, (uint32_t)x->ports[j].hi);
                        r = allow_add(x, lo, hi, proto, proto, x->ports[k].lo, (uint16_t)end);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* The nested destination intervals @it (sorted) cut into segments, as egress_flatten() does,
 * but each segment with every interval that covers it. */
static int allow_flatten(struct allow_ctx *x, const struct allow_item *it, size_t n) {
        natgw_u128 top = x->m->family == AF_INET ? 0xffffffffu : ~(natgw_u128)0, cursor = 0;
        bool done = false;
        int r;

        x->depth = 0;
        for (size_t i = 0; i <= n; i++) {
                while (x->depth > 0 && (i == n || x->stack[x->depth - 1]->hi < it[i].lo)) {
                        const struct allow_item *t = x->stack[x->depth - 1];

                        if (!done && cursor <= t->hi) {
                                r = allow_segment(x, cursor, t->hi);
                                if (r < 0)
                                        return r;
                                if (t->hi == top)
                                        done = true;
                                else
                                        cursor = t->hi + 1;
                        }
                        x->depth--;
                }
                if (i == n)
                        break;
                if (x->depth > 0 && cursor < it[i].lo) {
                        r = allow_segment(x, cursor, it[i].lo - 1);
                        if (r < 0)
                                return r;
                }
                cursor = it[i].lo;
                done = false;
                x->stack[x->depth++] = &it[i];
        }
        return 0;
}

/* Every (entry with an allow list, family of its sources): its elements in allow4 / allow6. */
static int allow_compile(const struct natgw_config *c, struct natgw_map *m4, struct natgw_map *m6) {
        struct allow_ctx x = {};
        int r = 0;

        for (size_t e = 0; e < c->n_egress && r >= 0; e++) {
                const struct natgw_egress *eg = &c->egress[e];

                for (int f = 0; f < 2 && r >= 0; f++) {
                        int family = f == 0 ? AF_INET : AF_INET6;
                        _cleanup_(freep) struct allow_item *items = NULL;
                        const struct allow_item **stack;
                        size_t n = 0, cap = 0;
                        bool has = false;

                        for (size_t s = 0; s < eg->n_sources; s++)
                                has = has || eg->sources[s].addr.family == family;
                        if (!eg->has_allow || !has)
                                continue;
                        for (size_t i = 0; i < eg->n_allow; i++)
                                cap += MAX(eg->allow[i].n_to, (size_t)1);
                        items = calloc(MAX(cap, (size_t)1), sizeof(*items));
                        stack = reallocarray(x.stack, MAX(cap, (size_t)1), sizeof(const struct allow_item *));
                        if (stack)
                                x.stack = stack;
                        if (!items || !stack) {
                                r = -ENOMEM;
                                break;
                        }
                        for (size_t i = 0; i < eg->n_allow; i++) {
                                const struct natgw_allow *a = &eg->allow[i];
                                struct natgw_prefix any = { .addr = { .family = family }, .len = 0 };

                                for (size_t t = 0; t < MAX(a->n_to, (size_t)1); t++) {
                                        const struct natgw_prefix *pre = a->n_to ? &a->to[t] : &any;

                                        if (pre->addr.family != family)
                                                continue;
                                        items[n] = (struct allow_item){ .len = pre->len, .rule = a };
                                        natgw_prefix_bounds(pre, &items[n].lo, &items[n].hi);
                                        n++;
                                }
                        }
                        qsort(items, n, sizeof(*items), allow_item_cmp);
                        x.m = f == 0 ? m4 : m6;
                        x.entry = (uint32_t)e;
                        r = allow_flatten(&x, items, n);
                }
        }
        free(x.stack);
        free(x.ports);
        return r;
}

/* ---- the whole plan ---- */

static int plan_add_map(struct natgw_plan *p, const struct natgw_map *m) {
        struct natgw_map *v;

        v = realloc(p->maps, (p->n_maps + 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        p->maps = v;
        p->maps[p->n_maps++] = *m;
        return 0;
}

/* ---- reuse of the plan of the config in force ---- */

/* A run of forwards of an unchanged drop-in: c->forwards[first, first + n) were
 * old->config->forwards[was_first, ...). */
struct forward_run {
        size_t first, was_first, n;
};

/* The runs of @c's forwards copied from the config @old was built from, in order; none when
 * @old is another config's, or reflection left out shared elements in it (a forward gone
 * could bring back what it hid). */
static int reuse_runs(const struct natgw_config *c, const struct natgw_plan *old, struct forward_run **ret,
                      size_t *ret_n) {
        struct forward_run *v;
        size_t n = 0;

        *ret = NULL;
        *ret_n = 0;
        if (!old || c->copied_from == 0 || c->copied_from != old->serial || old->reflect_shared)
                return 0;
        v = calloc(MAX(c->n_files, (size_t)1), sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_files; i++) {
                const struct natgw_conf_file *f = &c->files[i];

                if (!f->cached || f->at[NATGW_SECTION_FORWARD].n == 0)
                        continue;
                v[n].first = f->at[NATGW_SECTION_FORWARD].first;
                v[n].was_first = f->at[NATGW_SECTION_FORWARD].was_first;
                v[n].n = f->at[NATGW_SECTION_FORWARD].n;
                n++;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* The first element of @m whose entry is @entry or later (the elements are in entry order). */
static size_t entry_lower_bound(const struct natgw_map *m, uint32_t entry) {
        size_t lo = 0, hi = m->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (m->entry[mid] < entry)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

/* Append to @m the elements of @from (a map of the same family and shape) of the entries
 * [@lo, @hi), their entries moved by @delta. */
static int map_copy_range(struct natgw_map *m, const struct natgw_map *from, uint32_t lo, uint32_t hi,
                          int64_t delta) {
        size_t a = entry_lower_bound(from, lo), b = entry_lower_bound(from, hi);
        size_t kstride = m->key_len * (m->interval ? 2 : 1);
        struct natgw_map_run *last = m->n_copied ? &m->copied[m->n_copied - 1] : NULL;

        if (a == b)
                return 0;
        if (m->n + (b - a) > m->cap && map_grow(m, MAX(m->n + (b - a), 2 * m->cap)) < 0)
                return -ENOMEM;
        /* The run, joined to the one before where both follow on. */
        if (last && last->lo + last->n == m->n && last->was_lo + last->n == a)
                last->n += b - a;
        else {
                struct natgw_map_run *v = reallocarray(m->copied, m->n_copied + 1, sizeof(*v));

                if (!v)
                        return -ENOMEM;
                m->copied = v;
                m->copied[m->n_copied++] = (struct natgw_map_run){ .lo = m->n, .was_lo = a, .n = b - a };
        }
        memcpy(m->keys + m->n * kstride, from->keys + a * kstride, (b - a) * kstride);
        memcpy(m->data + m->n * m->data_len, from->data + a * m->data_len, (b - a) * m->data_len);
        for (size_t i = a; i < b; i++)
                m->entry[m->n++] = (uint32_t)((int64_t)from->entry[i] + delta);
        return 0;
}

/* The elements of the forwards of run @run, from @old's forward maps into @maps (indexed as
 * natgw_plan_build_from()'s: family, then shape). */
static int forward_run_copy(struct natgw_map *maps, const struct natgw_map *const *old_maps, const struct natgw_plan *old,
                            const struct forward_run *run, uint32_t first_forward) {
        uint32_t lo = old->first_forward + (uint32_t)run->was_first;
        int64_t delta = (int64_t)first_forward + (int64_t)run->first - lo;

        for (size_t i = 0; i < 2 * NATGW_SHAPE_MAX; i++)
                if (old_maps[i]) {
                        int r = map_copy_range(&maps[i], old_maps[i], lo, lo + (uint32_t)run->n, delta);

                        if (r < 0)
                                return r;
                }
        return 0;
}

int natgw_plan_build(const struct natgw_config *c, struct natgw_plan **ret, struct natgw_errors *errors) {
        return natgw_plan_build_from(c, NULL, ret, errors);
}

int natgw_plan_build_from(const struct natgw_config *c, const struct natgw_plan *old, struct natgw_plan **ret,
                          struct natgw_errors *errors) {
        static const enum natgw_field egress_fields[] = { NATGW_FIELD_OIFNAME, NATGW_FIELD_SADDR };
        /* The most selective field first: the kernel's set (pipapo) narrows the candidates field
         * by field, and a first field every element shares (the entry) would make each lookup
         * walk them all. */
        static const enum natgw_field allow_fields[] = { NATGW_FIELD_DADDR, NATGW_FIELD_DPORT, NATGW_FIELD_L4PROTO,
                                                         NATGW_FIELD_ENTRY };
        _cleanup_(natgw_plan_freep) struct natgw_plan *p = NULL;
        _cleanup_(freep) struct forward_run *runs = NULL;
        /* In the plan's order: forwards (v4, v6, by shape), egress, policy and allow (v4, v6),
         * netmaps. */
        struct natgw_map maps[2 * NATGW_SHAPE_MAX + 6 + NATGW_NETMAP_MAPS] = {}, *egress = maps + 2 * NATGW_SHAPE_MAX;
        struct natgw_map *policy = egress + 2, *allow = egress + 4, *netmap = egress + 6;
        const struct natgw_map *old_maps[2 * NATGW_SHAPE_MAX] = {};
        uint64_t total = 0, per_map[2 * NATGW_SHAPE_MAX] = {};
        /* Per forward map: the protocols of its elements, whether it has reflected ones and
         * of a forward without in_interface (set here, for the copied runs as for the rest). */
        unsigned protos[2 * NATGW_SHAPE_MAX] = {};
        bool reflect[2 * NATGW_SHAPE_MAX] = {}, hairpin[2 * NATGW_SHAPE_MAX] = {};
        bool invalid = false, helpers = false;
        size_t n_runs = 0;
        int r = 0;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->config = c;
        p->serial = c->serial;
        p->first_forward = (uint32_t)c->n_egress;
        if (reuse_runs(c, old, &runs, &n_runs) < 0)
                return -ENOMEM;
        p->reused = n_runs > 0 ? old->serial : 0;
        for (size_t i = 0; n_runs > 0 && i < old->n_maps; i++)
                if (old->maps[i].kind == NATGW_MAP_FORWARD)
                        old_maps[(old->maps[i].family == AF_INET ? 0 : NATGW_SHAPE_MAX) + old->maps[i].shape] =
                                &old->maps[i];

        for (size_t i = 0; i < c->n_forwards; i++) {
                const struct natgw_forward *fw = &c->forwards[i];
                size_t mi = (fw->to.family == AF_INET ? 0 : NATGW_SHAPE_MAX) + forward_shape(fw);
                uint64_t n = forward_elements(fw);
                unsigned pr = fw->protos & (NATGW_PROTO_TCP | NATGW_PROTO_UDP);

                /* At most so many elements in each forward map (fewer where allow_from prefixes
                 * cover others): its room taken at once, not doubled from 64. */
                if (fw->reflection) {
                        per_map[mi] += n / 2;
                        per_map[mi | NATGW_SHAPE_IIF] += n / 2;
                        protos[mi | NATGW_SHAPE_IIF] |= pr;
                        reflect[mi | NATGW_SHAPE_IIF] = true;
                        hairpin[mi | NATGW_SHAPE_IIF] = hairpin[mi | NATGW_SHAPE_IIF] || !fw->in_interface[0];
                } else
                        per_map[mi] += n;
                protos[mi] |= pr;
                total += n;
                helpers = helpers || fw->helper;
                if (total > NATGW_PLAN_ELEMENTS_MAX) {
                        natgw_errors_add(errors, natgw_config_entry_file(c, c->forwards[i].file),
                                         c->forwards[i].line, c->forwards[i].name,
                                         "the forwards up to this entry expand to more than %u map "
                                         "elements (ports x protocols x allow_from); use fewer ports",
                                         NATGW_PLAN_ELEMENTS_MAX);
                        return -EINVAL;
                }
        }

        for (int f = 0; f < 2; f++) {
                int family = f == 0 ? AF_INET : AF_INET6;

                for (unsigned s = 0; s < NATGW_SHAPE_MAX; s++) {
                        struct natgw_map *m = &maps[f * NATGW_SHAPE_MAX + s];

                        forward_map_init(m, family, s);
                        m->protos = protos[f * NATGW_SHAPE_MAX + s];
                        m->reflect = reflect[f * NATGW_SHAPE_MAX + s];
                        m->hairpin = hairpin[f * NATGW_SHAPE_MAX + s];
                        if (r >= 0 && per_map[f * NATGW_SHAPE_MAX + s] > 0)
                                r = map_grow(m, (size_t)per_map[f * NATGW_SHAPE_MAX + s]);
                }
                map_init(&egress[f], NATGW_MAP_EGRESS, family, f == 0 ? "egress4" : "egress6",
                         egress_fields, ELEMENTSOF(egress_fields), true);
                map_init(&policy[f], NATGW_MAP_POLICY, family, f == 0 ? "policy4" : "policy6",
                         egress_fields, ELEMENTSOF(egress_fields), true);
                map_init(&allow[f], NATGW_MAP_ALLOW, family, f == 0 ? "allow4" : "allow6",
                         allow_fields, ELEMENTSOF(allow_fields), true);
        }
        natgw_helper_plan(p, helpers);
        p->forward_chain = c->filter.forward == NATGW_FILTER_DROP;
        for (size_t i = 0; i < c->n_egress; i++)
                p->forward_chain = p->forward_chain || c->egress[i].has_allow;

        for (size_t i = 0, k = 0; i < c->n_forwards && r >= 0; i++) {
                const struct natgw_forward *fw = &c->forwards[i];
                size_t mi = (fw->to.family == AF_INET ? 0 : NATGW_SHAPE_MAX) + forward_shape(fw);

                /* An unchanged drop-in's forwards: their elements as they were, in order. */
                if (k < n_runs && runs[k].first == i) {
                        r = forward_run_copy(maps, old_maps, old, &runs[k], p->first_forward);
                        i += runs[k++].n - 1;
                        continue;
                }
                r = forward_compile(&maps[mi], fw, fw->in_interface, (uint32_t)(c->n_egress + i));
                if (r >= 0 && fw->reflection)
                        r = forward_compile(&maps[mi | NATGW_SHAPE_IIF], fw, NATGW_REFLECT_IIF,
                                            (uint32_t)(c->n_egress + i));
        }
        for (size_t i = 0; i < 2 * NATGW_SHAPE_MAX && r >= 0; i++)
                if (maps[i].reflect) {
                        int q = natgw_reflect_dedupe(p, &maps[i], errors);

                        r = q == -EINVAL ? r : MIN(q, 0);
                        p->reflect = true;
                        p->reflect_shared = p->reflect_shared || q > 0;
                        /* Elements left out: the copied runs no longer say where they are. */
                        if (q > 0) {
                                free(maps[i].copied);
                                maps[i].copied = NULL;
                                maps[i].n_copied = 0;
                        }
                        if (q == -EINVAL)
                                invalid = true;
                }
        if (r >= 0 && p->reflect)
                r = reflect_outside(p, c, errors);
        if (r >= 0)
                r = egress_compile(p, &egress[0], &egress[1]);
        /* The forward filter finds an egress entry the way postrouting does. */
        if (r >= 0 && p->forward_chain)
                r = egress_compile(p, &policy[0], &policy[1]);
        if (r >= 0)
                r = allow_compile(c, &allow[0], &allow[1]);
        if (r >= 0)
                r = natgw_netmap_compile(c, netmap, (uint32_t)(c->n_egress + c->n_forwards));

        /* Keep the non-empty maps, in that fixed order. */
        for (size_t i = 0; i < ELEMENTSOF(maps) && r >= 0; i++)
                if (maps[i].n > 0) {
                        r = plan_add_map(p, &maps[i]);
                        if (r >= 0)
                                maps[i] = (struct natgw_map){};
                }
        maps_free(maps, ELEMENTSOF(maps));
        if (r < 0)
                return r;
        if (invalid)
                return -EINVAL;
        for (size_t i = 0; i < p->n_maps; i++)
                p->n_elements += p->maps[i].n;
        *ret = TAKE_PTR(p);
        return 0;
}

/* See nft-plan.h. */
void natgw_map_init(struct natgw_map *m, enum natgw_map_kind kind, int family, const char *name,
                    const enum natgw_field *fields, unsigned n_fields, bool interval) {
        map_init(m, kind, family, name, fields, n_fields, interval);
}

int natgw_map_append(struct natgw_map *m, uint32_t entry, uint8_t **ret_key, uint8_t **ret_key_end,
                     uint8_t **ret_data) {
        return map_append(m, entry, ret_key, ret_key_end, ret_data);
}

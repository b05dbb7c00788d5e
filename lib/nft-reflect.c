/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reflected elements of the forward maps (see nft-reflect.h): which they are, and the ones two
 * forwards share.
 */

#include <limits.h>
#include <sys/socket.h>

#include "nft-reflect.h"
#include "util.h"

bool natgw_reflect_elem(const struct natgw_map *m, size_t i) {
        const uint8_t *key = m->keys + i * m->key_len * (m->interval ? 2 : 1);

        /* The first byte first: a pass over a map of 50,000 elements calls strncmp() for few. */
        return (m->shape & NATGW_SHAPE_IIF) && key[0] == (uint8_t)NATGW_REFLECT_IIF[0] &&
               strncmp((const char *)key, NATGW_REFLECT_IIF, IFNAMSIZ) == 0;
}

struct reflect_sort {
        const struct natgw_map *m;
        uint32_t src_off, src_len; /* the client address field; src_len 0: none */
};

/* The key of element @i with its client address range cut out, and that range. */
static int key_cmp_rest(const struct reflect_sort *s, size_t a, size_t b) {
        const struct natgw_map *m = s->m;
        size_t stride = m->key_len * (m->interval ? 2 : 1);
        const uint8_t *x = m->keys + a * stride, *y = m->keys + b * stride;
        int r;

        r = memcmp(x, y, s->src_len ? s->src_off : m->key_len);
        if (r || !s->src_len)
                return r;
        return memcmp(x + s->src_off + s->src_len, y + s->src_off + s->src_len,
                      m->key_len - s->src_off - s->src_len);
}

static const uint8_t *src_lo(const struct reflect_sort *s, size_t i) {
        return s->m->keys + i * s->m->key_len * 2 + s->src_off;
}

static const uint8_t *src_hi(const struct reflect_sort *s, size_t i) {
        return src_lo(s, i) + s->m->key_len;
}

static int elem_cmp(const void *pa, const void *pb, void *arg) {
        const struct reflect_sort *s = arg;
        size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
        int r = key_cmp_rest(s, a, b);

        if (!r && s->src_len)
                r = memcmp(src_lo(s, a), src_lo(s, b), s->src_len);
        if (r)
                return r;
        return a < b ? -1 : a > b; /* the first forward first */
}

static int report_clash(const struct natgw_plan *p, const struct natgw_map *m, size_t keep, size_t drop,
                        struct natgw_errors *errors) {
        uint32_t e = m->entry[drop], o = m->entry[keep];

        natgw_errors_add(errors, natgw_plan_entry_file(p, e), natgw_plan_entry_line(p, e), natgw_plan_entry_name(p, e),
                         "reflects the same address and port as entry \"%s\" (line %u), to another target or for "
                         "overlapping allow_from: set reflection = false on one of them",
                         natgw_plan_entry_name(p, o), natgw_plan_entry_line(p, o));
        return -EINVAL;
}

static void map_remove(struct natgw_map *m, const bool *gone) {
        size_t stride = m->key_len * (m->interval ? 2 : 1), n = 0;

        for (size_t i = 0; i < m->n; i++) {
                if (gone[i])
                        continue;
                if (n != i) {
                        memmove(m->keys + n * stride, m->keys + i * stride, stride);
                        memmove(m->data + n * m->data_len, m->data + i * m->data_len, m->data_len);
                        m->entry[n] = m->entry[i];
                }
                n++;
        }
        m->n = n;
}

int natgw_reflect_dedupe(const struct natgw_plan *p, struct natgw_map *m, struct natgw_errors *errors) {
        struct reflect_sort s = { .m = m };
        _cleanup_(freep) size_t *idx = NULL;
        _cleanup_(freep) bool *gone = NULL;
        size_t n = 0, n_gone = 0, best;
        uint32_t last_a = UINT32_MAX, last_b = UINT32_MAX;
        uint32_t off = 0;
        int r = 0;

        for (unsigned f = 0; f < m->n_fields; f++) {
                uint32_t len = natgw_field_len(m->fields[f], m->family);

                if (m->fields[f] == NATGW_FIELD_SADDR) {
                        s.src_off = off;
                        s.src_len = len;
                }
                off += (len + 3) & ~3u;
        }
        idx = calloc(MAX(m->n, (size_t)1), sizeof(*idx));
        gone = calloc(MAX(m->n, (size_t)1), sizeof(*gone));
        if (!idx || !gone)
                return -ENOMEM;
        for (size_t i = 0; i < m->n; i++)
                if (natgw_reflect_elem(m, i))
                        idx[n++] = i;
        if (n < 2)
                return 0;
        qsort_r(idx, n, sizeof(*idx), elem_cmp, &s);
        /* Sorted by the rest of the key, then the client range's start: an element clashes with
         * the one of its group that reaches furthest so far (for hash maps: the same key). */
        best = idx[0];
        for (size_t k = 1; k < n; k++) {
                size_t a = idx[k];

                if (key_cmp_rest(&s, idx[k - 1], a) != 0) {
                        best = a;
                        continue;
                }
                if (s.src_len && memcmp(src_lo(&s, a), src_hi(&s, best), s.src_len) > 0) {
                        best = a;
                        continue;
                }
                if ((!s.src_len || (memcmp(src_lo(&s, a), src_lo(&s, best), s.src_len) == 0 &&
                                    memcmp(src_hi(&s, a), src_hi(&s, best), s.src_len) == 0)) &&
                    memcmp(m->data + a * m->data_len, m->data + best * m->data_len, m->data_len) == 0) {
                        gone[a] = true;
                        n_gone++;
                        continue;
                }
                if (m->entry[a] != m->entry[best] &&
                    (m->entry[a] != last_a || m->entry[best] != last_b)) {
                        r = report_clash(p, m, best, a, errors);
                        last_a = m->entry[a];
                        last_b = m->entry[best];
                }
                if (s.src_len && memcmp(src_hi(&s, a), src_hi(&s, best), s.src_len) > 0)
                        best = a;
        }
        if (r < 0)
                return r;
        if (n_gone)
                map_remove(m, gone);
        return (int)MIN(n_gone, (size_t)INT_MAX);
}

static bool has_name(const char *const *v, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq_short(v[i], name))
                        return true;
        return false;
}

int natgw_outside_interfaces(const struct natgw_config *c, const char ***ret, size_t *ret_n) {
        size_t n = 0, cap = 0, total = c->n_forwards + c->n_egress + c->n_netmaps;
        _cleanup_(freep) const char **v = NULL;

        /* Past NATGW_REFLECT_OUTSIDE_MAX + 1 the names are not used (nor worth a search each). */
        for (size_t k = 0; k < total && n <= NATGW_REFLECT_OUTSIDE_MAX; k++) {
                const char *name = k < c->n_forwards ? c->forwards[k].in_interface
                                   : k < c->n_forwards + c->n_egress ? c->egress[k - c->n_forwards].out_interface
                                   : c->netmaps[k - c->n_forwards - c->n_egress].interface;

                if (!name[0] || has_name(v, n, name))
                        continue;
                if (GROW(v, cap, n + 1) < 0)
                        return -ENOMEM;
                v[n++] = name;
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

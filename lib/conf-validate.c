/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Checks across entries. Configs with tens of thousands of forwards are a use case, so nothing
 * here compares every entry with every other: each check hashes or sorts, then looks at
 * neighbours.
 */

#include <limits.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "conf-validate.h"
#include "util-ahead.h"
#include "util.h"

struct check {
        const char *file;
        struct natgw_errors *errors;
        unsigned n_found;
};

/* An error at @file (NULL: the main file) and @line. */
_printf_(5, 6)
static int report(struct check *k, const char *file, unsigned line, const char *entry, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = natgw_errors_addv(k->errors, NATGW_SEVERITY_ERROR, file ? file : k->file, line, entry, fmt, ap);
        va_end(ap);
        if (r < 0)
                return r;
        k->n_found++;
        return 0;
}

/* ---- open addressing over entry indices ---- */

/* FNV-1a of @n bytes at @p, continuing from @h (start: FNV_START). */
#define FNV_START UINT64_C(0xcbf29ce484222325)
static uint64_t fnv1a(const void *p, size_t n, uint64_t h) {
        const unsigned char *b = p;

        for (size_t i = 0; i < n; i++)
                h = (h ^ b[i]) * UINT64_C(0x100000001b3);
        return h;
}

/*
 * A table of entry indices keyed by what @eq compares: index_set_find_or_add() returns the index
 * of an entry equal to @i that was added before, or adds @i and returns it.
 */
struct index_set {
        uint32_t *slot; /* entry index + 1; 0: empty */
        size_t mask;
};

static int index_set_init(struct index_set *t, size_t n) {
        size_t size = 16;

        if (n >= UINT32_MAX)
                return -ENOMEM;
        while (size < 2 * n)
                size <<= 1;
        t->slot = natgw_calloc_populated(size, sizeof(*t->slot));
        t->mask = size - 1;
        return t->slot ? 0 : -ENOMEM;
}

static uint32_t index_set_find_or_add(struct index_set *t, uint64_t hash, uint32_t i,
                                      bool (*eq)(uint32_t a, uint32_t b, const void *userdata),
                                      const void *userdata) {
        for (size_t h = hash & t->mask;; h = (h + 1) & t->mask) {
                if (t->slot[h] == 0) {
                        t->slot[h] = i + 1;
                        return i;
                }
                if (eq(t->slot[h] - 1, i, userdata))
                        return t->slot[h] - 1;
        }
}

/* ---- names: unique across all sections ---- */

static int name_cmp(const void *a, const void *b) {
        const struct natgw_conf_name *x = a, *y = b;
        int r = strcmp(x->name, y->name);

        if (r != 0)
                return r;
        if (x->rank != y->rank)
                return x->rank < y->rank ? -1 : 1;
        return x->line < y->line ? -1 : x->line > y->line;
}

/* Where the other entry of a conflict is: "line N" in the same file, "FILE:N" in another one. */
static const char *where(const char *file, const char *other_file, unsigned other_line, char *buf,
                         size_t size) {
        if (!other_file || (file && streq(file, other_file)))
                snprintf(buf, size, "line %u", other_line);
        else
                snprintf(buf, size, "%s:%u", other_file, other_line);
        return buf;
}

static bool name_eq(uint32_t a, uint32_t b, const void *userdata) {
        const struct natgw_conf_name *names = userdata;

        return streq(names[a].name, names[b].name);
}

static int check_names(struct check *k, const struct natgw_conf_name *names, size_t n) {
        _cleanup_(freep) struct natgw_conf_name *v = NULL;
        _cleanup_(freep) bool *dup = NULL;
        struct index_set t = {};
        char at[PATH_MAX + 16];
        size_t first = 0, n_dup = 0;
        int r;

        if (n < 2)
                return 0;
        /* The names used more than once, found by hashing (most configs have none) ... */
        dup = calloc(n, sizeof(*dup));
        if (!dup || index_set_init(&t, n) < 0) {
                free(t.slot);
                return -ENOMEM;
        }
        for (uint32_t i = 0; i < n; i++) {
                const char *s = names[i].name;
                uint32_t j = index_set_find_or_add(&t, fnv1a(s, strlen(s), FNV_START), i, name_eq, names);

                if (j != i) {
                        n_dup += !dup[j] + 1;
                        dup[j] = dup[i] = true;
                }
        }
        free(t.slot);
        if (n_dup == 0)
                return 0;
        /* ... then sorted, so that each later use is reported against the first. */
        v = calloc(n_dup, sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0, j = 0; i < n; i++)
                if (dup[i])
                        v[j++] = names[i];
        qsort(v, n_dup, sizeof(*v), name_cmp);
        for (size_t i = 1; i < n_dup; i++) {
                if (!streq(v[i].name, v[first].name)) {
                        first = i;
                        continue;
                }
                r = report(k, v[i].file, v[i].line, v[i].name, "name already used by the entry at %s",
                           where(v[i].file, v[first].file, v[first].line, at, sizeof(at)));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- egress: one entry per (source prefix, out_interface) ---- */

struct egress_source {
        const struct natgw_egress *e;
        const struct natgw_prefix *p;
        size_t rank; /* the place of the entry's file (natgw_conf_name.rank) */
        size_t i; /* index in the model, the last tie-breaker */
};

/* The place of @file among c->files: drop-ins come after the main file, in name order (so their
 * paths, which share the directory, sort as they do). */
static size_t file_rank(const struct natgw_config *c, const char *file) {
        size_t lo = 1, hi = c->n_files;

        if (!file || c->n_files == 0 || file == c->files[0].path)
                return 0;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int r = strcmp(file, c->files[mid].path);

                if (r == 0)
                        return mid;
                if (r < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return 0;
}

static int egress_source_cmp(const void *a, const void *b) {
        const struct egress_source *x = a, *y = b;
        int r = strcmp(x->e->out_interface, y->e->out_interface);

        if (r == 0)
                r = natgw_prefix_cmp(x->p, y->p);
        if (r != 0)
                return r;
        /* In a run of equal keys, the entry first in the files comes first. */
        if (x->rank != y->rank)
                return x->rank < y->rank ? -1 : 1;
        if (x->e->line != y->e->line)
                return x->e->line < y->e->line ? -1 : 1;
        return x->i < y->i ? -1 : x->i > y->i;
}

static int check_egress(struct check *k, const struct natgw_config *c) {
        _cleanup_(freep) struct egress_source *v = NULL;
        char buf[NATGW_PREFIX_STRLEN], at[PATH_MAX + 16];
        size_t n = 0, first = 0;
        int r;

        for (size_t i = 0; i < c->n_egress; i++)
                n += c->egress[i].n_sources;
        if (n < 2)
                return 0;
        v = calloc(n, sizeof(*v));
        if (!v)
                return -ENOMEM;
        n = 0;
        for (size_t i = 0; i < c->n_egress; i++)
                for (size_t j = 0; j < c->egress[i].n_sources; j++, n++)
                        v[n] = (struct egress_source) { &c->egress[i], &c->egress[i].sources[j],
                                                        file_rank(c, c->egress[i].file), n };
        qsort(v, n, sizeof(*v), egress_source_cmp);

        for (size_t i = 1; i < n; i++) {
                const struct egress_source *a = &v[first], *b = &v[i];

                if (!streq(a->e->out_interface, b->e->out_interface) || natgw_prefix_cmp(a->p, b->p) != 0) {
                        first = i;
                        continue;
                }
                natgw_prefix_format(b->p, buf, sizeof(buf));
                if (a->e == b->e)
                        r = report(k, b->e->file, b->e->line, b->e->name, "source %s is listed twice", buf);
                else
                        r = report(k, b->e->file, b->e->line, b->e->name,
                                   "source %s on \"%s\" is already used by entry \"%s\" (%s)", buf,
                                   b->e->out_interface, a->e->name,
                                   where(b->e->file, a->e->file, a->e->line, at, sizeof(at)));
                if (r < 0)
                        return r;
        }
        return 0;
}

/*
 * ---- forwards: no two may claim the same packet ----
 *
 * Two forwards overlap when they share family, protocol and a port, and their in_interface and
 * destination are each equal or absent on one side (absent = any). Every (family, protocol)
 * gets a sweep over its port intervals sorted by start: the intervals still "open" at the
 * current start are kept in lists indexed by what a newcomer can conflict with, so a newcomer
 * only looks at lists whose live members all conflict with it. Closed intervals are dropped
 * from a list when it is next read. The cost is O(n log n) plus the conflicts reported, and
 * reports stop at NATGW_OVERLAPS_MAX pairs.
 */

struct fw_interval {
        uint32_t fwd;  /* index in c->forwards */
        uint16_t lo, hi;
        uint8_t fam;   /* 0: IPv4, 1: IPv6 */
        uint8_t proto; /* one NATGW_PROTO_* bit */
};

struct idvec {
        uint32_t *v;
        size_t n, cap;
};

struct overlap {
        uint32_t a, b; /* forward indices, a < b */
        uint8_t proto;
        struct natgw_port_range ports;
};

/* Room for every reported pair with the table at most half full. */
#define PAIRS_BITS 12
#define PAIRS_SIZE (1u << PAIRS_BITS)
_Static_assert(PAIRS_SIZE >= 2 * NATGW_OVERLAPS_MAX, "pair set too small");

struct sweep {
        struct check *k;
        const struct natgw_config *c;
        struct fw_interval *iv;
        size_t n_iv;
        uint32_t *iface_id; /* per forward; 0: any interface */
        uint32_t *dest_id;  /* per forward; 0: any destination */
        uint32_t n_ifaces, n_dests;
        uint64_t *keys;     /* sorted, unique iface_id << 32 | dest_id */
        size_t n_keys;
        uint32_t *key_idx;  /* per forward: its index in keys */
        struct idvec *by_key, *by_iface, *by_dest, all;
        uint64_t *pairs;    /* open addressing set of the pairs found; 0: empty slot */
        size_t n_pairs;
        struct overlap *found; /* the pairs found, with where they first meet */
};

static void sweep_done(struct sweep *w) {
        for (size_t i = 0; w->by_key && i < w->n_keys; i++)
                free(w->by_key[i].v);
        for (size_t i = 0; w->by_iface && i <= w->n_ifaces; i++)
                free(w->by_iface[i].v);
        for (size_t i = 0; w->by_dest && i <= w->n_dests; i++)
                free(w->by_dest[i].v);
        free(w->all.v);
        free(w->by_key);
        free(w->by_iface);
        free(w->by_dest);
        free(w->iv);
        free(w->iface_id);
        free(w->dest_id);
        free(w->keys);
        free(w->key_idx);
        free(w->pairs);
        free(w->found);
}

static bool fwd_iface_eq(uint32_t a, uint32_t b, const void *userdata) {
        const struct natgw_config *c = userdata;

        return streq(c->forwards[a].in_interface, c->forwards[b].in_interface);
}

static bool fwd_dest_eq(uint32_t a, uint32_t b, const void *userdata) {
        const struct natgw_config *c = userdata;

        return natgw_addr_cmp(&c->forwards[a].destination, &c->forwards[b].destination) == 0;
}

/* Number the distinct interfaces (or destinations) 1..n; 0 stands for "any". */
static int assign_ids(const struct natgw_config *c, bool dest, uint32_t *ids, uint32_t *ret_n) {
        struct index_set t = {};
        uint32_t id = 0;

        if (index_set_init(&t, c->n_forwards) < 0)
                return -ENOMEM;
        for (uint32_t i = 0; i < c->n_forwards; i++) {
                const struct natgw_forward *f = &c->forwards[i];
                uint64_t h;
                uint32_t j;

                ids[i] = 0;
                if (dest ? !f->has_destination : f->in_interface[0] == 0)
                        continue;
                if (dest)
                        h = fnv1a(f->destination.bytes, f->destination.family == AF_INET ? 4 : 16,
                                  fnv1a(&f->destination.family, sizeof(f->destination.family), FNV_START));
                else
                        h = fnv1a(f->in_interface, strlen(f->in_interface), FNV_START);
                j = index_set_find_or_add(&t, h, i, dest ? fwd_dest_eq : fwd_iface_eq, c);
                ids[i] = j == i ? ++id : ids[j];
        }
        free(t.slot);
        *ret_n = id;
        return 0;
}

static int u64_cmp(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

static uint64_t make_key(uint32_t iface, uint32_t dest) {
        return (uint64_t) iface << 32 | dest;
}

/* Index of @key in w->keys, or -1 when no forward has it. */
static ssize_t find_key(const struct sweep *w, uint64_t key) {
        const uint64_t *p = bsearch(&key, w->keys, w->n_keys, sizeof(*w->keys), u64_cmp);

        return p ? p - w->keys : -1;
}

static int build_keys(struct sweep *w) {
        size_t n = w->c->n_forwards, j = 0;

        w->keys = natgw_calloc_populated(n, sizeof(*w->keys));
        w->key_idx = natgw_calloc_populated(n, sizeof(*w->key_idx));
        if (!w->keys || !w->key_idx)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                w->keys[i] = make_key(w->iface_id[i], w->dest_id[i]);
        qsort(w->keys, n, sizeof(*w->keys), u64_cmp);
        for (size_t i = 0; i < n; i++)
                if (i == 0 || w->keys[i] != w->keys[j - 1])
                        w->keys[j++] = w->keys[i];
        w->n_keys = j;
        for (size_t i = 0; i < n; i++)
                w->key_idx[i] = (uint32_t) find_key(w, make_key(w->iface_id[i], w->dest_id[i]));
        return 0;
}

static int interval_cmp(const void *a, const void *b) {
        const struct fw_interval *x = a, *y = b;

        if (x->fam != y->fam)
                return x->fam < y->fam ? -1 : 1;
        if (x->proto != y->proto)
                return x->proto < y->proto ? -1 : 1;
        if (x->lo != y->lo)
                return x->lo < y->lo ? -1 : 1;
        if (x->hi != y->hi)
                return x->hi < y->hi ? -1 : 1;
        return x->fwd < y->fwd ? -1 : x->fwd > y->fwd;
}

static int build_intervals(struct sweep *w) {
        static const uint8_t protos[] = { NATGW_PROTO_TCP, NATGW_PROTO_UDP };
        const struct natgw_config *c = w->c;
        size_t n = 0;

        for (size_t i = 0; i < c->n_forwards; i++)
                n += 2 * c->forwards[i].n_ports;
        w->iv = natgw_calloc_populated(n + 1, sizeof(*w->iv));
        if (!w->iv)
                return -ENOMEM;
        for (uint32_t i = 0; i < c->n_forwards; i++) {
                const struct natgw_forward *f = &c->forwards[i];

                for (size_t p = 0; p < ELEMENTSOF(protos); p++) {
                        if (!(f->protos & protos[p]))
                                continue;
                        for (size_t j = 0; j < f->n_ports; j++)
                                w->iv[w->n_iv++] = (struct fw_interval) {
                                        .fwd = i,
                                        .lo = f->ports[j].lo,
                                        .hi = f->ports[j].hi,
                                        .fam = f->to.family == AF_INET6,
                                        .proto = protos[p],
                                };
                }
        }
        qsort(w->iv, w->n_iv, sizeof(*w->iv), interval_cmp);
        return 0;
}

/* Return: 1 when the pair is new, 0 when it was reported already, -E2BIG when the set is full. */
static int pair_add(struct sweep *w, uint32_t a, uint32_t b) {
        /* a < b, so b > 0 and the key is never 0, the empty slot. */
        uint64_t key = make_key(a, b);
        size_t h = (size_t) ((key * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - PAIRS_BITS));

        while (w->pairs[h] != 0) {
                if (w->pairs[h] == key)
                        return 0;
                h = (h + 1) & (PAIRS_SIZE - 1);
        }
        if (w->n_pairs >= NATGW_OVERLAPS_MAX)
                return -E2BIG;
        w->pairs[h] = key;
        w->n_pairs++;
        return 1;
}

/* @x starts at or after @y (sweep order), so their overlap starts at x->lo. */
static int conflict(struct sweep *w, const struct fw_interval *x, const struct fw_interval *y) {
        uint32_t a = MIN(x->fwd, y->fwd), b = MAX(x->fwd, y->fwd);
        int r;

        if (a == b)
                return 0;
        r = pair_add(w, a, b);
        if (r <= 0)
                return r;
        w->found[w->n_pairs - 1] = (struct overlap) {
                .a = a,
                .b = b,
                .proto = x->proto,
                .ports = { .lo = x->lo, .hi = MIN(x->hi, y->hi) },
        };
        return 0;
}

static int overlap_cmp(const void *p, const void *q) {
        const struct overlap *x = p, *y = q;

        if (x->b != y->b)
                return x->b < y->b ? -1 : 1;
        return x->a < y->a ? -1 : x->a > y->a;
}

/* In file order: by the later entry, then by the one it collides with. */
static int report_overlaps(struct sweep *w) {
        char buf[NATGW_PORTS_STRLEN], at[PATH_MAX + 16];
        int r;

        qsort(w->found, w->n_pairs, sizeof(*w->found), overlap_cmp);
        for (size_t i = 0; i < w->n_pairs; i++) {
                const struct overlap *o = &w->found[i];
                const struct natgw_forward *fa = &w->c->forwards[o->a], *fb = &w->c->forwards[o->b];

                r = report(w->k, fb->file, fb->line, fb->name, "overlaps entry \"%s\" (%s) on %s port%s %s",
                           fa->name, where(fb->file, fa->file, fa->line, at, sizeof(at)), o->proto == NATGW_PROTO_TCP ? "tcp" : "udp",
                           o->ports.lo == o->ports.hi ? "" : "s",
                           natgw_ports_format(&o->ports, buf, sizeof(buf)));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Every live member of @v conflicts with @x; closed ones are dropped on the way. */
static int scan(struct sweep *w, struct idvec *v, const struct fw_interval *x) {
        size_t j = 0;
        int r;

        for (size_t i = 0; i < v->n; i++) {
                const struct fw_interval *y = &w->iv[v->v[i]];

                /* Starts only grow: an interval closed now stays closed. */
                if (y->hi < x->lo)
                        continue;
                v->v[j++] = v->v[i];
                r = conflict(w, x, y);
                if (r < 0)
                        return r;
        }
        v->n = j;
        return 0;
}

static int scan_key(struct sweep *w, uint32_t iface, uint32_t dest, const struct fw_interval *x) {
        ssize_t i = find_key(w, make_key(iface, dest));

        return i < 0 ? 0 : scan(w, &w->by_key[i], x);
}

static int query(struct sweep *w, const struct fw_interval *x) {
        uint32_t i = w->iface_id[x->fwd], d = w->dest_id[x->fwd];
        int r;

        if (i != 0 && d != 0) {
                /* Specific on both sides: conflicts are in four exact lists. */
                if ((r = scan_key(w, i, d, x)) < 0 || (r = scan_key(w, i, 0, x)) < 0 ||
                    (r = scan_key(w, 0, d, x)) < 0)
                        return r;
                return scan_key(w, 0, 0, x);
        }
        if (d != 0) {
                r = scan(w, &w->by_dest[d], x);
                return r < 0 ? r : scan(w, &w->by_dest[0], x);
        }
        if (i != 0) {
                r = scan(w, &w->by_iface[i], x);
                return r < 0 ? r : scan(w, &w->by_iface[0], x);
        }
        return scan(w, &w->all, x);
}

static int idvec_push(struct idvec *v, uint32_t x) {
        if (GROW(v->v, v->cap, v->n + 1) < 0)
                return -ENOMEM;
        v->v[v->n++] = x;
        return 0;
}

static int sweep_group(struct sweep *w, size_t from, size_t to) {
        for (size_t i = 0; i < w->n_keys; i++)
                w->by_key[i].n = 0;
        for (size_t i = 0; i <= w->n_ifaces; i++)
                w->by_iface[i].n = 0;
        for (size_t i = 0; i <= w->n_dests; i++)
                w->by_dest[i].n = 0;
        w->all.n = 0;

        for (size_t i = from; i < to; i++) {
                uint32_t f = w->iv[i].fwd;
                int r;

                r = query(w, &w->iv[i]);
                if (r < 0)
                        return r;
                if (idvec_push(&w->by_key[w->key_idx[f]], (uint32_t) i) < 0 ||
                    idvec_push(&w->by_iface[w->iface_id[f]], (uint32_t) i) < 0 ||
                    idvec_push(&w->by_dest[w->dest_id[f]], (uint32_t) i) < 0 ||
                    idvec_push(&w->all, (uint32_t) i) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int check_forwards(struct check *k, const struct natgw_config *c) {
        _cleanup_(sweep_done) struct sweep w = { .k = k, .c = c };
        size_t from = 0;
        int r;

        if (c->n_forwards < 2)
                return 0;
        if (c->n_forwards >= UINT32_MAX)
                return -ENOMEM;
        w.iface_id = natgw_calloc_populated(c->n_forwards, sizeof(*w.iface_id));
        w.dest_id = natgw_calloc_populated(c->n_forwards, sizeof(*w.dest_id));
        w.pairs = calloc(PAIRS_SIZE, sizeof(*w.pairs));
        w.found = calloc(NATGW_OVERLAPS_MAX, sizeof(*w.found));
        if (!w.iface_id || !w.dest_id || !w.pairs || !w.found)
                return -ENOMEM;
        if ((r = assign_ids(c, false, w.iface_id, &w.n_ifaces)) < 0 ||
            (r = assign_ids(c, true, w.dest_id, &w.n_dests)) < 0 ||
            (r = build_keys(&w)) < 0 || (r = build_intervals(&w)) < 0)
                return r;
        w.by_key = calloc(MAX(w.n_keys, (size_t)1), sizeof(*w.by_key));
        w.by_iface = calloc(w.n_ifaces + 1, sizeof(*w.by_iface));
        w.by_dest = calloc(w.n_dests + 1, sizeof(*w.by_dest));
        if (!w.by_key || !w.by_iface || !w.by_dest)
                return -ENOMEM;

        for (size_t i = 1; i <= w.n_iv; i++) {
                if (i < w.n_iv && w.iv[i].fam == w.iv[from].fam && w.iv[i].proto == w.iv[from].proto)
                        continue;
                r = sweep_group(&w, from, i);
                if (r == -E2BIG) {
                        r = report(k, NULL, 0, NULL,
                                   "too many overlapping forwards: only the first %d are reported",
                                   NATGW_OVERLAPS_MAX);
                        if (r < 0)
                                return r;
                        break;
                }
                if (r < 0)
                        return r;
                from = i;
        }
        return report_overlaps(&w);
}

/* ---- all checks ---- */

/* See conf-validate.h. */
int natgw_config_validate(const struct natgw_config *c, const struct natgw_conf_name *names,
                          size_t n_names, const char *file, struct natgw_errors *errors) {
        struct check k = { .file = file, .errors = errors };
        int r;

        r = check_names(&k, names, n_names);
        if (r < 0)
                return r;
        r = check_egress(&k, c);
        if (r < 0)
                return r;
        r = check_forwards(&k, c);
        if (r < 0)
                return r;
        return k.n_found > 0 ? -EINVAL : 0;
}

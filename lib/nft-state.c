/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a batch leaves in the kernel (struct natgw_table_state) and, for an update, what it does
 * with each set the previous batch left: keep it, send only its difference, or recreate it.
 * No messages here: nft-batch.c encodes what this decides.
 */

#include "nft-state.h"
#include "util-ahead.h"
#include "util.h"

void natgw_set_plans_free(struct natgw_set_plan *v, size_t n) {
        for (size_t i = 0; v && i < n; i++) {
                free(v[i].removed);
                free(v[i].added);
        }
        free(v);
}

void natgw_table_state_clear(struct natgw_table_state *s) {
        for (size_t i = 0; s->sets && i < s->n_sets; i++) {
                free(s->sets[i].recs);
                free(s->sets[i].rec_off);
        }
        free(s->names);
        free(s->counters);
        free(s->counters_added);
        free(s->counters_gone);
        free(s->chains);
        free(s->sets);
        *s = (struct natgw_table_state){};
}

uint32_t natgw_batch_set_size(size_t n_elements) {
        size_t size = n_elements + n_elements / 2;

        return (uint32_t)MIN(MAX(size, (size_t)64), (size_t)UINT32_MAX);
}

static int cmp_name(const void *a, const void *b) {
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bool natgw_table_state_has_name(const char *const *v, size_t n, const char *name) {
        return n > 0 && bsearch(&name, v, n, sizeof(*v), cmp_name) != NULL;
}

static const struct natgw_table_set *find_set(const struct natgw_table_state *s, const char *name) {
        for (size_t i = 0; i < s->n_sets; i++)
                if (streq(s->sets[i].name, name))
                        return &s->sets[i];
        return NULL;
}

/*
 * Sort st->counters, written in the plan's order at the start of st->names. Without @old, a
 * sort. With it, from @old's sorted counters: the entries that did not change give the same
 * names in the same order, so the two sequences share a prefix and a suffix (the same bytes at
 * the start and the end of the names); the old sorted order of those (moved to the new buffer)
 * merged with the sorted new middle is the new sorted order. A reload sorts the names of what
 * changed, not the 100,000 of 50,000 forwards. The middles alone also hold every counter that
 * comes and every one that goes (st->counters_added, st->counters_gone).
 */
static int counters_sort(const struct natgw_table_state *old, struct natgw_table_state *st) {
        size_t n_old, n_new = st->n_counters, pre = 0, suf = 0, min, n_mid, n_kept = 0, k = 0, w = 0;
        size_t old_lo, old_hi, new_lo, new_hi;
        _cleanup_(freep) const char **old_seq = NULL, **kept = NULL, **mid = NULL, **old_mid = NULL;
        const char **sorted;
        const char *q;

        if (!old || !old->valid) {
                qsort(st->counters, n_new, sizeof(*st->counters), cmp_name);
                return 0;
        }
        n_old = old->n_counters;
        min = MIN(n_old, n_new);
        old_seq = reallocarray(NULL, MAX(n_old, (size_t)1), sizeof(*old_seq));
        if (!old_seq)
                return -ENOMEM;
        q = old->names;
        for (size_t i = 0; i < n_old; i++) {
                old_seq[i] = q;
                q += strlen(q) + 1;
        }
        for (; pre < min; pre++)
                if (!st->counters[pre] || !streq(old_seq[pre], st->counters[pre]))
                        break;
        for (; pre + suf < min; suf++)
                if (!st->counters[n_new - 1 - suf] || !streq(old_seq[n_old - 1 - suf], st->counters[n_new - 1 - suf]))
                        break;
        old_lo = pre < n_old ? (size_t)(old_seq[pre] - old->names) : old->counters_len;
        old_hi = suf > 0 ? (size_t)(old_seq[n_old - suf] - old->names) : old->counters_len;
        new_lo = pre < n_new ? (size_t)(st->counters[pre] - st->names) : st->counters_len;
        new_hi = suf > 0 ? (size_t)(st->counters[n_new - suf] - st->names) : st->counters_len;
        if (old_lo != new_lo) /* cannot be: the prefixes are the same names */
                return -EINVAL;

        n_mid = n_new - suf - pre;
        mid = reallocarray(NULL, MAX(n_mid, (size_t)1), sizeof(*mid));
        old_mid = reallocarray(NULL, MAX(n_old - suf - pre, (size_t)1), sizeof(*old_mid));
        kept = reallocarray(NULL, MAX(n_old, (size_t)1), sizeof(*kept));
        sorted = reallocarray(NULL, MAX(n_new, (size_t)1), sizeof(*sorted));
        st->counters_added = reallocarray(NULL, MAX(n_mid, (size_t)1), sizeof(*st->counters_added));
        st->counters_gone = reallocarray(NULL, MAX(n_old - suf - pre, (size_t)1), sizeof(*st->counters_gone));
        if (!mid || !old_mid || !kept || !sorted || !st->counters_added || !st->counters_gone) {
                free(sorted);
                return -ENOMEM;
        }
        memcpy(mid, st->counters + pre, n_mid * sizeof(*mid));
        qsort(mid, n_mid, sizeof(*mid), cmp_name);
        memcpy(old_mid, old_seq + pre, (n_old - suf - pre) * sizeof(*old_mid));
        qsort(old_mid, n_old - suf - pre, sizeof(*old_mid), cmp_name);
        /* What comes and what goes: the middles' difference (the common names are in both). */
        for (size_t i = 0, j = 0; i < n_mid || j < n_old - suf - pre;) {
                int c = i == n_mid ? 1 : j == n_old - suf - pre ? -1 : strcmp(mid[i], old_mid[j]);

                if (c < 0)
                        st->counters_added[st->n_counters_added++] = mid[i++];
                else if (c > 0)
                        st->counters_gone[st->n_counters_gone++] = (size_t)(old_mid[j++] - old->names);
                else
                        i++, j++;
        }
        /* The old sorted order of the common names, at their places in st->names. */
        for (size_t i = 0; i < n_old; i++) {
                size_t o = (size_t)(old->counters[i] - old->names);

                if (o < old_lo)
                        kept[n_kept++] = st->names + o;
                else if (o >= old_hi)
                        kept[n_kept++] = st->names + (o - old_hi + new_hi);
        }
        if (n_kept + n_mid != n_new) { /* cannot be: the middles are what is not common */
                free(sorted);
                return -EINVAL;
        }
        /* Merged: each new name after the common ones that sort before or with it. */
        for (size_t j = 0; j < n_mid; j++) {
                size_t lo = k, hi = n_kept;

                while (lo < hi) {
                        size_t m = lo + (hi - lo) / 2;

                        if (strcmp(kept[m], mid[j]) <= 0)
                                lo = m + 1;
                        else
                                hi = m;
                }
                memcpy(sorted + w, kept + k, (lo - k) * sizeof(*kept));
                w += lo - k;
                k = lo;
                sorted[w++] = mid[j];
        }
        memcpy(sorted + w, kept + k, (n_kept - k) * sizeof(*kept));
        free(st->counters);
        st->counters = sorted;
        return 0;
}

/* ---- map elements as records, for an update's difference ---- */

/* What the record of element @i of @m (@twin: which of its sets) holds after the key: *ret_v,
 * its length. */
static size_t rec_value(const struct natgw_plan *p, const struct natgw_map *m, enum natgw_twin twin, size_t i,
                        const void **ret_v) {
        const void *v;
        size_t vlen;

        /* Names a counter of the entry, or goes to the entry's chain. */
        if (twin != NATGW_TWIN_MAP || m->kind == NATGW_MAP_EGRESS) {
                v = natgw_plan_entry_name(p, m->entry[i]);
                vlen = strlen(v);
        } else if (m->kind == NATGW_MAP_POLICY) { /* the entry's allow chain, or accept: "" */
                v = natgw_policy_to_chain(p, m, i) ? natgw_plan_entry_name(p, m->entry[i]) : "";
                vlen = strlen(v);
        } else if (m->kind == NATGW_MAP_ALLOW) { /* a set: the key is all there is */
                v = "";
                vlen = 0;
        } else {
                v = m->data + i * m->data_len;
                vlen = m->data_len;
        }
        *ret_v = v;
        return vlen;
}

static int rec_cmp(const uint8_t *a, const uint8_t *b) {
        uint16_t la, lb;
        int r;

        memcpy(&la, a, sizeof(la));
        memcpy(&lb, b, sizeof(lb));
        r = memcmp(a + sizeof(la), b + sizeof(lb), MIN(la, lb));
        return r ? r : (la > lb) - (la < lb);
}

/* Element indexes compared by their records: @offs[i] is element i's record in @recs. */
struct rec_sort {
        const uint8_t *recs;
        const size_t *offs;
};

static int rec_idx_cmp(const void *a, const void *b, void *userdata) {
        const struct rec_sort *s = userdata;

        return rec_cmp(s->recs + s->offs[*(const uint32_t *)a], s->recs + s->offs[*(const uint32_t *)b]);
}

/* The records of all elements of @m (@ctr: which of its sets) into @set, back to back in plan
 * order, and their offsets (set->rec_off). One pass: the buffer grows as it fills (from room
 * for values of @guess bytes each), each value looked up once. */
static int recs_write(const struct natgw_plan *p, const struct natgw_map *m, enum natgw_twin ctr,
                      struct natgw_table_set *set, size_t guess) {
        size_t klen = (size_t)m->key_len * (m->interval ? 2 : 1), cap = m->n * (sizeof(uint16_t) + klen + guess) + 64;
        size_t off = 0;

        set->recs = malloc(cap);
        set->rec_off = reallocarray(NULL, MAX(m->n, (size_t)1), sizeof(*set->rec_off));
        if (!set->recs || !set->rec_off)
                return -ENOMEM;
        natgw_populate(set->recs, cap);
        natgw_populate(set->rec_off, m->n * sizeof(*set->rec_off));
        set->key_len = m->key_len;
        for (size_t i = 0; i < m->n; i++) {
                const void *v;
                size_t vlen = rec_value(p, m, ctr, i, &v);
                uint16_t len = (uint16_t)(klen + vlen);

                if (off + sizeof(len) + klen + vlen > cap) {
                        uint8_t *b;

                        cap = MAX(2 * cap, off + sizeof(len) + klen + vlen);
                        b = realloc(set->recs, cap);
                        if (!b)
                                return -ENOMEM;
                        set->recs = b;
                }
                set->rec_off[i] = off;
                memcpy(set->recs + off, &len, sizeof(len));
                memcpy(set->recs + off + sizeof(len), m->keys + i * klen, klen);
                memcpy(set->recs + off + sizeof(len) + klen, v, vlen);
                off += sizeof(len) + klen + vlen;
        }
        /* Shrunk to what it holds, in place: the state keeps it until the next update. */
        if (off + 64 < cap) {
                uint8_t *b = realloc(set->recs, MAX(off, (size_t)1));

                if (b)
                        set->recs = b;
        }
        return 0;
}

/* The average length of what @set's records hold after their key (the set has elements). */
static size_t rec_value_avg(const struct natgw_table_set *set) {
        size_t last = set->rec_off[set->elements - 1], klen = (size_t)set->key_len;
        uint16_t len;

        memcpy(&len, set->recs + last, sizeof(len));
        /* Every record: 2 bytes of length, the key (twice for an interval map: len says), the value. */
        return (last + sizeof(len) + len) / set->elements - sizeof(len) - MIN(klen, (size_t)len) + 1;
}

/* The elements @lo..@hi-1 of @set, sorted by record. */
static uint32_t *recs_sort(const struct natgw_table_set *set, size_t lo, size_t hi) {
        uint32_t *idx = reallocarray(NULL, MAX(hi - lo, (size_t)1), sizeof(*idx));

        if (!idx)
                return NULL;
        for (size_t i = lo; i < hi; i++)
                idx[i - lo] = (uint32_t)i;
        qsort_r(idx, hi - lo, sizeof(*idx), rec_idx_cmp, &(struct rec_sort){ .recs = set->recs, .offs = set->rec_off });
        return idx;
}

/*
 * What goes from @old and what comes with @set (records in plan order both): @sp's removed
 * (offsets in old->recs) and added (plan elements).
 *
 * Entries that did not change compile to the same elements in the same order, so the two
 * sequences share a prefix and a suffix, and only the middles differ (the elements of the
 * entries that changed, or of what their change moved). The difference of the middles is the
 * difference of the whole: the common parts cancel. So a reload sorts and compares the records
 * of what changed, not those of the table; when everything changed, the middles are the whole
 * sets, sorted and merged as they always were.
 */
static int recs_diff(const struct natgw_table_set *old, const struct natgw_table_set *set, struct natgw_set_plan *sp) {
        size_t n_old = old->elements, n_new = set->elements, min = MIN(n_old, n_new), pre = 0, suf = 0;
        _cleanup_(freep) uint32_t *old_mid = NULL, *new_mid = NULL;
        size_t n_old_mid, n_new_mid;

        for (; pre < min; pre++)
                if (rec_cmp(old->recs + old->rec_off[pre], set->recs + set->rec_off[pre]) != 0)
                        break;
        for (; pre + suf < min; suf++)
                if (rec_cmp(old->recs + old->rec_off[n_old - 1 - suf], set->recs + set->rec_off[n_new - 1 - suf]) != 0)
                        break;
        n_old_mid = n_old - suf - pre;
        n_new_mid = n_new - suf - pre;
        old_mid = recs_sort(old, pre, n_old - suf);
        new_mid = recs_sort(set, pre, n_new - suf);
        sp->removed = calloc(MAX(n_old_mid, (size_t)1), sizeof(*sp->removed));
        sp->added = calloc(MAX(n_new_mid, (size_t)1), sizeof(*sp->added));
        if (!old_mid || !new_mid || !sp->removed || !sp->added)
                return -ENOMEM;
        for (size_t i = 0, j = 0; i < n_old_mid || j < n_new_mid;) {
                int c = i == n_old_mid   ? 1
                        : j == n_new_mid ? -1
                                         : rec_cmp(old->recs + old->rec_off[old_mid[i]],
                                                   set->recs + set->rec_off[new_mid[j]]);

                if (c < 0)
                        sp->removed[sp->n_removed++] = old->rec_off[old_mid[i++]];
                else if (c > 0)
                        sp->added[sp->n_added++] = new_mid[j++];
                else
                        i++, j++;
        }
        return 0;
}

/*
 * What a batch for @p leaves, given what the previous one left (@old, NULL for a replace), and
 * what the update does with each set (@ret_sets, as st->sets): a hash map is kept when it is
 * there already and its new elements fit its size, an interval map when it is there already and
 * at most NATGW_INTERVAL_DELETE_MAX of its elements go; a kept map gets only its difference (the
 * elements that go deleted, those that come added: a reload costs what changed, not the table).
 * Any other set is (re)created, sized for its elements.
 *
 * A map is recreated only when it must be. The new elements of a kept map become visible at
 * the commit's generation switch (hash) or with the map's own swap to its new copy (interval
 * maps, pipapo), atomically either way. A map created in the transaction is, for pipapo, empty
 * between the generation switch and its swap: new connections meeting that window are not
 * translated (measured: 3,502 refused of 147,675 over 300 reloads of an allow_from forward at
 * 3,000/s, against 0 with the map kept). And the kernel removes a pipapo map's elements one by
 * one, each a pass over the map (a flush of 200 egress prefixes: 55 ms; of 2,000: 1.2 s): so
 * interval maps are never flushed, only the elements that changed are deleted and added.
 */
/* The names, the sorted counters and the chains of @p into @st (after @old, or NULL). */
static int state_names(const struct natgw_plan *p, const struct natgw_table_state *old, struct natgw_table_state *st) {
        const struct natgw_config *c = p->config;
        size_t n_entries = natgw_plan_n_entries(p), len = 0;
        char *w;
        int r;

        /* Per entry: its counter and traffic counter. */
        for (size_t i = 0; i < n_entries; i++)
                len += 2 * strlen(natgw_plan_entry_name(p, (uint32_t)i)) + strlen(NATGW_BYTES_COUNTER_PREFIX) + 2;
        /* Per egress entry: its chain, its allow chain and denied counter; the filter's counter,
         * the hosts' overflow counter. */
        for (size_t i = 0; i < c->n_egress; i++)
                len += 3 * (strlen(NATGW_DENIED_COUNTER_PREFIX) + strlen(c->egress[i].name) + 1);
        len += strlen(NATGW_FILTER_COUNTER) + strlen(NATGW_HOSTS_UNTRACKED_COUNTER) + 2;
        st->names = malloc(MAX(len, (size_t)1));
        st->counters = natgw_calloc_populated(2 * n_entries + c->n_egress + 2, sizeof(*st->counters));
        natgw_populate(st->names, len);
        st->chains = calloc(MAX(2 * c->n_egress, (size_t)1), sizeof(*st->chains));
        if (!st->names || !st->counters || !st->chains)
                return -ENOMEM;

        /* The counters first, in the plan's order (counters_sort() relies on both), then the
         * chains. */
        w = st->names;
        for (size_t i = 0; i < n_entries; i++) {
                st->counters[st->n_counters++] = w;
                w = stpcpy(w, natgw_plan_entry_name(p, (uint32_t)i)) + 1;
                st->counters[st->n_counters++] = w;
                w = stpcpy(stpcpy(w, NATGW_BYTES_COUNTER_PREFIX), natgw_plan_entry_name(p, (uint32_t)i)) + 1;
        }
        for (size_t i = 0; i < c->n_egress; i++)
                if (c->egress[i].has_allow) {
                        st->counters[st->n_counters++] = w;
                        w = stpcpy(stpcpy(w, NATGW_DENIED_COUNTER_PREFIX), c->egress[i].name) + 1;
                }
        if (c->filter.forward == NATGW_FILTER_DROP) {
                st->counters[st->n_counters++] = w;
                w = stpcpy(w, NATGW_FILTER_COUNTER) + 1;
        }
        if (c->metrics.hosts) {
                st->counters[st->n_counters++] = w;
                w = stpcpy(w, NATGW_HOSTS_UNTRACKED_COUNTER) + 1;
        }
        st->counters_len = (size_t)(w - st->names);
        for (size_t i = 0; i < c->n_egress; i++) {
                st->chains[st->n_chains++] = w;
                w = stpcpy(stpcpy(w, NATGW_EGRESS_CHAIN_PREFIX), c->egress[i].name) + 1;
                if (!c->egress[i].has_allow)
                        continue;
                st->chains[st->n_chains++] = w;
                w = stpcpy(stpcpy(w, NATGW_ALLOW_CHAIN_PREFIX), c->egress[i].name) + 1;
        }
        r = counters_sort(old, st);
        if (r < 0)
                return r;
        qsort(st->chains, st->n_chains, sizeof(*st->chains), cmp_name);
        return 0;
}

/*
 * The sets of @p into @st: their names, sizes and element counts, and with @records their
 * records, and what an update from @old does with each (@sets).
 */
static int state_sets(const struct natgw_plan *p, const struct natgw_table_state *old, bool records,
                      struct natgw_table_state *st, struct natgw_set_plan *sets) {
        size_t k = 0;
        int r;

        for (size_t i = 0; i < p->n_maps; i++) {
                const struct natgw_map *m = &p->maps[i];

                for (unsigned t = 0; t < natgw_map_n_sets(m); t++, k++) {
                        enum natgw_twin ctr = natgw_map_twin(m, t);
                        struct natgw_table_set *set = &st->sets[k];
                        struct natgw_set_plan *sp = &sets[k];
                        const struct natgw_table_set *was;

                        if (k == st->n_sets) {
                                natgw_batch_set_name(m, ctr, set->name, sizeof(set->name));
                                set->size = m->interval ? 0 : natgw_batch_set_size(m->n);
                                set->elements = m->n;
                                st->n_sets++;
                        }
                        if (!records)
                                continue;
                        was = old ? find_set(old, set->name) : NULL;
                        r = recs_write(p, m, ctr, set, was && was->elements ? rec_value_avg(was) : 16);
                        if (r < 0)
                                return r;
                        /* A hash map is kept while its elements fit the size it was made with; an
                         * interval map while few of its elements go. */
                        if (!was || !was->recs || (m->interval ? was->size != 0 : was->size < m->n))
                                continue;
                        r = recs_diff(was, set, sp);
                        if (r < 0)
                                return r;
                        if (m->interval)
                                sp->kept = sp->delta = sp->n_removed <= NATGW_INTERVAL_DELETE_MAX;
                        else {
                                set->size = was->size;
                                sp->kept = sp->delta = true;
                        }
                }
        }
        return 0;
}

/* A state whose sets are laid out (@records: with their records) and nothing else. */
static int state_begin(const struct natgw_plan *p, const struct natgw_table_state *old, uint32_t table_flags,
                       bool records, struct natgw_table_state *st, struct natgw_set_plan **ret_sets) {
        struct natgw_set_plan *sets;
        int r;

        *st = (struct natgw_table_state){ .table_flags = table_flags };
        st->sets = calloc(MAX(3 * p->n_maps, (size_t)1), sizeof(*st->sets));
        sets = calloc(MAX(3 * p->n_maps, (size_t)1), sizeof(*sets)); /* as st->sets */
        if (!st->sets || !sets) {
                free(sets);
                natgw_table_state_clear(st);
                return -ENOMEM;
        }
        st->forward_chain = p->forward_chain;
        st->hosts = p->config->metrics.hosts;
        st->reflect_chains = p->reflect;
        st->helper_objs = p->helper_objs;
        st->helper_chain = p->helper_chain;
        r = state_sets(p, old, records, st, sets);
        if (r < 0) {
                natgw_set_plans_free(sets, 3 * p->n_maps);
                natgw_table_state_clear(st);
                return r;
        }
        *ret_sets = sets;
        return 0;
}

int natgw_table_state_build(const struct natgw_plan *p, const struct natgw_table_state *old, uint32_t table_flags,
                            struct natgw_table_state *st, struct natgw_set_plan **ret_sets) {
        int r;

        r = state_begin(p, old, table_flags, true, st, ret_sets);
        if (r < 0)
                return r;
        r = state_names(p, old, st);
        if (r < 0) {
                natgw_set_plans_free(*ret_sets, 3 * p->n_maps);
                *ret_sets = NULL;
                natgw_table_state_clear(st);
                return r;
        }
        st->valid = true;
        return 0;
}

int natgw_table_state_begin(const struct natgw_plan *p, uint32_t table_flags, struct natgw_table_state *st,
                            struct natgw_set_plan **ret_sets) {
        int r = state_begin(p, NULL, table_flags, false, st, ret_sets);

        if (r >= 0)
                st->unfinished = true;
        return r;
}

int natgw_table_state_finish(const struct natgw_plan *p, struct natgw_table_state *st) {
        /* A replace's sets plan is "not kept" whatever the records: a scratch one. */
        _cleanup_(freep) struct natgw_set_plan *sets = calloc(MAX(3 * p->n_maps, (size_t)1), sizeof(*sets));
        int r;

        if (!st->unfinished)
                return 0;
        if (!sets)
                return -ENOMEM;
        r = state_sets(p, NULL, true, st, sets);
        if (r >= 0)
                r = state_names(p, NULL, st);
        if (r < 0)
                return r;
        st->unfinished = false;
        st->valid = true;
        return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * natgwctl diagnose, layer config: are the forward's map elements in the kernel? The config in
 * force, loaded here and compiled, says which elements (exact key and data bytes) the forward
 * put into which map; the kernel's elements of that map are read back and looked up among them.
 */

/* netinet/in.h (via nft-plan.h) before the kernel's headers. */
#include "nft-plan.h"

#include "gw-diagnose.h"
#include "nft-elems.h"
#include "time-util.h"

/* Key, key end and data of the largest forward map element (IPv6, every field). */
#define REC_MAX 256
#define MISSING_SHOWN 4

void natgw_diag_elems_clear(struct natgw_diag_elems *w) {
        free(w->recs);
        free(w->found);
        *w = (struct natgw_diag_elems){};
}

static int rec_cmp(const void *a, const void *b, void *len) {
        return memcmp(a, b, *(size_t *)len);
}

int natgw_diag_elems_want(const struct natgw_plan *p, uint32_t entry, struct natgw_diag_elems *ret) {
        struct natgw_diag_elems w = {};
        size_t kstride = 0, count = 0;

        /* An entry's elements are all in one map: its family and shape. */
        for (size_t mi = 0; mi < p->n_maps && !w.map; mi++)
                for (size_t i = 0; i < p->maps[mi].n && !w.map; i++)
                        if (p->maps[mi].kind == NATGW_MAP_FORWARD && p->maps[mi].entry[i] == entry &&
                            !natgw_reflect_elem(&p->maps[mi], i))
                                w.map = &p->maps[mi];
        if (!w.map)
                return -ENOENT;
        kstride = (size_t)w.map->key_len * (w.map->interval ? 2 : 1);
        w.rec_len = kstride + w.map->data_len;
        if (w.rec_len > REC_MAX)
                return -EINVAL;
        /* The reflected copies are not what an outside client reaches. */
        for (size_t i = 0; i < w.map->n; i++)
                count += w.map->entry[i] == entry && !natgw_reflect_elem(w.map, i);
        /* At least one record: malloc(0) may return NULL, which is not a failure here. */
        w.recs = malloc(MAX(count, (size_t)1) * w.rec_len);
        w.found = calloc(MAX(count, (size_t)1), sizeof(*w.found));
        if (!w.recs || !w.found) {
                natgw_diag_elems_clear(&w);
                return -ENOMEM;
        }
        for (size_t i = 0; i < w.map->n; i++) {
                uint8_t *rec = w.recs + w.n * w.rec_len;

                if (w.map->entry[i] != entry || natgw_reflect_elem(w.map, i))
                        continue;
                memcpy(rec, w.map->keys + i * kstride, kstride);
                memcpy(rec + kstride, w.map->data + i * w.map->data_len, w.map->data_len);
                w.n++;
        }
        qsort_r(w.recs, w.n, w.rec_len, rec_cmp, &w.rec_len);
        *ret = w;
        return 0;
}

void natgw_diag_elems_see(struct natgw_diag_elems *w, const struct natgw_nft_elem *e) {
        const struct natgw_map *m = w->map;
        uint8_t rec[REC_MAX];
        size_t lo = 0, hi = w->n;

        /* Another shape of element than the plan's cannot be one of them. */
        if (e->key_len != m->key_len || e->key_end_len != (m->interval ? m->key_len : 0) ||
            e->data_len != m->data_len)
                return;
        memcpy(rec, e->key, e->key_len);
        if (e->key_end_len)
                memcpy(rec + e->key_len, e->key_end, e->key_end_len);
        if (e->data_len)
                memcpy(rec + e->key_len + e->key_end_len, e->data, e->data_len);
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = memcmp(rec, w->recs + mid * w->rec_len, w->rec_len);

                if (c == 0) {
                        w->n_found += !w->found[mid];
                        w->found[mid] = true;
                        return;
                }
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
}

void natgw_diag_elems_restart(struct natgw_diag_elems *w) {
        memset(w->found, 0, w->n * sizeof(*w->found));
        w->n_found = 0;
}

void natgw_diag_elems_format(const struct natgw_diag_elems *w, size_t i, char *buf, size_t size) {
        const struct natgw_map *m = w->map;
        const uint8_t *key = w->recs + i * w->rec_len;
        const char *proto = "?";
        char from[INET6_ADDRSTRLEN + 8] = "";
        uint16_t port = 0;
        uint32_t off = 0;

        for (unsigned k = 0; k < m->n_fields; k++) {
                uint32_t len = natgw_field_len(m->fields[k], m->family);
                struct natgw_addr a = { .family = m->family };
                char s[INET6_ADDRSTRLEN];

                switch (m->fields[k]) {
                case NATGW_FIELD_L4PROTO:
                        proto = key[off] == IPPROTO_TCP ? "tcp" : key[off] == IPPROTO_UDP ? "udp" : "?";
                        break;
                case NATGW_FIELD_DPORT:
                        port = (uint16_t)(key[off] << 8 | key[off + 1]);
                        break;
                case NATGW_FIELD_SADDR:
                        memcpy(a.bytes, key + off, len);
                        snprintf(from, sizeof(from), " from %s", natgw_addr_format(&a, s, sizeof(s)));
                        break;
                default:
                        break;
                }
                off += (len + 3) & ~3u;
        }
        snprintf(buf, size, "%s/%u%s", proto, port, from);
}

static bool prefixes_same(const struct natgw_forward *a, const struct natgw_forward *b) {
        if (a->n_allow_from != b->n_allow_from)
                return false;
        for (size_t i = 0; i < a->n_allow_from; i++)
                if (natgw_prefix_cmp(&a->allow_from[i], &b->allow_from[i]) != 0)
                        return false;
        return true;
}

bool natgw_diag_forward_same(const struct natgw_forward *a, const struct natgw_forward *b) {
        if (a->protos != b->protos || !streq(a->in_interface, b->in_interface) || natgw_addr_cmp(&a->to, &b->to) != 0 ||
            a->to_port_mode != b->to_port_mode || a->has_destination != b->has_destination ||
            (a->has_destination && natgw_addr_cmp(&a->destination, &b->destination) != 0) ||
            (a->to_port_mode != NATGW_TO_PORT_KEEP &&
             (a->to_port.lo != b->to_port.lo || a->to_port.hi != b->to_port.hi)) ||
            a->n_ports != b->n_ports)
                return false;
        for (size_t i = 0; i < a->n_ports; i++)
                if (a->ports[i].lo != b->ports[i].lo || a->ports[i].hi != b->ports[i].hi)
                        return false;
        return prefixes_same(a, b);
}

static int on_elem(const struct natgw_nft_elem *e, void *userdata) {
        natgw_diag_elems_see(userdata, e);
        return 0;
}

static void on_restart(void *userdata) {
        natgw_diag_elems_restart(userdata);
}

/* The forward as the file on disk has it, when that is the one in force; NULL (and why, in @l)
 * when not. */
static const struct natgw_forward *file_forward(const struct natgw_diag_input *in, struct natgw_diag_layer *l,
                                                uint32_t *ret_entry) {
        const struct natgw_config *c = in->config;
        size_t i;

        if (!c) {
                natgw_diag_evidence(l, "map elements not checked: %s does not load here", in->config_path);
                natgw_diag_mark(l, NATGW_DIAG_WARN,
                                "the file changed since natgwd loaded it and does not load: `natgwctl check`");
                return NULL;
        }
        for (i = 0; i < c->n_forwards && !streq(c->forwards[i].name, in->forward->name); i++)
                ;
        if (i < c->n_forwards && natgw_diag_forward_same(&c->forwards[i], in->forward)) {
                *ret_entry = (uint32_t)(c->n_egress + i);
                return &c->forwards[i];
        }
        natgw_diag_evidence(l, "map elements not checked: %s %s entry %s%s", in->config_path,
                            i < c->n_forwards ? "has" : "no longer has", in->forward->name,
                            i < c->n_forwards ? " otherwise than natgwd has it in force" : "");
        natgw_diag_mark(l, NATGW_DIAG_WARN,
                        "the file changed since the last reload: `natgwctl reload` puts it in force");
        return NULL;
}

void natgw_diag_check_elements(const struct natgw_diag_input *in, struct natgw_diag_layer *l) {
        _cleanup_(natgw_diag_elems_clear) struct natgw_diag_elems w = {};
        _cleanup_(natgw_plan_freep) struct natgw_plan *p = NULL;
        struct natgw_errors errors = {};
        char list[NATGW_DIAG_TEXT_MAX] = "", one[64];
        size_t off = 0, shown = 0;
        uint32_t entry = 0;
        int k;

        if (!file_forward(in, l, &entry))
                return;
        k = natgw_plan_build(in->config, &p, &errors);
        natgw_errors_clear(&errors);
        if (k >= 0)
                k = natgw_diag_elems_want(p, entry, &w);
        if (k < 0) {
                natgw_diag_evidence(l, "map elements not checked: the entry does not compile here: %s", strerror(-k));
                natgw_diag_mark(l, NATGW_DIAG_UNKNOWN, NULL);
                return;
        }
        k = natgw_nft_elems_read(w.map->name, natgw_mono_usec() + 3 * 1000000ull, on_restart, on_elem, &w);
        if (k < 0 && k != -ENOENT) {
                natgw_diag_evidence(l, "map %s cannot be read: %s", w.map->name, strerror(-k));
                natgw_diag_mark(l, NATGW_DIAG_UNKNOWN, NULL);
                return;
        }
        if (w.n_found == w.n) {
                natgw_diag_evidence(l, "its %zu map element(s) are in map %s: %zu of %zu", w.n, w.map->name,
                                    w.n_found, w.n);
                return;
        }
        for (size_t i = 0; i < w.n && shown < MISSING_SHOWN; i++) {
                if (w.found[i])
                        continue;
                natgw_diag_elems_format(&w, i, one, sizeof(one));
                if (off < sizeof(list))
                        off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", shown ? ", " : "", one);
                shown++;
        }
        natgw_diag_evidence(l, "map %s%s lacks %zu of its %zu element(s): %s%s", w.map->name,
                            k == -ENOENT ? " is not in the kernel and" : "", w.n - w.n_found, w.n, list,
                            w.n - w.n_found > shown ? ", ..." : "");
        natgw_diag_fail(l, NATGW_CAUSE_NOT_APPLIED,
                        "the kernel and the config disagree: restart natgwd (`systemctl restart natgwd`), whose start "
                        "replaces the table; a reload sends only what the file changed");
}

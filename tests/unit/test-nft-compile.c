/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The compiler (config -> plan) and the batch encoder, without the kernel: exact map names,
 * keys and data bytes, egress precedence, element splitting and error mapping.
 */

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "nft-batch.h"
#include "nft-plan.h"
#include "util.h"

/* ---- building models by hand, so these tests do not depend on the loader ---- */

static struct natgw_addr A(const char *s) {
        struct natgw_addr a = {};

        a.family = strchr(s, ':') ? AF_INET6 : AF_INET;
        assert_int_equal(inet_pton(a.family, s, a.bytes), 1);
        return a;
}

static struct natgw_prefix P(const char *s, unsigned len) {
        return (struct natgw_prefix){ .addr = A(s), .len = len };
}

static struct natgw_config *config_new(void) {
        struct natgw_config *c = calloc(1, sizeof(*c));

        assert_non_null(c);
        c->path = strdup("test.conf");
        c->egress = calloc(16, sizeof(*c->egress));
        c->forwards = calloc(64, sizeof(*c->forwards));
        return c;
}

static void config_done(struct natgw_config *c) {
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

static struct natgw_egress *egress_add(struct natgw_config *c, const char *name, const char *oif,
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

static struct natgw_forward *forward_add(struct natgw_config *c, const char *name, const char *iif,
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

static const struct natgw_map *find_map(const struct natgw_plan *p, const char *name) {
        for (size_t i = 0; i < p->n_maps; i++)
                if (streq(p->maps[i].name, name))
                        return &p->maps[i];
        return NULL;
}

static struct natgw_plan *build(const struct natgw_config *c) {
        struct natgw_errors errors = {};
        struct natgw_plan *p = NULL;

        assert_int_equal(natgw_plan_build(c, &p, &errors), 0);
        assert_int_equal(errors.n, 0);
        return p;
}

/* The saddr range of egress element i, as text "LO-HI", and its entry's name. */
static void egress_elem(const struct natgw_plan *p, const struct natgw_map *m, size_t i, char *buf, size_t size) {
        char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN];
        const uint8_t *k = m->keys + i * 2 * m->key_len;

        inet_ntop(m->family, k + IFNAMSIZ, lo, sizeof(lo));
        inet_ntop(m->family, k + m->key_len + IFNAMSIZ, hi, sizeof(hi));
        snprintf(buf, size, "%s %s-%s %s", (const char *)k, lo, hi, natgw_plan_entry_name(p, m->entry[i]));
}

static void assert_egress(const struct natgw_plan *p, const char *map, size_t n, const char *const *want) {
        const struct natgw_map *m = find_map(p, map);
        char got[128];

        assert_non_null(m);
        assert_true(m->interval);
        assert_int_equal(m->n, n);
        for (size_t i = 0; i < n; i++) {
                egress_elem(p, m, i, got, sizeof(got));
                assert_string_equal(got, want[i]);
        }
}

/* ---- egress ---- */

static void test_egress_most_specific_wins(void **state) {
        static const char *const want[] = {
                "eth0 192.168.0.0-192.168.1.63 wide",
                "eth0 192.168.1.64-192.168.1.127 narrow",
                "eth0 192.168.1.128-192.168.255.255 wide",
        };
        struct natgw_prefix wide = P("192.168.0.0", 16), narrow = P("192.168.1.64", 26);

        /* The same intervals whichever entry comes first in the file. */
        for (int order = 0; order < 2; order++) {
                struct natgw_config *c = config_new();
                struct natgw_plan *p;

                if (order == 0) {
                        egress_add(c, "wide", "eth0", NATGW_EGRESS_MASQUERADE, 1, &wide);
                        egress_add(c, "narrow", "eth0", NATGW_EGRESS_SNAT, 1, &narrow);
                } else {
                        egress_add(c, "narrow", "eth0", NATGW_EGRESS_SNAT, 1, &narrow);
                        egress_add(c, "wide", "eth0", NATGW_EGRESS_MASQUERADE, 1, &wide);
                }
                c->egress[c->n_egress - 1].to_lo = c->egress[c->n_egress - 1].to_hi = A("203.0.113.10");
                p = build(c);
                assert_egress(p, "egress4", ELEMENTSOF(want), want);
                assert_null(find_map(p, "egress6"));
                natgw_plan_free(p);
                config_done(c);
        }
}

static void test_egress_whole_space_and_nesting(void **state) {
        static const char *const want4[] = {
                "wan 0.0.0.0-9.255.255.255 all",
                "wan 10.0.0.0-10.0.255.255 ten",
                "wan 10.1.0.0-10.1.0.255 deep",
                "wan 10.1.1.0-10.255.255.255 ten",
                "wan 11.0.0.0-255.255.255.255 all",
        };
        static const char *const want6[] = {
                "wan ::-fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff all",
                "wan fd00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ten",
                "wan fe00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff all",
        };
        struct natgw_prefix all[] = { P("0.0.0.0", 0), P("::", 0) };
        struct natgw_prefix ten[] = { P("10.0.0.0", 8), P("fd00::", 8) };
        struct natgw_prefix deep = P("10.1.0.0", 24);
        struct natgw_config *c = config_new();
        struct natgw_plan *p;

        egress_add(c, "all", "wan", NATGW_EGRESS_MASQUERADE, 2, all);
        egress_add(c, "deep", "wan", NATGW_EGRESS_MASQUERADE, 1, &deep);
        egress_add(c, "ten", "wan", NATGW_EGRESS_MASQUERADE, 2, ten);
        p = build(c);
        assert_egress(p, "egress4", ELEMENTSOF(want4), want4);
        assert_egress(p, "egress6", ELEMENTSOF(want6), want6);
        natgw_plan_free(p);
        config_done(c);
}

static void test_egress_interfaces_apart(void **state) {
        static const char *const want[] = {
                "eth0 192.168.1.0-192.168.1.255 a",
                "ppp0 192.168.1.0-192.168.1.127 b",
        };
        struct natgw_prefix a = P("192.168.1.0", 24), b = P("192.168.1.0", 25);
        struct natgw_config *c = config_new();
        struct natgw_plan *p;

        egress_add(c, "b", "ppp0", NATGW_EGRESS_MASQUERADE, 1, &b);
        egress_add(c, "a", "eth0", NATGW_EGRESS_MASQUERADE, 1, &a);
        p = build(c);
        assert_egress(p, "egress4", ELEMENTSOF(want), want);
        natgw_plan_free(p);
        config_done(c);
}

/* ---- forwards ---- */

static void assert_fwd_elem(const struct natgw_map *m, size_t i, const char *ifname, uint8_t proto,
                            uint16_t port, const char *to, uint16_t to_port) {
        const uint8_t *k = m->keys + i * m->key_len * (m->interval ? 2 : 1);
        const uint8_t *d = m->data + i * m->data_len;
        struct natgw_addr want = A(to);
        uint32_t alen = m->family == AF_INET ? 4 : 16, off = 0;
        uint16_t p;

        if (ifname) {
                assert_string_equal((const char *)k, ifname);
                off += IFNAMSIZ;
        }
        off = m->key_len - 8; /* proto and port are the last two fields */
        assert_int_equal(k[off], proto);
        assert_int_equal(k[off + 1] | k[off + 2] | k[off + 3], 0);
        memcpy(&p, k + off + 4, 2);
        assert_int_equal(ntohs(p), port);
        assert_memory_equal(d, want.bytes, alen);
        memcpy(&p, d + alen, 2);
        assert_int_equal(ntohs(p), to_port);
}

static void test_forward_single_and_rewrite(void **state) {
        struct natgw_config *c = config_new();
        struct natgw_forward *f;
        const struct natgw_map *m;
        struct natgw_plan *p;

        f = forward_add(c, "web", "eth0", NATGW_PROTO_TCP, 8080, 8080, "192.168.1.66");
        f->to_port_mode = NATGW_TO_PORT_SINGLE;
        f->to_port = (struct natgw_port_range){ 80, 80 };
        forward_add(c, "game", "eth0", NATGW_PROTO_TCP | NATGW_PROTO_UDP, 6000, 6000, "192.168.1.20");
        p = build(c);
        assert_int_equal(p->n_maps, 1);
        m = find_map(p, "fwd4_if");
        assert_non_null(m);
        assert_false(m->interval);
        assert_int_equal(m->key_len, 16 + 4 + 4);
        assert_int_equal(m->data_len, 8);
        assert_int_equal(m->protos, NATGW_PROTO_TCP | NATGW_PROTO_UDP);
        assert_int_equal(m->n, 3);
        assert_fwd_elem(m, 0, "eth0", IPPROTO_TCP, 8080, "192.168.1.66", 80);
        assert_fwd_elem(m, 1, "eth0", IPPROTO_TCP, 6000, "192.168.1.20", 6000);
        assert_fwd_elem(m, 2, "eth0", IPPROTO_UDP, 6000, "192.168.1.20", 6000);
        assert_string_equal(natgw_plan_entry_name(p, m->entry[2]), "game");
        assert_int_equal(natgw_plan_entry_line(p, m->entry[0]), 101);
        natgw_plan_free(p);
        config_done(c);
}

static void test_forward_range_to_range(void **state) {
        struct natgw_config *c = config_new();
        struct natgw_forward *f;
        const struct natgw_map *m;
        struct natgw_plan *p;

        f = forward_add(c, "rtp", "", NATGW_PROTO_UDP, 7000, 7009, "192.168.1.66");
        f->to_port_mode = NATGW_TO_PORT_RANGE;
        f->to_port = (struct natgw_port_range){ 9000, 9009 };
        p = build(c);
        m = find_map(p, "fwd4");
        assert_non_null(m);
        assert_int_equal(m->n_fields, 2);
        assert_int_equal(m->n, 10);
        for (uint16_t i = 0; i < 10; i++)
                assert_fwd_elem(m, i, NULL, IPPROTO_UDP, (uint16_t)(7000 + i), "192.168.1.66", (uint16_t)(9000 + i));
        natgw_plan_free(p);
        config_done(c);
}

static void test_forward_shapes(void **state) {
        struct natgw_prefix office = P("198.51.100.0", 24);
        struct natgw_config *c = config_new();
        const struct natgw_map *m;
        struct natgw_forward *f;
        struct natgw_plan *p;
        char lo[INET_ADDRSTRLEN], hi[INET_ADDRSTRLEN];

        f = forward_add(c, "dst", "", NATGW_PROTO_TCP, 443, 443, "192.168.1.10");
        f->has_destination = true;
        f->destination = A("203.0.113.10");
        f = forward_add(c, "ftp", "eth0", NATGW_PROTO_TCP, 50000, 50001, "192.168.1.30");
        f->allow_from = calloc(1, sizeof(office));
        f->allow_from[0] = office;
        f->n_allow_from = 1;
        f = forward_add(c, "api6", "eth0", NATGW_PROTO_TCP, 443, 443, "fd00:1::10");
        f->to_port_mode = NATGW_TO_PORT_SINGLE;
        f->to_port = (struct natgw_port_range){ 8443, 8443 };
        p = build(c);
        assert_int_equal(p->n_maps, 3);
        /* Fixed order: IPv4 maps by shape, then IPv6. */
        assert_string_equal(p->maps[0].name, "fwd4_dst");
        assert_string_equal(p->maps[1].name, "fwd4_if_src");
        assert_string_equal(p->maps[2].name, "fwd6_if");

        m = &p->maps[0];
        assert_int_equal(m->fields[0], NATGW_FIELD_DADDR);
        assert_memory_equal(m->keys, A("203.0.113.10").bytes, 4);

        m = &p->maps[1];
        assert_true(m->interval);
        assert_int_equal(m->key_len, 16 + 4 + 4 + 4);
        assert_int_equal(m->n, 2);
        inet_ntop(AF_INET, m->keys + 16, lo, sizeof(lo));
        inet_ntop(AF_INET, m->keys + m->key_len + 16, hi, sizeof(hi));
        assert_string_equal(lo, "198.51.100.0");
        assert_string_equal(hi, "198.51.100.255");
        /* Outside the address field, start and end of an interval key are equal. */
        assert_memory_equal(m->keys, m->keys + m->key_len, 16);
        assert_memory_equal(m->keys + 20, m->keys + m->key_len + 20, 8);

        m = &p->maps[2];
        assert_int_equal(m->family, AF_INET6);
        assert_int_equal(m->data_len, 20);
        assert_fwd_elem(m, 0, "eth0", IPPROTO_TCP, 443, "fd00:1::10", 8443);
        natgw_plan_free(p);
        config_done(c);
}

static void test_forward_allow_from_nested(void **state) {
        struct natgw_prefix pre[] = { P("198.51.100.7", 32), P("198.51.100.0", 24), P("203.0.113.0", 25),
                                      P("203.0.113.0", 24) };
        struct natgw_config *c = config_new();
        const struct natgw_map *m;
        struct natgw_forward *f;
        struct natgw_plan *p;
        char lo[INET_ADDRSTRLEN], hi[INET_ADDRSTRLEN];

        f = forward_add(c, "ssh", "eth0", NATGW_PROTO_TCP, 22, 22, "192.168.1.66");
        f->allow_from = calloc(ELEMENTSOF(pre), sizeof(pre[0]));
        memcpy(f->allow_from, pre, sizeof(pre));
        f->n_allow_from = ELEMENTSOF(pre);
        p = build(c);
        m = find_map(p, "fwd4_if_src");
        assert_non_null(m);
        /* Only the two outer prefixes remain: overlapping intervals would be rejected. */
        assert_int_equal(m->n, 2);
        inet_ntop(AF_INET, m->keys + 16, lo, sizeof(lo));
        inet_ntop(AF_INET, m->keys + m->key_len + 16, hi, sizeof(hi));
        assert_string_equal(lo, "198.51.100.0");
        assert_string_equal(hi, "198.51.100.255");
        inet_ntop(AF_INET, m->keys + 2 * m->key_len + 16, lo, sizeof(lo));
        assert_string_equal(lo, "203.0.113.0");
        natgw_plan_free(p);
        config_done(c);
}

static void test_forward_too_many_elements(void **state) {
        struct natgw_prefix many[100];
        struct natgw_config *c = config_new();
        struct natgw_errors errors = {};
        struct natgw_forward *f;
        struct natgw_plan *p = NULL;

        for (size_t i = 0; i < ELEMENTSOF(many); i++)
                many[i] = P("198.51.100.0", 24);
        f = forward_add(c, "huge", "eth0", NATGW_PROTO_TCP | NATGW_PROTO_UDP, 1, 65535, "192.168.1.30");
        f->allow_from = calloc(ELEMENTSOF(many), sizeof(many[0]));
        memcpy(f->allow_from, many, sizeof(many));
        f->n_allow_from = ELEMENTSOF(many);
        assert_int_equal(natgw_plan_build(c, &p, &errors), -EINVAL);
        assert_null(p);
        assert_int_equal(errors.n, 1);
        assert_string_equal(errors.v[0].entry, "huge");
        assert_int_equal(errors.v[0].line, 101);
        natgw_errors_clear(&errors);
        config_done(c);
}

/* ---- the batch ---- */

static void test_batch_splits_and_maps_back(void **state) {
        struct natgw_config *c = config_new();
        struct natgw_batch *b = NULL;
        struct natgw_plan *p;
        size_t elem_msgs = 0, seen = 0;
        uint32_t seq = 1000;

        /* 20,000 ports in one entry: far more than one 64 KiB attribute holds. */
        forward_add(c, "big", "eth0", NATGW_PROTO_TCP, 20000, 39999, "192.168.1.30");
        forward_add(c, "small", "eth0", NATGW_PROTO_UDP, 53, 53, "192.168.1.31");
        p = build(c);
        assert_int_equal(natgw_batch_build(p, NULL, seq, NATGW_TABLE_F_OWNER | NATGW_TABLE_F_PERSIST, &b, NULL), 0);

        /* Sequence numbers follow each other; begin and end frame the batch. */
        for (size_t i = 0; i < b->n_msgs; i++) {
                const struct nlmsghdr *nlh = (const void *)(b->buf + b->msgs[i].offset);

                assert_int_equal(nlh->nlmsg_seq, seq + i);
                assert_ptr_equal(natgw_batch_find(b, seq + (uint32_t)i), &b->msgs[i]);
                if (b->msgs[i].kind == NATGW_MSG_ELEMENTS) {
                        const struct nlattr *a;

                        elem_msgs++;
                        /* The element list is the last attribute; had it outgrown its
                         * 16-bit length, the length would not reach the end of the message. */
                        mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
                                if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS)
                                        assert_int_equal((const uint8_t *)a + a->nla_len,
                                                         (const uint8_t *)nlh + nlh->nlmsg_len);
                        if (!b->msgs[i].counter_map)
                                seen += 1;
                }
        }
        assert_int_equal(((const struct nlmsghdr *)b->buf)->nlmsg_type, NFNL_MSG_BATCH_BEGIN);
        assert_int_equal(((const struct nlmsghdr *)(b->buf + b->msgs[b->n_msgs - 1].offset))->nlmsg_type,
                         NFNL_MSG_BATCH_END);
        assert_int_equal(b->n_acks, b->n_msgs - 2 - 2); /* no acks for begin, end and counters */
        assert_int_equal(b->last_ack_seq, seq + b->n_msgs - 2);
        assert_true(elem_msgs >= 4);
        assert_true(seen >= 2);

        /* An error offset inside the last element message maps back to "small". */
        for (size_t i = b->n_msgs; i-- > 0;) {
                const struct natgw_msg *m = &b->msgs[i];
                const struct nlmsghdr *nlh = (const void *)(b->buf + m->offset);
                int64_t el;

                if (m->kind != NATGW_MSG_ELEMENTS || m->counter_map)
                        continue;
                el = natgw_batch_element_at(b, m, nlh->nlmsg_len - 8);
                assert_true(el >= 0);
                assert_int_equal(el, 20000);
                assert_string_equal(natgw_plan_entry_name(p, p->maps[m->map].entry[el]), "small");
                assert_int_equal(natgw_batch_element_at(b, m, 4), -1);
                break;
        }
        natgw_batch_free(b);
        natgw_plan_free(p);
        config_done(c);
}


/* "TYPE:name" of every message but begin and end, space-separated: what a batch does. */
static void batch_script(const struct natgw_batch *b, char *buf, size_t size) {
        static const struct {
                uint16_t type;
                const char *word;
                uint16_t name_attr;
        } types[] = {
                { NFT_MSG_NEWTABLE, "NEWTABLE", NFTA_TABLE_NAME },  { NFT_MSG_DELTABLE, "DELTABLE", NFTA_TABLE_NAME },
                { NFT_MSG_NEWOBJ, "NEWOBJ", NFTA_OBJ_NAME },        { NFT_MSG_DELOBJ, "DELOBJ", NFTA_OBJ_NAME },
                { NFT_MSG_NEWCHAIN, "NEWCHAIN", NFTA_CHAIN_NAME },  { NFT_MSG_DELCHAIN, "DELCHAIN", NFTA_CHAIN_NAME },
                { NFT_MSG_NEWSET, "NEWSET", NFTA_SET_NAME },        { NFT_MSG_DELSET, "DELSET", NFTA_SET_NAME },
                { NFT_MSG_NEWSETELEM, "NEWSETELEM", NFTA_SET_ELEM_LIST_SET },
                { NFT_MSG_DELSETELEM, "DELSETELEM", NFTA_SET_ELEM_LIST_SET },
                { NFT_MSG_NEWRULE, "NEWRULE", NFTA_RULE_CHAIN },    { NFT_MSG_DELRULE, "DELRULE", NFTA_RULE_CHAIN },
        };
        size_t len = 0;

        buf[0] = '\0';
        for (size_t i = 1; i + 1 < b->n_msgs; i++) {
                const struct nlmsghdr *nlh = (const void *)(b->buf + b->msgs[i].offset);
                uint16_t type = nlh->nlmsg_type & 0xff;
                const char *word = "?", *name = "?";
                const struct nlattr *a;
                uint16_t name_attr = 0;

                assert_int_equal(nlh->nlmsg_type >> 8, NFNL_SUBSYS_NFTABLES);
                for (size_t t = 0; t < ELEMENTSOF(types); t++)
                        if (types[t].type == type) {
                                word = types[t].word;
                                name_attr = types[t].name_attr;
                        }
                mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
                        if (mnl_attr_get_type(a) == name_attr)
                                name = mnl_attr_get_str(a);
                len += (size_t)snprintf(buf + len, size - len, "%s%s:%s", len ? " " : "", word, name);
                assert_true(len < size);
        }
}

/* Does @script hold @word (a whole "TYPE:name")? */
static bool has_step(const char *script, const char *word) {
        size_t n = strlen(word);

        for (const char *p = strstr(script, word); p; p = strstr(p + 1, word))
                if ((p == script || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
                        return true;
        return false;
}

static const struct natgw_table_set *state_set(const struct natgw_table_state *st, const char *name) {
        for (size_t i = 0; i < st->n_sets; i++)
                if (streq(st->sets[i].name, name))
                        return &st->sets[i];
        return NULL;
}

static void test_batch_update(void **state) {
        struct natgw_prefix lan[] = { P("192.168.1.0", 24) }, dmz[] = { P("192.168.1.64", 26) };
        struct natgw_config *a = config_new(), *bc = config_new();
        struct natgw_table_state sa = {}, sb = {};
        struct natgw_batch *b = NULL;
        struct natgw_plan *pa, *pb;
        char script[8192];

        egress_add(a, "lan", "eth0", NATGW_EGRESS_MASQUERADE, 1, lan);
        egress_add(a, "dmz", "eth0", NATGW_EGRESS_MASQUERADE, 1, dmz);
        forward_add(a, "web", "eth0", NATGW_PROTO_TCP, 8080, 8080, "192.168.1.30");
        forward_add(a, "dns", "", NATGW_PROTO_UDP, 53, 53, "192.168.1.31");
        pa = build(a);

        /* A replace: the table deleted and made anew, every counter, chain and map created. */
        assert_int_equal(natgw_batch_build(pa, NULL, 1, NATGW_TABLE_F_OWNER, &b, &sa), 0);
        batch_script(b, script, sizeof(script));
        assert_true(has_step(script, "DELTABLE:natgw"));
        assert_true(has_step(script, "NEWOBJ:web") && has_step(script, "NEWOBJ:dmz"));
        assert_true(has_step(script, "NEWCHAIN:prerouting") && has_step(script, "NEWCHAIN:egress-dmz"));
        assert_true(has_step(script, "NEWSET:fwd4_if") && has_step(script, "NEWSET:fwd4_ctr"));
        assert_false(has_step(script, "DELRULE:prerouting"));
        natgw_batch_free(b);

        /* What it leaves: names sorted, forward maps sized with room, interval maps unsized. */
        assert_true(sa.valid);
        assert_int_equal(sa.table_flags, NATGW_TABLE_F_OWNER);
        assert_int_equal(sa.n_counters, 4);
        assert_string_equal(sa.counters[0], "dmz");
        assert_string_equal(sa.counters[3], "web");
        assert_int_equal(sa.n_chains, 2);
        assert_string_equal(sa.chains[0], "egress-dmz");
        assert_string_equal(sa.chains[1], "egress-lan");
        assert_non_null(state_set(&sa, "fwd4_if"));
        assert_int_equal(state_set(&sa, "fwd4_if")->size, natgw_batch_set_size(1));
        assert_int_equal(natgw_batch_set_size(1), 64);
        assert_int_equal(natgw_batch_set_size(1000), 1500);
        assert_non_null(state_set(&sa, "egress4"));
        assert_int_equal(state_set(&sa, "egress4")->size, 0);

        /* The next config: dmz removed, dns renamed, web grown past its map's size. */
        egress_add(bc, "lan", "eth0", NATGW_EGRESS_MASQUERADE, 1, lan);
        forward_add(bc, "web", "eth0", NATGW_PROTO_TCP, 8080, 8199, "192.168.1.30");
        forward_add(bc, "dns2", "", NATGW_PROTO_UDP, 53, 53, "192.168.1.31");
        pb = build(bc);
        assert_int_equal(natgw_batch_build(pb, &sa, 100, NATGW_TABLE_F_OWNER, &b, &sb), 0);
        batch_script(b, script, sizeof(script));

        /* The table and base chains stay; everything is emptied first, in that order. */
        assert_false(has_step(script, "DELTABLE:natgw"));
        assert_false(has_step(script, "NEWCHAIN:prerouting") || has_step(script, "NEWCHAIN:postrouting"));
        assert_true(strncmp(script, "DELRULE:prerouting DELRULE:postrouting DELRULE:egress-dmz DELRULE:egress-lan "
                                    "DELSETELEM:",
                            strlen("DELRULE:prerouting DELRULE:postrouting DELRULE:egress-dmz DELRULE:egress-lan "
                                   "DELSETELEM:")) == 0);
        /* Every old map is either flushed (kept) or deleted, never both. The grown map and its
         * twin are recreated; fwd4 and the interval map egress4 are kept. */
        for (size_t i = 0; i < sa.n_sets; i++) {
                char flush[64], del[64];

                snprintf(flush, sizeof(flush), "DELSETELEM:%s", sa.sets[i].name);
                snprintf(del, sizeof(del), "DELSET:%s", sa.sets[i].name);
                assert_true(has_step(script, flush) != has_step(script, del));
        }
        assert_true(has_step(script, "DELSET:fwd4_if") && has_step(script, "NEWSET:fwd4_if"));
        assert_true(has_step(script, "DELSET:fwd4_if_ctr") && has_step(script, "NEWSET:fwd4_if_ctr"));
        assert_true(has_step(script, "DELSETELEM:fwd4") && has_step(script, "DELSETELEM:fwd4_ctr"));
        assert_false(has_step(script, "DELSET:fwd4") || has_step(script, "NEWSET:fwd4"));
        /* egress4 is kept and only its difference sent: lan's three intervals around dmz go,
         * lan's one interval comes. */
        assert_false(has_step(script, "DELSET:egress4") || has_step(script, "NEWSET:egress4"));
        assert_true(has_step(script, "DELSETELEM:egress4") && has_step(script, "NEWSETELEM:egress4"));
        for (size_t i = 0; i < b->n_msgs; i++) {
                const struct nlmsghdr *nlh = (const void *)(b->buf + b->msgs[i].offset);
                const struct nlattr *at, *e;
                const char *set = "";
                size_t n = 0;

                mnl_attr_for_each(at, nlh, sizeof(struct nfgenmsg)) {
                        if (mnl_attr_get_type(at) == NFTA_SET_ELEM_LIST_SET)
                                set = mnl_attr_get_str(at);
                        if (mnl_attr_get_type(at) == NFTA_SET_ELEM_LIST_ELEMENTS)
                                mnl_attr_for_each_nested(e, at) n++;
                }
                if (!streq(set, "egress4"))
                        continue;
                if ((nlh->nlmsg_type & 0xff) == NFT_MSG_DELSETELEM)
                        assert_int_equal(n, 3);
                if ((nlh->nlmsg_type & 0xff) == NFT_MSG_NEWSETELEM) {
                        assert_int_equal(n, 1);
                        /* An error in it maps back to lan, through the batch's subset. */
                        assert_int_not_equal(b->msgs[i].subset, SIZE_MAX);
                        assert_int_equal(natgw_batch_element_at(b, &b->msgs[i], nlh->nlmsg_len - 4), 0);
                }
        }
        assert_true(strstr(script, "DELSET:fwd4_if") < strstr(script, "NEWSET:fwd4_if"));
        /* Removed entries lose chain and counter, a renamed one gets a new counter, kept ones
         * keep theirs. */
        assert_true(has_step(script, "DELCHAIN:egress-dmz"));
        assert_false(has_step(script, "DELCHAIN:egress-lan") || has_step(script, "NEWCHAIN:egress-lan"));
        assert_true(has_step(script, "DELOBJ:dmz") && has_step(script, "DELOBJ:dns"));
        assert_true(has_step(script, "NEWOBJ:dns2"));
        assert_false(has_step(script, "NEWOBJ:web") || has_step(script, "DELOBJ:web"));
        assert_false(has_step(script, "NEWOBJ:lan") || has_step(script, "DELOBJ:lan"));
        /* Every element and rule is sent again. */
        assert_true(has_step(script, "NEWSETELEM:fwd4") && has_step(script, "NEWSETELEM:fwd4_if_ctr"));
        assert_true(has_step(script, "NEWRULE:prerouting") && has_step(script, "NEWRULE:egress-lan"));
        /* Counter deletions ask for no ack: a table message closes the transaction. */
        assert_true(strlen(script) > strlen("NEWTABLE:natgw"));
        assert_string_equal(script + strlen(script) - strlen("NEWTABLE:natgw"), "NEWTABLE:natgw");
        assert_int_equal(b->last_ack_seq, b->msgs[b->n_msgs - 2].seq);
        for (size_t i = 0; i < b->n_msgs; i++) {
                const struct nlmsghdr *nlh = (const void *)(b->buf + b->msgs[i].offset);

                if ((nlh->nlmsg_type & 0xff) == NFT_MSG_DELOBJ)
                        assert_false(nlh->nlmsg_flags & NLM_F_ACK);
                if (b->msgs[i].kind == NATGW_MSG_CLEAR && (nlh->nlmsg_type & 0xff) != NFT_MSG_DELOBJ)
                        assert_true(nlh->nlmsg_flags & NLM_F_ACK);
        }
        natgw_batch_free(b);

        /* What the update leaves: the kept map keeps its size, the recreated one has room. */
        assert_int_equal(state_set(&sb, "fwd4")->size, state_set(&sa, "fwd4")->size);
        assert_int_equal(state_set(&sb, "fwd4_if")->size, natgw_batch_set_size(120));
        assert_int_equal(sb.n_counters, 3);
        assert_string_equal(sb.counters[0], "dns2");
        assert_int_equal(sb.n_chains, 1);

        /* The same config again: nothing created or deleted, hash maps emptied and refilled,
         * the interval map untouched. */
        {
                struct natgw_table_state sc = {};

                assert_int_equal(natgw_batch_build(pb, &sb, 200, NATGW_TABLE_F_OWNER, &b, &sc), 0);
                batch_script(b, script, sizeof(script));
                assert_null(strstr(script, "NEWOBJ:"));
                assert_null(strstr(script, "DELOBJ:"));
                assert_null(strstr(script, "NEWSET:"));
                assert_null(strstr(script, "DELSET:"));
                assert_false(has_step(script, "DELSETELEM:egress4") || has_step(script, "NEWSETELEM:egress4"));
                assert_true(has_step(script, "DELSETELEM:fwd4_if") && has_step(script, "NEWSETELEM:fwd4_if"));
                assert_null(strstr(script, "CHAIN:"));
                natgw_batch_free(b);
                natgw_table_state_clear(&sc);
        }
        /* More than NATGW_INTERVAL_DELETE_MAX elements to delete: the map is recreated. */
        {
                struct natgw_config *big = config_new();
                struct natgw_prefix *many = calloc(NATGW_INTERVAL_DELETE_MAX + 1, sizeof(*many));
                struct natgw_table_state sbig = {}, sc = {};
                struct natgw_plan *pbig;

                assert_non_null(many);
                for (size_t i = 0; i <= NATGW_INTERVAL_DELETE_MAX; i++) {
                        char addr[32];

                        snprintf(addr, sizeof(addr), "10.%zu.%zu.1", i / 256, i % 256);
                        many[i] = P(addr, 32);
                }
                egress_add(big, "lan", "eth0", NATGW_EGRESS_MASQUERADE, 1, lan);
                egress_add(big, "many", "eth0", NATGW_EGRESS_MASQUERADE, NATGW_INTERVAL_DELETE_MAX + 1, many);
                pbig = build(big);
                assert_int_equal(natgw_batch_build(pbig, NULL, 250, NATGW_TABLE_F_OWNER, &b, &sbig), 0);
                natgw_batch_free(b);
                assert_int_equal(natgw_batch_build(pb, &sbig, 260, NATGW_TABLE_F_OWNER, &b, &sc), 0);
                batch_script(b, script, sizeof(script));
                assert_true(has_step(script, "DELSET:egress4") && has_step(script, "NEWSET:egress4"));
                assert_false(has_step(script, "DELSETELEM:egress4"));
                natgw_batch_free(b);
                natgw_table_state_clear(&sc);
                natgw_table_state_clear(&sbig);
                natgw_plan_free(pbig);
                config_done(big);
                free(many);
        }
        /* A state that is not valid means a replace. */
        natgw_table_state_clear(&sb);
        assert_false(sb.valid);
        assert_int_equal(natgw_batch_build(pb, &sb, 300, 0, &b, NULL), 0);
        batch_script(b, script, sizeof(script));
        assert_true(has_step(script, "DELTABLE:natgw"));
        natgw_batch_free(b);

        natgw_table_state_clear(&sa);
        natgw_plan_free(pa);
        natgw_plan_free(pb);
        config_done(a);
        config_done(bc);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_egress_most_specific_wins),
                cmocka_unit_test(test_egress_whole_space_and_nesting),
                cmocka_unit_test(test_egress_interfaces_apart),
                cmocka_unit_test(test_forward_single_and_rewrite),
                cmocka_unit_test(test_forward_range_to_range),
                cmocka_unit_test(test_forward_shapes),
                cmocka_unit_test(test_forward_allow_from_nested),
                cmocka_unit_test(test_forward_too_many_elements),
                cmocka_unit_test(test_batch_splits_and_maps_back),
                cmocka_unit_test(test_batch_update),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

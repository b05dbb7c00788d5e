/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The batch (plan -> one nftables transaction), without the kernel: what each message asks of
 * the kernel, element splitting below the 64 KiB attribute limit, error mapping back to
 * entries, and what an update deletes, keeps and sends.
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

#include <libnftnl/object.h>

#include "conf-entry.h"
#include "nft-batch.h"
#include "nft-plan.h"
#include "util-ahead.h"
#include "util.h"

#include "nft-test.h"

/* ---- the batch's bytes, read without its own bookkeeping ---- */

/* What a walk over a batch's buffer finds. */
struct walk {
        size_t msgs, acks;
        size_t counters;     /* NEWOBJ and DELOBJ messages */
        uint32_t last_ack_seq;
        size_t elements[3];  /* elements sent by NEWSETELEM: [0] to data maps, [1] to counter twins,
                              * [2] to traffic counter twins */
        size_t elem_msgs[3]; /* and in how many messages */
};

/*
 * Walk the attributes from @p to @end, into nested ones: each has a header, lies inside its
 * parent, and together they fill it exactly. An attribute of more than 64 KiB would have had
 * its 16-bit length wrap, and then the walk would not end where its parent ends.
 */
static size_t walk_attrs(const uint8_t *p, const uint8_t *end, int depth) {
        size_t n = 0;

        while (p < end) {
                struct nlattr a;

                assert_true((size_t)(end - p) >= sizeof(a));
                memcpy(&a, p, sizeof(a));
                assert_true(a.nla_len >= sizeof(a));
                assert_true(a.nla_len <= (size_t)(end - p));
                if ((a.nla_type & NLA_F_NESTED) && depth < 8)
                        walk_attrs(p + NLA_HDRLEN, p + a.nla_len, depth + 1);
                p += NLA_ALIGN(a.nla_len);
                n++;
        }
        assert_true(p == end);
        return n;
}

static struct walk walk_batch(const struct natgw_batch *b) {
        const uint8_t *p = b->buf, *end = b->buf + b->len;
        struct walk w = {};
        uint32_t seq0 = 0;

        while (p < end) {
                const uint8_t *payload, *a;
                struct nlmsghdr h;
                uint16_t type;
                bool control, ack;
                size_t elems = 0;
                const char *set = "";

                assert_true((size_t)(end - p) >= sizeof(h));
                memcpy(&h, p, sizeof(h));
                assert_true(h.nlmsg_len >= NLMSG_HDRLEN + sizeof(struct nfgenmsg));
                assert_true(h.nlmsg_len <= (size_t)(end - p));
                if (w.msgs == 0)
                        seq0 = h.nlmsg_seq;
                /* Messages follow each other, each with the next sequence number. */
                assert_int_equal(h.nlmsg_seq, seq0 + w.msgs);
                control = h.nlmsg_type == NFNL_MSG_BATCH_BEGIN || h.nlmsg_type == NFNL_MSG_BATCH_END;
                type = h.nlmsg_type & 0xff;
                ack = h.nlmsg_flags & NLM_F_ACK;
                /* The requirement: every message but begin, end and counter creations and
                 * deletions (one each per entry, they report only failure) asks for an ack. */
                if (control)
                        assert_false(ack);
                else
                        assert_int_equal(ack, type != NFT_MSG_NEWOBJ && type != NFT_MSG_DELOBJ);
                if (!control)
                        assert_int_equal(h.nlmsg_type >> 8, NFNL_SUBSYS_NFTABLES);
                if (ack) {
                        w.acks++;
                        w.last_ack_seq = h.nlmsg_seq;
                }
                if (!control && (type == NFT_MSG_NEWOBJ || type == NFT_MSG_DELOBJ))
                        w.counters++;

                payload = p + NLMSG_HDRLEN + sizeof(struct nfgenmsg);
                walk_attrs(payload, p + h.nlmsg_len, 0);
                for (a = payload; !control && type == NFT_MSG_NEWSETELEM && a < p + h.nlmsg_len;) {
                        struct nlattr at;

                        memcpy(&at, a, sizeof(at));
                        if ((at.nla_type & NLA_TYPE_MASK) == NFTA_SET_ELEM_LIST_SET)
                                set = (const char *)a + NLA_HDRLEN;
                        if ((at.nla_type & NLA_TYPE_MASK) == NFTA_SET_ELEM_LIST_ELEMENTS)
                                elems = walk_attrs(a + NLA_HDRLEN, a + at.nla_len, 1);
                        a += NLA_ALIGN(at.nla_len);
                }
                if (!control && type == NFT_MSG_NEWSETELEM) {
                        size_t n = strlen(set);
                        int twin = n > 4 && streq(set + n - 4, "_ctr")     ? 1
                                   : n > 6 && streq(set + n - 6, "_bytes") ? 2
                                                                           : 0;

                        w.elements[twin] += elems;
                        w.elem_msgs[twin]++;
                }
                w.msgs++;
                p += NLMSG_ALIGN(h.nlmsg_len);
        }
        assert_true(p == end);
        return w;
}

static void test_batch_splits_and_maps_back(void **state) {
        struct natgw_config *c = config_new();
        struct natgw_batch *b = NULL;
        struct natgw_plan *p;
        struct walk w;
        uint32_t seq = 1000;

        /* 20,000 ports in one entry: far more than one 64 KiB attribute holds. */
        forward_add(c, "big", "eth0", NATGW_PROTO_TCP, 20000, 39999, "192.168.1.30");
        forward_add(c, "small", "eth0", NATGW_PROTO_UDP, 53, 53, "192.168.1.31");
        p = build(c);
        assert_int_equal(natgw_batch_build(p, NULL, seq, NATGW_TABLE_F_OWNER | NATGW_TABLE_F_PERSIST, &b, NULL), 0);

        /* The bookkeeping is the bytes: each message where it says, in order. */
        w = walk_batch(b);
        assert_int_equal(w.msgs, b->n_msgs);
        for (size_t i = 0; i < b->n_msgs; i++) {
                const struct nlmsghdr *nlh = (const void *)(b->buf + b->msgs[i].offset);

                assert_int_equal(nlh->nlmsg_seq, seq + i);
                assert_ptr_equal(natgw_batch_find(b, seq + (uint32_t)i), &b->msgs[i]);
        }
        assert_null(natgw_batch_find(b, seq + (uint32_t)b->n_msgs));
        assert_int_equal(((const struct nlmsghdr *)b->buf)->nlmsg_type, NFNL_MSG_BATCH_BEGIN);
        assert_int_equal(((const struct nlmsghdr *)(b->buf + b->msgs[b->n_msgs - 1].offset))->nlmsg_type,
                         NFNL_MSG_BATCH_END);
        /* The acks the caller waits for are the ones requested; the last closes the batch. */
        assert_int_equal(b->n_acks, w.acks);
        assert_int_equal(b->last_ack_seq, w.last_ack_seq);
        /* Two counters per entry of the config, connections and traffic: big and small. */
        assert_int_equal(w.counters, 4);
        /* Every element sent, to the data map and to its counter twin: 20,000 ports of big and
         * the one of small. A key (iifname 16 . l4proto 4 . dport 4 bytes) alone makes the
         * 20,001 elements of one map more than 64 KiB: they must be split, at least this often. */
        assert_int_equal(w.elements[0], 20001);
        assert_int_equal(w.elements[1], 20001);
        assert_int_equal(w.elements[2], 20001);
        assert_true(w.elem_msgs[2] >= 20001 * 24 / 65536 + 1);
        assert_true(w.elem_msgs[0] >= 20001 * 24 / 65536 + 1);
        assert_true(w.elem_msgs[1] >= 20001 * 24 / 65536 + 1);

        /* An error offset inside the last element message maps back to "small". */
        for (size_t i = b->n_msgs; i-- > 0;) {
                const struct natgw_msg *m = &b->msgs[i];
                const struct nlmsghdr *nlh = (const void *)(b->buf + m->offset);
                int64_t el;

                if (m->kind != NATGW_MSG_ELEMENTS || m->twin != NATGW_TWIN_MAP)
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


/* Counters are written without libnftnl (nft-batch.c put_counter(): its allocations were 6 of
 * the 60 ms a batch of 50,000 forwards took to build): each message is byte for byte what
 * libnftnl writes for the same counter, names of the longest length included. */
static void test_counters_as_libnftnl(void **state) {
        char longest[NATGW_NAME_MAX + 1];
        struct natgw_config *c = config_new();
        struct natgw_batch *b = NULL;
        struct natgw_plan *p;
        size_t n = 0;

        memset(longest, 'n', NATGW_NAME_MAX);
        longest[NATGW_NAME_MAX] = '\0';
        forward_add(c, "web", "eth0", NATGW_PROTO_TCP, 80, 80, "192.168.1.30");
        forward_add(c, longest, "eth0", NATGW_PROTO_UDP, 53, 53, "192.168.1.31");
        c->filter.forward = NATGW_FILTER_DROP;
        c->metrics.hosts = true;
        p = build(c);
        assert_int_equal(natgw_batch_build(p, NULL, 1000, NATGW_TABLE_F_OWNER, &b, NULL), 0);
        for (size_t i = 0; i < b->n_msgs; i++) {
                const struct nlmsghdr *nlh = (const void *)(b->buf + b->msgs[i].offset);
                size_t hdr = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
                const struct nlattr *a;
                const char *name = NULL;
                /* Zeroed: libmnl 1.0.4 leaves an attribute's padding as it finds it. */
                uint8_t ref[512] = {};
                struct nlmsghdr *r = (void *)ref;
                struct nftnl_obj *o;

                if (b->msgs[i].kind != NATGW_MSG_COUNTER)
                        continue;
                n++;
                mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
                        if (mnl_attr_get_type(a) == NFTA_OBJ_NAME)
                                name = mnl_attr_get_str(a);
                assert_non_null(name);
                /* The same header (type, flags, sequence, family), libnftnl's payload. */
                memcpy(ref, nlh, hdr);
                r->nlmsg_len = (uint32_t)hdr;
                o = nftnl_obj_alloc();
                assert_non_null(o);
                nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, NATGW_TABLE);
                nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
                nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
                nftnl_obj_nlmsg_build_payload(r, o);
                nftnl_obj_free(o);
                assert_int_equal(nlh->nlmsg_len, r->nlmsg_len);
                assert_memory_equal(nlh, ref, r->nlmsg_len);
        }
        /* Two per entry, the hosts' untracked packets, the filter's drops. */
        assert_int_equal(n, 2 * 2 + 2);
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

/* The elements a message carries, and the set it names ("" when none). */
static size_t msg_elements(const struct nlmsghdr *nlh, const char **ret_set) {
        const struct nlattr *at, *e;
        size_t n = 0;

        *ret_set = "";
        mnl_attr_for_each(at, nlh, sizeof(struct nfgenmsg)) {
                if (mnl_attr_get_type(at) == NFTA_SET_ELEM_LIST_SET)
                        *ret_set = mnl_attr_get_str(at);
                if (mnl_attr_get_type(at) == NFTA_SET_ELEM_LIST_ELEMENTS)
                        mnl_attr_for_each_nested(e, at) n++;
        }
        return n;
}

/* Variant @v of a config of 50 forwards (some reflected) and an egress entry: 0 the base; 1 one
 * forward added at the end; 2 one in the middle with another target; 3 the first removed; 4
 * the last renamed; 5 every target changed; 6 two far apart changed; 7 the last renamed to a
 * longer name; 8 the first renamed to one that ends as the old; 9 the last removed. */
static struct natgw_config *update_variant(int v) {
        struct natgw_prefix lan[] = { P("192.168.1.0", 24) };
        struct natgw_config *c = config_new();

        egress_add(c, "lan", "eth0", NATGW_EGRESS_MASQUERADE, 1, lan);
        for (int i = v == 3 ? 1 : 0; i < (v == 1 ? 51 : v == 9 ? 49 : 50); i++) {
                char name[16], to[32];
                struct natgw_forward *f;

                /* Renamed: the last to another, to a longer, the first to one it ends (the
                 * names' common bytes end or start inside a name). */
                snprintf(name, sizeof(name), "%s%d%s", v == 4 && i == 49 ? "g" : v == 8 && i == 0 ? "af" : "f", i,
                         v == 7 && i == 49 ? "x" : "");
                snprintf(to, sizeof(to), "192.168.%d.%d", v == 5 || (v == 2 && i == 25) || (v == 6 && (i == 10 || i == 40)) ? 2 : 1,
                         10 + i);
                f = forward_add(c, name, i % 2 ? "eth1" : "", NATGW_PROTO_TCP, (uint16_t)(1000 + i), (uint16_t)(1000 + i), to);
                f->reflection = i % 5 == 0;
        }
        return c;
}

static bool rec_in(const struct natgw_table_set *s, const uint8_t *r) {
        uint16_t len, len_i;

        memcpy(&len, r, sizeof(len));
        for (size_t i = 0; i < s->elements; i++) {
                memcpy(&len_i, s->recs + s->rec_off[i], sizeof(len_i));
                if (len_i == len && memcmp(s->recs + s->rec_off[i], r, sizeof(len) + len) == 0)
                        return true;
        }
        return false;
}

/* @b's counters that @a has not, and @a's that @b has not: exactly those the update of @a to @b
 * found (sorted), by a search of every name. */
static void assert_counters_diff(const struct natgw_table_state *a, const struct natgw_table_state *b) {
        size_t k = 0;

        for (size_t i = 0; i < b->n_counters; i++)
                if (!natgw_table_state_has_name(a->counters, a->n_counters, b->counters[i])) {
                        assert_true(k < b->n_counters_added);
                        assert_string_equal(b->counters_added[k++], b->counters[i]);
                }
        assert_int_equal(k, b->n_counters_added);
        k = 0;
        for (size_t i = 0; i < a->n_counters; i++)
                if (!natgw_table_state_has_name(b->counters, b->n_counters, a->counters[i])) {
                        assert_true(k < b->n_counters_gone);
                        assert_string_equal(a->names + b->counters_gone[k++], a->counters[i]);
                }
        assert_int_equal(k, b->n_counters_gone);
}

/* An update's state (the difference found from the common prefix and suffix of the elements and
 * of the counters' names) is the one a replace builds, and each kept set's difference is
 * exactly the records that go and those that come. */
static void test_state_update_is_replace(void **state) {
        for (int v = 1; v <= 9; v++)
                for (int dir = 0; dir < 2; dir++) {
                        struct natgw_config *ca = update_variant(dir ? v : 0), *cb = update_variant(dir ? 0 : v);
                        struct natgw_plan *pa = build(ca), *pb = build(cb);
                        struct natgw_table_state sa = {}, sb = {}, fresh = {};
                        struct natgw_set_plan *spa = NULL, *spb = NULL, *spf = NULL;
                        size_t deltas = 0, shared = 0;

                        assert_int_equal(natgw_table_state_build(pa, NULL, 0, &sa, &spa), 0);
                        assert_int_equal(natgw_table_state_build(pb, &sa, 0, &sb, &spb), 0);
                        assert_int_equal(natgw_table_state_build(pb, NULL, 0, &fresh, &spf), 0);
                        assert_int_equal(sb.n_counters, fresh.n_counters);
                        for (size_t i = 0; i < sb.n_counters; i++)
                                assert_string_equal(sb.counters[i], fresh.counters[i]);
                        assert_counters_diff(&sa, &sb);
                        assert_int_equal(sb.n_chains, fresh.n_chains);
                        assert_int_equal(sb.n_sets, fresh.n_sets);
                        for (size_t i = 0; i < sb.n_sets; i++) {
                                const struct natgw_table_set *b = &sb.sets[i], *f = &fresh.sets[i];
                                const struct natgw_table_set *a = state_set(&sa, b->name);
                                size_t gone = 0, come = 0;

                                assert_string_equal(b->name, f->name);
                                assert_int_equal(b->elements, f->elements);
                                for (size_t e = 0; e < b->elements; e++) {
                                        assert_int_equal(b->rec_off[e], f->rec_off[e]);
                                        assert_true(rec_in(f, b->recs + b->rec_off[e]));
                                }
                                if (!spb[i].delta)
                                        continue;
                                deltas++;
                                assert_non_null(a);
                                for (size_t e = 0; e < a->elements; e++)
                                        gone += !rec_in(b, a->recs + a->rec_off[e]);
                                for (size_t e = 0; e < b->elements; e++)
                                        come += !rec_in(a, b->recs + b->rec_off[e]);
                                assert_int_equal(spb[i].n_removed, gone);
                                assert_int_equal(spb[i].n_added, come);
                                for (size_t e = 0; e < spb[i].n_removed; e++)
                                        assert_false(rec_in(b, a->recs + spb[i].removed[e]));
                                for (size_t e = 0; e < spb[i].n_added; e++)
                                        assert_false(rec_in(a, b->recs + b->rec_off[spb[i].added[e]]));
                        }
                        assert_true(deltas > 0);
                        /* A forward map's two counter maps hold the same records, and the
                         * egress map and its bytes counter map: once. */
                        for (size_t i = 0; i < sb.n_sets; i++) {
                                bool bytes = strstr(sb.sets[i].name, "_bytes") != NULL;

                                assert_int_equal(sb.sets[i].recs_shared, bytes);
                                if (bytes)
                                        assert_ptr_equal(sb.sets[i].recs, sb.sets[i - 1].recs);
                                shared += bytes;
                        }
                        assert_true(shared > 0);
                        natgw_set_plans_free(spa, sa.n_sets);
                        natgw_set_plans_free(spb, sb.n_sets);
                        natgw_set_plans_free(spf, fresh.n_sets);
                        natgw_table_state_clear(&sa);
                        natgw_table_state_clear(&sb);
                        natgw_table_state_clear(&fresh);
                        natgw_plan_free(pa);
                        natgw_plan_free(pb);
                        config_done(ca);
                        config_done(cb);
                }
}

/* A batch for the kernel to check and abort: the same messages, without the end, and nothing
 * after the last one that asks for an ack. */
static void test_batch_strip_end(void **state) {
        struct natgw_prefix lan[] = { P("192.168.1.0", 24) };
        struct natgw_config *c = config_new();
        struct natgw_batch *b = NULL;
        struct natgw_plan *p;
        struct walk before, after;
        uint16_t last_type = 0;
        size_t len;

        egress_add(c, "lan", "eth0", NATGW_EGRESS_MASQUERADE, 1, lan);
        forward_add(c, "web", "eth0", NATGW_PROTO_TCP, 8080, 8080, "192.168.1.30");
        p = build(c);
        assert_int_equal(natgw_batch_build(p, NULL, 1, NATGW_TABLE_F_OWNER, &b, NULL), 0);
        before = walk_batch(b);
        len = b->len;
        natgw_batch_strip_end(b);
        after = walk_batch(b);
        assert_int_equal(after.msgs, before.msgs - 1);
        assert_int_equal(after.acks, before.acks);
        assert_int_equal(after.last_ack_seq, before.last_ack_seq);
        assert_true(b->len < len);
        /* The last message in the buffer is now the last that asks for an ack, not BATCH_END. */
        for (const uint8_t *q = b->buf; q < b->buf + b->len;) {
                struct nlmsghdr h;

                memcpy(&h, q, sizeof(h));
                last_type = h.nlmsg_type;
                q += NLMSG_ALIGN(h.nlmsg_len);
        }
        assert_int_not_equal(last_type, NFNL_MSG_BATCH_END);
        assert_int_equal(last_type >> 8, NFNL_SUBSYS_NFTABLES);
        /* Once is all: a batch without an end has nothing more to strip. */
        natgw_batch_strip_end(b);
        assert_int_equal(walk_batch(b).msgs, after.msgs);
        natgw_batch_free(b);
        natgw_plan_free(p);
        natgw_config_free(c);
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
        assert_int_equal(sa.n_counters, 8);
        assert_string_equal(sa.counters[0], "bytes:dmz");
        assert_string_equal(sa.counters[4], "dmz");
        assert_string_equal(sa.counters[7], "web");
        assert_int_equal(sa.n_chains, 2);
        assert_string_equal(sa.chains[0], "egress-dmz");
        assert_string_equal(sa.chains[1], "egress-lan");
        assert_non_null(state_set(&sa, "fwd4_if"));
        /* The size: 1.5 times the elements, at least 64. */
        assert_int_equal(state_set(&sa, "fwd4_if")->size, 64);
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
        assert_true(strncmp(script, "DELRULE:prerouting DELRULE:postrouting DELRULE:account DELRULE:egress-dmz DELRULE:egress-lan "
                                    "DELSETELEM:",
                            strlen("DELRULE:prerouting DELRULE:postrouting DELRULE:account DELRULE:egress-dmz DELRULE:egress-lan "
                                   "DELSETELEM:")) == 0);
        /* Every old map is either kept, losing only elements that go, or deleted, never both.
         * The grown map and its twin are recreated; fwd4 and the interval map egress4 are kept. */
        for (size_t i = 0; i < sa.n_sets; i++) {
                char flush[64], del[64];

                snprintf(flush, sizeof(flush), "DELSETELEM:%s", sa.sets[i].name);
                snprintf(del, sizeof(del), "DELSET:%s", sa.sets[i].name);
                assert_false(has_step(script, flush) && has_step(script, del));
        }
        assert_true(has_step(script, "DELSET:fwd4_if") && has_step(script, "NEWSET:fwd4_if"));
        assert_true(has_step(script, "DELSET:fwd4_if_ctr") && has_step(script, "NEWSET:fwd4_if_ctr"));
        assert_false(has_step(script, "DELSET:fwd4") || has_step(script, "NEWSET:fwd4"));
        /* A kept hash map gets its difference: dns became dns2 with the same key and target, so
         * fwd4 is left alone, and its counter twin trades dns's element for dns2's. */
        assert_false(has_step(script, "DELSETELEM:fwd4") || has_step(script, "NEWSETELEM:fwd4"));
        assert_true(has_step(script, "DELSETELEM:fwd4_ctr") && has_step(script, "NEWSETELEM:fwd4_ctr"));
        /* egress4 is kept and only its difference sent: lan's three intervals around dmz go,
         * lan's one interval comes. */
        assert_false(has_step(script, "DELSET:egress4") || has_step(script, "NEWSET:egress4"));
        assert_true(has_step(script, "DELSETELEM:egress4") && has_step(script, "NEWSETELEM:egress4"));
        for (size_t i = 0; i < b->n_msgs; i++) {
                const struct nlmsghdr *nlh = (const void *)(b->buf + b->msgs[i].offset);
                const char *set;
                size_t n = msg_elements(nlh, &set);
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
        /* The elements of recreated maps are sent, and every rule. */
        assert_true(has_step(script, "NEWSETELEM:fwd4_if") && has_step(script, "NEWSETELEM:fwd4_if_ctr"));
        assert_true(has_step(script, "NEWRULE:prerouting") && has_step(script, "NEWRULE:egress-lan"));
        /* Counter deletions ask for no ack: a table message closes the transaction. */
        assert_true(strlen(script) > strlen("NEWTABLE:natgw"));
        assert_string_equal(script + strlen(script) - strlen("NEWTABLE:natgw"), "NEWTABLE:natgw");
        assert_int_equal(b->last_ack_seq, b->msgs[b->n_msgs - 2].seq);
        {
                struct walk wu = walk_batch(b); /* asserts which messages ask for an ack */

                assert_int_equal(wu.last_ack_seq, b->last_ack_seq);
                assert_int_equal(wu.acks, b->n_acks);
                /* dmz's and dns's two deleted, dns2's two created; lan and web keep theirs. */
                assert_int_equal(wu.counters, 6);
        }
        natgw_batch_free(b);

        /* What the update leaves: the kept map keeps its size, the recreated one has room. */
        assert_int_equal(state_set(&sb, "fwd4")->size, state_set(&sa, "fwd4")->size);
        assert_int_equal(state_set(&sb, "fwd4_if")->size, 180); /* 120 ports, 1.5 times */
        assert_int_equal(sb.n_counters, 6);
        assert_string_equal(sb.counters[0], "bytes:dns2");
        assert_string_equal(sb.counters[3], "dns2");
        assert_int_equal(sb.n_chains, 1);

        /* The same config again: nothing created or deleted, no map element sent either way,
         * and the rules stay but postrouting's, which are replaced (the update's first message
         * fails when the table is gone). */
        {
                struct natgw_table_state sc = {};

                assert_int_equal(natgw_batch_build(pb, &sb, 200, NATGW_TABLE_F_OWNER, &b, &sc), 0);
                batch_script(b, script, sizeof(script));
                assert_null(strstr(script, "NEWOBJ:"));
                assert_null(strstr(script, "DELOBJ:"));
                assert_null(strstr(script, "NEWSET:"));
                assert_null(strstr(script, "DELSET:"));
                assert_false(has_step(script, "DELSETELEM:egress4") || has_step(script, "NEWSETELEM:egress4"));
                assert_null(strstr(script, "SETELEM:"));
                assert_null(strstr(script, "CHAIN:"));
                assert_true(strncmp(script, "DELRULE:postrouting ", strlen("DELRULE:postrouting ")) == 0);
                assert_false(has_step(script, "DELRULE:prerouting") || has_step(script, "DELRULE:egress-lan"));
                assert_false(has_step(script, "NEWRULE:prerouting") || has_step(script, "NEWRULE:egress-lan"));
                assert_true(has_step(script, "NEWRULE:postrouting"));
                natgw_batch_free(b);
                natgw_table_state_clear(&sc);
        }
        /* web's target moves: its 120 elements go and come back with the new target, in the
         * kept map; its counter twin, whose elements name the same counter, is left alone. */
        {
                struct natgw_config *moved = config_new();
                struct natgw_table_state sc = {};
                struct natgw_plan *pm;
                size_t del = 0, add = 0;

                egress_add(moved, "lan", "eth0", NATGW_EGRESS_MASQUERADE, 1, lan);
                forward_add(moved, "web", "eth0", NATGW_PROTO_TCP, 8080, 8199, "192.168.1.40");
                forward_add(moved, "dns2", "", NATGW_PROTO_UDP, 53, 53, "192.168.1.31");
                pm = build(moved);
                assert_int_equal(natgw_batch_build(pm, &sb, 300, NATGW_TABLE_F_OWNER, &b, &sc), 0);
                batch_script(b, script, sizeof(script));
                assert_null(strstr(script, "NEWSET:"));
                assert_null(strstr(script, "DELSET:"));
                assert_false(has_step(script, "DELSETELEM:fwd4_if_ctr") || has_step(script, "NEWSETELEM:fwd4_if_ctr"));
                for (size_t i = 0; i < b->n_msgs; i++) {
                        const struct nlmsghdr *nlh = (const void *)(b->buf + b->msgs[i].offset);
                        const char *set;
                        size_t n = msg_elements(nlh, &set);
                        if (streq(set, "fwd4_if") && (nlh->nlmsg_type & 0xff) == NFT_MSG_DELSETELEM)
                                del += n;
                        if (streq(set, "fwd4_if") && (nlh->nlmsg_type & 0xff) == NFT_MSG_NEWSETELEM)
                                add += n;
                }
                assert_int_equal(del, 120);
                assert_int_equal(add, 120);
                /* Elements alone changed: the rules stay. */
                assert_false(has_step(script, "DELRULE:prerouting") || has_step(script, "NEWRULE:prerouting"));
                natgw_batch_free(b);
                natgw_table_state_clear(&sc);
                natgw_plan_free(pm);
                natgw_config_free(moved);
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
                /* A map recreated: every rule is replaced, the rules binding it among them. */
                assert_true(has_step(script, "DELRULE:prerouting") && has_step(script, "NEWRULE:prerouting"));
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

/* Two batches are the same: bytes, messages and their bookkeeping. */
static void assert_same_batch(const struct natgw_batch *a, const struct natgw_batch *b) {
        assert_int_equal(a->len, b->len);
        assert_memory_equal(a->buf, b->buf, a->len);
        assert_int_equal(a->n_msgs, b->n_msgs);
        for (size_t i = 0; i < a->n_msgs; i++) {
                const struct natgw_msg *x = &a->msgs[i], *y = &b->msgs[i];

                assert_int_equal(x->seq, y->seq);
                assert_int_equal(x->kind, y->kind);
                assert_int_equal(x->offset, y->offset);
                assert_int_equal(x->entry, y->entry);
                assert_int_equal(x->map, y->map);
                assert_int_equal(x->twin, y->twin);
                assert_int_equal(x->first_elem, y->first_elem);
                assert_int_equal(x->subset, y->subset);
                assert_ptr_equal(x->what, y->what);
        }
        assert_int_equal(a->n_acks, b->n_acks);
        assert_int_equal(a->last_ack_seq, b->last_ack_seq);
        assert_int_equal(a->n_subset, b->n_subset);
        if (a->n_subset > 0)
                assert_memory_equal(a->subset, b->subset, a->n_subset * sizeof(*a->subset));
}

/*
 * A big replace has its buffer and message table populated ahead of the encoder by a thread of
 * its own: the batch is the same as without, also when it outgrows the room reserved for it
 * (then the thread stops and the buffer grows as any other).
 */
static void test_batch_ahead(void **state) {
        enum { N = 3000 };
        struct natgw_config *c = config_new();
        struct natgw_batch *plain = NULL, *ahead = NULL, *outgrown = NULL;
        size_t min = natgw_batch_ahead_min_entries, before;
        struct natgw_plan *p;
        char name[32], to[32];

        c->forwards = realloc(c->forwards, N * sizeof(*c->forwards));
        assert_non_null(c->forwards);
        memset(c->forwards, 0, N * sizeof(*c->forwards));
        for (unsigned i = 0; i < N; i++) {
                snprintf(name, sizeof(name), "f%u", i);
                snprintf(to, sizeof(to), "192.168.%u.%u", i / 250, 1 + i % 250);
                forward_add(c, name, i % 2 ? "eth0" : "", i % 3 ? NATGW_PROTO_TCP : NATGW_PROTO_UDP,
                            (uint16_t)(1000 + i), (uint16_t)(1000 + i), to);
        }
        p = build(c);

        natgw_ahead_enabled = false;
        assert_int_equal(natgw_batch_build(p, NULL, 7, NATGW_TABLE_F_OWNER, &plain, NULL), 0);
        natgw_ahead_enabled = true;
        natgw_batch_ahead_min_entries = 1;
        before = natgw_ahead_populated;
        assert_int_equal(natgw_batch_build(p, NULL, 7, NATGW_TABLE_F_OWNER, &ahead, NULL), 0);
        print_message("populated ahead: %zu bytes of a %zu-byte batch\n", natgw_ahead_populated - before,
                      ahead->len);
        /* The thread ran beside the encoder, where the kernel lets it (what it managed to
         * populate depends on the timing, and valgrind refuses most of it). */
        if (natgw_ahead_supported())
                assert_non_null(ahead->ahead);
        assert_same_batch(plain, ahead);
        /* 64 KiB reserved for a batch of about 900 KiB. */
        natgw_batch_ahead_reserve = 64 * 1024;
        assert_int_equal(natgw_batch_build(p, NULL, 7, NATGW_TABLE_F_OWNER, &outgrown, NULL), 0);
        assert_same_batch(plain, outgrown);
        assert_true(outgrown->len > natgw_batch_ahead_reserve);
        assert_null(outgrown->ahead);

        natgw_batch_ahead_reserve = 0;
        natgw_batch_ahead_min_entries = min;
        natgw_batch_free(plain);
        natgw_batch_free(ahead);
        natgw_batch_free(outgrown);
        natgw_plan_free(p);
        config_done(c);
}

/* A replace's state finished after its batch (natgw_batch_build_unfinished(), then
 * natgw_table_state_finish(), as natgwd does while the kernel takes the batch) is the state
 * natgw_batch_build() leaves at once, and the batch is the same. */
static void test_state_finished_later(void **state) {
        for (int v = 0; v <= 6; v++) {
                struct natgw_config *c = update_variant(v);
                struct natgw_plan *p = build(c);
                struct natgw_batch *b1 = NULL, *b2 = NULL;
                struct natgw_table_state whole = {}, later = {}, upd = {};

                assert_int_equal(natgw_batch_build(p, NULL, 9, NATGW_TABLE_F_OWNER, &b1, &whole), 0);
                assert_int_equal(natgw_batch_build_unfinished(p, NULL, 9, NATGW_TABLE_F_OWNER, &b2, &later), 0);
                assert_same_batch(b1, b2);
                assert_true(whole.valid);
                assert_false(later.valid);
                assert_true(later.unfinished);
                assert_int_equal(later.n_sets, whole.n_sets);
                assert_int_equal(natgw_table_state_finish(p, &later), 0);
                assert_true(later.valid);
                assert_false(later.unfinished);
                assert_int_equal(later.table_flags, whole.table_flags);
                assert_int_equal(later.counters_len, whole.counters_len);
                assert_memory_equal(later.names, whole.names, whole.counters_len);
                assert_int_equal(later.n_counters, whole.n_counters);
                for (size_t i = 0; i < whole.n_counters; i++)
                        assert_string_equal(later.counters[i], whole.counters[i]);
                assert_int_equal(later.n_chains, whole.n_chains);
                for (size_t i = 0; i < whole.n_chains; i++)
                        assert_string_equal(later.chains[i], whole.chains[i]);
                assert_memory_equal(later.rules_sha256, whole.rules_sha256, sizeof(whole.rules_sha256));
                assert_int_equal(later.forward_chain, whole.forward_chain);
                assert_int_equal(later.reflect_chains, whole.reflect_chains);
                for (size_t i = 0; i < whole.n_sets; i++) {
                        const struct natgw_table_set *w = &whole.sets[i], *l = &later.sets[i];

                        assert_string_equal(l->name, w->name);
                        assert_int_equal(l->size, w->size);
                        assert_int_equal(l->elements, w->elements);
                        assert_int_equal(l->key_len, w->key_len);
                        for (size_t e = 0; e < w->elements; e++)
                                assert_int_equal(l->rec_off[e], w->rec_off[e]);
                        if (w->elements > 0)
                                assert_memory_equal(l->recs, w->recs, w->rec_off[w->elements - 1] + 2);
                }
                /* Finished once: again is nothing. An update's state comes finished. */
                assert_int_equal(natgw_table_state_finish(p, &later), 0);
                natgw_batch_free(b2);
                b2 = NULL;
                assert_int_equal(natgw_batch_build_unfinished(p, &later, 50, NATGW_TABLE_F_OWNER, &b2, &upd), 0);
                assert_true(upd.valid);
                assert_false(upd.unfinished);
                natgw_table_state_clear(&upd);
                natgw_table_state_clear(&whole);
                natgw_table_state_clear(&later);
                natgw_batch_free(b1);
                natgw_batch_free(b2);
                natgw_plan_free(p);
                config_done(c);
        }
}

/* Populating never changes what the memory holds, whatever the alignment; the populated calloc
 * is zeroed; the arena's prefaulted memory is handed out again. */
static void test_populate(void **state) {
        enum { N = 300 * 1024 };
        uint8_t *v = malloc(N), *z;
        void *piece, *small[64];

        assert_non_null(v);
        for (size_t i = 0; i < N; i++)
                v[i] = (uint8_t)(i * 7 + 3);
        natgw_populate(v + 1, N - 3);
        natgw_populate(v + 4093, 100); /* below the minimum: nothing */
        natgw_populate(NULL, N);
        for (size_t i = 0; i < N; i++)
                assert_int_equal(v[i], (uint8_t)(i * 7 + 3));
        free(v);
        z = natgw_calloc_populated(N, 3);
        assert_non_null(z);
        for (size_t i = 0; i < 3 * (size_t)N; i++)
                assert_int_equal(z[i], 0);
        free(z);
        assert_null(natgw_calloc_populated(SIZE_MAX / 2, 3));
        piece = natgw_arena_prefault(2u << 20);
        if (natgw_ahead_supported())
                assert_non_null(piece);
        for (size_t i = 0; i < ELEMENTSOF(small); i++) {
                small[i] = malloc(100);
                assert_non_null(small[i]);
                memset(small[i], 0xa5, 100);
        }
        for (size_t i = 0; i < ELEMENTSOF(small); i++)
                free(small[i]);
        natgw_arena_release(piece);
        assert_null(natgw_arena_prefault(1000)); /* too little to keep a piece for */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_batch_splits_and_maps_back),
                cmocka_unit_test(test_batch_update),
                cmocka_unit_test(test_state_update_is_replace),
                cmocka_unit_test(test_batch_strip_end),
                cmocka_unit_test(test_counters_as_libnftnl),
                cmocka_unit_test(test_batch_ahead),
                cmocka_unit_test(test_state_finished_later),
                cmocka_unit_test(test_populate),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

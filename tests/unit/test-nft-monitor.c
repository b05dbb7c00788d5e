/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The pure parts of the table watch (lib/nft-monitor.c): the parser of the kernel's nftables
 * notifications, fed hand-built messages (another sender, natgwd itself, other tables and
 * families, the NEWGEN that names the process, truncated and random bytes), its words, and
 * the limit on how often the table is restored.
 */

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nft-monitor.h"
#include "util.h"

#define OWN 3001u   /* natgwd's port id */
#define OTHER 4242u /* nft's */
#define MSG_DESTROYTABLE 26

/* One notification as the kernel builds it: nfgenmsg, then the table (attribute 1) and the
 * object (attribute 2) as NUL-terminated strings. Returns its aligned length. */
static size_t put_note(uint8_t *buf, uint16_t msg, uint8_t family, uint32_t portid, const char *table,
                       const char *object) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct nfgenmsg *g;

        nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | msg;
        nlh->nlmsg_pid = portid;
        nlh->nlmsg_seq = 7;
        g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
        g->nfgen_family = family;
        g->version = NFNETLINK_V0;
        g->res_id = htons(1);
        if (table)
                mnl_attr_put_strz(nlh, 1, table);
        if (object)
                mnl_attr_put_strz(nlh, 2, object);
        return NLMSG_ALIGN(nlh->nlmsg_len);
}

static size_t put_gen(uint8_t *buf, uint32_t portid, uint32_t pid, const char *comm) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct nfgenmsg *g;

        nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN;
        nlh->nlmsg_pid = portid;
        g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
        g->nfgen_family = AF_UNSPEC;
        g->version = NFNETLINK_V0;
        mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(99));
        mnl_attr_put_u32(nlh, NFTA_GEN_PROC_PID, htonl(pid));
        mnl_attr_put_strz(nlh, NFTA_GEN_PROC_NAME, comm);
        return NLMSG_ALIGN(nlh->nlmsg_len);
}

/* Parse an exact-size heap copy of @buf, so that ASan sees any read past its end. */
static void parse(const uint8_t *buf, size_t len, struct natgw_nft_change *acc) {
        uint8_t *copy = malloc(len ? len : 1);

        assert_non_null(copy);
        memcpy(copy, buf, len);
        natgw_nft_monitor_parse(copy, len, OWN, acc);
        free(copy);
}

static void test_other_sender_deletes_table(void **state) {
        /* `nft delete table inet natgw`: the table's content first, then the table, then NEWGEN. */
        static uint8_t buf[4096];
        struct natgw_nft_change c = {};
        char text[256];
        size_t len = 0;

        len += put_note(buf + len, NFT_MSG_DELRULE, NFPROTO_INET, OTHER, "natgw", "prerouting");
        len += put_note(buf + len, NFT_MSG_DELOBJ, NFPROTO_INET, OTHER, "natgw", "web");
        len += put_note(buf + len, NFT_MSG_DELCHAIN, NFPROTO_INET, OTHER, "natgw", "prerouting");
        len += put_note(buf + len, NFT_MSG_DELTABLE, NFPROTO_INET, OTHER, "natgw", NULL);
        len += put_gen(buf + len, OTHER, 412, "nft");
        parse(buf, len, &c);

        assert_int_equal(c.changes, 4);
        assert_true(c.table_deleted);
        assert_int_equal(c.first_type, NFT_MSG_DELRULE);
        assert_int_equal(c.first_portid, OTHER);
        assert_string_equal(c.first_object, "prerouting");
        assert_int_equal(c.pid, 412);
        assert_string_equal(c.comm, "nft");
        assert_int_equal(c.messages, 5);
        assert_int_equal(c.malformed, 0);
        assert_false(c.lost);
        assert_string_equal(natgw_nft_change_describe(&c, text, sizeof(text)), "was deleted");
        assert_string_equal(natgw_nft_change_who(&c, text, sizeof(text)), "nft, pid 412, netlink port 4242");
}

static void test_other_sender_flushes_chain(void **state) {
        /* `nft flush chain inet natgw prerouting`, in two reads; NEWGEN in the second. */
        static uint8_t buf[4096];
        struct natgw_nft_change c = {};
        char text[256];
        size_t len = 0;

        len += put_note(buf + len, NFT_MSG_DELRULE, NFPROTO_INET, OTHER, "natgw", "prerouting");
        len += put_note(buf + len, NFT_MSG_DELRULE, NFPROTO_INET, OTHER, "natgw", "prerouting");
        parse(buf, len, &c);
        assert_int_equal(c.changes, 2);
        assert_int_equal(c.pid, 0);
        assert_string_equal(natgw_nft_change_who(&c, text, sizeof(text)), "netlink port 4242");

        len = put_note(buf, NFT_MSG_DELRULE, NFPROTO_INET, OTHER, "natgw", "prerouting");
        len += put_gen(buf + len, OTHER, 77, "bash");
        parse(buf, len, &c);
        assert_int_equal(c.changes, 3);
        assert_false(c.table_deleted);
        assert_int_equal(c.pid, 77);
        assert_string_equal(natgw_nft_change_describe(&c, text, sizeof(text)),
                            "was changed (rule deleted from chain prerouting, 3 changes in all)");
}

static void test_words(void **state) {
        static uint8_t buf[1024];
        struct natgw_nft_change c;
        char text[256];
        static const struct {
                uint16_t msg;
                const char *object, *words;
        } cases[] = {
                { NFT_MSG_NEWRULE, "postrouting", "was changed (rule added to chain postrouting)" },
                { NFT_MSG_DELCHAIN, "egress-lan", "was changed (chain egress-lan deleted)" },
                { NFT_MSG_NEWCHAIN, "x", "was changed (chain x added)" },
                { NFT_MSG_DELSET, "fwd4_if", "was changed (set/map fwd4_if deleted)" },
                { NFT_MSG_NEWSETELEM, "fwd4", "was changed (elements added to set/map fwd4)" },
                { NFT_MSG_DELSETELEM, "egress4", "was changed (elements deleted from set/map egress4)" },
                { NFT_MSG_DELOBJ, "web", "was changed (object web deleted)" },
                { NFT_MSG_NEWFLOWTABLE, "ft", "was changed (flowtable ft added)" },
                { MSG_DESTROYTABLE, NULL, "was deleted" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                c = (struct natgw_nft_change){};
                parse(buf, put_note(buf, cases[i].msg, NFPROTO_INET, OTHER, "natgw", cases[i].object), &c);
                assert_int_equal(c.changes, 1);
                assert_string_equal(natgw_nft_change_describe(&c, text, sizeof(text)), cases[i].words);
        }
        /* Control characters in a name do not reach the log. */
        c = (struct natgw_nft_change){};
        parse(buf, put_note(buf, NFT_MSG_DELCHAIN, NFPROTO_INET, OTHER, "natgw", "a\nb\x1b"), &c);
        assert_string_equal(c.first_object, "a?b?");
        /* Nothing, or only lost notifications. */
        c = (struct natgw_nft_change){};
        assert_string_equal(natgw_nft_change_describe(&c, text, sizeof(text)), "did not change");
        c.lost = true;
        assert_string_equal(natgw_nft_change_describe(&c, text, sizeof(text)),
                            "may have changed (notifications were lost)");
        /* A small buffer is cut, not overrun. */
        c = (struct natgw_nft_change){};
        parse(buf, put_note(buf, NFT_MSG_DELRULE, NFPROTO_INET, OTHER, "natgw", "prerouting"), &c);
        natgw_nft_change_describe(&c, text, 8);
        assert_string_equal(text, "was cha");
}

static void test_ignored(void **state) {
        static uint8_t buf[8192];
        struct natgw_nft_change c = {};
        size_t len = 0;

        /* natgwd's own reload. */
        len += put_note(buf + len, NFT_MSG_DELTABLE, NFPROTO_INET, OWN, "natgw", NULL);
        len += put_note(buf + len, NFT_MSG_NEWTABLE, NFPROTO_INET, OWN, "natgw", NULL);
        len += put_note(buf + len, NFT_MSG_NEWRULE, NFPROTO_INET, OWN, "natgw", "prerouting");
        len += put_gen(buf + len, OWN, 1, "natgwd");
        /* Other tables of the family, and tables named natgw of other families. */
        len += put_note(buf + len, NFT_MSG_DELTABLE, NFPROTO_INET, OTHER, "filter", NULL);
        len += put_note(buf + len, NFT_MSG_DELTABLE, NFPROTO_INET, OTHER, "natgw2", NULL);
        len += put_note(buf + len, NFT_MSG_DELTABLE, NFPROTO_INET, OTHER, "natg", NULL);
        len += put_note(buf + len, NFT_MSG_DELTABLE, NFPROTO_INET, OTHER, "", NULL);
        len += put_note(buf + len, NFT_MSG_DELTABLE, NFPROTO_IPV4, OTHER, "natgw", NULL);
        len += put_note(buf + len, NFT_MSG_DELRULE, NFPROTO_IPV6, OTHER, "natgw", "prerouting");
        len += put_note(buf + len, NFT_MSG_DELTABLE, NFPROTO_NETDEV, OTHER, "natgw", NULL);
        /* No table attribute; only the object. */
        len += put_note(buf + len, NFT_MSG_DELCHAIN, NFPROTO_INET, OTHER, NULL, "natgw");
        /* Messages that change nothing: a GET, a counter reset, a trace. */
        len += put_note(buf + len, NFT_MSG_GETTABLE, NFPROTO_INET, OTHER, "natgw", NULL);
        len += put_note(buf + len, NFT_MSG_GETOBJ_RESET, NFPROTO_INET, OTHER, "natgw", "web");
        len += put_note(buf + len, NFT_MSG_TRACE, NFPROTO_INET, OTHER, "natgw", "prerouting");
        /* A NEWGEN of someone whose transaction did not touch natgw. */
        len += put_gen(buf + len, OTHER, 5, "nft");
        parse(buf, len, &c);
        assert_int_equal(c.changes, 0);
        assert_false(c.table_deleted);
        assert_int_equal(c.pid, 0);
        assert_int_equal(c.messages, 16);

        /* A conntrack message (another subsystem) with the same layout. */
        len = put_note(buf, NFT_MSG_DELTABLE, NFPROTO_INET, OTHER, "natgw", NULL);
        ((struct nlmsghdr *)buf)->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | NFT_MSG_DELTABLE;
        parse(buf, len, &c);
        /* An NLMSG_ERROR / NLMSG_DONE. */
        ((struct nlmsghdr *)buf)->nlmsg_type = NLMSG_DONE;
        parse(buf, len, &c);
        assert_int_equal(c.changes, 0);

        /* The NEWGEN of another sender does not name the first one. */
        len = put_note(buf, NFT_MSG_DELTABLE, NFPROTO_INET, OTHER, "natgw", NULL);
        len += put_gen(buf + len, OTHER + 1, 5, "other");
        len += put_gen(buf + len, OWN, 6, "natgwd");
        parse(buf, len, &c);
        assert_int_equal(c.changes, 1);
        assert_int_equal(c.pid, 0);
        assert_string_equal(c.comm, "");
}

static void test_kernel_is_another_sender(void **state) {
        static uint8_t buf[1024];
        struct natgw_nft_change c = {};

        parse(buf, put_note(buf, NFT_MSG_DELSETELEM, NFPROTO_INET, 0, "natgw", "fwd4"), &c);
        assert_int_equal(c.changes, 1);
        assert_int_equal(c.first_portid, 0);
}

static void test_truncated(void **state) {
        static uint8_t buf[4096];
        size_t len, first, whole;

        first = put_note(buf, NFT_MSG_DELTABLE, NFPROTO_INET, OTHER, "natgw", NULL);
        whole = ((struct nlmsghdr *)buf)->nlmsg_len;
        len = first + put_gen(buf + first, OTHER, 412, "nft");
        /* Every prefix: no read past it; the change counts only once its message is whole. */
        for (size_t n = 0; n <= len; n++) {
                struct natgw_nft_change c = {};

                parse(buf, n, &c);
                assert_int_equal(c.changes, n >= whole ? 1 : 0);
                assert_int_equal(c.pid, n == len ? 412 : 0);
                if (n > 0 && n < whole)
                        assert_int_equal(c.malformed, 1);
        }
}

static void test_malformed(void **state) {
        static uint8_t buf[1024];
        struct natgw_nft_change c = {};
        struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
        struct nlattr *a;
        size_t len;

        /* Shorter than its nfgenmsg. */
        len = put_note(buf, NFT_MSG_DELTABLE, NFPROTO_INET, OTHER, "natgw", NULL);
        nlh->nlmsg_len = NLMSG_HDRLEN + 2;
        parse(buf, NLMSG_HDRLEN + 2, &c);
        assert_int_equal(c.changes, 0);
        assert_int_equal(c.malformed, 1);

        /* A length longer than the buffer, and one shorter than a header. */
        c = (struct natgw_nft_change){};
        len = put_note(buf, NFT_MSG_DELTABLE, NFPROTO_INET, OTHER, "natgw", NULL);
        nlh->nlmsg_len = (uint32_t)len + 64;
        parse(buf, len, &c);
        nlh->nlmsg_len = 3;
        parse(buf, len, &c);
        nlh->nlmsg_len = UINT32_MAX;
        parse(buf, len, &c);
        assert_int_equal(c.changes, 0);

        /* The table attribute's length runs past the message: the walk stops there. */
        c = (struct natgw_nft_change){};
        len = put_note(buf, NFT_MSG_DELTABLE, NFPROTO_INET, OTHER, "natgw", NULL);
        a = (struct nlattr *)(buf + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)));
        a->nla_len = 200;
        parse(buf, len, &c);
        a->nla_len = 2; /* shorter than its own header */
        parse(buf, len, &c);
        assert_int_equal(c.changes, 0);

        /* A name without its NUL, filling the attribute exactly: read within it. */
        c = (struct natgw_nft_change){};
        len = put_note(buf, NFT_MSG_DELTABLE, NFPROTO_INET, OTHER, "natgw", NULL);
        a->nla_len = NLA_HDRLEN + 5;
        parse(buf, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)) + NLA_HDRLEN + 5, &c);
        assert_int_equal(c.messages, 0); /* the message claims more than the buffer holds */
        nlh->nlmsg_len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)) + NLA_HDRLEN + 5;
        parse(buf, nlh->nlmsg_len, &c);
        assert_int_equal(c.changes, 1);

        /* A NEWGEN whose pid attribute has the wrong size, and a name without a NUL. */
        c = (struct natgw_nft_change){};
        len = put_note(buf, NFT_MSG_DELTABLE, NFPROTO_INET, OTHER, "natgw", NULL);
        {
                struct nlmsghdr *g = mnl_nlmsg_put_header(buf + len);
                struct nfgenmsg *gm;

                g->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN;
                g->nlmsg_pid = OTHER;
                gm = mnl_nlmsg_put_extra_header(g, sizeof(*gm));
                gm->nfgen_family = AF_UNSPEC;
                mnl_attr_put_u16(g, NFTA_GEN_PROC_PID, 5);
                mnl_attr_put(g, NFTA_GEN_PROC_NAME, 40, "0123456789012345678901234567890123456789");
                len += g->nlmsg_len;
        }
        parse(buf, len, &c);
        assert_int_equal(c.changes, 1);
        assert_int_equal(c.pid, 0);
        assert_string_equal(c.comm, "012345678901234");
}

static void test_garbage(void **state) {
        static uint8_t buf[4096];
        uint32_t x = 12345;

        /* Random bytes, and random bytes behind a valid header: no crash, no change. */
        for (int round = 0; round < 2000; round++) {
                struct natgw_nft_change c = {};
                size_t len = 1 + (x % sizeof(buf));

                for (size_t i = 0; i < len; i++) {
                        x = x * 1103515245u + 12345u;
                        buf[i] = (uint8_t)(x >> 16);
                }
                if (round % 2) {
                        struct nlmsghdr *nlh = (struct nlmsghdr *)buf;

                        if (len < sizeof(*nlh) + 4)
                                continue;
                        nlh->nlmsg_len = (uint32_t)(x % (len + 1));
                        nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELTABLE;
                        nlh->nlmsg_pid = OTHER;
                        buf[sizeof(*nlh)] = NFPROTO_INET;
                }
                parse(buf, len, &c);
                assert_int_equal(c.changes, 0);
        }
}

/* Read a file of tests/fuzz/corpus/fuzz-nft-monitor/: notifications as a 6.x kernel sent them,
 * captured in a network namespace (the datagrams of one nft command, one after the other). */
static struct natgw_nft_change parse_captured(const char *name, uint32_t own) {
        char path[512];
        static uint8_t buf[65536];
        struct natgw_nft_change c = {};
        FILE *f;
        size_t n;

        snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/fuzz-nft-monitor/%s", SRCDIR, name);
        f = fopen(path, "rb");
        assert_non_null(f);
        n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        assert_true(n > 0);
        natgw_nft_monitor_parse(buf, n, own, &c);
        assert_int_equal(c.malformed, 0);
        return c;
}

static void test_captured(void **state) {
        struct natgw_nft_change c;
        char text[256];

        /* nft delete table inet natgw: the map, the counter, the chain, the table, NEWGEN. */
        c = parse_captured("delete-table", 0);
        assert_true(c.table_deleted);
        assert_true(c.changes >= 4);
        assert_true(c.pid > 0);
        assert_string_equal(c.comm, "nft");
        /* nft's socket: port id = its pid (the first socket of a process). */
        assert_int_equal(c.first_portid, c.pid);
        assert_string_equal(natgw_nft_change_describe(&c, text, sizeof(text)), "was deleted");
        /* The same, sent by natgwd's own socket: nothing. */
        c = parse_captured("delete-table", c.first_portid);
        assert_int_equal(c.changes, 0);
        assert_int_equal(c.pid, 0);

        c = parse_captured("flush-chain", 0);
        assert_false(c.table_deleted);
        assert_int_equal(c.first_type, NFT_MSG_DELRULE);
        assert_string_equal(c.first_object, "prerouting");
        assert_string_equal(c.comm, "nft");

        c = parse_captured("delete-element", 0);
        assert_int_equal(c.changes, 1);
        assert_string_equal(natgw_nft_change_describe(&c, text, sizeof(text)),
                            "was changed (elements deleted from set/map fwd4)");

        /* Six nft commands, six transactions: the first one's NEWGEN names its process. */
        c = parse_captured("create", 0);
        assert_int_equal(c.first_type, NFT_MSG_NEWTABLE);
        assert_true(c.changes >= 6);
        assert_string_equal(c.comm, "nft");
}

static void test_restore_limit(void **state) {
        const uint64_t s = 1000000u;
        struct natgw_restore_limit l = {};
        uint64_t t0 = 1000 * s, now;
        bool pause;

        /* The first restore at once, the next ones a second apart. */
        assert_int_equal(natgw_restore_limit_next(&l, t0, &pause), t0);
        assert_false(pause);
        natgw_restore_limit_record(&l, t0);
        assert_int_equal(natgw_restore_limit_next(&l, t0 + 1, &pause), t0 + s);
        assert_false(pause);
        assert_int_equal(natgw_restore_limit_next(&l, t0 + 5 * s, &pause), t0 + 5 * s);
        /* Undone again and again: after NATGW_RESTORE_BURST tries, a pause, said once. */
        now = t0;
        for (int i = 1; i < NATGW_RESTORE_BURST; i++) {
                now += s;
                assert_int_equal(natgw_restore_limit_next(&l, now, &pause), now);
                assert_false(pause);
                natgw_restore_limit_record(&l, now);
        }
        assert_int_equal(natgw_restore_limit_next(&l, now + s, &pause), now + NATGW_RESTORE_PAUSE_USEC);
        assert_true(pause);
        assert_int_equal(natgw_restore_limit_next(&l, now + 2 * s, &pause), now + NATGW_RESTORE_PAUSE_USEC);
        assert_false(pause);
        /* It goes on: one try per pause, not another burst; still said only once. */
        now += NATGW_RESTORE_PAUSE_USEC;
        natgw_restore_limit_record(&l, now);
        assert_int_equal(natgw_restore_limit_next(&l, now + s, &pause), now + NATGW_RESTORE_PAUSE_USEC);
        assert_false(pause);
        /* Quiet for a while: a change is answered at once again, with a fresh burst. */
        now += 10 * NATGW_RESTORE_WINDOW_USEC;
        assert_int_equal(natgw_restore_limit_next(&l, now, &pause), now);
        assert_false(pause);
        for (int i = 0; i < NATGW_RESTORE_BURST - 1; i++) {
                natgw_restore_limit_record(&l, now);
                now += s;
                assert_int_equal(natgw_restore_limit_next(&l, now, &pause), now);
                assert_false(pause);
        }
        natgw_restore_limit_record(&l, now);
        assert_int_equal(natgw_restore_limit_next(&l, now + s, &pause), now + NATGW_RESTORE_PAUSE_USEC);
        assert_true(pause);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_other_sender_deletes_table),
                cmocka_unit_test(test_other_sender_flushes_chain),
                cmocka_unit_test(test_words),
                cmocka_unit_test(test_ignored),
                cmocka_unit_test(test_kernel_is_another_sender),
                cmocka_unit_test(test_truncated),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_garbage),
                cmocka_unit_test(test_captured),
                cmocka_unit_test(test_restore_limit),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

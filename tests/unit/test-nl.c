/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The netlink transport's pure parts (lib/nl.h) on buffers built by hand, as the kernel sends
 * them and as it must never be trusted to: acks with and without extended-ack attributes,
 * echoed requests whose length lies, truncated attributes and messages; the ack and dump walks;
 * and the mapping of a kernel error back to the config entry that made the failed element.
 */

#include <arpa/inet.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "conf.h"
#include "nft-netlink.h"
#include "nft-plan.h"
#include "nl.h"
#include "util.h"

#include "fuzz-seed.h"

#include "conf-test.h"

/* ---- building messages byte by byte ---- */

struct buf {
        uint8_t b[1024];
        size_t len;
};

static void *put(struct buf *m, const void *data, size_t len) {
        void *at = m->b + m->len;

        assert_true(m->len + NLMSG_ALIGN(len) <= sizeof(m->b));
        memset(at, 0, NLMSG_ALIGN(len));
        if (data)
                memcpy(at, data, len);
        m->len += NLMSG_ALIGN(len);
        return at;
}

static void put_attr(struct buf *m, uint16_t type, const void *data, size_t len) {
        struct nlattr a = { .nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type };

        put(m, &a, sizeof(a));
        if (len)
                put(m, data, len);
}

/* An NLMSG_ERROR for @seq with @error; @echo_len > 0: the request's echoed header says so,
 * and @echo_len - 16 bytes of its payload follow (uncapped). */
static struct nlmsghdr *put_error(struct buf *m, uint32_t seq, uint32_t portid, int32_t error, uint16_t flags,
                                  uint32_t echo_len, size_t echo_payload) {
        struct nlmsghdr *nlh = put(m, NULL, sizeof(*nlh));
        struct nlmsgerr e = { .error = error, .msg = { .nlmsg_len = echo_len, .nlmsg_seq = seq } };

        *nlh = (struct nlmsghdr){ .nlmsg_type = NLMSG_ERROR, .nlmsg_flags = flags, .nlmsg_seq = seq,
                                  .nlmsg_pid = portid };
        put(m, &e, sizeof(e));
        if (echo_payload)
                put(m, NULL, echo_payload);
        return nlh;
}

/* Close @nlh at the end of @m. */
static void end_msg(struct buf *m, struct nlmsghdr *nlh) {
        nlh->nlmsg_len = (uint32_t)(m->b + m->len - (uint8_t *)nlh);
}

/* Parse a heap copy of exactly @len bytes: ASan catches a read past the end. */
static int parse_exact(const struct buf *m, size_t len, struct natgw_nl_ack *a) {
        uint8_t *copy = malloc(len);
        int r;

        assert_non_null(copy);
        memcpy(copy, m->b, len);
        ((struct nlmsghdr *)copy)->nlmsg_len = (uint32_t)MIN(len, ((const struct nlmsghdr *)m->b)->nlmsg_len);
        r = natgw_nl_ack_parse((const struct nlmsghdr *)copy, a);
        free(copy);
        return r;
}

static const char kmsg[] = "Could not process rule";

/* ---- the ack parser ---- */

static void test_ack_plain(void **state) {
        struct buf m = {};
        struct natgw_nl_ack a;
        struct nlmsghdr *nlh = put_error(&m, 42, 7, 0, NLM_F_CAPPED, 0, 0);

        end_msg(&m, nlh);
        assert_int_equal(parse_exact(&m, m.len, &a), 0);
        assert_int_equal(a.seq, 42);
        assert_int_equal(a.portid, 7);
        assert_int_equal(a.error, 0);
        assert_int_equal(a.offset, UINT32_MAX);
        assert_string_equal(a.msg, "");
}

static void test_ack_ext_capped(void **state) {
        struct buf m = {};
        struct natgw_nl_ack a;
        uint32_t off = 52;
        struct nlmsghdr *nlh = put_error(&m, 9, 7, -ENOENT, NLM_F_CAPPED | NLM_F_ACK_TLVS, 300, 0);

        put_attr(&m, NLMSGERR_ATTR_MSG, kmsg, sizeof(kmsg));
        put_attr(&m, NLMSGERR_ATTR_OFFS, &off, sizeof(off));
        end_msg(&m, nlh);
        assert_int_equal(parse_exact(&m, m.len, &a), 0);
        assert_int_equal(a.error, -ENOENT);
        assert_int_equal(a.offset, 52);
        assert_string_equal(a.msg, kmsg);
}

static void test_ack_ext_uncapped(void **state) {
        struct buf m = {};
        struct natgw_nl_ack a;
        uint32_t off = 20;
        /* A 38-byte request echoed: 22 bytes of payload, padded to 24. */
        struct nlmsghdr *nlh = put_error(&m, 9, 7, -EEXIST, NLM_F_ACK_TLVS, 38, 22);

        put_attr(&m, NLMSGERR_ATTR_OFFS, &off, sizeof(off));
        put_attr(&m, NLMSGERR_ATTR_MSG, kmsg, sizeof(kmsg));
        end_msg(&m, nlh);
        assert_int_equal(parse_exact(&m, m.len, &a), 0);
        assert_int_equal(a.error, -EEXIST);
        assert_int_equal(a.offset, 20);
        assert_string_equal(a.msg, kmsg);
}

static void test_ack_echoed_length_lies(void **state) {
        uint32_t lens[] = { 0, 4, 15, 1000, UINT32_MAX };
        uint32_t off = 20;

        for (size_t i = 0; i < ELEMENTSOF(lens); i++) {
                struct buf m = {};
                struct natgw_nl_ack a;
                struct nlmsghdr *nlh = put_error(&m, 9, 7, -EINVAL, NLM_F_ACK_TLVS, lens[i], 0);

                put_attr(&m, NLMSGERR_ATTR_OFFS, &off, sizeof(off));
                end_msg(&m, nlh);
                /* The error stands; where the extended ack begins is unknown, so none is read. */
                assert_int_equal(parse_exact(&m, m.len, &a), 0);
                assert_int_equal(a.error, -EINVAL);
                assert_int_equal(a.offset, UINT32_MAX);
                assert_string_equal(a.msg, "");
        }
}

static void test_ack_truncated_and_empty_attrs(void **state) {
        struct buf m = {};
        struct natgw_nl_ack a;
        uint32_t off = 20;
        struct nlmsghdr *nlh = put_error(&m, 9, 7, -EINVAL, NLM_F_CAPPED | NLM_F_ACK_TLVS, 0, 0);
        struct nlattr *last;

        put_attr(&m, NLMSGERR_ATTR_MSG, NULL, 0);         /* zero-length message: nothing */
        put_attr(&m, NLMSGERR_ATTR_OFFS, NULL, 0);        /* zero-length offset: none */
        put_attr(&m, NLMSGERR_ATTR_OFFS, &off, 2);        /* a short offset: none */
        last = (struct nlattr *)(m.b + m.len);
        put_attr(&m, NLMSGERR_ATTR_MSG, kmsg, sizeof(kmsg));
        end_msg(&m, nlh);
        assert_int_equal(parse_exact(&m, m.len, &a), 0);
        assert_int_equal(a.offset, UINT32_MAX);
        assert_string_equal(a.msg, kmsg);

        /* The last attribute claims more than the message holds: it is not read. */
        last->nla_len = 200;
        assert_int_equal(parse_exact(&m, m.len, &a), 0);
        assert_string_equal(a.msg, "");
        /* An attribute of length 0 ends the walk (no step forward is possible). */
        last->nla_len = 0;
        assert_int_equal(parse_exact(&m, m.len, &a), 0);
        assert_string_equal(a.msg, "");

        /* The message itself cut inside its last attribute: nothing past the cut is read. */
        last->nla_len = (uint16_t)(NLA_HDRLEN + sizeof(kmsg));
        assert_int_equal(parse_exact(&m, m.len - 8, &a), 0);
        assert_string_equal(a.msg, "");
}

static void test_ack_message_not_terminated(void **state) {
        struct buf m = {};
        struct natgw_nl_ack a;
        char big[200];
        struct nlmsghdr *nlh = put_error(&m, 9, 7, -EINVAL, NLM_F_CAPPED | NLM_F_ACK_TLVS, 0, 0);

        memset(big, 'x', sizeof(big));
        put_attr(&m, NLMSGERR_ATTR_MSG, big, sizeof(big));
        end_msg(&m, nlh);
        assert_int_equal(parse_exact(&m, m.len, &a), 0);
        assert_int_equal(strlen(a.msg), sizeof(a.msg) - 1);
}

static void test_ack_refused(void **state) {
        struct buf m = {};
        struct natgw_nl_ack a;
        struct nlmsghdr *nlh = put_error(&m, 9, 7, 5, NLM_F_CAPPED, 0, 0);

        end_msg(&m, nlh);
        /* An errno no caller could negate. */
        assert_int_equal(parse_exact(&m, m.len, &a), 0);
        assert_int_equal(a.error, -EPROTO);
        ((struct nlmsgerr *)NLMSG_DATA(nlh))->error = -100000;
        assert_int_equal(parse_exact(&m, m.len, &a), 0);
        assert_int_equal(a.error, -EPROTO);
        /* Too short for its error, or not an error at all. */
        assert_int_equal(parse_exact(&m, NLMSG_HDRLEN + 8, &a), -EPROTO);
        nlh->nlmsg_type = NLMSG_DONE;
        assert_int_equal(parse_exact(&m, m.len, &a), -EPROTO);
}

/* ---- sequence numbers ---- */

static void test_seq_never_zero(void **state) {
        struct natgw_nl nl = { .fd = -1, .seq = UINT32_MAX - 2 };

        /* A range that fits below the wrap is handed out as is. */
        assert_int_equal(natgw_nl_seq_peek(&nl), UINT32_MAX - 1);
        assert_int_equal(natgw_nl_seq(&nl, 2), UINT32_MAX - 1);
        /* Then the numbers go on at 1, not 0. */
        assert_int_equal(natgw_nl_seq_peek(&nl), 1);
        assert_int_equal(natgw_nl_seq(&nl, 1), 1);
        /* A range that would hold 0 starts at 1 instead. */
        nl.seq = UINT32_MAX - 2;
        assert_int_equal(natgw_nl_seq(&nl, 5), 1);
        assert_int_equal(natgw_nl_seq(&nl, 1), 6);
}

/* ---- the ack walk ---- */

struct seen {
        uint32_t seq[16];
        int error[16];
        size_t n;
        size_t stop_after; /* 0: never */
};

static int on_ack(const struct natgw_nl_ack *a, void *userdata) {
        struct seen *s = userdata;

        assert_true(s->n < ELEMENTSOF(s->seq));
        s->seq[s->n] = a->seq;
        s->error[s->n++] = a->error;
        return s->stop_after && s->n == s->stop_after;
}

static void test_ack_walk(void **state) {
        struct buf m = {};
        struct seen s = {};
        struct nlmsghdr *nlh, *last;

        end_msg(&m, put_error(&m, 10, 7, 0, NLM_F_CAPPED, 0, 0));
        end_msg(&m, put_error(&m, 11, 8, 0, NLM_F_CAPPED, 0, 0));       /* another port's */
        end_msg(&m, put_error(&m, 99, 7, 0, NLM_F_CAPPED, 0, 0));       /* an earlier request's */
        nlh = put(&m, NULL, sizeof(*nlh));                              /* no ack at all */
        *nlh = (struct nlmsghdr){ .nlmsg_type = NLMSG_NOOP, .nlmsg_seq = 11, .nlmsg_pid = 7 };
        end_msg(&m, nlh);
        end_msg(&m, put_error(&m, 12, 7, -ENOENT, NLM_F_CAPPED, 0, 0));
        last = put_error(&m, 11, 7, 0, NLM_F_CAPPED, 0, 0);
        end_msg(&m, last);

        assert_int_equal(natgw_nl_ack_walk(m.b, m.len, 7, 10, 3, on_ack, &s), 0);
        assert_int_equal(s.n, 3);
        assert_int_equal(s.seq[0], 10);
        assert_int_equal(s.seq[1], 12);
        assert_int_equal(s.error[1], -ENOENT);
        assert_int_equal(s.seq[2], 11);

        /* The callback ends the walk. */
        s = (struct seen){ .stop_after = 1 };
        assert_int_equal(natgw_nl_ack_walk(m.b, m.len, 7, 10, 3, on_ack, &s), 1);
        assert_int_equal(s.n, 1);

        /* The last message longer than the buffer, or cut short: the walk stops before it. */
        last->nlmsg_len = 4000;
        s = (struct seen){};
        assert_int_equal(natgw_nl_ack_walk(m.b, m.len, 7, 10, 3, on_ack, &s), 0);
        assert_int_equal(s.n, 2);
        last->nlmsg_len = 3;
        s = (struct seen){};
        assert_int_equal(natgw_nl_ack_walk(m.b, m.len, 7, 10, 3, on_ack, &s), 0);
        assert_int_equal(s.n, 2);
        s = (struct seen){};
        assert_int_equal(natgw_nl_ack_walk(m.b, m.len - 1, 7, 10, 3, on_ack, &s), 0);
        assert_int_equal(s.n, 2);
        /* Sequence numbers that wrap: 10 and 11 are among the 14 from 0xfffffffe on, 12 is not. */
        last->nlmsg_len = NLMSG_HDRLEN + sizeof(struct nlmsgerr);
        s = (struct seen){};
        assert_int_equal(natgw_nl_ack_walk(m.b, m.len, 7, 0xfffffffe, 14, on_ack, &s), 0);
        assert_int_equal(s.n, 2);
}

/* ---- the dump walk ---- */

static int on_msg(const struct nlmsghdr *nlh, void *userdata) {
        size_t *n = userdata;

        (*n)++;
        return nlh->nlmsg_type == 0x999 ? -EBADMSG : 0;
}

static struct nlmsghdr *put_msg(struct buf *m, uint16_t type, uint16_t flags, uint32_t seq, uint32_t portid) {
        struct nlmsghdr *nlh = put(m, NULL, sizeof(*nlh));

        *nlh = (struct nlmsghdr){ .nlmsg_type = type, .nlmsg_flags = flags | NLM_F_MULTI, .nlmsg_seq = seq,
                                  .nlmsg_pid = portid };
        put(m, "abcd", 4);
        end_msg(m, nlh);
        return nlh;
}

static void test_dump_walk(void **state) {
        struct buf m = {};
        struct nlmsghdr *done, *mid;
        bool intr = false;
        size_t n = 0;

        put_msg(&m, 0x100, 0, 5, 7);
        put_msg(&m, 0x100, 0, 6, 7);    /* another request's */
        put_msg(&m, 0x100, 0, 5, 8);    /* another port's */
        mid = put_msg(&m, 0x100, NLM_F_DUMP_INTR, 5, 7);
        done = put_msg(&m, NLMSG_DONE, 0, 5, 7);
        put_msg(&m, 0x100, 0, 5, 7);    /* after the end: not read */

        assert_int_equal(natgw_nl_dump_walk(m.b, m.len, 7, 5, &intr, on_msg, &n), 1);
        assert_int_equal(n, 2);
        assert_true(intr);

        /* Cut before NLMSG_DONE, or inside it: more is to come. */
        n = 0;
        intr = false;
        assert_int_equal(natgw_nl_dump_walk(m.b, (size_t)((uint8_t *)done - m.b), 7, 5, &intr, on_msg, &n), 0);
        assert_int_equal(n, 2);
        n = 0;
        assert_int_equal(natgw_nl_dump_walk(m.b, (size_t)((uint8_t *)done - m.b) + 10, 7, 5, &intr, on_msg, &n), 0);
        assert_int_equal(n, 2);

        /* A length that lies: the walk stops at that message. */
        mid->nlmsg_len = 10000;
        n = 0;
        assert_int_equal(natgw_nl_dump_walk(m.b, m.len, 7, 5, &intr, on_msg, &n), 0);
        assert_int_equal(n, 1);
        mid->nlmsg_len = 8;
        n = 0;
        assert_int_equal(natgw_nl_dump_walk(m.b, m.len, 7, 5, &intr, on_msg, &n), 0);
        assert_int_equal(n, 1);

        /* The callback's error ends the walk. */
        mid->nlmsg_len = NLMSG_HDRLEN + 4;
        mid->nlmsg_type = 0x999;
        n = 0;
        assert_int_equal(natgw_nl_dump_walk(m.b, m.len, 7, 5, &intr, on_msg, &n), -EBADMSG);
        assert_int_equal(n, 2);
}

static void test_dump_walk_error(void **state) {
        struct buf m = {};
        bool intr = false;
        size_t n = 0;

        put_msg(&m, 0x100, 0, 5, 7);
        end_msg(&m, put_error(&m, 5, 7, -ENOENT, NLM_F_CAPPED, 0, 0));
        assert_int_equal(natgw_nl_dump_walk(m.b, m.len, 7, 5, &intr, on_msg, &n), -ENOENT);
        assert_int_equal(n, 1);
        /* An ack (error 0) ends an answer that was no dump. */
        m = (struct buf){};
        end_msg(&m, put_error(&m, 5, 7, 0, NLM_F_CAPPED, 0, 0));
        assert_int_equal(natgw_nl_dump_walk(m.b, m.len, 7, 5, &intr, on_msg, &n), 1);
        /* An error too short for its errno. */
        m = (struct buf){};
        put_msg(&m, NLMSG_ERROR, 0, 5, 7);
        assert_int_equal(natgw_nl_dump_walk(m.b, m.len, 7, 5, &intr, on_msg, &n), -EPROTO);
}

/* ---- a kernel error mapped back to its entry ---- */

static const char fwd_conf[] =
        "version = 1;\n"                                                                                  /* 1 */
        "forward = (\n"                                                                                   /* 2 */
        "  { name = \"ssh\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 22; to = \"192.168.1.10\"; },\n"  /* 3 */
        "  { name = \"web\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; },\n" /* 4 */
        "  { name = \"game\"; in_interface = \"eth0\"; proto = \"udp\"; port = 6000; to = \"192.168.1.20\"; }\n" /* 5 */
        ");\n";

/* The offset of the element of @nlh whose key ends in (@proto, @port), as nft_set_elem_list
 * encodes it: ... proto (1 byte, padded to 4), port (2 bytes, padded to 4). 0: none. */
static uint32_t element_offset(const struct nlmsghdr *nlh, uint8_t proto, uint16_t port) {
        const uint8_t *p = natgw_nlmsg_attrs(nlh, sizeof(struct nfgenmsg)), *end = natgw_nlmsg_end(nlh);
        const struct nlattr *list, *el, *a, *v;

        while ((list = natgw_nla_next(&p, end))) {
                const uint8_t *q = natgw_nla_data(list);

                if (natgw_nla_type(list) != NFTA_SET_ELEM_LIST_ELEMENTS)
                        continue;
                while ((el = natgw_nla_next(&q, natgw_nla_end(list)))) {
                        const uint8_t *r = natgw_nla_data(el);

                        while ((a = natgw_nla_next(&r, natgw_nla_end(el)))) {
                                const uint8_t *s = natgw_nla_data(a), *k;
                                uint16_t be = htons(port);

                                if (natgw_nla_type(a) != NFTA_SET_ELEM_KEY || !(v = natgw_nla_next(&s, natgw_nla_end(a))))
                                        continue;
                                k = (const uint8_t *)natgw_nla_data(v) + natgw_nla_len(v) - 8;
                                if (natgw_nla_len(v) >= 8 && k[0] == proto && memcmp(k + 4, &be, 2) == 0)
                                        return (uint32_t)((const uint8_t *)el - (const uint8_t *)nlh);
                        }
                }
        }
        return 0;
}

static void test_error_names_entry(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(fwd_conf);
        _cleanup_(natgw_plan_freep) struct natgw_plan *p = NULL;
        _cleanup_(natgw_batch_freep) struct natgw_batch *b = NULL;
        struct natgw_errors errors = {};
        const struct natgw_msg *m = NULL;
        struct natgw_nl_ack a;
        uint32_t off = 0;

        assert_int_equal(natgw_plan_build(c, &p, &errors), 0);
        assert_int_equal(natgw_batch_build(p, NULL, 100, 0, &b, NULL), 0);
        for (size_t i = 0; i < b->n_msgs && !off; i++) {
                m = &b->msgs[i];
                if (m->kind == NATGW_MSG_ELEMENTS && !m->twin != NATGW_TWIN_MAP)
                        off = element_offset((const struct nlmsghdr *)(b->buf + m->offset), IPPROTO_TCP, 8080);
        }
        assert_int_not_equal(off, 0);

        /* The kernel points at the element's key, inside the element. */
        a = (struct natgw_nl_ack){ .seq = m->seq, .error = -EEXIST, .offset = off + NLA_HDRLEN };
        snprintf(a.msg, sizeof(a.msg), "%s", kmsg);
        natgw_nft_report(b, p, &a, &errors);
        assert_int_equal(errors.n, 1);
        assert_int_equal(errors.v[0].line, 4);
        assert_string_equal(errors.v[0].entry, "web");
        assert_non_null(strstr(errors.v[0].message, "an element of map"));
        assert_non_null(strstr(errors.v[0].message, kmsg));
        natgw_errors_clear(&errors);

        /* An offset in the message's header names no element: the map, but no entry. */
        a.offset = 4;
        natgw_nft_report(b, p, &a, &errors);
        assert_int_equal(errors.n, 1);
        assert_int_equal(errors.v[0].line, 0);
        assert_null(errors.v[0].entry);
        natgw_errors_clear(&errors);

        /* A sequence number of no message of the batch: the batch as a whole. */
        a.seq = 5;
        natgw_nft_report(b, p, &a, &errors);
        assert_int_equal(errors.n, 1);
        assert_null(errors.v[0].entry);
        assert_non_null(strstr(errors.v[0].message, "the batch"));
        natgw_errors_clear(&errors);
}

/* ---- the counter dump ---- */

static void test_counters(void **state) {
        static uint8_t buf[4096];
        size_t len = read_seed("fuzz-nft-dump", "counters", buf, sizeof(buf));
        const uint8_t *p = buf;
        const struct nlmsghdr *nlh;
        struct natgw_nft_counter c;

        /* Two counters of table natgw (encoded by hand as the kernel sends them), then DONE. */
        nlh = natgw_nlmsg_next(&p, &len);
        assert_int_equal(natgw_nft_counter_parse(nlh, &c), 0);
        assert_string_equal(c.name, "web");
        assert_int_equal(c.packets, 3);
        assert_int_equal(c.bytes, 180);
        nlh = natgw_nlmsg_next(&p, &len);
        assert_int_equal(natgw_nft_counter_parse(nlh, &c), 0);
        assert_string_equal(c.name, "game");
        nlh = natgw_nlmsg_next(&p, &len);
        assert_int_equal(natgw_nft_counter_parse(nlh, &c), -EPROTO);

        /* Another table's counter, and a quota of table natgw: neither is ours to show. */
        len = read_seed("fuzz-nft-dump", "other-table", buf, sizeof(buf));
        p = buf;
        nlh = natgw_nlmsg_next(&p, &len);
        assert_int_equal(natgw_nft_counter_parse(nlh, &c), -ENOENT);
        nlh = natgw_nlmsg_next(&p, &len);
        assert_int_equal(natgw_nft_counter_parse(nlh, &c), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ack_plain),
                cmocka_unit_test(test_ack_ext_capped),
                cmocka_unit_test(test_ack_ext_uncapped),
                cmocka_unit_test(test_ack_echoed_length_lies),
                cmocka_unit_test(test_ack_truncated_and_empty_attrs),
                cmocka_unit_test(test_ack_message_not_terminated),
                cmocka_unit_test(test_ack_refused),
                cmocka_unit_test(test_seq_never_zero),
                cmocka_unit_test(test_ack_walk),
                cmocka_unit_test(test_dump_walk),
                cmocka_unit_test(test_dump_walk_error),
                cmocka_unit_test(test_error_names_entry),
                cmocka_unit_test(test_counters),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

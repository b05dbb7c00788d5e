/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Which conntrack entries a reload makes stale (lib/ct-stale.c), without the kernel: forwards
 * whose target, ports, clients, destination, interface or protocol changed, egress entries
 * whose pool, kind or precedence changed, entries natgwd never made, IPv6, and the shortcut
 * that skips the table when nothing relevant changed. A randomised comparison with a plain
 * reading of the rules (every entry against every config entry) checks the indexes.
 */

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "conf.h"
#include "ct-stale.h"
#include "util.h"

#include "conf-test.h"

/* ---- entries ---- */

static struct natgw_addr A(const char *s) {
        struct natgw_addr a = {};

        assert_int_equal(natgw_addr_parse(s, &a), 0);
        return a;
}

/* A forwarded flow: CLIENT:CPORT sent to GW:PORT, and TARGET:TPORT answers it. */
static struct natgw_ct_entry dnat(uint8_t proto, const char *client, uint16_t cport, const char *gw, uint16_t port,
                                  const char *target, uint16_t tport) {
        struct natgw_ct_entry e = {
                .family = A(client).family,
                .l4proto = proto,
                .orig_src = A(client),
                .orig_sport = cport,
                .orig_dst = A(gw),
                .orig_dport = port,
                .reply_src = A(target),
                .reply_sport = tport,
                .reply_dst = A(client),
                .reply_dport = cport,
                .dst_nat = true,
        };

        return e;
}

/* An egress flow: SRC:SPORT sent to DST:DPORT, leaving with source XLAT:XPORT. */
static struct natgw_ct_entry snat(uint8_t proto, const char *src, uint16_t sport, const char *dst, uint16_t dport,
                                  const char *xlat, uint16_t xport) {
        struct natgw_ct_entry e = {
                .family = A(src).family,
                .l4proto = proto,
                .orig_src = A(src),
                .orig_sport = sport,
                .orig_dst = A(dst),
                .orig_dport = dport,
                .reply_src = A(dst),
                .reply_sport = dport,
                .reply_dst = A(xlat),
                .reply_dport = xport,
                .src_nat = true,
        };

        return e;
}

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP

/* A flow nothing translated: CLIENT:CPORT sent to DST:PORT (the gateway, or a host behind it). */
static struct natgw_ct_entry plain(uint8_t proto, const char *client, uint16_t cport, const char *dst, uint16_t port,
                                  uint8_t tcp_state) {
        struct natgw_ct_entry e = dnat(proto, client, cport, dst, port, dst, port);

        e.dst_nat = false;
        e.tcp_state = tcp_state;
        return e;
}

#define NO_TCP 0xff
#define TCP_SYN_SENT 1
#define TCP_ESTABLISHED 3
#define TCP_TIME_WAIT 7

/* ---- configs ---- */

#define CONF(...) "version = 1;\n" __VA_ARGS__

struct pair {
        struct natgw_config *old, *new;
        struct natgw_ct_stale *s;
};

static struct pair pair_new(const char *old, const char *new) {
        struct pair p = { .old = load_ok(old), .new = load_ok(new) };

        assert_int_equal(natgw_ct_stale_new(p.old, p.new, &p.s), 0);
        return p;
}

static void pair_free(struct pair *p) {
        natgw_ct_stale_free(p->s);
        natgw_config_free(p->old);
        natgw_config_free(p->new);
}

static bool is_stale(enum natgw_ct_verdict v) {
        return v == NATGW_CT_STALE_ADDED || v == NATGW_CT_STALE_CHANGED || v == NATGW_CT_STALE_REMOVED ||
               v == NATGW_CT_STALE_DENIED;
}

/* Whether @e is stale when @old is replaced by @new: its entry is to be deleted. */
static bool stale(const struct pair *p, const struct natgw_ct_entry e) {
        bool r = is_stale(natgw_ct_stale_classify(p->s, &e, NULL));

        /* The shortcut must never skip the table when something is stale. */
        if (r)
                assert_true(natgw_ct_stale_possible(p->s));
        return r;
}

#define FWD_GAME_66 "forward = ( { name = \"game\"; in_interface = \"eth0\"; proto = \"udp\"; port = 6000; " \
                    "to = \"192.168.1.66\"; } );\n"
#define FWD_GAME_10 "forward = ( { name = \"game\"; in_interface = \"eth0\"; proto = \"udp\"; port = 6000; " \
                    "to = \"192.168.1.10\"; } );\n"

/* The verdict on @e, and the name behind it (checked against @name, NULL: none). */
static enum natgw_ct_verdict classify(const struct pair *p, const struct natgw_ct_entry e, const char *name) {
        const char *got = NULL;
        enum natgw_ct_verdict v = natgw_ct_stale_classify(p->s, &e, &got);

        if (name)
                assert_string_equal(got, name);
        else
                assert_null(got);
        return v;
}

/* ---- forwards ---- */

static void test_forward_target_changed(void **state) {
        struct pair p = pair_new(CONF(FWD_GAME_66), CONF(FWD_GAME_10));

        assert_true(natgw_ct_stale_possible(p.s));
        assert_true(stale(&p, dnat(UDP, "198.51.100.7", 40000, "203.0.113.1", 6000, "192.168.1.66", 6000)));
        /* The flow as the new config makes it is not the old config's. */
        assert_false(stale(&p, dnat(UDP, "198.51.100.7", 40000, "203.0.113.1", 6000, "192.168.1.10", 6000)));
        /* Without the DNAT flag, whatever the tuples say, it is no forward of ours. */
        {
                struct natgw_ct_entry e = dnat(UDP, "198.51.100.7", 40000, "203.0.113.1", 6000, "192.168.1.66", 6000);

                e.dst_nat = false;
                assert_false(stale(&p, e));
        }
        pair_free(&p);
}

static void test_forward_removed_unchanged_renamed(void **state) {
        static const char old[] = CONF("forward = (\n"
                                       "  { name = \"game\"; in_interface = \"eth0\"; proto = \"udp\"; port = 6000; to = \"192.168.1.66\"; },\n"
                                       "  { name = \"web\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; }\n"
                                       ");\n");
        /* Renamed and reordered, and a forward added: nothing of the old config is gone. */
        static const char renamed[] = CONF("forward = (\n"
                                           "  { name = \"www\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; },\n"
                                           "  { name = \"new\"; proto = \"tcp\"; port = 22; to = \"192.168.1.10\"; },\n"
                                           "  { name = \"play\"; in_interface = \"eth0\"; proto = \"udp\"; port = 6000; to = \"192.168.1.66\"; }\n"
                                           ");\n");
        static const char removed[] = CONF("forward = (\n"
                                           "  { name = \"web\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; }\n"
                                           ");\n");
        struct natgw_ct_entry game = dnat(UDP, "198.51.100.7", 40000, "203.0.113.1", 6000, "192.168.1.66", 6000);
        struct natgw_ct_entry web = dnat(TCP, "198.51.100.7", 40001, "203.0.113.1", 8080, "192.168.1.66", 80);
        struct pair p;

        p = pair_new(old, old);
        assert_false(natgw_ct_stale_possible(p.s));
        assert_false(stale(&p, game));
        assert_false(stale(&p, web));
        pair_free(&p);

        /* The forward added ("new") may take untranslated flows: the table must be read. */
        p = pair_new(old, renamed);
        assert_true(natgw_ct_stale_possible(p.s));
        assert_false(stale(&p, game));
        assert_false(stale(&p, web));
        pair_free(&p);

        p = pair_new(old, removed);
        assert_true(natgw_ct_stale_possible(p.s));
        assert_true(stale(&p, game));
        assert_false(stale(&p, web));
        pair_free(&p);

        /* Everything removed: the section may go as well. */
        p = pair_new(old, CONF(""));
        assert_true(stale(&p, game));
        assert_true(stale(&p, web));
        pair_free(&p);

        /* From no forwards at all, no translation can be stale (only untranslated flows). */
        p = pair_new(CONF(""), old);
        assert_true(natgw_ct_stale_possible(p.s));
        assert_false(stale(&p, game));
        pair_free(&p);
}

/* The case: a client keeps sending to port 7300, then a forward of it is added. */
static void test_forward_added(void **state) {
        static const char none[] = CONF("forward = ( { name = \"web\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; } );");
        static const char added[] = CONF("forward = (\n"
                                         "  { name = \"web\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; },\n"
                                         "  { name = \"udp7300\"; in_interface = \"eth0\"; proto = \"tcp+udp\"; port = ( 7300, \"7400-7410\" );\n"
                                         "    to = \"192.168.1.66\"; allow_from = \"198.51.100.0/24\"; }\n"
                                         ");");
        struct pair p = pair_new(none, added);

        assert_true(natgw_ct_stale_possible(p.s));
        assert_int_equal(classify(&p, plain(UDP, "198.51.100.7", 40000, "203.0.113.1", 7300, NO_TCP), "udp7300"),
                         NATGW_CT_STALE_ADDED);
        assert_int_equal(classify(&p, plain(UDP, "198.51.100.7", 40000, "203.0.113.1", 7405, NO_TCP), "udp7300"),
                         NATGW_CT_STALE_ADDED);
        /* Outside the ports, outside allow_from, another family: untouched. */
        assert_int_equal(classify(&p, plain(UDP, "198.51.100.7", 40000, "203.0.113.1", 7301, NO_TCP), NULL), NATGW_CT_KEEP);
        assert_int_equal(classify(&p, plain(UDP, "203.0.113.100", 40000, "203.0.113.1", 7300, NO_TCP), NULL), NATGW_CT_KEEP);
        assert_int_equal(classify(&p, plain(UDP, "2001:db8:2::7", 40000, "2001:db8:1::1", 7300, NO_TCP), NULL), NATGW_CT_KEEP);
        /* TCP: a live connection (to sshd on the gateway, say) is kept and reported; a handshake
         * that went nowhere and a closed one are deleted. */
        {
                static const struct {
                        uint8_t state;
                        enum natgw_ct_verdict want;
                } tcp[] = {
                        { TCP_ESTABLISHED, NATGW_CT_KEEP_ESTABLISHED },
                        { NO_TCP, NATGW_CT_KEEP_ESTABLISHED }, /* not known: as if live */
                        { TCP_SYN_SENT, NATGW_CT_STALE_ADDED },
                        { TCP_TIME_WAIT, NATGW_CT_STALE_ADDED },
                };

                for (size_t i = 0; i < ELEMENTSOF(tcp); i++)
                        assert_int_equal(classify(&p, plain(TCP, "198.51.100.7", 40000, "203.0.113.1", 7300, tcp[i].state), "udp7300"),
                                         tcp[i].want);
        }
        /* A flow some other rule translated was not left untranslated. */
        {
                struct natgw_ct_entry e = plain(UDP, "198.51.100.7", 40000, "203.0.113.1", 7300, NO_TCP);

                e.src_nat = true;
                e.reply_dst = A("203.0.113.99");
                assert_int_equal(classify(&p, e, NULL), NATGW_CT_KEEP);
                e = dnat(UDP, "198.51.100.7", 40000, "203.0.113.1", 7300, "192.168.1.20", 7300);
                assert_int_equal(classify(&p, e, NULL), NATGW_CT_KEEP);
        }
        pair_free(&p);

        /* Widened: more ports, a wider allow_from, no destination, no in_interface. */
        p = pair_new(CONF("forward = ( { name = \"g\"; in_interface = \"eth0\"; proto = \"udp\"; port = 7300; to = \"192.168.1.66\";\n"
                          "  destination = \"203.0.113.1\"; allow_from = \"198.51.100.0/25\"; } );"),
                     CONF("forward = ( { name = \"g\"; proto = \"udp\"; port = \"7300-7301\"; to = \"192.168.1.66\";\n"
                          "  allow_from = \"198.51.100.0/24\"; } );"));
        {
                /* Admitted before on eth0 and untranslated: it came in elsewhere, where g now
                 * takes it too; then a new port, a new client, a new destination. */
                static const struct {
                        const char *client, *dst;
                        uint16_t port;
                } taken[] = {
                        { "198.51.100.7", "203.0.113.1", 7300 },
                        { "198.51.100.7", "203.0.113.1", 7301 },
                        { "198.51.100.200", "203.0.113.1", 7300 },
                        { "198.51.100.7", "203.0.113.10", 7300 },
                };

                for (size_t i = 0; i < ELEMENTSOF(taken); i++)
                        assert_int_equal(classify(&p, plain(UDP, taken[i].client, 40000, taken[i].dst, taken[i].port, NO_TCP), "g"),
                                         NATGW_CT_STALE_ADDED);
        }
        pair_free(&p);

        /* Narrowed to an interface: whatever g missed before, it misses now. */
        p = pair_new(CONF("forward = ( { name = \"g\"; proto = \"udp\"; port = 7300; to = \"192.168.1.66\"; } );"),
                     CONF("forward = ( { name = \"g\"; in_interface = \"eth0\"; proto = \"udp\"; port = 7300; to = \"192.168.1.10\"; } );"));
        assert_int_equal(classify(&p, plain(UDP, "198.51.100.7", 40000, "203.0.113.1", 7300, NO_TCP), NULL), NATGW_CT_KEEP);
        assert_int_equal(classify(&p, dnat(UDP, "198.51.100.7", 40000, "203.0.113.1", 7300, "192.168.1.66", 7300), "g"),
                         NATGW_CT_STALE_CHANGED);
        pair_free(&p);
}

/* A flow that left untranslated until an egress entry for its source was added. */
static void test_egress_added(void **state) {
        static const char lan[] = CONF("masquerade = ( { name = \"lan\"; source = \"192.168.1.0/25\"; out_interface = \"eth0\"; } );");
        static const char more[] = CONF("masquerade = ( { name = \"lan\"; source = \"192.168.1.0/25\"; out_interface = \"eth0\"; } );\n"
                                        "snat = ( { name = \"dmz\"; source = \"192.168.1.64/26\"; out_interface = \"eth0\"; to = \"203.0.113.10\"; },\n"
                                        "         { name = \"hi\"; source = \"192.168.1.128/25\"; out_interface = \"eth0\"; to = \"203.0.113.10\"; } );");
        struct natgw_ct_entry e = plain(UDP, "192.168.1.200", 40000, "203.0.113.100", 53, NO_TCP);
        struct pair p = pair_new(lan, more);

        assert_int_equal(classify(&p, e, "hi"), NATGW_CT_STALE_ADDED);
        e.l4proto = IPPROTO_ICMP;
        assert_int_equal(classify(&p, e, "hi"), NATGW_CT_STALE_ADDED);
        e = plain(TCP, "192.168.1.200", 40000, "203.0.113.100", 22, TCP_ESTABLISHED);
        assert_int_equal(classify(&p, e, "hi"), NATGW_CT_KEEP_ESTABLISHED);
        /* .70 was masqueraded by lan on eth0 already: an untranslated .70 flow left elsewhere. */
        assert_int_equal(classify(&p, plain(UDP, "192.168.1.70", 40000, "203.0.113.100", 53, NO_TCP), NULL), NATGW_CT_KEEP);
        /* The masqueraded .70 flow: dmz takes the address over, lan is unchanged. */
        assert_int_equal(classify(&p, snat(UDP, "192.168.1.70", 40000, "203.0.113.100", 53, "203.0.113.1", 40000), "lan"),
                         NATGW_CT_STALE_ADDED);
        pair_free(&p);

        p = pair_new(lan, CONF(""));
        assert_int_equal(classify(&p, snat(UDP, "192.168.1.70", 40000, "203.0.113.100", 53, "203.0.113.1", 40000), "lan"),
                         NATGW_CT_STALE_REMOVED);
        pair_free(&p);
        p = pair_new(lan, CONF("snat = ( { name = \"lan\"; source = \"192.168.1.0/25\"; out_interface = \"eth0\"; to = \"203.0.113.10\"; } );"));
        assert_int_equal(classify(&p, snat(UDP, "192.168.1.70", 40000, "203.0.113.100", 53, "203.0.113.1", 40000), "lan"),
                         NATGW_CT_STALE_CHANGED);
        pair_free(&p);
}

static void test_forward_target_port(void **state) {
        struct pair p = pair_new(CONF("forward = ( { name = \"web\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; } );"),
                                 CONF("forward = ( { name = \"web\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:81\"; } );"));

        assert_true(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 8080, "192.168.1.66", 80)));
        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 8080, "192.168.1.66", 81)));
        /* The old forward rewrote the port: a flow that kept port 8080 was never its. */
        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 8080, "192.168.1.66", 8080)));
        pair_free(&p);
}

static void test_forward_port_range_keep(void **state) {
        struct pair p = pair_new(CONF("forward = ( { name = \"data\"; proto = \"tcp\"; port = \"50000-50010\"; to = \"192.168.1.66\"; } );"),
                                 CONF("forward = ( { name = \"data\"; proto = \"tcp\"; port = \"50000-50004\"; to = \"192.168.1.66\"; } );"));

        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 50000, "192.168.1.66", 50000)));
        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 50004, "192.168.1.66", 50004)));
        assert_true(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 50005, "192.168.1.66", 50005)));
        assert_true(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 50010, "192.168.1.66", 50010)));
        /* Outside the old range, or with the port changed: not the forward's doing. */
        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 50011, "192.168.1.66", 50011)));
        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 50006, "192.168.1.66", 80)));
        /* Same ports over UDP: the forward is TCP only. */
        assert_false(stale(&p, dnat(UDP, "198.51.100.7", 40000, "203.0.113.1", 50006, "192.168.1.66", 50006)));
        pair_free(&p);
}

static void test_forward_port_single(void **state) {
        struct pair p = pair_new(CONF("forward = ( { name = \"alt\"; proto = \"tcp\"; port = ( 8081, \"8090-8091\" ); to = \"192.168.1.66:80\"; } );"),
                                 CONF("forward = ( { name = \"alt\"; proto = \"tcp\"; port = [ \"8090-8091\" ]; to = \"192.168.1.66:80\"; } );"));

        assert_true(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 8081, "192.168.1.66", 80)));
        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 8090, "192.168.1.66", 80)));
        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 8091, "192.168.1.66", 80)));
        pair_free(&p);
}

static void test_forward_port_range_to_range(void **state) {
        static const char old[] = CONF("forward = ( { name = \"shift\"; proto = \"tcp\"; port = \"7000-7009\"; to = \"192.168.1.66:9000-9009\"; } );");
        struct pair p;

        p = pair_new(old, CONF("forward = ( { name = \"shift\"; proto = \"tcp\"; port = \"7000-7009\"; to = \"192.168.1.66:9100-9109\"; } );"));
        assert_true(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 7003, "192.168.1.66", 9003)));
        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 7003, "192.168.1.66", 9103)));
        /* The offset into the range must match: 7003 never went to 9004. */
        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 7003, "192.168.1.66", 9004)));
        pair_free(&p);

        /* The same range written as a different but equal mapping: unchanged. */
        p = pair_new(old, CONF("forward = ( { name = \"moved\"; proto = \"tcp\"; port = \"7000-7009\"; to = \"192.168.1.66:9000-9009\"; } );"));
        assert_false(natgw_ct_stale_possible(p.s));
        pair_free(&p);

        /* Range shifted by one: each old port now maps one further. */
        p = pair_new(old, CONF("forward = ( { name = \"shift\"; proto = \"tcp\"; port = \"7001-7010\"; to = \"192.168.1.66:9000-9009\"; } );"));
        assert_true(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 7001, "192.168.1.66", 9001)));
        assert_true(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 7000, "192.168.1.66", 9000)));
        pair_free(&p);

        /* A range onto one port, and the reverse, are different translations too. */
        p = pair_new(old, CONF("forward = ( { name = \"shift\"; proto = \"tcp\"; port = \"7000-7009\"; to = \"192.168.1.66:9000\"; } );"));
        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 7000, "192.168.1.66", 9000)));
        assert_true(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 7001, "192.168.1.66", 9001)));
        pair_free(&p);
}

static void test_forward_allow_from(void **state) {
        static const char old[] = CONF("forward = ( { name = \"ftp\"; proto = \"tcp\"; port = 2121; to = \"192.168.1.30\"; "
                                       "allow_from = [ \"198.51.100.0/24\", \"192.0.2.0/24\" ]; } );");
        struct pair p;

        /* Narrowed: clients outside the new prefix lose the forward. */
        p = pair_new(old, CONF("forward = ( { name = \"ftp\"; proto = \"tcp\"; port = 2121; to = \"192.168.1.30\"; "
                               "allow_from = [ \"198.51.100.0/25\" ]; } );"));
        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 2121, "192.168.1.30", 2121)));
        assert_true(stale(&p, dnat(TCP, "198.51.100.200", 40000, "203.0.113.1", 2121, "192.168.1.30", 2121)));
        /* A client the old forward did not admit was translated by something else. */
        assert_false(stale(&p, dnat(TCP, "203.0.113.100", 40000, "203.0.113.1", 2121, "192.168.1.30", 2121)));
        pair_free(&p);

        /* Opened to everyone: every old client is still forwarded the same way. */
        p = pair_new(old, CONF("forward = ( { name = \"ftp\"; proto = \"tcp\"; port = 2121; to = \"192.168.1.30\"; } );"));
        assert_true(natgw_ct_stale_possible(p.s));
        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 2121, "192.168.1.30", 2121)));
        assert_false(stale(&p, dnat(TCP, "198.51.100.200", 40000, "203.0.113.1", 2121, "192.168.1.30", 2121)));
        pair_free(&p);

        /* Restricted from everyone to a prefix. */
        p = pair_new(CONF("forward = ( { name = \"ftp\"; proto = \"tcp\"; port = 2121; to = \"192.168.1.30\"; } );"), old);
        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 2121, "192.168.1.30", 2121)));
        assert_true(stale(&p, dnat(TCP, "203.0.113.100", 40000, "203.0.113.1", 2121, "192.168.1.30", 2121)));
        pair_free(&p);
}

static void test_forward_destination(void **state) {
        static const char old[] = CONF("forward = ( { name = \"vip\"; in_interface = \"eth0\"; destination = \"203.0.113.10\"; "
                                       "proto = \"tcp\"; port = 8443; to = \"192.168.1.66:443\"; } );");
        struct pair p;

        p = pair_new(old, CONF("forward = ( { name = \"vip\"; in_interface = \"eth0\"; destination = \"203.0.113.11\"; "
                               "proto = \"tcp\"; port = 8443; to = \"192.168.1.66:443\"; } );"));
        assert_true(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.10", 8443, "192.168.1.66", 443)));
        /* Sent to another address: the old forward did not take it. */
        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 8443, "192.168.1.66", 443)));
        pair_free(&p);

        /* No destination any more: any address, the old one included. */
        p = pair_new(old, CONF("forward = ( { name = \"vip\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 8443; "
                               "to = \"192.168.1.66:443\"; } );"));
        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.10", 8443, "192.168.1.66", 443)));
        pair_free(&p);

        /* The reverse: from any address to one; flows to the others are stale. */
        p = pair_new(CONF("forward = ( { name = \"vip\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 8443; "
                          "to = \"192.168.1.66:443\"; } );"), old);
        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.10", 8443, "192.168.1.66", 443)));
        assert_true(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 8443, "192.168.1.66", 443)));
        pair_free(&p);
}

static void test_forward_in_interface(void **state) {
        static const char eth0[] = CONF("forward = ( { name = \"web\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; } );");
        static const char eth1[] = CONF("forward = ( { name = \"web\"; in_interface = \"eth1\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; } );");
        static const char any[] = CONF("forward = ( { name = \"web\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; } );");
        static const char both[] = CONF("forward = (\n"
                                        "  { name = \"web0\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; },\n"
                                        "  { name = \"web1\"; in_interface = \"eth1\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; }\n"
                                        ");\n");
        struct natgw_ct_entry e = dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 8080, "192.168.1.66", 80);
        struct pair p;

        /* From one interface to all of them: still forwarded. */
        p = pair_new(eth0, any);
        assert_false(stale(&p, e));
        pair_free(&p);
        /* From all to one: conntrack does not say where the flow came in, so it goes. */
        p = pair_new(any, eth0);
        assert_true(stale(&p, e));
        pair_free(&p);
        p = pair_new(eth0, eth1);
        assert_true(stale(&p, e));
        pair_free(&p);
        /* Either of two interfaces may have brought it in; one of them still forwards it. */
        p = pair_new(both, eth1);
        assert_false(stale(&p, e));
        pair_free(&p);
        p = pair_new(both, CONF(""));
        assert_true(stale(&p, e));
        pair_free(&p);
}

static void test_forward_proto(void **state) {
        struct pair p = pair_new(CONF("forward = ( { name = \"game\"; proto = \"tcp+udp\"; port = 6000; to = \"192.168.1.20\"; } );"),
                                 CONF("forward = ( { name = \"game\"; proto = \"tcp\"; port = 6000; to = \"192.168.1.20\"; } );"));

        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 6000, "192.168.1.20", 6000)));
        assert_true(stale(&p, dnat(UDP, "198.51.100.7", 40000, "203.0.113.1", 6000, "192.168.1.20", 6000)));
        /* Protocols natgwd never forwards are never its entries. */
        {
                struct natgw_ct_entry e = dnat(UDP, "198.51.100.7", 40000, "203.0.113.1", 6000, "192.168.1.20", 6000);

                e.l4proto = IPPROTO_SCTP;
                assert_false(stale(&p, e));
        }
        pair_free(&p);
}

static void test_forward_not_ours(void **state) {
        struct pair p = pair_new(CONF(FWD_GAME_66), CONF(FWD_GAME_10));

        /* Another table forwards port 7001 to the same target: not natgwd's, kept. */
        assert_false(stale(&p, dnat(UDP, "198.51.100.7", 40000, "203.0.113.1", 7001, "192.168.1.66", 6000)));
        /* No NAT at all: a flow to the gateway itself. */
        {
                struct natgw_ct_entry e = dnat(UDP, "198.51.100.7", 40000, "203.0.113.1", 6000, "203.0.113.1", 6000);

                e.dst_nat = false;
                assert_false(stale(&p, e));
        }
        pair_free(&p);
}

static void test_forward_ipv6(void **state) {
        struct pair p;

        p = pair_new(CONF("forward = (\n"
                          "  { name = \"api6\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 443; to = \"[fd00:1::66]:8443\"; },\n"
                          "  { name = \"api4\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 443; to = \"192.168.1.66:8443\"; }\n"
                          ");\n"),
                     CONF("forward = (\n"
                          "  { name = \"api6\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 443; to = \"[fd00:1::10]:8443\"; },\n"
                          "  { name = \"api4\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 443; to = \"192.168.1.66:8443\"; }\n"
                          ");\n"));
        assert_true(stale(&p, dnat(TCP, "2001:db8:2::7", 40000, "2001:db8:1::1", 443, "fd00:1::66", 8443)));
        assert_false(stale(&p, dnat(TCP, "2001:db8:2::7", 40000, "2001:db8:1::1", 443, "fd00:1::10", 8443)));
        /* The IPv4 forward on the same port is unchanged. */
        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 443, "192.168.1.66", 8443)));
        pair_free(&p);
}

/* ---- egress ---- */

static void test_egress_snat_pool(void **state) {
        struct pair p = pair_new(CONF("snat = ( { name = \"pool\"; source = \"10.20.0.0/16\"; out_interface = \"eth0\"; "
                                      "to = \"203.0.113.20-203.0.113.23\"; } );"),
                                 CONF("snat = ( { name = \"pool\"; source = \"10.20.0.0/16\"; out_interface = \"eth0\"; "
                                      "to = \"203.0.113.20-203.0.113.21\"; } );"));

        assert_false(stale(&p, snat(UDP, "10.20.1.1", 5000, "198.51.100.7", 53, "203.0.113.20", 5000)));
        assert_false(stale(&p, snat(UDP, "10.20.1.1", 5000, "198.51.100.7", 53, "203.0.113.21", 5000)));
        assert_true(stale(&p, snat(UDP, "10.20.1.1", 5000, "198.51.100.7", 53, "203.0.113.22", 5000)));
        assert_true(stale(&p, snat(TCP, "10.20.1.1", 5000, "198.51.100.7", 80, "203.0.113.23", 5000)));
        /* ICMP and every other protocol are translated by egress entries too. */
        {
                struct natgw_ct_entry e = snat(UDP, "10.20.1.1", 0, "198.51.100.7", 0, "203.0.113.23", 0);

                e.l4proto = IPPROTO_ICMP;
                assert_true(stale(&p, e));
        }
        /* Translated outside the old pool: someone else's SNAT. */
        assert_false(stale(&p, snat(UDP, "10.20.1.1", 5000, "198.51.100.7", 53, "203.0.113.99", 5000)));
        /* A source no egress entry covers. */
        assert_false(stale(&p, snat(UDP, "10.30.1.1", 5000, "198.51.100.7", 53, "203.0.113.22", 5000)));
        pair_free(&p);

        p = pair_new(CONF("snat = ( { name = \"dmz\"; source = \"10.10.0.0/16\"; out_interface = \"eth0\"; to = \"203.0.113.10\"; } );"),
                     CONF("snat = ( { name = \"dmz\"; source = \"10.10.0.0/16\"; out_interface = \"eth0\"; to = \"203.0.113.11\"; } );"));
        assert_true(stale(&p, snat(TCP, "10.10.0.5", 5000, "198.51.100.7", 80, "203.0.113.10", 5000)));
        pair_free(&p);
}

/* A reload that narrows an allow list: the flows it now denies go, live TCP included; the rest,
 * and flows of other entries, stay. */
static void test_allow_denied(void **state) {
        static const char wide[] = CONF(
                "masquerade = ( { name = \"lan\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\";\n"
                "  allow = ( { proto = \"tcp\"; port = [ 80, 443 ]; }, { proto = \"udp\"; port = 53; } ); },\n"
                "  { name = \"h66\"; source = \"192.168.1.66/32\"; out_interface = \"eth0\"; } );");
        static const char narrow[] = CONF(
                "masquerade = ( { name = \"lan\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\";\n"
                "  allow = ( { to = \"198.51.100.7\"; proto = \"tcp\"; port = 443; }, { proto = \"udp\"; port = 53; } ); },\n"
                "  { name = \"h66\"; source = \"192.168.1.66/32\"; out_interface = \"eth0\"; } );");
        struct natgw_ct_entry https7 = snat(TCP, "192.168.1.10", 40000, "198.51.100.7", 443, "203.0.113.1", 40000),
                              https8 = snat(TCP, "192.168.1.10", 40001, "198.51.100.8", 443, "203.0.113.1", 40001),
                              http7 = snat(TCP, "192.168.1.10", 40002, "198.51.100.7", 80, "203.0.113.1", 40002),
                              dns = snat(UDP, "192.168.1.10", 40003, "198.51.100.8", 53, "203.0.113.1", 40003),
                              other = snat(TCP, "192.168.1.66", 40004, "198.51.100.8", 80, "203.0.113.1", 40004);
        const char *name;
        struct pair p;

        (void)state;
        p = pair_new(wide, narrow);
        assert_true(natgw_ct_stale_possible(p.s));
        http7.tcp_state = 3; /* TCP_CONNTRACK_ESTABLISHED: a live connection is cut too */
        assert_int_equal(natgw_ct_stale_classify(p.s, &http7, &name), NATGW_CT_STALE_DENIED);
        assert_string_equal(name, "lan");
        assert_int_equal(natgw_ct_stale_classify(p.s, &https8, NULL), NATGW_CT_STALE_DENIED);
        assert_true(stale(&p, https8));
        assert_false(stale(&p, https7));
        assert_false(stale(&p, dns));
        assert_false(stale(&p, other)); /* h66: the most specific entry, no list */
        pair_free(&p);

        /* Widened, or unchanged: nothing is denied that was allowed; the table need not be read. */
        p = pair_new(narrow, wide);
        assert_false(stale(&p, https7));
        assert_false(stale(&p, dns));
        pair_free(&p);
        p = pair_new(wide, wide);
        assert_false(natgw_ct_stale_possible(p.s));
        pair_free(&p);
}

static void test_egress_masquerade(void **state) {
        static const char lan[] = CONF("masquerade = ( { name = \"lan\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\"; } );");
        struct natgw_ct_entry e = snat(UDP, "192.168.1.66", 40000, "203.0.113.100", 53, "203.0.113.1", 40000);
        struct pair p;

        /* Removed. */
        p = pair_new(lan, CONF(""));
        assert_true(stale(&p, e));
        pair_free(&p);
        /* Renamed: the same translation. */
        p = pair_new(lan, CONF("masquerade = ( { name = \"inside\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\"; } );"));
        assert_false(natgw_ct_stale_possible(p.s));
        assert_false(stale(&p, e));
        pair_free(&p);
        /* Moved to another interface: the flow leaves by eth0 and is not translated there. */
        p = pair_new(lan, CONF("masquerade = ( { name = \"lan\"; source = \"192.168.1.0/24\"; out_interface = \"ppp0\"; } );"));
        assert_true(stale(&p, e));
        pair_free(&p);
        /* Replaced by an snat entry to the address masquerade chose: kept; to another: stale. */
        p = pair_new(lan, CONF("snat = ( { name = \"lan\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\"; to = \"203.0.113.1\"; } );"));
        assert_false(stale(&p, e));
        assert_true(stale(&p, snat(UDP, "192.168.1.66", 40000, "203.0.113.100", 53, "203.0.113.2", 40000)));
        pair_free(&p);
        /* The reverse, snat replaced by masquerade: what address masquerade takes is unknown here. */
        p = pair_new(CONF("snat = ( { name = \"lan\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\"; to = \"203.0.113.1\"; } );"), lan);
        assert_true(stale(&p, e));
        pair_free(&p);
        /* A source translation that kept the address is not an egress translation. */
        p = pair_new(lan, CONF(""));
        assert_false(stale(&p, snat(UDP, "192.168.1.66", 40000, "203.0.113.100", 53, "192.168.1.66", 40001)));
        pair_free(&p);
}

static void test_egress_more_specific(void **state) {
        static const char lan[] = CONF("masquerade = ( { name = \"lan\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\"; } );");
        struct natgw_ct_entry from70 = snat(TCP, "192.168.1.70", 40000, "203.0.113.100", 80, "203.0.113.1", 40000);
        struct natgw_ct_entry from10 = snat(TCP, "192.168.1.10", 40000, "203.0.113.100", 80, "203.0.113.1", 40000);
        struct pair p;

        /* An snat entry for 192.168.1.64/26 takes .70 over from the masquerade entry. */
        p = pair_new(lan, CONF("masquerade = ( { name = \"lan\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\"; } );\n"
                               "snat = ( { name = \"dmz\"; source = \"192.168.1.64/26\"; out_interface = \"eth0\"; to = \"203.0.113.10\"; } );"));
        assert_true(natgw_ct_stale_possible(p.s));
        assert_true(stale(&p, from70));
        assert_false(stale(&p, from10));
        pair_free(&p);

        /* ... but a masquerade entry for it translates the same way. */
        p = pair_new(lan, CONF("masquerade = (\n"
                               "  { name = \"lan\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\"; },\n"
                               "  { name = \"dmz\"; source = \"192.168.1.64/26\"; out_interface = \"eth0\"; }\n"
                               ");"));
        assert_true(natgw_ct_stale_possible(p.s));
        assert_false(stale(&p, from70));
        pair_free(&p);

        /* Additions elsewhere take nothing over: another interface, a wider prefix, another network. */
        p = pair_new(lan, CONF("masquerade = (\n"
                               "  { name = \"lan\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\"; },\n"
                               "  { name = \"ppp\"; source = \"192.168.1.64/26\"; out_interface = \"ppp0\"; },\n"
                               "  { name = \"wide\"; source = \"192.168.0.0/16\"; out_interface = \"eth0\"; },\n"
                               "  { name = \"other\"; source = [ \"10.0.0.0/8\", \"fd00:1::/64\" ]; out_interface = \"eth0\"; }\n"
                               ");"));
        /* (Entries were added: untranslated flows they cover would be stale.) */
        assert_true(natgw_ct_stale_possible(p.s));
        assert_false(stale(&p, from70));
        assert_false(stale(&p, from10));
        pair_free(&p);

        /* The more specific entry removed: .70 falls back to the masquerade entry. */
        p = pair_new(CONF("masquerade = ( { name = \"lan\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\"; } );\n"
                          "snat = ( { name = \"dmz\"; source = \"192.168.1.64/26\"; out_interface = \"eth0\"; to = \"203.0.113.10\"; } );"),
                     lan);
        assert_true(stale(&p, snat(TCP, "192.168.1.70", 40000, "203.0.113.100", 80, "203.0.113.10", 40000)));
        /* The masquerade entry never translated .70 under the old config: not explained. */
        assert_false(stale(&p, from70));
        assert_false(stale(&p, from10));
        pair_free(&p);
}

static void test_egress_two_interfaces(void **state) {
        /* The same source on two interfaces: conntrack does not say which one the flow left by. */
        struct pair p = pair_new(CONF("masquerade = (\n"
                                      "  { name = \"a\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\"; },\n"
                                      "  { name = \"b\"; source = \"192.168.1.0/24\"; out_interface = \"ppp0\"; }\n"
                                      ");"),
                                 CONF("masquerade = ( { name = \"b\"; source = \"192.168.1.0/24\"; out_interface = \"ppp0\"; } );"));

        assert_false(stale(&p, snat(TCP, "192.168.1.70", 40000, "203.0.113.100", 80, "203.0.113.1", 40000)));
        pair_free(&p);
}

static void test_egress_ipv6(void **state) {
        struct pair p = pair_new(CONF("masquerade = ( { name = \"lan\"; source = [ \"192.168.1.0/24\", \"fd00:1::/64\" ]; out_interface = \"eth0\"; } );"),
                                 CONF("masquerade = ( { name = \"lan\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\"; } );"));

        assert_true(stale(&p, snat(UDP, "fd00:1::66", 40000, "2001:db8:1::100", 53, "2001:db8:1::1", 40000)));
        assert_false(stale(&p, snat(UDP, "192.168.1.66", 40000, "203.0.113.100", 53, "203.0.113.1", 40000)));
        pair_free(&p);

        p = pair_new(CONF("snat = ( { name = \"v6\"; source = \"fd00:1::/64\"; out_interface = \"eth0\"; "
                          "to = \"2001:db8:1::20-2001:db8:1::23\"; } );"),
                     CONF("snat = ( { name = \"v6\"; source = \"fd00:1::/64\"; out_interface = \"eth0\"; "
                          "to = \"2001:db8:1::22-2001:db8:1::23\"; } );"));
        assert_true(stale(&p, snat(TCP, "fd00:1::66", 40000, "2001:db8:1::100", 80, "2001:db8:1::21", 40000)));
        assert_false(stale(&p, snat(TCP, "fd00:1::66", 40000, "2001:db8:1::100", 80, "2001:db8:1::22", 40000)));
        pair_free(&p);
}

/* ---- both translations ---- */

static void test_dnat_and_snat(void **state) {
        static const char base[] = CONF("masquerade = ( { name = \"lan\"; source = \"192.168.1.0/24\"; out_interface = \"eth1\"; } );\n"
                                        "forward = ( { name = \"web\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; } );");
        /* A LAN client reaching the forward on the gateway's address, masqueraded towards the server. */
        struct natgw_ct_entry e = dnat(TCP, "192.168.1.10", 40000, "203.0.113.1", 8080, "192.168.1.66", 80);
        struct pair p;

        e.src_nat = true;
        e.reply_dst = A("192.168.1.1");

        p = pair_new(base, base);
        assert_false(stale(&p, e));
        pair_free(&p);
        /* The masquerade entry went: stale, though the forward is unchanged. */
        p = pair_new(base, CONF("forward = ( { name = \"web\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; } );"));
        assert_true(stale(&p, e));
        pair_free(&p);
        /* The forward changed: stale, though the masquerade entry is unchanged. */
        p = pair_new(base, CONF("masquerade = ( { name = \"lan\"; source = \"192.168.1.0/24\"; out_interface = \"eth1\"; } );\n"
                                "forward = ( { name = \"web\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.10:80\"; } );"));
        assert_true(stale(&p, e));
        pair_free(&p);
}

static void test_list_order(void **state) {
        /* A port list in another order counts as a change (the table is read), deletes nothing. */
        struct pair p = pair_new(CONF("forward = ( { name = \"mail\"; proto = \"tcp\"; port = [ 25, 110 ]; to = \"192.168.1.10\"; } );"),
                                 CONF("forward = ( { name = \"mail\"; proto = \"tcp\"; port = [ 110, 25 ]; to = \"192.168.1.10\"; } );"));

        assert_true(natgw_ct_stale_possible(p.s));
        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 25, "192.168.1.10", 25)));
        assert_false(stale(&p, dnat(TCP, "198.51.100.7", 40000, "203.0.113.1", 110, "192.168.1.10", 110)));
        pair_free(&p);
}

static void test_bad_entries(void **state) {
        struct pair p = pair_new(CONF(FWD_GAME_66), CONF(""));
        struct natgw_ct_entry e = dnat(UDP, "198.51.100.7", 40000, "203.0.113.1", 6000, "192.168.1.66", 6000);

        assert_true(stale(&p, e));
        e.family = AF_UNIX;
        assert_false(stale(&p, e));
        e = dnat(UDP, "198.51.100.7", 40000, "203.0.113.1", 6000, "192.168.1.66", 6000);
        e.family = AF_INET6; /* tuples of the other family */
        assert_false(stale(&p, e));
        pair_free(&p);
}

/* ---- randomised: the indexed decision against a plain reading of the rules ---- */

static uint64_t rng_state;

static unsigned rnd(unsigned n) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return (unsigned)(rng_state % n);
}

static const char *const r_iif[] = { "", "eth0", "eth1", "eth2" };
static const char *const r_dest[2][3] = { { "203.0.113.1", "203.0.113.10", "203.0.113.11" },
                                          { "2001:db8:1::1", "2001:db8:1::10", "2001:db8:1::11" } };
static const char *const r_to[2][2] = { { "192.168.1.10", "192.168.1.66" }, { "fd00:1::10", "fd00:1::66" } };
static const char *const r_allow[2][3] = { { "198.51.100.0/24", "198.51.100.0/25", "203.0.113.0/24" },
                                           { "2001:db8:2::/64", "2001:db8::/32", "2001:db8:3::/64" } };
static const char *const r_client[2][4] = { { "198.51.100.7", "198.51.100.200", "203.0.113.100", "192.0.2.1" },
                                            { "2001:db8:2::7", "2001:db8:3::1", "2001:db8:4::1", "2001:db8:1::100" } };

struct rfwd {
        int v6, iif, dest; /* dest -1: none */
        unsigned protos;
        struct natgw_port_range ports[2];
        int n_ports;
        enum natgw_to_port mode;
        uint16_t to_port;
        int to;
        int allow[2], n_allow;
};

static void rfwd_ports(struct rfwd *f) {
        uint16_t lo = (uint16_t)(1000 + rnd(60));

        f->n_ports = 1 + (int)rnd(2);
        f->ports[0] = (struct natgw_port_range){ lo, (uint16_t)(lo + rnd(8)) };
        if (f->n_ports == 2) {
                lo = (uint16_t)(f->ports[0].hi + 2 + rnd(20));
                f->ports[1] = (struct natgw_port_range){ lo, (uint16_t)(lo + rnd(3)) };
        }
        f->mode = f->n_ports == 1 ? (enum natgw_to_port)rnd(3) : (enum natgw_to_port)rnd(2);
        f->to_port = f->mode == NATGW_TO_PORT_SINGLE ? (uint16_t)(80 + rnd(2)) : (uint16_t)(9000 + 100 * rnd(2));
}

static struct rfwd rfwd_random(void) {
        struct rfwd f = {
                .v6 = rnd(5) == 0,
                .iif = (int)rnd(ELEMENTSOF(r_iif)),
                .dest = rnd(2) ? -1 : (int)rnd(3),
                .protos = 1 + rnd(3),
                .to = (int)rnd(2),
                .n_allow = rnd(3) ? 0 : 1 + (int)rnd(2),
        };

        rfwd_ports(&f);
        f.allow[0] = (int)rnd(3);
        f.allow[1] = (f.allow[0] + 1 + (int)rnd(2)) % 3;
        return f;
}

/* Would the loader reject @a next to @b? (DESIGN.md: interface, destination, proto, port.) */
static bool rfwd_overlap(const struct rfwd *a, const struct rfwd *b) {
        if (a->v6 != b->v6 || !(a->protos & b->protos))
                return false;
        if (a->iif && b->iif && a->iif != b->iif)
                return false;
        if (a->dest >= 0 && b->dest >= 0 && a->dest != b->dest)
                return false;
        for (int i = 0; i < a->n_ports; i++)
                for (int j = 0; j < b->n_ports; j++)
                        if (a->ports[i].lo <= b->ports[j].hi && b->ports[j].lo <= a->ports[i].hi)
                                return true;
        return false;
}

static void rfwd_print(FILE *f, const struct rfwd *x, unsigned idx) {
        static const char *const protos[] = { "", "tcp", "udp", "tcp+udp" };
        const char *to = r_to[x->v6][x->to];

        fprintf(f, "  { name = \"f%u\"; ", idx);
        if (x->iif)
                fprintf(f, "in_interface = \"%s\"; ", r_iif[x->iif]);
        if (x->dest >= 0)
                fprintf(f, "destination = \"%s\"; ", r_dest[x->v6][x->dest]);
        fprintf(f, "proto = \"%s\"; port = [", protos[x->protos]);
        for (int i = 0; i < x->n_ports; i++)
                fprintf(f, "%s\"%u-%u\"", i ? ", " : " ", x->ports[i].lo, x->ports[i].hi);
        fprintf(f, " ]; to = \"%s%s%s", x->v6 ? "[" : "", to, x->v6 ? "]" : "");
        if (x->mode == NATGW_TO_PORT_SINGLE)
                fprintf(f, ":%u", x->to_port);
        else if (x->mode == NATGW_TO_PORT_RANGE)
                fprintf(f, ":%u-%u", x->to_port, x->to_port + (x->ports[0].hi - x->ports[0].lo));
        fprintf(f, "\"; ");
        if (x->n_allow) {
                fprintf(f, "allow_from = [");
                for (int i = 0; i < x->n_allow; i++)
                        fprintf(f, "%s\"%s\"", i ? ", " : " ", r_allow[x->v6][x->allow[i]]);
                fprintf(f, " ]; ");
        }
        fprintf(f, "}");
}

static const char *const r_oif[] = { "eth0", "eth1", "ppp0" };
static const char *const r_src[2][5] = { { "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.128/25", "192.168.1.0/24" },
                                         { "fd00::/16", "fd00:1::/64", "fd00:1::/96", "fd00:2::/64", "fd00:1::/80" } };
static const char *const r_pool[2][3] = { { "203.0.113.20-203.0.113.23", "203.0.113.20-203.0.113.21", "203.0.113.10" },
                                          { "2001:db8:1::20-2001:db8:1::23", "2001:db8:1::22-2001:db8:1::23", "2001:db8:1::10" } };
static const char *const r_saddr[2][5] = { { "10.1.2.3", "10.1.2.200", "10.2.3.4", "10.9.9.9", "192.168.1.70" },
                                           { "fd00:1::5", "fd00:1::1:0:5", "fd00:1:0:0:1::5", "fd00:2::1", "fd00:3::1" } };
static const char *const r_xlat[2][6] = { { "203.0.113.1", "203.0.113.10", "203.0.113.20", "203.0.113.21", "203.0.113.22",
                                            "203.0.113.99" },
                                          { "2001:db8:1::1", "2001:db8:1::10", "2001:db8:1::20", "2001:db8:1::21",
                                            "2001:db8:1::22", "2001:db8:1::99" } };

struct reg {
        int v6, oif, snat, pool;
        int src[2], n_src;
};

static struct reg reg_random(void) {
        struct reg e = {
                .v6 = rnd(4) == 0,
                .oif = (int)rnd(ELEMENTSOF(r_oif)),
                .snat = (int)rnd(2),
                .pool = (int)rnd(3),
                .n_src = 1 + (int)rnd(2),
        };

        e.src[0] = (int)rnd(5);
        e.src[1] = (e.src[0] + 1 + (int)rnd(4)) % 5;
        return e;
}

static bool reg_overlap(const struct reg *a, const struct reg *b) {
        if (a->v6 != b->v6 || a->oif != b->oif)
                return false;
        for (int i = 0; i < a->n_src; i++)
                for (int j = 0; j < b->n_src; j++)
                        if (a->src[i] == b->src[j])
                                return true;
        return false;
}

static void reg_print(FILE *f, const struct reg *e, unsigned idx) {
        fprintf(f, "  { name = \"e%u\"; source = [", idx);
        for (int i = 0; i < e->n_src; i++)
                fprintf(f, "%s\"%s\"", i ? ", " : " ", r_src[e->v6][e->src[i]]);
        fprintf(f, " ]; out_interface = \"%s\"; ", r_oif[e->oif]);
        if (e->snat)
                fprintf(f, "to = \"%s\"; ", r_pool[e->v6][e->pool]);
        fprintf(f, "}");
}

struct rconf {
        struct rfwd fwd[40];
        size_t n_fwd;
        struct reg eg[12];
        size_t n_eg;
};

static void rconf_add_fwd(struct rconf *c, const struct rfwd *f) {
        for (size_t i = 0; i < c->n_fwd; i++)
                if (rfwd_overlap(f, &c->fwd[i]))
                        return;
        if (c->n_fwd < ELEMENTSOF(c->fwd))
                c->fwd[c->n_fwd++] = *f;
}

static void rconf_add_eg(struct rconf *c, const struct reg *e) {
        for (size_t i = 0; i < c->n_eg; i++)
                if (reg_overlap(e, &c->eg[i]))
                        return;
        if (c->n_eg < ELEMENTSOF(c->eg))
                c->eg[c->n_eg++] = *e;
}

static struct natgw_config *rconf_load(const struct rconf *c) {
        _cleanup_(freep) char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        bool any;

        assert_non_null(f);
        fprintf(f, "version = 1;\nforward = (\n");
        for (size_t i = 0; i < c->n_fwd; i++) {
                if (i > 0)
                        fputs(",\n", f);
                rfwd_print(f, &c->fwd[i], (unsigned)i);
        }
        fprintf(f, "\n);\n");
        for (int snat = 0; snat < 2; snat++) {
                any = false;
                for (size_t i = 0; i < c->n_eg; i++) {
                        if (c->eg[i].snat != snat)
                                continue;
                        if (any)
                                fputs(",\n", f);
                        else
                                fprintf(f, "%s = (\n", snat ? "snat" : "masquerade");
                        any = true;
                        reg_print(f, &c->eg[i], (unsigned)i);
                }
                if (any)
                        fprintf(f, "\n);\n");
        }
        fclose(f);
        return load_ok(text);
}

/* The old config with some entries changed and dropped (unless @add_only), and some added. */
static void rconf_mutate(const struct rconf *old, struct rconf *new, bool add_only) {
        *new = (struct rconf){};
        for (size_t i = 0; i < old->n_fwd; i++) {
                struct rfwd f = old->fwd[i];

                switch (add_only ? 12 : rnd(12)) {
                case 0:
                case 1:
                        continue; /* dropped */
                case 2:
                        f.to = 1 - f.to;
                        break;
                case 3:
                        rfwd_ports(&f);
                        break;
                case 4:
                        f.iif = (int)rnd(ELEMENTSOF(r_iif));
                        break;
                case 5:
                        f.n_allow = (int)rnd(3);
                        f.allow[0] = (int)rnd(3);
                        f.allow[1] = (f.allow[0] + 1 + (int)rnd(2)) % 3;
                        break;
                case 6:
                        f.dest = rnd(2) ? -1 : (int)rnd(3);
                        break;
                case 7:
                        f.protos = 1 + rnd(3);
                        break;
                default:
                        break;
                }
                rconf_add_fwd(new, &f);
        }
        for (unsigned n = rnd(4); n > 0; n--) {
                struct rfwd f = rfwd_random();

                rconf_add_fwd(new, &f);
        }
        for (size_t i = 0; i < old->n_eg; i++) {
                struct reg e = old->eg[i];

                switch (add_only ? 8 : rnd(8)) {
                case 0:
                        continue;
                case 1:
                        e.snat = !e.snat;
                        break;
                case 2:
                        e.pool = (int)rnd(3);
                        break;
                case 3:
                        e.oif = (int)rnd(ELEMENTSOF(r_oif));
                        break;
                default:
                        break;
                }
                rconf_add_eg(new, &e);
        }
        for (unsigned n = rnd(3); n > 0; n--) {
                struct reg e = reg_random();

                rconf_add_eg(new, &e);
        }
}

/* -- the oracle: every entry of both configs, straight from the rules in ct-stale.h -- */

/* @f would take @e's original direction (on its interface): protocol, port, client, destination. */
static bool o_forward_matches(const struct natgw_forward *f, const struct natgw_ct_entry *e) {
        unsigned bit = e->l4proto == IPPROTO_TCP ? NATGW_PROTO_TCP : NATGW_PROTO_UDP;
        bool port = false, allowed = f->n_allow_from == 0;

        if (f->to.family != e->family || !(f->protos & bit))
                return false;
        for (size_t i = 0; i < f->n_ports; i++)
                port = port || (f->ports[i].lo <= e->orig_dport && e->orig_dport <= f->ports[i].hi);
        for (size_t i = 0; i < f->n_allow_from; i++) {
                const struct natgw_prefix *p = &f->allow_from[i];
                unsigned full = p->len / 8, rest = p->len % 8;

                if (p->addr.family == e->family && memcmp(p->addr.bytes, e->orig_src.bytes, full) == 0 &&
                    (rest == 0 || ((p->addr.bytes[full] ^ e->orig_src.bytes[full]) & (0xff << (8 - rest)) & 0xff) == 0))
                        allowed = true;
        }
        return port && allowed && (!f->has_destination || natgw_addr_cmp(&f->destination, &e->orig_dst) == 0);
}

static bool o_forward_translates(const struct natgw_forward *f, const struct natgw_ct_entry *e) {
        uint16_t to_port;

        if (!o_forward_matches(f, e))
                return false;
        to_port = f->to_port_mode == NATGW_TO_PORT_KEEP   ? e->orig_dport :
                  f->to_port_mode == NATGW_TO_PORT_SINGLE ? f->to_port.lo :
                                                            (uint16_t)(f->to_port.lo + e->orig_dport - f->ports[0].lo);
        return natgw_addr_cmp(&f->to, &e->reply_src) == 0 && to_port == e->reply_sport;
}

static bool o_dnat_stale(const struct natgw_config *old, const struct natgw_config *new, const struct natgw_ct_entry *e) {
        bool explained = false;

        if (!e->dst_nat || (e->l4proto != IPPROTO_TCP && e->l4proto != IPPROTO_UDP))
                return false;
        for (size_t i = 0; i < old->n_forwards; i++) {
                const struct natgw_forward *f = &old->forwards[i];

                if (!o_forward_translates(f, e))
                        continue;
                explained = true;
                for (size_t j = 0; j < new->n_forwards; j++) {
                        const struct natgw_forward *n = &new->forwards[j];

                        if (o_forward_translates(n, e) && (!n->in_interface[0] || streq(n->in_interface, f->in_interface)))
                                return false;
                }
        }
        return explained;
}

static bool o_prefix_contains(const struct natgw_prefix *p, const struct natgw_addr *a) {
        unsigned full = p->len / 8, rest = p->len % 8;

        return p->addr.family == a->family && memcmp(p->addr.bytes, a->bytes, full) == 0 &&
               (rest == 0 || ((p->addr.bytes[full] ^ a->bytes[full]) & (0xff << (8 - rest)) & 0xff) == 0);
}

static const struct natgw_egress *o_most_specific(const struct natgw_config *c, const char *oif, const struct natgw_addr *a) {
        const struct natgw_egress *best = NULL;
        unsigned best_len = 0;

        for (size_t i = 0; i < c->n_egress; i++)
                for (size_t s = 0; s < c->egress[i].n_sources; s++) {
                        const struct natgw_prefix *p = &c->egress[i].sources[s];

                        if (streq(c->egress[i].out_interface, oif) && o_prefix_contains(p, a) &&
                            (!best || p->len > best_len)) {
                                best = &c->egress[i];
                                best_len = p->len;
                        }
                }
        return best;
}

static bool o_in_pool(const struct natgw_egress *eg, const struct natgw_addr *a) {
        return eg->to_lo.family == a->family && natgw_addr_cmp(&eg->to_lo, a) <= 0 && natgw_addr_cmp(a, &eg->to_hi) <= 0;
}

static bool o_snat_stale(const struct natgw_config *old, const struct natgw_config *new, const struct natgw_ct_entry *e) {
        bool explained = false;

        if (!e->src_nat || natgw_addr_cmp(&e->reply_dst, &e->orig_src) == 0)
                return false;
        for (size_t i = 0; i < old->n_egress; i++) {
                const char *oif = old->egress[i].out_interface;
                const struct natgw_egress *o = o_most_specific(old, oif, &e->orig_src), *n;

                if (!o || (o->kind == NATGW_EGRESS_SNAT && !o_in_pool(o, &e->reply_dst)))
                        continue;
                explained = true;
                n = o_most_specific(new, oif, &e->orig_src);
                if (n && (n->kind == NATGW_EGRESS_SNAT ? o_in_pool(n, &e->reply_dst) : o->kind == NATGW_EGRESS_MASQUERADE))
                        return false;
        }
        return explained;
}

#define V(x) (1u << (x))

static const struct natgw_forward *o_forward_named(const struct natgw_config *c, const char *name) {
        for (size_t i = 0; i < c->n_forwards; i++)
                if (streq(c->forwards[i].name, name))
                        return &c->forwards[i];
        return NULL;
}

static bool o_egress_same(const struct natgw_egress *a, const struct natgw_egress *b) {
        if (a->kind != b->kind || !streq(a->out_interface, b->out_interface) || a->n_sources != b->n_sources)
                return false;
        if (a->kind == NATGW_EGRESS_SNAT &&
            (natgw_addr_cmp(&a->to_lo, &b->to_lo) != 0 || natgw_addr_cmp(&a->to_hi, &b->to_hi) != 0))
                return false;
        for (size_t i = 0; i < a->n_sources; i++)
                if (natgw_addr_cmp(&a->sources[i].addr, &b->sources[i].addr) != 0 || a->sources[i].len != b->sources[i].len)
                        return false;
        return true;
}

static unsigned o_egress_verdict(const struct natgw_config *new, const struct natgw_egress *old) {
        for (size_t i = 0; i < new->n_egress; i++)
                if (streq(new->egress[i].name, old->name))
                        return o_egress_same(&new->egress[i], old) ? V(NATGW_CT_STALE_ADDED) : V(NATGW_CT_STALE_CHANGED);
        return V(NATGW_CT_STALE_REMOVED);
}

static bool o_tcp_live(const struct natgw_ct_entry *e) {
        return e->l4proto == IPPROTO_TCP &&
               (e->tcp_state == 0xff || (e->tcp_state >= 2 /* SYN_RECV */ && e->tcp_state <= 6 /* LAST_ACK */));
}

/* Untranslated, and the new config translates it where the old did not. */
static bool o_taken(const struct natgw_config *old, const struct natgw_config *new, const struct natgw_ct_entry *e) {
        if (!e->dst_nat && !e->src_nat && (e->l4proto == IPPROTO_TCP || e->l4proto == IPPROTO_UDP))
                for (size_t j = 0; j < new->n_forwards; j++) {
                        const struct natgw_forward *g = &new->forwards[j];
                        bool covered = false;

                        if (!o_forward_matches(g, e))
                                continue;
                        for (size_t i = 0; i < old->n_forwards && !covered; i++) {
                                const struct natgw_forward *f = &old->forwards[i];

                                covered = o_forward_matches(f, e) &&
                                          (!f->in_interface[0] || streq(f->in_interface, g->in_interface));
                        }
                        if (!covered)
                                return true;
                }
        if (e->src_nat && natgw_addr_cmp(&e->reply_dst, &e->orig_src) != 0)
                return false;
        for (size_t j = 0; j < new->n_egress; j++) {
                const char *oif = new->egress[j].out_interface;

                if (o_most_specific(new, oif, &e->orig_src) && !o_most_specific(old, oif, &e->orig_src))
                        return true;
        }
        return false;
}

/* The verdicts natgw_ct_stale_classify() may give (more than one where several old entries explain @e). */
static unsigned o_verdicts(const struct natgw_config *old, const struct natgw_config *new, const struct natgw_ct_entry *e) {
        unsigned m = 0;

        if (e->family != AF_INET && e->family != AF_INET6)
                return V(NATGW_CT_KEEP);
        if (o_dnat_stale(old, new, e)) {
                for (size_t i = 0; i < old->n_forwards; i++)
                        if (o_forward_translates(&old->forwards[i], e))
                                m |= o_forward_named(new, old->forwards[i].name) ? V(NATGW_CT_STALE_CHANGED)
                                                                                : V(NATGW_CT_STALE_REMOVED);
                return m;
        }
        if (o_snat_stale(old, new, e)) {
                for (size_t i = 0; i < old->n_egress; i++) {
                        const struct natgw_egress *o = o_most_specific(old, old->egress[i].out_interface, &e->orig_src);

                        if (o && (o->kind == NATGW_EGRESS_MASQUERADE || o_in_pool(o, &e->reply_dst)))
                                m |= o_egress_verdict(new, o);
                }
                return m;
        }
        if (o_taken(old, new, e))
                return o_tcp_live(e) ? V(NATGW_CT_KEEP_ESTABLISHED) : V(NATGW_CT_STALE_ADDED);
        return V(NATGW_CT_KEEP);
}

/* An entry the two configs may well have something to say about. */
static struct natgw_ct_entry random_entry(const struct rconf *rc) {
        struct natgw_ct_entry e;
        int v6 = rnd(4) == 0;

        if (rnd(2) && rc->n_fwd > 0) {
                const struct rfwd *f = &rc->fwd[rnd((unsigned)rc->n_fwd)];
                const struct natgw_port_range *pr = &f->ports[rnd((unsigned)f->n_ports)];
                uint16_t port = (uint16_t)(pr->lo + rnd(pr->hi - pr->lo + 1u)), tport = port;
                uint8_t proto = f->protos == NATGW_PROTO_UDP || (f->protos == 3 && rnd(2)) ? UDP : TCP;

                v6 = f->v6;
                if (f->mode == NATGW_TO_PORT_SINGLE)
                        tport = f->to_port;
                else if (f->mode == NATGW_TO_PORT_RANGE)
                        tport = (uint16_t)(f->to_port + port - f->ports[0].lo);
                if (rnd(8) == 0)
                        tport++;
                e = dnat(proto, r_client[v6][rnd(4)], 40000, f->dest >= 0 && rnd(4) ? r_dest[v6][f->dest] : r_dest[v6][rnd(3)],
                         port, r_to[v6][rnd(8) ? f->to : (int)rnd(2)], tport);
        } else
                e = snat(rnd(2) ? UDP : TCP, r_saddr[v6][rnd(5)], 40000, r_client[v6][0], 53, r_xlat[v6][rnd(6)], 40000);
        /* Now and then both translations, or the other flag on. */
        if (rnd(6) == 0) {
                e.src_nat = true;
                e.reply_dst = A(r_xlat[v6][rnd(6)]);
                e.orig_src = A(r_saddr[v6][rnd(5)]);
        }
        if (rnd(6) == 0)
                e.dst_nat = true;
        /* Now and then untranslated: to the gateway itself, routed without NAT, or nowhere. */
        if (rnd(3) == 0) {
                e.dst_nat = e.src_nat = false;
                e.reply_src = e.orig_dst;
                e.reply_sport = e.orig_dport;
                e.reply_dst = e.orig_src;
                e.reply_dport = e.orig_sport;
        }
        e.tcp_state = e.l4proto == TCP ? (rnd(5) == 0 ? 0xff : (uint8_t)rnd(10)) : 0xff;
        return e;
}

static void test_random_against_oracle(void **state) {
        unsigned n_stale = 0, n_kept = 0, n_skipped = 0, n_verdict[NATGW_CT_VERDICT_COUNT] = {};

        for (unsigned seed = 1; seed <= 60; seed++) {
                struct rconf *ro = calloc(1, sizeof(*ro)), *rn = calloc(1, sizeof(*rn));
                struct natgw_config *old, *new;
                struct natgw_ct_stale *s;

                assert_non_null(ro);
                assert_non_null(rn);
                rng_state = 0x9e3779b97f4a7c15ull * seed;
                for (unsigned i = 0; i < 60; i++) {
                        struct rfwd f = rfwd_random();

                        rconf_add_fwd(ro, &f);
                }
                for (unsigned i = 0; i < 10; i++) {
                        struct reg e = reg_random();

                        rconf_add_eg(ro, &e);
                }
                /* Every fourth pair changes nothing at all, every fourth only adds entries. */
                if (seed % 4 == 0)
                        *rn = *ro;
                else
                        rconf_mutate(ro, rn, seed % 4 == 1);
                old = rconf_load(ro);
                new = rconf_load(rn);
                assert_int_equal(natgw_ct_stale_new(old, new, &s), 0);
                if (!natgw_ct_stale_possible(s))
                        n_skipped++;

                for (unsigned i = 0; i < 3000; i++) {
                        struct natgw_ct_entry e = random_entry(rnd(2) ? ro : rn);
                        unsigned want_v = o_verdicts(old, new, &e);
                        bool want = want_v & (V(NATGW_CT_STALE_ADDED) | V(NATGW_CT_STALE_CHANGED) | V(NATGW_CT_STALE_REMOVED));
                        const char *name = NULL;
                        enum natgw_ct_verdict got_v = natgw_ct_stale_classify(s, &e, &name);
                        bool got = is_stale(got_v);

                        if (want != got) {
                                char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], c[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

                                print_message("seed %u entry %u: want %d got %d: proto %u %s:%u -> %s:%u, reply %s:%u -> %s:%u "
                                              "snat %d dnat %d\n",
                                              seed, i, want, got, e.l4proto,
                                              natgw_addr_format(&e.orig_src, a, sizeof(a)), e.orig_sport,
                                              natgw_addr_format(&e.orig_dst, b, sizeof(b)), e.orig_dport,
                                              natgw_addr_format(&e.reply_src, c, sizeof(c)), e.reply_sport,
                                              natgw_addr_format(&e.reply_dst, d, sizeof(d)), e.reply_dport, e.src_nat,
                                              e.dst_nat);
                        }
                        assert_int_equal(got, want);
                        if (!(want_v & V(got_v)))
                                print_message("seed %u entry %u: verdict %d, want one of 0x%x\n", seed, i, got_v, want_v);
                        assert_true(want_v & V(got_v));
                        /* A verdict that is not "keep" names the entry behind it. */
                        assert_true((got_v == NATGW_CT_KEEP) == (name == NULL));
                        n_verdict[got_v]++;
                        if (got_v != NATGW_CT_KEEP)
                                assert_true(natgw_ct_stale_possible(s));
                        got ? n_stale++ : n_kept++;
                }
                natgw_ct_stale_free(s);
                natgw_config_free(old);
                natgw_config_free(new);
                free(ro);
                free(rn);
        }
        print_message("random: %u stale, %u kept, %u of 60 pairs skip the table; verdicts: keep %u, kept established %u, "
                      "added %u, changed %u, removed %u\n",
                      n_stale, n_kept, n_skipped, n_verdict[NATGW_CT_KEEP], n_verdict[NATGW_CT_KEEP_ESTABLISHED],
                      n_verdict[NATGW_CT_STALE_ADDED], n_verdict[NATGW_CT_STALE_CHANGED], n_verdict[NATGW_CT_STALE_REMOVED]);
        /* The generator must produce both answers, and unchanged pairs. */
        assert_true(n_stale > 1000);
        assert_true(n_kept > 1000);
        assert_true(n_skipped >= 15);
        /* The generator makes no allow lists: test_allow_denied covers that verdict. */
        for (int v = 0; v < NATGW_CT_VERDICT_COUNT; v++)
                assert_true(v == NATGW_CT_STALE_DENIED || n_verdict[v] > 200);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_forward_target_changed),
                cmocka_unit_test(test_forward_removed_unchanged_renamed),
                cmocka_unit_test(test_forward_added),
                cmocka_unit_test(test_egress_added),
                cmocka_unit_test(test_forward_target_port),
                cmocka_unit_test(test_forward_port_range_keep),
                cmocka_unit_test(test_forward_port_single),
                cmocka_unit_test(test_forward_port_range_to_range),
                cmocka_unit_test(test_forward_allow_from),
                cmocka_unit_test(test_forward_destination),
                cmocka_unit_test(test_forward_in_interface),
                cmocka_unit_test(test_forward_proto),
                cmocka_unit_test(test_forward_not_ours),
                cmocka_unit_test(test_forward_ipv6),
                cmocka_unit_test(test_egress_snat_pool),
                cmocka_unit_test(test_egress_masquerade),
                cmocka_unit_test(test_allow_denied),
                cmocka_unit_test(test_egress_more_specific),
                cmocka_unit_test(test_egress_two_interfaces),
                cmocka_unit_test(test_egress_ipv6),
                cmocka_unit_test(test_dnat_and_snat),
                cmocka_unit_test(test_list_order),
                cmocka_unit_test(test_bad_entries),
                cmocka_unit_test(test_random_against_oracle),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Conntrack after a reload, for netmap entries: a flow a netmap translated is kept while that
 * netmap stays, deleted when it goes or changes; a flow an added netmap now takes is deleted
 * (live untranslated TCP kept); flows of other entries are left to the rest of the decision.
 * The expected verdicts follow ct-stale.h, worked out by hand for each flow.
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <linux/netfilter/nf_conntrack_tcp.h>

#include "conf.h"
#include "ct-stale.h"
#include "util.h"

#include "conf-test.h"

#define HEAD "version = 1;\nmasquerade = ( { name = \"lan\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\"; } );\n" \
             "forward = ( { name = \"web\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.10:80\"; } );\n"
#define DMZ "netmap = ( { name = \"dmz\"; interface = \"eth0\"; inside = \"192.168.1.64/28\"; outside = \"203.0.113.64/28\"; } );\n"
#define DMZ2 "netmap = ( { name = \"dmz\"; interface = \"eth0\"; inside = \"192.168.1.64/28\"; outside = \"203.0.113.80/28\"; } );\n"

static struct natgw_ct_entry flow(uint8_t proto, const char *osrc, const char *odst, const char *rsrc, const char *rdst,
                                  uint8_t tcp_state) {
        struct natgw_ct_entry e = { .family = AF_INET, .l4proto = proto, .orig_sport = 40000, .orig_dport = 80,
                                    .reply_sport = 80, .reply_dport = 40000, .tcp_state = tcp_state };

        assert_int_equal(natgw_addr_parse(osrc, &e.orig_src), 0);
        assert_int_equal(natgw_addr_parse(odst, &e.orig_dst), 0);
        assert_int_equal(natgw_addr_parse(rsrc, &e.reply_src), 0);
        assert_int_equal(natgw_addr_parse(rdst, &e.reply_dst), 0);
        e.src_nat = !streq(osrc, rdst);
        e.dst_nat = !streq(odst, rsrc);
        return e;
}

static enum natgw_ct_verdict classify(const char *old_text, const char *new_text, const struct natgw_ct_entry *e,
                                      const char **ret_name, bool *ret_possible) {
        _cleanup_(natgw_config_freep) struct natgw_config *old = load_ok(old_text);
        _cleanup_(natgw_config_freep) struct natgw_config *new = load_ok(new_text);
        _cleanup_(natgw_ct_stale_freep) struct natgw_ct_stale *s = NULL;
        enum natgw_ct_verdict v;

        assert_int_equal(natgw_ct_stale_new(old, new, &s), 0);
        *ret_possible = natgw_ct_stale_possible(s);
        v = natgw_ct_stale_classify(s, e, ret_name);
        /* The name points into a config freed here: only whether there is one. */
        *ret_name = *ret_name ? "set" : NULL;
        return v;
}

static void test_netmap_flows(void **state) {
        /* 192.168.1.66 left as 203.0.113.66 (offset 2), a client reached 203.0.113.67 -> .67. */
        struct natgw_ct_entry out = flow(IPPROTO_UDP, "192.168.1.66", "198.51.100.7", "198.51.100.7", "203.0.113.66", 0xff);
        struct natgw_ct_entry in = flow(IPPROTO_TCP, "198.51.100.7", "203.0.113.67", "192.168.1.67", "198.51.100.7",
                                        TCP_CONNTRACK_ESTABLISHED);
        const char *name;
        bool possible;

        assert_int_equal(classify(HEAD DMZ, HEAD DMZ, &out, &name, &possible), NATGW_CT_KEEP);
        assert_false(possible);
        assert_int_equal(classify(HEAD DMZ, HEAD, &out, &name, &possible), NATGW_CT_STALE_REMOVED);
        assert_true(possible);
        assert_non_null(name);
        assert_int_equal(classify(HEAD DMZ, HEAD, &in, &name, &possible), NATGW_CT_STALE_REMOVED);
        assert_int_equal(classify(HEAD DMZ, HEAD DMZ2, &out, &name, &possible), NATGW_CT_STALE_CHANGED);
        assert_int_equal(classify(HEAD DMZ, HEAD DMZ2, &in, &name, &possible), NATGW_CT_STALE_CHANGED);
}

static void test_taken_by_added_netmap(void **state) {
        /* 192.168.1.66 masqueraded to the gateway's 203.0.113.1 before the netmap came. */
        struct natgw_ct_entry masq = flow(IPPROTO_TCP, "192.168.1.66", "198.51.100.7", "198.51.100.7", "203.0.113.1",
                                          TCP_CONNTRACK_ESTABLISHED);
        /* An untranslated live TCP connection to an outside address, and one that is over. */
        struct natgw_ct_entry plain = flow(IPPROTO_TCP, "198.51.100.7", "203.0.113.70", "203.0.113.70", "198.51.100.7",
                                           TCP_CONNTRACK_ESTABLISHED);
        struct natgw_ct_entry closed = flow(IPPROTO_TCP, "198.51.100.7", "203.0.113.70", "203.0.113.70", "198.51.100.7",
                                            TCP_CONNTRACK_TIME_WAIT);
        /* Another entry's flows: the forward web, a masquerade of a host the netmap leaves out. */
        struct natgw_ct_entry web = flow(IPPROTO_TCP, "198.51.100.8", "203.0.113.1", "192.168.1.10", "198.51.100.8",
                                         TCP_CONNTRACK_ESTABLISHED);
        struct natgw_ct_entry other = flow(IPPROTO_UDP, "192.168.1.10", "198.51.100.7", "198.51.100.7", "203.0.113.1", 0xff);
        const char *name;
        bool possible;

        web.orig_dport = 8080;
        web.reply_sport = 80;
        assert_int_equal(classify(HEAD, HEAD DMZ, &masq, &name, &possible), NATGW_CT_STALE_ADDED);
        assert_true(possible);
        assert_int_equal(classify(HEAD, HEAD DMZ, &plain, &name, &possible), NATGW_CT_KEEP_ESTABLISHED);
        assert_int_equal(classify(HEAD, HEAD DMZ, &closed, &name, &possible), NATGW_CT_STALE_ADDED);
        assert_int_equal(classify(HEAD, HEAD DMZ, &web, &name, &possible), NATGW_CT_KEEP);
        assert_int_equal(classify(HEAD, HEAD DMZ, &other, &name, &possible), NATGW_CT_KEEP);
        assert_int_equal(classify(HEAD DMZ, HEAD, &web, &name, &possible), NATGW_CT_KEEP);
        assert_int_equal(classify(HEAD DMZ, HEAD, &other, &name, &possible), NATGW_CT_KEEP);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_netmap_flows),
                cmocka_unit_test(test_taken_by_added_netmap),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

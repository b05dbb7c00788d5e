/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * netmap entries (1:1 NAT): what the loader accepts and refuses (lengths, families, overlaps
 * on one interface, forwards to an address a netmap takes), the translation by offset, and the
 * maps they compile to (key and data bytes as nft writes them for `snat ip prefix to ... map`).
 */

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "conf.h"
#include "nft-plan.h"
#include "util.h"

#include "conf-test.h"

#define V1 "version = 1;\n"
#define NM(name, iface, in, out) \
        "  { name = \"" name "\"; interface = \"" iface "\"; inside = \"" in "\"; outside = \"" out "\"; }"

static void test_valid(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(
                V1 "netmap = (\n" NM("dmz", "eth0", "192.168.5.0/28", "203.0.113.32/28") ",\n"
                NM("dmz6", "eth0", "fd00:5::/120", "2001:db8:5::/120") ",\n"
                /* The same blocks on another interface: another uplink, no conflict. */
                NM("dmz-b", "eth1", "192.168.5.0/28", "203.0.113.32/28") ",\n"
                NM("host", "eth0", "192.168.9.7/32", "203.0.113.99/32") "\n);\n");
        char buf[NATGW_PREFIX_STRLEN];

        assert_int_equal(c->n_netmaps, 4);
        assert_string_equal(c->netmaps[0].name, "dmz");
        assert_string_equal(c->netmaps[0].interface, "eth0");
        assert_int_equal(c->netmaps[0].line, 3);
        assert_string_equal(natgw_prefix_format(&c->netmaps[0].inside, buf, sizeof(buf)), "192.168.5.0/28");
        assert_string_equal(natgw_prefix_format(&c->netmaps[0].outside, buf, sizeof(buf)), "203.0.113.32/28");
        assert_string_equal(natgw_prefix_format(&c->netmaps[1].outside, buf, sizeof(buf)), "2001:db8:5::/120");
        assert_int_equal(c->n_egress + c->n_forwards, 0);
}

static void test_entry_errors(void **state) {
        EXPECT_ERRORS(V1 "netmap = (\n"
                      NM("a", "eth0", "192.168.5.0/28", "203.0.113.32/27") ",\n"
                      NM("b", "eth0", "192.168.6.0/28", "2001:db8::/124") ",\n"
                      NM("c", "eth0", "192.168.7.1/28", "203.0.113.64/28") ",\n"
                      "  { name = \"d\"; interface = \"eth0\"; inside = [ \"192.168.8.0/28\" ]; outside = \"x\"; },\n"
                      "  { name = \"e\"; inside = \"192.168.9.0/28\"; outside = \"203.0.113.80/28\"; proto = \"tcp\"; },\n"
                      "  { name = \"f\"; interface = \"a/b\"; inside = \"192.168.10.0/28\"; outside = \"203.0.113.96/28\"; }\n"
                      ");\n",
                      "test.conf:3: entry \"a\": outside 203.0.113.32/27 and inside 192.168.5.0/28 differ in length "
                      "(/27 and /28): a netmap maps each address to the one at the same offset, so both must be as long",
                      "test.conf:4: entry \"b\": outside 2001:db8::/124 is IPv6 but inside 192.168.6.0/28 is IPv4",
                      "test.conf:5: entry \"c\": inside \"192.168.7.1/28\" has host bits set; did you mean 192.168.7.0/28?",
                      "test.conf:6: entry \"d\": wrong type for \"inside\": expected a CIDR string, got an array",
                      "test.conf:6: entry \"d\": outside \"x\" is not an address or a CIDR prefix",
                      "test.conf:7: entry \"e\": unknown key \"proto\"",
                      "test.conf:7: entry \"e\": missing required key \"interface\"",
                      "test.conf:8: entry \"f\": interface name \"a/b\" contains whitespace, \"/\" or \":\"");
}

static void test_overlaps(void **state) {
        /* Nested or equal prefixes on one interface, inside or outside: each later one names the
         * widest earlier one it overlaps. Other interfaces and families never conflict. */
        EXPECT_ERRORS(V1 "netmap = (\n"
                      NM("a", "eth0", "192.168.5.0/24", "203.0.113.0/24") ",\n"
                      NM("b", "eth0", "192.168.5.16/28", "198.51.100.16/28") ",\n"
                      NM("c", "eth0", "10.0.0.0/28", "203.0.113.64/28") ",\n"
                      NM("d", "eth1", "192.168.5.0/24", "203.0.113.0/24") ",\n"
                      NM("e", "eth0", "fd00::/120", "2001:db8::/120") "\n"
                      ");\n",
                      "test.conf:4: entry \"b\": inside 192.168.5.16/28 on \"eth0\" overlaps inside 192.168.5.0/24 of "
                      "netmap entry \"a\" (line 3)",
                      "test.conf:5: entry \"c\": outside 203.0.113.64/28 on \"eth0\" overlaps outside 203.0.113.0/24 of "
                      "netmap entry \"a\" (line 3)");
}

static void test_names_shared(void **state) {
        EXPECT_ERRORS(V1 "masquerade = ( { name = \"lan\"; source = \"192.168.0.0/16\"; out_interface = \"eth0\"; } );\n"
                      "netmap = (\n" NM("lan", "eth0", "192.168.5.0/28", "203.0.113.32/28") "\n);\n",
                      "test.conf:4: entry \"lan\": name already used by the entry at line 2");
}

static void test_forward_destination(void **state) {
        /* A forward to an outside address on the netmap's interface (or any interface) would
         * never see a packet; on another interface it is fine, and so is one to another address. */
        EXPECT_ERRORS(V1 "netmap = (\n" NM("dmz", "eth0", "192.168.5.0/28", "203.0.113.32/28") "\n);\n"
                      "forward = (\n"
                      "  { name = \"a\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 80; to = \"10.0.0.1\"; destination = \"203.0.113.40\"; },\n"
                      "  { name = \"b\"; proto = \"udp\"; port = 53; to = \"10.0.0.1\"; destination = \"203.0.113.32\"; },\n"
                      "  { name = \"c\"; in_interface = \"eth1\"; proto = \"tcp\"; port = 80; to = \"10.0.0.1\"; destination = \"203.0.113.40\"; },\n"
                      "  { name = \"d\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 80; to = \"10.0.0.1\"; destination = \"203.0.113.48\"; },\n"
                      "  { name = \"e\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 81; to = \"10.0.0.1\"; }\n"
                      ");\n",
                      "test.conf:6: entry \"a\": destination 203.0.113.40 is in outside 203.0.113.32/28 of netmap entry "
                      "\"dmz\" (line 3), which takes every packet to it on \"eth0\"",
                      "test.conf:7: entry \"b\": destination 203.0.113.32 is in outside 203.0.113.32/28 of netmap entry "
                      "\"dmz\" (line 3), which takes every packet to it on \"eth0\"");
}

static void addr(const char *s, struct natgw_addr *a) {
        assert_int_equal(natgw_addr_parse(s, a), 0);
}

static void test_translate(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(
                V1 "netmap = (\n" NM("dmz", "eth0", "192.168.5.0/28", "203.0.113.32/28") ",\n"
                NM("dmz6", "eth0", "fd00:5::100/120", "2001:db8:5::/120") "\n);\n");
        struct natgw_addr a, got, want;

        /* Worked by hand: offset 6 of 192.168.5.0/28 is .6, of 203.0.113.32/28 is .38. */
        addr("192.168.5.6", &a);
        assert_int_equal(natgw_netmap_translate(&c->netmaps[0].inside, &c->netmaps[0].outside, &a, &got), 0);
        addr("203.0.113.38", &want);
        assert_int_equal(natgw_addr_cmp(&got, &want), 0);
        addr("203.0.113.47", &a);
        assert_int_equal(natgw_netmap_translate(&c->netmaps[0].outside, &c->netmaps[0].inside, &a, &got), 0);
        addr("192.168.5.15", &want);
        assert_int_equal(natgw_addr_cmp(&got, &want), 0);
        addr("fd00:5::1ab", &a);
        assert_int_equal(natgw_netmap_translate(&c->netmaps[1].inside, &c->netmaps[1].outside, &a, &got), 0);
        addr("2001:db8:5::ab", &want);
        assert_int_equal(natgw_addr_cmp(&got, &want), 0);
        addr("192.168.5.16", &a);
        assert_int_equal(natgw_netmap_translate(&c->netmaps[0].inside, &c->netmaps[0].outside, &a, &got), -ENOENT);

        addr("203.0.113.33", &a);
        assert_int_equal(natgw_config_netmap_match(c, "eth0", &a, true), 0);
        assert_int_equal(natgw_config_netmap_match(c, NULL, &a, true), 0);
        assert_int_equal(natgw_config_netmap_match(c, "eth1", &a, true), -ENOENT);
        assert_int_equal(natgw_config_netmap_match(c, "eth0", &a, false), -ENOENT);
        addr("fd00:5::1ff", &a);
        assert_int_equal(natgw_config_netmap_match(c, "eth0", &a, false), 1);
}

static const struct natgw_map *find_map(const struct natgw_plan *p, const char *name) {
        for (size_t i = 0; i < p->n_maps; i++)
                if (streq(p->maps[i].name, name))
                        return &p->maps[i];
        return NULL;
}

/* One element of an interval map keyed ifname . address: "eth0" padded to 16 bytes, then the
 * first address; the same with the last; data: the other prefix's first and last address. */
static void check_elem(const struct natgw_map *m, size_t i, const char *lo, const char *hi, const char *to_lo,
                       const char *to_hi) {
        uint8_t key[IFNAMSIZ + 16] = "eth0";
        size_t alen = m->family == AF_INET ? 4 : 16;
        struct natgw_addr a;

        assert_int_equal(m->key_len, IFNAMSIZ + alen);
        assert_int_equal(m->data_len, 2 * alen);
        addr(lo, &a);
        memcpy(key + IFNAMSIZ, a.bytes, alen);
        assert_memory_equal(m->keys + i * 2 * m->key_len, key, m->key_len);
        addr(hi, &a);
        memcpy(key + IFNAMSIZ, a.bytes, alen);
        assert_memory_equal(m->keys + i * 2 * m->key_len + m->key_len, key, m->key_len);
        addr(to_lo, &a);
        assert_memory_equal(m->data + i * m->data_len, a.bytes, alen);
        addr(to_hi, &a);
        assert_memory_equal(m->data + i * m->data_len + alen, a.bytes, alen);
}

static void test_plan(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(
                V1 "masquerade = ( { name = \"lan\"; source = \"192.168.0.0/16\"; out_interface = \"eth0\"; } );\n"
                "forward = ( { name = \"web\"; proto = \"tcp\"; port = 80; to = \"192.168.1.2\"; } );\n"
                "netmap = (\n" NM("dmz", "eth0", "192.168.5.0/28", "203.0.113.32/28") ",\n"
                NM("dmz6", "eth0", "fd00:5::/120", "2001:db8:5::/120") "\n);\n");
        _cleanup_(natgw_plan_freep) struct natgw_plan *p = NULL;
        struct natgw_errors errors = {};
        const struct natgw_map *m;

        assert_int_equal(natgw_plan_build(c, &p, &errors), 0);
        /* Entries: egress, forwards, then netmaps. */
        assert_int_equal(natgw_plan_n_entries(p), 4);
        assert_string_equal(natgw_plan_entry_name(p, 2), "dmz");
        assert_int_equal(natgw_plan_entry_line(p, 3), 6);

        m = find_map(p, "netmap4_in");
        assert_non_null(m);
        assert_true(m->interval && natgw_map_netmap_in(m) && natgw_map_counted(m));
        assert_int_equal(m->n, 1);
        assert_int_equal(m->entry[0], 2);
        check_elem(m, 0, "203.0.113.32", "203.0.113.47", "192.168.5.0", "192.168.5.15");
        m = find_map(p, "netmap4_out");
        assert_non_null(m);
        assert_false(natgw_map_netmap_in(m));
        assert_int_equal(m->fields[0], NATGW_FIELD_OIFNAME);
        assert_int_equal(m->fields[1], NATGW_FIELD_SADDR);
        check_elem(m, 0, "192.168.5.0", "192.168.5.15", "203.0.113.32", "203.0.113.47");
        m = find_map(p, "netmap6_out");
        assert_non_null(m);
        assert_int_equal(m->entry[0], 3);
        check_elem(m, 0, "fd00:5::", "fd00:5::ff", "2001:db8:5::", "2001:db8:5::ff");
        assert_non_null(find_map(p, "netmap6_in"));

        /* No netmap: no netmap map at all. */
        {
                _cleanup_(natgw_config_freep) struct natgw_config *c2 = load_ok(V1);
                _cleanup_(natgw_plan_freep) struct natgw_plan *p2 = NULL;

                assert_int_equal(natgw_plan_build(c2, &p2, &errors), 0);
                assert_int_equal(p2->n_maps, 0);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid),
                cmocka_unit_test(test_entry_errors),
                cmocka_unit_test(test_overlaps),
                cmocka_unit_test(test_names_shared),
                cmocka_unit_test(test_forward_destination),
                cmocka_unit_test(test_translate),
                cmocka_unit_test(test_plan),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

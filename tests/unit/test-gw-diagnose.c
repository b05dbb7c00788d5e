/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The pure parts of diagnose: the verdict, the contract's cause names, and the forward as
 * natgwctl reads it back from natgwd's `show` reply. */

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "conf.h"
#include "gw-diagnose.h"
#include "gw-json.h"
#include "nft-elems.h"
#include "nft-plan.h"
#include "util.h"

#include "conf-test.h"

/* The list in DESIGN.md ("Wave 2 commands"), word for word, and nothing else. */
static void test_cause_names(void **state) {
        static const char *const contract[] = {
                "ok", "not-applied", "forwarding-disabled", "interface-missing", "interface-down",
                "no-public-address", "source-not-allowed", "reflection-disabled", "blocked-by-table",
                "target-unreachable", "target-not-listening", "target-filtered", "reply-bypasses-gateway",
                "no-traffic-arrives",
        };
        bool seen[ELEMENTSOF(contract)] = {};

        assert_int_equal(NATGW_CAUSE_COUNT, ELEMENTSOF(contract));
        for (int c = 0; c < NATGW_CAUSE_COUNT; c++) {
                const char *name = natgw_diag_cause_name((enum natgw_diag_cause)c);
                size_t k;

                assert_non_null(name);
                for (k = 0; k < ELEMENTSOF(contract) && !streq(contract[k], name); k++)
                        ;
                assert_true(k < ELEMENTSOF(contract));
                assert_false(seen[k]);
                seen[k] = true;
        }
        assert_null(natgw_diag_cause_name(NATGW_CAUSE_COUNT));
}

/* The verdict is the first layer that fails; warnings and unknowns before it do not count. */
static void test_verdict(void **state) {
        struct natgw_diag_report r = {};
        struct natgw_diag_layer *a, *b, *c, *d;
        enum natgw_diag_cause cause = NATGW_CAUSE_TARGET_FILTERED;

        assert_int_equal(natgw_diag_verdict(&r, &cause), -1);
        assert_int_equal(cause, NATGW_CAUSE_OK);

        a = natgw_diag_layer_add(&r, "one");
        b = natgw_diag_layer_add(&r, "two");
        c = natgw_diag_layer_add(&r, "three");
        d = natgw_diag_layer_add(&r, "four");
        natgw_diag_mark(a, NATGW_DIAG_WARN, "a warning");
        natgw_diag_mark(b, NATGW_DIAG_UNKNOWN, NULL);
        assert_int_equal(natgw_diag_verdict(&r, &cause), -1);
        assert_int_equal(cause, NATGW_CAUSE_OK);

        natgw_diag_fail(d, NATGW_CAUSE_TARGET_FILTERED, "fix d");
        natgw_diag_fail(c, NATGW_CAUSE_INTERFACE_DOWN, "fix c");
        /* A second failure of the same layer does not replace the first. */
        natgw_diag_fail(c, NATGW_CAUSE_NO_PUBLIC_ADDRESS, "other");
        assert_int_equal(natgw_diag_verdict(&r, &cause), 2);
        assert_int_equal(cause, NATGW_CAUSE_INTERFACE_DOWN);
        assert_string_equal(r.layers[2].fix, "fix c");

        /* A mark never makes a failing layer better, nor a warning an unknown. */
        natgw_diag_mark(c, NATGW_DIAG_UNKNOWN, NULL);
        natgw_diag_mark(a, NATGW_DIAG_UNKNOWN, NULL);
        assert_int_equal(c->status, NATGW_DIAG_FAIL);
        assert_int_equal(a->status, NATGW_DIAG_WARN);

        /* The report is full at NATGW_DIAG_LAYERS_MAX. */
        while (r.n_layers < NATGW_DIAG_LAYERS_MAX)
                assert_non_null(natgw_diag_layer_add(&r, "more"));
        assert_null(natgw_diag_layer_add(&r, "too many"));
}

static void test_report_json(void **state) {
        struct natgw_diag_report r = {};
        struct natgw_diag_layer *l;
        json_t *j, *layers;

        snprintf(r.subject, sizeof(r.subject), "forward web");
        l = natgw_diag_layer_add(&r, "config");
        natgw_diag_evidence(l, "entry %s", "web");
        l = natgw_diag_layer_add(&r, "target");
        natgw_diag_evidence(l, "refused");
        natgw_diag_fail(l, NATGW_CAUSE_TARGET_NOT_LISTENING, "start it");
        j = natgw_diag_report_json(&r);
        assert_non_null(j);
        assert_false(json_is_true(json_object_get(j, "ok")));
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "verdict"), "cause")),
                            "target-not-listening");
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "verdict"), "layer")), "target");
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "verdict"), "fix")), "start it");
        layers = json_object_get(j, "layers");
        assert_int_equal(json_array_size(layers), 2);
        assert_string_equal(json_string_value(json_object_get(json_array_get(layers, 0), "status")), "ok");
        assert_string_equal(json_string_value(json_array_get(json_object_get(json_array_get(layers, 1), "evidence"), 0)),
                            "refused");
        json_decref(j);
}

/* natgwd's reply to show, as natgwctl reads it. */
static json_t *show_reply(const struct natgw_config *c, struct natgw_counter *counters, size_t n, const char *only) {
        size_t len = 0;
        _cleanup_(freep) char *line = natgw_show_format(c, counters, n, only, &len);
        json_error_t err;

        assert_non_null(line);
        assert_int_equal(len, strlen(line));
        /* One line: the newline ends it, and only there. */
        assert_true(len > 0 && line[len - 1] == '\n');
        assert_ptr_equal(strchr(line, '\n'), line + len - 1);
        return json_loads(line, 0, &err);
}

/* show's reply, written an entry at a time: every entry in the order of the file (egress, forwards,
 * netmaps), each with its counters or null, the allow lists' denied packets, the filter's drops. */
static void test_show_format(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(
                "version = 1;\n"
                "filter = { forward = \"drop\"; };\n"
                "masquerade = ( { name = \"office\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\"; },\n"
                "  { name = \"web\"; source = \"10.0.5.0/24\"; out_interface = \"eth0\";\n"
                "    allow = ( { proto = \"tcp\"; port = 443; } ); } );\n"
                "forward = ( { name = \"https\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 443; to = \"10.0.5.10\"; } );\n"
                "netmap = ( { name = \"dmz\"; interface = \"eth0\"; inside = \"192.168.5.0/28\"; outside = \"203.0.113.32/28\"; } );\n");
        /* Any order: the reply sorts them. "office" has no traffic counter, "dmz" none at all. */
        struct natgw_counter counters[] = {
                { .name = (char *)"https", .packets = 3, .bytes = 180 },
                { .name = (char *)"denied:web", .packets = 7 },
                { .name = (char *)"office", .packets = 11, .bytes = 660 },
                { .name = (char *)"bytes:https", .packets = 40, .bytes = 5000 },
                { .name = (char *)"web", .packets = 0, .bytes = 0 },
                { .name = (char *)"bytes:web", .packets = 2, .bytes = 120 },
                { .name = (char *)NATGW_FILTER_COUNTER, .packets = 5 },
        };
        static const char *const names[] = { "office", "web", "https", "dmz" };
        static const char *const kinds[] = { "masquerade", "masquerade", "forward", "netmap" };
        json_t *show = show_reply(c, counters, ELEMENTSOF(counters), NULL), *entries, *e;

        assert_non_null(show);
        assert_true(json_is_true(json_object_get(show, "ok")));
        assert_string_equal(json_string_value(json_object_get(show, "config")), c->path);
        assert_string_equal(json_string_value(json_object_get(show, "filter_forward")), "drop");
        assert_int_equal(json_integer_value(json_object_get(show, "forward_dropped")), 5);
        entries = json_object_get(show, "entries");
        assert_int_equal(json_array_size(entries), ELEMENTSOF(names));
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                e = json_array_get(entries, i);
                assert_string_equal(json_string_value(json_object_get(e, "name")), names[i]);
                assert_string_equal(json_string_value(json_object_get(e, "kind")), kinds[i]);
        }
        e = json_array_get(entries, 0);
        assert_int_equal(json_integer_value(json_object_get(e, "connections")), 11);
        assert_int_equal(json_integer_value(json_object_get(e, "bytes")), 660);
        assert_true(json_is_null(json_object_get(e, "traffic_bytes")));
        assert_null(json_object_get(e, "denied")); /* no allow list */
        e = json_array_get(entries, 1);
        assert_int_equal(json_integer_value(json_object_get(e, "connections")), 0);
        assert_int_equal(json_integer_value(json_object_get(e, "traffic_packets")), 2);
        assert_int_equal(json_integer_value(json_object_get(e, "denied")), 7);
        e = json_array_get(entries, 2);
        assert_int_equal(json_integer_value(json_object_get(e, "connections")), 3);
        assert_int_equal(json_integer_value(json_object_get(e, "traffic_bytes")), 5000);
        e = json_array_get(entries, 3);
        assert_true(json_is_null(json_object_get(e, "connections")));
        assert_true(json_is_null(json_object_get(e, "traffic_packets")));
        json_decref(show);

        /* One entry (natgwctl diagnose): that one alone, with its counters; an unknown name: none. */
        show = show_reply(c, counters, ELEMENTSOF(counters), "web");
        assert_non_null(show);
        entries = json_object_get(show, "entries");
        assert_int_equal(json_array_size(entries), 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(entries, 0), "name")), "web");
        assert_int_equal(json_integer_value(json_object_get(json_array_get(entries, 0), "denied")), 7);
        assert_int_equal(json_integer_value(json_object_get(show, "forward_dropped")), 5);
        json_decref(show);
        show = show_reply(c, counters, ELEMENTSOF(counters), "dmz");
        assert_non_null(show);
        assert_int_equal(json_array_size(json_object_get(show, "entries")), 1);
        json_decref(show);
        show = show_reply(c, counters, ELEMENTSOF(counters), "nosuch");
        assert_non_null(show);
        assert_int_equal(json_array_size(json_object_get(show, "entries")), 0);
        json_decref(show);

        /* No table (no counters at all), the filter accepting: nulls, never a failure. */
        c->filter.forward = NATGW_FILTER_ACCEPT;
        show = show_reply(c, NULL, 0, NULL);
        assert_non_null(show);
        assert_string_equal(json_string_value(json_object_get(show, "filter_forward")), "accept");
        assert_true(json_is_null(json_object_get(show, "forward_dropped")));
        assert_true(json_is_null(json_object_get(json_array_get(json_object_get(show, "entries"), 1), "denied")));
        assert_true(json_is_null(json_object_get(json_array_get(json_object_get(show, "entries"), 2), "bytes")));
        json_decref(show);
}

/* What natgwd's `show` says of a forward, read back by natgwctl, is the forward of the file. */
static void test_forward_roundtrip(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(
                "version = 1;\n"
                "forward = (\n"
                "  { name = \"web\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; },\n"
                "  { name = \"mail\"; proto = \"tcp+udp\"; port = ( 25, \"6000-6002\" ); to = \"192.168.1.10\";\n"
                "    allow_from = [ \"198.51.100.0/24\", \"203.0.113.7\" ]; },\n"
                "  { name = \"rng\"; in_interface = \"eth0\"; proto = \"udp\"; port = \"7000-7009\"; to = \"192.168.1.11:9000-9009\";\n"
                "    reflection = false; },\n"
                "  { name = \"api6\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 443; to = \"[fd00:1::10]:8443\";\n"
                "    destination = \"2001:db8:1::1\"; },\n"
                "  { name = \"v6keep\"; proto = \"tcp\"; port = 22; to = \"fd00:1::11\"; }\n"
                ");\n");
        json_t *show = show_reply(c, NULL, 0, NULL);
        struct natgw_addr a;

        assert_non_null(show);
        for (size_t i = 0; i < c->n_forwards; i++) {
                const struct natgw_forward *want = &c->forwards[i];
                struct natgw_forward got = {};

                assert_int_equal(natgw_diag_forward_from_json(json_array_get(json_object_get(show, "entries"), i), &got), 0);
                assert_string_equal(got.name, want->name);
                assert_int_equal(got.line, want->line);
                assert_string_equal(got.in_interface, want->in_interface);
                assert_int_equal(got.protos, want->protos);
                assert_int_equal(natgw_addr_cmp(&got.to, &want->to), 0);
                assert_int_equal(got.to_port_mode, want->to_port_mode);
                if (want->to_port_mode != NATGW_TO_PORT_KEEP) {
                        assert_int_equal(got.to_port.lo, want->to_port.lo);
                        assert_int_equal(got.to_port.hi, want->to_port.hi);
                }
                assert_int_equal(got.n_ports, want->n_ports);
                for (size_t k = 0; k < want->n_ports; k++) {
                        assert_int_equal(got.ports[k].lo, want->ports[k].lo);
                        assert_int_equal(got.ports[k].hi, want->ports[k].hi);
                }
                assert_int_equal(got.has_destination, want->has_destination);
                /* reflection: true by default, false for rng only (as the file says). */
                assert_int_equal(got.reflection, !streq(want->name, "rng"));
                if (want->has_destination)
                        assert_int_equal(natgw_addr_cmp(&got.destination, &want->destination), 0);
                assert_int_equal(got.n_allow_from, want->n_allow_from);
                for (size_t k = 0; k < want->n_allow_from; k++)
                        assert_int_equal(natgw_prefix_cmp(&got.allow_from[k], &want->allow_from[k]), 0);
                /* What the element check compares: the entry in force is the file's. */
                assert_true(natgw_diag_forward_same(&got, want));
                got.ports[0].hi++;
                assert_false(natgw_diag_forward_same(&got, want));
                natgw_diag_forward_clear(&got);
        }

        /* mail: allow_from holds 198.51.100.0/24 and 203.0.113.7 only. */
        {
                struct natgw_forward mail = {};

                assert_int_equal(natgw_diag_forward_from_json(json_array_get(json_object_get(show, "entries"), 1), &mail), 0);
                assert_int_equal(natgw_addr_parse("198.51.100.255", &a), 0);
                assert_true(natgw_diag_allowed(&mail, &a));
                assert_int_equal(natgw_addr_parse("198.51.101.0", &a), 0);
                assert_false(natgw_diag_allowed(&mail, &a));
                assert_int_equal(natgw_addr_parse("203.0.113.7", &a), 0);
                assert_true(natgw_diag_allowed(&mail, &a));
                assert_int_equal(natgw_addr_parse("203.0.113.8", &a), 0);
                assert_false(natgw_diag_allowed(&mail, &a));
                /* Ports kept: the target listens on the forward's own ports. */
                assert_int_equal(natgw_diag_target_port(&mail), 25);
                assert_true(natgw_diag_target_port_matches(&mail, 6002));
                assert_false(natgw_diag_target_port_matches(&mail, 6003));
                natgw_diag_forward_clear(&mail);
        }
        /* rng: 7000-7009 onto 9000-9009. */
        {
                struct natgw_forward rng = {};

                assert_int_equal(natgw_diag_forward_from_json(json_array_get(json_object_get(show, "entries"), 2), &rng), 0);
                assert_int_equal(natgw_diag_target_port(&rng), 9000);
                assert_true(natgw_diag_target_port_matches(&rng, 9009));
                assert_false(natgw_diag_target_port_matches(&rng, 7000));
                assert_true(natgw_diag_port_listed(&rng, 7000));
                assert_false(natgw_diag_port_listed(&rng, 9000));
                natgw_diag_forward_clear(&rng);
        }
        json_decref(show);
}

static void test_forward_bad(void **state) {
        static const char *const bad[] = {
                "{\"name\": \"x\", \"kind\": \"snat\", \"proto\": \"tcp\", \"to\": \"1.2.3.4\", \"port\": [1]}",
                "{\"name\": \"x\", \"kind\": \"forward\", \"proto\": \"sctp\", \"to\": \"1.2.3.4\", \"port\": [1]}",
                "{\"name\": \"x\", \"kind\": \"forward\", \"proto\": \"tcp\", \"to\": \"1.2.3\", \"port\": [1]}",
                "{\"name\": \"x\", \"kind\": \"forward\", \"proto\": \"tcp\", \"to\": \"[fd00::1\", \"port\": [1]}",
                "{\"name\": \"x\", \"kind\": \"forward\", \"proto\": \"tcp\", \"to\": \"1.2.3.4:0\", \"port\": [1]}",
                "{\"name\": \"x\", \"kind\": \"forward\", \"proto\": \"tcp\", \"to\": \"1.2.3.4\", \"port\": []}",
                "{\"name\": \"x\", \"kind\": \"forward\", \"proto\": \"tcp\", \"to\": \"1.2.3.4\", \"port\": [70000]}",
                "{\"name\": \"x\", \"kind\": \"forward\", \"proto\": \"tcp\", \"to\": \"1.2.3.4\", \"port\": [1],"
                " \"allow_from\": [\"nope\"]}",
                "{\"name\": \"x\", \"kind\": \"forward\", \"proto\": \"tcp\", \"to\": \"1.2.3.4\", \"port\": [1],"
                " \"in_interface\": \"a-name-longer-than-ifnamsiz\"}",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                json_t *j = json_loads(bad[i], 0, NULL);
                struct natgw_forward f = {};

                assert_non_null(j);
                if (natgw_diag_forward_from_json(j, &f) != -EINVAL)
                        fail_msg("accepted: %s", bad[i]);
                json_decref(j);
        }
}

/* The egress entry of an address: the most specific source prefix among the entries of the
 * interface it leaves by, whatever the order (the rule natgwd.conf(5) states). */
static void test_egress_match(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(
                "version = 1;\n"
                "masquerade = ( { name = \"wide\"; source = [ \"10.0.0.0/8\", \"fd00::/8\" ]; out_interface = \"eth0\"; },\n"
                "               { name = \"other\"; source = \"10.1.2.0/24\"; out_interface = \"eth1\"; } );\n"
                "snat = ( { name = \"host\"; source = \"10.1.2.3/32\"; out_interface = \"eth0\"; to = \"203.0.113.9\"; },\n"
                "         { name = \"mid\"; source = \"10.1.0.0/16\"; out_interface = \"eth0\"; to = \"203.0.113.8\"; } );\n"
                "forward = ( { name = \"web\"; proto = \"tcp\"; port = 80; to = \"10.1.2.3\"; } );\n");
        json_t *show = show_reply(c, NULL, 0, NULL), *entries = json_object_get(show, "entries");
        static const struct {
                const char *addr, *oif, *want;
                unsigned len;
        } cases[] = {
                { "10.1.2.3", "eth0", "host", 32 },  { "10.1.2.4", "eth0", "mid", 16 },
                { "10.9.9.9", "eth0", "wide", 8 },   { "10.1.2.4", "eth1", "other", 24 },
                { "10.9.9.9", "eth1", NULL, 0 },     { "192.168.1.1", "eth0", NULL, 0 },
                { "fd00::5", "eth0", "wide", 8 },    { "10.1.2.3", NULL, "host", 32 },
        };

        assert_non_null(show);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct natgw_addr a;
                unsigned len = 0;
                int k;

                assert_int_equal(natgw_addr_parse(cases[i].addr, &a), 0);
                k = natgw_diag_egress_match(entries, &a, cases[i].oif, &len);
                if (!cases[i].want) {
                        assert_int_equal(k, -1);
                        continue;
                }
                assert_true(k >= 0);
                assert_string_equal(json_string_value(json_object_get(json_array_get(entries, (size_t)k), "name")),
                                    cases[i].want);
                assert_int_equal(len, cases[i].len);
        }
        json_decref(show);
}

/* A kernel element of a forward map, written byte by byte from nftables' layout (each field
 * padded to 4 bytes; iifname 16 bytes; port in network order), not by the compiler. */
struct kelem {
        uint8_t key[32], key_end[32], data[8];
        struct natgw_nft_elem e;
};

static void kelem_init(struct kelem *k, uint8_t proto, uint16_t port, const uint8_t *src_lo, const uint8_t *src_hi,
                       const uint8_t to[4], uint16_t to_port) {
        size_t off = 0;

        *k = (struct kelem){};
        memcpy(k->key, "eth0", 4);
        off = 16;
        if (src_lo) {
                memcpy(k->key + off, src_lo, 4);
                memcpy(k->key_end, k->key, off);
                memcpy(k->key_end + off, src_hi, 4);
                off += 4;
        }
        k->key[off] = proto;
        k->key[off + 4] = (uint8_t)(port >> 8);
        k->key[off + 5] = (uint8_t)port;
        if (src_lo)
                memcpy(k->key_end + off, k->key + off, 8);
        memcpy(k->data, to, 4);
        k->data[4] = (uint8_t)(to_port >> 8);
        k->data[5] = (uint8_t)to_port;
        k->e = (struct natgw_nft_elem){ .key = k->key, .key_len = off + 8, .data = k->data, .data_len = 8,
                                        .key_end = src_lo ? k->key_end : NULL, .key_end_len = src_lo ? off + 8 : 0 };
}

/* The element check: which of a forward's elements the kernel's map holds, byte for byte. */
static void test_elems(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(
                "version = 1;\n"
                "masquerade = ( { name = \"lan\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\"; } );\n"
                "forward = (\n"
                "  { name = \"web\"; in_interface = \"eth0\"; proto = \"tcp+udp\"; port = \"8080-8081\"; to = \"192.168.1.66:80\"; },\n"
                "  { name = \"ssh\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 2222; to = \"192.168.1.67:22\"; },\n"
                "  { name = \"only\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 443; to = \"192.168.1.68\";\n"
                "    allow_from = [ \"198.51.100.0/24\" ]; }\n"
                ");\n");
        static const uint8_t t66[4] = { 192, 168, 1, 66 }, t67[4] = { 192, 168, 1, 67 }, t68[4] = { 192, 168, 1, 68 };
        static const uint8_t lo[4] = { 198, 51, 100, 0 }, hi[4] = { 198, 51, 100, 255 };
        _cleanup_(natgw_plan_freep) struct natgw_plan *p = NULL;
        struct natgw_errors errors = {};
        struct natgw_diag_elems w = {};
        struct kelem k;
        char buf[64];

        assert_int_equal(natgw_plan_build(c, &p, &errors), 0);
        /* web is entry 1 (egress first): 2 protocols x 2 ports in map fwd4_if. */
        assert_int_equal(natgw_diag_elems_want(p, 1, &w), 0);
        assert_string_equal(w.map->name, "fwd4_if");
        assert_int_equal(w.n, 4);
        kelem_init(&k, IPPROTO_TCP, 8080, NULL, NULL, t66, 80);
        natgw_diag_elems_see(&w, &k.e);
        natgw_diag_elems_see(&w, &k.e); /* seen twice, counted once */
        kelem_init(&k, IPPROTO_TCP, 8081, NULL, NULL, t66, 80);
        natgw_diag_elems_see(&w, &k.e);
        kelem_init(&k, IPPROTO_UDP, 8080, NULL, NULL, t66, 80);
        natgw_diag_elems_see(&w, &k.e);
        /* udp/8081 with another target is not the config's element; ssh's is not web's. */
        kelem_init(&k, IPPROTO_UDP, 8081, NULL, NULL, t67, 80);
        natgw_diag_elems_see(&w, &k.e);
        kelem_init(&k, IPPROTO_TCP, 2222, NULL, NULL, t67, 22);
        natgw_diag_elems_see(&w, &k.e);
        assert_int_equal(w.n_found, 3);
        for (size_t i = 0; i < w.n; i++)
                if (!w.found[i]) {
                        natgw_diag_elems_format(&w, i, buf, sizeof(buf));
                        assert_string_equal(buf, "udp/8081");
                }
        natgw_diag_elems_restart(&w);
        assert_int_equal(w.n_found, 0);
        natgw_diag_elems_clear(&w);

        /* only: an interval map, the client prefix as key and key end. */
        assert_int_equal(natgw_diag_elems_want(p, 3, &w), 0);
        assert_string_equal(w.map->name, "fwd4_if_src");
        assert_int_equal(w.n, 1);
        kelem_init(&k, IPPROTO_TCP, 443, lo, lo, t68, 443);
        natgw_diag_elems_see(&w, &k.e); /* a narrower interval is another element */
        assert_int_equal(w.n_found, 0);
        natgw_diag_elems_format(&w, 0, buf, sizeof(buf));
        assert_string_equal(buf, "tcp/443 from 198.51.100.0");
        kelem_init(&k, IPPROTO_TCP, 443, lo, hi, t68, 443);
        natgw_diag_elems_see(&w, &k.e);
        assert_int_equal(w.n_found, 1);
        natgw_diag_elems_clear(&w);

        /* The egress entry has no forward map element. */
        assert_int_equal(natgw_diag_elems_want(p, 0, &w), -ENOENT);
}

static void test_parse_addr_port(void **state) {
        struct natgw_addr a;
        struct natgw_port_range p;
        char buf[INET6_ADDRSTRLEN];
        bool has;

        assert_int_equal(natgw_diag_parse_addr_port("198.51.100.7:443", &a, &p, &has), 0);
        assert_true(has);
        assert_int_equal(p.lo, 443);
        assert_string_equal(natgw_addr_format(&a, buf, sizeof(buf)), "198.51.100.7");
        assert_int_equal(natgw_diag_parse_addr_port("2001:db8::7", &a, &p, &has), 0);
        assert_false(has);
        assert_int_equal(a.family, AF_INET6);
        assert_int_equal(natgw_diag_parse_addr_port("[2001:db8::7]:53", &a, &p, &has), 0);
        assert_true(has);
        assert_int_equal(p.lo, 53);
        assert_int_equal(natgw_diag_parse_addr_port("[2001:db8::7]53", &a, &p, &has), -EINVAL);
        assert_int_equal(natgw_diag_parse_addr_port("198.51.100.7:", &a, &p, &has), -EINVAL);
        assert_int_equal(natgw_diag_parse_addr_port("host:80", &a, &p, &has), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cause_names),
                cmocka_unit_test(test_verdict),
                cmocka_unit_test(test_report_json),
                cmocka_unit_test(test_show_format),
                cmocka_unit_test(test_forward_roundtrip),
                cmocka_unit_test(test_forward_bad),
                cmocka_unit_test(test_egress_match),
                cmocka_unit_test(test_parse_addr_port),
                cmocka_unit_test(test_elems),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

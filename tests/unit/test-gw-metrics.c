/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The Prometheus exposition (gw-metrics.c): what text format 0.0.4 requires of every line
 * (# HELP and # TYPE before a family's samples, escaped label values, Prometheus' spelling of
 * NaN and infinities), and that each value of the input comes out as the sample the contract
 * names. The SNAT port tally (ct-ports.c): which conntrack entries count, distinct ports, the
 * bound on addresses, the level. The metrics endpoint's HTTP judge (gw-http.c).
 */

#include <arpa/inet.h>
#include <float.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ct-dump.h"
#include "gw-http.h"
#include "gw-metrics.h"

static const char config_text[] = "version = 1;\n"
                                  "masquerade = ( { name = \"lan\"; source = \"192.168.1.0/24\"; out_interface = \"eth0\";\n"
                                  "  allow = ( { proto = \"udp\"; port = 53; } ); } );\n"
                                  "snat = ( { name = \"dmz\"; source = \"10.0.0.0/8\"; out_interface = \"eth0\"; to = \"203.0.113.10\"; } );\n"
                                  "forward = ( { name = \"web\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; } );\n";

/* The sample NAME (with its labels, as written) in @text: its value as text, or NULL. */
static const char *sample(const char *text, const char *name, char *buf, size_t size) {
        size_t n = strlen(name);

        for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
                if (strncmp(line, name, n) == 0 && line[n] == ' ') {
                        size_t len = strcspn(line + n + 1, "\n");

                        snprintf(buf, size, "%.*s", (int)len, line + n + 1);
                        return buf;
                }
        return NULL;
}

static void assert_sample(const char *text, const char *name, const char *want) {
        char buf[64];
        const char *got = sample(text, name, buf, sizeof(buf));

        if (!got || strcmp(got, want) != 0)
                fail_msg("%s: want %s, got %s", name, want, got ? got : "(absent)");
}

/* Every sample line belongs to the family whose # HELP and # TYPE came last, and each family
 * is described once; the text ends with a newline. */
static void assert_well_formed(const char *text) {
        char family[128] = "", help[128] = "";
        size_t families = 0;

        assert_true(text[0] && text[strlen(text) - 1] == '\n');
        for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
                size_t len = strcspn(line, "\n");
                const char *type;
                bool counter;

                if (strncmp(line, "# HELP ", 7) == 0) {
                        snprintf(help, sizeof(help), "%.*s", (int)strcspn(line + 7, " "), line + 7);
                        continue;
                }
                if (strncmp(line, "# TYPE ", 7) == 0) {
                        snprintf(family, sizeof(family), "%.*s", (int)strcspn(line + 7, " "), line + 7);
                        assert_string_equal(family, help);
                        type = line + 7 + strlen(family);
                        counter = strncmp(type, " counter\n", 9) == 0;
                        assert_true(counter || strncmp(type, " gauge\n", 7) == 0);
                        /* Counters are named *_total. */
                        if (counter)
                                assert_true(strlen(family) > 6 && streq(family + strlen(family) - 6, "_total"));
                        families++;
                        continue;
                }
                assert_true(family[0]);
                assert_true(strncmp(line, family, strlen(family)) == 0 &&
                            (line[strlen(family)] == ' ' || line[strlen(family)] == '{'));
                assert_true(len > strlen(family) + 1);
        }
        assert_true(families > 0);
}

/* Every natgw_* metric the example alert rules (conf/prometheus/natgwd.rules.yml) use is a
 * family of @text. */
static void assert_rules_use_exported(const char *text) {
        _cleanup_(freep) char *rules = NULL;
        size_t n = 0, len = 0;
        FILE *f = fopen(SRCDIR "/conf/prometheus/natgwd.rules.yml", "re");

        assert_non_null(f);
        assert_true(getdelim(&rules, &len, '\0', f) > 0);
        fclose(f);
        for (const char *p = strstr(rules, "natgw_"); p; p = strstr(p + 1, "natgw_")) {
                char name[96], type[128];
                size_t k = strspn(p, "abcdefghijklmnopqrstuvwxyz_");

                if (p > rules && (p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z')))
                        continue;
                snprintf(name, sizeof(name), "%.*s", (int)k, p);
                snprintf(type, sizeof(type), "# TYPE %s ", name);
                if (!strstr(text, type))
                        fail_msg("the rules use %s, which natgwd does not export", name);
                n++;
        }
        assert_true(n >= 8);
}

static void test_render(void **state) {
        struct natgw_errors errors = {};
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL;
        struct natgw_counter counters[] = {
                { .name = (char *)"web", .packets = 42, .bytes = 2520 },
                { .name = (char *)"lan", .packets = 7, .bytes = 420 },
                { .name = (char *)"denied:lan", .packets = 3, .bytes = 180 },
                { .name = (char *)"dmz", .packets = 18446744073709551615u, .bytes = 0 },
                { .name = (char *)"bytes:web", .packets = 10, .bytes = 9000 },
        };
        struct natgw_host hosts[2] = { { .bytes_out = 1000, .packets_out = 10, .bytes_in = 50000, .packets_in = 40 },
                                       { .bytes_out = 7, .packets_out = 1 } };
        struct natgw_ha_metrics ha = { .role = NATGW_HA_BACKUP, .transitions = 3, .last_result = true, .guard = true };
        struct natgw_ct_watch_state ct = { .have_stats = true, .level = NATGW_CT_CRITICAL,
                                           .stats = { .count = 1000, .max = 1024, .drop = 5, .early_drop = 6,
                                                      .insert_failed = 7, .chain_toolong = 9 } };
        struct natgw_reload_stats reloads = {};
        struct natgw_restore_record restore = { .restored = 2, .failed = 1 };
        struct natgw_ct_port_use use[] = { { .l4proto = IPPROTO_TCP, .used = 640, .entries = 700 } };
        struct natgw_ct_ports ports = { .v = use, .n = 1, .untracked = 4 };
        struct natgw_ct_ports_state pst = { .last = &ports, .level = NATGW_CT_WARN };
        _cleanup_(freep) char *text = NULL;
        size_t len;

        assert_int_equal(natgw_config_load_string(config_text, "test.conf", &c, &errors), 0);
        assert_int_equal(natgw_addr_parse("203.0.113.10", &use[0].addr), 0);
        assert_int_equal(natgw_addr_parse("192.168.1.10", &hosts[0].addr), 0);
        assert_int_equal(natgw_addr_parse("fd00::10", &hosts[1].addr), 0);
        natgw_reload_stats_add(&reloads, 1700000000000000u, 1500, true);
        natgw_reload_stats_add(&reloads, 1700000060500000u, 250000, false);
        natgw_counters_sort(counters, ELEMENTSOF(counters));
        assert_int_equal(natgw_metrics_render(&(struct natgw_metrics_input){
                                 .version = "1.2.3", .started_realtime_usec = 1699999999000000u, .config = c,
                                 .generation = 4, .counters = counters, .n_counters = ELEMENTSOF(counters),
                                 .have_counters = true, .ct = &ct, .reloads = &reloads, .restore = &restore,
                                 .ports = &pst, .hosts = hosts, .n_hosts = 2, .have_hosts = true, .ha = &ha },
                         &text, &len),
                         0);
        assert_int_equal(len, strlen(text));
        assert_well_formed(text);
        assert_sample(text, "natgw_build_info{version=\"1.2.3\"}", "1");
        assert_sample(text, "natgw_start_time_seconds", "1699999999");
        assert_sample(text, "natgw_config_generation", "4");
        assert_sample(text, "natgw_entries{kind=\"masquerade\"}", "1");
        assert_sample(text, "natgw_entries{kind=\"snat\"}", "1");
        assert_sample(text, "natgw_entries{kind=\"forward\"}", "1");
        assert_sample(text, "natgw_conntrack_entries", "1000");
        assert_sample(text, "natgw_conntrack_entries_max", "1024");
        assert_sample(text, "natgw_conntrack_level", "2");
        assert_sample(text, "natgw_conntrack_drop_total", "5");
        assert_sample(text, "natgw_conntrack_early_drop_total", "6");
        assert_sample(text, "natgw_conntrack_insert_failed_total", "7");
        assert_sample(text, "natgw_conntrack_chain_toolong_total", "9");
        assert_sample(text, "natgw_entry_connections_total{entry=\"lan\",kind=\"masquerade\"}", "7");
        /* A counter's full 64 bits, exactly. */
        assert_sample(text, "natgw_entry_connections_total{entry=\"dmz\",kind=\"snat\"}", "18446744073709551615");
        assert_sample(text, "natgw_entry_connections_total{entry=\"web\",kind=\"forward\"}", "42");
        assert_sample(text, "natgw_entry_denied_total{entry=\"lan\",kind=\"masquerade\"}", "3");
        /* Only entries with an allow list have a denied counter. */
        assert_null(strstr(text, "natgw_entry_denied_total{entry=\"dmz\""));
        assert_sample(text, "natgw_reloads_total{result=\"applied\"}", "1");
        assert_sample(text, "natgw_reloads_total{result=\"rejected\"}", "1");
        assert_sample(text, "natgw_last_reload_timestamp_seconds", "1700000060.5");
        assert_sample(text, "natgw_last_reload_duration_seconds", "0.25");
        assert_sample(text, "natgw_last_reload_success", "0");
        assert_sample(text, "natgw_table_restores_total{result=\"restored\"}", "2");
        assert_sample(text, "natgw_table_restores_total{result=\"failed\"}", "1");
        assert_sample(text, "natgw_snat_ports_used{address=\"203.0.113.10\",protocol=\"tcp\"}", "640");
        assert_sample(text, "natgw_snat_ports_available{address=\"203.0.113.10\",protocol=\"tcp\"}", "64512");
        assert_sample(text, "natgw_snat_port_entries{address=\"203.0.113.10\",protocol=\"tcp\"}", "700");
        assert_sample(text, "natgw_snat_port_level", "1");
        assert_sample(text, "natgw_snat_port_untracked_entries", "4");
        assert_sample(text, "natgw_entry_traffic_bytes_total{entry=\"web\",kind=\"forward\"}", "9000");
        assert_sample(text, "natgw_entry_traffic_packets_total{entry=\"web\",kind=\"forward\"}", "10");
        assert_sample(text, "natgw_hosts_tracked", "2");
        assert_sample(text, "natgw_host_bytes_total{host=\"192.168.1.10\",direction=\"out\"}", "1000");
        assert_sample(text, "natgw_host_bytes_total{host=\"192.168.1.10\",direction=\"in\"}", "50000");
        assert_sample(text, "natgw_host_packets_total{host=\"fd00::10\",direction=\"out\"}", "1");
        assert_sample(text, "natgw_ha_role{role=\"backup\"}", "1");
        assert_sample(text, "natgw_ha_role{role=\"master\"}", "0");
        assert_sample(text, "natgw_ha_transitions_total", "3");
        assert_sample(text, "natgw_ha_split_brain", "0");
        assert_sample(text, "natgw_ha_guard", "1");
        assert_rules_use_exported(text);
        natgw_errors_clear(&errors);
}

/* Without a config, counters, watch or port dump: only what is known, still well formed. */
static void test_render_minimal(void **state) {
        _cleanup_(freep) char *text = NULL;

        assert_int_equal(natgw_metrics_render(&(struct natgw_metrics_input){ .version = "x" }, &text, NULL), 0);
        assert_well_formed(text);
        assert_sample(text, "natgw_build_info{version=\"x\"}", "1");
        assert_null(strstr(text, "natgw_entry_"));
        assert_null(strstr(text, "natgw_conntrack_"));
}

static void test_escaping(void **state) {
        struct natgw_metrics m;
        _cleanup_(freep) char *text = NULL;

        assert_int_equal(natgw_metrics_open(&m), 0);
        natgw_metrics_family(&m, "t_x", NATGW_METRIC_GAUGE, "a \\ b\nc \"q\"");
        natgw_metrics_sample(&m, "t_x", (const char *[]){ "l", "a\"b\\c\nd", "m", "", NULL }, 0.5);
        natgw_metrics_sample(&m, "t_x", NULL, NAN);
        natgw_metrics_sample(&m, "t_x", NULL, INFINITY);
        natgw_metrics_sample(&m, "t_x", NULL, -INFINITY);
        natgw_metrics_sample(&m, "t_x", NULL, 1e300);
        assert_int_equal(natgw_metrics_close(&m, &text, NULL), 0);
        /* HELP escapes backslash and newline only; label values also the double quote. */
        assert_string_equal(text, "# HELP t_x a \\\\ b\\nc \"q\"\n"
                                  "# TYPE t_x gauge\n"
                                  "t_x{l=\"a\\\"b\\\\c\\nd\",m=\"\"} 0.5\n"
                                  "t_x NaN\n"
                                  "t_x +Inf\n"
                                  "t_x -Inf\n"
                                  "t_x 1e+300\n");
}

/* Values in the fewest digits that read back as the same double. */
static void test_values(void **state) {
        static const struct {
                double v;
                const char *text;
        } cases[] = {
                { 0.1, "0.1" },
                { 0.32868, "0.32868" },
                { 1764750045.123456, "1764750045.123456" },
                { 1.0 / 3, "0.3333333333333333" },
                { DBL_MAX, "1.7976931348623157e+308" },
                { 5e-324, "4.94065645841247e-324" },
                { -0.0, "-0" },
                { 1e21, "1e+21" },
                { 42, "42" },
        };
        struct natgw_metrics m;
        _cleanup_(freep) char *text = NULL;
        char want[2048] = "", *w = want, *line, *save = NULL;
        uint64_t x = 0x9e3779b97f4a7c15ULL;
        double v, rnd[200];

        assert_int_equal(natgw_metrics_open(&m), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                natgw_metrics_sample(&m, "t_v", NULL, cases[i].v);
                w += sprintf(w, "t_v %s\n", cases[i].text);
        }
        /* Any finite double reads back exactly: random bit patterns (xorshift). */
        for (size_t i = 0; i < ELEMENTSOF(rnd); i++) {
                do {
                        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                        memcpy(&v, &x, sizeof(v));
                } while (!isfinite(v));
                rnd[i] = v;
                natgw_metrics_sample(&m, "t_r", NULL, v);
        }
        assert_int_equal(natgw_metrics_close(&m, &text, NULL), 0);
        assert_memory_equal(text, want, strlen(want));
        line = strtok_r(text + strlen(want), "\n", &save);
        for (size_t i = 0; i < ELEMENTSOF(rnd); i++, line = strtok_r(NULL, "\n", &save)) {
                assert_non_null(line);
                assert_true(strncmp(line, "t_r ", 4) == 0);
                v = strtod(line + 4, NULL);
                assert_memory_equal(&v, &rnd[i], sizeof(v));
        }
        assert_null(line);
}

static void test_bad_names(void **state) {
        static const char *const bad[] = { "", "1abc", "a-b", "a b", "ä" };
        struct natgw_metrics m;
        char *text = NULL;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(natgw_metrics_open(&m), 0);
                natgw_metrics_single(&m, bad[i], NATGW_METRIC_GAUGE, "h", 1);
                assert_int_equal(natgw_metrics_close(&m, &text, NULL), -EINVAL);
                assert_null(text);
        }
        /* A label name may not have a colon (a metric name may). */
        assert_int_equal(natgw_metrics_open(&m), 0);
        natgw_metrics_family(&m, "a:b", NATGW_METRIC_GAUGE, "h");
        natgw_metrics_sample(&m, "a:b", (const char *[]){ "x:y", "v", NULL }, 1);
        assert_int_equal(natgw_metrics_close(&m, &text, NULL), -EINVAL);
        assert_null(text);
}

static struct natgw_ct_record nat_record(const char *snat, uint8_t proto, uint16_t port, bool nat) {
        struct natgw_ct_record r = { .has_reply = true, .status = nat ? IPS_SRC_NAT | IPS_CONFIRMED : IPS_CONFIRMED };

        r.reply.family = AF_INET;
        r.reply.l4proto = proto;
        r.reply.has_ports = true;
        r.reply.dport = port;
        r.reply.sport = 443;
        assert_int_equal(natgw_addr_parse(snat, &r.reply.dst), 0);
        return r;
}

static void test_ports_tally(void **state) {
        _cleanup_(natgw_ct_ports_freep) struct natgw_ct_ports *p = NULL;
        struct natgw_ct_record r;
        char name[32];

        assert_int_equal(natgw_ct_ports_new(&p), 0);
        /* Ports 2000-2099 of .10/tcp, each twice (two destinations share a port). */
        for (unsigned i = 0; i < 200; i++) {
                r = nat_record("203.0.113.10", IPPROTO_TCP, (uint16_t)(2000 + i % 100), true);
                assert_int_equal(natgw_ct_ports_add(p, &r), 0);
        }
        /* The range's ends count; a port below it is an entry, not a port of the range. */
        r = nat_record("203.0.113.10", IPPROTO_UDP, 1024, true);
        assert_int_equal(natgw_ct_ports_add(p, &r), 0);
        r = nat_record("203.0.113.10", IPPROTO_UDP, 65535, true);
        assert_int_equal(natgw_ct_ports_add(p, &r), 0);
        r = nat_record("203.0.113.10", IPPROTO_UDP, 1023, true);
        assert_int_equal(natgw_ct_ports_add(p, &r), 0);
        /* Not source-NATed, no ports, or ICMP: not counted. */
        r = nat_record("203.0.113.10", IPPROTO_TCP, 3000, false);
        assert_int_equal(natgw_ct_ports_add(p, &r), 0);
        r = nat_record("203.0.113.10", IPPROTO_ICMP, 3000, true);
        assert_int_equal(natgw_ct_ports_add(p, &r), 0);
        r = nat_record("203.0.113.10", IPPROTO_TCP, 3000, true);
        r.has_reply = false;
        assert_int_equal(natgw_ct_ports_add(p, &r), 0);
        /* More addresses than tracked: the rest is untracked. */
        for (unsigned i = 0; i < NATGW_CT_PORTS_ADDRS_MAX * 2 + 10; i++) {
                snprintf(name, sizeof(name), "198.51.%u.%u", 100 + i / 200, i % 200 + 1);
                r = nat_record(name, IPPROTO_TCP, 5000, true);
                assert_int_equal(natgw_ct_ports_add(p, &r), 0);
        }
        natgw_ct_ports_finish(p);
        assert_int_equal(p->n, 2 * NATGW_CT_PORTS_ADDRS_MAX);
        /* 2 * MAX slots: .10's two protocols and the first (2 * MAX - 2) other addresses. */
        assert_int_equal(p->untracked, NATGW_CT_PORTS_ADDRS_MAX * 2 + 10 - (2 * NATGW_CT_PORTS_ADDRS_MAX - 2));
        for (size_t i = 0; i < p->n; i++) {
                char a[INET6_ADDRSTRLEN];

                natgw_addr_format(&p->v[i].addr, a, sizeof(a));
                if (!streq(a, "203.0.113.10"))
                        continue;
                if (p->v[i].l4proto == IPPROTO_TCP) {
                        assert_int_equal(p->v[i].used, 100);
                        assert_int_equal(p->v[i].entries, 200);
                } else {
                        assert_int_equal(p->v[i].l4proto, IPPROTO_UDP);
                        assert_int_equal(p->v[i].used, 2);
                        assert_int_equal(p->v[i].entries, 3);
                }
        }
        /* Sorted by address, then protocol. */
        for (size_t i = 1; i < p->n; i++) {
                int c = natgw_addr_cmp(&p->v[i - 1].addr, &p->v[i].addr);

                assert_true(c < 0 || (c == 0 && p->v[i - 1].l4proto < p->v[i].l4proto));
        }
}

/* A tally with @used ports on one address. */
static struct natgw_ct_ports *tally(uint32_t used) {
        struct natgw_ct_ports *p = NULL;

        assert_int_equal(natgw_ct_ports_new(&p), 0);
        for (uint32_t i = 0; i < used; i++) {
                struct natgw_ct_record r = nat_record("203.0.113.1", IPPROTO_UDP, (uint16_t)(1024 + i), true);

                assert_int_equal(natgw_ct_ports_add(p, &r), 0);
        }
        natgw_ct_ports_finish(p);
        return p;
}

static void test_ports_level(void **state) {
        struct natgw_ct_ports_state st = { .warn = 10, .critical = 20 };
        const uint32_t pct = NATGW_CT_PORTS_RANGE / 100; /* 645 ports: just under 1 % */

        assert_false(natgw_ct_ports_update(&st, tally(9 * pct), 0));
        assert_int_equal(st.level, NATGW_CT_OK);
        /* 10 % of 64,512 is 6,451.2 ports: 6,452 is warn. */
        assert_true(natgw_ct_ports_update(&st, tally(6452), 0));
        assert_int_equal(st.level, NATGW_CT_WARN);
        assert_int_equal(st.prev_level, NATGW_CT_OK);
        /* Hysteresis: it stays warn within 5 points below the threshold. */
        assert_false(natgw_ct_ports_update(&st, tally(6 * pct), 0));
        assert_int_equal(st.level, NATGW_CT_WARN);
        assert_true(natgw_ct_ports_update(&st, tally(4 * pct), 0));
        assert_int_equal(st.level, NATGW_CT_OK);
        assert_true(natgw_ct_ports_update(&st, tally(NATGW_CT_PORTS_RANGE / 5 + 1), 0));
        assert_int_equal(st.level, NATGW_CT_CRITICAL);
        /* A failed dump keeps the last result and level. */
        assert_false(natgw_ct_ports_update(&st, NULL, -EINTR));
        assert_int_equal(st.read_error, -EINTR);
        assert_int_equal(st.level, NATGW_CT_CRITICAL);
        assert_int_equal(st.last->v[st.worst].used, NATGW_CT_PORTS_RANGE / 5 + 1);
        natgw_ct_ports_state_clear(&st);
}

static enum natgw_http_verdict judge(const char *req, bool *head) {
        return natgw_http_request_parse(req, strlen(req), "/metrics", head);
}

static void test_http_parse(void **state) {
        char big[NATGW_HTTP_REQUEST_MAX + 16];
        bool head = true;

        assert_int_equal(judge("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &head), NATGW_HTTP_OK);
        assert_false(head);
        assert_int_equal(judge("HEAD /metrics HTTP/1.0\r\n\r\n", &head), NATGW_HTTP_OK);
        assert_true(head);
        assert_int_equal(judge("GET /metrics?name[]=x HTTP/1.1\n\n", NULL), NATGW_HTTP_OK);
        /* Not complete until the empty line. */
        assert_int_equal(judge("GET /metrics HTTP/1.1\r\nHost: x\r\n", NULL), NATGW_HTTP_INCOMPLETE);
        assert_int_equal(judge("", NULL), NATGW_HTTP_INCOMPLETE);
        assert_int_equal(judge("GET /metricsx HTTP/1.1\r\n\r\n", NULL), NATGW_HTTP_NOT_FOUND);
        assert_int_equal(judge("GET / HTTP/1.1\r\n\r\n", NULL), NATGW_HTTP_NOT_FOUND);
        assert_int_equal(judge("GET /metric HTTP/1.1\r\n\r\n", NULL), NATGW_HTTP_NOT_FOUND);
        assert_int_equal(judge("POST /metrics HTTP/1.1\r\n\r\n", NULL), NATGW_HTTP_METHOD);
        assert_int_equal(judge("DELETE /metrics HTTP/1.1\r\n\r\n", NULL), NATGW_HTTP_METHOD);
        assert_int_equal(judge("GET /metrics HTTP/2.0\r\n\r\n", NULL), NATGW_HTTP_BAD);
        assert_int_equal(judge("GET /metrics\r\n\r\n", NULL), NATGW_HTTP_BAD);
        assert_int_equal(judge("GET  /metrics HTTP/1.1\r\n\r\n", NULL), NATGW_HTTP_BAD);
        assert_int_equal(judge("get /metrics HTTP/1.1\r\n\r\n", NULL), NATGW_HTTP_BAD);
        assert_int_equal(judge("\r\n\r\n", NULL), NATGW_HTTP_BAD);
        assert_int_equal(natgw_http_request_parse("GET /me\0rics HTTP/1.1\r\n\r\n", 26, "/metrics", NULL),
                         NATGW_HTTP_BAD);
        memset(big, 'a', sizeof(big));
        assert_int_equal(natgw_http_request_parse(big, NATGW_HTTP_REQUEST_MAX - 1, "/metrics", NULL),
                         NATGW_HTTP_INCOMPLETE);
        assert_int_equal(natgw_http_request_parse(big, NATGW_HTTP_REQUEST_MAX, "/metrics", NULL),
                         NATGW_HTTP_TOO_LARGE);
}

static void test_http_response(void **state) {
        _cleanup_(freep) char *ok = NULL, *headonly = NULL, *method = NULL, *failed = NULL;
        size_t len;

        assert_int_equal(natgw_http_response(NATGW_HTTP_OK, false, "text/plain", "abc\n", 4, &ok, &len), 0);
        assert_int_equal(len, strlen(ok));
        assert_string_equal(ok, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n"
                                "Connection: close\r\n\r\nabc\n");
        /* HEAD: the same headers (Content-Length of the body it would get), no body. */
        assert_int_equal(natgw_http_response(NATGW_HTTP_OK, true, "text/plain", "abc\n", 4, &headonly, &len), 0);
        assert_string_equal(headonly, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n"
                                      "Connection: close\r\n\r\n");
        assert_int_equal(natgw_http_response(NATGW_HTTP_METHOD, false, "x", NULL, 0, &method, &len), 0);
        assert_non_null(strstr(method, "HTTP/1.1 405 Method Not Allowed\r\n"));
        assert_non_null(strstr(method, "\r\nAllow: GET, HEAD\r\n"));
        /* GET without a body (rendering failed): 500. */
        assert_int_equal(natgw_http_response(NATGW_HTTP_OK, false, "x", NULL, 0, &failed, &len), 0);
        assert_non_null(strstr(failed, "HTTP/1.1 500 "));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_render),        cmocka_unit_test(test_render_minimal),
                cmocka_unit_test(test_escaping),      cmocka_unit_test(test_values),      cmocka_unit_test(test_bad_names),
                cmocka_unit_test(test_ports_tally),   cmocka_unit_test(test_ports_level),
                cmocka_unit_test(test_http_parse),    cmocka_unit_test(test_http_response),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

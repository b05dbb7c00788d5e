/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The settings layer against a /proc/sys of its own (NATGW_PROC_SYS): left, unchanged, applied,
 * refused; the value before natgwd's first write kept for the whole run; the warnings' text.
 */

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "conf.h"
#include "sysctl.h"
#include "util.h"

#include "conf-test.h"

static char root[] = "/tmp/natgw-sysctl-XXXXXX";

static void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

static void put(const char *key, const char *value) {
        _cleanup_(freep) char *path = NULL;
        _cleanup_(fclosep) FILE *f = NULL;

        assert_true(asprintf(&path, "%s/%s", root, key) > 0);
        f = fopen(path, "we");
        assert_non_null(f);
        assert_true(fprintf(f, "%s\n", value) > 0);
}

static int64_t get(const char *key) {
        int64_t v = -2;

        assert_int_equal(natgw_sysctl_read_int(key, &v), 0);
        return v;
}

static void rm_key(const char *key) {
        _cleanup_(freep) char *path = NULL;

        assert_true(asprintf(&path, "%s/%s", root, key) > 0);
        (void)unlink(path);
        (void)rmdir(path);
}

static int setup(void **state) {
        const char *dirs[] = { "net", "net/ipv4", "net/ipv6", "net/ipv6/conf", "net/ipv6/conf/all", "net/netfilter" };

        assert_non_null(mkdtemp(root));
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_(freep) char *path = NULL;

                assert_true(asprintf(&path, "%s/%s", root, dirs[i]) > 0);
                assert_int_equal(mkdir(path, 0755), 0);
        }
        put(NATGW_SYSCTL_IP_FORWARD, "0");
        put(NATGW_SYSCTL_IPV6_FORWARD, "0");
        put(NATGW_SYSCTL_CONNTRACK_MAX, "262144");
        put(NATGW_SYSCTL_CONNTRACK_BUCKETS, "262144");
        for (size_t i = 0; i < NATGW_CT_TIMEOUT_COUNT; i++)
                put(natgw_ct_timeouts[i].sysctl, "30");
        assert_int_equal(setenv("NATGW_PROC_SYS", root, 1), 0);
        return 0;
}

static int teardown(void **state) {
        rm_key(NATGW_SYSCTL_IP_FORWARD);
        rm_key(NATGW_SYSCTL_IPV6_FORWARD);
        rm_key(NATGW_SYSCTL_CONNTRACK_MAX);
        rm_key(NATGW_SYSCTL_CONNTRACK_BUCKETS);
        for (size_t i = 0; i < NATGW_CT_TIMEOUT_COUNT; i++)
                rm_key(natgw_ct_timeouts[i].sysctl);
        rm_key("net/netfilter");
        rm_key("net/ipv6/conf/all");
        rm_key("net/ipv6/conf");
        rm_key("net/ipv6");
        rm_key("net/ipv4");
        rm_key("net");
        assert_int_equal(rmdir(root), 0);
        return 0;
}

/* Apply @text to @s; the number refused must be @refused, with exactly the warnings given. */
static void apply(struct natgw_settings *s, const char *text, int refused, const char *const *warnings) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(text);
        struct natgw_errors errors = {};
        size_t n = 0;

        while (warnings[n])
                n++;
        assert_int_equal(natgw_settings_apply(s, c, &errors), refused);
        if (errors.n != n)
                dump_errors(&errors);
        assert_int_equal(errors.n, n);
        for (size_t i = 0; i < n; i++) {
                _cleanup_(freep) char *m = natgw_error_format(&errors.v[i]);

                assert_string_equal(m, warnings[i]);
                /* A refused setting never fails the apply: it is reported as a warning. */
                assert_int_equal(errors.v[i].severity, NATGW_SEVERITY_WARNING);
        }
        natgw_errors_clear(&errors);
}

#define APPLY(s, text, refused, ...) apply(s, text, refused, (const char *const[]) { __VA_ARGS__ NULL })

#define UDP (NATGW_SETTING_CT_TIMEOUT_FIRST + NATGW_CT_TIMEOUT_UDP)
#define ICMP (NATGW_SETTING_CT_TIMEOUT_FIRST + NATGW_CT_TIMEOUT_ICMP)
#define UDP_KEY "net/netfilter/nf_conntrack_udp_timeout"

static void test_names(void **state) {
        char buf[96];

        assert_string_equal(natgw_setting_name(NATGW_SETTING_IP_FORWARD, buf, sizeof(buf)), "net.ipv4.ip_forward");
        assert_string_equal(natgw_setting_name(NATGW_SETTING_IPV6_FORWARD, buf, sizeof(buf)),
                            "net.ipv6.conf.all.forwarding");
        assert_string_equal(natgw_setting_name(UDP, buf, sizeof(buf)), "net.netfilter.nf_conntrack_udp_timeout");
        assert_string_equal(natgw_setting_config_key(NATGW_SETTING_CONNTRACK_BUCKETS, buf, sizeof(buf)),
                            "conntrack.buckets");
        assert_string_equal(natgw_setting_config_key(UDP, buf, sizeof(buf)), "conntrack.timeouts.udp");
        assert_string_equal(natgw_setting_path(NATGW_SETTING_CONNTRACK_MAX), "net/netfilter/nf_conntrack_max");
        assert_string_equal(natgw_setting_result_to_string(NATGW_SETTING_LEFT), "left as is");
        assert_string_equal(natgw_setting_result_to_string(NATGW_SETTING_REFUSED), "refused");
}

static void test_apply_and_reload(void **state) {
        struct natgw_settings s = {};

        put(NATGW_SYSCTL_IP_FORWARD, "0");
        put(NATGW_SYSCTL_CONNTRACK_MAX, "262144");
        put(UDP_KEY, "30");
        APPLY(&s, "version = 1;\nconntrack = { max = 1000; timeouts = { udp = 60; }; };\n", 0, );
        assert_int_equal(s.v[NATGW_SETTING_IP_FORWARD].result, NATGW_SETTING_APPLIED);
        assert_true(s.v[NATGW_SETTING_IP_FORWARD].has_previous);
        assert_int_equal(s.v[NATGW_SETTING_IP_FORWARD].previous, 0);
        assert_int_equal(s.v[NATGW_SETTING_IP_FORWARD].actual, 1);
        assert_int_equal(get(NATGW_SYSCTL_IP_FORWARD), 1);
        /* ipv6_forward = false (the default) leaves the kernel's value. */
        assert_int_equal(s.v[NATGW_SETTING_IPV6_FORWARD].result, NATGW_SETTING_LEFT);
        assert_false(s.v[NATGW_SETTING_IPV6_FORWARD].has_previous);
        assert_int_equal(get(NATGW_SYSCTL_IPV6_FORWARD), 0);
        assert_int_equal(s.v[NATGW_SETTING_CONNTRACK_MAX].result, NATGW_SETTING_APPLIED);
        assert_int_equal(s.v[NATGW_SETTING_CONNTRACK_MAX].previous, 262144);
        assert_int_equal(get(NATGW_SYSCTL_CONNTRACK_MAX), 1000);
        assert_int_equal(s.v[NATGW_SETTING_CONNTRACK_BUCKETS].result, NATGW_SETTING_LEFT);
        assert_int_equal(s.v[UDP].result, NATGW_SETTING_APPLIED);
        assert_int_equal(s.v[UDP].wanted, 60);
        assert_int_equal(s.v[UDP].previous, 30);
        assert_int_equal(get(UDP_KEY), 60);
        assert_int_equal(s.v[ICMP].result, NATGW_SETTING_LEFT);
        assert_true(s.v[ICMP].has_actual);
        assert_int_equal(s.v[ICMP].actual, 30);

        /* The same file again: nothing to write; the previous values stay what they were. */
        APPLY(&s, "version = 1;\nconntrack = { max = 1000; timeouts = { udp = 60; }; };\n", 0, );
        assert_int_equal(s.v[NATGW_SETTING_IP_FORWARD].result, NATGW_SETTING_UNCHANGED);
        assert_int_equal(s.v[NATGW_SETTING_IP_FORWARD].previous, 0);
        assert_int_equal(s.v[UDP].result, NATGW_SETTING_UNCHANGED);
        assert_int_equal(s.v[UDP].previous, 30);

        /* A reload that changes a timeout applies it; previous is still the value before the first write. */
        APPLY(&s, "version = 1;\nconntrack = { max = 1000; timeouts = { udp = 90; }; };\n", 0, );
        assert_int_equal(s.v[UDP].result, NATGW_SETTING_APPLIED);
        assert_int_equal(s.v[UDP].previous, 30);
        assert_int_equal(s.v[UDP].actual, 90);
        assert_int_equal(get(UDP_KEY), 90);

        /* Dropped from the file: left as the kernel has it now, not restored. */
        APPLY(&s, "version = 1;\nkernel = { ip_forward = false; };\n", 0, );
        assert_int_equal(s.v[NATGW_SETTING_IP_FORWARD].result, NATGW_SETTING_LEFT);
        assert_int_equal(s.v[UDP].result, NATGW_SETTING_LEFT);
        assert_int_equal(s.v[UDP].previous, 30);
        assert_int_equal(get(UDP_KEY), 90);
        assert_int_equal(get(NATGW_SYSCTL_IP_FORWARD), 1);

        /* A value found already in place is "unchanged", and no previous value is recorded. */
        put(NATGW_SYSCTL_IPV6_FORWARD, "1");
        APPLY(&s, "version = 1;\nkernel = { ipv6_forward = true; };\n", 0, );
        assert_int_equal(s.v[NATGW_SETTING_IPV6_FORWARD].result, NATGW_SETTING_UNCHANGED);
        assert_false(s.v[NATGW_SETTING_IPV6_FORWARD].has_previous);
        put(NATGW_SYSCTL_IPV6_FORWARD, "0");
}

static void test_refused(void **state) {
        struct natgw_settings s = {};
        const char *icmp = natgw_ct_timeouts[NATGW_CT_TIMEOUT_ICMP].sysctl;
        _cleanup_(freep) char *dir = NULL;

        /* Not present (nf_conntrack not loaded), and a path that is no sysctl file at all. */
        rm_key(icmp);
        rm_key(NATGW_SYSCTL_CONNTRACK_BUCKETS);
        assert_true(asprintf(&dir, "%s/%s", root, NATGW_SYSCTL_CONNTRACK_BUCKETS) > 0);
        assert_int_equal(mkdir(dir, 0755), 0);
        APPLY(&s,
              "version = 1;\n"
              "conntrack = {\n"
              "  buckets = 4096;\n"
              "  timeouts = { udp = 61;\n"
              "               icmp = 10; };\n"
              "};\n",
              2,
              "test.conf:3: conntrack.buckets: cannot set net.netfilter.nf_conntrack_buckets to 4096: Is a directory",
              "test.conf:5: conntrack.timeouts.icmp: cannot set net.netfilter.nf_conntrack_icmp_timeout to 10: "
              "not present in this kernel (nf_conntrack is not loaded)", );
        assert_int_equal(s.v[ICMP].result, NATGW_SETTING_REFUSED);
        assert_int_equal(s.v[ICMP].error, -ENOENT);
        assert_false(s.v[ICMP].has_actual);
        assert_false(s.v[ICMP].has_previous);
        assert_int_equal(s.v[NATGW_SETTING_CONNTRACK_BUCKETS].error, -EISDIR);
        /* The rest is applied all the same. */
        assert_int_equal(s.v[UDP].result, NATGW_SETTING_APPLIED);
        assert_int_equal(get(UDP_KEY), 61);
        assert_int_equal(rmdir(dir), 0);
        put(NATGW_SYSCTL_CONNTRACK_BUCKETS, "262144");
        put(icmp, "30");

        /* A sysctl that is not a number. */
        put(NATGW_SYSCTL_CONNTRACK_MAX, "many");
        APPLY(&s, "version = 1;\nconntrack = { max = 5; };\n", 1,
              "test.conf:2: conntrack.max: cannot set net.netfilter.nf_conntrack_max to 5: "
              "its value is not a number", );
        put(NATGW_SYSCTL_CONNTRACK_MAX, "262144");
}

static void test_refusal_reason(void **state) {
        _cleanup_(freep) char *path = NULL;
        char buf[384];

        /* 0444: the kernel's read-only sysctl (nf_conntrack_max outside the initial namespace). */
        assert_true(asprintf(&path, "%s/%s", root, NATGW_SYSCTL_CONNTRACK_MAX) > 0);
        assert_int_equal(chmod(path, 0444), 0);
        natgw_sysctl_refusal_reason(NATGW_SYSCTL_CONNTRACK_MAX, -EACCES, buf, sizeof(buf));
        assert_true(strncmp(buf, "read-only in network namespace net:[", 36) == 0);
        assert_non_null(strstr(buf, ": the kernel lets only the initial network namespace change it"));
        assert_int_equal(chmod(path, 0644), 0);
        natgw_sysctl_refusal_reason(NATGW_SYSCTL_CONNTRACK_MAX, -EACCES, buf, sizeof(buf));
        assert_true(strncmp(buf, "permission denied in network namespace net:[", 44) == 0);
        assert_non_null(strstr(buf, "(natgwd needs CAP_NET_ADMIN there)"));
        natgw_sysctl_refusal_reason(NATGW_SYSCTL_IPV6_FORWARD, -ENOENT, buf, sizeof(buf));
        assert_string_equal(buf, "not present in this kernel (IPv6 is disabled or not built in)");
        natgw_sysctl_refusal_reason(NATGW_SYSCTL_CONNTRACK_MAX, -EINVAL, buf, sizeof(buf));
        assert_string_equal(buf, "the kernel refused the value (out of its range)");
        natgw_sysctl_refusal_reason(NATGW_SYSCTL_CONNTRACK_MAX, -EROFS, buf, sizeof(buf));
        assert_true(strncmp(buf, "/proc/sys is mounted read-only here", 35) == 0);
}

static void test_auto_grow_floor(void **state) {
        const char *conf = "version = 1;\nconntrack = { max = 1000; auto_grow = { ceiling = 5000; step = 500; }; };\n";
        struct natgw_settings s = {};

        /* Raised by auto_grow within [max, ceiling]: a reload keeps it. */
        put(NATGW_SYSCTL_CONNTRACK_MAX, "3000");
        APPLY(&s, conf, 0, );
        assert_int_equal(s.v[NATGW_SETTING_CONNTRACK_MAX].result, NATGW_SETTING_UNCHANGED);
        assert_string_equal(s.v[NATGW_SETTING_CONNTRACK_MAX].reason, "kept: auto_grow may raise it up to 5000");
        assert_int_equal(get(NATGW_SYSCTL_CONNTRACK_MAX), 3000);
        /* Below max or above the ceiling: max. */
        put(NATGW_SYSCTL_CONNTRACK_MAX, "999");
        APPLY(&s, conf, 0, );
        assert_int_equal(s.v[NATGW_SETTING_CONNTRACK_MAX].result, NATGW_SETTING_APPLIED);
        assert_int_equal(get(NATGW_SYSCTL_CONNTRACK_MAX), 1000);
        put(NATGW_SYSCTL_CONNTRACK_MAX, "5001");
        APPLY(&s, conf, 0, );
        assert_int_equal(get(NATGW_SYSCTL_CONNTRACK_MAX), 1000);
        assert_int_equal(s.v[NATGW_SETTING_CONNTRACK_MAX].previous, 999);
        /* Without auto_grow, max is exact. */
        put(NATGW_SYSCTL_CONNTRACK_MAX, "3000");
        APPLY(&s, "version = 1;\nconntrack = { max = 1000; };\n", 0, );
        assert_int_equal(get(NATGW_SYSCTL_CONNTRACK_MAX), 1000);
        put(NATGW_SYSCTL_CONNTRACK_MAX, "262144");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_apply_and_reload),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_refusal_reason),
                cmocka_unit_test(test_auto_grow_floor),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}

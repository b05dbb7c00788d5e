/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The loader: every class of error with its exact text, file and line, the model it builds, and
 * every example file in conf/.
 */

#include <arpa/inet.h>
#include <fcntl.h>
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "conf-ctx.h"
#include "conf-value.h"
#include "conf.h"
#include "util.h"

#include "conf-test.h"

static void assert_addr(const struct natgw_addr *a, const char *expected) {
        char buf[INET6_ADDRSTRLEN];

        assert_non_null(natgw_addr_format(a, buf, sizeof(buf)));
        assert_string_equal(buf, expected);
}

static void assert_prefix(const struct natgw_prefix *p, const char *expected) {
        char buf[NATGW_PREFIX_STRLEN];

        assert_non_null(natgw_prefix_format(p, buf, sizeof(buf)));
        assert_string_equal(buf, expected);
}

/* The example of shared/DESIGN.md, verbatim. */
static const char design_example[] =
        "version = 1;\n"                                                                   /* 1 */
        "\n"
        "kernel = {\n"
        "  ip_forward   = true;        # net.ipv4.ip_forward, default true\n"
        "  ipv6_forward = false;       # net.ipv6.conf.all.forwarding, default false\n"   /* 5 */
        "};\n"
        "\n"
        "conntrack = {\n"
        "  max      = 524288;          # nf_conntrack_max; absent = leave the kernel's value\n"
        "  buckets  = 131072;          # hash buckets; absent = leave\n"                  /* 10 */
        "  warn     = 80;              # percent of max that raises a warning (default 80)\n"
        "  critical = 95;              # percent of max that raises a critical alert (default 95)\n"
        "  interval = 1.0;             # seconds between table checks (default 1.0)\n"
        "};\n"
        "\n"                                                                               /* 15 */
        "masquerade = (\n"
        "  { name = \"lan\"; source = [ \"192.168.1.0/24\", \"fd00:1::/64\" ]; out_interface = \"eth0\"; }\n"
        ");\n"
        "\n"
        "snat = (\n"                                                                       /* 20 */
        "  { name = \"dmz\"; source = \"10.10.0.0/16\"; out_interface = \"eth0\"; to = \"203.0.113.10\"; },\n"
        "  { name = \"pool\"; source = \"10.20.0.0/16\"; out_interface = \"eth0\"; to = \"203.0.113.20-203.0.113.23\"; }\n"
        ");\n"
        "\n"
        "forward = (\n"                                                                    /* 25 */
        "  { name = \"web\";  in_interface = \"eth0\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; },\n"
        "  { name = \"mail\"; in_interface = \"eth0\"; proto = \"tcp\"; port = [ 25, 110, 6080 ]; to = \"192.168.1.10\"; },\n"
        "  { name = \"game\"; in_interface = \"eth0\"; proto = \"tcp+udp\"; port = 6000; to = \"192.168.1.20\"; },\n"
        "  { name = \"ftp-data\"; in_interface = \"eth0\"; proto = \"tcp\"; port = \"50000-50100\";\n"
        "    to = \"192.168.1.30\"; allow_from = [ \"198.51.100.0/24\" ]; },\n"          /* 30 */
        "  { name = \"api6\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 443; to = \"[fd00:1::10]:8443\"; }\n"
        ");\n";

static void test_design_example(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(design_example);
        const struct natgw_egress *e;
        const struct natgw_forward *f;

        assert_string_equal(c->path, "test.conf");
        assert_int_equal(c->version, 1);
        assert_int_equal(c->on_exit, NATGW_ON_EXIT_KEEP);
        assert_true(c->kernel.ip_forward);
        assert_false(c->kernel.ipv6_forward);
        assert_int_equal(c->conntrack.max, 524288);
        assert_int_equal(c->conntrack.buckets, 131072);
        assert_int_equal(c->conntrack.warn, 80);
        assert_int_equal(c->conntrack.critical, 95);
        assert_true(c->conntrack.interval == 1.0);

        assert_int_equal(c->n_egress, 3);
        e = &c->egress[0];
        assert_string_equal(e->name, "lan");
        assert_int_equal(e->line, 17);
        assert_int_equal(e->kind, NATGW_EGRESS_MASQUERADE);
        assert_int_equal(e->n_sources, 2);
        assert_prefix(&e->sources[0], "192.168.1.0/24");
        assert_prefix(&e->sources[1], "fd00:1::/64");
        assert_int_equal(e->sources[1].addr.family, AF_INET6);
        assert_string_equal(e->out_interface, "eth0");
        assert_int_equal(e->to_lo.family, 0);

        e = &c->egress[1];
        assert_string_equal(e->name, "dmz");
        assert_int_equal(e->line, 21);
        assert_int_equal(e->kind, NATGW_EGRESS_SNAT);
        assert_int_equal(e->n_sources, 1);
        assert_prefix(&e->sources[0], "10.10.0.0/16");
        assert_addr(&e->to_lo, "203.0.113.10");
        assert_addr(&e->to_hi, "203.0.113.10");

        e = &c->egress[2];
        assert_string_equal(e->name, "pool");
        assert_int_equal(e->line, 22);
        assert_addr(&e->to_lo, "203.0.113.20");
        assert_addr(&e->to_hi, "203.0.113.23");

        assert_int_equal(c->n_forwards, 5);
        f = &c->forwards[0];
        assert_string_equal(f->name, "web");
        assert_int_equal(f->line, 26);
        assert_string_equal(f->in_interface, "eth0");
        assert_int_equal(f->protos, NATGW_PROTO_TCP);
        assert_int_equal(f->n_ports, 1);
        assert_int_equal(f->ports[0].lo, 8080);
        assert_int_equal(f->ports[0].hi, 8080);
        assert_addr(&f->to, "192.168.1.66");
        assert_int_equal(f->to_port_mode, NATGW_TO_PORT_SINGLE);
        assert_int_equal(f->to_port.lo, 80);
        assert_int_equal(f->to_port.hi, 80);
        assert_false(f->has_destination);
        assert_int_equal(f->n_allow_from, 0);
        assert_null(f->allow_from);

        f = &c->forwards[1];
        assert_string_equal(f->name, "mail");
        assert_int_equal(f->n_ports, 3);
        assert_int_equal(f->ports[0].lo, 25);
        assert_int_equal(f->ports[1].lo, 110);
        assert_int_equal(f->ports[2].lo, 6080);
        assert_int_equal(f->ports[2].hi, 6080);
        assert_int_equal(f->to_port_mode, NATGW_TO_PORT_KEEP);
        assert_int_equal(f->to_port.lo, 0);

        f = &c->forwards[2];
        assert_string_equal(f->name, "game");
        assert_int_equal(f->protos, NATGW_PROTO_TCP | NATGW_PROTO_UDP);

        f = &c->forwards[3];
        assert_string_equal(f->name, "ftp-data");
        assert_int_equal(f->line, 29);
        assert_int_equal(f->ports[0].lo, 50000);
        assert_int_equal(f->ports[0].hi, 50100);
        assert_int_equal(f->n_allow_from, 1);
        assert_prefix(&f->allow_from[0], "198.51.100.0/24");

        f = &c->forwards[4];
        assert_string_equal(f->name, "api6");
        assert_int_equal(f->to.family, AF_INET6);
        assert_addr(&f->to, "fd00:1::10");
        assert_int_equal(f->to_port_mode, NATGW_TO_PORT_SINGLE);
        assert_int_equal(f->to_port.lo, 8443);
}

static void test_defaults(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok("version = 1;\n");

        assert_int_equal(c->version, 1);
        assert_true(c->kernel.ip_forward);
        assert_false(c->kernel.ipv6_forward);
        assert_int_equal(c->conntrack.max, -1);
        assert_int_equal(c->conntrack.buckets, -1);
        assert_int_equal(c->conntrack.warn, 80);
        assert_int_equal(c->conntrack.critical, 95);
        assert_true(c->conntrack.interval == 1.0);
        for (size_t i = 0; i < NATGW_CT_TIMEOUT_COUNT; i++) {
                assert_int_equal(c->conntrack.timeouts[i], -1);
                assert_int_equal(c->conntrack.timeout_lines[i], 0);
        }
        assert_int_equal(c->conntrack.auto_grow_ceiling, -1);
        assert_int_equal(c->conntrack.auto_grow_step, -1);
        assert_int_equal(c->kernel.ip_forward_line, 0);
        assert_int_equal(c->conntrack.max_line, 0);
        assert_int_equal(c->n_egress, 0);
        assert_null(c->egress);
        assert_int_equal(c->n_forwards, 0);
        assert_null(c->forwards);
}

static void test_values(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(
                "version = 1;\n"
                "kernel = { ip_forward = false; ipv6_forward = true; };\n"
                "conntrack = { max = 5000000000L; buckets = 65536; warn = 50; critical = 50; interval = 2; };\n"
                "snat = ( { name = \"s\"; source = \"fd00:1::/64\"; out_interface = \"ppp0\";\n"
                "           to = \"2001:db8::1-2001:db8::ff\"; } );\n"
                "masquerade = ( { name = \"m\"; source = ( \"10.0.0.0/8\" ); out_interface = \"eth1\"; } );\n"
                "forward = (\n"
                "  { name = \"r\"; proto = \"udp\"; port = \"6000-6099\"; to = \"[fd00::5]:7000-7099\";\n"
                "    destination = \"2001:db8::7\"; allow_from = \"2001:db8:1::/48\"; },\n"
                "  { name = \"many-to-one\"; proto = \"tcp\"; port = ( 81, \"82-84\", 8080L ); to = \"10.0.0.1:80\"; }\n"
                ");\n");
        const struct natgw_forward *f;

        assert_false(c->kernel.ip_forward);
        assert_true(c->kernel.ipv6_forward);
        assert_int_equal(c->conntrack.max, 5000000000LL);
        assert_int_equal(c->conntrack.buckets, 65536);
        assert_int_equal(c->conntrack.warn, 50);
        assert_int_equal(c->conntrack.critical, 50);
        assert_true(c->conntrack.interval == 2.0);

        /* Masquerade first, then snat, whatever the order in the file. */
        assert_int_equal(c->n_egress, 2);
        assert_string_equal(c->egress[0].name, "m");
        assert_int_equal(c->egress[0].kind, NATGW_EGRESS_MASQUERADE);
        assert_int_equal(c->egress[0].line, 6);
        assert_string_equal(c->egress[1].name, "s");
        assert_int_equal(c->egress[1].kind, NATGW_EGRESS_SNAT);
        assert_int_equal(c->egress[1].line, 4);
        assert_string_equal(c->egress[1].out_interface, "ppp0");
        assert_addr(&c->egress[1].to_lo, "2001:db8::1");
        assert_addr(&c->egress[1].to_hi, "2001:db8::ff");

        f = &c->forwards[0];
        assert_string_equal(f->in_interface, "");
        assert_int_equal(f->protos, NATGW_PROTO_UDP);
        assert_int_equal(f->to_port_mode, NATGW_TO_PORT_RANGE);
        assert_int_equal(f->to_port.lo, 7000);
        assert_int_equal(f->to_port.hi, 7099);
        assert_true(f->has_destination);
        assert_addr(&f->destination, "2001:db8::7");
        assert_prefix(&f->allow_from[0], "2001:db8:1::/48");

        f = &c->forwards[1];
        assert_int_equal(f->n_ports, 3);
        assert_int_equal(f->ports[0].lo, 81);
        assert_int_equal(f->ports[1].lo, 82);
        assert_int_equal(f->ports[1].hi, 84);
        assert_int_equal(f->ports[2].lo, 8080);
        assert_int_equal(f->to_port_mode, NATGW_TO_PORT_SINGLE);
}

static void test_example_files(void **state) {
        static const char *const required[] = {
                "natgwd.conf", "home-router.conf", "vpc-nat.conf", "ftp-server.conf",
        };
        glob_t g = {};

        assert_int_equal(glob(SRCDIR "/conf/*.conf", 0, NULL, &g), 0);
        assert_true(g.gl_pathc >= ELEMENTSOF(required));
        for (size_t i = 0; i < g.gl_pathc; i++) {
                struct natgw_errors errors = {};
                struct natgw_config *c = NULL;
                int r;

                r = natgw_config_load_file(g.gl_pathv[i], &c, &errors);
                if (r != 0) {
                        print_message("%s:\n", g.gl_pathv[i]);
                        dump_errors(&errors);
                }
                assert_int_equal(r, 0);
                assert_int_equal(errors.n, 0);
                assert_string_equal(c->path, g.gl_pathv[i]);
                assert_true(c->n_egress + c->n_forwards > 0);
                natgw_config_free(c);
        }
        for (size_t i = 0; i < ELEMENTSOF(required); i++) {
                _cleanup_(freep) char *path = NULL;

                assert_true(asprintf(&path, "%s/conf/%s", SRCDIR, required[i]) > 0);
                assert_int_equal(access(path, R_OK), 0);
        }
        globfree(&g);
}

static void test_syntax_error(void **state) {
        EXPECT_ERRORS("version = 1;\n"
                      "forward = (\n"
                      "  { name = \"web\"; proto = \"tcp\"; ]\n"
                      ");\n",
                      "test.conf:3: syntax error");
        EXPECT_ERRORS("version = 1;\n"
                      "\n"
                      "forward = ( { name = \"x\"; port = [ 25, \"110\" ]; } );\n",
                      "test.conf:3: syntax error: mismatched element type in array (a list that mixes numbers and "
                         "\"A-B\" strings is written with ( ), e.g. port = ( 25, \"50000-50100\" );)");
        EXPECT_ERRORS("version = 1;\n"
                      "version = 1;\n",
                      "test.conf:2: syntax error: duplicate setting name");
        /* Unterminated: libconfig names the line where the text ends. */
        EXPECT_ERRORS("version = 1;\n"
                      "masquerade = (\n",
                      "test.conf:3: syntax error");
}

static void test_io_errors(void **state) {
        char dir[] = "/tmp/natgw-test-XXXXXX";
        _cleanup_(freep) char *path = NULL, *msg = NULL;
        struct natgw_errors errors = {};
        struct natgw_config *c = SENTINEL;
        int fd;

        assert_int_equal(natgw_config_load_file("/nonexistent/natgwd.conf", &c, &errors), -ENOENT);
        assert_ptr_equal(c, SENTINEL);
        assert_int_equal(errors.n, 1);
        msg = natgw_error_format(&errors.v[0]);
        assert_string_equal(msg, "/nonexistent/natgwd.conf: cannot read: No such file or directory");
        natgw_errors_clear(&errors);
        free(msg);

        assert_non_null(mkdtemp(dir));
        assert_int_equal(natgw_config_load_file(dir, &c, &errors), -EISDIR);
        assert_ptr_equal(c, SENTINEL);
        assert_int_equal(errors.n, 1);
        assert_string_equal(errors.v[0].message, "cannot read: Is a directory");
        assert_string_equal(errors.v[0].file, dir);
        assert_int_equal(errors.v[0].line, 0);
        natgw_errors_clear(&errors);

        /* A NUL byte would hide the rest of the file from libconfig. */
        assert_true(asprintf(&path, "%s/nul.conf", dir) > 0);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "version = 1;\n\0foo = 1;\n", 23), 23);
        assert_int_equal(close(fd), 0);
        assert_int_equal(natgw_config_load_file(path, &c, &errors), -EINVAL);
        assert_ptr_equal(c, SENTINEL);
        assert_int_equal(errors.n, 1);
        msg = natgw_error_format(&errors.v[0]);
        assert_true(strstr(msg, "/nul.conf: cannot read: the file contains a NUL byte") != NULL);
        natgw_errors_clear(&errors);
        assert_int_equal(unlink(path), 0);

        /* And a file that reads fine is loaded, with errors naming its path. */
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "version = 1;\nbogus = 1;\n", 24), 24);
        assert_int_equal(close(fd), 0);
        assert_int_equal(natgw_config_load_file(path, &c, &errors), -EINVAL);
        assert_int_equal(errors.n, 1);
        assert_string_equal(errors.v[0].file, path);
        assert_int_equal(errors.v[0].line, 2);
        assert_string_equal(errors.v[0].message, "unknown key \"bogus\"");
        natgw_errors_clear(&errors);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
}

static void test_include_rejected(void **state) {
        char dir[] = "/tmp/natgw-include-XXXXXX";
        _cleanup_(freep) char *fifo = NULL, *text = NULL, *file = NULL;
        struct natgw_errors errors = {};
        struct natgw_config *c = SENTINEL;
        int fd;

        /* The include is a FIFO nobody writes: were it opened, the test would hang here. */
        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&fifo, "%s/include.fifo", dir) > 0);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_true(asprintf(&text, "version = 1;\n@include \"%s\"\n \t@include \"%s\"\n", fifo, fifo) > 0);
        EXPECT_ERRORS(text, "test.conf:2: @include is not supported: drop-in files are read from include_dir",
                      "test.conf:3: @include is not supported: drop-in files are read from include_dir");
        /* Also in a file, where the error names the file and the line of the directive. */
        assert_true(asprintf(&file, "%s/natgwd.conf", dir) > 0);
        fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        assert_int_equal(close(fd), 0);
        assert_int_equal(natgw_config_load_file(file, &c, &errors), -EINVAL);
        assert_ptr_equal(c, SENTINEL);
        assert_int_equal(errors.n, 2);
        assert_string_equal(errors.v[0].file, file);
        assert_int_equal(errors.v[0].line, 2);
        natgw_errors_clear(&errors);
        /* A directive libconfig would not take is refused all the same, even in a comment. */
        EXPECT_ERRORS("version = 1;\n/*\n@include\n*/\n",
                      "test.conf:3: @include is not supported: drop-in files are read from include_dir");
        /* Not at the start of a line it is no directive but a syntax error, as libconfig says. */
        EXPECT_ERRORS("version = 1; @include \"x\"\n", "test.conf:1: syntax error");
        /* Found by its "@": one in a string or after other text is none, and the lines are
         * counted from the text's start past them. */
        EXPECT_ERRORS("@include \"x\"\nversion = 1; # a @ b @include\nx = \"@include\";\n\n\t @include \"y\"\n",
                      "test.conf:1: @include is not supported: drop-in files are read from include_dir",
                      "test.conf:5: @include is not supported: drop-in files are read from include_dir");
        assert_int_equal(unlink(file), 0);
        assert_int_equal(unlink(fifo), 0);
        assert_int_equal(rmdir(dir), 0);
}

static void test_unknown_key(void **state) {
        EXPECT_ERRORS("version = 1;\n"
                      "forwards = ();\n"
                      "kernel = { ip_forwarding = true; };\n"
                      "conntrack = { maximum = 10; };\n"
                      "masquerade = ( { name = \"lan\"; source = \"10.0.0.0/8\"; out_interface = \"eth0\"; to = \"1.2.3.4\"; } );\n"
                      "forward = (\n"
                      "  { name = \"web\"; proto = \"tcp\"; port = 80; to = \"10.0.0.1\";\n"
                      "    in_iface = \"eth0\"; }\n"
                      ");\n",
                      "test.conf:2: unknown key \"forwards\"",
                      "test.conf:3: kernel: unknown key \"ip_forwarding\"",
                      "test.conf:4: conntrack: unknown key \"maximum\"",
                      "test.conf:5: entry \"lan\": unknown key \"to\"",
                      "test.conf:8: entry \"web\": unknown key \"in_iface\"");
}

static void test_wrong_type(void **state) {
        EXPECT_ERRORS("version = 1;\n"
                      "forward = (\n"
                      "  { name = \"web\"; proto = \"tcp\"; port = true; to = \"10.0.0.1\"; },\n"
                      "  { name = 5; proto = \"tcp\"; port = 81; to = \"10.0.0.1\"; },\n"
                      "  { name = \"p\"; proto = [ \"tcp\" ]; port = ( 82, 1.5 ); to = 10; }\n"
                      ");\n"
                      "masquerade = ( { name = \"lan\"; source = 7; out_interface = \"eth0\"; },\n"
                      "               { name = \"lan2\"; source = [ 7 ]; out_interface = 0; } );\n",
                      "test.conf:3: entry \"web\": wrong type for \"port\": expected a port number, an \"A-B\" "
                      "string or a list of them, got a boolean",
                      "test.conf:4: forward entry 2: wrong type for \"name\": expected a string, got an integer",
                      "test.conf:5: entry \"p\": wrong type for \"proto\": expected a string, got an array",
                      "test.conf:5: entry \"p\": wrong type in \"port\" list: expected a port number or an \"A-B\" "
                      "string, got a float",
                      "test.conf:5: entry \"p\": wrong type for \"to\": expected a string, got an integer",
                      "test.conf:7: entry \"lan\": wrong type for \"source\": expected a CIDR string or a list of "
                      "them, got an integer",
                      "test.conf:8: entry \"lan2\": wrong type in \"source\" list: expected a CIDR string, got an "
                      "integer",
                      "test.conf:8: entry \"lan2\": wrong type for \"out_interface\": expected a string, got an "
                      "integer");
        EXPECT_ERRORS("version = \"1\";\n"
                      "kernel = true;\n"
                      "conntrack = { max = 1.5; interval = \"1s\"; };\n"
                      "forward = { name = \"x\"; };\n"
                      "snat = ( 5, { name = \"s\"; source = \"10.0.0.0/8\"; out_interface = \"eth0\"; to = \"1.2.3.4\"; } );\n"
                      "masquerade = 1;\n",
                      "test.conf:1: wrong type for \"version\": expected an integer, got a string",
                      "test.conf:2: wrong type for \"kernel\": expected a group { ... }, got a boolean",
                      "test.conf:3: conntrack: wrong type for \"max\": expected an integer, got a float",
                      "test.conf:3: conntrack: wrong type for \"interval\": expected a number of seconds, got a string",
                      "test.conf:4: wrong type for \"forward\": expected a list of entries ( { ... }, ... ), got a group",
                      "test.conf:5: snat entry 1: wrong type: expected an entry { ... }, got an integer",
                      "test.conf:6: wrong type for \"masquerade\": expected a list of entries ( { ... }, ... ), got "
                      "an integer");
        EXPECT_ERRORS("version = 1;\n"
                      "kernel = { ip_forward = 1; ipv6_forward = \"yes\"; };\n",
                      "test.conf:2: kernel: wrong type for \"ip_forward\": expected a boolean (true or false), got an integer",
                      "test.conf:2: kernel: wrong type for \"ipv6_forward\": expected a boolean (true or false), got a string");
}

static void test_missing_keys(void **state) {
        EXPECT_ERRORS("forward = (\n"
                      "  { name = \"a\"; proto = \"tcp\"; port = 1; to = \"10.0.0.1\"; },\n"
                      "  { name = \"b\"; proto = \"tcp\"; port = 2; to = \"10.0.0.1\"; },\n"
                      "  { proto = \"tcp\"; port = 3; to = \"10.0.0.1\"; },\n"
                      "  {\n"
                      "    name = \"d\";\n"
                      "  }\n"
                      ");\n"
                      "snat = ( { name = \"s\"; } );\n"
                      "masquerade = ( { out_interface = \"eth0\"; } );\n",
                      "test.conf: missing required key \"version\" (this natgwd reads version 1)",
                      "test.conf:4: forward entry 3: missing required key \"name\"",
                      "test.conf:5: entry \"d\": missing required key \"proto\"",
                      "test.conf:5: entry \"d\": missing required key \"port\"",
                      "test.conf:5: entry \"d\": missing required key \"to\"",
                      "test.conf:9: entry \"s\": missing required key \"to\"",
                      "test.conf:9: entry \"s\": missing required key \"source\"",
                      "test.conf:9: entry \"s\": missing required key \"out_interface\"",
                      "test.conf:10: masquerade entry 1: missing required key \"name\"",
                      "test.conf:10: masquerade entry 1: missing required key \"source\"");
        EXPECT_ERRORS("version = 2;\n", "test.conf:1: unsupported version 2 (this natgwd reads version 1)");
}

static void test_bad_name(void **state) {
        EXPECT_ERRORS("version = 1;\n"
                      "masquerade = (\n"
                      "  { name = \"web server\"; source = \"10.0.0.0/8\"; out_interface = \"eth0\"; },\n"
                      "  { name = \"\"; source = \"10.1.0.0/16\"; out_interface = \"eth0\"; },\n"
                      "  { name = \"a123456789b123456789c123456789d123456789e123456789f123456789g1234\";\n"
                      "    source = \"10.2.0.0/16\"; out_interface = \"eth0:1\"; }\n"
                      ");\n",
                      "test.conf:3: masquerade entry 1: invalid name \"web server\": use 1 to 64 characters of "
                      "A-Z, a-z, 0-9, \"_\", \".\" and \"-\"",
                      "test.conf:4: masquerade entry 2: invalid name \"\": use 1 to 64 characters of "
                      "A-Z, a-z, 0-9, \"_\", \".\" and \"-\"",
                      "test.conf:5: masquerade entry 3: invalid name "
                      "\"a123456789b123456789c123456789d123456789e123456789f123456789g1234\": use 1 to 64 "
                      "characters of A-Z, a-z, 0-9, \"_\", \".\" and \"-\"",
                      "test.conf:6: masquerade entry 3: interface name \"eth0:1\" contains whitespace, \"/\" or \":\"");
        /* 64 characters is the limit, and every allowed character is allowed. */
        natgw_config_free(load_ok("version = 1;\n"
                                  "masquerade = ( { name = \"a123456789b123456789c123456789d123456789e123456789f123456789_.-Z\";\n"
                                  "                 source = \"10.0.0.0/8\"; out_interface = \"eth0\"; } );\n"));
}

static void test_bad_cidr(void **state) {
        EXPECT_ERRORS("version = 1;\n"
                      "masquerade = (\n"
                      "  { name = \"lan\"; source = [ \"192.168.1.5/24\", \"10.0.0.0/33\" ]; out_interface = \"eth0\"; },\n"
                      "  { name = \"lan6\"; source = ( \"fd00::1/64\",\n"
                      "                             \"fd00::/129\", \"fd00::/x\" ); out_interface = \"eth0\"; },\n"
                      "  { name = \"none\"; source = [ ]; out_interface = \"eth0\"; },\n"
                      "  { name = \"dup\"; source = [ \"10.9.0.0/16\", \"10.8.0.0/16\", \"10.9.0.0/16\" ]; out_interface = \"eth0\"; }\n"
                      ");\n"
                      "forward = ( { name = \"f\"; proto = \"tcp\"; port = 1; to = \"10.0.0.1\";\n"
                      "              allow_from = \"198.51.100.7/24\"; } );\n",
                      "test.conf:3: entry \"lan\": source \"192.168.1.5/24\" has host bits set; did you mean 192.168.1.0/24?",
                      "test.conf:3: entry \"lan\": source \"10.0.0.0/33\": prefix length is longer than 32 bits",
                      "test.conf:4: entry \"lan6\": source \"fd00::1/64\" has host bits set; did you mean fd00::/64?",
                      "test.conf:5: entry \"lan6\": source \"fd00::/129\": prefix length is longer than 128 bits",
                      "test.conf:5: entry \"lan6\": source \"fd00::/x\" is not an address or a CIDR prefix",
                      "test.conf:6: entry \"none\": \"source\" is an empty list",
                      "test.conf:7: entry \"dup\": source 10.9.0.0/16 is listed twice",
                      "test.conf:10: entry \"f\": allow_from \"198.51.100.7/24\" has host bits set; did you mean "
                      "198.51.100.0/24?");
}

static void test_bad_address(void **state) {
        EXPECT_ERRORS("version = 1;\n"
                      "snat = (\n"
                      "  { name = \"s1\"; source = \"10.0.0.0/8\"; out_interface = \"eth0\"; to = \"203.0.113\"; },\n"
                      "  { name = \"s2\"; source = \"10.1.0.0/16\"; out_interface = \"eth0\"; to = \"203.0.113.0/24\"; },\n"
                      "  { name = \"s3\"; source = \"10.2.0.0/16\"; out_interface = \"eth0\"; to = \"203.0.113.9-203.0.113.1\"; }\n"
                      ");\n"
                      "forward = (\n"
                      "  { name = \"f1\"; proto = \"tcp\"; port = 1; to = \"lan-host\"; },\n"
                      "  { name = \"f2\"; proto = \"tcp\"; port = 2; to = \"[192.168.1.1]:80\"; },\n"
                      "  { name = \"f3\"; proto = \"tcp\"; port = 3; to = \"192.168.1.1\"; destination = \"203.0.113.0/24\"; },\n"
                      "  { name = \"f4\"; proto = \"sctp\"; port = 4; to = \"192.168.1.1\"; }\n"
                      ");\n",
                      "test.conf:3: entry \"s1\": to \"203.0.113\" is not an address or an \"A-B\" address range",
                      "test.conf:4: entry \"s2\": to \"203.0.113.0/24\" is not an address or an \"A-B\" address range",
                      "test.conf:5: entry \"s3\": to \"203.0.113.9-203.0.113.1\": range start is greater than end",
                      "test.conf:8: entry \"f1\": to \"lan-host\" is not ADDR, ADDR:PORT or ADDR:A-B (IPv6 in "
                      "brackets: [ADDR]:PORT)",
                      "test.conf:9: entry \"f2\": to \"[192.168.1.1]:80\" is not ADDR, ADDR:PORT or ADDR:A-B (IPv6 in "
                      "brackets: [ADDR]:PORT)",
                      "test.conf:10: entry \"f3\": destination \"203.0.113.0/24\" is not an address",
                      "test.conf:11: entry \"f4\": proto \"sctp\" is not \"tcp\", \"udp\" or \"tcp+udp\"");
}

static void test_bad_port(void **state) {
        EXPECT_ERRORS("version = 1;\n"
                      "forward = (\n"
                      "  { name = \"zero\"; proto = \"tcp\"; port = 0; to = \"10.0.0.1\"; },\n"
                      "  { name = \"big\"; proto = \"tcp\"; port = 65536; to = \"10.0.0.2\"; },\n"
                      "  { name = \"neg\"; proto = \"tcp\"; port = -1; to = \"10.0.0.3\"; },\n"
                      "  { name = \"rev\"; proto = \"tcp\"; port = \"200-100\"; to = \"10.0.0.4\"; },\n"
                      "  { name = \"word\"; proto = \"tcp\"; port = \"http\"; to = \"10.0.0.5\"; },\n"
                      "  { name = \"srange\"; proto = \"tcp\"; port = \"0-80\"; to = \"10.0.0.6\"; },\n"
                      "  { name = \"list\"; proto = \"udp\"; port = ( 53,\n"
                      "                                          99999, \"5-4\" ); to = \"10.0.0.7\"; },\n"
                      "  { name = \"empty\"; proto = \"tcp\"; port = [ ]; to = \"10.0.0.8\"; },\n"
                      "  { name = \"to0\"; proto = \"tcp\"; port = 10; to = \"10.0.0.9:0\"; },\n"
                      "  { name = \"torev\"; proto = \"tcp\"; port = \"20-30\"; to = \"10.0.0.9:40-30\"; },\n"
                      "  { name = \"self\"; proto = \"tcp\"; port = ( \"70-90\", 100, 80, 100 ); to = \"10.0.0.10\"; }\n"
                      ");\n",
                      "test.conf:3: entry \"zero\": port 0 is out of range 1-65535",
                      "test.conf:4: entry \"big\": port 65536 is out of range 1-65535",
                      "test.conf:5: entry \"neg\": port -1 is out of range 1-65535",
                      "test.conf:6: entry \"rev\": port range \"200-100\": start is greater than end",
                      "test.conf:7: entry \"word\": port \"http\" is not a number or an \"A-B\" range",
                      "test.conf:8: entry \"srange\": port \"0-80\" is out of range 1-65535",
                      "test.conf:10: entry \"list\": port 99999 is out of range 1-65535",
                      "test.conf:10: entry \"list\": port range \"5-4\": start is greater than end",
                      "test.conf:11: entry \"empty\": \"port\" is an empty list",
                      "test.conf:12: entry \"to0\": to \"10.0.0.9:0\": port is out of range 1-65535",
                      "test.conf:13: entry \"torev\": to \"10.0.0.9:40-30\": port range start is greater than end",
                      "test.conf:14: entry \"self\": port 80 overlaps port 70-90 of the same entry",
                      "test.conf:14: entry \"self\": port 100 overlaps port 100 of the same entry");
}

static void test_range_widths(void **state) {
        EXPECT_ERRORS("version = 1;\n"
                      "forward = (\n"
                      "  { name = \"ftp-data\"; proto = \"tcp\"; port = \"50000-50100\";\n"
                      "    to = \"192.168.1.30:6000-6099\"; },\n"
                      "  { name = \"one\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.31:6000-6099\"; },\n"
                      "  { name = \"list\"; proto = \"tcp\"; port = [ \"1000-1009\", \"2000-2009\" ];\n"
                      "    to = \"192.168.1.32:6000-6009\"; }\n"
                      ");\n",
                      "test.conf:4: entry \"ftp-data\": range widths differ: port 50000-50100 has 101 ports, "
                      "to 6000-6099 has 100",
                      "test.conf:5: entry \"one\": range widths differ: port 8080 has 1 port, to 6000-6099 has 100",
                      "test.conf:7: entry \"list\": to \"192.168.1.32:6000-6009\" maps a port range, so \"port\" "
                      "must be one range, not a list of 2");
        /* Equal widths are fine, and so is "many ports to one". */
        natgw_config_free(load_ok("version = 1;\n"
                                  "forward = (\n"
                                  "  { name = \"a\"; proto = \"tcp\"; port = \"50000-50100\"; to = \"192.168.1.30:6000-6100\"; },\n"
                                  "  { name = \"b\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.30:9000-9000\"; },\n"
                                  "  { name = \"c\"; proto = \"tcp\"; port = ( 1, 2, \"3-9\" ); to = \"192.168.1.30:80\"; }\n"
                                  ");\n"));
}

static void test_family_mismatch(void **state) {
        EXPECT_ERRORS("version = 1;\n"
                      "snat = (\n"
                      "  { name = \"pool\"; source = \"10.20.0.0/16\"; out_interface = \"eth0\";\n"
                      "    to = \"203.0.113.1-2001:db8::1\"; },\n"
                      "  { name = \"mixed\"; source = [ \"10.30.0.0/16\", \"fd00:2::/64\" ]; out_interface = \"eth0\";\n"
                      "    to = \"203.0.113.2\"; },\n"
                      "  { name = \"v6\"; source = \"10.40.0.0/16\"; out_interface = \"eth0\"; to = \"2001:db8::2\"; }\n"
                      ");\n"
                      "forward = (\n"
                      "  { name = \"api6\"; proto = \"tcp\"; port = 443; to = \"[fd00:1::10]:8443\";\n"
                      "    destination = \"203.0.113.5\";\n"
                      "    allow_from = [ \"2001:db8::/32\", \"198.51.100.0/24\" ]; },\n"
                      "  { name = \"web\"; proto = \"tcp\"; port = 80; to = \"192.168.1.1\"; destination = \"2001:db8::5\"; }\n"
                      ");\n",
                      "test.conf:4: entry \"pool\": to \"203.0.113.1-2001:db8::1\" mixes IPv4 and IPv6",
                      "test.conf:5: entry \"mixed\": source \"fd00:2::/64\" is IPv6 but \"to\" is IPv4",
                      "test.conf:7: entry \"v6\": source \"10.40.0.0/16\" is IPv4 but \"to\" is IPv6",
                      "test.conf:11: entry \"api6\": destination \"203.0.113.5\" is IPv4 but \"to\" is IPv6",
                      "test.conf:12: entry \"api6\": allow_from \"198.51.100.0/24\" is IPv4 but \"to\" is IPv6",
                      "test.conf:13: entry \"web\": destination \"2001:db8::5\" is IPv6 but \"to\" is IPv4");
}

static void test_interface_name(void **state) {
        EXPECT_ERRORS("version = 1;\n"
                      "masquerade = (\n"
                      "  { name = \"a\"; source = \"10.0.0.0/8\"; out_interface = \"enp0s31f6-uplink\"; },\n"
                      "  { name = \"b\"; source = \"10.1.0.0/16\"; out_interface = \"\"; },\n"
                      "  { name = \"c\"; source = \"10.2.0.0/16\"; out_interface = \"..\"; },\n"
                      "  { name = \"d\"; source = \"10.3.0.0/16\"; out_interface = \"eth 0\"; }\n"
                      ");\n"
                      "forward = (\n"
                      "  { name = \"f\"; in_interface = \"\"; proto = \"tcp\"; port = 1; to = \"10.0.0.1\"; },\n"
                      "  { name = \"g\"; in_interface = \"br/lan\"; proto = \"tcp\"; port = 2; to = \"10.0.0.1\"; }\n"
                      ");\n",
                      "test.conf:3: entry \"a\": interface name \"enp0s31f6-uplink\" is longer than 15 characters",
                      "test.conf:4: entry \"b\": \"out_interface\" is empty",
                      "test.conf:5: entry \"c\": interface name \"..\" is not allowed",
                      "test.conf:6: entry \"d\": interface name \"eth 0\" contains whitespace, \"/\" or \":\"",
                      "test.conf:9: entry \"f\": \"in_interface\" is empty; leave it out to match any interface",
                      "test.conf:10: entry \"g\": interface name \"br/lan\" contains whitespace, \"/\" or \":\"");
        /* Fifteen characters fit. */
        natgw_config_free(load_ok("version = 1;\n"
                                  "masquerade = ( { name = \"a\"; source = \"10.0.0.0/8\"; out_interface = \"enp0s31f6-upli\"; },\n"
                                  "               { name = \"b\"; source = \"10.0.0.0/8\"; out_interface = \"enp0s31f6-uplin\"; } );\n"));
}

static void test_conntrack(void **state) {
        EXPECT_ERRORS("version = 1;\n"
                      "conntrack = {\n"
                      "  max = 0;\n"
                      "  buckets = -5;\n"
                      "  warn = 0;\n"
                      "  critical = 101;\n"
                      "  interval = 3601;\n"
                      "};\n",
                      "test.conf:3: conntrack: \"max\" must be at least 1, got 0",
                      "test.conf:4: conntrack: \"buckets\" must be at least 1, got -5",
                      "test.conf:5: conntrack: \"warn\" must be between 1 and 100, got 0",
                      "test.conf:6: conntrack: \"critical\" must be between 1 and 100, got 101",
                      "test.conf:7: conntrack: \"interval\" must be more than 0 and at most 3600 seconds, got 3601");
        EXPECT_ERRORS("version = 1;\n"
                      "conntrack = { warn = 90;\n"
                      "              critical = 85; interval = 0.0; };\n",
                      "test.conf:3: conntrack: \"critical\" (85) must not be lower than \"warn\" (90)",
                      "test.conf:3: conntrack: \"interval\" must be more than 0 and at most 3600 seconds, got 0");
        /* Against the default critical (95) too. */
        EXPECT_ERRORS("version = 1;\n"
                      "conntrack = { warn = 96; };\n",
                      "test.conf:2: conntrack: \"critical\" (95) must not be lower than \"warn\" (96)");
}

static void test_conntrack_timeouts(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = load_ok(
                "version = 1;\n"                                                  /* 1 */
                "kernel = { ip_forward = true;\n"
                "           ipv6_forward = true; };\n"
                "conntrack = {\n"
                "  max = 1000;\n"                                                 /* 5 */
                "  buckets = 512;\n"
                "  timeouts = {\n"
                "    tcp_established = 3600; tcp_syn_sent = 1; tcp_syn_recv = 2; tcp_fin_wait = 3;\n"
                "    tcp_close_wait = 4; tcp_last_ack = 5; tcp_time_wait = 6; tcp_close = 7;\n"
                "    tcp_unacknowledged = 8; tcp_max_retrans = 9;\n"               /* 10 */
                "    udp = 10; udp_stream = 11L; icmp = 12; icmpv6 = 13;\n"
                "    generic = 2073600;\n"
                "  };\n"
                "  auto_grow = { ceiling = 4000000000L; step = 1000; };\n"
                "};\n");

        assert_int_equal(c->kernel.ip_forward_line, 2);
        assert_int_equal(c->kernel.ipv6_forward_line, 3);
        assert_int_equal(c->conntrack.max_line, 5);
        assert_int_equal(c->conntrack.buckets_line, 6);
        assert_int_equal(c->conntrack.timeouts[NATGW_CT_TIMEOUT_TCP_ESTABLISHED], 3600);
        assert_int_equal(c->conntrack.timeout_lines[NATGW_CT_TIMEOUT_TCP_ESTABLISHED], 8);
        for (size_t i = NATGW_CT_TIMEOUT_TCP_SYN_SENT; i < NATGW_CT_TIMEOUT_GENERIC; i++)
                assert_int_equal(c->conntrack.timeouts[i], i);
        assert_int_equal(c->conntrack.timeout_lines[NATGW_CT_TIMEOUT_TCP_UNACKNOWLEDGED], 10);
        assert_int_equal(c->conntrack.timeout_lines[NATGW_CT_TIMEOUT_UDP_STREAM], 11);
        assert_int_equal(c->conntrack.timeouts[NATGW_CT_TIMEOUT_GENERIC], NATGW_CT_TIMEOUT_MAX_SEC);
        assert_int_equal(c->conntrack.timeout_lines[NATGW_CT_TIMEOUT_GENERIC], 12);
        assert_int_equal(c->conntrack.auto_grow_ceiling, 4000000000LL);
        assert_int_equal(c->conntrack.auto_grow_step, 1000);

        /* The one table: keys and sysctls as the kernel names them. */
        assert_string_equal(natgw_ct_timeouts[NATGW_CT_TIMEOUT_TCP_MAX_RETRANS].key, "tcp_max_retrans");
        assert_string_equal(natgw_ct_timeouts[NATGW_CT_TIMEOUT_TCP_MAX_RETRANS].sysctl,
                            "net/netfilter/nf_conntrack_tcp_timeout_max_retrans");
        assert_string_equal(natgw_ct_timeouts[NATGW_CT_TIMEOUT_UDP_STREAM].sysctl,
                            "net/netfilter/nf_conntrack_udp_timeout_stream");
        assert_string_equal(natgw_ct_timeouts[NATGW_CT_TIMEOUT_ICMPV6].sysctl,
                            "net/netfilter/nf_conntrack_icmpv6_timeout");
        for (size_t i = 0; i < NATGW_CT_TIMEOUT_COUNT; i++) {
                assert_non_null(natgw_ct_timeouts[i].key);
                assert_non_null(natgw_ct_timeouts[i].sysctl);
        }

        EXPECT_ERRORS("version = 1;\n"
                      "conntrack = {\n"
                      "  timeouts = {\n"
                      "    tcp_establised = 3600;\n"
                      "    udp = 0;\n"
                      "    udp_stream = 2073601;\n"
                      "    icmp = 1.5;\n"
                      "    generic = \"60\";\n"
                      "    tcp_close = -1;\n"
                      "  };\n"
                      "};\n",
                      "test.conf:4: conntrack.timeouts: unknown key \"tcp_establised\"",
                      "test.conf:5: conntrack.timeouts: \"udp\" must be between 1 and 2073600, got 0",
                      "test.conf:6: conntrack.timeouts: \"udp_stream\" must be between 1 and 2073600, got 2073601",
                      "test.conf:7: conntrack.timeouts: wrong type for \"icmp\": expected an integer, got a float",
                      "test.conf:8: conntrack.timeouts: wrong type for \"generic\": expected an integer, got a string",
                      "test.conf:9: conntrack.timeouts: \"tcp_close\" must be between 1 and 2073600, got -1");
        EXPECT_ERRORS("version = 1;\n"
                      "conntrack = { timeouts = 30; };\n",
                      "test.conf:2: conntrack: wrong type for \"timeouts\": expected a group { udp = 60; ... }, "
                      "got an integer");
        /* Errors of the groups around it keep their own labels. */
        EXPECT_ERRORS("version = 1;\n"
                      "conntrack = { timeouts = { udp = 0; }; warn = 0; };\n"
                      "kernel = { ip_forward = 1; };\n",
                      "test.conf:2: conntrack: \"warn\" must be between 1 and 100, got 0",
                      "test.conf:2: conntrack.timeouts: \"udp\" must be between 1 and 2073600, got 0",
                      "test.conf:3: kernel: wrong type for \"ip_forward\": expected a boolean (true or false), got an integer");
}

/* conntrack.ports: SNAT port usage thresholds and interval (natgwd.conf(5)). */
static void test_conntrack_ports(void **state) {
        struct natgw_config *c;

        c = load_ok("version = 1;\n");
        assert_int_equal(c->conntrack.ports_warn, 80);
        assert_int_equal(c->conntrack.ports_critical, 95);
        assert_true(c->conntrack.ports_interval == 30.0);
        natgw_config_free(c);
        c = load_ok("version = 1;\nconntrack = { warn = 50; ports = { warn = 1; critical = 2; interval = 0.2; }; };\n");
        assert_int_equal(c->conntrack.ports_warn, 1);
        assert_int_equal(c->conntrack.ports_critical, 2);
        assert_true(c->conntrack.ports_interval == 0.2);
        /* The table's own thresholds are its own. */
        assert_int_equal(c->conntrack.warn, 50);
        assert_int_equal(c->conntrack.critical, 95);
        natgw_config_free(c);

        EXPECT_ERRORS("version = 1;\n"
                      "conntrack = {\n"
                      "  ports = {\n"
                      "    warn = 90;\n"
                      "    critical = 85;\n"
                      "    interval = 0;\n"
                      "  };\n"
                      "};\n",
                      "test.conf:5: conntrack.ports: \"critical\" (85) must not be lower than \"warn\" (90)",
                      "test.conf:6: conntrack.ports: \"interval\" must be more than 0 and at most 3600 seconds, got 0");
        EXPECT_ERRORS("version = 1;\n"
                      "conntrack = { ports = { warn = 0; critical = 101; every = 5; }; };\n",
                      "test.conf:2: conntrack.ports: unknown key \"every\"",
                      "test.conf:2: conntrack.ports: \"warn\" must be between 1 and 100, got 0",
                      "test.conf:2: conntrack.ports: \"critical\" must be between 1 and 100, got 101");
        EXPECT_ERRORS("version = 1;\n"
                      "conntrack = { ports = 80; };\n",
                      "test.conf:2: conntrack: wrong type for \"ports\": expected a group { warn = 80; ... }, got an integer");
}

static void test_conntrack_auto_grow(void **state) {
        struct natgw_config *c;

        /* Without max, any ceiling >= 1 goes (the watch starts from the kernel's max). */
        c = load_ok("version = 1;\nconntrack = { auto_grow = { step = 1; ceiling = 1; }; };\n");
        assert_int_equal(c->conntrack.max, -1);
        assert_int_equal(c->conntrack.auto_grow_ceiling, 1);
        assert_int_equal(c->conntrack.auto_grow_step, 1);
        natgw_config_free(c);
        /* ceiling == max is fine. */
        c = load_ok("version = 1;\nconntrack = { max = 5000; auto_grow = { ceiling = 5000; step = 100; }; };\n");
        assert_int_equal(c->conntrack.auto_grow_ceiling, 5000);
        natgw_config_free(c);

        EXPECT_ERRORS("version = 1;\n"
                      "conntrack = {\n"
                      "  max = 262144;\n"
                      "  auto_grow = {\n"
                      "    ceiling = 131072;\n"
                      "    step = 0;\n"
                      "  };\n"
                      "};\n",
                      "test.conf:5: conntrack.auto_grow: \"ceiling\" (131072) must not be lower than conntrack "
                      "\"max\" (262144, line 3)",
                      "test.conf:6: conntrack.auto_grow: \"step\" must be at least 1, got 0");
        EXPECT_ERRORS("version = 1;\n"
                      "conntrack = {\n"
                      "  auto_grow = { ceiling = 0; };\n"
                      "  max = 10;\n"
                      "};\n",
                      "test.conf:3: conntrack.auto_grow: missing required key \"step\"",
                      "test.conf:3: conntrack.auto_grow: \"ceiling\" must be at least 1, got 0");
        EXPECT_ERRORS("version = 1;\n"
                      "conntrack = { auto_grow = { }; };\n",
                      "test.conf:2: conntrack.auto_grow: missing required key \"ceiling\"",
                      "test.conf:2: conntrack.auto_grow: missing required key \"step\"");
        EXPECT_ERRORS("version = 1;\n"
                      "conntrack = { auto_grow = { ceiling = 2.5; step = 10; stop = 1; }; };\n",
                      "test.conf:2: conntrack.auto_grow: unknown key \"stop\"",
                      "test.conf:2: conntrack.auto_grow: wrong type for \"ceiling\": expected an integer, got a float");
        EXPECT_ERRORS("version = 1;\n"
                      "conntrack = { auto_grow = true; };\n",
                      "test.conf:2: conntrack: wrong type for \"auto_grow\": expected a group "
                      "{ ceiling = N; step = M; }, got a boolean");
        /* An invalid max is reported once, and not compared with the ceiling. */
        EXPECT_ERRORS("version = 1;\n"
                      "conntrack = { max = 0; auto_grow = { ceiling = 10; step = 1; }; };\n",
                      "test.conf:2: conntrack: \"max\" must be at least 1, got 0");
}

static void test_on_exit(void **state) {
        struct natgw_config *c;

        c = load_ok("version = 1;\non_exit = \"remove\";\n");
        assert_int_equal(c->on_exit, NATGW_ON_EXIT_REMOVE);
        natgw_config_free(c);
        c = load_ok("version = 1;\non_exit = \"keep\";\n");
        assert_int_equal(c->on_exit, NATGW_ON_EXIT_KEEP);
        natgw_config_free(c);
        EXPECT_ERRORS("version = 1;\n"
                      "on_exit = \"delete\";\n",
                      "test.conf:2: \"on_exit\" must be \"keep\" or \"remove\", got \"delete\"");
        EXPECT_ERRORS("version = 1;\n"
                      "on_exit = true;\n",
                      "test.conf:2: wrong type for \"on_exit\": expected a string (\"keep\" or \"remove\"), got a boolean");
}

static void test_many_errors(void **state) {
        /* One file, many classes of errors: all reported, in line order. */
        EXPECT_ERRORS("version = 1;\n"                                                            /* 1 */
                      "forward = (\n"
                      "  { name = \"web\"; proto = \"tcp\"; port = 8080; to = \"192.168.1.66:80\"; },\n"
                      "  { name = \"bad\"; proto = \"tcp\"; port = 0; to = \"192.168.1.67\"; },\n"
                      "  { name = \"web\"; proto = \"udp\"; port = 53; to = \"192.168.1.68\"; },\n"  /* 5 */
                      "  { name = \"late\"; proto = \"tcp\"; port = \"8000-8100\"; to = \"192.168.1.69\"; }\n"
                      ");\n"
                      "masquerade = (\n"
                      "  { name = \"lan\"; source = \"192.168.1.1/24\"; out_interface = \"eth0\"; },\n"
                      "  { name = \"lan-a\"; source = \"10.0.0.0/8\"; out_interface = \"eth0\"; }\n" /* 10 */
                      ");\n"
                      "snat = ( { name = \"lan-b\"; source = \"10.0.0.0/8\"; out_interface = \"eth0\"; to = \"203.0.113.1\"; } );\n"
                      "extra = 1;\n",
                      "test.conf:4: entry \"bad\": port 0 is out of range 1-65535",
                      "test.conf:5: entry \"web\": name already used by the entry at line 3",
                      "test.conf:6: entry \"late\": overlaps entry \"web\" (line 3) on tcp port 8080",
                      "test.conf:9: entry \"lan\": source \"192.168.1.1/24\" has host bits set; did you mean "
                      "192.168.1.0/24?",
                      "test.conf:12: entry \"lan-b\": source 10.0.0.0/8 on \"eth0\" is already used by entry "
                      "\"lan-a\" (line 10)",
                      "test.conf:13: unknown key \"extra\"");
}

static void test_control_characters(void **state) {
        /* A value with a newline must not break the one-error-per-line output. */
        EXPECT_ERRORS("version = 1;\n"
                      "forward = ( { name = \"x\"; proto = \"tc\\np\"; port = 1; to = \"10.0.0.1\"; } );\n",
                      "test.conf:2: entry \"x\": proto \"tc?p\" is not \"tcp\", \"udp\" or \"tcp+udp\"");
}

static void test_integer_overflow(void **state) {
        /* libconfig 1.5 keeps the low 32 bits of a number written without L and says nothing:
         * natgwd must, or "max = 5000000000" becomes 705032704 and port 4294967376 port 80. */
        EXPECT_ERRORS("version = 1;\n"
                      "conntrack = { max = 5000000000; buckets = 2147483648;\n"
                      "  auto_grow = { ceiling = 99999999999999999999L; step = 0x100000000; }; };\n"
                      "# max = 5000000000; in a comment is no number, nor in \"5000000000\"\n"
                      "forward = ( { name = \"f4294967376\"; proto = \"tcp\"; port = 4294967376; to = \"10.0.0.1\"; } );\n",
                      "test.conf:2: integer 5000000000 does not fit in 32 bits (libconfig would read 705032704): "
                      "write 5000000000L",
                      "test.conf:2: integer 2147483648 does not fit in 32 bits (libconfig would read -2147483648): "
                      "write 2147483648L",
                      "test.conf:2: conntrack: \"buckets\" must be at least 1, got -2147483648",
                      "test.conf:3: integer 99999999999999999999L does not fit in 64 bits",
                      "test.conf:3: integer 0x100000000 does not fit in 32 bits (libconfig would read 0): write "
                      "0x100000000L",
                      "test.conf:3: conntrack.auto_grow: \"step\" must be at least 1, got 0",
                      "test.conf:5: integer 4294967376 does not fit in 32 bits (libconfig would read 80): write "
                      "4294967376L");
        EXPECT_ERRORS("version = 1;\n"
                      "conntrack = { max = -2147483649; };\n",
                      "test.conf:2: integer -2147483649 does not fit in 32 bits (libconfig would read 2147483647): "
                      "write -2147483649L");
        /* The edges of the short path (up to nine decimal or seven hex digits is never checked
         * further): eight hex digits, ten decimal ones after leading zeros. */
        EXPECT_ERRORS("version = 1;\n"
                      "conntrack = { max = 0x80000000; buckets = 00000002147483648; };\n",
                      "test.conf:2: integer 0x80000000 does not fit in 32 bits (libconfig would read -2147483648): "
                      "write 0x80000000L",
                      "test.conf:2: integer 00000002147483648 does not fit in 32 bits (libconfig would read "
                      "-2147483648): write 00000002147483648L",
                      "test.conf:2: conntrack: \"max\" must be at least 1, got -2147483648",
                      "test.conf:2: conntrack: \"buckets\" must be at least 1, got -2147483648");
        /* What fits is fine: the 32-bit limits, L numbers up to 64 bits, floats, names with digits. */
        natgw_config_free(load_ok("version = 1;\n"
                                  "conntrack = { max = 2147483647; buckets = 9223372036854775807L; interval = 1.5e0;\n"
                                  "  warn = 0x50; timeouts = { udp = 000000000000000000000000000000030; }; };\n"
                                  "masquerade = ( { name = \"m\"; source = \"10.0.0.0/8\"; out_interface = \"eth4294967296\"; } );\n"));
        natgw_config_free(load_ok("version = 1;\nconntrack = { max = 999999999; };\n"));
        natgw_config_free(load_ok("version = 1;\nconntrack = { max = 0x7FFFFFF; };\n"));
        natgw_config_free(load_ok("version = 1;\nconntrack = { max = 0x7FFFFFFF; };\n"));
}

static void test_deep_nesting(void **state) {
        /* libconfig's parser stops at a bounded depth: no deep recursion in natgwd after it. */
        size_t depth = 100000, len = 2 * depth + 64;
        _cleanup_(freep) char *text = malloc(len);

        assert_non_null(text);
        assert_true(snprintf(text, len, "version = 1;\nx = ") > 0);
        memset(text + strlen(text), '(', depth);
        memset(text + 17 + depth, ')', depth);
        strcpy(text + 17 + 2 * depth, ";\n");
        EXPECT_ERRORS(text, "test.conf:2: syntax error: memory exhausted");
        /* A depth the parser takes is reported as an unknown key. */
        text[17 + 100] = '\0';
        memset(text + 17, '(', 50);
        memset(text + 17 + 50, ')', 50);
        strcat(text, ";\n");
        EXPECT_ERRORS(text, "test.conf:2: unknown key \"x\"");
}

static void test_garbage(void **state) {
        /* Bytes that are no config at all: a syntax error with its line, nothing else. */
        EXPECT_ERRORS("version = 1;\n\x7f\x45\x4c\x46\x02\x01\x01\xff\xfe\n", "test.conf:2: syntax error");
        EXPECT_ERRORS("", "test.conf: missing required key \"version\" (this natgwd reads version 1)");
        EXPECT_ERRORS("\n\n# only a comment\n", "test.conf: missing required key \"version\" (this natgwd reads version 1)");
        /* Invalid UTF-8 inside a string is just bytes of a value that is wrong. */
        EXPECT_ERRORS("version = 1;\n"
                      "forward = ( { name = \"caf\xc3\x28\"; proto = \"tcp\"; port = 1; to = \"10.0.0.1\"; } );\n",
                      "test.conf:2: forward entry 1: invalid name \"caf\xc3(\": use 1 to 64 characters of A-Z, a-z, "
                      "0-9, \"_\", \".\" and \"-\"");
}

static void test_huge_values(void **state) {
        /* A megabyte-long name is cut in the error, which stays one line. */
        size_t n = 1024 * 1024;
        _cleanup_(freep) char *text = malloc(n + 256), *want = NULL;

        assert_non_null(text);
        strcpy(text, "version = 1;\nmasquerade = ( { name = \"");
        memset(text + strlen(text), 'a', n);
        strcpy(text + strlen("version = 1;\nmasquerade = ( { name = \"") + n,
               "\"; source = \"10.0.0.0/8\"; out_interface = \"eth0\"; } );\n");
        assert_true(asprintf(&want, "test.conf:2: masquerade entry 1: invalid name \"%080d\": use 1 to 64 "
                                    "characters of A-Z, a-z, 0-9, \"_\", \".\" and \"-\"", 0) > 0);
        memset(strchr(want, '"') + 1, 'a', 80);
        EXPECT_ERRORS(text, want);
}

static void test_special_files(void **state) {
        char dir[] = "/tmp/natgw-test-XXXXXX";
        _cleanup_(freep) char *fifo = NULL;
        const char *special[] = { "/dev/zero", "/dev/null", NULL };
        struct natgw_errors errors = {};
        struct natgw_config *c = SENTINEL;

        /* Only a regular file is a config: a file that never ends, a device, a FIFO nobody
         * writes (opened at all, it would block) are refused at once, naming the file. */
        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&fifo, "%s/natgwd.conf", dir) > 0);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        special[2] = fifo;
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(natgw_config_load_file(special[i], &c, &errors), -ENODEV);
                assert_ptr_equal(c, SENTINEL);
                assert_int_equal(errors.n, 1);
                assert_string_equal(errors.v[0].file, special[i]);
                assert_string_equal(errors.v[0].message, "cannot read: not a regular file");
                natgw_errors_clear(&errors);
        }
        assert_int_equal(unlink(fifo), 0);
        assert_int_equal(rmdir(dir), 0);
}

static void test_too_large(void **state) {
        char path[] = "/tmp/natgw-test-XXXXXX";
        struct natgw_errors errors = {};
        struct natgw_config *c = SENTINEL;
        int fd;

        /* 64 MiB and one byte, sparse: read up to the limit and no further. */
        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, 64 * 1024 * 1024 + 1), 0);
        assert_int_equal(close(fd), 0);
        assert_int_equal(natgw_config_load_file(path, &c, &errors), -EFBIG);
        assert_ptr_equal(c, SENTINEL);
        assert_int_equal(errors.n, 1);
        assert_string_equal(errors.v[0].message, "cannot read: the file is larger than 64 MiB");
        natgw_errors_clear(&errors);
        assert_int_equal(unlink(path), 0);
}

/* The members natgw_conf_check_keys() keeps at hand are its group's only: another group, or a
 * key that is not known, is looked up in the group itself. */
static void test_members_at_hand(void **state) {
        static const char *const keys[] = { "a", "b", NULL };
        struct natgw_errors errors = {};
        struct natgw_conf_ctx ctx = { .file = "t.conf", .errors = &errors };
        const config_setting_t *g1, *g2;
        config_t cfg;

        config_init(&cfg);
        assert_true(config_read_string(&cfg, "g1 = { a = 1; b = 2; };\ng2 = { c = 4; b = 3; };\n"));
        g1 = config_lookup(&cfg, "g1");
        g2 = config_lookup(&cfg, "g2");
        natgw_conf_check_keys(&ctx, g1, keys);
        assert_int_equal(errors.n, 0);
        assert_int_equal(config_setting_get_int(natgw_conf_member(&ctx, g1, "a", true)), 1);
        assert_int_equal(config_setting_get_int(natgw_conf_member(&ctx, g1, "b", true)), 2);
        assert_null(natgw_conf_member(&ctx, g1, "c", false));
        assert_int_equal(config_setting_get_int(natgw_conf_member(&ctx, g2, "b", true)), 3);
        assert_int_equal(config_setting_get_int(natgw_conf_member(&ctx, g2, "c", true)), 4);
        assert_ptr_equal(natgw_conf_get_member(g2, "c"), natgw_conf_member(&ctx, g2, "c", false));
        assert_null(natgw_conf_get_member(config_lookup(&cfg, "g1.a"), "a")); /* not a group */
        assert_int_equal(errors.n, 0);
        natgw_conf_forget_members(&ctx);
        assert_int_equal(config_setting_get_int(natgw_conf_member(&ctx, g1, "b", true)), 2);
        natgw_conf_check_keys(&ctx, g2, keys);
        assert_int_equal(errors.n, 1);
        assert_string_equal(errors.v[0].message, "unknown key \"c\"");
        assert_int_equal(errors.v[0].line, 2);
        assert_int_equal(config_setting_get_int(natgw_conf_member(&ctx, g2, "b", true)), 3);
        assert_null(natgw_conf_member(&ctx, g2, "a", false));
        natgw_errors_clear(&errors);
        config_destroy(&cfg);
}

static void test_errors_appended(void **state) {
        /* The list may already hold errors: they stay first and in place. */
        struct natgw_errors errors = {};
        struct natgw_config *c = SENTINEL;

        assert_int_equal(natgw_errors_add(&errors, "other.conf", 99, NULL, "earlier"), 0);
        assert_int_equal(natgw_config_load_string("foo = 1;\nversion = 1;\n", NULL, &c, &errors), -EINVAL);
        assert_ptr_equal(c, SENTINEL);
        assert_int_equal(errors.n, 2);
        assert_string_equal(errors.v[0].message, "earlier");
        assert_string_equal(errors.v[1].file, "<string>");
        assert_int_equal(errors.v[1].line, 1);
        natgw_errors_clear(&errors);

        assert_null(natgw_config_free(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_design_example),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_values),
                cmocka_unit_test(test_example_files),
                cmocka_unit_test(test_syntax_error),
                cmocka_unit_test(test_io_errors),
                cmocka_unit_test(test_include_rejected),
                cmocka_unit_test(test_unknown_key),
                cmocka_unit_test(test_wrong_type),
                cmocka_unit_test(test_missing_keys),
                cmocka_unit_test(test_bad_name),
                cmocka_unit_test(test_bad_cidr),
                cmocka_unit_test(test_bad_address),
                cmocka_unit_test(test_bad_port),
                cmocka_unit_test(test_range_widths),
                cmocka_unit_test(test_family_mismatch),
                cmocka_unit_test(test_interface_name),
                cmocka_unit_test(test_conntrack),
                cmocka_unit_test(test_conntrack_timeouts),
                cmocka_unit_test(test_conntrack_auto_grow),
                cmocka_unit_test(test_conntrack_ports),
                cmocka_unit_test(test_on_exit),
                cmocka_unit_test(test_many_errors),
                cmocka_unit_test(test_control_characters),
                cmocka_unit_test(test_integer_overflow),
                cmocka_unit_test(test_deep_nesting),
                cmocka_unit_test(test_garbage),
                cmocka_unit_test(test_huge_values),
                cmocka_unit_test(test_special_files),
                cmocka_unit_test(test_too_large),
                cmocka_unit_test(test_errors_appended),
                cmocka_unit_test(test_members_at_hand),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * A big forward list parsed in slices (conf-slice.h): where the slicer cuts and when it does not
 * slice at all, and, for valid files and files with every kind of error, that the loader gives
 * the same model and the same errors with slices as without.
 */

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <unistd.h>

#include "conf-slice.h"
#include "conf.h"
#include "natgwd.h"
#include "util.h"

#include "conf-test.h"

/* Slice sizes: one entry per slice, a few entries per slice, and never. */
#define SLICE_EACH 1
#define SLICE_FEW 150
#define SLICE_NEVER (SIZE_MAX / 4)

static char dir[64]; /* a fresh temporary directory per test */

static void put(const char *name, const char *text) {
        put_file(dir, name, text);
}

static int setup(void **state) {
        char d[128];

        return tmpdir_make(dir, "slice", "d", d);
}

static int teardown(void **state) {
        natgw_conf_slice_bytes = NATGW_CONF_SLICE_BYTES;
        return tmpdir_remove(dir);
}

/* What a load gave: its return, its errors as printed, and its forwards, one line each. */
struct outcome {
        int r;
        char *text;
};

static void append(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(char **s, const char *fmt, ...) {
        _cleanup_(freep) char *add = NULL, *old = *s;
        va_list ap;

        va_start(ap, fmt);
        assert_true(vasprintf(&add, fmt, ap) >= 0);
        va_end(ap);
        assert_true(asprintf(s, "%s%s", old ? old : "", add) >= 0);
}

static struct outcome load_with(size_t slice_bytes, const char *main_text) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL;
        struct natgw_errors errors = {};
        struct outcome o = {};
        char path[128];

        natgw_conf_slice_bytes = slice_bytes;
        snprintf(path, sizeof(path), "%s/natgwd.conf", dir);
        o.r = natgw_config_load_string_dir(main_text, path, NULL, &c, &errors);
        natgw_conf_slice_bytes = NATGW_CONF_SLICE_BYTES;
        append(&o.text, "r=%d\n", o.r);
        for (size_t i = 0; i < errors.n; i++) {
                _cleanup_(freep) char *s = natgw_error_format(&errors.v[i]);

                append(&o.text, "%s\n", s);
        }
        for (size_t i = 0; c && i < c->n_forwards; i++) {
                const struct natgw_forward *f = &c->forwards[i];

                append(&o.text, "forward %s %s:%u if=%s protos=%u ports=%zu:%u-%u to_port=%u-%u refl=%d allow=%zu helper=%u\n",
                       f->name, f->file, f->line, f->in_interface, f->protos, f->n_ports,
                       f->n_ports ? f->ports[0].lo : 0, f->n_ports ? f->ports[0].hi : 0, f->to_port.lo, f->to_port.hi,
                       f->reflection, f->n_allow_from, f->helper);
        }
        natgw_errors_clear(&errors);
        return o;
}

/* The load of @main_text (and the drop-ins put in d/) is the same in slices as whole; returns
 * its return. */
static int same_sliced(const char *main_text) {
        struct outcome whole = load_with(SLICE_NEVER, main_text);

        for (size_t k = 0; k < 2; k++) {
                struct outcome sliced = load_with(k == 0 ? SLICE_EACH : SLICE_FEW, main_text);

                if (!streq(whole.text, sliced.text))
                        print_message("whole:\n%s\nsliced (%d):\n%s\n", whole.text, (int) k, sliced.text);
                assert_string_equal(whole.text, sliced.text);
                free(sliced.text);
        }
        free(whole.text);
        return whole.r;
}

/* Entries with everything between them that may hide a "}" or a ",": comments of each kind,
 * strings with braces, commas, quotes and comment starts, an entry over several lines. */
static const char list_tricky[] =
        "forward = (\n"
        "  { name = \"a\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 80; to = \"10.0.0.1:80\"; }, # }, {\n"
        "  // a comment { with \"a quote\n"
        "  { name = \"b\"; proto = \"udp\"; port = 53; to = \"10.0.0.2\"; /* }, ( */ },\n"
        "  /* over\n   lines }, { */\n"
        "  {\n    name = \"c\";\n    proto = \"tcp\";\n    port = ( 443, \"8000-8010\" );\n"
        "    to = \"10.0.0.3\";\n    allow_from = [ \"198.51.100.0/24\" ];\n  },\n"
        "  { name = \"d\"; proto = \"tcp\"; port = 25; to = \"10.0.0.4:2525\"; reflection = false; },"
        "  { name = \"e\"; proto = \"tcp\"; port = 21; to = \"10.0.0.5\"; helper = \"ftp\"; }\n"
        ");\n";

static void test_slicer(void **state) {
        struct natgw_conf_slices sl;

        /* One entry per slice: each slice starts at its entry's "{", on its line. */
        assert_int_equal(natgw_conf_slice(list_tricky, SLICE_EACH, &sl), 1);
        assert_int_equal(sl.n, 5);
        assert_int_equal(sl.entries, 5);
        assert_int_equal(sl.v[0].line, 2);
        assert_int_equal(sl.v[1].line, 4);
        assert_int_equal(sl.v[2].line, 7);
        assert_int_equal(sl.v[4].line, 14);
        for (size_t i = 0; i < sl.n; i++) {
                assert_int_equal(sl.v[i].first, i + 1);
                assert_int_equal(sl.v[i].start[0], '{');
                assert_int_equal(sl.v[i].start[sl.v[i].len - 1], '}');
        }
        /* The skeleton keeps every line where it was. */
        assert_string_equal(sl.skeleton, "forward = (\n\n\n\n\n\n\n\n\n\n\n\n\n\n);\n");
        natgw_conf_slices_done(&sl);

        /* A few entries per slice. */
        assert_int_equal(natgw_conf_slice(list_tricky, SLICE_FEW, &sl), 1);
        assert_true(sl.n > 1 && sl.n < 5);
        assert_int_equal(sl.entries, 5);
        natgw_conf_slices_done(&sl);

        /* Too short to be worth it. */
        assert_int_equal(natgw_conf_slice(list_tricky, SLICE_NEVER, &sl), 0);
        assert_null(sl.v);
        assert_null(sl.skeleton);
}

/* What is not a plain list of groups is not sliced (libconfig parses the whole file). */
static void test_not_sliced(void **state) {
        static const char *const texts[] = {
                "forward = ( { name = \"a\"; }, { name = \"b\"; } );\nforward = ( { name = \"c\"; } );\n",
                "x = { forward = ( { name = \"a\"; }, { name = \"b\"; } ); };\n",
                "forward = ( { name = \"a\"; }, { name = \"b\"; }, );\n",
                "forward = ( { name = \"a\"; }, 5, { name = \"b\"; } );\n",
                "forward = ( { name = \"a\"; }, ( 1, 2 ), { name = \"b\"; } );\n",
                "forward = ( { name = \"a\"; } { name = \"b\"; } );\n",
                "forward = ( { name = \"a }; }, { name = \"b\"; } );\n",
                "forward = ( { name = \"a\"; }, /* { name = \"b\"; } );\n",
                "forward = ( { name = \"a\"; ) }, { name = \"b\"; } );\n",
                "forward = [ { name = \"a\"; }, { name = \"b\"; } ];\n",
                "forward = ( { name = \"a\"; }, { name = \"b\"; } ); }\n",
                "forward = ( );\n",
                "forward = 5;\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                struct natgw_conf_slices sl;
                int r = natgw_conf_slice(texts[i], SLICE_EACH, &sl);

                if (r != 0)
                        print_message("sliced: %s", texts[i]);
                assert_int_equal(r, 0);
                /* And the loader says what it says without slices. */
                (void) same_sliced(texts[i]);
        }
}

static void test_same_valid(void **state) {
        _cleanup_(freep) char *text = NULL, *plain = NULL;
        unsigned before = natgw_conf_sliced_files;

        assert_true(asprintf(&plain, "version = 1;\n%s", list_tricky) >= 0);
        assert_int_equal(same_sliced(plain), 0);
        /* Both sliced loads did slice. */
        assert_int_equal(natgw_conf_sliced_files, before + 2);
        /* "forward:" and the other sections around the list. */
        assert_true(asprintf(&text, "version = 1;\nmasquerade = ( { name = \"out\"; out_interface = \"eth1\"; "
                                    "source = \"192.168.0.0/16\"; } );\n%s\nnetmap = ( );\n",
                             list_tricky) >= 0);
        text[strstr(text, "forward =") - text + 8] = ':';
        assert_int_equal(same_sliced(text), 0);
}

/* Every kind of error the entries can have, in several slices: the same errors, lines and labels. */
static void test_same_errors(void **state) {
        static const char text[] =
                "forward = (\n"
                "  { name = \"a\"; proto = \"tcp\"; port = 80; to = \"10.0.0.1\"; },\n"
                "  { name = \"b\"; proto = \"tcp\"; port = 70000; to = \"10.0.0.2\"; },\n"
                "  { proto = \"tcp\"; port = 81; to = \"10.0.0.3\"; },\n"
                "  { name = \"a\"; proto = \"tcp\"; port = 82; to = \"10.0.0.4\"; },\n"
                "  { name = \"c\"; proto = \"tcp\"; port = 83; to = \"10.0.0.5\"; colour = \"red\"; },\n"
                "  { name = \"d\"; proto = 6; port = 84; to = \"10.0.0.6\"; },\n"
                "  { name = \"e\"; proto = \"tcp\"; port = 80; to = \"10.0.0.7\"; },\n"
                "  { name = \"bad name!\"; proto = \"tcp\"; port = 86; to = \"10.0.0.8\"; },\n"
                "  { name = \"b}r{a(c)e,s\\\"\"; proto = \"tcp\"; port = 87; to = \"10.0.0.8\"; },\n"
                "  { name = \"f\"; proto = \"tcp\"; port = 5000000000; to = \"10.0.0.9\"; }\n"
                ");\n";
        unsigned before = natgw_conf_sliced_files;

        assert_int_equal(same_sliced(text), -EINVAL);
        /* Sliced, the string with braces, a comma and a quote inside too. */
        assert_int_equal(natgw_conf_sliced_files, before + 2);
}

/* A syntax error in one slice: the whole file's error, and nothing of the slices before it. */
static void test_same_syntax_error(void **state) {
        static const char *const texts[] = {
                "forward = (\n  { name = \"a\"; port = 80; },\n  { name = \"b\"; port = ; },\n  { name = \"c\"; }\n);\n",
                "forward = (\n  { name = \"a\"; port = 80; },\n  { name = \"b\"; name = \"b\"; },\n  { name = \"c\"; }\n);\n",
                "forward = (\n  { name = \"a\"; port = 80; },\n  { name = \"b\" port = 1; },\n  { name = \"c\"; }\n);\n",
                "version = ;\nforward = (\n  { name = \"a\"; port = 80; },\n  { name = \"c\"; }\n);\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(texts); i++)
                assert_int_equal(same_sliced(texts[i]), -EINVAL);
}

/* Drop-ins in slices: names across files and slices, FILE:LINE of each error. */
static void test_same_dropins(void **state) {
        unsigned before = natgw_conf_sliced_files;
        char main_text[256];

        snprintf(main_text, sizeof(main_text), "version = 1;\ninclude_dir = \"d\";\n%s",
                 "forward = ( { name = \"m\"; proto = \"tcp\"; port = 1; to = \"10.0.1.1\"; },\n"
                 "            { name = \"n\"; proto = \"tcp\"; port = 2; to = \"10.0.1.2\"; } );\n");
        put("d/10-a.conf", list_tricky);
        assert_int_equal(same_sliced(main_text), 0);
        /* The drop-in's list in each sliced load, the main file's short one with one entry a slice. */
        assert_int_equal(natgw_conf_sliced_files, before + 3);
        /* A name of the main file again in a drop-in, a port of another drop-in again. */
        put("d/20-b.conf", "forward = (\n  { name = \"x\"; proto = \"udp\"; port = 9; to = \"10.0.2.1\"; },\n"
                           "  { name = \"m\"; proto = \"udp\"; port = 10; to = \"10.0.2.2\"; },\n"
                           "  { name = \"y\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 80; to = \"10.0.2.3\"; }\n);\n");
        assert_int_equal(same_sliced(main_text), -EINVAL);
        /* A syntax error in a later slice of 10-a.conf: the names of its first slice do not count
         * (20-b.conf's "a" is no duplicate; only the syntax error is reported). */
        put("d/10-a.conf", "forward = (\n  { name = \"a\"; proto = \"tcp\"; port = 3; to = \"10.0.3.1\"; },\n"
                           "  { name = \"z\"; proto = \"tcp\"; port = ; }\n);\n");
        put("d/20-b.conf", "forward = ( { name = \"a\"; proto = \"udp\"; port = 9; to = \"10.0.2.1\"; } );\n");
        assert_int_equal(same_sliced(main_text), -EINVAL);
}

/* A list of @n entries named e0, e1, ..., one a line after "forward = (", and a syntax error in
 * entry @bad (none: -1). */
static char *numbered_list(int n, int bad) {
        char *t = strdup("forward = (\n");

        assert_non_null(t);
        for (int i = 0; i < n; i++)
                append(&t, "  { name = \"e%d\"; proto = \"tcp\"; port = %s; to = \"10.0.0.1\"; }%s\n", i,
                       i == bad ? "" : "80", i + 1 < n ? "," : "");
        append(&t, ");\n");
        return t;
}

/* Read @text's slices (one entry each) through a reader: each tree is its slice's, in order, and
 * each slice at its entry's line of the file; NULL with -EINVAL at entry @bad. Returns the slices
 * read. */
static int read_all(const char *text, int n, int bad) {
        struct natgw_conf_slice_reader *rd;
        struct natgw_conf_slices sl;
        int i = 0, r;

        assert_int_equal(natgw_conf_slice(text, SLICE_EACH, &sl), 1);
        assert_int_equal((int) sl.n, n);
        assert_int_equal(natgw_conf_slice_reader_new(&sl, &rd), 0);
        for (;; i++) {
                const config_t *cfg = natgw_conf_slice_reader_next(rd, &r);
                const config_setting_t *list, *e;
                const char *name = NULL;
                char want[16];

                if (!cfg)
                        break;
                list = config_lookup(cfg, "forward");
                assert_non_null(list);
                assert_int_equal(config_setting_length(list), 1);
                e = config_setting_get_elem(list, 0);
                assert_true(config_setting_lookup_string(e, "name", &name));
                snprintf(want, sizeof(want), "e%d", i);
                assert_string_equal(name, want);
                /* The slice's lines start at 1; the loader adds where the slice starts. */
                assert_int_equal(config_setting_source_line(e), 1);
                assert_int_equal(sl.v[i].line, i + 2);
        }
        assert_int_equal(r, i == bad ? -EINVAL : 0);
        natgw_conf_slice_reader_free(rd);
        natgw_conf_slices_done(&sl);
        return i;
}

/* The reader hands out every slice's tree in order, whichever thread parsed it; and stops at a slice
 * libconfig refuses, with the trees of both threads freed (valgrind and ASan check that). */
static void test_reader(void **state) {
        _cleanup_(freep) char *text = numbered_list(300, -1), *bad = numbered_list(300, 250);
        unsigned before, helped;
        size_t in_regions = natgwd_tree_alloc_count();

        /* Without a thread the caller parses every slice itself. */
        natgw_conf_slice_thread = false;
        before = natgw_conf_slices_by_caller;
        assert_int_equal(read_all(text, 300, -1), 300);
        assert_int_equal(natgw_conf_slices_by_caller - before, 300);
        assert_int_equal(read_all(bad, 300, 250), 250);
        natgw_conf_slice_thread = true;

        /* With the reader's thread and the helper: the order is the same however the two share
         * the slices, and the caller parses none itself. */
        before = natgw_conf_slices_by_caller;
        helped = natgw_conf_slices_helped;
        for (int k = 0; k < 20; k++) {
                assert_int_equal(read_all(text, 300, -1), 300);
                assert_int_equal(read_all(bad, 300, 250), 250);
        }
        assert_int_equal(natgw_conf_slices_by_caller, before);
        print_message("the helper parsed %u of about %d slices\n", natgw_conf_slices_helped - helped, 20 * 550);
        /* With natgwd's regions every tree was in one (a one-entry slice's tree is more than 10
         * allocations). There are none under ASan and valgrind, which replace malloc(). */
        if (natgw_conf_tree_alloc)
                assert_true(natgwd_tree_alloc_count() - in_regions >= 21 * 550 * 10);
        else
                assert_int_equal(natgwd_tree_alloc_count(), in_regions);
        /* And a reader freed before its last slice. */
        {
                struct natgw_conf_slice_reader *rd;
                struct natgw_conf_slices sl;
                int r;

                assert_int_equal(natgw_conf_slice(text, SLICE_EACH, &sl), 1);
                assert_int_equal(natgw_conf_slice_reader_new(&sl, &rd), 0);
                for (int i = 0; i < 10; i++)
                        assert_non_null(natgw_conf_slice_reader_next(rd, &r));
                natgw_conf_slice_reader_free(rd);
                natgw_conf_slices_done(&sl);
        }
}

static int with_regions(void **state) {
        (void)state;
        natgw_conf_tree_alloc = natgwd_tree_alloc_setup();
        return 0;
}

static int without_regions(void **state) {
        (void)state;
        natgw_conf_tree_alloc = NULL;
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_slicer, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_sliced, setup, teardown),
                cmocka_unit_test_setup_teardown(test_same_valid, setup, teardown),
                cmocka_unit_test_setup_teardown(test_same_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_same_syntax_error, setup, teardown),
                cmocka_unit_test_setup_teardown(test_same_dropins, setup, teardown),
                cmocka_unit_test(test_reader),
        };

        int failed;

        /* The trees in malloc's heap (natgwctl, natgwd under ASan), then in natgwd's regions. */
        failed = cmocka_run_group_tests_name("malloc", tests, without_regions, NULL);
        return failed + cmocka_run_group_tests_name("regions", tests, with_regions, without_regions);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * include_dir: which names are drop-ins and in what order, a config of a main file and drop-ins
 * (entries, FILE:LINE of each error, names across files, what a drop-in may hold, a directory
 * or a file that cannot be read), and the checksums shown for each file.
 */

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <cmocka.h>

#include "conf-dropin.h"
#include <unistd.h>

#include "conf.h"
#include "util.h"

#include "conf-test.h"

static char dir[64];            /* a fresh temporary directory per test */
static char confd[128];      /* dir/natgwd.conf.d */

static void put(const char *name, const char *text) {
        put_file(confd, name, text);
}

static void unlink_file(const char *name) {
        char p[PATH_MAX + 64];

        snprintf(p, sizeof(p), "%s/%s", confd, name);
        assert_int_equal(unlink(p), 0);
}

static int setup(void **state) {
        return tmpdir_make(dir, "dropin", "natgwd.conf.d", confd);
}

static int teardown(void **state) {
        return tmpdir_remove(dir);
}

/* The main file names the directory by a path relative to itself. */
static const char main_text[] =
        "version = 1;\n"
        "include_dir = \"natgwd.conf.d\";\n"
        "forward = ( { name = \"main\"; proto = \"tcp\"; port = 80; to = \"192.168.1.1\"; } );\n";

/* Load main_text as dir/natgwd.conf. */
static int load(struct natgw_config **ret, struct natgw_errors *errors) {
        char path[PATH_MAX + 16];

        snprintf(path, sizeof(path), "%s/natgwd.conf", dir);
        return natgw_config_load_string(main_text, path, ret, errors);
}

/* @s with every "%DIR%" replaced by the test's directory (a new string). */
static char *subst_dir(const char *s) {
        char *out = malloc(strlen(s) * 2 + PATH_MAX), *o = out;

        assert_non_null(out);
        while (*s)
                if (strncmp(s, "%DIR%", 5) == 0) {
                        o = stpcpy(o, dir);
                        s += 5;
                } else
                        *o++ = *s++;
        *o = 0;
        return out;
}

/* The errors of loading main_text, as "FILE:LINE: ..." with dir/ left out (and %DIR% standing for
 * it elsewhere), must be @expected. */
static void expect(const char *const *expected) {
        struct natgw_errors errors = {};
        struct natgw_config *c = SENTINEL;
        size_t n, skip = strlen(dir) + 1;
        int r;

        r = load(&c, &errors);
        n = assert_refused(r, c, &errors, expected);
        for (size_t i = 0; i < n; i++) {
                _cleanup_(freep) char *s = natgw_error_format(&errors.v[i]);
                _cleanup_(freep) char *want = subst_dir(expected[i]);

                assert_true(strncmp(s, dir, skip - 1) == 0);
                assert_string_equal(s + skip, want);
        }
        natgw_errors_clear(&errors);
}

#define EXPECT(...) expect((const char *const[]) { __VA_ARGS__, NULL })

static void test_wanted(void **state) {
        static const char *const yes[] = { "a.conf", "10-web.conf", "x.y.conf", "tenant 7.conf", NULL };
        static const char *const no[] = {
                "a.conf~", ".#a.conf", "#a.conf#", "a.conf.dpkg-old", "a.conf.dpkg-new", "a.conf.dpkg-dist",
                "a.conf.rpmnew", "a.conf.rpmsave", ".hidden.conf", ".conf", "a.cnf", "a.CONF", "a.conf.swp",
                ".a.conf.swp", "a.conf.bak", "conf", NULL,
        };

        for (const char *const *p = yes; *p; p++)
                assert_true(natgw_conf_dropin_wanted(*p));
        for (const char *const *p = no; *p; p++)
                assert_false(natgw_conf_dropin_wanted(*p));
}

static void test_list_order(void **state) {
        _cleanup_(natgw_conf_dropin_freep) char **v = NULL;
        size_t n = 0;

        /* Byte order: digits before capitals before small letters; "a.conf" before "a0.conf". */
        put("b.conf", "");
        put("a0.conf", "");
        put("a.conf", "");
        put("B.conf", "");
        put("10.conf", "");
        put("9.conf", "");
        put("a.conf~", "");
        put(".#a.conf", "");
        assert_int_equal(natgw_conf_dropin_list(confd, &v, &n), 0);
        assert_int_equal(n, 6);
        assert_string_equal(v[0], "10.conf");
        assert_string_equal(v[1], "9.conf");
        assert_string_equal(v[2], "B.conf");
        assert_string_equal(v[3], "a.conf");
        assert_string_equal(v[4], "a0.conf");
        assert_string_equal(v[5], "b.conf");
        assert_null(v[6]);
}

static void test_entries_in_order(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL;
        struct natgw_errors errors = {};

        put("20-b.conf", "forward = ( { name = \"b\"; proto = \"udp\"; port = 53; to = \"192.168.1.3\"; } );\n"
                         "snat = ( { name = \"sb\"; source = \"10.2.0.0/16\"; out_interface = \"eth0\";\n"
                         "  to = \"203.0.113.2\"; } );\n");
        put("10-a.conf", "\n"
                         "masquerade = ( { name = \"ma\"; source = \"10.1.0.0/16\"; out_interface = \"eth0\"; } );\n"
                         "forward = ( { name = \"a\"; proto = \"tcp\"; port = 22; to = \"192.168.1.2\"; } );\n");
        put("10-a.conf~", "this is no config");
        assert_int_equal(load(&c, &errors), 0);
        assert_int_equal(errors.n, 0);
        /* Masquerade first, then snat, then forwards: each from the main file, then each drop-in. */
        assert_int_equal(c->n_egress, 2);
        assert_string_equal(c->egress[0].name, "ma");
        assert_int_equal(c->egress[0].line, 2);
        assert_string_equal(c->egress[0].file + strlen(dir), "/natgwd.conf.d/10-a.conf");
        assert_string_equal(c->egress[1].name, "sb");
        assert_int_equal(c->n_forwards, 3);
        assert_string_equal(c->forwards[0].name, "main");
        assert_string_equal(c->forwards[0].file + strlen(dir), "/natgwd.conf");
        assert_string_equal(c->forwards[1].name, "a");
        assert_int_equal(c->forwards[1].line, 3);
        assert_string_equal(c->forwards[2].name, "b");
        assert_string_equal(c->forwards[2].file + strlen(dir), "/natgwd.conf.d/20-b.conf");
        assert_int_equal(c->n_files, 3);
        assert_string_equal(c->files[1].path + strlen(dir), "/natgwd.conf.d/10-a.conf");
        assert_string_equal(c->include_dir + strlen(dir), "/natgwd.conf.d");
}

static void test_empty_dir(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL;
        struct natgw_errors errors = {};

        assert_int_equal(load(&c, &errors), 0);
        assert_int_equal(c->n_forwards, 1);
        assert_int_equal(c->n_files, 1);
}

static void test_errors_located(void **state) {
        put("b.conf", "forward = (\n"
                      "  { name = \"b\"; proto = \"tcp\"; port = 99999; to = \"192.168.1.3\"; } );\n");
        put("a.conf", "forward = ( { name = \"a\"; proto = \"tcp\"; port = 22; to = \"192.168.1.2\"; wat = 1; } );\n");
        EXPECT("natgwd.conf.d/a.conf:1: entry \"a\": unknown key \"wat\"",
               "natgwd.conf.d/b.conf:2: entry \"b\": port 99999 is out of range 1-65535");
}

static void test_syntax_error_located(void **state) {
        put("a.conf", "forward = ( { name = \"a\"; proto = \"tcp\"; port = 22; to = \"192.168.1.2\"; } );\n");
        put("b.conf", "\n\nforward = ( { name = \"b\" } \n");
        EXPECT("natgwd.conf.d/b.conf:4: syntax error");
}

static void test_duplicate_names(void **state) {
        put("a.conf", "\nforward = ( { name = \"main\"; proto = \"tcp\"; port = 22; to = \"192.168.1.2\"; } );\n");
        put("b.conf", "masquerade = ( { name = \"x\"; source = \"10.1.0.0/16\"; out_interface = \"eth0\"; } );\n"
                      "forward = ( { name = \"x\"; proto = \"tcp\"; port = 23; to = \"192.168.1.2\"; } );\n");
        EXPECT("natgwd.conf.d/a.conf:2: entry \"main\": name already used by the entry at %DIR%/natgwd.conf:3",
               "natgwd.conf.d/b.conf:2: entry \"x\": name already used by the entry at line 1");
}

static void test_overlap_across_files(void **state) {
        char want[2 * PATH_MAX];

        put("a.conf", "forward = ( { name = \"a\"; proto = \"tcp\"; port = 80; to = \"192.168.1.2\"; } );\n");
        snprintf(want, sizeof(want), "natgwd.conf.d/a.conf:1: entry \"a\": overlaps entry \"main\" (%s/natgwd.conf:3) "
                 "on tcp port 80", dir);
        expect((const char *const[]) { want, NULL });
}

/* netmap entries in drop-ins: loaded, their names shared with every file, their overlaps with
 * an entry of another file located in both. */
static void test_netmap_dropins(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL;
        struct natgw_errors errors = {};

        put("a.conf", "netmap = ( { name = \"dmz\"; interface = \"eth0\"; inside = \"192.168.5.0/28\"; "
                      "outside = \"203.0.113.32/28\"; } );\n");
        assert_int_equal(load(&c, &errors), 0);
        assert_int_equal(c->n_netmaps, 1);
        assert_string_equal(c->netmaps[0].name, "dmz");
        assert_non_null(strstr(c->netmaps[0].file, "natgwd.conf.d/a.conf"));
        put("b.conf", "\nnetmap = ( { name = \"main\"; interface = \"eth0\"; inside = \"192.168.6.0/28\"; "
                      "outside = \"203.0.113.40/29\"; } );\n");
        put("c.conf", "netmap = ( { name = \"dmz2\"; interface = \"eth0\"; inside = \"192.168.7.0/28\"; "
                      "outside = \"203.0.113.32/28\"; } );\n");
        EXPECT("natgwd.conf.d/b.conf:2: entry \"main\": outside 203.0.113.40/29 and inside 192.168.6.0/28 differ in "
               "length (/29 and /28): a netmap maps each address to the one at the same offset, so both must be as long",
               "natgwd.conf.d/b.conf:2: entry \"main\": name already used by the entry at %DIR%/natgwd.conf:3",
               "natgwd.conf.d/c.conf:1: entry \"dmz2\": outside 203.0.113.32/28 on \"eth0\" overlaps outside "
               "203.0.113.32/28 of netmap entry \"dmz\" (%DIR%/natgwd.conf.d/a.conf:1)");
}

static void test_keys_not_allowed(void **state) {
        put("a.conf", "version = 1;\n"
                      "kernel = { ip_forward = true; };\n"
                      "include_dir = \"/etc\";\n"
                      "forwards = ();\n"
                      "forward = ( { name = \"a\"; proto = \"tcp\"; port = 22; to = \"192.168.1.2\"; } );\n");
        EXPECT("natgwd.conf.d/a.conf:1: \"version\" is not allowed in a drop-in file (drop-ins hold only "
               "masquerade, snat, forward and netmap lists)",
               "natgwd.conf.d/a.conf:2: \"kernel\" is not allowed in a drop-in file (drop-ins hold only "
               "masquerade, snat, forward and netmap lists)",
               "natgwd.conf.d/a.conf:3: \"include_dir\" is not allowed in a drop-in file (drop-ins hold only "
               "masquerade, snat, forward and netmap lists)",
               "natgwd.conf.d/a.conf:4: unknown key \"forwards\"");
}

static void test_directory_missing(void **state) {
        char cmd[PATH_MAX + 32];

        snprintf(cmd, sizeof(cmd), "rmdir '%s'", confd);
        assert_int_equal(system(cmd), 0);
        EXPECT("natgwd.conf:2: include_dir \"%DIR%/natgwd.conf.d\": No such file or directory");
}

static void test_not_a_directory(void **state) {
        char cmd[PATH_MAX + 32];

        snprintf(cmd, sizeof(cmd), "rmdir '%s' && touch '%s'", confd, confd);
        assert_int_equal(system(cmd), 0);
        EXPECT("natgwd.conf:2: include_dir \"%DIR%/natgwd.conf.d\": Not a directory");
}

static void test_not_regular(void **state) {
        char p[PATH_MAX + 32];

        snprintf(p, sizeof(p), "%s/fifo.conf", confd);
        assert_int_equal(mkfifo(p, 0600), 0);
        snprintf(p, sizeof(p), "%s/dir.conf", confd);
        assert_int_equal(mkdir(p, 0700), 0);
        EXPECT("natgwd.conf.d/dir.conf: cannot read: Is a directory",
               "natgwd.conf.d/fifo.conf: cannot read: not a regular file");
}

static void test_symlinks(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL;
        struct natgw_errors errors = {};
        char target[PATH_MAX + 32], link[PATH_MAX + 32];

        /* A symlink is followed: the drop-in is what it points to, under the link's name. */
        snprintf(target, sizeof(target), "%s/elsewhere", dir);
        snprintf(link, sizeof(link), "%s/a.conf", confd);
        {
                FILE *f = fopen(target, "w");

                assert_non_null(f);
                fputs("forward = ( { name = \"a\"; proto = \"tcp\"; port = 22; to = \"192.168.1.2\"; } );\n", f);
                assert_int_equal(fclose(f), 0);
        }
        assert_int_equal(symlink(target, link), 0);
        assert_int_equal(load(&c, &errors), 0);
        assert_int_equal(c->n_forwards, 2);
        assert_string_equal(c->forwards[1].file, link);

        /* One that points nowhere is refused like a file that cannot be read. */
        assert_int_equal(unlink(target), 0);
        EXPECT("natgwd.conf.d/a.conf: cannot read: No such file or directory");
}

/*
 * Root reads any file: CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH bypass the mode bits. Take
 * them out of the effective set (@on false) and put them back (they stay permitted), so that
 * the tests of unreadable files and directories run as root too (as CI runs them).
 */
static void dac_bypass(bool on) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};
        uint32_t bits = 1U << CAP_DAC_OVERRIDE | 1U << CAP_DAC_READ_SEARCH;

        assert_int_equal(syscall(SYS_capget, &h, d), 0);
        if (on)
                d[0].effective |= bits & d[0].permitted;
        else
                d[0].effective &= ~bits;
        assert_int_equal(syscall(SYS_capset, &h, d), 0);
}

static void test_unreadable(void **state) {
        char p[PATH_MAX + 32];

        snprintf(p, sizeof(p), "%s/a.conf", confd);
        put("a.conf", "");
        assert_int_equal(chmod(p, 0), 0);
        dac_bypass(false);
        EXPECT("natgwd.conf.d/a.conf: cannot read: Permission denied");
        dac_bypass(true);
}

static void test_directory_unreadable(void **state) {
        put("a.conf", "");
        assert_int_equal(chmod(confd, 0), 0);
        dac_bypass(false);
        EXPECT("natgwd.conf:2: include_dir \"%DIR%/natgwd.conf.d\": Permission denied");
        dac_bypass(true);
        assert_int_equal(chmod(confd, 0755), 0);
}

/* Empty drop-ins FROM.conf .. (TO - 1).conf, five digits each. */
static void put_empty(unsigned from, unsigned to) {
        char p[PATH_MAX + 32];
        int fd;

        for (unsigned i = from; i < to; i++) {
                snprintf(p, sizeof(p), "%s/%05u.conf", confd, i);
                fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                assert_true(fd >= 0);
                close(fd);
        }
}

/* 10,000 drop-ins are read; one more refuses the config at the include_dir line. */
static void test_too_many(void **state) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL;
        struct natgw_errors errors = {};

        put_empty(0, NATGW_DROPIN_MAX);
        put("a.conf~", ""); /* what is not a drop-in does not count */
        assert_int_equal(load(&c, &errors), 0);
        assert_int_equal(errors.n, 0);
        assert_int_equal(c->n_files, 1 + NATGW_DROPIN_MAX);
        assert_string_equal(c->files[NATGW_DROPIN_MAX].path + strlen(dir), "/natgwd.conf.d/09999.conf");
        put_empty(NATGW_DROPIN_MAX, NATGW_DROPIN_MAX + 1);
        EXPECT("natgwd.conf:2: include_dir \"%DIR%/natgwd.conf.d\": more than 10000 drop-in files");
}

static void test_include_dir_value(void **state) {
        EXPECT_ERRORS("version = 1; include_dir = 5;\n",
                      "test.conf:1: wrong type for \"include_dir\": expected a string (a directory), got an integer");
        EXPECT_ERRORS("version = 1; include_dir = \"\";\n",
                      "test.conf:1: \"include_dir\" must name a directory, got \"\"");
}

/* Load dir/natgwd.conf (main_text, written to disk) with @old as the config in force. */
static struct natgw_config *load_cached(const struct natgw_config *old) {
        put_file(dir, "natgwd.conf", main_text);
        return load_dir_ok(dir, old);
}

/* The forward named @name of @c: its port and the file it was read from (NULL: none). */
static int port_of(const struct natgw_config *c, const char *name, const char **ret_file) {
        for (size_t i = 0; i < c->n_forwards; i++)
                if (streq(c->forwards[i].name, name)) {
                        *ret_file = c->forwards[i].file;
                        return c->forwards[i].ports[0].lo;
                }
        return -1;
}

static void assert_port(const struct natgw_config *c, const char *name, int port) {
        const char *file = NULL;
        bool owned = false;

        assert_int_equal(port_of(c, name, &file), port);
        /* A copy points at the new model's own file name, not the old one's. */
        for (size_t i = 0; i < c->n_files; i++)
                owned |= file == c->files[i].path;
        assert_true(owned);
}

#define FWD(name, port) "forward = ( { name = \"" name "\"; proto = \"tcp\"; port = " port "; to = \"192.168.1.2\"; } );\n"

/* The cache of unchanged drop-ins is never stale. */
static void test_cache(void **state) {
        struct natgw_config *c[8] = {};
        char a[PATH_MAX], b[PATH_MAX], t1[PATH_MAX], t2[PATH_MAX], link[PATH_MAX], tmp[PATH_MAX];
        struct stat st;
        size_t n = 0;
        FILE *f;

        snprintf(a, sizeof(a), "%s/a.conf", confd);
        snprintf(b, sizeof(b), "%s/b.conf", confd);
        snprintf(link, sizeof(link), "%s/c.conf", confd);
        snprintf(t1, sizeof(t1), "%s/t1", dir);
        snprintf(t2, sizeof(t2), "%s/t2", dir);
        put("a.conf", FWD("a", "22"));
        put("b.conf", FWD("b", "23"));
        f = fopen(t1, "w");
        assert_non_null(f);
        fputs(FWD("c", "26"), f);
        assert_int_equal(fclose(f), 0);
        f = fopen(t2, "w");
        assert_non_null(f);
        fputs(FWD("c", "27"), f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(symlink(t1, link), 0);
        /* Files younger than the file system's time resolution are never trusted by their times. */
        sleep(3);

        c[n++] = load_cached(NULL);
        assert_int_equal(c[0]->n_files, 4);
        assert_true(c[0]->files[1].identity);
        for (size_t i = 0; i < 4; i++) {
                uint8_t d[NATGW_SHA256_SIZE];

                assert_false(c[0]->files[i].hash_pending);
                natgw_sha256(c[0]->texts[i], strlen(c[0]->texts[i]), d);
                assert_memory_equal(c[0]->files[i].sha256, d, sizeof(d));
        }

        /* Nothing changed: no drop-in is read, the entries are the same. */
        c[n++] = load_cached(c[0]);
        for (size_t i = 1; i < 4; i++)
                assert_null(c[1]->texts[i]);
        assert_port(c[1], "a", 22);
        assert_port(c[1], "b", 23);
        assert_port(c[1], "c", 26);
        assert_memory_equal(c[1]->files[1].sha256, c[0]->files[1].sha256, NATGW_SHA256_SIZE);

        /* Same size, same inode, the mtime put back: the content is read again. */
        assert_int_equal(stat(a, &st), 0);
        put("a.conf", FWD("a", "24"));
        assert_int_equal(utimensat(AT_FDCWD, a, (const struct timespec[]) { st.st_atim, st.st_mtim }, 0), 0);
        c[n++] = load_cached(c[1]);
        assert_port(c[2], "a", 24);
        assert_non_null(c[2]->texts[1]);
        assert_null(c[2]->texts[2]);

        /* Replaced by a rename (as editors and configuration management write). */
        snprintf(tmp, sizeof(tmp), "%s/b.tmp", confd);
        put("b.tmp", FWD("b", "25"));
        assert_int_equal(rename(tmp, b), 0);
        c[n++] = load_cached(c[2]);
        assert_port(c[3], "b", 25);
        assert_port(c[3], "a", 24);

        /* Written again with the same text (a new inode, a new time): read, and by its hash
         * taken from the cache, not parsed. */
        put("b.tmp", FWD("b", "25"));
        assert_int_equal(rename(tmp, b), 0);
        c[n++] = load_cached(c[3]);
        assert_non_null(c[4]->texts[2]);
        assert_true(c[4]->files[2].cached);
        assert_port(c[4], "b", 25);
        n--;
        natgw_config_free(c[n]);
        c[n] = NULL;

        /* A symlink pointed elsewhere. */
        snprintf(tmp, sizeof(tmp), "%s/c.tmp", confd);
        assert_int_equal(symlink(t2, tmp), 0);
        assert_int_equal(rename(tmp, link), 0);
        c[n++] = load_cached(c[3]);
        assert_port(c[4], "c", 27);

        /* A drop-in removed takes its entries along. */
        assert_int_equal(unlink(b), 0);
        c[n++] = load_cached(c[4]);
        assert_int_equal(c[5]->n_forwards, 3);
        assert_int_equal(port_of(c[5], "b", &(const char *){ NULL }), -1);

        while (n > 0)
                natgw_config_free(c[--n]);
}

/* The errors of loading main_text with @old as the config in force (must fail), one per line. */
static void load_fails(const struct natgw_config *old, char *buf, size_t size) {
        struct natgw_errors errors = {};
        struct natgw_config *c = NULL;
        char path[PATH_MAX];
        size_t off = 0;

        snprintf(path, sizeof(path), "%s/natgwd.conf", dir);
        assert_int_equal(natgw_config_load_file_cached(path, old, &c, &errors), -EINVAL);
        assert_null(c);
        buf[0] = 0;
        for (size_t i = 0; i < errors.n && off < size; i++)
                off += (size_t)snprintf(buf + off, size - off, "%s:%u: %s\n", errors.v[i].file, errors.v[i].line,
                                        errors.v[i].message);
        natgw_errors_clear(&errors);
}

/* As natgwd reloads: the config loaded from @c replaces it, which is freed. */
static struct natgw_config *reload_cached(struct natgw_config *c) {
        struct natgw_config *next = load_cached(c);

        natgw_config_take_entries(next, c);
        natgw_config_free(c);
        return next;
}

/* A reload from @old fails as a load from scratch does, with the same errors, one of which
 * has @what in it. */
static void fails_alike(const struct natgw_config *old, const char *what) {
        char fresh[2048], cached[2048];

        load_fails(NULL, fresh, sizeof(fresh));
        load_fails(old, cached, sizeof(cached));
        assert_string_equal(cached, fresh);
        assert_non_null(strstr(cached, what));
}

/*
 * As natgwd reloads: each config replaces the one before, which is freed (the entries of
 * unchanged drop-ins are handed over, not copied). A reload whose changed drop-in collides with
 * an unchanged one is refused with the errors of a load from scratch, the config in force intact.
 */
static void test_cache_handover(void **state) {
        struct natgw_config *c;

        put("a.conf", FWD("a", "22"));
        put("b.conf", FWD("b", "23"));
        c = load_cached(NULL);
        c = reload_cached(c);
        assert_port(c, "b", 23);

        put("a.conf", FWD("b", "24"));
        fails_alike(c, "b.conf:1");
        put("a.conf", FWD("a2", "23"));
        fails_alike(c, "b.conf:1: overlaps entry \"a2\"");
        assert_port(c, "a", 22);
        assert_port(c, "b", 23);

        /* A changed drop-in's netmap is checked as on a first load: its name against every
         * entry, its prefixes against the other netmaps. */
        put("a.conf", FWD("a", "22"));
        put("n.conf", "netmap = ( { name = \"nm\"; interface = \"eth0\"; inside = \"192.168.5.0/28\"; "
                      "outside = \"203.0.113.32/28\"; } );\n");
        put("m.conf", "netmap = ( { name = \"b\"; interface = \"eth0\"; inside = \"192.168.6.0/28\"; "
                      "outside = \"203.0.113.64/28\"; } );\n");
        fails_alike(c, "m.conf:1");
        put("m.conf", "netmap = ( { name = \"nm2\"; interface = \"eth0\"; inside = \"192.168.6.0/28\"; "
                      "outside = \"203.0.113.40/29\"; } );\n");
        fails_alike(c, "m.conf:1");
        put("m.conf", "netmap = ( { name = \"nm\"; interface = \"eth0\"; inside = \"192.168.6.0/28\"; "
                      "outside = \"203.0.113.64/28\"; } );\n");
        fails_alike(c, "m.conf:1");
        unlink_file("m.conf");
        unlink_file("n.conf");

        /* An unchanged drop-in's egress entry: a changed one's names and sources are checked
         * against it too. */
        put("e.conf", "masquerade = ( { name = \"me\"; source = \"10.1.0.0/16\"; out_interface = \"eth0\"; } );\n");
        c = reload_cached(c);
        put("a.conf", FWD("me", "22"));
        fails_alike(c, "e.conf:1");
        put("a.conf", "masquerade = ( { name = \"a\"; source = \"10.1.0.0/16\"; out_interface = \"eth0\"; } );\n");
        fails_alike(c, "10.1.0.0/16");
        unlink_file("e.conf");

        put("a.conf", FWD("a", "25"));
        c = reload_cached(c);
        assert_port(c, "a", 25);
        assert_port(c, "b", 23);
        assert_false(c->forwards[0].borrowed || c->forwards[1].borrowed);
        natgw_config_free(c);
}

/* a.conf with six forwards on ports 30-35, the one at @at named @name on port @port instead. */
static void put_six(unsigned at, const char *name, const char *port) {
        char text[1024];
        size_t off = (size_t)snprintf(text, sizeof(text), "forward = (");

        for (unsigned i = 0; i < 6; i++) {
                char n[16], p[16];

                snprintf(n, sizeof(n), "a%u", i);
                snprintf(p, sizeof(p), "%u", 30 + i);
                off += (size_t)snprintf(text + off, sizeof(text) - off,
                                        "%s { name = \"%s\"; proto = \"tcp\"; port = %s; to = \"192.168.1.2\"; }",
                                        i ? "," : "", i == at ? name : n, i == at ? port : p);
        }
        snprintf(text + off, sizeof(text) - off, " );\n");
        put("a.conf", text);
}

/* A changed drop-in of more than a few entries is checked by hash and by port (conf-validate-
 * changed.c): the same conflicts are found as with one, and reported as a load from scratch
 * reports them. */
static void test_cache_many_new(void **state) {
        /* The forward of a.conf changed, and the error a load from scratch reports of it. */
        static const struct {
                unsigned at;
                const char *name, *port, *what;
        } clash[] = {
                { 3, "b", "40", "b.conf:1" },                  /* a forward's name */
                { 3, "me", "40", "e.conf:1" },                 /* an egress entry's */
                { 3, "nm", "40", "n.conf:1" },                 /* a netmap's */
                { 3, "a1", "40", "a.conf:1" },                 /* another new one's */
                { 3, "main", "40", "natgwd.conf:3" },          /* the main file's */
                { 3, "x", "23", "overlaps entry" },            /* b's port */
                { 5, "x", "\"20-23\"", "overlaps entry" },     /* a range that ends there */
                { 5, "x", "\"23-29\"", "overlaps entry" },     /* ... that starts there */
                { 0, "x", "\"31-33\"", "overlaps entry" },     /* new ones' ports */
        };
        struct natgw_config *c;

        put_six(9, NULL, NULL);
        put("b.conf", FWD("b", "23"));
        put("e.conf", "masquerade = ( { name = \"me\"; source = \"10.1.0.0/16\"; out_interface = \"eth0\"; } );\n");
        put("n.conf", "netmap = ( { name = \"nm\"; interface = \"eth0\"; inside = \"192.168.5.0/28\"; "
                      "outside = \"203.0.113.32/28\"; } );\n");
        c = load_cached(NULL);

        for (size_t i = 0; i < ELEMENTSOF(clash); i++) {
                put_six(clash[i].at, clash[i].name, clash[i].port);
                fails_alike(c, clash[i].what);
        }
        /* A new netmap and a new egress entry among many new entries: their names too. */
        put_six(3, "a9", "40");
        put("m.conf", "netmap = ( { name = \"nm\"; interface = \"eth0\"; inside = \"192.168.6.0/28\"; "
                      "outside = \"203.0.113.64/28\"; } );\n");
        fails_alike(c, "m.conf:1");
        unlink_file("m.conf");
        put("m.conf", "masquerade = ( { name = \"b\"; source = \"10.2.0.0/16\"; out_interface = \"eth0\"; } );\n");
        fails_alike(c, "m.conf:1");
        unlink_file("m.conf");

        /* Without a conflict the fast check passes it, whatever its ports and names. */
        put_six(5, "x", "\"24-29\"");
        c = reload_cached(c);
        assert_port(c, "x", 24);
        assert_port(c, "b", 23);
        natgw_config_free(c);
}

/* Drop-in @k of test_cache_many() in version @v (0: absent): a few forwards, and now and then
 * masquerade, snat and netmap entries, each named after the file (unique across files). */
static void many_put(unsigned k, unsigned v) {
        char name[32], text[2048];
        size_t off = 0;

        snprintf(name, sizeof(name), "t%03u.conf", k);
        if (v == 0) {
                char p[PATH_MAX + 64];

                snprintf(p, sizeof(p), "%s/%s", confd, name);
                (void)unlink(p);
                return;
        }
        if ((k + v) % 5 == 0)
                off += (size_t)snprintf(text + off, sizeof(text) - off,
                                        "masquerade = ( { name = \"m%u\"; source = \"10.%u.%u.0/24\"; "
                                        "out_interface = \"eth0\"; } );\n", k, k, v % 200);
        if ((k + v) % 7 == 0)
                off += (size_t)snprintf(text + off, sizeof(text) - off,
                                        "snat = ( { name = \"s%u\"; source = \"172.%u.%u.0/24\"; to = \"203.0.113.%u\"; "
                                        "out_interface = \"eth1\"; } );\n", k, k, v % 200, 1 + k % 200);
        off += (size_t)snprintf(text + off, sizeof(text) - off, "forward = (");
        for (unsigned f = 0; f < (k + v) % 4; f++)
                off += (size_t)snprintf(text + off, sizeof(text) - off,
                                        "%s { name = \"f%u-%u\"; proto = \"tcp\"; port = %u; to = \"192.168.%u.%u\"; }",
                                        f ? "," : "", k, f, 1000 + 4 * k + f, v % 250, 1 + f);
        off += (size_t)snprintf(text + off, sizeof(text) - off, " );\n");
        if (k % 40 == 0)
                snprintf(text + off, sizeof(text) - off,
                         "netmap = ( { name = \"n%u\"; interface = \"eth0\"; inside = \"192.168.%u.0/28\"; "
                         "outside = \"198.51.100.%u/28\"; } );\n", k, 200 + k / 40, 32 * (k / 40) + 16 * (v % 2));
        put(name, text);
}

/* The path of @c's files that is @file (the very string), or NULL. */
static const char *file_of(const struct natgw_config *c, const char *file) {
        for (size_t i = 0; i < c->n_files; i++)
                if (c->files[i].path == file)
                        return file;
        return NULL;
}

/* @c and @fresh (loaded from scratch) hold the same entries from the same files, in the same
 * places, and @c's borrowed ones are exactly those of its cached files. */
static void assert_same_model(const struct natgw_config *c, const struct natgw_config *fresh) {
        assert_int_equal(c->n_files, fresh->n_files);
        assert_int_equal(c->n_egress, fresh->n_egress);
        assert_int_equal(c->n_forwards, fresh->n_forwards);
        assert_int_equal(c->n_netmaps, fresh->n_netmaps);
        for (size_t i = 0; i < c->n_files; i++) {
                assert_string_equal(c->files[i].path, fresh->files[i].path);
                for (size_t sec = 0; sec < NATGW_SECTIONS; sec++) {
                        assert_int_equal(c->files[i].at[sec].first, fresh->files[i].at[sec].first);
                        assert_int_equal(c->files[i].at[sec].n, fresh->files[i].at[sec].n);
                }
                for (size_t e = c->files[i].at[NATGW_SECTION_FORWARD].first;
                     e < c->files[i].at[NATGW_SECTION_FORWARD].first + c->files[i].at[NATGW_SECTION_FORWARD].n; e++) {
                        assert_true(c->forwards[e].borrowed == c->files[i].cached);
                }
        }
        for (size_t i = 0; i < c->n_forwards; i++) {
                const struct natgw_forward *x = &c->forwards[i], *y = &fresh->forwards[i];

                assert_string_equal(x->name, y->name);
                assert_string_equal(x->file, y->file);
                assert_int_equal(x->line, y->line);
                assert_int_equal(x->ports[0].lo, y->ports[0].lo);
                assert_int_equal(natgw_addr_cmp(&x->to, &y->to), 0);
                /* A copy names the new model's own file string. */
                assert_true(file_of(c, x->file) == x->file);
        }
        for (size_t i = 0; i < c->n_egress; i++) {
                assert_string_equal(c->egress[i].name, fresh->egress[i].name);
                assert_string_equal(c->egress[i].file ? c->egress[i].file : "", fresh->egress[i].file ? fresh->egress[i].file : "");
                assert_true(file_of(c, c->egress[i].file) == c->egress[i].file);
                assert_int_equal(c->egress[i].kind, fresh->egress[i].kind);
                assert_int_equal(natgw_prefix_cmp(&c->egress[i].sources[0], &fresh->egress[i].sources[0]), 0);
        }
        for (size_t i = 0; i < c->n_netmaps; i++) {
                assert_string_equal(c->netmaps[i].name, fresh->netmaps[i].name);
                assert_string_equal(c->netmaps[i].file, fresh->netmaps[i].file);
                assert_true(file_of(c, c->netmaps[i].file) == c->netmaps[i].file);
        }
}

/* Hundreds of drop-ins, edited, added and removed at random between reloads: each reload's
 * model is the one a load from scratch makes, whichever files it copied from the config in
 * force (each file's entries are copied as one run: conf-cache.h). */
static void test_cache_many(void **state) {
        enum { FILES = 240, ROUNDS = 40 };
        unsigned version[FILES] = {};
        uint32_t x = 2463534242u;
        struct natgw_config *c, *next;
        size_t cached_files = 0;

        for (unsigned k = 0; k < FILES; k++) {
                version[k] = k % 9 == 4 ? 0 : 1;
                many_put(k, version[k]);
        }
        c = load_cached(NULL);
        for (unsigned round = 0; round < ROUNDS; round++) {
                struct natgw_config *fresh;

                edit_dropins(version, FILES, round, 1 + round % 6, &x, many_put);
                next = load_cached(c);
                fresh = load_cached(NULL);
                assert_same_model(next, fresh);
                for (size_t i = 0; i < next->n_files; i++)
                        cached_files += next->files[i].cached;
                natgw_config_free(fresh);
                /* Handed over: the new model owns every entry, the old one frees the rest. */
                natgw_config_take_entries(next, c);
                natgw_config_free(c);
                c = next;
                for (size_t i = 0; i < c->n_forwards; i++)
                        assert_false(c->forwards[i].borrowed);
                for (size_t i = 0; i < c->n_egress; i++)
                        assert_false(c->egress[i].borrowed);
        }
        /* Most files were copied, not read: the runs were what was tested. */
        assert_true(cached_files > ROUNDS * FILES / 2);
        natgw_config_free(c);
}

/* A file new to the cache is hashed only when the config is kept (natgw_config_finish_hashes()):
 * a config loaded and freed, a check, never hashes its files. */
static void test_hash_later(void **state) {
        struct natgw_errors errors = {};
        struct natgw_config *c = NULL;
        uint8_t d[NATGW_SHA256_SIZE];
        char path[PATH_MAX];

        put("a.conf", FWD("a", "22"));
        put_file(dir, "natgwd.conf", main_text);
        snprintf(path, sizeof(path), "%s/natgwd.conf", dir);
        assert_int_equal(natgw_config_load_file_cached(path, NULL, &c, &errors), 0);
        assert_int_equal(c->n_files, 2);
        for (size_t i = 0; i < c->n_files; i++)
                assert_true(c->files[i].hash_pending);
        natgw_config_finish_hashes(c);
        for (size_t i = 0; i < c->n_files; i++) {
                assert_false(c->files[i].hash_pending);
                natgw_sha256(c->texts[i], strlen(c->texts[i]), d);
                assert_memory_equal(c->files[i].sha256, d, sizeof(d));
        }
        natgw_config_free(c);
}

/* FIPS 180-4 examples and NIST's long message; the checksum of each file loaded. */
static void test_sha256(void **state) {
        static const struct { const char *in; const char *out; } v[] = {
                { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
                { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
                { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
        };
        _cleanup_(freep) char *million = malloc(1000000);
        uint8_t d[NATGW_SHA256_SIZE];
        char hex[NATGW_SHA256_HEX];

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                natgw_sha256(v[i].in, strlen(v[i].in), d);
                assert_string_equal(natgw_sha256_hex(d, hex), v[i].out);
        }
        assert_non_null(million);
        memset(million, 'a', 1000000);
        natgw_sha256(million, 1000000, d);
        assert_string_equal(natgw_sha256_hex(d, hex), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                natgw_sha256_generic(v[i].in, strlen(v[i].in), d);
                assert_string_equal(natgw_sha256_hex(d, hex), v[i].out);
        }
        natgw_sha256_generic(million, 1000000, d);
        assert_string_equal(natgw_sha256_hex(d, hex), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Where the processor has SHA instructions, natgw_sha256() uses them: the same digest as the
 * portable code for every length around the block and padding edges, at every alignment. */
static void test_sha256_accelerated(void **state) {
        _cleanup_(freep) uint8_t *buf = malloc(4096 + 16);
        uint8_t a[NATGW_SHA256_SIZE], b[NATGW_SHA256_SIZE];
        uint32_t x = 2463534242u;

        assert_non_null(buf);
        for (size_t i = 0; i < 4096 + 16; i++) {
                x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                buf[i] = (uint8_t)x;
        }
        print_message("SHA instructions: %s\n", natgw_sha256_accelerated() ? "used" : "not on this processor");
        for (size_t len = 0; len <= 4096; len += len < 300 ? 1 : 61)
                for (size_t off = 0; off < 16; off += len < 300 ? 7 : 1) {
                        natgw_sha256(buf + off, len, a);
                        natgw_sha256_generic(buf + off, len, b);
                        assert_memory_equal(a, b, NATGW_SHA256_SIZE);
                }
}

/* A test that gets a fresh directory. */
#define WITH_DIR(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_wanted),
                WITH_DIR(test_list_order),
                WITH_DIR(test_entries_in_order),
                WITH_DIR(test_empty_dir),
                WITH_DIR(test_errors_located),
                WITH_DIR(test_syntax_error_located),
                WITH_DIR(test_duplicate_names),
                WITH_DIR(test_overlap_across_files),
                WITH_DIR(test_netmap_dropins),
                WITH_DIR(test_keys_not_allowed),
                WITH_DIR(test_directory_missing),
                WITH_DIR(test_not_a_directory),
                WITH_DIR(test_not_regular),
                cmocka_unit_test(test_sha256_accelerated),
                WITH_DIR(test_symlinks),
                WITH_DIR(test_unreadable),
                WITH_DIR(test_directory_unreadable),
                WITH_DIR(test_too_many),
                WITH_DIR(test_cache),
                WITH_DIR(test_cache_handover),
                WITH_DIR(test_cache_many),
                WITH_DIR(test_cache_many_new),
                cmocka_unit_test(test_include_dir_value),
                WITH_DIR(test_hash_later),
                cmocka_unit_test(test_sha256),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

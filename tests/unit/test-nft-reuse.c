/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * natgw_plan_build_from(): a plan that copies the elements of unchanged drop-ins' forwards from
 * the plan of the config in force is the plan a compile from scratch makes, map by map and byte
 * by byte, over rounds of random edits to drop-ins of every forward shape (each round reusing
 * the plan the round before built by reuse), and when reflection hid shared elements. And the
 * state of an update built from it (records copied for the copied runs, the difference found
 * without them: nft-state.c) is the one built from the fresh plan.
 */

#include <limits.h>
#include <setjmp.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "nft-plan.h"
#include "nft-state.h"
#include "util.h"

#include "conf-test.h"

static char dir[64];    /* a fresh temporary directory per test */
static char confd[128]; /* dir/natgwd.conf.d */

static int setup(void **state) {
        return tmpdir_make(dir, "reuse", "natgwd.conf.d", confd);
}

static int teardown(void **state) {
        return tmpdir_remove(dir);
}

static const char main_text[] = "version = 1;\n"
                                "include_dir = \"natgwd.conf.d\";\n"
                                "masquerade = ( { name = \"lan\"; source = \"10.0.0.0/8\"; out_interface = \"eth0\"; } );\n";

/* Load dir/natgwd.conf with @old as the config in force (NULL: none). */
static struct natgw_config *load(const struct natgw_config *old) {
        return load_dir_ok(dir, old);
}

/* Drop-in @k in version @v (0: removed): forwards of every shape and family, some reflected,
 * some with allow_from, port ranges and rewrites; each file's ports its own (no overlap); and
 * now and then an egress entry, which moves the entry numbers of every forward after it. */
static void put_dropin(unsigned k, unsigned v) {
        char name[32], text[4096], p[PATH_MAX + 64];
        size_t off = 0;

        snprintf(name, sizeof(name), "t%03u.conf", k);
        if (v == 0) {
                snprintf(p, sizeof(p), "%s/%s", confd, name);
                (void)unlink(p);
                return;
        }
        if ((k + v) % 5 == 0)
                off += (size_t)snprintf(text + off, sizeof(text) - off,
                                        "masquerade = ( { name = \"m%u\"; source = \"172.16.%u.0/24\"; "
                                        "out_interface = \"eth1\"; } );\n", k, k);
        off += (size_t)snprintf(text + off, sizeof(text) - off, "forward = (");
        for (unsigned f = 0; f < (k + v) % 4; f++) {
                /* Independent choices from separate bits of one hash: every shape with and
                 * without reflection, each protocol, family and port form. */
                uint32_t seed = (k * 31 + v * 7 + f + 1) * 2654435761u;
                unsigned port = 2000 + 8 * k + 2 * f, iif = (seed >> 4) % 3, proto = (seed >> 8) % 3;
                bool v6 = (seed >> 12) % 5 == 0, range = (seed >> 16) % 4 == 1, dst = (seed >> 19) % 3 == 0;
                bool allow = (seed >> 22) % 3 == 0, reflect = (seed >> 25) % 2, rewrite = (seed >> 27) % 3 == 0;
                char to[64], ports[32];

                if (range)
                        snprintf(ports, sizeof(ports), "\"%u-%u\"", port, port + 1);
                else
                        snprintf(ports, sizeof(ports), "%u", port);
                if (v6)
                        snprintf(to, sizeof(to), range ? "[fd00:%x::%u]:%u-%u" : "[fd00:%x::%u]", v % 100, f + 1,
                                 9000 + port, 9001 + port);
                else if (range)
                        snprintf(to, sizeof(to), "192.168.%u.%u:%u-%u", v % 250, f + 1, 9000 + port, 9001 + port);
                else
                        snprintf(to, sizeof(to), rewrite ? "192.168.%u.%u:8080" : "192.168.%u.%u", v % 250, f + 1);
                off += (size_t)snprintf(
                        text + off, sizeof(text) - off,
                        "%s { name = \"f%u-%u\"; proto = \"%s\"; port = %s; to = \"%s\"; %s%s%s%s }", f ? "," : "", k,
                        f, proto == 0 ? "tcp" : proto == 1 ? "udp" : "tcp+udp", ports, to,
                        iif == 1 ? "in_interface = \"eth0\"; " : iif == 2 ? "in_interface = \"eth1\"; " : "",
                        dst ? (v6 ? "destination = \"2001:db8::5\"; " : "destination = \"203.0.113.5\"; ") : "",
                        allow ? (v6 ? "allow_from = [ \"2001:db8:1::/48\", \"2001:db8:1:2::/64\" ]; "
                                    : "allow_from = [ \"198.51.100.0/24\", \"198.51.100.128/25\" ]; ")
                              : "",
                        reflect ? "" : "reflection = false; ");
        }
        snprintf(text + off, sizeof(text) - off, " );\n");
        put_file(confd, name, text);
}

/* Count @p's forward maps by family and shape into @seen, those with reflected elements into
 * @reflected (the test's coverage). */
static void count_shapes(const struct natgw_plan *p, unsigned *seen, unsigned *reflected) {
        for (size_t i = 0; i < p->n_maps; i++)
                if (p->maps[i].kind == NATGW_MAP_FORWARD) {
                        size_t k = (p->maps[i].family == AF_INET6 ? NATGW_SHAPE_MAX : 0) + p->maps[i].shape;

                        seen[k]++;
                        reflected[k] += p->maps[i].reflect;
                }
}

/* @a and @b are the same plan: the same maps with the same elements, in the same order. */
static void assert_same_plan(const struct natgw_plan *a, const struct natgw_plan *b) {
        assert_int_equal(a->n_maps, b->n_maps);
        assert_int_equal(a->n_elements, b->n_elements);
        assert_int_equal(a->reflect, b->reflect);
        assert_int_equal(a->reflect_shared, b->reflect_shared);
        assert_int_equal(a->forward_chain, b->forward_chain);
        assert_int_equal(a->helper_objs, b->helper_objs);
        assert_int_equal(a->n_reflect_outside, b->n_reflect_outside);
        for (size_t i = 0; i < a->n_maps; i++) {
                const struct natgw_map *x = &a->maps[i], *y = &b->maps[i];
                size_t kstride = x->key_len * (x->interval ? 2 : 1);

                assert_string_equal(x->name, y->name);
                assert_int_equal(x->kind, y->kind);
                assert_int_equal(x->shape, y->shape);
                assert_int_equal(x->key_len, y->key_len);
                assert_int_equal(x->data_len, y->data_len);
                assert_int_equal(x->protos, y->protos);
                assert_int_equal(x->interval, y->interval);
                assert_int_equal(x->reflect, y->reflect);
                assert_int_equal(x->hairpin, y->hairpin);
                assert_int_equal(x->n, y->n);
                assert_memory_equal(x->keys, y->keys, x->n * kstride);
                if (x->data_len)
                        assert_memory_equal(x->data, y->data, x->n * x->data_len);
                assert_memory_equal(x->entry, y->entry, x->n * sizeof(*x->entry));
        }
}

static int cmp_size(const void *a, const void *b) {
        return CMP(*(const size_t *)a, *(const size_t *)b);
}

static int cmp_u32(const void *a, const void *b) {
        return CMP(*(const uint32_t *)a, *(const uint32_t *)b);
}

/* @a and @b (with what their update does, @sa and @sb) are the same state, and the same update:
 * the same records, and the same elements deleted and added (in any order). */
static void assert_same_state(struct natgw_table_state *a, struct natgw_set_plan *sa, struct natgw_table_state *b,
                              struct natgw_set_plan *sb) {
        assert_int_equal(a->n_sets, b->n_sets);
        for (size_t k = 0; k < a->n_sets; k++) {
                const struct natgw_table_set *x = &a->sets[k], *y = &b->sets[k];

                assert_string_equal(x->name, y->name);
                assert_int_equal(x->size, y->size);
                assert_int_equal(x->elements, y->elements);
                assert_memory_equal(x->rec_off, y->rec_off, x->elements * sizeof(*x->rec_off));
                if (x->elements) {
                        uint16_t len;

                        memcpy(&len, x->recs + x->rec_off[x->elements - 1], sizeof(len));
                        assert_memory_equal(x->recs, y->recs, x->rec_off[x->elements - 1] + sizeof(len) + len);
                }
                assert_int_equal(sa[k].kept, sb[k].kept);
                assert_int_equal(sa[k].delta, sb[k].delta);
                assert_int_equal(sa[k].n_removed, sb[k].n_removed);
                assert_int_equal(sa[k].n_added, sb[k].n_added);
                /* A set that is not kept has no difference (and no arrays for one). */
                if (sa[k].n_removed) {
                        qsort(sa[k].removed, sa[k].n_removed, sizeof(size_t), cmp_size);
                        qsort(sb[k].removed, sb[k].n_removed, sizeof(size_t), cmp_size);
                        assert_memory_equal(sa[k].removed, sb[k].removed, sa[k].n_removed * sizeof(size_t));
                }
                if (sa[k].n_added) {
                        qsort(sa[k].added, sa[k].n_added, sizeof(uint32_t), cmp_u32);
                        qsort(sb[k].added, sb[k].n_added, sizeof(uint32_t), cmp_u32);
                        assert_memory_equal(sa[k].added, sb[k].added, sa[k].n_added * sizeof(uint32_t));
                }
        }
}

/* The plan built from @c reusing @old, checked against the plan built from scratch; with @st
 * (the state @old's batch left, updated here to the new plan's), the states checked too.
 * *@copied: how many sets took records from @st. */
static struct natgw_plan *build_checked_state(const struct natgw_config *c, const struct natgw_plan *old,
                                              struct natgw_table_state *st) {
        struct natgw_plan *reused = NULL, *fresh = NULL;
        struct natgw_errors errors = {};
        struct natgw_table_state a = {}, b = {};
        struct natgw_set_plan *sa = NULL, *sb = NULL;

        assert_int_equal(natgw_plan_build_from(c, old, &reused, &errors), 0);
        assert_int_equal(natgw_plan_build(c, &fresh, &errors), 0);
        assert_int_equal(errors.n, 0);
        assert_same_plan(reused, fresh);
        if (st) {
                assert_int_equal(natgw_table_state_build(reused, st->valid ? st : NULL, 0, &a, &sa), 0);
                assert_int_equal(natgw_table_state_build(fresh, st->valid ? st : NULL, 0, &b, &sb), 0);
                assert_same_state(&a, sa, &b, sb);
                natgw_set_plans_free(sa, 3 * reused->n_maps);
                natgw_set_plans_free(sb, 3 * fresh->n_maps);
                natgw_table_state_clear(&b);
                natgw_table_state_clear(st);
                *st = a;
        }
        natgw_plan_free(fresh);
        return reused;
}

static struct natgw_plan *build_checked(const struct natgw_config *c, const struct natgw_plan *old) {
        return build_checked_state(c, old, NULL);
}

/* How many elements of @p's maps were copied from the plan before. */
static size_t elements_copied(const struct natgw_plan *p) {
        size_t n = 0;

        for (size_t i = 0; i < p->n_maps; i++)
                for (size_t k = 0; k < p->maps[i].n_copied; k++)
                        n += p->maps[i].copied[k].n;
        return n;
}

/* As natgwd reloads: @c replaced by @next, which takes over its entries. */
static struct natgw_config *hand_over(struct natgw_config *c, struct natgw_config *next) {
        natgw_config_take_entries(next, c);
        natgw_config_free(c);
        return next;
}

static void test_reuse_random(void **state) {
        enum { FILES = 120, ROUNDS = 40 };
        unsigned version[FILES];
        uint32_t x = 88172645u;
        struct natgw_config *c;
        struct natgw_plan *p;
        struct natgw_table_state st = {};
        unsigned seen[2 * NATGW_SHAPE_MAX] = {}, reflected[2 * NATGW_SHAPE_MAX] = {};
        size_t reused_rounds = 0;

        put_file(dir, "natgwd.conf", main_text);
        for (unsigned k = 0; k < FILES; k++) {
                version[k] = k % 7 == 3 ? 0 : 1;
                put_dropin(k, version[k]);
        }
        c = load(NULL);
        p = build_checked_state(c, NULL, &st);
        for (unsigned round = 0; round < ROUNDS; round++) {
                struct natgw_config *next;
                struct natgw_plan *q;
                bool copied = false;

                edit_dropins(version, FILES, round, 1 + round % 5, &x, put_dropin);
                next = load(c);
                /* Unchanged drop-ins with forwards were copied: the plan has runs to reuse. */
                for (size_t i = 0; i < next->n_files; i++)
                        copied = copied || (next->files[i].cached && next->files[i].at[NATGW_SECTION_FORWARD].n > 0);
                assert_true(next->copied_from == p->serial);
                reused_rounds += copied;
                q = build_checked_state(next, p, &st);
                assert_true(q->reused == p->serial && elements_copied(q) > 0);
                count_shapes(q, seen, reflected);
                natgw_plan_free(p);
                p = q;
                c = hand_over(c, next);
        }
        assert_int_equal(reused_rounds, ROUNDS);
        /* Every forward map shape of both families came up, and the shapes with in_interface
         * (where reflected copies go), the interval ones among them, with reflected elements. */
        for (unsigned i = 0; i < 2 * NATGW_SHAPE_MAX; i++) {
                assert_true(seen[i] > 0);
                if (i % NATGW_SHAPE_MAX & NATGW_SHAPE_IIF)
                        assert_true(reflected[i] > 0);
        }
        /* Another config's plan is not used: the same result. */
        natgw_plan_free(build_checked(c, p));
        natgw_plan_free(p);
        natgw_table_state_clear(&st);
        natgw_config_free(c);
}

/* Two forwards of one address and port on two interfaces reflect one element: the second one's
 * copy is left out. Removing the first brings it back, though the second's drop-in did not
 * change: the plan that hid it is not reused. */
static void test_reuse_reflect_shared(void **state) {
        struct natgw_config *c, *next;
        struct natgw_plan *p, *q;

        put_file(dir, "natgwd.conf", main_text);
        put_file(confd, "a.conf",
                 "forward = ( { name = \"a\"; in_interface = \"eth0\"; proto = \"tcp\"; port = 443; "
                 "to = \"192.168.1.10\"; } );\n");
        put_file(confd, "b.conf",
                 "forward = ( { name = \"b\"; in_interface = \"eth1\"; proto = \"tcp\"; port = 443; "
                 "to = \"192.168.1.10\"; } );\n");
        put_file(confd, "c.conf",
                 "forward = ( { name = \"c\"; proto = \"udp\"; port = 53; to = \"192.168.1.11\"; } );\n");
        c = load(NULL);
        p = build_checked(c, NULL);
        assert_true(p->reflect_shared);

        assert_int_equal(unlink(strcat(strcpy((char[PATH_MAX]){ 0 }, confd), "/a.conf")), 0);
        next = load(c);
        assert_true(next->files[1].cached);
        q = build_checked(next, p);
        assert_false(q->reflect_shared);
        natgw_plan_free(p);
        c = hand_over(c, next);

        /* Without a shared element the next reload reuses again. */
        put_file(confd, "d.conf",
                 "forward = ( { name = \"d\"; proto = \"tcp\"; port = 25; to = \"192.168.1.12\"; } );\n");
        next = load(c);
        p = build_checked(next, q);
        natgw_plan_free(q);
        natgw_plan_free(p);
        c = hand_over(c, next);
        natgw_config_free(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_reuse_random, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reuse_reflect_shared, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The apply policy (lib/nft.h): what natgwd sends to make table inet natgw what the config says,
 * and what it does about a refusal. An update of the table the last batch left, else a replace;
 * table flags owner and persist where the kernel has both, none where it has not. The
 * transaction itself is nft-netlink.c's.
 */

#include <linux/netlink.h>

#include "nft-guard.h"
#include "nft-netlink.h"
#include "nft-trace.h"
#include "nft.h"
#include "time-util.h"
#include "util-thread.h"
#include "util.h"

enum flags_support {
        FLAGS_UNKNOWN,
        FLAGS_OWNER_PERSIST,
        FLAGS_NONE,
};

struct natgw_nft {
        struct natgw_nl *nl; /* for natgwd's lifetime: the table's owner is this socket */
        enum flags_support flags;
        struct natgw_table_state state; /* what the last committed batch left; the next one updates it */
        /* The plan of the last config applied: the next apply copies from it what the drop-ins
         * its config did not read again compile to (natgw_plan_build_from()). */
        struct natgw_plan *plan;
};

struct natgw_nft *natgw_nft_free(struct natgw_nft *n) {
        if (!n)
                return NULL;
        natgw_nl_free(n->nl);
        natgw_table_state_clear(&n->state);
        natgw_plan_free(n->plan);
        free(n);
        return NULL;
}

int natgw_nft_new(struct natgw_nft **ret) {
        _cleanup_(natgw_nft_freep) struct natgw_nft *n = NULL;
        int r;

        n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        r = natgw_nft_socket_open(&n->nl);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(n);
        return 0;
}

/* Reserve the sequence numbers of @b, built from @first = natgw_nl_seq_peek(): a batch must
 * know its first number before it knows how many it needs. False (build again) only where the
 * numbers would wrap through 0. */
static bool seq_reserved(struct natgw_nft *n, const struct natgw_batch *b, uint32_t first) {
        return natgw_nl_seq(n->nl, (uint32_t)b->n_msgs) == first;
}

/* A replace's state finished by a thread of its own while the kernel takes the batch. */
struct finisher {
        const struct natgw_plan *p;
        struct natgw_table_state *st;
        void (*during)(void *userdata); /* then this, natgw_nft_apply_during()'s */
        void *userdata;
        pthread_t tid;
        bool running;
        int r;
};

static void *finisher_main(void *arg) {
        struct finisher *f = arg;

        f->r = natgw_table_state_finish(f->p, f->st);
        if (f->during)
                f->during(f->userdata);
        return NULL;
}

static void finisher_start(struct finisher *f, const struct natgw_plan *p, struct natgw_table_state *st,
                           void (*during)(void *userdata), void *userdata) {
        *f = (struct finisher){ .p = p, .st = st, .during = during, .userdata = userdata };
        if (st->unfinished)
                f->running = natgw_thread_start(&f->tid, finisher_main, f);
}

/* Wait for the thread, or finish here when it did not start and the state is @needed; the
 * state's outcome. */
static int finisher_join(struct finisher *f, bool needed) {
        if (f->running) {
                pthread_join(f->tid, NULL);
                f->running = false;
                return f->r;
        }
        return needed ? natgw_table_state_finish(f->p, f->st) : 0;
}

/* One transaction for @p: an update of the table the last batch left (@update), else a
 * replace. On success the state it leaves is kept for the next one. With @validate_only the
 * batch goes without its end: the kernel checks every message and aborts, and nothing changes,
 * in the kernel or here. */
static int apply_once(struct natgw_nft *n, const struct natgw_plan *p, bool update, uint32_t flags,
                      bool validate_only, void (*during)(void *userdata), void *userdata, struct natgw_errors *errors,
                      struct natgw_nl_ack *first, bool *ret_table_msg, struct natgw_apply_stats *stats) {
        _cleanup_(natgw_batch_freep) struct natgw_batch *b = NULL;
        struct natgw_table_state st = {};
        struct finisher fin;
        uint64_t t1;
        int r, rs;

        for (;;) {
                uint32_t seq = natgw_nl_seq_peek(n->nl);

                /* A replace's state, which only the next update needs, is finished while the
                 * kernel takes the batch (at 50,000 forwards, 10 ms of natgwd's own time). */
                r = natgw_batch_build_unfinished(p, update ? &n->state : NULL, seq, flags, &b, &st);
                if (r < 0) {
                        natgw_errors_add(errors, p->config->path, 0, NULL, "building the batch failed: %s",
                                         strerror(-r));
                        return r;
                }
                if (seq_reserved(n, b, seq))
                        break;
                b = natgw_batch_free(b);
                natgw_table_state_clear(&st);
        }
        if (validate_only)
                natgw_batch_strip_end(b);
        /* A check sends the batch only: the state it would leave is not needed. */
        if (!validate_only)
                finisher_start(&fin, p, &st, during, userdata);
        else
                fin = (struct finisher){};
        t1 = natgw_mono_usec();
        r = natgw_nft_transact(n->nl, b, p, errors, first);
        stats->kernel_usec += natgw_mono_usec() - t1;
        rs = finisher_join(&fin, r == 0 && !validate_only);
        stats->bytes = b->len;
        stats->messages = (uint32_t)b->n_msgs;
        stats->update = update;
        if (r == -EINVAL) {
                const struct natgw_msg *m = natgw_batch_find(b, first->seq);

                *ret_table_msg = m && m->kind == NATGW_MSG_TABLE;
        }
        if (validate_only) {
                natgw_table_state_clear(&st);
                return r;
        }
        if (r == 0) {
                natgw_table_state_clear(&n->state);
                /* Without the state (no memory to finish it), the next batch replaces. */
                if (rs < 0)
                        natgw_table_state_clear(&st);
                n->state = st;
        } else {
                natgw_table_state_clear(&st);
                /* Rejected: the kernel kept the table as it was. Unknown (transport): the next
                 * batch replaces the table as a whole. */
                if (r != -EINVAL)
                        natgw_table_state_clear(&n->state);
        }
        return r;
}

static void errors_move(struct natgw_errors *to, struct natgw_errors *from) {
        for (size_t i = 0; i < from->n; i++) {
                struct natgw_error *e = &from->v[i];

                natgw_errors_add_severity(to, e->severity, e->file, e->line, e->entry, "%s", e->message);
        }
        natgw_errors_clear(from);
}

/* natgw_nft_apply(), or with @validate_only natgw_nft_validate(): the same batches, sent without
 * their end. */
static int apply_config(struct natgw_nft *n, const struct natgw_config *c, bool validate_only,
                        void (*during)(void *userdata), void *userdata, struct natgw_errors *errors,
                        struct natgw_apply_stats *stats) {
        _cleanup_(natgw_plan_freep) struct natgw_plan *p = NULL;
        struct natgw_errors update_errors = {};
        struct natgw_apply_stats st = {};
        uint64_t t0 = natgw_mono_usec();
        int r;

        r = natgw_plan_build_from(c, n->plan, &p, errors);
        if (r < 0) {
                if (r != -EINVAL)
                        natgw_errors_add(errors, c->path, 0, NULL, "compiling the table failed: %s", strerror(-r));
                return r;
        }
        for (;;) {
                struct natgw_errors tmp = {};
                uint32_t flags = n->flags == FLAGS_NONE ? 0 : NATGW_TABLE_F_OWNER | NATGW_TABLE_F_PERSIST;
                bool update = n->state.valid && n->state.table_flags == flags && update_errors.n == 0;
                struct natgw_nl_ack first = { .offset = UINT32_MAX };
                bool table_msg = false;

                r = apply_once(n, p, update, flags, validate_only, during, userdata, &tmp, &first, &table_msg, &st);
                if (r == -EINVAL && update) {
                        /* The table is not as the last batch left it (deleted or changed behind
                         * natgwd's back where the kernel has no owner flag), or the kernel
                         * refuses the new content: replace the table as a whole. If that is
                         * refused too, its errors are the ones that count. */
                        errors_move(&update_errors, &tmp);
                        if (update_errors.n == 0)
                                natgw_errors_add(&update_errors, c->path, 0, NULL, "the kernel rejected the update");
                        /* The state stays: if the replace is rejected too, the table is still
                         * what it was, and the next reload tries an update again. */
                        continue;
                }
                /* Kernels before 6.9 have no persist flag. Owner alone would take NAT down with
                 * natgwd, so there the table is made without flags. */
                if (r == -EINVAL && n->flags == FLAGS_UNKNOWN && first.error == -EOPNOTSUPP && table_msg) {
                        natgw_errors_clear(&tmp);
                        n->flags = FLAGS_NONE;
                        continue;
                }
                errors_move(errors, &tmp);
                if (r < 0) {
                        natgw_errors_clear(&update_errors);
                        return r;
                }
                if (update_errors.n > 0) {
                        /* Applied, but the table had changed behind natgwd's back: say so. */
                        natgw_errors_warn(errors, c->path, 0, NULL,
                                          "table inet natgw was not as natgwd left it (%s); %s as a whole",
                                          update_errors.v[0].message,
                                          validate_only ? "a reload would replace it" : "it was replaced");
                        natgw_errors_clear(&update_errors);
                }
                if (n->flags == FLAGS_UNKNOWN)
                        n->flags = FLAGS_OWNER_PERSIST;
                /* Userspace: the plan and every batch built; the kernel: every transaction. */
                st.compile_usec = natgw_mono_usec() - t0 - st.kernel_usec;
                if (stats) {
                        *stats = st;
                        stats->elements = p->n_elements;
                        stats->table_flags = flags;
                }
                if (!validate_only) {
                        natgw_plan_free(n->plan);
                        n->plan = TAKE_PTR(p);
                }
                return 0;
        }
}

int natgw_nft_apply(struct natgw_nft *n, const struct natgw_config *c, struct natgw_errors *errors,
                    struct natgw_apply_stats *stats) {
        return apply_config(n, c, false, NULL, NULL, errors, stats);
}

int natgw_nft_apply_during(struct natgw_nft *n, const struct natgw_config *c, void (*during)(void *userdata),
                           void *userdata, struct natgw_errors *errors, struct natgw_apply_stats *stats) {
        return apply_config(n, c, false, during, userdata, errors, stats);
}

int natgw_nft_validate(struct natgw_nft *n, const struct natgw_config *c, struct natgw_errors *errors,
                       struct natgw_apply_stats *stats) {
        return apply_config(n, c, true, NULL, NULL, errors, stats);
}

void natgw_nft_forget(struct natgw_nft *n) {
        natgw_table_state_clear(&n->state);
}

int natgw_nft_read_counters(const struct natgw_nft *n, struct natgw_counter **ret, size_t *ret_n) {
        if (n && n->state.valid && n->state.n_counters >= NATGW_COUNTERS_BY_NAME_MIN)
                return natgw_nft_get_counters(n->state.counters, n->state.n_counters, ret, ret_n);
        return natgw_nft_dump_counters(ret, ret_n);
}

uint32_t natgw_nft_portid(const struct natgw_nft *n) {
        return n->nl->portid;
}

int natgw_nft_delete(struct natgw_nft *n, struct natgw_errors *errors) {
        _cleanup_(natgw_batch_freep) struct natgw_batch *b = NULL;
        struct natgw_errors tmp = {};
        struct natgw_nl_ack first = { .offset = UINT32_MAX };
        int r;

        natgw_table_state_clear(&n->state); /* whatever happens, the next apply replaces */
        for (;;) {
                uint32_t seq = natgw_nl_seq_peek(n->nl);

                r = natgw_batch_build_delete(seq, &b);
                if (r < 0)
                        return r;
                if (seq_reserved(n, b, seq))
                        break;
                b = natgw_batch_free(b);
        }
        r = natgw_nft_transact(n->nl, b, NULL, &tmp, &first);
        if (r == -EINVAL && first.error == -ENOENT) {
                r = 0;
                natgw_errors_clear(&tmp);
        } else
                errors_move(errors, &tmp);
        return r;
}

struct trace_acks {
        uint32_t last;
        int error;
};

static int on_trace_ack(const struct natgw_nl_ack *a, void *userdata) {
        struct trace_acks *t = userdata;

        if (a->error < 0 && t->error == 0)
                t->error = a->error;
        /* An error aborts the batch: no later ack comes. */
        return a->error < 0 || a->seq == t->last ? 1 : 0;
}

/* What a side batch (a chain no apply names) is built from. */
struct side_batch {
        const struct natgw_forward *trace; /* natgw_nft_trace(): the forward, or NULL */
        const struct natgw_prefix *vips;   /* natgw_nft_ha_guard() */
        size_t n_vips;
        bool guard, on, udp;
};

static int build_side(const struct side_batch *sb, uint32_t seq, void *buf, size_t *len, uint32_t *first,
                      uint32_t *acks) {
        if (sb->guard)
                return natgw_nft_ha_guard_batch(seq, sb->on ? sb->vips : NULL, sb->on ? sb->n_vips : 0, sb->udp, buf,
                                                len, first, acks);
        return natgw_nft_trace_batch(seq, sb->trace, sb->on, buf, len, first, acks);
}

/* Send a side batch through natgwd's socket; taking away what is not there is done. */
static int send_side(struct natgw_nft *n, const struct side_batch *sb, size_t size) {
        _cleanup_(freep) void *buf = NULL;
        struct trace_acks t = {};
        uint32_t seq, first, acks;
        size_t len;
        int r;

        /* Aligned for struct nlmsghdr: malloc() aligns for every type. */
        buf = calloc(1, size);
        if (!buf)
                return -ENOMEM;
        /* Every message of the batch, begin and end included, has its own number. */
        for (;;) {
                seq = natgw_nl_seq_peek(n->nl);
                r = build_side(sb, seq, buf, &len, &first, &acks);
                if (r < 0)
                        return r;
                if (natgw_nl_seq(n->nl, acks + 2) == seq)
                        break;
        }
        t.last = first + acks - 1;
        r = natgw_nl_send(n->nl, buf, len);
        if (r < 0)
                return r;
        r = natgw_nl_acks(n->nl, first, acks, on_trace_ack, &t);
        if (r < 0)
                return r;
        return !sb->on && t.error == -ENOENT ? 0 : t.error;
}

int natgw_nft_trace(struct natgw_nft *n, const struct natgw_forward *f, bool on) {
        struct side_batch sb = { .trace = f, .on = on };

        return send_side(n, &sb, natgw_nft_trace_batch_size(on ? f : NULL));
}

int natgw_nft_ha_guard(struct natgw_nft *n, const struct natgw_prefix *vips, size_t n_vips, bool udp) {
        struct side_batch sb = { .vips = vips, .n_vips = n_vips, .guard = true, .on = n_vips > 0, .udp = udp };

        return send_side(n, &sb, natgw_nft_ha_guard_batch_size(n_vips));
}

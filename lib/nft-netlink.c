/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The netfilter netlink transport: one socket for natgwd's lifetime (the table's owner is this
 * socket), batches sent in one sendmsg, every ack read and every error traced back to the
 * message, and from the message to the config entry that produced it.
 */

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <time.h>

#include "nft-batch.h"
#include "nft.h"
#include "util.h"
#include "time-util.h"

#define ACK_TIMEOUT_MS 30000
#define RECV_BUF (64 * 1024)
/* Receive-buffer room per expected ack: the kernel accounts an ack at its skb's true size. */
#define ACK_TRUESIZE 2048
#define ERRORS_REPORTED_MAX 10

enum flags_support {
        FLAGS_UNKNOWN,
        FLAGS_OWNER_PERSIST,
        FLAGS_NONE,
};

struct natgw_nft {
        struct mnl_socket *nl;
        uint32_t portid;
        uint32_t seq;
        enum flags_support flags;
        struct natgw_table_state state; /* what the last committed batch left; the next one updates it */
};

struct natgw_nft *natgw_nft_free(struct natgw_nft *n) {
        if (!n)
                return NULL;
        if (n->nl)
                mnl_socket_close(n->nl);
        natgw_table_state_clear(&n->state);
        free(n);
        return NULL;
}

int natgw_nft_new(struct natgw_nft **ret) {
        _cleanup_(natgw_nft_freep) struct natgw_nft *n = NULL;
        int one = 1;

        n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        n->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!n->nl)
                return -errno;
        if (mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0)
                return -errno;
        /* Extended acks tell which attribute failed; capped acks keep a 64 KiB element
         * message from being echoed back in its error. Both are best effort. */
        (void)mnl_socket_setsockopt(n->nl, NETLINK_EXT_ACK, &one, sizeof(one));
        (void)mnl_socket_setsockopt(n->nl, NETLINK_CAP_ACK, &one, sizeof(one));
        n->portid = mnl_socket_get_portid(n->nl);
        n->seq = (uint32_t)time(NULL);
        *ret = TAKE_PTR(n);
        return 0;
}

static void set_buffer(int fd, int force_opt, int opt, size_t size) {
        int v = size > INT32_MAX / 2 ? INT32_MAX / 2 : (int)size;

        if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) < 0)
                (void)setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
}

struct ack {
        uint32_t seq;
        int error;       /* 0 or -errno */
        uint32_t offset; /* NLMSGERR_ATTR_OFFS, UINT32_MAX: none */
        char msg[128];   /* NLMSGERR_ATTR_MSG */
        bool table_msg;  /* the failed message was a table message */
};

static void parse_ack(const struct nlmsghdr *nlh, struct ack *a) {
        const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *attr;
        size_t off = sizeof(*err);

        *a = (struct ack){ .seq = nlh->nlmsg_seq, .error = err->error, .offset = UINT32_MAX };
        if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
                return;
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
                off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
        if (mnl_nlmsg_get_payload_len(nlh) < off)
                return;
        mnl_attr_for_each(attr, nlh, off) {
                if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
                        snprintf(a->msg, sizeof(a->msg), "%s", mnl_attr_get_str(attr));
                else if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_OFFS && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
                        a->offset = mnl_attr_get_u32(attr);
        }
}

/* What the failed message created, in words ("map fwd4_if", "chain prerouting"). */
static void describe(const struct natgw_msg *m, const struct natgw_plan *p, char *buf, size_t size) {
        char name[48] = "";

        if (m->map >= 0 && p)
                natgw_batch_set_name(&p->maps[m->map], m->counter_map, name, sizeof(name));
        switch (m->kind) {
        case NATGW_MSG_TABLE:
        case NATGW_MSG_CONTROL:
        case NATGW_MSG_CLEAR:
                snprintf(buf, size, "%s", m->what);
                break;
        case NATGW_MSG_COUNTER:
                snprintf(buf, size, "its counter");
                break;
        case NATGW_MSG_CHAIN:
                snprintf(buf, size, m->entry >= 0 ? "its chain" : "chain %s", m->what);
                break;
        case NATGW_MSG_SET:
                snprintf(buf, size, "map %s", name);
                break;
        case NATGW_MSG_ELEMENTS:
                snprintf(buf, size, "an element of map %s", name);
                break;
        case NATGW_MSG_RULE:
                if (m->entry >= 0)
                        snprintf(buf, size, "the rule of its chain");
                else
                        snprintf(buf, size, "the rule that reads map %s", name);
                break;
        }
}

/* What an errno from nf_tables means for natgwd's messages, beyond strerror()'s words. */
static const char *explain(int error) {
        switch (error) {
        case -ENOENT:
                return "it refers to a table, chain, map or counter that does not exist";
        case -EEXIST:
                return "it already exists or overlaps an element already there";
        case -EOPNOTSUPP:
                return "this kernel lacks a feature it needs";
        case -ENOMEM:
                return "the kernel is out of memory";
        case -ENOSPC:
                return "a kernel limit is reached";
        case -EBUSY:
                return "it is in use";
        case -E2BIG:
        case -ERANGE:
                return "a value is too large for this kernel";
        default:
                return NULL;
        }
}

/* Append the error of ack @a, naming the config entry behind the failed message. */
static void report(const struct natgw_batch *b, const struct natgw_plan *p, const struct ack *a,
                   struct natgw_errors *errors) {
        const struct natgw_msg *m = natgw_batch_find(b, a->seq);
        const char *file = p ? p->config->path : NULL;
        char what[128] = "the batch", detail[160] = "";
        int64_t entry = -1;

        if (a->msg[0])
                snprintf(detail, sizeof(detail), " (%s)", a->msg);
        else if (explain(a->error))
                snprintf(detail, sizeof(detail), " (%s)", explain(a->error));
        else if (a->error == -EPERM && m && m->kind == NATGW_MSG_TABLE)
                snprintf(detail, sizeof(detail),
                         " (the table belongs to another running process: is another natgwd running in "
                         "this network namespace?)");
        if (m) {
                describe(m, p, what, sizeof(what));
                entry = m->entry;
                if (m->kind == NATGW_MSG_ELEMENTS && a->offset != UINT32_MAX && p) {
                        int64_t el = natgw_batch_element_at(b, m, a->offset);

                        if (el >= 0)
                                entry = p->maps[m->map].entry[el];
                }
        }
        if (entry >= 0 && p)
                natgw_errors_add(errors, file, natgw_plan_entry_line(p, (uint32_t)entry),
                                 natgw_plan_entry_name(p, (uint32_t)entry), "the kernel rejected %s: %s%s", what,
                                 strerror(-a->error), detail);
        else
                natgw_errors_add(errors, file, 0, NULL, "the kernel rejected %s: %s%s", what,
                                 strerror(-a->error), detail);
}

/*
 * Send @b and read every answer. Returns 0 when the kernel committed the batch, -EINVAL when it
 * rejected it (errors reported), other -errno on transport failure. *ret_first is the first
 * failed ack (for the caller's retry decisions).
 */
static int transact(struct natgw_nft *n, const struct natgw_batch *b, const struct natgw_plan *p,
                    struct natgw_errors *errors, struct ack *ret_first) {
        _cleanup_(freep) uint8_t *buf = NULL;
        int fd = mnl_socket_get_fd(n->nl);
        size_t failed = 0, reported = 0;
        int first_error = 0;
        bool done = false;
        ssize_t sent;
        int len;

        ret_first->error = 0;
        set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, b->len + 65536);
        /* Room for an answer to every message: a failing batch answers all of them. */
        set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, MIN(b->n_msgs * ACK_TRUESIZE + 65536, (size_t)256 << 20));
        buf = malloc(RECV_BUF);
        if (!buf)
                return -ENOMEM;

        sent = mnl_socket_sendto(n->nl, b->buf, b->len);
        if (sent < 0) {
                int r = -errno;

                natgw_errors_add(errors, NULL, 0, NULL, "sending the nftables batch (%zu bytes) failed: %s",
                                 b->len, strerror(errno));
                return r;
        }

        while (!done) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                struct nlmsghdr *nlh;
                int r;

                r = poll(&pfd, 1, ACK_TIMEOUT_MS);
                if (r == 0) {
                        natgw_errors_add(errors, NULL, 0, NULL, "the kernel did not answer the nftables batch");
                        return -ETIMEDOUT;
                }
                len = r < 0 ? -1 : (int)recv(fd, buf, RECV_BUF, 0);
                if (len < 0) {
                        if (errno == EINTR)
                                continue;
                        /* Answers were lost. After a failure the kernel has dropped the whole
                         * batch; without one, whether it committed is unknown. */
                        if (errno == ENOBUFS && failed > 0)
                                break;
                        r = -errno;
                        natgw_errors_add(errors, NULL, 0, NULL, "reading the kernel's answers failed: %s%s",
                                         strerror(errno),
                                         errno == ENOBUFS ? "; the table's state is unknown" : "");
                        return r;
                }
                for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
                        const struct natgw_msg *m;
                        struct ack a;

                        if (nlh->nlmsg_type != NLMSG_ERROR ||
                            mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nlmsgerr))
                                continue;
                        parse_ack(nlh, &a);
                        m = natgw_batch_find(b, a.seq);
                        /* Not a message of this batch: an answer left over from an earlier one
                         * whose answers were not all read (ENOBUFS, timeout). It says nothing
                         * about this batch, and must not end the wait for its answers. */
                        if (!m)
                                continue;
                        /* The last requested ack closes the batch; an error on a control
                         * message means the kernel dropped the batch as a whole. */
                        if (a.seq == b->last_ack_seq || m->kind == NATGW_MSG_CONTROL)
                                done = true;
                        if (a.error == 0)
                                continue;
                        if (failed++ == 0) {
                                *ret_first = a;
                                first_error = a.error;
                        }
                        /* Later failures mostly echo the first one: report the ones that differ. */
                        if (failed == 1 || (a.error != first_error && a.error != -ENOENT &&
                                            reported < ERRORS_REPORTED_MAX)) {
                                report(b, p, &a, errors);
                                reported++;
                        }
                }
        }
        return failed ? -EINVAL : 0;
}

/* One transaction for @p: an update of the table the last batch left (@update), else a
 * replace. On success the state it leaves is kept for the next one. */
static int apply_once(struct natgw_nft *n, const struct natgw_plan *p, bool update, uint32_t flags,
                      struct natgw_errors *errors, struct ack *first, struct natgw_apply_stats *stats) {
        _cleanup_(natgw_batch_freep) struct natgw_batch *b = NULL;
        struct natgw_table_state st = {};
        uint64_t t1;
        int r;

        r = natgw_batch_build(p, update ? &n->state : NULL, n->seq, flags, &b, &st);
        if (r < 0) {
                natgw_errors_add(errors, p->config->path, 0, NULL, "building the batch failed: %s", strerror(-r));
                return r;
        }
        n->seq += (uint32_t)b->n_msgs;
        t1 = natgw_mono_usec();
        r = transact(n, b, p, errors, first);
        stats->kernel_usec += natgw_mono_usec() - t1;
        stats->bytes = b->len;
        stats->messages = (uint32_t)b->n_msgs;
        stats->update = update;
        if (r == -EINVAL) {
                const struct natgw_msg *m = natgw_batch_find(b, first->seq);

                first->table_msg = m && m->kind == NATGW_MSG_TABLE;
        }
        if (r == 0) {
                natgw_table_state_clear(&n->state);
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

                natgw_errors_add(to, e->file, e->line, e->entry, "%s", e->message);
        }
        natgw_errors_clear(from);
}

int natgw_nft_apply(struct natgw_nft *n, const struct natgw_config *c, struct natgw_errors *errors,
                    struct natgw_apply_stats *stats) {
        _cleanup_(natgw_plan_freep) struct natgw_plan *p = NULL;
        struct natgw_errors update_errors = {};
        struct natgw_apply_stats st = {};
        uint64_t t0 = natgw_mono_usec();
        int r;

        r = natgw_plan_build(c, &p, errors);
        if (r < 0) {
                if (r != -EINVAL)
                        natgw_errors_add(errors, c->path, 0, NULL, "compiling the table failed: %s", strerror(-r));
                return r;
        }
        for (;;) {
                struct natgw_errors tmp = {};
                uint32_t flags = n->flags == FLAGS_NONE ? 0 : NATGW_TABLE_F_OWNER | NATGW_TABLE_F_PERSIST;
                bool update = n->state.valid && n->state.table_flags == flags && update_errors.n == 0;
                struct ack first = { .offset = UINT32_MAX };

                r = apply_once(n, p, update, flags, &tmp, &first, &st);
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
                if (r == -EINVAL && n->flags == FLAGS_UNKNOWN && first.error == -EOPNOTSUPP && first.table_msg) {
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
                        natgw_errors_add(errors, c->path, 0, NULL,
                                         "table inet natgw was not as natgwd left it (%s); it was replaced as a "
                                         "whole",
                                         update_errors.v[0].message);
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
                return 0;
        }
}

void natgw_nft_forget(struct natgw_nft *n) {
        natgw_table_state_clear(&n->state);
}

uint32_t natgw_nft_portid(const struct natgw_nft *n) {
        return n->portid;
}

int natgw_nft_delete(struct natgw_nft *n, struct natgw_errors *errors) {
        _cleanup_(natgw_batch_freep) struct natgw_batch *b = NULL;
        struct natgw_errors tmp = {};
        struct ack first;
        int r;

        r = natgw_batch_build_delete(n->seq, &b);
        if (r < 0)
                return r;
        natgw_table_state_clear(&n->state); /* whatever happens, the next apply replaces */
        n->seq += (uint32_t)b->n_msgs;
        r = transact(n, b, NULL, &tmp, &first);
        if (r == -EINVAL && first.error == -ENOENT)
                r = 0;
        else
                for (size_t i = 0; i < tmp.n; i++)
                        natgw_errors_add(errors, tmp.v[i].file, tmp.v[i].line, tmp.v[i].entry, "%s",
                                         tmp.v[i].message);
        natgw_errors_clear(&tmp);
        return r;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The nftables transaction over lib/nl (nft-netlink.h): batches sent in one datagram, every
 * ack read and every error traced back to the message, and from the message to the config
 * entry that produced it.
 */

#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "nft-netlink.h"
#include "util.h"

#define ACK_TIMEOUT_USEC (30 * 1000000ull)
/* Receive-buffer room per expected ack: the kernel accounts an ack at its skb's true size. */
#define ACK_TRUESIZE 2048
#define ERRORS_REPORTED_MAX 10

int natgw_nft_socket_open(struct natgw_nl **ret) {
        _cleanup_(natgw_nl_freep) struct natgw_nl *nl = NULL;
        int r;

        r = natgw_nl_open(NETLINK_NETFILTER, 0, &nl);
        if (r < 0)
                return r;
        /* Extended acks tell which attribute failed; capped acks keep a 64 KiB element
         * message from being echoed back in its error. Both are best effort. */
        (void)natgw_nl_setsockopt(nl, NETLINK_EXT_ACK, 1);
        (void)natgw_nl_setsockopt(nl, NETLINK_CAP_ACK, 1);
        /* The kernel answers a batch when it has processed all of it. */
        natgw_nl_set_timeout(nl, ACK_TIMEOUT_USEC, UINT64_MAX);
        *ret = TAKE_PTR(nl);
        return 0;
}

/* What the failed message created, in words ("map fwd4_if", "chain prerouting"). */
static void describe(const struct natgw_msg *m, const struct natgw_plan *p, char *buf, size_t size) {
        char name[48] = "";

        if (m->map >= 0 && p)
                natgw_batch_set_name(&p->maps[m->map], m->twin, name, sizeof(name));
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
        case NATGW_MSG_HELPER:
                snprintf(buf, size, "its conntrack helper \"%s\"", m->what);
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
        static const struct {
                int error;
                const char *text;
        } texts[] = {
                { -ENOENT, "it refers to a table, chain, map or counter that does not exist" },
                { -EEXIST, "it already exists or overlaps an element already there" },
                { -EOPNOTSUPP, "this kernel lacks a feature it needs" },
                { -ENOMEM, "the kernel is out of memory" },
                { -ENOSPC, "a kernel limit is reached" },
                { -EBUSY, "it is in use" },
                { -E2BIG, "a value is too large for this kernel" },
                { -ERANGE, "a value is too large for this kernel" },
        };

        for (size_t i = 0; i < ELEMENTSOF(texts); i++)
                if (texts[i].error == error)
                        return texts[i].text;
        return NULL;
}

void natgw_nft_report(const struct natgw_batch *b, const struct natgw_plan *p, const struct natgw_nl_ack *a,
                      struct natgw_errors *errors) {
        const struct natgw_msg *m = natgw_batch_find(b, a->seq);
        const char *file = p ? p->config->path : NULL;
        char what[128] = "the batch", detail[160] = "";
        int64_t entry = -1;

        if (a->msg[0])
                snprintf(detail, sizeof(detail), " (%s)", a->msg);
        else if (a->error == -ENOENT && m && m->kind == NATGW_MSG_HELPER)
                snprintf(detail, sizeof(detail),
                         " (the kernel has no such helper: load its modules, nf_conntrack_%s and nf_nat_%s, or "
                         "build the kernel with them)", m->what, m->what);
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
        if (!p)
                entry = -1;
        else if (entry >= 0)
                file = natgw_plan_entry_file(p, (uint32_t)entry);
        natgw_errors_add(errors, file, entry >= 0 ? natgw_plan_entry_line(p, (uint32_t)entry) : 0,
                         entry >= 0 ? natgw_plan_entry_name(p, (uint32_t)entry) : NULL, "the kernel rejected %s: %s%s",
                         what, strerror(-a->error), detail);
}

struct transaction {
        const struct natgw_batch *b;
        const struct natgw_plan *p;
        struct natgw_errors *errors;
        struct natgw_nl_ack *first;
        size_t failed, reported;
};

static int on_ack(const struct natgw_nl_ack *a, void *userdata) {
        struct transaction *t = userdata;
        const struct natgw_msg *m = natgw_batch_find(t->b, a->seq);
        bool done;

        if (!m)
                return 0;
        /* The last requested ack closes the batch; an error on a control message means the
         * kernel dropped the batch as a whole. */
        done = a->seq == t->b->last_ack_seq || m->kind == NATGW_MSG_CONTROL;
        if (a->error != 0) {
                if (t->failed++ == 0)
                        *t->first = *a;
                /* Later failures mostly echo the first one: report the ones that differ. */
                if (t->failed == 1 || (a->error != t->first->error && a->error != -ENOENT &&
                                       t->reported < ERRORS_REPORTED_MAX)) {
                        natgw_nft_report(t->b, t->p, a, t->errors);
                        t->reported++;
                }
        }
        return done;
}

int natgw_nft_transact(struct natgw_nl *nl, const struct natgw_batch *b, const struct natgw_plan *p,
                       struct natgw_errors *errors, struct natgw_nl_ack *ret_first) {
        struct transaction t = { .b = b, .p = p, .errors = errors, .first = ret_first };
        int r;

        *ret_first = (struct natgw_nl_ack){ .offset = UINT32_MAX };
        /* Room for an answer to every message: a failing batch answers all of them. */
        natgw_nl_set_buffers(nl, MIN(b->n_msgs * ACK_TRUESIZE + 65536, (size_t)256 << 20), b->len + 65536);
        r = natgw_nl_send(nl, b->buf, b->len);
        if (r < 0) {
                natgw_errors_add(errors, NULL, 0, NULL, "sending the nftables batch (%zu bytes) failed: %s",
                                 b->len, strerror(-r));
                return r;
        }
        /* Answers of an earlier batch whose answers were not all read (ENOBUFS, timeout) say
         * nothing about this one: the loop reads only this batch's sequence numbers. */
        r = natgw_nl_acks(nl, b->msgs[0].seq, (uint32_t)b->n_msgs, on_ack, &t);
        /* Answers were lost. After a failure the kernel has dropped the whole batch; without
         * one, whether it committed is unknown. */
        if (r == -ENOBUFS && t.failed > 0)
                r = 0;
        if (r == -ETIMEDOUT)
                natgw_errors_add(errors, NULL, 0, NULL, "the kernel did not answer the nftables batch");
        else if (r < 0)
                natgw_errors_add(errors, NULL, 0, NULL, "reading the kernel's answers failed: %s%s", strerror(-r),
                                 r == -ENOBUFS ? "; the table's state is unknown" : "");
        if (r < 0)
                return r;
        return t.failed ? -EINVAL : 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The conntrack table walk after a reload: one dump of both families (ct-dump.c), each entry
 * classified by natgw_ct_stale_classify() (ct-stale.c), the stale ones deleted on a second socket in
 * bounded batches while the dump goes on, all of it within an overall deadline.
 */

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include "ct-dump.h"
#include "ct-stale.h"
#include "nl.h"
#include "time-util.h"
#include "util-sysctl.h"
#include "util.h"

/* The whole cleanup, reading and deleting: well inside the watchdog's margin (WatchdogSec=60s,
 * pinged at half of it), since the daemon's loop waits for it. */
#define CT_CLEAN_DEADLINE_USEC (5 * 1000000ull)
/* Deletions sent at once; each answers with an ack, and the receive buffer must hold them all. */
#define CT_DELETE_BATCH 128
/* Room for one delete message: more than an IPv6 tuple with zones and id needs. */
#define CT_DELETE_MSG_MAX 512
#define CT_ACK_RCVBUF (1024 * 1024)

struct deleter {
        struct natgw_nl *nl;
        uint32_t seq;       /* of the first message of the batch */
        uint8_t *buf;       /* CT_DELETE_BATCH * CT_DELETE_MSG_MAX */
        size_t len;
        unsigned n;         /* messages in the batch */
        bool acked[CT_DELETE_BATCH];
        uint8_t why[CT_DELETE_BATCH]; /* enum natgw_ct_verdict of each message */
        unsigned n_acked;
        struct natgw_ct_stale_stats *stats;
};

static void deleter_done(struct deleter *d) {
        natgw_nl_free(d->nl);
        free(d->buf);
}

static int deleter_init(struct deleter *d, struct natgw_ct_stale_stats *stats, uint64_t deadline) {
        int r;

        *d = (struct deleter){ .stats = stats };
        d->buf = calloc(CT_DELETE_BATCH, CT_DELETE_MSG_MAX);
        if (!d->buf)
                return -ENOMEM;
        r = natgw_nl_open(NETLINK_NETFILTER, 0, &d->nl);
        if (r < 0)
                return r;
        /* An error ack need not echo the request back. */
        (void)natgw_nl_setsockopt(d->nl, NETLINK_CAP_ACK, 1);
        natgw_nl_set_buffers(d->nl, CT_ACK_RCVBUF, 0);
        natgw_nl_set_timeout(d->nl, d->nl->idle_usec, deadline);
        return 0;
}

static int on_ack(const struct natgw_nl_ack *a, void *userdata) {
        struct deleter *d = userdata;
        uint32_t i = a->seq - d->seq; /* < d->n: natgw_nl_acks() reads no other */

        if (d->acked[i])
                return 0;
        d->acked[i] = true;
        d->n_acked++;
        if (a->error == 0) {
                d->stats->deleted++;
                d->stats->deleted_for[d->why[i]]++;
        } else if (a->error == -ENOENT)
                d->stats->vanished++;
        else {
                d->stats->failed++;
                if (d->stats->first_error == 0)
                        d->stats->first_error = a->error;
        }
        return d->n_acked == d->n;
}

/* Send the batch and read an ack for every message of it. */
static int deleter_flush(struct deleter *d) {
        int r;

        if (d->n == 0)
                return 0;
        memset(d->acked, 0, sizeof(d->acked));
        d->n_acked = 0;
        r = natgw_nl_send(d->nl, d->buf, d->len);
        if (r >= 0)
                r = natgw_nl_acks(d->nl, d->seq, d->n, on_ack, d);
        d->len = 0;
        d->n = 0;
        return r;
}

static void put_tuple(struct nlmsghdr *nlh, const struct natgw_ct_tuple *t) {
        struct nlattr *tuple, *ip, *proto;
        size_t alen = t->family == AF_INET ? 4 : 16;

        tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
        ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
        mnl_attr_put(nlh, t->family == AF_INET ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, alen, t->src.bytes);
        mnl_attr_put(nlh, t->family == AF_INET ? CTA_IP_V4_DST : CTA_IP_V6_DST, alen, t->dst.bytes);
        mnl_attr_nest_end(nlh, ip);
        proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
        mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t->l4proto);
        if (t->has_ports) {
                mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(t->sport));
                mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(t->dport));
        }
        if (t->has_icmp) {
                bool v6 = t->family == AF_INET6;

                mnl_attr_put_u16(nlh, v6 ? CTA_PROTO_ICMPV6_ID : CTA_PROTO_ICMP_ID, htons(t->icmp_id));
                mnl_attr_put_u8(nlh, v6 ? CTA_PROTO_ICMPV6_TYPE : CTA_PROTO_ICMP_TYPE, t->icmp_type);
                mnl_attr_put_u8(nlh, v6 ? CTA_PROTO_ICMPV6_CODE : CTA_PROTO_ICMP_CODE, t->icmp_code);
        }
        mnl_attr_nest_end(nlh, proto);
        if (t->has_zone)
                mnl_attr_put_u16(nlh, CTA_TUPLE_ZONE, htons(t->zone));
        mnl_attr_nest_end(nlh, tuple);
}

/* Queue the deletion of @r, named by its original tuple, zone and id. */
static int deleter_add(struct deleter *d, const struct natgw_ct_record *r, enum natgw_ct_verdict why) {
        struct nlmsghdr *nlh;
        int k;

        if (d->n == CT_DELETE_BATCH) {
                k = deleter_flush(d);
                if (k < 0)
                        return k;
        }
        if (d->n == 0)
                d->seq = natgw_nl_seq(d->nl, CT_DELETE_BATCH);
        nlh = natgw_nfnl_put_header(d->buf + d->len, NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_DELETE, NLM_F_ACK,
                                    r->orig.family);
        nlh->nlmsg_seq = d->seq + d->n;
        put_tuple(nlh, &r->orig);
        if (r->has_zone)
                mnl_attr_put_u16(nlh, CTA_ZONE, htons(r->zone));
        /* The kernel then deletes only the entry that has this id. */
        if (r->has_id)
                mnl_attr_put_u32(nlh, CTA_ID, htonl(r->id));
        if (nlh->nlmsg_len > CT_DELETE_MSG_MAX)
                return -EOVERFLOW; /* cannot happen: the attributes above are small and fixed */
        d->len += NLMSG_ALIGN(nlh->nlmsg_len);
        d->why[d->n++] = (uint8_t)why;
        return 0;
}

struct walk {
        const struct natgw_ct_stale *s;
        struct deleter del;
        struct natgw_ct_stale_stats *stats;
};

/* Count a NATGW_CT_KEEP_ESTABLISHED entry that entry @name covers. */
static void count_kept(struct natgw_ct_stale_stats *stats, const char *name) {
        if (stats->kept_established++ == 0)
                snprintf(stats->kept_entry, sizeof(stats->kept_entry), "%s", name ? name : "");
        else if (name && strncmp(stats->kept_entry, name, sizeof(stats->kept_entry) - 1) != 0)
                stats->kept_entries_more = true;
}

static int walk_entry(const struct natgw_ct_record *r, void *userdata) {
        struct walk *w = userdata;
        enum natgw_ct_verdict v;
        const char *name;

        w->stats->seen++;
        /* What cannot be read whole is not ours to delete. */
        if (!r->has_reply)
                return 0;
        v = natgw_ct_stale_classify(w->s, &r->entry, &name);
        if (v == NATGW_CT_KEEP_ESTABLISHED)
                count_kept(w->stats, name);
        if (v == NATGW_CT_KEEP || v == NATGW_CT_KEEP_ESTABLISHED)
                return 0;
        w->stats->stale++;
        /* Deleting entries already dumped does not disturb the dump: it resumes after the
         * last entry it sent, which is not one of them. */
        return deleter_add(&w->del, r, v);
}

int natgw_ct_stale_clean(const struct natgw_config *old, const struct natgw_config *new,
                         struct natgw_ct_stale_stats *stats) {
        _cleanup_(natgw_ct_stale_freep) struct natgw_ct_stale *s = NULL;
        uint64_t start = natgw_mono_usec(), deadline = start + CT_CLEAN_DEADLINE_USEC;
        struct walk w = { .stats = stats };
        int64_t count;
        int r;

        *stats = (struct natgw_ct_stale_stats){};
        /* The new table is in: an entry made from now on is its own. With none left from before,
         * there is nothing to classify, and the indexes over both configs (a tenth of a reload
         * at 50,000 forwards) need not be built. Unreadable: the dump decides. */
        if (natgw_sysctl_read_int("net/netfilter/nf_conntrack_count", &count) >= 0 && count == 0)
                return 0;
        r = natgw_ct_stale_new(old, new, &s);
        if (r < 0)
                return r;
        if (!natgw_ct_stale_possible(s))
                return 0;
        stats->dumped = true;
        w.s = s;
        r = deleter_init(&w.del, stats, deadline);
        if (r >= 0)
                r = natgw_ct_dump_records(deadline, walk_entry, &w);
        if (r >= 0)
                r = deleter_flush(&w.del);
        deleter_done(&w.del);
        stats->usec = natgw_mono_usec() - start;
        stats->timed_out = r == -ETIMEDOUT && natgw_mono_usec() >= deadline;
        return r;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The conntrack table walk after a reload: one dump of both families, each entry decided by
 * natgw_ct_stale_check() (ct-stale.c), the stale ones deleted on a second socket in bounded
 * batches while the dump goes on.
 */

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include "ct-stale.h"
#include "util.h"
#include "time-util.h"


#define CT_TIMEOUT_MS 10000
#define CT_RECV_BUF (64 * 1024)
/* Deletions sent at once; each answers with an ack, and the receive buffer must hold them all. */
#define CT_DELETE_BATCH 128
/* Room for one delete message: more than an IPv6 tuple with zone and id needs. */
#define CT_DELETE_MSG_MAX 512
#define CT_ACK_RCVBUF (1024 * 1024)

static inline void nfct_destroyp(struct nf_conntrack **ct) {
        if (*ct)
                nfct_destroy(*ct);
}

static inline void mnl_socket_closep(struct mnl_socket **nl) {
        if (*nl)
                mnl_socket_close(*nl);
}

static int socket_open(struct mnl_socket **ret, uint32_t *ret_portid) {
        _cleanup_(mnl_socket_closep) struct mnl_socket *nl = NULL;
        int one = 1;

        nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!nl)
                return -errno;
        if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
                return -errno;
        /* An error ack need not echo the request back. */
        (void)mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
        *ret_portid = mnl_socket_get_portid(nl);
        *ret = TAKE_PTR(nl);
        return 0;
}

/* Wait (bounded) until @nl is readable, then read into @buf. Returns the length or -errno. */
static ssize_t socket_recv(struct mnl_socket *nl, void *buf, size_t size) {
        struct pollfd p = { .fd = mnl_socket_get_fd(nl), .events = POLLIN };
        ssize_t n;
        int k;

        do
                k = poll(&p, 1, CT_TIMEOUT_MS);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        if (k == 0)
                return -ETIMEDOUT;
        n = mnl_socket_recvfrom(nl, buf, size);
        return n < 0 ? -errno : n;
}

struct deleter {
        struct mnl_socket *nl;
        uint32_t portid;
        uint32_t seq;       /* of the first message of the batch */
        uint8_t *buf;       /* CT_DELETE_BATCH * CT_DELETE_MSG_MAX */
        size_t len;
        unsigned n;         /* messages in the batch */
        uint8_t why[CT_DELETE_BATCH]; /* enum natgw_ct_verdict of each message */
        struct natgw_ct_stale_stats *stats;
};

static void deleter_done(struct deleter *d) {
        if (d->nl)
                mnl_socket_close(d->nl);
        free(d->buf);
}

static int deleter_init(struct deleter *d, struct natgw_ct_stale_stats *stats) {
        int v = CT_ACK_RCVBUF, r;

        *d = (struct deleter){ .stats = stats, .seq = (uint32_t)time(NULL) };
        d->buf = calloc(CT_DELETE_BATCH, CT_DELETE_MSG_MAX);
        if (!d->buf)
                return -ENOMEM;
        r = socket_open(&d->nl, &d->portid);
        if (r < 0)
                return r;
        if (setsockopt(mnl_socket_get_fd(d->nl), SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
                (void)setsockopt(mnl_socket_get_fd(d->nl), SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
        return 0;
}

static void deleter_count(struct deleter *d, int error, uint8_t why) {
        if (error == 0) {
                d->stats->deleted++;
                d->stats->deleted_for[why]++;
        } else if (error == -ENOENT)
                d->stats->vanished++;
        else {
                d->stats->failed++;
                if (d->stats->first_error == 0)
                        d->stats->first_error = error;
        }
}

/* Send the batch and read an ack for every message of it. */
static int deleter_flush(struct deleter *d) {
        _cleanup_(freep) uint8_t *buf = NULL;
        bool acked[CT_DELETE_BATCH] = {};
        unsigned n_acked = 0;

        if (d->n == 0)
                return 0;
        buf = malloc(CT_RECV_BUF);
        if (!buf)
                return -ENOMEM;
        if (mnl_socket_sendto(d->nl, d->buf, d->len) < 0)
                return -errno;
        while (n_acked < d->n) {
                ssize_t len = socket_recv(d->nl, buf, CT_RECV_BUF);
                const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
                int left;

                if (len < 0)
                        return (int)len;
                left = (int)len;
                for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
                        const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
                        /* clang 14's analyzer takes socket_recv()'s -errno for a length (>= 0).
                         * NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
                        uint32_t i = nlh->nlmsg_seq - d->seq;

                        if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_pid != d->portid || i >= d->n ||
                            acked[i] || mnl_nlmsg_get_payload_len(nlh) < sizeof(*err))
                                continue;
                        acked[i] = true;
                        n_acked++;
                        deleter_count(d, err->error, d->why[i]);
                }
        }
        d->seq += d->n;
        d->len = 0;
        d->n = 0;
        return 0;
}

/* Queue the deletion of @ct, named by its original tuple, zone and id. */
static int deleter_add(struct deleter *d, const struct nf_conntrack *ct, int family, enum natgw_ct_verdict why) {
        static const enum nf_conntrack_attr attrs[] = {
                ATTR_ORIG_L3PROTO, ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_SRC,
                ATTR_ORIG_IPV6_DST, ATTR_ORIG_L4PROTO, ATTR_ORIG_PORT_SRC, ATTR_ORIG_PORT_DST,
                ATTR_ICMP_TYPE,    ATTR_ICMP_CODE,     ATTR_ICMP_ID,       ATTR_ZONE,
                ATTR_ORIG_ZONE,
        };
        _cleanup_(nfct_destroyp) struct nf_conntrack *del = NULL;
        struct nlmsghdr *nlh;
        struct nfgenmsg *nfg;
        int r;

        if (d->n == CT_DELETE_BATCH) {
                r = deleter_flush(d);
                if (r < 0)
                        return r;
        }
        del = nfct_new();
        if (!del)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(attrs); i++)
                if (nfct_attr_is_set(ct, attrs[i]) > 0)
                        nfct_set_attr(del, attrs[i], nfct_get_attr(ct, attrs[i]));

        nlh = mnl_nlmsg_put_header(d->buf + d->len);
        nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = d->seq + d->n;
        nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
        nfg->nfgen_family = (uint8_t)family;
        nfg->version = NFNETLINK_V0;
        nfg->res_id = 0;
        if (nfct_nlmsg_build(nlh, del) < 0)
                return -EINVAL;
        /* nfct_nlmsg_build() leaves the id out; the kernel deletes only the entry that has it. */
        if (nfct_attr_is_set(ct, ATTR_ID) > 0)
                mnl_attr_put_u32(nlh, CTA_ID, htonl(nfct_get_attr_u32(ct, ATTR_ID)));
        if (nlh->nlmsg_len > CT_DELETE_MSG_MAX)
                return -EOVERFLOW; /* cannot happen: the attributes above are small and fixed */
        d->len += NLMSG_ALIGN(nlh->nlmsg_len);
        d->why[d->n++] = (uint8_t)why;
        return 0;
}

/* The entry @ct as the decision sees it; -EAFNOSUPPORT for what is neither IPv4 nor IPv6. */
static int entry_from_nfct(const struct nf_conntrack *ct, struct natgw_ct_entry *ret) {
        static const struct {
                enum nf_conntrack_attr v4, v6, port;
                size_t addr, portoff;
        } fields[] = {
                { ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV6_SRC, ATTR_ORIG_PORT_SRC,
                  offsetof(struct natgw_ct_entry, orig_src), offsetof(struct natgw_ct_entry, orig_sport) },
                { ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST, ATTR_ORIG_PORT_DST,
                  offsetof(struct natgw_ct_entry, orig_dst), offsetof(struct natgw_ct_entry, orig_dport) },
                { ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC, ATTR_REPL_PORT_SRC,
                  offsetof(struct natgw_ct_entry, reply_src), offsetof(struct natgw_ct_entry, reply_sport) },
                { ATTR_REPL_IPV4_DST, ATTR_REPL_IPV6_DST, ATTR_REPL_PORT_DST,
                  offsetof(struct natgw_ct_entry, reply_dst), offsetof(struct natgw_ct_entry, reply_dport) },
        };
        struct natgw_ct_entry e = {};
        uint32_t status;

        if (nfct_attr_is_set(ct, ATTR_L3PROTO) <= 0 || nfct_attr_is_set(ct, ATTR_L4PROTO) <= 0)
                return -EBADMSG;
        e.family = nfct_get_attr_u8(ct, ATTR_L3PROTO);
        if (e.family != AF_INET && e.family != AF_INET6)
                return -EAFNOSUPPORT;
        e.l4proto = nfct_get_attr_u8(ct, ATTR_L4PROTO);
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                struct natgw_addr *a = (struct natgw_addr *)((uint8_t *)&e + fields[i].addr);
                enum nf_conntrack_attr attr = e.family == AF_INET ? fields[i].v4 : fields[i].v6;
                const void *p;

                if (nfct_attr_is_set(ct, attr) <= 0 || !(p = nfct_get_attr(ct, attr)))
                        return -EBADMSG;
                a->family = e.family;
                memcpy(a->bytes, p, e.family == AF_INET ? 4 : 16);
                if (nfct_attr_is_set(ct, fields[i].port) > 0 &&
                    (e.l4proto == IPPROTO_TCP || e.l4proto == IPPROTO_UDP))
                        *(uint16_t *)((uint8_t *)&e + fields[i].portoff) =
                                ntohs(nfct_get_attr_u16(ct, fields[i].port));
        }
        status = nfct_attr_is_set(ct, ATTR_STATUS) > 0 ? nfct_get_attr_u32(ct, ATTR_STATUS) : 0;
        e.src_nat = status & IPS_SRC_NAT;
        e.dst_nat = status & IPS_DST_NAT;
        e.tcp_state = nfct_attr_is_set(ct, ATTR_TCP_STATE) > 0 ? nfct_get_attr_u8(ct, ATTR_TCP_STATE) : 0xff;
        *ret = e;
        return 0;
}

struct walk {
        const struct natgw_ct_stale *s;
        struct deleter del;
        struct natgw_ct_stale_stats *stats;
        int error; /* why the callback stopped the dump */
};

static int walk_entry(const struct nlmsghdr *nlh, void *userdata) {
        struct walk *w = userdata;
        _cleanup_(nfct_destroyp) struct nf_conntrack *ct = NULL;
        enum natgw_ct_verdict v;
        struct natgw_ct_entry e;
        const char *name;
        int r;

        ct = nfct_new();
        if (!ct) {
                w->error = -ENOMEM;
                return MNL_CB_ERROR;
        }
        /* What cannot be read is not ours to delete. */
        if (nfct_nlmsg_parse(nlh, ct) < 0)
                return MNL_CB_OK;
        w->stats->seen++;
        if (entry_from_nfct(ct, &e) < 0)
                return MNL_CB_OK;
        v = natgw_ct_stale_classify(w->s, &e, &name);
        if (v == NATGW_CT_KEEP_ESTABLISHED)
                natgw_ct_stale_count_kept(w->stats, name);
        if (v == NATGW_CT_KEEP || v == NATGW_CT_KEEP_ESTABLISHED)
                return MNL_CB_OK;
        w->stats->stale++;
        /* Deleting entries already dumped does not disturb the dump: it resumes after the
         * last entry it sent, which is not one of them. */
        r = deleter_add(&w->del, ct, e.family, v);
        if (r < 0) {
                w->error = r;
                return MNL_CB_ERROR;
        }
        return MNL_CB_OK;
}

static int walk_table(struct walk *w) {
        _cleanup_(mnl_socket_closep) struct mnl_socket *nl = NULL;
        _cleanup_(freep) uint8_t *buf = NULL;
        struct nlmsghdr *nlh;
        struct nfgenmsg *nfg;
        uint32_t portid, seq = (uint32_t)time(NULL);
        int r;

        buf = malloc(CT_RECV_BUF);
        if (!buf)
                return -ENOMEM;
        r = socket_open(&nl, &portid);
        if (r < 0)
                return r;

        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        nlh->nlmsg_seq = seq;
        nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
        nfg->nfgen_family = AF_UNSPEC; /* both families */
        nfg->version = NFNETLINK_V0;
        nfg->res_id = 0;
        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
                return -errno;

        for (;;) {
                ssize_t len = socket_recv(nl, buf, CT_RECV_BUF);

                if (len < 0)
                        return (int)len;
                /* clang 14's analyzer takes socket_open()'s -errno for success (>= 0).
                 * NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage) */
                r = mnl_cb_run(buf, (size_t)len, seq, portid, walk_entry, w);
                if (r == MNL_CB_STOP)
                        break;
                if (r < 0)
                        return w->error < 0 ? w->error : -errno;
        }
        return deleter_flush(&w->del);
}

int natgw_ct_stale_clean(const struct natgw_config *old, const struct natgw_config *new,
                         struct natgw_ct_stale_stats *stats) {
        _cleanup_(natgw_ct_stale_freep) struct natgw_ct_stale *s = NULL;
        uint64_t start = natgw_mono_usec();
        struct walk w = { .stats = stats };
        int r;

        *stats = (struct natgw_ct_stale_stats){};
        r = natgw_ct_stale_new(old, new, &s);
        if (r < 0)
                return r;
        if (!natgw_ct_stale_possible(s))
                return 0;
        stats->dumped = true;
        w.s = s;
        r = deleter_init(&w.del, stats);
        if (r >= 0)
                r = walk_table(&w);
        deleter_done(&w.del);
        stats->usec = natgw_mono_usec() - start;
        return r;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <poll.h>
#include <time.h>

#include "ct-stats.h"

#define RECV_BUF (64 * 1024)
#define TIMEOUT_MS 2000

struct natgw_ct_reader {
        struct mnl_socket *nl;
        uint32_t portid, seq;
        uint8_t *buf;
};

int natgw_ct_reader_new(struct natgw_ct_reader **ret) {
        _cleanup_(natgw_ct_reader_freep) struct natgw_ct_reader *r = NULL;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->buf = malloc(RECV_BUF);
        if (!r->buf)
                return -ENOMEM;
        r->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (!r->nl)
                return -errno;
        if (mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0)
                return -errno;
        r->portid = mnl_socket_get_portid(r->nl);
        r->seq = (uint32_t)time(NULL);
        *ret = TAKE_PTR(r);
        return 0;
}

struct natgw_ct_reader *natgw_ct_reader_free(struct natgw_ct_reader *r) {
        if (!r)
                return NULL;
        if (r->nl)
                mnl_socket_close(r->nl);
        free(r->buf);
        free(r);
        return NULL;
}

static uint64_t be32_attr(const struct nlattr *a) {
        return ntohl(mnl_attr_get_u32(a));
}

/* One message's attributes; unknown ones are skipped, malformed ones fail the message. */
static int parse_attrs(const struct nlmsghdr *nlh, bool global, struct natgw_ct_stats *s) {
        const uint8_t *p = (const uint8_t *)nlh + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
        const uint8_t *end = (const uint8_t *)nlh + nlh->nlmsg_len;

        if (nlh->nlmsg_len < NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)))
                return -EPROTO;
        /* Bounded by the message's own length, not its aligned end, which may lie past the buffer. */
        for (const struct nlattr *a; end - p >= (ptrdiff_t)sizeof(*a); p += NLA_ALIGN(a->nla_len)) {
                uint16_t type;

                a = (const struct nlattr *)p;
                if (a->nla_len < sizeof(*a) || a->nla_len > end - p)
                        break;
                type = mnl_attr_get_type(a);

                if (mnl_attr_get_payload_len(a) != sizeof(uint32_t))
                        continue;
                if (global) {
                        if (type == CTA_STATS_GLOBAL_ENTRIES)
                                s->count = (uint32_t)be32_attr(a);
                        else if (type == CTA_STATS_GLOBAL_MAX_ENTRIES)
                                s->max = (uint32_t)be32_attr(a);
                        continue;
                }
                switch (type) {
                case CTA_STATS_FOUND:
                        s->found += be32_attr(a);
                        break;
                case CTA_STATS_INVALID:
                        s->invalid += be32_attr(a);
                        break;
                case CTA_STATS_INSERT:
                        s->insert += be32_attr(a);
                        break;
                case CTA_STATS_INSERT_FAILED:
                        s->insert_failed += be32_attr(a);
                        break;
                case CTA_STATS_DROP:
                        s->drop += be32_attr(a);
                        break;
                case CTA_STATS_EARLY_DROP:
                        s->early_drop += be32_attr(a);
                        break;
                case CTA_STATS_ERROR:
                        s->error += be32_attr(a);
                        break;
                case CTA_STATS_SEARCH_RESTART:
                        s->search_restart += be32_attr(a);
                        break;
                case CTA_STATS_CLASH_RESOLVE:
                        s->clash_resolve += be32_attr(a);
                        break;
                case CTA_STATS_CHAIN_TOOLONG:
                        s->chain_toolong += be32_attr(a);
                        break;
                default:
                        break;
                }
        }
        if (!global)
                s->cpus++;
        return 0;
}

int natgw_ct_stats_parse(const void *buf, size_t len, struct natgw_ct_stats *s) {
        const uint8_t *p = buf;

        /* Walked by hand: libmnl's mnl_nlmsg_ok() compares lengths as int, and a message that
         * claims more than 2 GiB would pass it (found by tests/fuzz/fuzz-ctnetlink). */
        while (len >= sizeof(struct nlmsghdr)) {
                const struct nlmsghdr *nlh = (const struct nlmsghdr *)p;
                uint16_t type = nlh->nlmsg_type;
                size_t step;
                int r;

                if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len)
                        break;
                step = MIN((size_t)NLMSG_ALIGN(nlh->nlmsg_len), len);
                p += step;
                len -= step;

                if (type == NLMSG_DONE)
                        return 1;
                if (type == NLMSG_ERROR) {
                        const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

                        if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
                                return -EPROTO;
                        /* error 0 is an ack: the end of a non-dump request. */
                        return e->error < 0 ? (e->error == INT32_MIN ? -EPROTO : e->error) : 1;
                }
                if (NFNL_SUBSYS_ID(type) != NFNL_SUBSYS_CTNETLINK)
                        return -EPROTO;
                switch (NFNL_MSG_TYPE(type)) {
                case IPCTNL_MSG_CT_GET_STATS:
                        r = parse_attrs(nlh, true, s);
                        if (r < 0)
                                return r;
                        /* Not a dump: this message is the whole answer, although the kernel
                         * marks it NLM_F_MULTI and sends no NLMSG_DONE after it. */
                        return 1;
                case IPCTNL_MSG_CT_GET_STATS_CPU:
                        r = parse_attrs(nlh, false, s);
                        if (r < 0)
                                return r;
                        break;
                default:
                        return -EPROTO;
                }
        }
        return 0;
}

/* Send one request and read its answer into @s, within TIMEOUT_MS. */
static int request(struct natgw_ct_reader *r, uint16_t msg, uint16_t flags, struct natgw_ct_stats *s) {
        char req[256];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
        struct nfgenmsg *nfg;
        uint32_t seq = ++r->seq;
        struct timespec ts;
        int64_t deadline;

        nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | msg;
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
        nlh->nlmsg_seq = seq;
        nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
        nfg->nfgen_family = AF_UNSPEC;
        nfg->version = NFNETLINK_V0;
        nfg->res_id = 0;
        if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
                return -errno;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        deadline = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + TIMEOUT_MS;
        for (;;) {
                struct pollfd p = { .fd = mnl_socket_get_fd(r->nl), .events = POLLIN };
                const struct nlmsghdr *h;
                ssize_t n;
                int64_t now;
                int k;

                clock_gettime(CLOCK_MONOTONIC, &ts);
                now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
                if (now >= deadline)
                        return -ETIMEDOUT;
                k = poll(&p, 1, (int)(deadline - now));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -ETIMEDOUT;
                n = recv(mnl_socket_get_fd(r->nl), r->buf, RECV_BUF, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                continue;
                        return -errno;
                }
                h = (const struct nlmsghdr *)r->buf;
                /* Left over from an earlier request that timed out: not this answer. */
                if ((size_t)n >= sizeof(*h) && h->nlmsg_seq != seq)
                        continue;
                k = natgw_ct_stats_parse(r->buf, (size_t)n, s);
                if (k != 0)
                        return k < 0 ? k : 0;
        }
}

int natgw_ct_reader_read(struct natgw_ct_reader *r, struct natgw_ct_stats *ret) {
        struct natgw_ct_stats s = {};
        int k;

        k = request(r, IPCTNL_MSG_CT_GET_STATS, 0, &s);
        if (k >= 0)
                k = request(r, IPCTNL_MSG_CT_GET_STATS_CPU, NLM_F_DUMP, &s);
        if (k < 0)
                return k;
        *ret = s;
        return 0;
}

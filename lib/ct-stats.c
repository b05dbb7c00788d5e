/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <poll.h>
#include <time.h>

#include "ct-stats.h"
#include "nl-attr.h"

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

/* One message's attributes; unknown ones are skipped, malformed ones end the message. */
static int parse_attrs(const struct nlmsghdr *nlh, bool global, struct natgw_ct_stats *s) {
        const uint8_t *p = (const uint8_t *)nlh + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
        const uint8_t *end = (const uint8_t *)nlh + nlh->nlmsg_len;
        const struct nlattr *a;

        if (nlh->nlmsg_len < NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)))
                return -EPROTO;
        while ((a = natgw_nla_next(&p, end))) {
                uint16_t type = natgw_nla_type(a);
                uint32_t v;

                if (natgw_nla_len(a) != sizeof(v))
                        continue;
                memcpy(&v, natgw_nla_data(a), sizeof(v));
                v = ntohl(v);
                if (global) {
                        if (type == CTA_STATS_GLOBAL_ENTRIES)
                                s->count = v;
                        else if (type == CTA_STATS_GLOBAL_MAX_ENTRIES)
                                s->max = v;
                        continue;
                }
                switch (type) {
                case CTA_STATS_FOUND:
                        s->found += v;
                        break;
                case CTA_STATS_INVALID:
                        s->invalid += v;
                        break;
                case CTA_STATS_INSERT:
                        s->insert += v;
                        break;
                case CTA_STATS_INSERT_FAILED:
                        s->insert_failed += v;
                        break;
                case CTA_STATS_DROP:
                        s->drop += v;
                        break;
                case CTA_STATS_EARLY_DROP:
                        s->early_drop += v;
                        break;
                case CTA_STATS_ERROR:
                        s->error += v;
                        break;
                case CTA_STATS_SEARCH_RESTART:
                        s->search_restart += v;
                        break;
                case CTA_STATS_CLASH_RESOLVE:
                        s->clash_resolve += v;
                        break;
                case CTA_STATS_CHAIN_TOOLONG:
                        s->chain_toolong += v;
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
        const struct nlmsghdr *nlh;

        while ((nlh = natgw_nlmsg_next(&p, &len))) {
                uint16_t type = nlh->nlmsg_type;
                int r;

                if (type == NLMSG_DONE)
                        return 1;
                if (type == NLMSG_ERROR) {
                        const struct nlmsgerr *e = NLMSG_DATA(nlh);

                        if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
                                return -EPROTO;
                        /* error 0 is an ack: the end of a non-dump request. */
                        if (e->error == 0)
                                return 1;
                        return e->error < 0 && e->error > -4096 ? e->error : -EPROTO;
                }
                if (NFNL_SUBSYS_ID(type) != NFNL_SUBSYS_CTNETLINK)
                        return -EPROTO;
                switch (NFNL_MSG_TYPE(type)) {
                case IPCTNL_MSG_CT_GET_STATS:
                        r = parse_attrs(nlh, true, s);
                        /* Not a dump: this message is the whole answer, although the kernel
                         * marks it NLM_F_MULTI and sends no NLMSG_DONE after it. */
                        return r < 0 ? r : 1;
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

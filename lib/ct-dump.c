/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include "ct-dump.h"
#include "nl-attr.h"

/* The kernel fills dump messages faster than they are read: room for a burst, and big reads. */
#define DUMP_RCVBUF (16 * 1024 * 1024)
#define DUMP_RECV (256 * 1024)
#define DUMP_TIMEOUT_MS 10000

static void parse_ip(const struct nlattr *nest, struct natgw_ct_tuple *t) {
        const uint8_t *p = natgw_nla_data(nest), *end = natgw_nla_end(nest);
        const struct nlattr *a;

        while ((a = natgw_nla_next(&p, end))) {
                size_t len = natgw_nla_len(a);

                switch (natgw_nla_type(a)) {
                case CTA_IP_V4_SRC:
                case CTA_IP_V4_DST:
                        if (len != 4)
                                break;
                        t->family = AF_INET;
                        memcpy(natgw_nla_type(a) == CTA_IP_V4_SRC ? t->src : t->dst, natgw_nla_data(a), 4);
                        break;
                case CTA_IP_V6_SRC:
                case CTA_IP_V6_DST:
                        if (len != 16)
                                break;
                        t->family = AF_INET6;
                        memcpy(natgw_nla_type(a) == CTA_IP_V6_SRC ? t->src : t->dst, natgw_nla_data(a), 16);
                        break;
                default:
                        break;
                }
        }
}

static uint16_t be16_attr(const struct nlattr *a) {
        uint16_t v = 0;

        if (natgw_nla_len(a) == sizeof(v))
                memcpy(&v, natgw_nla_data(a), sizeof(v));
        return ntohs(v);
}

static void parse_proto(const struct nlattr *nest, struct natgw_ct_tuple *t) {
        const uint8_t *p = natgw_nla_data(nest), *end = natgw_nla_end(nest);
        const struct nlattr *a;

        while ((a = natgw_nla_next(&p, end)))
                switch (natgw_nla_type(a)) {
                case CTA_PROTO_NUM:
                        if (natgw_nla_len(a) >= 1)
                                t->l4proto = *(const uint8_t *)natgw_nla_data(a);
                        break;
                case CTA_PROTO_SRC_PORT:
                        t->sport = be16_attr(a);
                        break;
                case CTA_PROTO_DST_PORT:
                        t->dport = be16_attr(a);
                        break;
                default:
                        break;
                }
}

static void parse_tcp_state(const struct nlattr *protoinfo, struct natgw_ct_tuple *t) {
        const uint8_t *p = natgw_nla_data(protoinfo), *end = natgw_nla_end(protoinfo);
        const struct nlattr *a, *b;

        while ((a = natgw_nla_next(&p, end))) {
                const uint8_t *q = natgw_nla_data(a), *qend = natgw_nla_end(a);

                if (natgw_nla_type(a) != CTA_PROTOINFO_TCP)
                        continue;
                while ((b = natgw_nla_next(&q, qend)))
                        if (natgw_nla_type(b) == CTA_PROTOINFO_TCP_STATE && natgw_nla_len(b) >= 1)
                                t->tcp_state = *(const uint8_t *)natgw_nla_data(b);
        }
}

int natgw_ct_tuple_parse(const struct nlmsghdr *nlh, struct natgw_ct_tuple *ret) {
        const uint8_t *p = (const uint8_t *)nlh + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
        const uint8_t *end = (const uint8_t *)nlh + nlh->nlmsg_len;
        struct natgw_ct_tuple t = { .tcp_state = 0xff };
        const struct nlattr *a;
        bool orig = false;

        if (nlh->nlmsg_len < NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)) ||
            NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK ||
            NFNL_MSG_TYPE(nlh->nlmsg_type) != IPCTNL_MSG_CT_NEW)
                return -EPROTO;
        while ((a = natgw_nla_next(&p, end))) {
                uint16_t type = natgw_nla_type(a);

                if (type == CTA_TUPLE_ORIG) {
                        const uint8_t *q = natgw_nla_data(a), *qend = natgw_nla_end(a);
                        const struct nlattr *b;

                        orig = true;
                        while ((b = natgw_nla_next(&q, qend))) {
                                if (natgw_nla_type(b) == CTA_TUPLE_IP)
                                        parse_ip(b, &t);
                                else if (natgw_nla_type(b) == CTA_TUPLE_PROTO)
                                        parse_proto(b, &t);
                        }
                } else if (type == CTA_PROTOINFO)
                        parse_tcp_state(a, &t);
        }
        if (!orig || (t.family != AF_INET && t.family != AF_INET6))
                return -EPROTO;
        *ret = t;
        return 0;
}

static int wait_readable(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int k;

        do
                k = poll(&p, 1, DUMP_TIMEOUT_MS);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        return k == 0 ? -ETIMEDOUT : 0;
}

int natgw_ct_dump(natgw_ct_dump_cb cb, void *userdata) {
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
        struct {
                struct nlmsghdr nlh;
                struct nfgenmsg g;
        } req = {
                .nlh = { .nlmsg_len = sizeof(req),
                         .nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET,
                         .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
                         .nlmsg_seq = (uint32_t)time(NULL) },
                .g = { .nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0 },
        };
        _cleanup_(closep) int fd = -1;
        _cleanup_(freep) uint8_t *buf = NULL;
        int size = DUMP_RCVBUF;
        bool intr = false;

        buf = malloc(DUMP_RECV);
        if (!buf)
                return -ENOMEM;
        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
        if (fd < 0)
                return -errno;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -errno;
        if (send(fd, &req, sizeof(req), 0) < 0)
                return -errno;

        for (;;) {
                const struct nlmsghdr *nlh;
                const uint8_t *p = buf;
                ssize_t n;
                size_t len;
                int r;

                n = recv(fd, buf, DUMP_RECV, 0);
                if (n < 0) {
                        if (errno == EAGAIN) {
                                r = wait_readable(fd);
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        if (errno == EINTR)
                                continue;
                        return errno == ENOBUFS ? -EINTR : -errno;
                }
                if (n == 0)
                        return -EPROTO;
                len = (size_t)n;
                while ((nlh = natgw_nlmsg_next(&p, &len))) {
                        struct natgw_ct_tuple t;

                        if (nlh->nlmsg_seq != req.nlh.nlmsg_seq)
                                continue;
                        if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
                                intr = true;
                        if (nlh->nlmsg_type == NLMSG_DONE)
                                return intr ? -EINTR : 0;
                        if (nlh->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = NLMSG_DATA(nlh);

                                if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
                                        return -EPROTO;
                                /* An errno, and nothing a caller could not negate. */
                                return e->error < 0 && e->error > -4096 ? e->error : -EPROTO;
                        }
                        if (natgw_ct_tuple_parse(nlh, &t) < 0)
                                continue;
                        if (!cb(&t, userdata))
                                return 0;
                }
        }
}

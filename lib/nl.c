/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The netlink transport (lib/nl.h): the socket, its waits and its loops. What the kernel sends
 * back is read with the size_t-bounded walkers of nl.h only.
 */

#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <time.h>

#include "nl.h"
#include "time-util.h"

#define IDLE_USEC_DEFAULT (10 * 1000000ull)
/* Larger than any datagram the kernel builds for a dump (at most 32 KiB) or an ack. */
#define ACK_RECV (64 * 1024)
/* Dumps read in big gulps: a conntrack table of a million entries is many datagrams. */
#define DUMP_RECV (256 * 1024)

int natgw_nl_ack_parse(const struct nlmsghdr *nlh, struct natgw_nl_ack *ret) {
        const struct nlmsgerr *err = NLMSG_DATA(nlh);
        const uint8_t *p, *end = natgw_nlmsg_end(nlh);
        const struct nlattr *a;
        size_t off = NLMSG_HDRLEN + sizeof(*err);

        if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_len < off)
                return -EPROTO;
        *ret = (struct natgw_nl_ack){ .seq = nlh->nlmsg_seq, .portid = nlh->nlmsg_pid,
                                      .error = natgw_nl_errno(err->error), .offset = UINT32_MAX };
        if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
                return 0;
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
                /* The request follows its header, padded: its length is the kernel's word, but
                 * one that is below a header or beyond the message leaves nothing to read. */
                size_t echoed = err->msg.nlmsg_len;

                if (echoed < sizeof(struct nlmsghdr) || echoed - sizeof(struct nlmsghdr) > nlh->nlmsg_len - off)
                        return 0;
                off += NLMSG_ALIGN(echoed - sizeof(struct nlmsghdr));
                if (off > nlh->nlmsg_len)
                        return 0;
        }
        p = (const uint8_t *)nlh + off;
        while ((a = natgw_nla_next(&p, end))) {
                size_t len = natgw_nla_len(a);

                if (natgw_nla_type(a) == NLMSGERR_ATTR_MSG && len > 0) {
                        size_t n = strnlen(natgw_nla_data(a), MIN(len, sizeof(ret->msg) - 1));

                        memcpy(ret->msg, natgw_nla_data(a), n);
                        ret->msg[n] = '\0';
                } else if (natgw_nla_type(a) == NLMSGERR_ATTR_OFFS && len == sizeof(uint32_t))
                        memcpy(&ret->offset, natgw_nla_data(a), sizeof(uint32_t));
        }
        return 0;
}

int natgw_nl_ack_walk(const void *buf, size_t len, uint32_t portid, uint32_t first_seq, uint32_t n,
                      natgw_nl_ack_cb cb, void *userdata) {
        const uint8_t *p = buf;
        const struct nlmsghdr *nlh;

        while ((nlh = natgw_nlmsg_next(&p, &len))) {
                struct natgw_nl_ack a;
                int r;

                if (natgw_nl_ack_parse(nlh, &a) < 0 || a.portid != portid || a.seq - first_seq >= n)
                        continue;
                r = cb(&a, userdata);
                if (r != 0)
                        return r;
        }
        return 0;
}

int natgw_nl_dump_walk(const void *buf, size_t len, uint32_t portid, uint32_t seq, bool *intr,
                       natgw_nl_msg_cb cb, void *userdata) {
        const uint8_t *p = buf;
        const struct nlmsghdr *nlh;

        while ((nlh = natgw_nlmsg_next(&p, &len))) {
                int r;

                if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid)
                        continue;
                if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
                        *intr = true;
                if (nlh->nlmsg_type == NLMSG_DONE)
                        return 1;
                if (nlh->nlmsg_type == NLMSG_ERROR) {
                        struct natgw_nl_ack a;

                        if (natgw_nl_ack_parse(nlh, &a) < 0)
                                return -EPROTO;
                        return a.error < 0 ? a.error : 1;
                }
                if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
                        continue;
                r = cb(nlh, userdata);
                if (r != 0)
                        return r < 0 ? r : 2;
        }
        return 0;
}

struct natgw_nl *natgw_nl_free(struct natgw_nl *nl) {
        if (!nl)
                return NULL;
        if (nl->fd >= 0)
                close(nl->fd);
        free(nl);
        return NULL;
}

int natgw_nl_open(int protocol, unsigned flags, struct natgw_nl **ret) {
        _cleanup_(natgw_nl_freep) struct natgw_nl *nl = NULL;
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
        socklen_t sa_len = sizeof(sa);

        nl = calloc(1, sizeof(*nl));
        if (!nl)
                return -ENOMEM;
        /* Non-blocking always: the waits are poll()s with a deadline, never a blocking read. */
        nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
        if (nl->fd < 0)
                return -errno;
        if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            getsockname(nl->fd, (struct sockaddr *)&sa, &sa_len) < 0)
                return -errno;
        nl->portid = sa.nl_pid;
        nl->seq = (uint32_t)time(NULL);
        nl->idle_usec = flags & NATGW_NL_NONBLOCK ? 0 : IDLE_USEC_DEFAULT;
        nl->deadline = UINT64_MAX;
        *ret = TAKE_PTR(nl);
        return 0;
}

void natgw_nl_set_timeout(struct natgw_nl *nl, uint64_t idle_usec, uint64_t deadline) {
        nl->idle_usec = idle_usec;
        nl->deadline = deadline;
}

uint32_t natgw_nl_seq_peek(const struct natgw_nl *nl) {
        return nl->seq == UINT32_MAX ? 1 : nl->seq + 1;
}

uint32_t natgw_nl_seq(struct natgw_nl *nl, uint32_t n) {
        uint32_t first = natgw_nl_seq_peek(nl);

        if (n == 0)
                n = 1;
        /* A range that would hold 0 starts over at 1. */
        if (n - 1 > UINT32_MAX - first)
                first = 1;
        nl->seq = first + (n - 1);
        return first;
}

int natgw_nl_setsockopt(struct natgw_nl *nl, int opt, int value) {
        return setsockopt(nl->fd, SOL_NETLINK, opt, &value, sizeof(value)) < 0 ? -errno : 0;
}

static void set_buffer(int fd, int force_opt, int opt, size_t size) {
        int v = size > INT32_MAX / 2 ? INT32_MAX / 2 : (int)size;

        if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) < 0)
                (void)setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
}

void natgw_nl_set_buffers(struct natgw_nl *nl, size_t rcv, size_t snd) {
        if (rcv > 0)
                set_buffer(nl->fd, SO_RCVBUFFORCE, SO_RCVBUF, rcv);
        if (snd > 0)
                set_buffer(nl->fd, SO_SNDBUFFORCE, SO_SNDBUF, snd);
}

int natgw_nl_send(struct natgw_nl *nl, const void *buf, size_t len) {
        const struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
        ssize_t n;

        do
                n = sendto(nl->fd, buf, len, 0, (const struct sockaddr *)&kernel, sizeof(kernel));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        return (size_t)n == len ? 0 : -EMSGSIZE;
}

/* Wait until @nl is readable, within its idle time and its deadline. */
static int wait_readable(const struct natgw_nl *nl) {
        uint64_t now = natgw_mono_usec(), until = nl->deadline;

        if (nl->idle_usec == 0)
                return -EAGAIN;
        if (now < until && nl->idle_usec < until - now)
                until = now + nl->idle_usec;
        return natgw_wait_fd(nl->fd, POLLIN, until);
}

ssize_t natgw_nl_recv(struct natgw_nl *nl, void *buf, size_t size, bool *ret_trunc) {
        /* Past the deadline even an answer that is there is not read: a kernel that keeps
         * sending would keep the reader forever. */
        if (nl->deadline != UINT64_MAX && natgw_mono_usec() >= nl->deadline)
                return -ETIMEDOUT;
        for (;;) {
                struct sockaddr_nl sa = {};
                struct iovec iov = { .iov_base = buf, .iov_len = size };
                struct msghdr mh = { .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1 };
                ssize_t n;
                int r;

                n = recvmsg(nl->fd, &mh, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN && errno != EWOULDBLOCK)
                                return -errno;
                        r = wait_readable(nl);
                        if (r < 0)
                                return r;
                        continue;
                }
                /* Only the kernel speaks on these sockets; anyone else's datagram is dropped. */
                if (n == 0 || mh.msg_namelen < sizeof(sa) || sa.nl_pid != 0)
                        continue;
                if (ret_trunc)
                        *ret_trunc = mh.msg_flags & MSG_TRUNC;
                return n;
        }
}

size_t natgw_nl_recv_many(struct natgw_nl *nl, void *buf, size_t size, size_t n, size_t *lens, int *ret) {
        struct mmsghdr mm[NATGW_NL_RECV_MANY_MAX];
        struct sockaddr_nl sa[NATGW_NL_RECV_MANY_MAX];
        struct iovec iov[NATGW_NL_RECV_MANY_MAX];
        size_t kept = 0;

        *ret = 0;
        n = MIN(n, (size_t)NATGW_NL_RECV_MANY_MAX);
        if (nl->deadline != UINT64_MAX && natgw_mono_usec() >= nl->deadline) {
                *ret = -ETIMEDOUT;
                return 0;
        }
        for (;;) {
                int got;

                for (size_t i = 0; i < n; i++) {
                        sa[i] = (struct sockaddr_nl){};
                        iov[i] = (struct iovec){ .iov_base = (uint8_t *)buf + i * size, .iov_len = size };
                        mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &sa[i], .msg_namelen = sizeof(sa[i]),
                                                               .msg_iov = &iov[i], .msg_iovlen = 1 } };
                }
                got = recvmmsg(nl->fd, mm, (unsigned)n, MSG_DONTWAIT, NULL);
                if (got < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN && errno != EWOULDBLOCK) {
                                *ret = -errno;
                                return 0;
                        }
                        *ret = wait_readable(nl);
                        if (*ret < 0)
                                return 0;
                        continue;
                }
                /* As natgw_nl_recv(): only the kernel's datagrams, and none cut short. Those kept
                 * move up to the first free buffers. */
                for (size_t i = 0; i < MIN((size_t)got, n); i++) { /* got <= n: the bound for the analyzer */
                        if (mm[i].msg_len == 0 || mm[i].msg_hdr.msg_namelen < sizeof(sa[i]) || sa[i].nl_pid != 0)
                                continue;
                        if (mm[i].msg_hdr.msg_flags & MSG_TRUNC) {
                                *ret = -EMSGSIZE;
                                return 0;
                        }
                        if (kept != i)
                                memmove((uint8_t *)buf + kept * size, (uint8_t *)buf + i * size, mm[i].msg_len);
                        lens[kept++] = mm[i].msg_len;
                }
                if (kept > 0)
                        return kept;
        }
}

int natgw_nl_acks(struct natgw_nl *nl, uint32_t first_seq, uint32_t n, natgw_nl_ack_cb cb, void *userdata) {
        _cleanup_(freep) uint8_t *buf = malloc(ACK_RECV);

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t len = natgw_nl_recv(nl, buf, ACK_RECV, NULL);
                int r;

                if (len < 0)
                        return (int)len;
                r = natgw_nl_ack_walk(buf, (size_t)len, nl->portid, first_seq, n, cb, userdata);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
}

int natgw_nl_dump(struct natgw_nl *nl, struct nlmsghdr *req, natgw_nl_msg_cb cb, void *userdata) {
        _cleanup_(freep) uint8_t *buf = malloc(DUMP_RECV);
        bool intr = false;
        int r;

        if (!buf)
                return -ENOMEM;
        req->nlmsg_seq = natgw_nl_seq(nl, 1);
        r = natgw_nl_send(nl, req, req->nlmsg_len);
        if (r < 0)
                return r;
        for (;;) {
                ssize_t len = natgw_nl_recv(nl, buf, DUMP_RECV, NULL);

                /* Overrun: messages of the dump were lost; start again like an interrupted one. */
                if (len == -ENOBUFS)
                        return -EINTR;
                if (len < 0)
                        return (int)len;
                r = natgw_nl_dump_walk(buf, (size_t)len, nl->portid, req->nlmsg_seq, &intr, cb, userdata);
                if (r < 0)
                        return r;
                if (r == 2)
                        return 0;
                if (r == 1)
                        return intr ? -EINTR : 0;
        }
}

struct nlmsghdr *natgw_nfnl_put_header(void *buf, uint8_t subsys, uint8_t msg, uint16_t flags, uint8_t family) {
        struct nlmsghdr *nlh = buf;
        struct nfgenmsg *nfg = NLMSG_DATA(nlh);

        memset(buf, 0, NLMSG_LENGTH(sizeof(*nfg)));
        nlh->nlmsg_len = NLMSG_LENGTH(sizeof(*nfg));
        nlh->nlmsg_type = (uint16_t)(subsys << 8 | msg);
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
        nfg->nfgen_family = family;
        nfg->version = NFNETLINK_V0;
        return nlh;
}

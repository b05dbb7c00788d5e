/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * The one netlink transport of natgwd (base layer): a socket with its port id and sequence
 * numbers, buffer sizing, send, receive with a deadline, the ack and dump loops, and the walk
 * of what the kernel sends back with size_t bounds. libmnl's mnl_nlmsg_ok(), mnl_attr_for_each()
 * and mnl_cb_run() compare lengths as int and iterate to the aligned end of a message, which a
 * malformed message can push past its buffer (tests/fuzz found the first): they may build
 * messages, never read them.
 */

#include <linux/netlink.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The next message in [*p, *p + *len), advancing past it; NULL when none is complete. */
static inline const struct nlmsghdr *natgw_nlmsg_next(const uint8_t **p, size_t *len) {
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)*p;
        size_t step;

        if (*len < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > *len)
                return NULL;
        step = NLMSG_ALIGN(nlh->nlmsg_len);
        if (step > *len)
                step = *len;
        *p += step;
        *len -= step;
        return nlh;
}

/* The next attribute in [*p, end), advancing past it; NULL when none is complete. */
static inline const struct nlattr *natgw_nla_next(const uint8_t **p, const uint8_t *end) {
        const struct nlattr *a = (const struct nlattr *)*p;
        size_t step;

        if (end - *p < (ptrdiff_t)sizeof(*a) || a->nla_len < sizeof(*a) || a->nla_len > end - *p)
                return NULL;
        step = NLA_ALIGN(a->nla_len);
        *p = (size_t)(end - *p) < step ? end : *p + step;
        return a;
}

static inline uint16_t natgw_nla_type(const struct nlattr *a) {
        return a->nla_type & NLA_TYPE_MASK;
}

static inline const void *natgw_nla_data(const struct nlattr *a) {
        return (const uint8_t *)a + NLA_HDRLEN;
}

static inline size_t natgw_nla_len(const struct nlattr *a) {
        return a->nla_len - NLA_HDRLEN;
}

/* An unsigned big-endian integer attribute of @size bytes as the kernel sends it: its value when
 * the length is right, else 0. */
static inline uint64_t natgw_nla_uint(const struct nlattr *a, size_t size) {
        uint64_t v = 0;

        for (size_t i = 0; natgw_nla_len(a) == size && i < size; i++)
                v = v << 8 | ((const uint8_t *)natgw_nla_data(a))[i];
        return v;
}

#define natgw_nla_u8(a) ((uint8_t)natgw_nla_uint((a), 1))
#define natgw_nla_be16(a) ((uint16_t)natgw_nla_uint((a), 2))
#define natgw_nla_be32(a) ((uint32_t)natgw_nla_uint((a), 4))
#define natgw_nla_be64(a) natgw_nla_uint((a), 8)

/* The text of a string attribute: its length up to the first NUL, within the attribute. */
static inline size_t natgw_nla_strlen(const struct nlattr *a) {
        return strnlen(natgw_nla_data(a), natgw_nla_len(a));
}

/* Whether the text of string attribute @a is @s. */
static inline bool natgw_nla_streq(const struct nlattr *a, const char *s) {
        return natgw_nla_strlen(a) == strlen(s) && memcmp(natgw_nla_data(a), s, strlen(s)) == 0;
}

/* The payload of @a as the bounds of a nested attribute walk. */
static inline const uint8_t *natgw_nla_end(const struct nlattr *a) {
        return (const uint8_t *)a + a->nla_len;
}

/* The first attribute after a message's header and @extra bytes of family header (NULL when
 * the message is shorter); the walk ends at natgw_nlmsg_end(). */
static inline const uint8_t *natgw_nlmsg_attrs(const struct nlmsghdr *nlh, size_t extra) {
        if (nlh->nlmsg_len < NLMSG_HDRLEN + NLMSG_ALIGN(extra))
                return NULL;
        return (const uint8_t *)nlh + NLMSG_HDRLEN + NLMSG_ALIGN(extra);
}

static inline const uint8_t *natgw_nlmsg_end(const struct nlmsghdr *nlh) {
        return (const uint8_t *)nlh + nlh->nlmsg_len;
}

/* An errno the kernel sent (NLMSG_ERROR), as natgwd passes it on: 0 or -errno; -EPROTO for
 * anything a caller could not negate. */
static inline int natgw_nl_errno(int32_t error) {
        return error == 0 || (error < 0 && error > -4096) ? error : -EPROTO;
}

/* One NLMSG_ERROR message: an ack (error 0) or the error of the request with @seq. */
struct natgw_nl_ack {
        uint32_t seq;
        uint32_t portid;  /* nlmsg_pid: the port the answer was sent to */
        int error;        /* 0 or -errno (natgw_nl_errno()) */
        uint32_t offset;  /* NLMSGERR_ATTR_OFFS: bad attribute's offset in the request, UINT32_MAX none */
        char msg[128];    /* NLMSGERR_ATTR_MSG, "" none */
};

/**
 * natgw_nl_ack_parse() - read one NLMSG_ERROR message
 * @nlh: the message; its nlmsg_len must lie within the buffer (natgw_nlmsg_next() checks that)
 * @ret: filled on success
 *
 * Pure. The echoed request (absent when the kernel capped the ack) and the extended-ack
 * attributes after it are read only where they lie within the message: an echoed length below
 * a header or beyond the message leaves the extended ack out, a malformed attribute ends it.
 *
 * Return: 0; -EPROTO when @nlh is not an NLMSG_ERROR message or too short for its error.
 */
int natgw_nl_ack_parse(const struct nlmsghdr *nlh, struct natgw_nl_ack *ret);

/* Called per ack of the loops below: <0 stops with that error, 0 reads on, >0 ends (0). */
typedef int (*natgw_nl_ack_cb)(const struct natgw_nl_ack *a, void *userdata);
/* Called per message of a dump: <0 stops with that error, 0 reads on, >0 ends the dump (0). */
typedef int (*natgw_nl_msg_cb)(const struct nlmsghdr *nlh, void *userdata);

/**
 * natgw_nl_ack_walk() - hand the acks in @buf for requests @first_seq .. @first_seq + @n - 1 to @cb
 * @buf:       what one recv() returned
 * @len:       its length
 * @portid:    the socket's port id: acks sent to another port are not ours
 * @first_seq: the first request's sequence number
 * @n:         how many requests
 *
 * Pure; other messages and acks of other requests (left over from an earlier request whose
 * answers were not all read) are skipped. Return: what @cb returned last when it was not 0,
 * else 0.
 */
int natgw_nl_ack_walk(const void *buf, size_t len, uint32_t portid, uint32_t first_seq, uint32_t n,
                      natgw_nl_ack_cb cb, void *userdata);

/**
 * natgw_nl_dump_walk() - hand the messages in @buf of the dump @seq to @cb
 * @buf:     what one recv() returned
 * @len:     its length
 * @portid:  the socket's port id
 * @seq:     the dump request's sequence number; messages of other requests are skipped
 * @intr:    set when a message carries NLM_F_DUMP_INTR
 *
 * Pure. NLMSG_DONE ends the dump; an NLMSG_ERROR ends it with its error (error 0, the ack of a
 * request that was no dump, ends it too).
 * Return: 1 when the dump ended, 2 when @cb ended it, 0 when more is to come, -errno from the
 * kernel or from @cb.
 */
int natgw_nl_dump_walk(const void *buf, size_t len, uint32_t portid, uint32_t seq, bool *intr,
                       natgw_nl_msg_cb cb, void *userdata);

/* A netlink socket: bound, with its port id and its own sequence numbers. */
struct natgw_nl {
        int fd;
        uint32_t portid;
        uint32_t seq;          /* the last one handed out */
        uint64_t idle_usec;    /* longest wait for one read; 0: never wait (-EAGAIN) */
        uint64_t deadline;     /* CLOCK_MONOTONIC usec no read waits past (-ETIMEDOUT); UINT64_MAX: none */
};

#define NATGW_NL_NONBLOCK 0x1u

/**
 * natgw_nl_open() - open and bind a netlink socket
 * @protocol: NETLINK_NETFILTER, NETLINK_ROUTE, ...
 * @flags:    NATGW_NL_NONBLOCK: reads never wait (idle_usec 0), for sockets polled by an event loop
 * @ret:      the socket, freed with natgw_nl_free()
 *
 * Reads wait at most 10 s each unless natgw_nl_set_timeout() says otherwise.
 * Return: 0 or -errno; @ret is untouched on failure.
 */
int natgw_nl_open(int protocol, unsigned flags, struct natgw_nl **ret);
struct natgw_nl *natgw_nl_free(struct natgw_nl *nl);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct natgw_nl *, natgw_nl_free);

/* Each read waits at most @idle_usec, and none past @deadline (CLOCK_MONOTONIC, UINT64_MAX: none). */
void natgw_nl_set_timeout(struct natgw_nl *nl, uint64_t idle_usec, uint64_t deadline);

/* Reserve @n consecutive sequence numbers and return the first. None of them is 0: the kernel's
 * notifications carry 0, and an answer must never be taken for one, nor one for an answer. */
uint32_t natgw_nl_seq(struct natgw_nl *nl, uint32_t n);

/* The first sequence number natgw_nl_seq() will hand out, unless its range would hold 0: for
 * a batch that must know its numbers before it knows how many it needs. */
uint32_t natgw_nl_seq_peek(const struct natgw_nl *nl);

/* Set an SOL_NETLINK option (NETLINK_EXT_ACK, NETLINK_CAP_ACK, NETLINK_ADD_MEMBERSHIP). 0 or -errno. */
int natgw_nl_setsockopt(struct natgw_nl *nl, int opt, int value);

/* Size the receive (@rcv) and send (@snd) buffers, 0 leaves one alone. Best effort: the
 * FORCE options need CAP_NET_ADMIN; without it the kernel's maximum applies. */
void natgw_nl_set_buffers(struct natgw_nl *nl, size_t rcv, size_t snd);

/**
 * natgw_nfnl_put_header() - start an nfnetlink request at @buf (zeroed header, no attributes)
 * @buf:    room for the message
 * @subsys: NFNL_SUBSYS_*
 * @msg:    the subsystem's message type
 * @flags:  NLM_F_* besides NLM_F_REQUEST
 * @family: nfgen_family
 *
 * Return: the message, to which attributes may be added.
 */
struct nlmsghdr *natgw_nfnl_put_header(void *buf, uint8_t subsys, uint8_t msg, uint16_t flags, uint8_t family);

/* Send @len bytes (one or more messages) to the kernel in one datagram. 0 or -errno. */
int natgw_nl_send(struct natgw_nl *nl, const void *buf, size_t len);

/**
 * natgw_nl_recv() - read one datagram from the kernel, waiting as the socket's timeout allows
 * @nl:        socket
 * @buf:       where to
 * @size:      its size
 * @ret_trunc: set when the datagram was larger than @size (may be NULL)
 *
 * Datagrams from other senders than the kernel are dropped. Past the socket's deadline nothing
 * is read, not even what is queued.
 * Return: the length (> 0); -EAGAIN when the socket never waits and nothing is queued;
 * -ETIMEDOUT; -ENOBUFS when the socket overran (messages were lost); other -errno.
 */
ssize_t natgw_nl_recv(struct natgw_nl *nl, void *buf, size_t size, bool *ret_trunc);

/* At most this many datagrams per natgw_nl_recv_many(). */
#define NATGW_NL_RECV_MANY_MAX 64

/**
 * natgw_nl_recv_many() - read up to @n datagrams from the kernel in one system call (recvmmsg)
 * @nl:   socket
 * @buf:  @n buffers of @size bytes, back to back; datagram i lands in buffer i
 * @lens: the datagrams' lengths
 * @ret:  0, or the -errno natgw_nl_recv() would return; -EMSGSIZE for a datagram larger than @size
 *
 * For many small answers (one datagram each), where a system call per answer costs more than
 * the answer. Waits as natgw_nl_recv() for the first; takes what is queued up to @n
 * (NATGW_NL_RECV_MANY_MAX at most). Return: how many datagrams were read (0 with *@ret < 0).
 */
size_t natgw_nl_recv_many(struct natgw_nl *nl, void *buf, size_t size, size_t n, size_t *lens, int *ret);

/**
 * natgw_nl_acks() - read the acks of the requests @first_seq .. @first_seq + @n - 1 until @cb ends
 * @nl: socket the requests went out on
 *
 * Return: 0 when @cb ended the loop, its error when it returned one, or natgw_nl_recv()'s
 * -errno (-ENOBUFS: answers were lost, -ETIMEDOUT).
 */
int natgw_nl_acks(struct natgw_nl *nl, uint32_t first_seq, uint32_t n, natgw_nl_ack_cb cb, void *userdata);

/**
 * natgw_nl_dump() - send the dump request @req and hand each message of the answer to @cb
 * @nl:  socket; the request's nlmsg_seq is set to a new sequence number
 * @req: the request (NLM_F_DUMP, or any request answered with messages and NLMSG_DONE)
 *
 * Return: 0 when the dump ended or @cb ended it; -EINTR when the kernel flagged it
 * NLM_F_DUMP_INTR (the table changed under it) or the socket overran (ENOBUFS): the caller may
 * start again, on a new socket; the kernel's -errno; @cb's error; natgw_nl_recv()'s -errno.
 */
int natgw_nl_dump(struct natgw_nl *nl, struct nlmsghdr *req, natgw_nl_msg_cb cb, void *userdata);

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * natgw-nft-fault: an LD_PRELOAD module for the lab, never installed. It produces what natgwd's
 * validator cannot: a file that is valid, compiles, and is still refused by the kernel.
 *
 * While the file named by $NATGW_FAULT_FILE exists and holds a chain name (say "egress-dmz"),
 * every set element natgwd sends with the verdict "goto egress-dmz" is rewritten to go to a
 * chain of the same length that does not exist ("egress-dmX"). The kernel answers ENOENT for
 * that element, with the element as the bad attribute, and aborts the whole transaction.
 *
 * Only NFT_MSG_NEWSETELEM messages on NETLINK_NETFILTER sockets are looked at, and only the
 * verdict chain attribute of their elements is changed, in place and at the same length, so
 * every length and offset natgwd remembers stays true. The caller's buffer is never written:
 * what goes out is a rewritten copy. Each rewrite is logged to stderr, so a test can tell that
 * the fault fired.
 */

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

typedef ssize_t (*sendto_fn)(int, const void *, size_t, int, __CONST_SOCKADDR_ARG, socklen_t);
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);

#define NEWSETELEM ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM)

/* A step of a path that takes any attribute type. */
#define ANY_TYPE 0xffff

/*
 * Where the verdict chain sits in a NEWSETELEM message, from its first attribute down. The
 * kernel does not look at the type of the attributes inside the element list (natgwd uses
 * NFTA_LIST_ELEM, libnftnl numbers them 1, 2, 3, ...), so neither does this path.
 */
static const uint16_t verdict_chain_path[] = {
        NFTA_SET_ELEM_LIST_ELEMENTS, ANY_TYPE, NFTA_SET_ELEM_DATA, NFTA_DATA_VERDICT, NFTA_VERDICT_CHAIN,
};

/* The chain to break, from $NATGW_FAULT_FILE; false when there is no fault to inject. */
static bool fault_chain(char *buf, size_t size) {
        const char *path = getenv("NATGW_FAULT_FILE");
        int fd, saved = errno;
        ssize_t n;

        if (!path || !*path)
                return false;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                errno = saved;
                return false;
        }
        n = read(fd, buf, size - 1);
        close(fd);
        errno = saved;
        if (n <= 0)
                return false;
        buf[n] = 0;
        buf[strcspn(buf, " \t\r\n")] = 0;
        return buf[0] != 0;
}

static bool is_nfnetlink(int fd) {
        int domain = 0, proto = 0, saved = errno;
        socklen_t len = sizeof(int);
        bool r;

        r = getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_NETLINK &&
            (len = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0) &&
            proto == NETLINK_NETFILTER;
        errno = saved;
        return r;
}

/* Attributes in [buf, buf + len): each one checked to lie wholly inside before it is used. */
static bool attr_ok(const struct nlattr *a, const uint8_t *end) {
        const uint8_t *p = (const uint8_t *)a;

        return p + NLA_HDRLEN <= end && a->nla_len >= NLA_HDRLEN && a->nla_len <= end - p;
}

#define for_each_attr(a, buf, len)                                                                  \
        for (struct nlattr *a = (struct nlattr *)(buf); attr_ok(a, (uint8_t *)(buf) + (len));        \
             a = (struct nlattr *)((uint8_t *)a + NLA_ALIGN(a->nla_len)))

static uint8_t *attr_data(struct nlattr *a) {
        return (uint8_t *)a + NLA_HDRLEN;
}

static size_t attr_len(const struct nlattr *a) {
        return a->nla_len - NLA_HDRLEN;
}

/* Follow @path down the nests of [buf, buf + len); where it ends, @chain becomes @broken. */
static unsigned rewrite_path(uint8_t *buf, size_t len, const uint16_t *path, size_t depth, const char *chain,
                             const char *broken) {
        size_t n = strlen(chain);
        unsigned count = 0;

        for_each_attr(a, buf, len) {
                if (path[0] != ANY_TYPE && (a->nla_type & NLA_TYPE_MASK) != path[0])
                        continue;
                if (depth > 1) {
                        count += rewrite_path(attr_data(a), attr_len(a), path + 1, depth - 1, chain, broken);
                        continue;
                }
                /* The name with its NUL: "egress-dmz" must not match "egress-dmz2". */
                if (attr_len(a) < n + 1 || memcmp(attr_data(a), chain, n + 1) != 0)
                        continue;
                memcpy(attr_data(a), broken, n);
                count++;
        }
        return count;
}

#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* Rewrite the batch in @buf; returns the number of verdicts changed. */
static unsigned rewrite_batch(uint8_t *buf, size_t len, const char *chain, const char *broken) {
        size_t hdr = NLMSG_ALIGN(NLMSG_LENGTH(sizeof(struct nfgenmsg)));
        unsigned count = 0;

        /* NLMSG_OK/NLMSG_NEXT by hand, with sizes that never go negative. */
        while (len >= sizeof(struct nlmsghdr)) {
                struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
                size_t step;

                if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len)
                        break;
                if (nlh->nlmsg_type == NEWSETELEM && nlh->nlmsg_len >= hdr)
                        count += rewrite_path((uint8_t *)nlh + hdr, nlh->nlmsg_len - hdr, verdict_chain_path,
                                              sizeof(verdict_chain_path) / sizeof(verdict_chain_path[0]), chain,
                                              broken);
                step = MIN((size_t)NLMSG_ALIGN(nlh->nlmsg_len), len);
                buf += step;
                len -= step;
        }
        return count;
}

/* The chain to break when @fd is an nfnetlink socket and the fault file names one. */
static bool want_fault(int fd, char chain[NFT_CHAIN_MAXNAMELEN]) {
        return fault_chain(chain, NFT_CHAIN_MAXNAMELEN) && is_nfnetlink(fd);
}

static void inject(uint8_t *batch, size_t len, const char *chain) {
        char broken[NFT_CHAIN_MAXNAMELEN];
        size_t n = strlen(chain);
        unsigned count;

        /* Same length, last byte changed: a chain nobody created. */
        memcpy(broken, chain, n + 1);
        broken[n - 1] = broken[n - 1] == 'X' ? 'Y' : 'X';
        count = rewrite_batch(batch, len, chain, broken);
        fprintf(stderr, "natgw-nft-fault: \"goto %s\" made \"goto %s\" in %u set elements of a %zu-byte batch\n",
                chain, broken, count, len);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, __CONST_SOCKADDR_ARG addr, socklen_t addr_len) {
        static sendto_fn real;
        char chain[NFT_CHAIN_MAXNAMELEN];
        uint8_t *copy;
        ssize_t r;
        int saved;

        if (!real)
                real = (sendto_fn)dlsym(RTLD_NEXT, "sendto");
        if (!real) {
                errno = ENOSYS;
                return -1;
        }
        if (!buf || len == 0 || !want_fault(fd, chain) || !(copy = malloc(len)))
                return real(fd, buf, len, flags, addr, addr_len);
        memcpy(copy, buf, len);
        inject(copy, len, chain);
        r = real(fd, copy, len, flags, addr, addr_len);
        saved = errno;
        free(copy);
        errno = saved;
        return r;
}

/* The iovecs are gathered into one copy: a message may straddle two of them. */
ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
        static sendmsg_fn real;
        char chain[NFT_CHAIN_MAXNAMELEN];
        struct iovec iov;
        struct msghdr m;
        uint8_t *copy;
        size_t len = 0;
        ssize_t r;
        int saved;

        if (!real)
                real = (sendmsg_fn)dlsym(RTLD_NEXT, "sendmsg");
        if (!real) {
                errno = ENOSYS;
                return -1;
        }
        if (!msg || !msg->msg_iov || !want_fault(fd, chain))
                return real(fd, msg, flags);
        for (size_t i = 0; i < msg->msg_iovlen; i++)
                len += msg->msg_iov[i].iov_len;
        if (len == 0 || !(copy = malloc(len)))
                return real(fd, msg, flags);
        len = 0;
        for (size_t i = 0; i < msg->msg_iovlen; i++) {
                memcpy(copy + len, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
                len += msg->msg_iov[i].iov_len;
        }
        inject(copy, len, chain);
        iov = (struct iovec){ .iov_base = copy, .iov_len = len };
        m = *msg;
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        r = real(fd, &m, flags);
        saved = errno;
        free(copy);
        errno = saved;
        return r;
}

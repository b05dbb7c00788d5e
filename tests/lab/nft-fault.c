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
 *
 * The file may name another fault instead, as "KIND" or "KIND COUNT" (tests/lab/lab-kernel-faults.sh,
 * lab-table-owner.sh):
 *   helper-name         every conntrack helper object for "tftp" natgwd creates names "tftX"
 *                       instead, which no kernel has, so the kernel answers ENOENT as one
 *                       without the tftp helper's module does;
 *   table-flags         every NEWTABLE with table flags gets a flag no kernel knows, so the
 *                       kernel answers EOPNOTSUPP as one before 6.9 does for "persist";
 *   batch-enobufs N     the first read of the answers to the next N nftables batches fails
 *                       with ENOBUFS (the answers stay queued, as after a real overrun);
 *   ct-dump-enobufs N   the same for the next N conntrack table dumps;
 *   nft-dump-enobufs N  ... and for the next N dumps of nftables objects (counters);
 *   ct-dump-intr N      the next N conntrack dumps arrive flagged NLM_F_DUMP_INTR, as when the
 *                       table changed under the dump;
 *   nft-dump-intr N     ... and the next N dumps of nftables objects;
 *   ct-stats-eperm N    reading the answers to the next N conntrack statistics requests fails
 *                       with EPERM;
 *   ct-dump-stall N     every read of the next N conntrack dumps finds nothing (EAGAIN after
 *                       100 ms), as if the kernel stayed silent, until the socket sends again.
 * A request is matched when it is sent; COUNT is then written back one lower, so a test sees
 * how many were used. Only what natgwd reads is changed, never what the kernel holds.
 */

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef ssize_t (*sendto_fn)(int, const void *, size_t, int, __CONST_SOCKADDR_ARG, socklen_t);
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef ssize_t (*recvfrom_fn)(int, void *, size_t, int, __SOCKADDR_ARG, socklen_t *);
typedef ssize_t (*recvmsg_fn)(int, struct msghdr *, int);

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

enum fault_kind {
        FAULT_NONE,
        FAULT_VERDICT, /* the file names a chain */
        FAULT_TABLE_FLAGS,
        FAULT_BATCH_ENOBUFS,
        FAULT_CT_DUMP_ENOBUFS,
        FAULT_NFT_DUMP_ENOBUFS,
        FAULT_CT_DUMP_INTR,
        FAULT_NFT_DUMP_INTR,
        FAULT_CT_STATS_EPERM,
        FAULT_CT_DUMP_STALL,
        FAULT_HELPER_NAME,
};

/* The requests natgwd sends, told apart by their first message. */
enum request_class {
        REQ_OTHER,
        REQ_BATCH,    /* an nftables transaction */
        REQ_CT_DUMP,  /* IPCTNL_MSG_CT_GET, NLM_F_DUMP */
        REQ_NFT_DUMP, /* NFT_MSG_GET*, NLM_F_DUMP */
        REQ_CT_STATS, /* IPCTNL_MSG_CT_GET_STATS(_CPU) */
};

static const struct {
        const char *word;
        enum fault_kind kind;
        enum request_class req;
} fault_words[] = {
        { "table-flags", FAULT_TABLE_FLAGS, REQ_BATCH },
        { "helper-name", FAULT_HELPER_NAME, REQ_BATCH },
        { "batch-enobufs", FAULT_BATCH_ENOBUFS, REQ_BATCH },
        { "ct-dump-enobufs", FAULT_CT_DUMP_ENOBUFS, REQ_CT_DUMP },
        { "nft-dump-enobufs", FAULT_NFT_DUMP_ENOBUFS, REQ_NFT_DUMP },
        { "ct-dump-intr", FAULT_CT_DUMP_INTR, REQ_CT_DUMP },
        { "nft-dump-intr", FAULT_NFT_DUMP_INTR, REQ_NFT_DUMP },
        { "ct-stats-eperm", FAULT_CT_STATS_EPERM, REQ_CT_STATS },
        { "ct-dump-stall", FAULT_CT_DUMP_STALL, REQ_CT_DUMP },
};

struct fault {
        enum fault_kind kind;
        enum request_class req;
        const char *word;
        long count;
        char chain[NFT_CHAIN_MAXNAMELEN]; /* FAULT_VERDICT */
};

/* The fault $NATGW_FAULT_FILE asks for; false when there is none. errno is left as it was. */
static bool read_fault(struct fault *f) {
        const char *path = getenv("NATGW_FAULT_FILE");
        char buf[128], word[64];
        int fd, saved = errno, k;
        ssize_t n;

        *f = (struct fault){};
        if (!path || !*path)
                return false;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                errno = saved;
                return false;
        }
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        errno = saved;
        if (n <= 0)
                return false;
        buf[n] = 0;
        k = sscanf(buf, "%63s %ld", word, &f->count);
        if (k < 1)
                return false;
        for (size_t i = 0; i < sizeof(fault_words) / sizeof(fault_words[0]); i++)
                if (strcmp(word, fault_words[i].word) == 0) {
                        f->kind = fault_words[i].kind;
                        f->req = fault_words[i].req;
                        f->word = fault_words[i].word;
                        if (k < 2)
                                f->count = f->kind == FAULT_TABLE_FLAGS ? LONG_MAX : 1;
                        return f->count > 0;
                }
        if (strlen(word) >= sizeof(f->chain))
                return false;
        f->kind = FAULT_VERDICT;
        f->req = REQ_BATCH;
        memcpy(f->chain, word, strlen(word) + 1);
        return true;
}

/* One more request met the fault: write the count back, one lower. */
static void use_fault(const struct fault *f) {
        const char *path = getenv("NATGW_FAULT_FILE");
        char buf[128];
        int fd, saved = errno, len;

        if (f->kind == FAULT_VERDICT || f->kind == FAULT_TABLE_FLAGS)
                return;
        len = snprintf(buf, sizeof(buf), "%s %ld\n", f->word, f->count - 1);
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd >= 0) {
                if (write(fd, buf, (size_t)len) != len)
                        fprintf(stderr, "natgw-nft-fault: cannot update %s\n", path);
                close(fd);
        }
        errno = saved;
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

#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* Messages in [buf, buf + len), as NLMSG_OK/NLMSG_NEXT by hand with sizes that never go negative:
 * each one checked to lie wholly inside before it is used. */
static bool msg_ok(const struct nlmsghdr *nlh, const uint8_t *end) {
        const uint8_t *p = (const uint8_t *)nlh;

        return (size_t)(end - p) >= sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) && nlh->nlmsg_len <= (size_t)(end - p);
}

#define for_each_msg(nlh, buf, len)                                                                           \
        for (struct nlmsghdr *nlh = (struct nlmsghdr *)(buf); msg_ok(nlh, (uint8_t *)(buf) + (len));          \
             nlh = (struct nlmsghdr *)((uint8_t *)nlh + MIN((size_t)NLMSG_ALIGN(nlh->nlmsg_len),                 \
                                                          (size_t)((uint8_t *)(buf) + (len) - (uint8_t *)nlh))))

#define NFGEN_HDR NLMSG_ALIGN(NLMSG_LENGTH(sizeof(struct nfgenmsg)))

/* The attributes of an nfnetlink message, after its nfgenmsg; none when it is too short. */
static uint8_t *msg_attrs(struct nlmsghdr *nlh) {
        return (uint8_t *)nlh + MIN((size_t)NFGEN_HDR, (size_t)nlh->nlmsg_len);
}

static size_t msg_attrs_len(const struct nlmsghdr *nlh) {
        return nlh->nlmsg_len >= NFGEN_HDR ? nlh->nlmsg_len - NFGEN_HDR : 0;
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

/* Rewrite the batch in @buf; returns the number of verdicts changed. */
static unsigned rewrite_batch(uint8_t *buf, size_t len, const char *chain, const char *broken) {
        unsigned count = 0;

        for_each_msg(nlh, buf, len)
                if (nlh->nlmsg_type == NEWSETELEM)
                        count += rewrite_path(msg_attrs(nlh), msg_attrs_len(nlh), verdict_chain_path,
                                              sizeof(verdict_chain_path) / sizeof(verdict_chain_path[0]), chain,
                                              broken);
        return count;
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

#define NEWTABLE ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE)
/* A table flag no kernel has: what 6.9's "persist" is to a kernel before 6.9. */
#define UNKNOWN_TABLE_FLAG 0x80000000u

/* Add UNKNOWN_TABLE_FLAG where a NEWTABLE message sets table flags; returns how many. */
static unsigned rewrite_table_flags(uint8_t *buf, size_t len) {
        unsigned count = 0;

        for_each_msg(nlh, buf, len) {
                if (nlh->nlmsg_type == NEWTABLE)
                        for_each_attr(a, msg_attrs(nlh), msg_attrs_len(nlh)) {
                                uint32_t v;

                                if ((a->nla_type & NLA_TYPE_MASK) != NFTA_TABLE_FLAGS || attr_len(a) != sizeof(v))
                                        continue;
                                memcpy(&v, attr_data(a), sizeof(v));
                                if (v == 0)
                                        continue;
                                v |= htonl(UNKNOWN_TABLE_FLAG);
                                memcpy(attr_data(a), &v, sizeof(v));
                                count++;
                        }
        }
        if (count)
                fprintf(stderr, "natgw-nft-fault: table-flags: added 0x%x to the flags of %u NEWTABLE messages\n",
                        UNKNOWN_TABLE_FLAG, count);
        return count;
}

#define NEWOBJ ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWOBJ)

/* Make every tftp helper object created in the batch name a helper no kernel has. */
static unsigned rewrite_helper_names(uint8_t *buf, size_t len) {
        unsigned count = 0;

        for_each_msg(nlh, buf, len) {
                if (nlh->nlmsg_type == NEWOBJ)
                        for_each_attr(a, msg_attrs(nlh), msg_attrs_len(nlh)) {
                                if ((a->nla_type & NLA_TYPE_MASK) != NFTA_OBJ_DATA)
                                        continue;
                                for_each_attr(b, attr_data(a), attr_len(a)) {
                                        size_t n = attr_len(b);

                                        if ((b->nla_type & NLA_TYPE_MASK) != NFTA_CT_HELPER_NAME || n < 4 ||
                                            memcmp(attr_data(b), "tftp", 4) != 0)
                                                continue;
                                        attr_data(b)[3] = 'X';
                                        count++;
                                }
                        }
        }
        if (count)
                fprintf(stderr, "natgw-nft-fault: helper-name: %u ct helper objects for tftp name tftX\n", count);
        return count;
}

static enum request_class classify(const void *buf, size_t len) {
        const struct nlmsghdr *nlh = buf;
        uint16_t subsys, msg;

        if (!buf || len < sizeof(*nlh))
                return REQ_OTHER;
        if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN)
                return REQ_BATCH;
        subsys = NFNL_SUBSYS_ID(nlh->nlmsg_type);
        msg = NFNL_MSG_TYPE(nlh->nlmsg_type);
        if (subsys == NFNL_SUBSYS_CTNETLINK && msg == IPCTNL_MSG_CT_GET && (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP)
                return REQ_CT_DUMP;
        if (subsys == NFNL_SUBSYS_CTNETLINK && (msg == IPCTNL_MSG_CT_GET_STATS || msg == IPCTNL_MSG_CT_GET_STATS_CPU))
                return REQ_CT_STATS;
        if (subsys == NFNL_SUBSYS_NFTABLES && (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP)
                return REQ_NFT_DUMP;
        return REQ_OTHER;
}

/* What each netfilter socket's next reads are to suffer; set when a request is sent on it. */
#define FD_MAX 4096
static enum fault_kind armed[FD_MAX];

/*
 * Before natgwd sends the request in [buf, buf + len) on @fd: arm the socket's reads for a
 * fault that matches it. Returns the fault when the request itself is to be rewritten.
 */
static bool before_send(int fd, const void *buf, size_t len, struct fault *f) {
        enum request_class req;

        if (fd < 0 || fd >= FD_MAX || !is_nfnetlink(fd))
                return false;
        armed[fd] = FAULT_NONE;
        if (!read_fault(f))
                return false;
        req = classify(buf, len);
        if (req != f->req)
                return false;
        if (f->kind == FAULT_VERDICT || f->kind == FAULT_TABLE_FLAGS || f->kind == FAULT_HELPER_NAME)
                return true;
        armed[fd] = f->kind;
        use_fault(f);
        fprintf(stderr, "natgw-nft-fault: %s: armed for this request (%ld left)\n", f->word, f->count - 1);
        return false;
}

/* Rewrite an outgoing batch as the fault says. */
static void rewrite(uint8_t *batch, size_t len, const struct fault *f) {
        if (f->kind == FAULT_TABLE_FLAGS)
                rewrite_table_flags(batch, len);
        else if (f->kind == FAULT_HELPER_NAME)
                rewrite_helper_names(batch, len);
        else
                inject(batch, len, f->chain);
}

/* Before a read on @fd: -1 with errno set when the read is to fail, 0 otherwise. */
static int before_recv(int fd) {
        if (fd < 0 || fd >= FD_MAX)
                return 0;
        switch (armed[fd]) {
        case FAULT_BATCH_ENOBUFS:
        case FAULT_CT_DUMP_ENOBUFS:
        case FAULT_NFT_DUMP_ENOBUFS:
                armed[fd] = FAULT_NONE;
                errno = ENOBUFS;
                return -1;
        case FAULT_CT_STATS_EPERM:
                armed[fd] = FAULT_NONE;
                errno = EPERM;
                return -1;
        case FAULT_CT_DUMP_STALL:
                /* Stays armed; a pause, so that a reader that polls again does not spin. */
                usleep(100000);
                errno = EAGAIN;
                return -1;
        default:
                return 0;
        }
}

/* After a read of @n bytes into @buf on @fd: flag an interrupted dump's messages. */
static void after_recv(int fd, void *buf, ssize_t n) {
        if (fd < 0 || fd >= FD_MAX || n <= 0 || (armed[fd] != FAULT_CT_DUMP_INTR && armed[fd] != FAULT_NFT_DUMP_INTR))
                return;
        for_each_msg(nlh, buf, (size_t)n) {
                nlh->nlmsg_flags |= NLM_F_DUMP_INTR;
                if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR)
                        armed[fd] = FAULT_NONE;
        }
}

/* Find the next definition of @name (libc's, or a sanitizer's); false with errno set if none. */
#define RESOLVE(real, name)                                                       \
        ((real) || ((real) = (typeof(real))dlsym(RTLD_NEXT, name)) || (errno = ENOSYS, false))

ssize_t send(int fd, const void *buf, size_t len, int flags) {
        static send_fn real;
        struct fault f;

        if (!RESOLVE(real, "send"))
                return -1;
        /* natgwd's conntrack dump sends its request with send(); it is never rewritten. */
        (void)before_send(fd, buf, len, &f);
        return real(fd, buf, len, flags);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, __CONST_SOCKADDR_ARG addr, socklen_t addr_len) {
        static sendto_fn real;
        struct fault f;
        uint8_t *copy;
        ssize_t r;
        int saved;

        if (!RESOLVE(real, "sendto"))
                return -1;
        if (!buf || len == 0 || !before_send(fd, buf, len, &f) || !(copy = malloc(len)))
                return real(fd, buf, len, flags, addr, addr_len);
        memcpy(copy, buf, len);
        rewrite(copy, len, &f);
        r = real(fd, copy, len, flags, addr, addr_len);
        saved = errno;
        free(copy);
        errno = saved;
        return r;
}

/* The iovecs are gathered into one copy: a message may straddle two of them. */
ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
        static sendmsg_fn real;
        struct fault f;
        struct iovec iov;
        struct msghdr m;
        uint8_t *copy;
        size_t len = 0;
        ssize_t r;
        int saved;

        if (!RESOLVE(real, "sendmsg"))
                return -1;
        if (!msg || !msg->msg_iov || msg->msg_iovlen == 0 ||
            !before_send(fd, msg->msg_iov[0].iov_base, msg->msg_iov[0].iov_len, &f))
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
        rewrite(copy, len, &f);
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

ssize_t recv(int fd, void *buf, size_t len, int flags) {
        static recv_fn real;
        ssize_t n;

        if (!RESOLVE(real, "recv"))
                return -1;
        if (before_recv(fd) < 0)
                return -1;
        n = real(fd, buf, len, flags);
        after_recv(fd, buf, n);
        return n;
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, __SOCKADDR_ARG addr, socklen_t *addr_len) {
        static recvfrom_fn real;
        ssize_t n;

        if (!RESOLVE(real, "recvfrom"))
                return -1;
        if (before_recv(fd) < 0)
                return -1;
        n = real(fd, buf, len, flags, addr, addr_len);
        after_recv(fd, buf, n);
        return n;
}

/* libmnl reads with recvmsg() into one iovec. */
ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
        static recvmsg_fn real;
        ssize_t n;

        if (!RESOLVE(real, "recvmsg"))
                return -1;
        if (before_recv(fd) < 0)
                return -1;
        n = real(fd, msg, flags);
        if (msg && msg->msg_iovlen == 1 && n > 0 && (size_t)n <= msg->msg_iov[0].iov_len)
                after_recv(fd, msg->msg_iov[0].iov_base, n);
        return n;
}

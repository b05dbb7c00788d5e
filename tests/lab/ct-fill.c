/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * natgw-ct-fill: fill the conntrack table of the current network namespace, for the lab and
 * the benchmarks (tests/lab/lab-ct-fill.sh, tests/bench/bench-ct.py).
 *
 *   natgw-ct-fill --count N [--src CIDR] [--dst ADDR] [--dport P] [--proto tcp|udp]
 *                 [--timeout S] [--allow-full] [--max-seconds S] [--delete]
 *
 * Run it inside a lab namespace (ip netns exec gw-... natgw-ct-fill ...). It inserts N entries
 * with distinct tuples: SRC:SPORT -> DST:DPORT, the source address walking through CIDR
 * (default 10.99.0.0/16, every address of the prefix) and, once all are used, the source port
 * moving on (1024 upwards). TCP entries are ESTABLISHED, every entry ASSURED and SEEN_REPLY,
 * with a timeout of S seconds (default 600): exactly what neither early drop nor the garbage
 * collector may take away, so a full table stays full and the kernel really drops new
 * connections. nf_conntrack_max is read-only inside a child namespace, but the namespace's own
 * count is held against it: filling is the only way to test exhaustion for real.
 *
 * Speed: hundreds of IPCTNL_MSG_CT_NEW messages go out in one sendmsg() without an ack each;
 * the kernel answers only failures. The last message of each batch asks for an ack, so that
 * reading up to it collects every error of the batch. At the first "table full" refusal
 * (ENOMEM from ctnetlink: the count reached nf_conntrack_max and nothing could be dropped
 * early) no further batch is sent.
 *
 * --delete sends IPCTNL_MSG_CT_DELETE for the same N tuples instead (entries already gone count
 * as missing, not as failures).
 *
 * It prints one line on stdout:
 *   inserted=N failed=M first_error=E full=F missing=X unsent=U seconds=S per_second=R
 * ("deleted=" for --delete; E is an errno name or "none"; F are the failures that were a full
 * table, U the tuples never sent because it stopped early). Exit 0 when every entry was
 * inserted (deleted or missing), or with --allow-full when the only failures were a full table;
 * 1 otherwise; 2 for usage errors.
 *
 * Bounded: at most MAX_COUNT entries, at most --max-seconds (default 60) of sending, every read
 * within ACK_TIMEOUT_MS. It refuses to run in the namespace of PID 1 (the host's), where it
 * would fill the real table, unless --host-namespace says that is meant.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack_tcp.h>
#include <limits.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host-netns.h"
#include "lab-args.h"

#define MAX_COUNT (16u * 1024 * 1024)
#define SPORT_FIRST 1024u
#define SPORTS (65536u - SPORT_FIRST)
/* One sendmsg(): large enough that the syscall cost vanishes, small enough that the error
 * replies of a wholly refused batch (~400 messages) fit the receive buffer many times over. */
#define BATCH_BYTES (64 * 1024)
/* Room for one message: an IPv6 tuple pair, status, timeout and TCP state need about 250. */
#define MSG_MAX 512
#define SNDBUF (4 * BATCH_BYTES)
#define RCVBUF (8 * 1024 * 1024)
#define RECV_BYTES (256 * 1024)
#define ACK_TIMEOUT_MS 10000

struct opts {
        unsigned long count;
        int family, l4proto;
        uint8_t src[16], dst[16];
        unsigned src_len;
        uint16_t dport;
        uint32_t timeout;
        double max_seconds;
        bool del, allow_full, host_ns;
};

struct result {
        unsigned long sent, failed, full, missing;
        int first_error; /* negative errno, 0 none */
        bool timed_out;
};

static double now_sec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void usage(void) {
        fputs("usage: natgw-ct-fill --count N [--src CIDR] [--dst ADDR] [--dport P] [--proto tcp|udp]\n"
              "                     [--timeout S] [--allow-full] [--max-seconds S] [--delete]\n"
              "defaults: --src 10.99.0.0/16 --dst 198.51.100.1 --dport 80 --proto tcp --timeout 600\n"
              "          --max-seconds 60; run it inside a network namespace (ip netns exec NS ...)\n",
              stderr);
}

/* ADDR or ADDR/LEN into 16 bytes (4 used for IPv4); the length defaults to the full address. */
static int parse_prefix(const char *s, int *ret_family, uint8_t ret_addr[16], unsigned *ret_len) {
        char buf[INET6_ADDRSTRLEN + 8], *slash;
        unsigned long len;
        int family;

        if (strlen(s) >= sizeof(buf))
                return -EINVAL;
        strcpy(buf, s);
        slash = strchr(buf, '/');
        if (slash)
                *slash = '\0';
        memset(ret_addr, 0, 16);
        if (inet_pton(AF_INET, buf, ret_addr) == 1)
                family = AF_INET;
        else if (inet_pton(AF_INET6, buf, ret_addr) == 1)
                family = AF_INET6;
        else
                return -EINVAL;
        len = family == AF_INET ? 32 : 128;
        if (slash && parse_uint(slash + 1, 0, len, &len) < 0)
                return -EINVAL;
        *ret_family = family;
        *ret_len = (unsigned) len;
        return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o) {
        const char *src = "10.99.0.0/16", *dst = "198.51.100.1";
        unsigned long v;
        unsigned dst_len;
        int dst_family;

        *o = (struct opts) { .l4proto = IPPROTO_TCP, .dport = 80, .timeout = 600, .max_seconds = 60 };
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

                if (!strcmp(a, "--delete")) {
                        o->del = true;
                        continue;
                }
                if (!strcmp(a, "--allow-full")) {
                        o->allow_full = true;
                        continue;
                }
                if (!strcmp(a, "--host-namespace")) {
                        o->host_ns = true;
                        continue;
                }
                if (!val)
                        return -EINVAL;
                i++;
                if (!strcmp(a, "--count")) {
                        if (parse_uint(val, 1, MAX_COUNT, &o->count) < 0)
                                return -EINVAL;
                } else if (!strcmp(a, "--src"))
                        src = val;
                else if (!strcmp(a, "--dst"))
                        dst = val;
                else if (!strcmp(a, "--dport")) {
                        if (parse_uint(val, 1, 65535, &v) < 0)
                                return -EINVAL;
                        o->dport = (uint16_t) v;
                } else if (!strcmp(a, "--proto")) {
                        if (!strcmp(val, "tcp"))
                                o->l4proto = IPPROTO_TCP;
                        else if (!strcmp(val, "udp"))
                                o->l4proto = IPPROTO_UDP;
                        else
                                return -EINVAL;
                } else if (!strcmp(a, "--timeout")) {
                        /* The kernel keeps the timeout in jiffies in 32 bits: stay well inside. */
                        if (parse_uint(val, 1, 7 * 86400, &v) < 0)
                                return -EINVAL;
                        o->timeout = (uint32_t) v;
                } else if (!strcmp(a, "--max-seconds")) {
                        if (parse_uint(val, 1, 3600, &v) < 0)
                                return -EINVAL;
                        o->max_seconds = (double) v;
                } else
                        return -EINVAL;
        }
        if (!o->count || parse_prefix(src, &o->family, o->src, &o->src_len) < 0 ||
            parse_prefix(dst, &dst_family, o->dst, &dst_len) < 0) {
                fprintf(stderr, "natgw-ct-fill: --count is required; --src and --dst must be addresses\n");
                return -EINVAL;
        }
        if (dst_family != o->family || dst_len != (o->family == AF_INET ? 32u : 128u)) {
                fprintf(stderr, "natgw-ct-fill: --dst must be one address of the same family as --src\n");
                return -EINVAL;
        }
        return 0;
}

/* Addresses of the --src prefix that the walk uses: all of them, at most 2^32. */
static uint64_t src_addresses(const struct opts *o) {
        unsigned host = (o->family == AF_INET ? 32 : 128) - o->src_len;

        return host >= 32 ? (uint64_t) 1 << 32 : (uint64_t) 1 << host;
}

/* Tuple @i: address number i % addresses of the prefix, port SPORT_FIRST + i / addresses. The
 * host part of the prefix is cleared first, so adding the offset to the last 32 bits (all host
 * bits, or fewer than 32 host bits and a smaller offset) never carries into the prefix. */
static void src_tuple(const struct opts *o, uint64_t i, uint8_t ret_addr[16], uint16_t *ret_port) {
        unsigned bytes = o->family == AF_INET ? 4 : 16, bits = bytes * 8;
        uint64_t n = src_addresses(o);
        uint32_t last, off = (uint32_t) (i % n);

        memcpy(ret_addr, o->src, 16);
        for (unsigned b = o->src_len; b < bits; b++)
                ret_addr[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
        memcpy(&last, ret_addr + bytes - 4, 4);
        last = htonl(ntohl(last) + off);
        memcpy(ret_addr + bytes - 4, &last, 4);
        *ret_port = (uint16_t) (SPORT_FIRST + i / n);
}

static void set_tuple(struct nf_conntrack *ct, const struct opts *o, uint64_t i) {
        uint8_t src[16];
        uint16_t sport;

        src_tuple(o, i, src, &sport);
        if (o->family == AF_INET) {
                nfct_set_attr(ct, ATTR_IPV4_SRC, src);
                nfct_set_attr(ct, ATTR_REPL_IPV4_DST, src);
        } else {
                nfct_set_attr(ct, ATTR_IPV6_SRC, src);
                nfct_set_attr(ct, ATTR_REPL_IPV6_DST, src);
        }
        nfct_set_attr_u16(ct, ATTR_PORT_SRC, htons(sport));
        nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(sport));
}

/* The parts every entry shares; for a deletion only the tuple matters. */
static struct nf_conntrack *ct_template(const struct opts *o) {
        struct nf_conntrack *ct = nfct_new();

        if (!ct)
                return NULL;
        nfct_set_attr_u8(ct, ATTR_L3PROTO, (uint8_t) o->family);
        nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, (uint8_t) o->family);
        nfct_set_attr_u8(ct, ATTR_L4PROTO, (uint8_t) o->l4proto);
        nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, (uint8_t) o->l4proto);
        if (o->family == AF_INET) {
                nfct_set_attr(ct, ATTR_IPV4_DST, o->dst);
                nfct_set_attr(ct, ATTR_REPL_IPV4_SRC, o->dst);
        } else {
                nfct_set_attr(ct, ATTR_IPV6_DST, o->dst);
                nfct_set_attr(ct, ATTR_REPL_IPV6_SRC, o->dst);
        }
        nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(o->dport));
        nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(o->dport));
        if (o->del)
                return ct;
        /* ASSURED: neither early drop nor the garbage collector's early eviction may take it. */
        nfct_set_attr_u32(ct, ATTR_STATUS, IPS_ASSURED | IPS_SEEN_REPLY);
        nfct_set_attr_u32(ct, ATTR_TIMEOUT, o->timeout);
        if (o->l4proto == IPPROTO_TCP)
                nfct_set_attr_u8(ct, ATTR_TCP_STATE, TCP_CONNTRACK_ESTABLISHED);
        return ct;
}

static int socket_open(struct mnl_socket **ret, uint32_t *ret_portid) {
        struct mnl_socket *nl = NULL;
        int one = 1, snd = SNDBUF, rcv = RCVBUF, fd;

        nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!nl)
                return -errno;
        if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                int r = -errno;

                mnl_socket_close(nl);
                return r;
        }
        fd = mnl_socket_get_fd(nl);
        /* An error need not echo the request back: the sequence number says which it was. */
        (void) setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
        /* A batch larger than the send buffer is refused whole (EMSGSIZE); refusals of a
         * whole batch must fit the receive buffer, or they are lost (ENOBUFS). */
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
        *ret_portid = mnl_socket_get_portid(nl);
        *ret = nl;
        return 0;
}

static void count_error(const struct opts *o, struct result *res, int error) {
        if (o->del && error == -ENOENT) {
                res->missing++;
                return;
        }
        res->failed++;
        if (error == -ENOMEM || error == -ENOSPC)
                res->full++;
        if (!res->first_error)
                res->first_error = error;
}

/* Reads the answers to one batch (seq @first .. @last) until the ack of @last: errors are
 * counted, nothing else is expected. 0, or -errno when the answers cannot be read. */
static int read_batch(struct mnl_socket *nl, uint32_t portid, uint32_t first, uint32_t last, const struct opts *o,
                      struct result *res, uint8_t *buf) {
        uint32_t span = last - first;

        for (;;) {
                struct pollfd p = { .fd = mnl_socket_get_fd(nl), .events = POLLIN };
                const struct nlmsghdr *nlh = (const struct nlmsghdr *) buf;
                ssize_t n;
                int k, left;

                k = poll(&p, 1, ACK_TIMEOUT_MS);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -ETIMEDOUT;
                n = mnl_socket_recvfrom(nl, buf, RECV_BYTES);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno; /* ENOBUFS: answers were lost, the counts would lie */
                left = (int) n;
                for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
                        const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

                        if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_pid != portid ||
                            nlh->nlmsg_seq - first > span || mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
                                continue;
                        if (e->error)
                                count_error(o, res, e->error);
                        if (nlh->nlmsg_seq == last)
                                return 0;
                }
        }
}

/* Builds message @i of the run at @where; returns its aligned length or -errno. */
static int build_msg(void *where, struct nf_conntrack *ct, const struct opts *o, uint64_t i, uint32_t seq) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(where);
        struct nfgenmsg *nfg;

        nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | (o->del ? IPCTNL_MSG_CT_DELETE : IPCTNL_MSG_CT_NEW);
        /* EXCL: an existing entry is an error, not a silent update, so "inserted" is true. */
        nlh->nlmsg_flags = NLM_F_REQUEST | (o->del ? 0 : NLM_F_CREATE | NLM_F_EXCL);
        nlh->nlmsg_seq = seq;
        nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
        nfg->nfgen_family = (uint8_t) o->family;
        nfg->version = NFNETLINK_V0;
        nfg->res_id = 0;
        set_tuple(ct, o, i);
        if (nfct_nlmsg_build(nlh, ct) < 0)
                return -EINVAL;
        if (nlh->nlmsg_len > MSG_MAX)
                return -EOVERFLOW;
        return (int) NLMSG_ALIGN(nlh->nlmsg_len);
}

static int run(const struct opts *o, struct result *res) {
        static uint8_t out[BATCH_BYTES], in[RECV_BYTES];
        struct nf_conntrack *ct;
        struct mnl_socket *nl = NULL;
        uint32_t portid = 0, seq0 = (uint32_t) time(NULL);
        double deadline = now_sec() + o->max_seconds;
        uint64_t i = 0;
        int r;

        r = socket_open(&nl, &portid);
        if (r < 0)
                return r;
        ct = ct_template(o);
        if (!ct) {
                mnl_socket_close(nl);
                return -ENOMEM;
        }
        while (i < o->count && !res->full) {
                uint64_t first = i;
                size_t len = 0;
                struct nlmsghdr *last = NULL;

                if (now_sec() > deadline) {
                        res->timed_out = true;
                        break;
                }
                while (i < o->count && len + MSG_MAX <= sizeof(out)) {
                        r = build_msg(out + len, ct, o, i, seq0 + (uint32_t) i);
                        if (r < 0) {
                                i = first; /* nothing of this batch went out */
                                goto out;
                        }
                        last = (struct nlmsghdr *) (out + len);
                        len += (size_t) r;
                        i++;
                }
                /* Only the last message is acked: its ack ends the batch's answers. */
                last->nlmsg_flags |= NLM_F_ACK;
                if (mnl_socket_sendto(nl, out, len) < 0) {
                        r = -errno;
                        i = first;
                        goto out;
                }
                res->sent = i;
                r = read_batch(nl, portid, seq0 + (uint32_t) first, seq0 + (uint32_t) (i - 1), o, res, in);
                if (r < 0)
                        goto out;
        }
        r = 0;
out:
        res->sent = i;
        nfct_destroy(ct);
        mnl_socket_close(nl);
        return r;
}

static const char *errno_name(int error) {
        const char *s;

        if (!error)
                return "none";
        s = strerrorname_np(-error);
        return s ? s : "unknown";
}

int main(int argc, char **argv) {
        struct opts o;
        struct result res = {};
        unsigned long done;
        double t0, secs;
        int r;

        if (parse_opts(argc, argv, &o) < 0) {
                usage();
                return 2;
        }
        if ((uint64_t) o.count > src_addresses(&o) * SPORTS) {
                fprintf(stderr, "natgw-ct-fill: --count %lu: a /%u --src gives only %llu distinct tuples "
                        "(addresses x source ports %u-65535)\n", o.count, o.src_len,
                        (unsigned long long) (src_addresses(&o) * SPORTS), SPORT_FIRST);
                return 2;
        }
        if (in_host_netns() && !o.host_ns) {
                fprintf(stderr, "natgw-ct-fill: refusing to fill the host's own conntrack table; "
                                "run it inside a namespace (ip netns exec NS ...)\n");
                return 2;
        }

        t0 = now_sec();
        r = run(&o, &res);
        secs = now_sec() - t0;
        if (r < 0 && !res.first_error)
                res.first_error = r;
        done = res.sent - res.failed - res.missing;
        printf("%s=%lu failed=%lu first_error=%s full=%lu missing=%lu unsent=%lu seconds=%.3f per_second=%.0f\n",
               o.del ? "deleted" : "inserted", done, res.failed, errno_name(res.first_error), res.full, res.missing,
               o.count - res.sent, secs, secs > 0 ? (double) res.sent / secs : 0.0);
        fflush(stdout);

        if (r < 0)
                fprintf(stderr, "natgw-ct-fill: stopped after %lu messages: %s\n", res.sent, strerror(-r));
        if (res.timed_out)
                fprintf(stderr, "natgw-ct-fill: stopped after --max-seconds %.0f\n", o.max_seconds);
        if (res.full)
                fprintf(stderr, "natgw-ct-fill: the conntrack table is full: the kernel refused %lu entries\n",
                        res.full);
        if (r < 0 || res.timed_out)
                return 1;
        if (res.failed == 0 || (o.allow_full && res.failed == res.full))
                return 0;
        return 1;
}

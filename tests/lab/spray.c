/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * natgw-spray: one small UDP datagram from each of N source addresses, as fast as the kernel
 * takes them, for the bound of metrics.hosts (tests/lab/lab-hosts.sh, tests/bench/bench-hosts.py).
 *
 *   natgw-spray DST_ADDR DST_PORT --net A.B.C.D --count N [--sources K]
 *
 * Run inside a lab namespace: a raw socket (IPPROTO_RAW, the kernel fills in the IP checksum)
 * sends IPv4/UDP packets from A.B.C.D + 1, + 2, ... + N to DST (with --sources: from the first K
 * of them, in turn), 512 per sendmmsg(). Bounded: at most 10,000,000 packets and 60 s. Prints
 * "sprayed=N seconds=S cpu=C", C the CPU seconds of this process (the kernel forwards what a
 * veth sends in the sender's own context, so C is mostly the gateway's datapath); exit 0 when
 * all went out.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lab-args.h"

#define BATCH 512
#define MAX_COUNT 10000000ul
#define MAX_SECONDS 60.0

struct packet {
        uint8_t ip[20];
        uint8_t udp[8];
};

static double now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
        static struct packet pk[BATCH];
        static struct mmsghdr msgs[BATCH];
        static struct iovec iov[BATCH];
        struct sockaddr_in dst = { .sin_family = AF_INET };
        unsigned long port, count = 0, sent = 0, sources = 0;
        struct rusage ru;
        struct in_addr net = { 0 };
        double start;
        int fd;

        if ((argc != 7 && argc != 9) || inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1 ||
            parse_uint(argv[2], 1, 65535, &port) < 0 || strcmp(argv[3], "--net") ||
            inet_pton(AF_INET, argv[4], &net) != 1 || strcmp(argv[5], "--count") ||
            parse_uint(argv[6], 1, MAX_COUNT, &count) < 0 ||
            (argc == 9 && (strcmp(argv[7], "--sources") || parse_uint(argv[8], 1, MAX_COUNT, &sources) < 0))) {
                fprintf(stderr, "usage: natgw-spray DST_ADDR DST_PORT --net A.B.C.D --count N [--sources K] "
                                "(at most %lu)\n", MAX_COUNT);
                return 2;
        }
        if (sources == 0)
                sources = count;
        fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
        if (fd < 0) {
                perror("natgw-spray: socket");
                return 1;
        }
        start = now();
        while (sent < count && now() - start < MAX_SECONDS) {
                unsigned n = 0;
                int r;

                for (; n < BATCH && sent + n < count; n++) {
                        uint32_t src = htonl(ntohl(net.s_addr) + (uint32_t)((sent + n) % sources + 1));
                        uint16_t len = htons(sizeof(struct packet)), dport = htons((uint16_t)port),
                                 sport = htons(40000), ulen = htons(8);

                        memset(&pk[n], 0, sizeof(pk[n]));
                        pk[n].ip[0] = 0x45;
                        memcpy(pk[n].ip + 2, &len, 2);
                        pk[n].ip[8] = 64;
                        pk[n].ip[9] = IPPROTO_UDP;
                        memcpy(pk[n].ip + 12, &src, 4);
                        memcpy(pk[n].ip + 16, &dst.sin_addr, 4);
                        memcpy(pk[n].udp, &sport, 2);
                        memcpy(pk[n].udp + 2, &dport, 2);
                        memcpy(pk[n].udp + 4, &ulen, 2);
                        iov[n] = (struct iovec){ .iov_base = &pk[n], .iov_len = sizeof(pk[n]) };
                        msgs[n] = (struct mmsghdr){ .msg_hdr = { .msg_name = &dst, .msg_namelen = sizeof(dst),
                                                                 .msg_iov = &iov[n], .msg_iovlen = 1 } };
                }
                r = sendmmsg(fd, msgs, n, 0);
                if (r < 0) {
                        if (errno == ENOBUFS || errno == EAGAIN)
                                continue;
                        perror("natgw-spray: sendmmsg");
                        break;
                }
                sent += (unsigned long)r;
        }
        close(fd);
        getrusage(RUSAGE_SELF, &ru);
        printf("sprayed=%lu seconds=%.2f cpu=%.3f\n", sent, now() - start,
               (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                       (double)ru.ru_stime.tv_usec / 1e6);
        return sent == count ? 0 : 1;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Argument parsing shared by the lab's tools (natgw-peer, natgw-ct-fill, natgw-load). */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* A decimal number in [min, max], nothing else; 0 or -EINVAL. */
static inline int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *ret) {
        char *end;
        unsigned long v;

        if (!s || !*s || *s == '-' || *s == '+')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || v < min || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* ADDR (IPv4, IPv6, or [IPv6]) with PORT into a sockaddr; 0 or -EINVAL. */
static inline int parse_addr(const char *s, uint16_t port, struct sockaddr_storage *ret, socklen_t *ret_len) {
        char buf[INET6_ADDRSTRLEN + 2];
        size_t n = strlen(s);
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
        struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };

        if (n >= sizeof(buf))
                return -EINVAL;
        if (n > 2 && s[0] == '[' && s[n - 1] == ']') {
                memcpy(buf, s + 1, n - 2);
                buf[n - 2] = '\0';
        } else
                memcpy(buf, s, n + 1);

        memset(ret, 0, sizeof(*ret));
        if (inet_pton(AF_INET, buf, &sin.sin_addr) == 1) {
                memcpy(ret, &sin, sizeof(sin));
                *ret_len = sizeof(sin);
                return 0;
        }
        if (inet_pton(AF_INET6, buf, &sin6.sin6_addr) == 1) {
                memcpy(ret, &sin6, sizeof(sin6));
                *ret_len = sizeof(sin6);
                return 0;
        }
        return -EINVAL;
}

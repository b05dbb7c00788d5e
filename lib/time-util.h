/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The one clock helper of natgwd (base layer): microseconds of a clock, a wait with a deadline,
 * and a realtime timestamp as RFC 3339 UTC text.
 */

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Microseconds of @clock (CLOCK_MONOTONIC for durations and deadlines, CLOCK_REALTIME for
 * timestamps shown to people). */
static inline uint64_t natgw_now_usec(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Monotonic microseconds: durations and deadlines. */
static inline uint64_t natgw_mono_usec(void) {
        return natgw_now_usec(CLOCK_MONOTONIC);
}

/* The poll() timeout from @now until @deadline (both CLOCK_MONOTONIC usec): milliseconds,
 * rounded up so that the wait never ends before the deadline. */
static inline int natgw_poll_ms(uint64_t now, uint64_t deadline) {
        uint64_t ms = now < deadline ? (deadline - now + 999) / 1000 : 0;

        return ms < INT_MAX ? (int)ms : INT_MAX;
}

/* Wait until @fd has one of @events, at most until @deadline (CLOCK_MONOTONIC usec). 0 when
 * it has, -ETIMEDOUT, or poll()'s -errno (EINTR is waited through). */
static inline int natgw_wait_fd(int fd, short events, uint64_t deadline) {
        for (;;) {
                struct pollfd p = { .fd = fd, .events = events };
                uint64_t now = natgw_mono_usec();
                int k;

                if (now >= deadline)
                        return -ETIMEDOUT;
                k = poll(&p, 1, natgw_poll_ms(now, deadline));
                if (k > 0)
                        return 0;
                if (k < 0 && errno != EINTR)
                        return -errno;
        }
}

/**
 * natgw_format_time() - a CLOCK_REALTIME timestamp as "YYYY-MM-DDTHH:MM:SSZ"
 * @realtime_usec: microseconds since the epoch
 * @buf:           at least 21 bytes
 * @size:          its size
 *
 * Return: @buf ("?" when the time cannot be formatted).
 */
static inline const char *natgw_format_time(uint64_t realtime_usec, char *buf, size_t size) {
        time_t t = (time_t)(realtime_usec / 1000000u);
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
                if (size > 1) {
                        buf[0] = '?';
                        buf[1] = '\0';
                }
        }
        return buf;
}

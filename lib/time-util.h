/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The one clock helper of natgwd (base layer): microseconds of a clock, and a realtime
 * timestamp as RFC 3339 UTC text.
 */

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

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * SHA-256 (FIPS 180-4) of a buffer in memory: the checksum natgwd shows for each config file in
 * force, so that an operator can compare it with sha256sum(1) of the file on disk.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NATGW_SHA256_SIZE 32
#define NATGW_SHA256_HEX (2 * NATGW_SHA256_SIZE + 1)

/* The digest of @len bytes at @data into @ret. */
void natgw_sha256(const void *data, size_t len, uint8_t ret[NATGW_SHA256_SIZE]);

/* The same digest by the portable code alone, and whether natgw_sha256() uses the processor's
 * SHA instructions instead: for the tests, which compare the two. */
void natgw_sha256_generic(const void *data, size_t len, uint8_t ret[NATGW_SHA256_SIZE]);
bool natgw_sha256_accelerated(void);

/* @digest as 64 lowercase hex digits and a NUL; returns @buf. */
char *natgw_sha256_hex(const uint8_t digest[NATGW_SHA256_SIZE], char buf[NATGW_SHA256_HEX]);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * The elements of one set of table inet natgw as the kernel holds them (NFT_MSG_GETSETELEM
 * dump), for natgwctl diagnose: reading is allowed to every process, the owner flag only keeps
 * others from changing the table.
 */

#include <linux/netlink.h>
#include <stddef.h>
#include <stdint.h>

/* One element as the kernel dumps it: the bytes of its key, key end (interval sets; else
 * NULL, 0) and data (maps; else NULL, 0); its counter (sets with a counter per element). */
struct natgw_nft_elem {
        const uint8_t *key, *key_end, *data;
        size_t key_len, key_end_len, data_len;
        bool has_counter;
        uint64_t packets, bytes;
};

/* Called per element: <0 stops the walk with that error, else it goes on. */
typedef int (*natgw_nft_elem_cb)(const struct natgw_nft_elem *e, void *userdata);

/**
 * natgw_nft_elems_parse() - hand the elements of one NFT_MSG_NEWSETELEM message of set @set of
 * table inet natgw to @cb
 * @nlh: the message; its nlmsg_len must lie within the buffer (natgw_nlmsg_next() checks that)
 *
 * Pure; nothing outside the message is read. Elements of another table or set are skipped.
 * Return: 0, @cb's error, or -EPROTO when @nlh is no element message.
 */
int natgw_nft_elems_parse(const struct nlmsghdr *nlh, const char *set, natgw_nft_elem_cb cb, void *userdata);

/**
 * natgw_nft_elems_read() - dump the elements of set @set of table inet natgw, each to @cb
 * @deadline: CLOCK_MONOTONIC usec no read waits past
 * @restart:  called before each try (a dump the table changed under is tried again, from the
 *            start): the caller forgets what @cb saw; may be NULL
 *
 * On a socket of its own.
 * Return: 0; -ENOENT when the table or the set is not there; other -errno.
 */
int natgw_nft_elems_read(const char *set, uint64_t deadline, void (*restart)(void *userdata), natgw_nft_elem_cb cb,
                         void *userdata);

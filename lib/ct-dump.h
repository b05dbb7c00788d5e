/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * A fast dump of the conntrack table over raw ctnetlink: per entry only what aggregation needs
 * (the original tuple and the TCP state), parsed straight from the messages without building a
 * libnetfilter_conntrack object per entry.
 */

#include <linux/netlink.h>
#include <stdint.h>

struct natgw_ct_tuple {
        uint8_t family;      /* AF_INET or AF_INET6 */
        uint8_t l4proto;
        uint8_t tcp_state;   /* TCP_CONNTRACK_*; 0xff: none */
        uint16_t sport, dport; /* host byte order; 0 for protocols without ports */
        uint8_t src[16], dst[16]; /* IPv4 in the first 4 bytes, the rest zero */
};

/**
 * natgw_ct_tuple_parse() - the original tuple of one IPCTNL_MSG_CT_NEW message of a dump
 * @nlh: the message; its nlmsg_len must lie within the buffer (natgw_nlmsg_next() checks that)
 * @ret: filled on success
 *
 * Return: 0; -EPROTO when the message is not a conntrack entry with an IPv4/IPv6 original tuple.
 */
int natgw_ct_tuple_parse(const struct nlmsghdr *nlh, struct natgw_ct_tuple *ret);

/* Called for each entry; return false to stop the dump. */
typedef bool (*natgw_ct_dump_cb)(const struct natgw_ct_tuple *t, void *userdata);

/**
 * natgw_ct_dump() - walk the conntrack table of this network namespace (both families)
 * @cb:       called once per entry
 * @userdata: passed on
 *
 * Return: 0 when the table was walked to its end or @cb stopped it; -EINTR when the kernel
 * reported the dump inconsistent or the socket overran (ENOBUFS): the caller may start again;
 * other -errno.
 */
int natgw_ct_dump(natgw_ct_dump_cb cb, void *userdata);

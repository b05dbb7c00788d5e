/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * The one dump of the conntrack table, over raw ctnetlink: each entry parsed straight from its
 * message (no libnetfilter_conntrack object per entry) into what its readers need: the tuples
 * for the top sources and the watch, the translation and what names the entry for the stale
 * cleanup.
 */

#include <linux/netlink.h>
#include <stdint.h>

#include "ct-stale.h"

struct natgw_ct_tuple {
        uint8_t family;      /* AF_INET or AF_INET6 */
        uint8_t l4proto;
        uint8_t tcp_state;   /* TCP_CONNTRACK_*; 0xff: none (the entry's, in both tuples) */
        uint16_t sport, dport; /* host byte order; 0 for protocols without ports */
        struct natgw_addr src, dst; /* of the tuple's family */
        bool has_ports;      /* CTA_PROTO_SRC_PORT and _DST_PORT were there (TCP, UDP, SCTP, GRE keys, ...) */
        bool has_icmp;       /* CTA_PROTO_ICMP(V6)_ID, _TYPE and _CODE were there */
        uint8_t icmp_type, icmp_code;
        uint16_t icmp_id;    /* host byte order */
        bool has_zone;       /* CTA_TUPLE_ZONE (a directional zone) */
        uint16_t zone;
};

/* One entry of the dump. */
struct natgw_ct_record {
        struct natgw_ct_tuple orig, reply;
        bool has_reply;
        struct natgw_ct_entry entry; /* for natgw_ct_stale_classify(); valid when has_reply */
        bool has_id, has_zone;
        uint32_t id;   /* CTA_ID: a deletion naming it spares an entry made anew with the same tuple */
        uint16_t zone; /* CTA_ZONE */
        uint32_t status; /* CTA_STATUS: IPS_* (IPS_SEEN_REPLY: the reply direction was seen) */
};

/**
 * natgw_ct_record_parse() - one IPCTNL_MSG_CT_NEW message of a dump
 * @nlh: the message; its nlmsg_len must lie within the buffer (natgw_nlmsg_next() checks that)
 * @ret: filled on success
 *
 * Pure; anything may be in the message, nothing outside it is read.
 * Return: 0; -EPROTO when the message is not a conntrack entry with an IPv4/IPv6 original tuple.
 */
int natgw_ct_record_parse(const struct nlmsghdr *nlh, struct natgw_ct_record *ret);

/* Called for each entry: <0 stops the dump with that error, 0 reads on, >0 stops it (0). */
typedef int (*natgw_ct_record_cb)(const struct natgw_ct_record *r, void *userdata);

/**
 * natgw_ct_dump_records() - walk the conntrack table of this network namespace (both families)
 * @deadline: CLOCK_MONOTONIC usec after which no read waits (-ETIMEDOUT); UINT64_MAX: none
 * @cb:       called once per entry
 * @userdata: passed on
 *
 * Each read waits at most 10 s.
 * Return: 0 when the table was walked to its end or @cb stopped it; -EINTR when the kernel
 * reported the dump inconsistent or the socket overran (ENOBUFS): the caller may start again;
 * @cb's error; other -errno.
 */
int natgw_ct_dump_records(uint64_t deadline, natgw_ct_record_cb cb, void *userdata);

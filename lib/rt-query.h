/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * Reads of the routing subsystem over rtnetlink (the rt subsystem): a link by name, the
 * addresses of a link, the route the kernel would take to an address, and a neighbour entry.
 * Each is one request on the shared transport (nl.c) with a deadline; nothing is changed.
 * Parsing is pure and separate from the reads, so that tests can feed it messages.
 */

#include <linux/netlink.h>
#include <net/if.h>
#include <stdint.h>

#include "addr.h"

#define NATGW_RT_ADDRS_MAX 32

struct natgw_rt_link {
        int ifindex;
        char name[IFNAMSIZ];
        unsigned flags;     /* IFF_* */
        bool up;            /* IFF_UP: administratively up */
        bool carrier;       /* IFF_LOWER_UP: the link has a carrier */
        uint8_t operstate;  /* IF_OPER_* */
};

struct natgw_rt_addr {
        struct natgw_prefix prefix; /* the address and its prefix length */
        uint8_t scope;              /* RT_SCOPE_* */
};

struct natgw_rt_route {
        uint8_t type;               /* RTN_UNICAST, RTN_LOCAL, RTN_UNREACHABLE, ... */
        int oif;                    /* 0: none */
        bool has_gateway, has_prefsrc;
        struct natgw_addr gateway;  /* the next hop when not on link */
        struct natgw_addr prefsrc;  /* the source address the kernel would pick */
};

/**
 * natgw_rt_link_get() - the link named @name
 * @deadline: CLOCK_MONOTONIC usec no read waits past
 *
 * Return: 0; -ENODEV when there is no such link; other -errno.
 */
int natgw_rt_link_get(const char *name, uint64_t deadline, struct natgw_rt_link *ret);

/* The name of link @ifindex into @buf (IFNAMSIZ); "?" when it cannot be read. */
const char *natgw_rt_link_name(int ifindex, char *buf);

/**
 * natgw_rt_addrs() - the addresses (both families) of link @ifindex
 * @ret:   room for @max addresses; more are left out
 * @ret_n: how many were put there
 *
 * Return: 0 or -errno.
 */
int natgw_rt_addrs(int ifindex, uint64_t deadline, struct natgw_rt_addr *ret, size_t max, size_t *ret_n);

/**
 * natgw_rt_route_get() - the route the kernel takes to @dst (as `ip route get`)
 * @src: the source, or NULL; with @iif > 0 the lookup is for a packet arriving on @iif
 *
 * Return: 0; -ENETUNREACH, -EHOSTUNREACH... as the kernel says there is no route; other -errno.
 */
int natgw_rt_route_get(const struct natgw_addr *dst, const struct natgw_addr *src, int iif, uint64_t deadline,
                       struct natgw_rt_route *ret);

/**
 * natgw_rt_neigh_get() - the state of the neighbour entry for @addr on link @ifindex
 * @ret_state: NUD_* of the entry
 *
 * Return: 0; -ENOENT when there is none; other -errno.
 */
int natgw_rt_neigh_get(int ifindex, const struct natgw_addr *addr, uint64_t deadline, uint16_t *ret_state);

/* "reachable", "stale", "failed", ... for a NUD_* state. */
const char *natgw_rt_nud_name(uint16_t state);

/* Pure parsers of one RTM_NEWLINK / RTM_NEWADDR / RTM_NEWROUTE message: 0, or -EPROTO. */
int natgw_rt_link_parse(const struct nlmsghdr *nlh, struct natgw_rt_link *ret);
int natgw_rt_addr_parse(const struct nlmsghdr *nlh, int *ret_ifindex, struct natgw_rt_addr *ret);
int natgw_rt_route_parse(const struct nlmsghdr *nlh, struct natgw_rt_route *ret);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * Who else changes table inet natgw. Where the kernel has no owner flag (< 6.9: natgwd makes
 * its table without flags), any process may delete or edit the table. The monitor listens to
 * the kernel's nftables notifications (NFNLGRP_NFTABLES) and reports the changes to table
 * inet natgw that another netlink socket made: the kernel names the sender's port id in
 * nlmsg_pid of each notification, and NFT_MSG_NEWGEN closes each transaction with the pid and
 * name of the process that sent it.
 *
 * What to do about a change (restore the table, how often) is the caller's business;
 * natgw_restore_limit is the arithmetic of "how often".
 */

#include <stdint.h>

#define NATGW_NFT_OBJECT_MAX 64

/* What the notifications read so far say; zero-initialize, then let reads accumulate into it. */
struct natgw_nft_change {
        uint32_t changes;       /* foreign notifications about table inet natgw (saturates) */
        bool table_deleted;     /* one of them deleted the table itself */
        uint16_t first_type;    /* NFT_MSG_* of the first */
        uint32_t first_portid;  /* its sender's netlink port id */
        char first_object[NATGW_NFT_OBJECT_MAX]; /* the chain, map or counter it named ("" none) */
        uint32_t pid;           /* NFTA_GEN_PROC_PID of that sender's transaction, 0: not seen */
        char comm[16];          /* NFTA_GEN_PROC_NAME of it ("" not seen) */
        bool lost;              /* ENOBUFS or a truncated read: notifications were lost */
        uint32_t messages;      /* notifications parsed, anyone's */
        uint32_t malformed;     /* messages that did not parse (skipped) */
};

/**
 * natgw_nft_monitor_parse() - add what the notifications in @buf say to @acc
 * @buf:         what one recv() returned: zero or more netlink messages
 * @len:         its length
 * @own_portid:  natgwd's own socket (natgw_nft_portid()): its changes are not counted
 * @acc:         accumulates
 *
 * Counts NFT_MSG_NEW* / DEL* / DESTROY* of tables, chains, rules, sets, set elements, objects
 * and flowtables of table "natgw" in family NFPROTO_INET sent by another port id (port id 0,
 * the kernel itself, counts as another). The kernel's messages are input too: anything may be
 * in @buf, nothing outside it is read, a malformed message is skipped.
 */
void natgw_nft_monitor_parse(const void *buf, size_t len, uint32_t own_portid, struct natgw_nft_change *acc);

/**
 * natgw_nft_change_describe() - what @c says happened, in words
 *
 * "was deleted", "was changed (rule deleted in chain prerouting, 3 changes)", "may have
 * changed (notifications were lost)". Return: @buf.
 */
const char *natgw_nft_change_describe(const struct natgw_nft_change *c, char *buf, size_t size);

/* "nft, pid 1234, netlink port 3912": who sent the first change, as far as is known. */
const char *natgw_nft_change_who(const struct natgw_nft_change *c, char *buf, size_t size);

struct natgw_nft_monitor;

/**
 * natgw_nft_monitor_new() - a non-blocking netfilter socket subscribed to NFNLGRP_NFTABLES
 * @ret: the monitor; poll natgw_nft_monitor_fd() for input, then natgw_nft_monitor_read()
 *
 * Return: 0 or -errno.
 */
int natgw_nft_monitor_new(struct natgw_nft_monitor **ret);
struct natgw_nft_monitor *natgw_nft_monitor_free(struct natgw_nft_monitor *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct natgw_nft_monitor *, natgw_nft_monitor_free);

int natgw_nft_monitor_fd(const struct natgw_nft_monitor *m);

/* natgw_nft_monitor_read() stopped at its bound: more is pending (not an error). */
#define NATGW_NFT_MONITOR_MORE 1

/**
 * natgw_nft_monitor_read() - read the pending notifications into @acc
 * @m:          the monitor
 * @own_portid: natgwd's own socket
 * @acc:        accumulates (natgw_nft_monitor_parse()); ENOBUFS sets @acc->lost
 *
 * Reads until the socket is empty, but at most a bounded number of datagrams per call, so
 * that a flood of notifications cannot hold the caller's loop.
 * Return: 0 when everything pending was read; NATGW_NFT_MONITOR_MORE when the bound was hit
 * (call again); -errno when the socket failed.
 */
int natgw_nft_monitor_read(struct natgw_nft_monitor *m, uint32_t own_portid, struct natgw_nft_change *acc);

/**
 * natgw_nft_table_exists() - ask the kernel whether table inet natgw exists (NFT_MSG_GETTABLE)
 *
 * On a short-lived socket of its own, bounded in time.
 * Return: 1 when it does, 0 when it does not, -errno when the kernel could not be asked.
 */
int natgw_nft_table_exists(void);

/*
 * How often natgwd restores its table: at most once a second; after NATGW_RESTORE_BURST
 * attempts within NATGW_RESTORE_WINDOW_USEC (someone keeps undoing them, or they keep
 * failing) at most once per NATGW_RESTORE_PAUSE_USEC, until a quiet window has passed.
 * Times are CLOCK_MONOTONIC microseconds.
 */
#define NATGW_RESTORE_INTERVAL_USEC (1000u * 1000u)
#define NATGW_RESTORE_BURST 5
#define NATGW_RESTORE_WINDOW_USEC (120u * 1000u * 1000u)
#define NATGW_RESTORE_PAUSE_USEC (60u * 1000u * 1000u)

struct natgw_restore_limit {
        uint64_t attempts[NATGW_RESTORE_BURST]; /* the last attempts, a ring */
        size_t n;                               /* attempts recorded (saturates at the ring's size) */
        size_t next;                            /* the ring's next slot */
        bool paused;                            /* the last natgw_restore_limit_next() paused */
};

/**
 * natgw_restore_limit_next() - the earliest time the next restore may run
 * @l:             the limit
 * @now:           the time now
 * @ret_new_pause: set to true when this call begins a pause (to be said once), else false
 *
 * Return: a CLOCK_MONOTONIC time; at or before @now means at once.
 */
uint64_t natgw_restore_limit_next(struct natgw_restore_limit *l, uint64_t now, bool *ret_new_pause);

/* Record an attempt (successful or not) at @now. */
void natgw_restore_limit_record(struct natgw_restore_limit *l, uint64_t now);

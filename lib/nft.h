/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * natgwd's view of nftables: one table, inet natgw, made to match the config in one
 * transaction: replaced as a whole on the first apply, updated in place after that.
 */

#include <stdint.h>

#include "conf.h"

struct natgw_nft;

/* Table flags (not yet in every kernel header): with OWNER only natgwd's socket may change the
 * table, with PERSIST it outlives that socket. */
#define NATGW_TABLE_F_OWNER 0x2u
#define NATGW_TABLE_F_PERSIST 0x4u

/* The chain of egress entry NAME's allow list is "allow-NAME"; its denied counter "denied:NAME"
 * (":" is in no entry's name); the forward filter's drops count in "filter:forward". */
#define NATGW_ALLOW_CHAIN_PREFIX "allow-"
#define NATGW_DENIED_COUNTER_PREFIX "denied:"
#define NATGW_FILTER_COUNTER "filter:forward"
/* Entry NAME's traffic (every packet of its connections, both directions) counts in "bytes:NAME",
 * from the base chain "account" (hook forward, after the filter). */
#define NATGW_BYTES_COUNTER_PREFIX "bytes:"
#define NATGW_ACCOUNT_CHAIN "account"

/*
 * metrics.hosts: the inside hosts' traffic, per host and direction, in four dynamic sets of
 * counters ("hosts4_out" keyed by the source of what a host sends, "hosts4_in" by the
 * destination of what it receives; "hosts6_*" the same for IPv6). An element goes after
 * NATGW_HOSTS_TIMEOUT_SEC without traffic; a set holds at most NATGW_HOSTS_MAX elements, and a
 * packet of a host that finds its set full is counted in "hosts:untracked" instead.
 */
#define NATGW_HOSTS_MAX 65536u
#define NATGW_HOSTS_TIMEOUT_SEC 300u
#define NATGW_HOSTS_UNTRACKED_COUNTER "hosts:untracked"

/* Name of the host set of @family for what hosts send (@out) or receive. */
static inline const char *natgw_hosts_set_name(int family, bool out) {
        if (family == AF_INET)
                return out ? "hosts4_out" : "hosts4_in";
        return out ? "hosts6_out" : "hosts6_in";
}


struct natgw_apply_stats {
        uint64_t compile_usec; /* config -> plan -> batch (every batch built) */
        uint64_t kernel_usec;  /* sendmsg of the batch until the last ack: the kernel's share */
        bool update;           /* the table was updated in place (else replaced as a whole) */
        uint64_t bytes;        /* size of the batch */
        uint32_t messages;
        uint64_t elements;
        uint32_t table_flags;  /* NATGW_TABLE_F_* the table was created with */
};

/**
 * natgw_nft_new() - open the netfilter netlink socket natgwd keeps for its lifetime
 * @ret: the handle, freed with natgw_nft_free()
 *
 * Return: 0 or -errno.
 */
int natgw_nft_new(struct natgw_nft **ret);
struct natgw_nft *natgw_nft_free(struct natgw_nft *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct natgw_nft *, natgw_nft_free);

/**
 * natgw_nft_apply() - replace table inet natgw with what @c describes, in one transaction
 * @n:      handle
 * @c:      validated config
 * @errors: when the kernel rejects the transaction, why, mapped to the config entry
 * @stats:  optional, filled on success
 *
 * The kernel applies all of it or none of it: on failure the running table is unchanged.
 * After a successful apply through @n, the next one updates the table in place (the table,
 * base chains, kept maps and the counters of entries that keep their name stay; their content
 * is replaced in the same transaction). When the kernel rejects an update, natgwd replaces the
 * table as a whole instead; if that succeeds, a warning in @errors says the table had changed.
 * The table is created with the owner and persist flags where the kernel has them (so no
 * other process can change it and it outlives natgwd), and without flags where it has not.
 *
 * Return: 0; -EINVAL when the kernel rejected the batch (@errors says why); other -errno on
 * transport failures (also described in @errors).
 */
int natgw_nft_apply(struct natgw_nft *n, const struct natgw_config *c, struct natgw_errors *errors,
                    struct natgw_apply_stats *stats);

/*
 * natgw_nft_apply(), and @during(@userdata) while the kernel takes a replace's batch, in a
 * thread of its own beside the one that finishes the state (nothing of @n, nothing the
 * transaction reads). Not at all when no such thread runs (an update, no thread): the caller
 * does after the apply what @during did not.
 */
int natgw_nft_apply_during(struct natgw_nft *n, const struct natgw_config *c, void (*during)(void *userdata),
                           void *userdata, struct natgw_errors *errors, struct natgw_apply_stats *stats);

/**
 * natgw_nft_validate() - have the kernel check what natgw_nft_apply() would send, and change nothing
 * @n:      handle (the table's owner: a batch from any other socket is refused before it is checked)
 * @c:      validated config
 * @errors: what the kernel refused, mapped to the config entry; a warning when the update a
 *          reload would send is refused but the replace it falls back to is not
 * @stats:  optional, filled when the kernel accepts (kernel_usec: its share)
 *
 * The very batches of a reload (an update of the table the last apply left, else a replace),
 * each sent without its BATCH_END: the kernel runs every message through its checks (module
 * autoload included), answers each, then aborts the transaction (NFNL_ABORT_VALIDATE). The
 * table, its generation and what @n remembers of the table stay as they were.
 *
 * Return: 0 when the kernel would accept it; -EINVAL when it refuses (@errors says why);
 * other -errno on transport failures.
 */
int natgw_nft_validate(struct natgw_nft *n, const struct natgw_config *c, struct natgw_errors *errors,
                       struct natgw_apply_stats *stats);

/* Forget what the last batch left: the next natgw_nft_apply() replaces the table as a whole
 * (when the table is known to have changed behind natgwd's back). */
void natgw_nft_forget(struct natgw_nft *n);

/* The netlink port id of natgwd's socket: the table's owner, and the sender of its batches as
 * nftables notifications name it. */
uint32_t natgw_nft_portid(const struct natgw_nft *n);

/**
 * natgw_nft_trace() - put the trace rule of natgwctl diagnose --watch for forward @f into table
 * inet natgw (@on), or take it away
 *
 * Through natgwd's own socket: the table's owner flag refuses every other. The rule lives in a
 * chain of its own (nft-trace.h) that no apply names, so reloads leave it; a replace of the table
 * takes it away with the table.
 * Return: 0 (also when there was nothing to take away) or -errno.
 */
int natgw_nft_trace(struct natgw_nft *n, const struct natgw_forward *f, bool on);

/**
 * natgw_nft_ha_guard() - put the HA guard for @vips into table inet natgw, or take it away
 * @n:      natgwd's socket (the owner flag refuses every other)
 * @vips:   the pair's virtual addresses (the "ha" hint)
 * @n_vips: their number; 0 takes the guard away
 * @udp:    drop new UDP datagrams to the VIPs too (a node known to be backup or in fault)
 *
 * Chain ha-guard drops TCP segments to a VIP that find no connection and are no SYN, so that a
 * node that has just got the VIPs does not reset the connections conntrackd has not committed
 * yet, and with @udp new UDP datagrams to a VIP, so that they do not take a committed flow's
 * translated port (lib/nft-guard.h). Like the trace chain it lives outside the config: a replace of the
 * table takes it away. Return: 0 (also when there was nothing to take away) or -errno.
 */
int natgw_nft_ha_guard(struct natgw_nft *n, const struct natgw_prefix *vips, size_t n_vips, bool udp);

/* Delete table inet natgw; 0 also when there was none. */
int natgw_nft_delete(struct natgw_nft *n, struct natgw_errors *errors);

/* One named counter of table inet natgw: an entry's name and what its counter counted. */
struct natgw_counter {
        char *name;
        uint64_t packets, bytes;
};

/**
 * natgw_nft_dump_counters() - read every named counter of table inet natgw
 * @ret:   array of counters (free with natgw_counters_free())
 * @ret_n: its length
 *
 * Uses a socket of its own: a read never interferes with the owner's socket.
 * Return: 0; -ENOENT when there is no table inet natgw; other -errno.
 */
int natgw_nft_dump_counters(struct natgw_counter **ret, size_t *ret_n);

/**
 * natgw_nft_get_counters() - read the named counters @names of table inet natgw, each by name
 * @names:   the counters' names (a name may come more than once: its counter comes as often)
 * @n_names: their number
 * @ret:     the counters the table has, in the order of @names (free with natgw_counters_free())
 * @ret_n:   their number; a name the table has no counter of is left out
 *
 * One request per name instead of a dump of the table's counters, 256 requests to a datagram
 * and their answers read before the next, 64 to a system call (recvmmsg): the kernel finds each
 * by its name's hash, so the time grows with @n_names, not with the table. A socket of its own, as
 * natgw_nft_dump_counters().
 * Return: 0; -ENOENT when there is no table inet natgw; other -errno.
 */
int natgw_nft_get_counters(const char *const *names, size_t n_names, struct natgw_counter **ret, size_t *ret_n);
void natgw_counters_free(struct natgw_counter *v, size_t n);

/* From this many counters on (two per forward), natgw_nft_read_counters() asks for them by
 * name. Measured (docs/PERFORMANCE.md), the dump against by name: 10,000 counters 7-8 against
 * 12-14 ms, 25,000 26-27 against 35-36 ms, 50,000 67-89 against 62-76 ms, 100,000 0.27-0.66 s
 * against 0.13-0.14 s, 200,000 2.2-2.3 s against 0.27 s. */
#define NATGW_COUNTERS_BY_NAME_MIN 50000

/**
 * natgw_nft_read_counters() - read the named counters of table inet natgw that natgwd made
 * @n:     the owner, which knows the counters its last batch left
 * @ret:   array of counters (free with natgw_counters_free()); sorted by name when read by name
 * @ret_n: its length
 *
 * The kernel's dump of named objects starts each of its 32 KiB messages with a walk of the
 * table's objects from the first: its time grows with the square of their number. From
 * NATGW_COUNTERS_BY_NAME_MIN counters on, and when @n knows them (the last batch was committed),
 * they are asked for by name (natgw_nft_get_counters()), in time linear in their number;
 * else they are dumped (natgw_nft_dump_counters(): then also counters natgwd did not make).
 * Return: as natgw_nft_dump_counters().
 */
int natgw_nft_read_counters(const struct natgw_nft *n, struct natgw_counter **ret, size_t *ret_n);

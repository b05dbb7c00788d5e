/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * Stale conntrack entries: after a reload, the entries that still carry a translation the new
 * config no longer makes. A NAT binding lives in its conntrack entry, not in the rules: without
 * this, a UDP flow that keeps sending (or a TCP connection) would keep using a forward target
 * or an SNAT address that was removed, for as long as the flow lasts.
 *
 * The decision is pure (two configs and one entry in, yes or no out, no kernel): see
 * natgw_ct_stale_check(). natgw_ct_stale_clean() applies it to the conntrack table of the
 * current network namespace.
 */

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"

/*
 * One conntrack entry, as much of it as the decision needs. Addresses and ports are those of
 * the two tuples the kernel keeps: the original direction as the client sent it, the reply
 * direction as the far end answers. After a DNAT the reply source is the forward's target;
 * after an SNAT or MASQUERADE the reply destination is the translated source address.
 */
struct natgw_ct_entry {
        int family;       /* AF_INET or AF_INET6 */
        uint8_t l4proto;  /* IPPROTO_*; the ports are 0 for protocols without ports */
        struct natgw_addr orig_src, orig_dst;
        uint16_t orig_sport, orig_dport; /* host byte order */
        struct natgw_addr reply_src, reply_dst;
        uint16_t reply_sport, reply_dport;
        bool src_nat;     /* IPS_SRC_NAT: the source of the original direction was translated */
        bool dst_nat;     /* IPS_DST_NAT: the destination was translated */
        uint8_t tcp_state; /* TCP_CONNTRACK_*, 0xff none */
};

/* Two configs, indexed for natgw_ct_stale_check(). */
struct natgw_ct_stale;

/**
 * natgw_ct_stale_new() - prepare the decision between the config in force and the next one
 * @old: the config the entries were made under (must outlive the result)
 * @new: the config just applied (must outlive the result)
 * @ret: the prepared decision, freed with natgw_ct_stale_free()
 *
 * Both configs must be validated (natgw_config_load_*()): the lookups rely on what validation
 * guarantees (no two forwards claim the same packet, the ports of one forward do not overlap,
 * no two egress entries share a source prefix on one interface).
 *
 * Return: 0 or -ENOMEM. @ret is untouched on failure.
 */
int natgw_ct_stale_new(const struct natgw_config *old, const struct natgw_config *new,
                       struct natgw_ct_stale **ret);
struct natgw_ct_stale *natgw_ct_stale_free(struct natgw_ct_stale *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct natgw_ct_stale *, natgw_ct_stale_free);

/**
 * natgw_ct_stale_possible() - whether any conntrack entry at all can be stale
 * @s: the prepared decision
 *
 * False when every forward and every egress entry of the old config is also in the new one,
 * compared by content (names, lines and the order of entries do not matter), and no egress
 * source added by the new config lies inside an old source on the same out_interface (where
 * it would take addresses over from the old entry). New forwards cannot take a packet from
 * an old one that is still there: validation rejects forwards that claim the same packet.
 * Then natgw_ct_stale_check() is false for every entry, and the table need not be read.
 * A port or prefix list written in another order counts as a change here; it only costs a
 * read of the table, which then deletes nothing.
 *
 * Return: true when natgw_ct_stale_check() may be true for some entry.
 */
bool natgw_ct_stale_possible(const struct natgw_ct_stale *s);

/**
 * natgw_ct_stale_check() - whether an entry carries a translation the new config does not make
 * @s: the prepared decision (old and new config)
 * @e: the entry
 *
 * An entry is stale when the old config explains its translation and the new config would
 * not translate the same packet the same way. An entry the old config does not explain (no
 * NAT at all, another table's NAT, a forward or egress entry natgwd never had) is kept.
 *
 * DNAT (@e->dst_nat, TCP or UDP): an old forward explains the entry when it matches the
 * original direction (family; protocol among its protos; original destination port among its
 * ports; original destination equal to its destination, if it has one; original source inside
 * one of its allow_from prefixes, if it has any) and translates to the reply source: its
 * ``to`` address and the port its to_port_mode gives (KEEP: the same port, SINGLE: that port,
 * RANGE: the same offset into the target range). conntrack does not record the input
 * interface, so the entry is kept when, for some old forward F that explains it, the new
 * config has a forward that explains it too and takes packets from every interface F took them
 * from: the same in_interface as F, or no in_interface. (F without in_interface and a new one
 * bound to an interface: the flow may have come in elsewhere, the entry is stale.) A forward
 * without destination is taken to match any original destination: the gateway's local
 * addresses are not known here.
 *
 * SNAT and MASQUERADE (@e->src_nat, any protocol): for each out_interface of the old config,
 * the egress entry with the most specific source prefix containing the original source (as the
 * compiler resolves it) explains the entry when it is a masquerade entry (any address), or an
 * snat entry whose pool contains the reply destination. The entry is kept when, for some such
 * old entry E, the new config's most specific egress entry for the original source on E's
 * out_interface is an snat entry whose pool contains the reply destination, or is a masquerade
 * entry and E was one too. A more specific egress entry added on that interface thus takes the
 * address over, and a pool that shrank keeps only the entries translated into what is left. A
 * source translation that kept the address (a port-only change the kernel makes to resolve a
 * clash) is no egress translation and is left alone.
 *
 * An entry with both translations is stale when either side is.
 *
 * Return: true when @e should be deleted.
 */
bool natgw_ct_stale_check(const struct natgw_ct_stale *s, const struct natgw_ct_entry *e);

struct natgw_ct_stale_stats {
        bool dumped;       /* false: natgw_ct_stale_possible() said no entry can be stale */
        uint64_t seen;     /* entries read from the table */
        uint64_t stale;    /* of those, stale ones */
        uint64_t deleted;  /* deleted by us */
        uint64_t vanished; /* gone before our deletion reached them (expired or deleted): no error */
        uint64_t failed;   /* deletions the kernel refused */
        int first_error;   /* -errno of the first refused deletion, 0: none */
        uint64_t usec;     /* time spent, reading and deleting */
        bool timed_out;    /* stopped at the overall deadline (-ETIMEDOUT): the rest was left alone */
};

/**
 * natgw_ct_stale_clean() - delete the stale conntrack entries of the current network namespace
 * @old:   the config that was in force until now
 * @new:   the config just applied
 * @stats: what was done; filled in on success and on failure (up to the failure)
 *
 * Does nothing when natgw_ct_stale_possible() is false. Otherwise dumps the table (IPv4 and
 * IPv6 in one dump), decides each entry with natgw_ct_stale_check() and deletes the stale ones
 * on a second netlink socket, in batches of bounded size sent while the dump goes on: memory
 * stays bounded however large the table is. Each deletion names the entry's id, so that an
 * entry that expired and was made anew (under the new config) in the meantime is not deleted.
 * An entry that is gone by the time its deletion arrives counts as vanished, not as an error.
 *
 * All of it, reading and deleting, ends within an overall deadline of a few seconds: the
 * daemon waits for it and the watchdog waits for the daemon. At the deadline it stops where it
 * is, and says so in @stats->timed_out.
 *
 * Return: 0 when the table was read to its end (@stats->failed may still count refused
 * deletions); -errno when the table could not be read or the deletions not sent (a dump the
 * kernel interrupted, a socket that stayed silent for 10 s, -ETIMEDOUT at the deadline): what
 * was deleted until then stays deleted, and @stats says how much that was.
 */
int natgw_ct_stale_clean(const struct natgw_config *old, const struct natgw_config *new,
                         struct natgw_ct_stale_stats *stats);

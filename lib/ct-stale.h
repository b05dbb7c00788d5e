/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * Stale conntrack entries: after a reload, the entries that still carry a translation the new
 * config no longer makes. A NAT binding lives in its conntrack entry, not in the rules: without
 * this, a UDP flow that keeps sending (or a TCP connection) would keep using a forward target
 * or an SNAT address that was removed, for as long as the flow lasts.
 *
 * The other half: the entries of flows that went untranslated (to the gateway itself, routed
 * without NAT, or nowhere) and that an added or widened entry now translates. The kernel looks
 * at the NAT rules only for a flow's first packet: a UDP client that keeps sending would never
 * reach a forward added after it started, however long the operator waits.
 *
 * The decision is pure (two configs and one entry in, a verdict out, no kernel): see
 * natgw_ct_stale_classify(). natgw_ct_stale_clean() applies it to the conntrack table of the
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

/* What natgw_ct_stale_classify() says of one entry, and why. */
enum natgw_ct_verdict {
        NATGW_CT_KEEP,             /* nothing changed for it */
        NATGW_CT_KEEP_ESTABLISHED, /* a live TCP connection an added entry now covers: kept */
        NATGW_CT_STALE_ADDED,      /* an untranslated flow an added or widened entry now takes */
        NATGW_CT_STALE_CHANGED,    /* its translation's entry was changed */
        NATGW_CT_STALE_REMOVED,    /* its translation's entry was removed */
        NATGW_CT_STALE_DENIED,     /* the allow list of its egress entry now denies it */
        NATGW_CT_VERDICT_COUNT,
};

/* Two configs, indexed for natgw_ct_stale_classify(). */
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
 * Nor has an entry been added or widened: no forward or egress entry of the new config is
 * missing from the old one, compared the same way. Nor has an allow list changed, nor a netmap
 * (natgw_ct_netmaps_changed()).
 * Then natgw_ct_stale_classify() keeps every entry, and the table need not be read.
 * A port or prefix list written in another order counts as a change here; it only costs a
 * read of the table, which then deletes nothing.
 *
 * Return: true when natgw_ct_stale_classify() may find some entry stale.
 */
bool natgw_ct_stale_possible(const struct natgw_ct_stale *s);

/**
 * natgw_ct_stale_classify() - what to do with an entry after a reload, and why
 * @s:        the prepared decision (old and new config)
 * @e:        the entry
 * @ret_name: optional; the name of the entry behind the verdict (the old entry that explained
 *            a stale translation, the new entry that takes an untranslated flow), NULL for
 *            NATGW_CT_KEEP. It points into the configs.
 *
 * An entry is stale when the old config explains its translation and the new config would
 * not translate the same packet the same way, or when it went untranslated and the new config
 * translates it. An entry the old config does not explain
 * (another table's NAT, a forward or egress entry natgwd never had) and the new config does not
 * take is kept.
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
 * Netmaps decide first, as they translate first: see natgw_ct_netmap_classify() (a flow of a
 * removed or changed netmap is stale, one an added netmap takes is NATGW_CT_STALE_ADDED, a live
 * untranslated TCP connection excepted).
 * An entry with both translations is stale when either side is.
 *
 * Stale translations come first: NATGW_CT_STALE_REMOVED when the new config has no entry of
 * the explaining entry's name, NATGW_CT_STALE_CHANGED when it has one with other content,
 * NATGW_CT_STALE_ADDED when the explaining entry is unchanged (a more specific egress entry was
 * added and takes the address over).
 *
 * Then flows an allow list now denies: NATGW_CT_STALE_DENIED when the flow's source was
 * translated by an egress entry (the old config's most specific entry for its source on some
 * out_interface explains the translation) and the new config's most specific entry on that
 * out_interface has an allow list that does not allow the flow's protocol, original
 * destination and port (natgw_egress_allows()). Live TCP connections too: the point of
 * narrowing a list is to cut them. Their next packet meets the list as a new connection.
 *
 * Then untranslated flows the new config takes. conntrack records neither the input nor the
 * output interface, so the decision over-approximates the way it does for stale entries: a
 * flow is taken when the new config would translate it on some interface where the old one
 * would not have.
 *
 * Forwards (TCP and UDP entries with neither IPS_DST_NAT nor IPS_SRC_NAT: a flow another rule
 * translated was not left untranslated): some new forward G matches the original direction
 * (as for an old forward above, allow_from included) and no old forward that matches it takes
 * packets from every interface G takes them from (G's in_interface, or none). An old forward
 * that took the packet on G's interfaces would have translated the flow: it came in elsewhere,
 * and G does not see it either. A forward without destination is taken to match any original
 * destination, so a flow through the gateway to another host counts too.
 *
 * Egress (any protocol, no source translation, or one that kept the address): for some
 * out_interface of the new config an egress entry contains the original source, and no entry
 * of the old config on that out_interface does. An old entry there would have translated the
 * flow had it left by that interface.
 *
 * A flow taken that way is NATGW_CT_STALE_ADDED, except a live TCP connection (@e->tcp_state
 * SYN_RECV, ESTABLISHED, FIN_WAIT, CLOSE_WAIT or LAST_ACK, or unknown): NATGW_CT_KEEP_ESTABLISHED.
 * Deleting it would not move it: its next packet would make a new entry mid-stream, the new
 * forward would send that to a target that knows no such connection, and the connection (to
 * a service on the gateway itself, say SSH) would be reset. It is kept and reported; new
 * connections take the new entry. Everything else taken is deleted: its next packet makes a
 * new entry under the new config (translated where it now should be, untranslated again where
 * the over-approximation was wrong, which costs a UDP flow or a TCP handshake nothing).
 *
 * Return: the verdict.
 */
enum natgw_ct_verdict natgw_ct_stale_classify(const struct natgw_ct_stale *s, const struct natgw_ct_entry *e,
                                              const char **ret_name);

struct natgw_ct_stale_stats {
        bool dumped;       /* false: natgw_ct_stale_possible() said no entry can be stale */
        uint64_t seen;     /* entries read from the table */
        uint64_t stale;    /* of those, stale ones (every reason) */
        uint64_t deleted;  /* deleted by us */
        uint64_t vanished; /* gone before our deletion reached them (expired or deleted): no error */
        uint64_t failed;   /* deletions the kernel refused */
        int first_error;   /* -errno of the first refused deletion, 0: none */
        uint64_t usec;     /* time spent, reading and deleting */
        bool timed_out;    /* stopped at the overall deadline (-ETIMEDOUT): the rest was left alone */
        /* Deleted, by the reason of enum natgw_ct_verdict (NATGW_CT_STALE_* only). */
        uint64_t deleted_for[NATGW_CT_VERDICT_COUNT];
        uint64_t kept_established; /* NATGW_CT_KEEP_ESTABLISHED entries */
        char kept_entry[64];       /* the entry that covers the first of them ("" none) */
        bool kept_entries_more;    /* another entry covers some of the others */
};

/**
 * natgw_ct_stale_clean() - delete the stale conntrack entries of the current network namespace
 * @old:   the config that was in force until now
 * @new:   the config just applied
 * @stats: what was done; filled in on success and on failure (up to the failure)
 *
 * Does nothing when natgw_ct_stale_possible() is false. Otherwise dumps the table (IPv4 and
 * IPv6 in one dump), decides each entry with natgw_ct_stale_classify() and deletes the stale ones
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

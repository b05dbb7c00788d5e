/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * natgwctl diagnose (composition layer): why a client cannot reach a forward, layer by layer,
 * from the config down to the target. natgwd supplies the entry and its counter (its `show` and
 * `status` replies); the probes (rtnetlink, a TCP connect, conntrack) run in natgwctl's own
 * process. gw-diagnose.c holds the pure parts (the report, the verdict, the JSON, reading the
 * entry back from `show`), gw-diagnose-run.c the layers that look at the kernel.
 */

#include <jansson.h>
#include <net/if.h>

#include "addr.h"
#include "conf.h"

/* The contract's causes (DESIGN.md, "Wave 2 commands"), in no particular order. */
enum natgw_diag_cause {
        NATGW_CAUSE_OK,
        NATGW_CAUSE_NOT_APPLIED,
        NATGW_CAUSE_FORWARDING_DISABLED,
        NATGW_CAUSE_INTERFACE_MISSING,
        NATGW_CAUSE_INTERFACE_DOWN,
        NATGW_CAUSE_NO_PUBLIC_ADDRESS,
        NATGW_CAUSE_SOURCE_NOT_ALLOWED,
        NATGW_CAUSE_REFLECTION_DISABLED,
        NATGW_CAUSE_BLOCKED_BY_TABLE,
        NATGW_CAUSE_TARGET_UNREACHABLE,
        NATGW_CAUSE_TARGET_NOT_LISTENING,
        NATGW_CAUSE_TARGET_FILTERED,
        NATGW_CAUSE_REPLY_BYPASSES_GATEWAY,
        NATGW_CAUSE_NO_TRAFFIC_ARRIVES,
        NATGW_CAUSE_COUNT,
};

enum natgw_diag_status {
        NATGW_DIAG_OK,
        NATGW_DIAG_WARN,
        NATGW_DIAG_FAIL,
        NATGW_DIAG_UNKNOWN,
};

#define NATGW_DIAG_EVIDENCE_MAX 8
#define NATGW_DIAG_TEXT_MAX 200
#define NATGW_DIAG_LAYERS_MAX 8

struct natgw_diag_layer {
        const char *name;                  /* "config", "gateway", ... (static) */
        enum natgw_diag_status status;
        enum natgw_diag_cause cause;       /* what a FAIL means; NATGW_CAUSE_OK otherwise */
        char evidence[NATGW_DIAG_EVIDENCE_MAX][NATGW_DIAG_TEXT_MAX];
        size_t n_evidence;
        char fix[NATGW_DIAG_TEXT_MAX];     /* "" when there is nothing to fix */
};

struct natgw_diag_report {
        char subject[96];                  /* "forward web" or "egress 10.0.5.3 -> 198.51.100.80:443/tcp" */
        struct natgw_diag_layer layers[NATGW_DIAG_LAYERS_MAX];
        size_t n_layers;
};

/* "ok", "not-applied", ...; NULL out of range. */
const char *natgw_diag_cause_name(enum natgw_diag_cause c);
/* "ok", "warn", "fail", "unknown". */
const char *natgw_diag_status_name(enum natgw_diag_status s);

/* Start a new layer @name (static string) with status ok; NULL when the report is full. */
struct natgw_diag_layer *natgw_diag_layer_add(struct natgw_diag_report *r, const char *name);
/* Add a line of evidence (dropped when the layer has NATGW_DIAG_EVIDENCE_MAX). */
void natgw_diag_evidence(struct natgw_diag_layer *l, const char *fmt, ...) _printf_(2, 3);
/* Mark @l as failing with @cause and its fix. */
void natgw_diag_fail(struct natgw_diag_layer *l, enum natgw_diag_cause cause, const char *fix_fmt, ...)
        _printf_(3, 4);
/* Mark @l with @status (warn or unknown; never better than it is) and a fix, or none (NULL). */
void natgw_diag_mark(struct natgw_diag_layer *l, enum natgw_diag_status status, const char *fix_fmt, ...)
        _printf_(3, 4);

/**
 * natgw_diag_verdict() - the first failing layer of @r, in the order the layers were walked
 * @ret_cause: its cause, or NATGW_CAUSE_OK when none failed
 *
 * Pure. Warnings and unknowns never make a verdict.
 * Return: the index of the layer, or -1 when none failed.
 */
int natgw_diag_verdict(const struct natgw_diag_report *r, enum natgw_diag_cause *ret_cause);

/* {"ok", "subject", "layers": [{"layer","status","evidence","fix"}], "verdict": {"cause","layer","fix"}};
 * NULL when out of memory. */
json_t *natgw_diag_report_json(const struct natgw_diag_report *r);

/**
 * natgw_diag_forward_from_json() - a forward entry as natgwd's `show` reports it
 * @e:   one element of "entries" (kind "forward")
 * @ret: the forward; its arrays are freed with natgw_diag_forward_clear()
 *
 * Return: 0; -EINVAL when @e is not a forward this version understands; -ENOMEM.
 */
int natgw_diag_forward_from_json(const json_t *e, struct natgw_forward *ret);
void natgw_diag_forward_clear(struct natgw_forward *f);

/* "A", "A:P", "A:P-Q", "[A6]", "[A6]:P", ... into an address and, if there is one, a port range.
 * Pure. 0 or -EINVAL. */
int natgw_diag_parse_addr_port(const char *s, struct natgw_addr *ret_addr, struct natgw_port_range *ret_port,
                               bool *ret_has_port);

/**
 * natgw_diag_netmap_match() - the netmap entry of `show`'s @entries that translates @addr
 * @ifname:  its interface; NULL: any
 * @outside: true: @addr is a destination in its outside prefix (inbound); false: a source in
 *           its inside prefix (outbound)
 * @ret_to:  the address it becomes, by offset (may be NULL)
 *
 * Pure (gw-diagnose-netmap.c). A netmap takes its addresses before any forward or egress entry.
 * Return: the entry's index in @entries, or -1 when none translates it.
 */
int natgw_diag_netmap_match(const json_t *entries, const struct natgw_addr *addr, const char *ifname, bool outside,
                            struct natgw_addr *ret_to);

/**
 * natgw_diag_egress_match() - the egress entry of `show`'s @entries that takes @from's traffic
 * @out_interface: the interface it leaves by; NULL: any
 * @ret_len:       the matching prefix's length (may be NULL)
 *
 * Pure. The most specific source prefix wins, whatever the order, as in the compiled table.
 * Return: the entry's index in @entries, or -1 when none takes it.
 */
int natgw_diag_egress_match(const json_t *entries, const struct natgw_addr *from, const char *out_interface,
                            unsigned *ret_len);

/* The target's port for the first of @f's ports: what a connect probe tries. Pure. */
uint16_t natgw_diag_target_port(const struct natgw_forward *f);

/* Whether @port is one the target receives @f's connections on. Pure. */
bool natgw_diag_target_port_matches(const struct natgw_forward *f, uint16_t port);

/* Whether @port is one of @f's own ports (what clients connect to). Pure. */
bool natgw_diag_port_listed(const struct natgw_forward *f, uint16_t port);

/* Whether @from may use @f (allow_from empty, or one of its prefixes holds @from). Pure. */
bool natgw_diag_allowed(const struct natgw_forward *f, const struct natgw_addr *from);

/* What --watch saw of the forward's traffic in the nftables trace. */
struct natgw_diag_watch {
        double seconds;               /* how long it watched */
        bool interrupted;             /* SIGINT / SIGTERM ended it early */
        int error;                    /* 0, or why the trace could not be read to its end */
        unsigned packets;             /* packets of the forward that arrived (traced) */
        unsigned dropped;             /* of those, dropped by a table other than natgw */
        bool has_src;
        struct natgw_addr src;        /* the first packet's source */
        /* The first drop: table, chain, and the rule's handle or the chain's policy. */
        uint8_t drop_family;
        char drop_table[64], drop_chain[64];
        bool drop_policy;
        uint64_t drop_handle;
};

/* What natgwctl found out before the probes: natgwd's view of the entry. */
struct natgw_diag_input {
        const struct natgw_forward *forward;
        const char *config_path;
        /* That file as loaded here, for the map elements; NULL: it did not load. */
        const struct natgw_config *config;
        long long generation;
        bool in_kernel;               /* natgwd read the entry's counter back from the kernel */
        long long connections, bytes;
        const char *last_reload;      /* "applied", "rejected" or NULL (none since the start) */
        const char *last_reload_time;
        bool has_from;
        struct natgw_addr from;       /* --from */
        double connect_timeout;       /* seconds, for the TCP probe */
        const struct natgw_diag_watch *watch; /* --watch's findings, NULL without */
};

struct natgw_nl;
struct natgw_map;
struct natgw_plan;
struct natgw_nft_elem;

/* One forward's elements in its plan map, as records (key, key end, data) sorted by memcmp, and
 * which of them the kernel's map holds. */
struct natgw_diag_elems {
        const struct natgw_map *map;
        size_t rec_len;
        uint8_t *recs;
        size_t n;
        bool *found;
        size_t n_found;
};

/**
 * natgw_diag_elems_want() - the elements entry number @entry (egress entries first, then
 * forwards) puts into its forward map of plan @p
 * @ret: freed with natgw_diag_elems_clear()
 *
 * Pure. Return: 0; -ENOENT when the entry has none; -ENOMEM.
 */
int natgw_diag_elems_want(const struct natgw_plan *p, uint32_t entry, struct natgw_diag_elems *ret);
void natgw_diag_elems_clear(struct natgw_diag_elems *w);
/* Mark the records @e (a kernel element of the map) is, if any. Pure. */
void natgw_diag_elems_see(struct natgw_diag_elems *w, const struct natgw_nft_elem *e);
/* Forget what was seen (a dump starts again). */
void natgw_diag_elems_restart(struct natgw_diag_elems *w);
/* Record @i as "tcp/8080" or "tcp/8080 from 198.51.100.0" (allow_from). Pure. */
void natgw_diag_elems_format(const struct natgw_diag_elems *w, size_t i, char *buf, size_t size);

/* Whether @a and @b compile to the same elements: ports, protocols, target, in_interface,
 * destination, allow_from. Pure. */
bool natgw_diag_forward_same(const struct natgw_forward *a, const struct natgw_forward *b);

/**
 * natgw_diag_watch() - read the trace of @in's forward for @seconds (natgwd has put the trace
 * rule in place), counting the packets that arrive and those another table drops
 * @nl:   a socket of natgw_nft_trace_subscribe(), opened before the rule was put in place
 * @stop: set by a signal handler: the watch ends at the next read (within 200 ms)
 *
 * Return: 0 (also when interrupted, @ret says so); -errno when the trace cannot be read.
 */
int natgw_diag_watch(struct natgw_nl *nl, const struct natgw_diag_input *in, double seconds,
                     const volatile int *stop, struct natgw_diag_watch *ret);

/**
 * natgw_diag_check_elements() - layer config: whether the kernel's forward map holds every
 * element @in->config compiles @in->forward to (exact key and data)
 *
 * Evidence in @l; fails not-applied when one is missing; a warning (never a failure) when the
 * file does not load here or has the entry otherwise than natgwd has it in force.
 */
void natgw_diag_check_elements(const struct natgw_diag_input *in, struct natgw_diag_layer *l);

/**
 * natgw_diag_run() - walk the layers of a forward: config, gateway, client, firewalls, target,
 * return path
 * @in:  the entry and natgwd's view of it
 * @ret: filled with one layer per step
 *
 * Every probe is bounded in time (the connect probe by @in->connect_timeout, each netlink read
 * by a deadline). Changes nothing.
 */
void natgw_diag_run(const struct natgw_diag_input *in, struct natgw_diag_report *ret);

/* natgwctl diagnose --egress ADDR --to ADDR[:PORT] [--proto P]: natgwd's `show` and the probe. */
struct natgw_diag_egress_input {
        const json_t *entries;        /* `show`'s "entries" */
        /* natgwd's config file as loaded here, for the allow lists; NULL: it did not load (then
         * an entry with an allow list is "unknown"). */
        const struct natgw_config *config;
        struct natgw_addr from, to;
        bool has_port;
        uint16_t port;
        uint8_t l4proto;              /* IPPROTO_TCP, _UDP, _ICMP / _ICMPV6 */
};

/**
 * natgw_diag_egress_run() - which egress entry takes @in->from's traffic to @in->to, whether its
 * allow list lets it through, and the interface and address it leaves with: layers config,
 * policy, gateway
 *
 * Every probe is bounded in time; changes nothing.
 */
void natgw_diag_egress_run(const struct natgw_diag_egress_input *in, struct natgw_diag_report *ret);

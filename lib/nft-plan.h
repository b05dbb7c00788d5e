/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * The compiled form of a config: which named maps the table holds and every element of them,
 * as the exact key and data bytes the kernel will store. Pure data, built without the kernel,
 * so that unit tests can check what natgwd would load; nft-batch.c turns it into messages.
 *
 * Port forwards land in "forward maps", one per (family, key shape); the shape says which of
 * in-interface, destination address and client prefix (allow_from) the entries of that map
 * match on. Each forward map becomes two kernel maps with the same keys: a data map that the
 * dnat statement reads (target address . port) and an object map that names the entry's
 * counter. Egress entries land in one interval map per family, keyed by out-interface and
 * source address, whose intervals are disjoint: the compiler has already resolved the most
 * specific prefix for every address.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"
#include "nft.h"

enum natgw_field {
        NATGW_FIELD_IIFNAME,
        NATGW_FIELD_OIFNAME,
        NATGW_FIELD_DADDR,
        NATGW_FIELD_SADDR,
        NATGW_FIELD_L4PROTO,
        NATGW_FIELD_DPORT,
        NATGW_FIELD_ENTRY, /* the egress entry's number, 32 bits: the rule puts it there */
};

/* Shape bits of a forward map. */
enum {
        NATGW_SHAPE_IIF = 1 << 0, /* entries name an in_interface */
        NATGW_SHAPE_DST = 1 << 1, /* entries name a destination (else: any local address) */
        NATGW_SHAPE_SRC = 1 << 2, /* entries have allow_from (an interval map) */
        NATGW_SHAPE_MAX = 1 << 3,
};

enum natgw_map_kind {
        NATGW_MAP_FORWARD,
        NATGW_MAP_EGRESS,
        NATGW_MAP_POLICY, /* forward filter: oifname . saddr -> the entry's allow chain or accept */
        NATGW_MAP_ALLOW,  /* a set: daddr . dport . l4proto . entry, intervals, disjoint */
        NATGW_MAP_NETMAP, /* netmap: iifname . daddr (inbound) or oifname . saddr (outbound) ->
                           * the other prefix's first . last address (nft-netmap.c) */
};


#define NATGW_MAP_FIELDS_MAX 5

struct natgw_map {
        char name[32];
        enum natgw_map_kind kind;
        int family; /* AF_INET or AF_INET6 */
        unsigned shape; /* NATGW_SHAPE_* for forward maps */
        unsigned n_fields;
        enum natgw_field fields[NATGW_MAP_FIELDS_MAX];
        uint32_t key_len;  /* bytes, each field padded to 4 */
        uint32_t data_len; /* forward maps: address . port; egress, policy and allow maps: 0 */
        unsigned protos;   /* forward maps: NATGW_PROTO_* that occur in the elements */
        bool interval;
        bool reflect;      /* forward maps: has reflected elements (nft-reflect.h) */
        bool hairpin;      /* ... of a forward without in_interface */
        uint8_t field_len[NATGW_MAP_FIELDS_MAX]; /* natgw_field_len() of each field, for the family */

        /* Elements, in insertion order. keys: n * key_len (interval maps: 2 * key_len each,
         * start then end); data: n * data_len; entry: the entry each element came from. */
        uint8_t *keys;
        uint8_t *data;
        uint32_t *entry;
        size_t n, cap;
        /* Built by natgw_plan_build_from() (forward maps): the runs of elements copied from the
         * map of this name in the plan reused (natgw_plan.reused), in order: elements
         * [lo, lo + n) are that map's [was_lo, was_lo + n). The state copies their records
         * from what that plan's batch left (nft-state.c). */
        struct natgw_map_run {
                size_t lo, was_lo, n;
        } *copied;
        size_t n_copied;
};

/* Whether map @m has a counter twin (<name>_ctr) naming each element's entry counter. */
static inline bool natgw_map_counted(const struct natgw_map *m) {
        return m->kind == NATGW_MAP_FORWARD || m->kind == NATGW_MAP_NETMAP;
}

/* A netmap map: inbound (DNAT, keyed by in-interface) or outbound (SNAT). */
static inline bool natgw_map_netmap_in(const struct natgw_map *m) {
        return m->kind == NATGW_MAP_NETMAP && m->fields[0] == NATGW_FIELD_IIFNAME;
}

/* The maps of netmap entries: inbound and outbound, IPv4 and IPv6 (nft-netmap.c). */
#define NATGW_NETMAP_MAPS 4

/**
 * natgw_netmap_compile() - the maps of the netmap entries of @c
 * @c:           the config
 * @maps:        NATGW_NETMAP_MAPS maps, initialised here and filled
 * @first_entry: the plan's number of c->netmaps[0] (the netmaps come after every other entry)
 *
 * Return: 0 or -ENOMEM.
 */
int natgw_netmap_compile(const struct natgw_config *c, struct natgw_map *maps, uint32_t first_entry);

/* For the compilers of other entries (nft-netmap.c): set up an empty map, and reserve one more
 * element of it, whose key (start, and end for an interval map) and data are zeroed. */
void natgw_map_init(struct natgw_map *m, enum natgw_map_kind kind, int family, const char *name,
                    const enum natgw_field *fields, unsigned n_fields, bool interval);
int natgw_map_append(struct natgw_map *m, uint32_t entry, uint8_t **ret_key, uint8_t **ret_key_end,
                     uint8_t **ret_data);

/* Entry numbering shared by the plan and error mapping: egress entries first, then forwards,
 * then netmaps. */
struct natgw_plan {
        const struct natgw_config *config;
        bool forward_chain; /* the table needs its forward filter chain (allow lists, filter drop) */
        bool reflect;       /* a forward reflects: chains output and hairpin (nft-reflect.h) */
        /* With reflect: the interfaces entries name, which the reflected prerouting rule
         * excludes (natgw_outside_interfaces(); pointers into config). */
        const char **reflect_outside;
        size_t n_reflect_outside;
        unsigned helper_objs;   /* conntrack helper objects, 1 << NATGW_HOBJ_* (nft-helper.h) */
        uint32_t helper_entry[4]; /* the first entry that uses each */
        bool helper_chain;      /* a forward has a helper: base chain "helper" */
        struct natgw_map *maps;
        size_t n_maps;
        size_t n_elements;
        /* For a plan built later from this one (natgw_plan_build_from()), which reads no more
         * than these and the maps: the config's serial, its first forward's entry number, and
         * whether reflection left out elements two forwards share (then nothing is reused). */
        uint64_t serial;
        uint32_t first_forward;
        bool reflect_shared;
        uint64_t reused; /* the serial of the plan natgw_plan_build_from() copied from; 0: none */
};

/* Upper bound of map elements one config may expand to (ports x protocols x allow_from). */
#define NATGW_PLAN_ELEMENTS_MAX 4000000

/**
 * natgw_plan_build() - compile a validated config into maps and elements
 * @c:      the config (must outlive the plan)
 * @ret:    the plan, freed with natgw_plan_free()
 * @errors: entries that cannot be compiled (too many elements) are reported here
 *
 * Return: 0, -EINVAL (see @errors) or -ENOMEM.
 */
int natgw_plan_build(const struct natgw_config *c, struct natgw_plan **ret, struct natgw_errors *errors);

/**
 * natgw_plan_build_from() - natgw_plan_build(), reusing the plan of the config in force
 * @c:      the config
 * @old:    the plan of the config @c copied unchanged drop-ins from (natgw_config.copied_from),
 *          or NULL, or another plan (then it is not used). Only its maps and the fields kept
 *          for this are read: its config may be gone.
 * @ret:    the plan
 * @errors: as natgw_plan_build()'s
 *
 * The forwards of an unchanged drop-in expand to the elements they did in @old, in the same
 * order: each such run is copied from @old's forward maps, its entry numbers moved, instead of
 * compiled again. The result is the plan natgw_plan_build() makes (test-nft-reuse compares
 * them); a reload at 50,000 forwards compiles the forwards that changed, not the table.
 *
 * Return: as natgw_plan_build().
 */
int natgw_plan_build_from(const struct natgw_config *c, const struct natgw_plan *old, struct natgw_plan **ret,
                          struct natgw_errors *errors);
struct natgw_plan *natgw_plan_free(struct natgw_plan *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct natgw_plan *, natgw_plan_free);

/* Name and line of entry number @idx (egress entries first, then forwards, then netmaps; NULL
 * and 0 past them). The name in line: the state reads it of every entry at each apply. */
static inline const char *natgw_plan_entry_name(const struct natgw_plan *p, size_t idx) {
        const struct natgw_config *c = p->config;

        if (idx < c->n_egress)
                return c->egress[idx].name;
        idx -= c->n_egress;
        if (idx < c->n_forwards)
                return c->forwards[idx].name;
        idx -= c->n_forwards;
        return idx < c->n_netmaps ? c->netmaps[idx].name : NULL;
}
unsigned natgw_plan_entry_line(const struct natgw_plan *p, uint32_t idx);
/* The file the entry is written in (the main file or a drop-in). */
const char *natgw_plan_entry_file(const struct natgw_plan *p, uint32_t idx);
size_t natgw_plan_n_entries(const struct natgw_plan *p);

/* Whether element @i of policy map @m goes to its entry's allow chain (else: accept). */
static inline bool natgw_policy_to_chain(const struct natgw_plan *p, const struct natgw_map *m, size_t i) {
        return p->config->egress[m->entry[i]].has_allow;
}

/* Whether element @i of forward map @m is a reflected copy of its entry's (lib/nft-reflect.h). */
bool natgw_reflect_elem(const struct natgw_map *m, size_t i);

/* Size in bytes of one field in a key (before padding). */
uint32_t natgw_field_len(enum natgw_field f, int family);

/* The table the plan is for, in family inet. */
#define NATGW_TABLE "natgw"

/*
 * The kernel sets one plan map makes: the map itself and its twins, maps with the same keys to
 * named counters: a forward or netmap map's twin to the entry's connection counter ("<name>_ctr"), and
 * forward and egress maps' twins to the entry's traffic counter ("<name>_bytes", read by chain
 * account for every packet of the entry's connections).
 */
enum natgw_twin {
        NATGW_TWIN_MAP,     /* the map itself */
        NATGW_TWIN_COUNTER, /* -> counter NAME (connections) */
        NATGW_TWIN_BYTES,   /* -> counter "bytes:NAME" (traffic) */
};

/* How many kernel sets plan map @m makes (the map, then its twins). */
static inline unsigned natgw_map_n_sets(const struct natgw_map *m) {
        return m->kind == NATGW_MAP_FORWARD ? 3 : m->kind == NATGW_MAP_EGRESS || m->kind == NATGW_MAP_NETMAP ? 2 : 1;
}

/* The set number @k (< natgw_map_n_sets()) of plan map @m. */
static inline enum natgw_twin natgw_map_twin(const struct natgw_map *m, unsigned k) {
        if (m->kind == NATGW_MAP_EGRESS && k == 1)
                return NATGW_TWIN_BYTES;
        return (enum natgw_twin)k;
}

/* Ids of the kernel sets of plan map @map (@twin: which of its sets), by which the rules of the
 * same batch name them: the 1-based map index, twins at +1000 each. */
static inline uint32_t natgw_batch_set_id(size_t map, enum natgw_twin twin) {
        return (uint32_t)map + 1 + 1000u * (uint32_t)twin;
}

/* Name of the kernel set @twin of plan map @m: "<name>", "<name>_ctr", "<name>_bytes". */
static inline void natgw_batch_set_name(const struct natgw_map *m, enum natgw_twin twin, char *buf, size_t size) {
        snprintf(buf, size, "%s%s", m->name,
                 twin == NATGW_TWIN_COUNTER ? "_ctr" : twin == NATGW_TWIN_BYTES ? "_bytes" : "");
}

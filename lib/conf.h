/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/*
 * The validated model of a natgwd config file (shared/DESIGN.md, "Config language").
 * Everything downstream (compiler, batch, daemon) reads only this model; nothing in it is
 * left unchecked: a struct natgw_config exists only for a file that passed validation.
 */

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "diag.h"
#include "util-sha256.h"

#define NATGW_CONFIG_DEFAULT "/etc/natgw/natgwd.conf"

enum natgw_deny {
        NATGW_DENY_DROP,   /* default */
        NATGW_DENY_REJECT, /* TCP reset, ICMP unreachable for the rest */
};

/*
 * One rule of an egress entry's allow list. A packet matches when its destination is in @to
 * (n_to == 0: any address of the entry's families), its protocol in @protos and, for TCP and
 * UDP, its destination port in @ports (n_ports == 0: any port).
 */
struct natgw_allow {
        unsigned line;
        struct natgw_prefix *to;
        size_t n_to;
        unsigned protos; /* NATGW_PROTO_*: TCP and/or UDP, ICMP, or ALL */
        struct natgw_port_range *ports;
        size_t n_ports;
};

/* Conntrack helpers (natgwd.conf(5), "helper"): bits of natgw_forward.helper / natgw_egress.helpers. */
enum {
        NATGW_HELPER_FTP = 1 << 0,  /* TCP, port 21 */
        NATGW_HELPER_TFTP = 1 << 1, /* UDP, port 69 */
        NATGW_HELPER_SIP = 1 << 2,  /* UDP and TCP, port 5060 */
        NATGW_HELPER_ALL = (1 << 3) - 1,
};

struct natgw_helper_def {
        const char *name;  /* as in the file and in the kernel ("ftp") */
        unsigned protos;   /* NATGW_PROTO_* it takes */
        uint16_t port;     /* its standard port (egress entries) */
};

/* Indexed by the bit number of NATGW_HELPER_*. */
extern const struct natgw_helper_def natgw_helpers[3];

/* The hash of an entry's name (FNV-1a, 32 bits). */
static inline uint32_t natgw_name_hash(const char *s) {
        uint32_t h = 2166136261u;

        for (; *s; s++)
                h = (h ^ (uint8_t)*s) * 16777619u;
        return h;
}

enum natgw_egress_kind {
        NATGW_EGRESS_MASQUERADE,
        NATGW_EGRESS_SNAT,
};

struct natgw_egress {
        char *name;
        /* natgw_name_hash(name), set by the loader: a reload's check of its new names compares
         * the entries in force without reading their names (lib/conf-validate-changed.c). */
        uint32_t name_hash;
        const char *file; /* the file it is written in: a path of natgw_config.files; NULL: the main one */
        unsigned line;
        enum natgw_egress_kind kind;
        struct natgw_prefix *sources;
        size_t n_sources;
        char out_interface[IFNAMSIZ];
        /* NATGW_EGRESS_SNAT only: the address or pool; to_lo == to_hi for one address. */
        struct natgw_addr to_lo, to_hi;
        /* The allow list: when has_allow, traffic from the sources out of out_interface that
         * matches no rule is denied (n_allow may be 0: everything is denied). */
        bool has_allow;
        struct natgw_allow *allow;
        size_t n_allow;
        enum natgw_deny deny;
        bool log_denied;
        /* Its arrays and name are those of the config in force it was copied from, which frees
         * them (lib/conf-cache.h). */
        bool borrowed;
        unsigned helpers; /* NATGW_HELPER_*: assigned to its connections to their standard ports */
};

enum {
        NATGW_PROTO_TCP = 1 << 0,
        NATGW_PROTO_UDP = 1 << 1,
        NATGW_PROTO_ICMP = 1 << 2, /* allow rules only: ICMP for IPv4, ICMPv6 for IPv6 */
        NATGW_PROTO_ALL = 1 << 3,  /* allow rules only: every protocol */
};

enum natgw_to_port {
        NATGW_TO_PORT_KEEP,   /* "ADDR": the destination port is kept */
        NATGW_TO_PORT_SINGLE, /* "ADDR:PORT": every matched port becomes PORT */
        NATGW_TO_PORT_RANGE,  /* "ADDR:A-B": port range mapped onto A-B, same width */
};

struct natgw_forward {
        char *name;
        uint32_t name_hash; /* natgw_name_hash(name), as in struct natgw_egress */
        const char *file; /* as in struct natgw_egress */
        unsigned line;
        char in_interface[IFNAMSIZ]; /* "" = any interface */
        unsigned protos;             /* NATGW_PROTO_* bits */
        struct natgw_port_range *ports;
        size_t n_ports;
        struct natgw_addr to;        /* its family is the forward's family */
        enum natgw_to_port to_port_mode;
        struct natgw_port_range to_port; /* SINGLE: lo == hi; RANGE: same width as ports[0] */
        bool has_destination;
        struct natgw_addr destination; /* same family as to */
        struct natgw_prefix *allow_from; /* same family as to; n_allow_from == 0: everyone */
        size_t n_allow_from;
        /* NAT reflection (default true): clients that do not arrive by in_interface (any
         * client, without one) and the gateway's own processes reach the target too, and the
         * reflected connection leaves source-NATed to the gateway (lib/nft-reflect.c). */
        bool reflection;
        unsigned reflection_line; /* 0: not in the file */
        unsigned helper; /* one NATGW_HELPER_* bit assigned to its connections, or 0 */
        bool borrowed; /* as in struct natgw_egress */
};

/*
 * A 1:1 NAT entry (netmap, issue 15): the outside prefix and the inside prefix have the same
 * family and length. A packet arriving by @interface for an outside address goes to the inside
 * address of the same offset (DNAT); a packet from an inside address leaving by @interface is
 * source-NATed to the outside address of the same offset. Every protocol.
 */
struct natgw_netmap {
        char *name;
        const char *file; /* as in struct natgw_egress */
        unsigned line;
        char interface[IFNAMSIZ];
        struct natgw_prefix inside, outside;
};

/*
 * The conntrack timeouts natgwd can set (conntrack.timeouts in the file), in the order of
 * natgw_ct_timeouts[], the one table of config keys and sysctls.
 */
enum natgw_ct_timeout {
        NATGW_CT_TIMEOUT_TCP_ESTABLISHED,
        NATGW_CT_TIMEOUT_TCP_SYN_SENT,
        NATGW_CT_TIMEOUT_TCP_SYN_RECV,
        NATGW_CT_TIMEOUT_TCP_FIN_WAIT,
        NATGW_CT_TIMEOUT_TCP_CLOSE_WAIT,
        NATGW_CT_TIMEOUT_TCP_LAST_ACK,
        NATGW_CT_TIMEOUT_TCP_TIME_WAIT,
        NATGW_CT_TIMEOUT_TCP_CLOSE,
        NATGW_CT_TIMEOUT_TCP_UNACKNOWLEDGED,
        NATGW_CT_TIMEOUT_TCP_MAX_RETRANS,
        NATGW_CT_TIMEOUT_UDP,
        NATGW_CT_TIMEOUT_UDP_STREAM,
        NATGW_CT_TIMEOUT_ICMP,
        NATGW_CT_TIMEOUT_ICMPV6,
        NATGW_CT_TIMEOUT_GENERIC,
        NATGW_CT_TIMEOUT_COUNT,
};

/*
 * The longest timeout the loader accepts, in seconds: 24 days. The kernel keeps a timeout as
 * jiffies in an int and refuses more than INT_MAX / HZ seconds (24.8 days at HZ=1000).
 */
#define NATGW_CT_TIMEOUT_MAX_SEC (24 * 24 * 3600)

struct natgw_ct_timeout_def {
        const char *key;    /* in conntrack.timeouts: "tcp_established" */
        const char *sysctl; /* under /proc/sys: "net/netfilter/nf_conntrack_tcp_timeout_established" */
};

/* Indexed by enum natgw_ct_timeout. */
extern const struct natgw_ct_timeout_def natgw_ct_timeouts[NATGW_CT_TIMEOUT_COUNT];

enum natgw_on_exit {
        NATGW_ON_EXIT_KEEP,   /* default: the table outlives natgwd (restarts never drop NAT) */
        NATGW_ON_EXIT_REMOVE, /* a clean stop deletes table inet natgw */
};

/* The sections of entries, in the order the loader adds them to the model (masquerade and
 * snat entries both to natgw_config.egress). */
enum natgw_section {
        NATGW_SECTION_MASQUERADE,
        NATGW_SECTION_SNAT,
        NATGW_SECTION_FORWARD,
        NATGW_SECTION_NETMAP,
        NATGW_SECTIONS,
};

/* A file a config was read from: the main file, then each drop-in of include_dir in name order. */
struct natgw_conf_file {
        char *path;  /* as given for the main file; include_dir + "/" + name for a drop-in */
        uint64_t size;
        uint8_t sha256[NATGW_SHA256_SIZE];
        bool hash_pending; /* sha256 is not computed yet: natgw_config_finish_hashes() */
        /* Which file it was (fstat of what was read), for the next reload (lib/conf-cache.h). */
        bool identity;
        uint64_t dev, ino;
        int64_t st_size, mtime_ns, ctime_ns;
        bool cached; /* its entries were taken from the config in force, not read */
        bool lent;   /* a config that replaced this one took its entries (natgw_config_take_entries()) */
        /* Where its entries are in the config's arrays, by section (NATGW_SECTION_*): the loader
         * adds one file's entries of one section together (lib/conf-cache.h). With @cached,
         * @was_first is where they were in the config in force (natgw_config.copied_from). */
        struct {
                size_t first, n, was_first;
        } at[NATGW_SECTIONS];
};

enum natgw_filter_policy {
        NATGW_FILTER_ACCEPT, /* default: natgwd filters nothing but allow lists */
        NATGW_FILTER_DROP,   /* forwarded traffic nothing accepts is dropped and counted */
};

struct natgw_config {
        /* Which load made it: a number no other config of the process has. A config that copied
         * entries of unchanged drop-ins from the config in force has that one's serial in
         * @copied_from (0: none), so that what was built from that one can be reused
         * (lib/nft-plan.h). */
        uint64_t serial, copied_from;
        char *path;
        char *include_dir; /* as resolved (relative to the main file's directory); NULL: none */
        struct natgw_conf_file *files; /* files[0] is the main file */
        size_t n_files;
        /* The text of each file (indexed as files), kept until natgw_config_drop_texts(): for a
         * caller that records what it applied. NULL when dropped. */
        char **texts;
        int version;
        enum natgw_on_exit on_exit;
        struct {
                bool ip_forward;   /* default true; false: leave the kernel's value */
                bool ipv6_forward; /* default false; false: leave */
                /* Lines of the keys, for warnings about them; 0: not in the file. */
                unsigned ip_forward_line, ipv6_forward_line;
        } kernel;
        struct {
                int64_t max;     /* -1: leave the kernel's value */
                int64_t buckets; /* -1: leave */
                unsigned warn;     /* percent, default 80 */
                unsigned critical; /* percent, default 95 */
                double interval;   /* seconds, default 1.0 */
                /* Seconds, indexed by enum natgw_ct_timeout; -1: leave the kernel's value. */
                int64_t timeouts[NATGW_CT_TIMEOUT_COUNT];
                /* auto_grow: raise max by step, up to ceiling, when critical; -1: off (both). */
                int64_t auto_grow_ceiling, auto_grow_step;
                /* ports: SNAT port usage level (percent of the range) and how often it is read. */
                unsigned ports_warn, ports_critical; /* default 80, 95 */
                double ports_interval;               /* seconds, default 30 */
                /* Lines of the keys, for warnings about them; 0: not in the file. */
                unsigned max_line, buckets_line;
                unsigned timeout_lines[NATGW_CT_TIMEOUT_COUNT];
        } conntrack;
        struct {
                enum natgw_filter_policy forward;
                unsigned forward_line; /* 0: not in the file */
        } filter;
        struct {
                bool hosts;          /* per-inside-host traffic counted by the kernel */
                unsigned hosts_line; /* 0: not in the file */
        } metrics;
        struct natgw_egress *egress; /* masquerade entries first, then snat, each in file order */
        size_t n_egress;
        struct natgw_forward *forwards;
        size_t n_forwards;
        struct natgw_netmap *netmaps;
        size_t n_netmaps;
        struct {
                bool present;              /* "ha" is in the file: this node is one of a pair */
                unsigned line;
                struct natgw_prefix *vips; /* the addresses keepalived moves */
                size_t n_vips;
        } ha;
};

/* The port a forward sends matched destination port @port to (as its to_port_mode says). */
static inline uint16_t natgw_forward_target_port(const struct natgw_forward *f, uint16_t port) {
        switch (f->to_port_mode) {
        case NATGW_TO_PORT_SINGLE:
                return f->to_port.lo;
        case NATGW_TO_PORT_RANGE:
                return (uint16_t)(f->to_port.lo + (port - f->ports[0].lo));
        case NATGW_TO_PORT_KEEP:
        default:
                return port;
        }
}

/**
 * natgw_egress_allows() - whether egress entry @e lets a packet through its allow list
 * @e:       the entry (one without an allow list lets everything through)
 * @l4proto: IPPROTO_* of the packet
 * @daddr:   its destination
 * @dport:   its destination port (TCP and UDP; ignored for other protocols)
 *
 * The answer the kernel gives for a new connection from one of @e's sources that leaves by
 * its out_interface, computed from the model alone (for diagnose and learn mode).
 */
bool natgw_egress_allows(const struct natgw_egress *e, uint8_t l4proto, const struct natgw_addr *daddr,
                         uint16_t dport);

/**
 * natgw_config_egress_match() - the egress entry that takes a packet from @saddr out of @oifname
 * @c:       the config
 * @oifname: the interface the packet leaves by
 * @saddr:   its source address
 *
 * Return: the index in c->egress of the entry with the most specific source prefix that covers
 * @saddr on @oifname (the one whose translation and allow list apply), or -ENOENT.
 */
int natgw_config_egress_match(const struct natgw_config *c, const char *oifname, const struct natgw_addr *saddr);

/**
 * natgw_netmap_translate() - the address a netmap entry maps @a to, by offset
 * @from: the prefix @a is in (the entry's inside or outside)
 * @to:   the other prefix of the entry (same family and length)
 * @a:    the address
 * @ret:  @to's address at @a's offset in @from
 *
 * Return: 0, or -ENOENT when @a is not in @from (@ret untouched).
 */
int natgw_netmap_translate(const struct natgw_prefix *from, const struct natgw_prefix *to,
                           const struct natgw_addr *a, struct natgw_addr *ret);

/**
 * natgw_config_netmap_match() - the netmap entry that translates an address on an interface
 * @c:       the config
 * @ifname:  the entry's interface (NULL: any)
 * @a:       the address
 * @outside: true: @a is a destination in an outside prefix (inbound); false: a source in an
 *           inside prefix (outbound)
 *
 * Return: the index in c->netmaps of the entry, or -ENOENT. Validation keeps the prefixes of
 * one interface apart, so there is at most one per interface.
 */
int natgw_config_netmap_match(const struct natgw_config *c, const char *ifname, const struct natgw_addr *a,
                              bool outside);

/**
 * natgw_config_load_file() - read, parse and validate a config file
 * @path:   file to read
 * @ret:    on success, the validated model (caller frees with natgw_config_free())
 * @errors: every problem found is appended here, as "FILE:LINE: entry "NAME": message"
 *
 * Return: 0 when the file is valid; -EINVAL when it is not (@errors holds why); another
 * -errno when the file cannot be read (@errors holds that too). @ret is untouched on failure.
 */
int natgw_config_load_file(const char *path, struct natgw_config **ret, struct natgw_errors *errors);

/**
 * natgw_config_read_file() - the text of a config file, read as natgw_config_load_file() reads it
 * @path:     file to read
 * @ret_text: NUL-terminated text (caller frees)
 * @errors:   why it cannot be read
 *
 * For a caller that keeps the exact text it loaded (natgw_config_load_string()).
 * Return: 0; -EINVAL (a NUL byte in it), -EFBIG, or another -errno, each also in @errors.
 */
int natgw_config_read_file(const char *path, char **ret_text, struct natgw_errors *errors);

/**
 * natgw_config_load_string() - like natgw_config_load_file() for text in memory
 * @text: NUL-terminated config text
 * @name: the file name to use in error messages
 */
int natgw_config_load_string(const char *text, const char *name, struct natgw_config **ret,
                             struct natgw_errors *errors);

/**
 * natgw_config_load_string_dir() - natgw_config_load_string() with include_dir replaced
 * @include_dir: the directory of drop-ins to read instead of the one the text names (which must
 *               name one); NULL: as the text says
 *
 * For a record of an applied config, whose drop-ins were copied elsewhere.
 */
int natgw_config_load_string_dir(const char *text, const char *name, const char *include_dir,
                                 struct natgw_config **ret, struct natgw_errors *errors);

/* The drop-in of @c read from @path, or NULL (@c may be NULL). *@hint (start at 1): where to
 * look first, moved past what is found; drop-ins looked up in name order, as @c holds them, are
 * each found at once (a reload of 1,000 drop-ins looks up each). */
const struct natgw_conf_file *natgw_config_find_dropin(const struct natgw_config *c, const char *path, size_t *hint);

/**
 * natgw_config_load_file_cached() - natgw_config_load_file(), reusing the config in force
 * @old: the config in force (NULL: none): a drop-in that is still the file @old read (device,
 *       inode, size, mtime, ctime) is not read again, one whose text has the same SHA-256 is not
 *       parsed again; their entries are copied from @old. A drop-in read again has no text in
 *       the model's texts (NULL).
 */
int natgw_config_load_file_cached(const char *path, const struct natgw_config *old, struct natgw_config **ret,
                                  struct natgw_errors *errors);

/**
 * natgw_config_take_entries() - @c replaces @old: @c's borrowed entries become its own
 * @c:   the new config, loaded with @old as the config in force
 * @old: that config (NULL: none), to be freed next; its entries @c borrowed are then left alone
 */
void natgw_config_take_entries(struct natgw_config *c, struct natgw_config *old);

/* The file an entry is written in (its file, or the main one). */
static inline const char *natgw_config_entry_file(const struct natgw_config *c, const char *file) {
        return file ? file : c->path;
}

/*
 * The SHA-256 of every file read whole that has none yet. A file new to the cache is hashed
 * only for a config that is kept (natgwctl status shows the hashes, the next reload compares
 * with them), while the kernel takes the first apply's batch (natgw_nft_apply_during()), else
 * after the apply. It touches only the files' hashes: it may run beside readers of the rest.
 */
void natgw_config_finish_hashes(struct natgw_config *c);

/* Free the texts kept in @c->texts (after they were recorded); hashes not finished are lost. */
void natgw_config_drop_texts(struct natgw_config *c);

/*
 * Where libconfig's trees of a big forward list's slices are allocated (conf-slice.h): NULL (the
 * default), malloc's heap; natgwd sets regions of its own (daemon/natgwd-alloc.c), in which the
 * tree of a slice is allocated by bumping a pointer and freed by starting the region over. A
 * loader uses NATGW_TREE_REGIONS of them: one per tree it may hold at once.
 */
struct natgw_tree_alloc {
        /* The regions for one reader; false when another has them or there are none. */
        bool (*begin)(void);
        /* The calling thread's allocations go to region @k from now on (-1: malloc's again). */
        void (*use)(int k);
        /* Every allocation in region @k has been freed: its room is used again. */
        void (*reset)(int k);
        /* The reader is done: the regions' memory goes back. */
        void (*end)(void);
};

#define NATGW_TREE_REGIONS 6

extern const struct natgw_tree_alloc *natgw_conf_tree_alloc;

struct natgw_config *natgw_config_free(struct natgw_config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct natgw_config *, natgw_config_free);

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Plan -> one nftables transaction (see nft-batch.h): the encoding of its messages, and their
 * order. Tables, chains, sets, objects and rules are built with libnftnl; set elements are
 * written with size-checked libmnl calls, because they are the part that scales and must be
 * split across messages when an attribute fills. What the batch leaves in the kernel and what
 * an update keeps of the previous content is decided in nft-state.c.
 */

#include <netinet/in.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "nft-batch.h"
#include "nft-helper.h"
#include "nft-reflect.h"
#include "nft-rule.h"
#include "util-ahead.h"
#include "util.h"

/* Hook priorities of nft's "dstnat" and "srcnat" (PRIO_DSTNAT / _SRC). */
#define PRIO_DSTNAT (-100)
#define PRIO_SRCNAT 100
#define PRIO_FILTER 0
/* Chain account counts after the filter (priority 0), so that what it drops is not counted. */
#define PRIO_ACCOUNT 10

/* Room kept free before each message: more than any single non-element message needs. */
#define MSG_RESERVE (96 * 1024)
/* An element list is one attribute, and an attribute holds at most 64 KiB. */
#define ELEMS_ATTR_MAX (60 * 1024)

/* nft's datatype numbers, so that `nft list` prints the maps with their real types. */
enum {
        DT_VERDICT = 1,
        DT_IPADDR = 7,
        DT_IP6ADDR = 8,
        DT_INET_PROTO = 12,
        DT_INET_SERVICE = 13,
        DT_MARK = 19,
        DT_IFNAME = 41,
};

/*
 * The buffer and the message table of a batch grow in anonymous memory of their own, by
 * mremap(): nothing is copied, new memory is zero (attribute padding is never uninitialised
 * memory), and only the pages written are ever touched. At 50,000 forwards a batch is 14 MB in
 * 100,000 messages; grown by realloc() and zeroed ahead, it touched 25 MB of buffer and 8 MB of
 * table, all of it fresh from the kernel, which costs more than writing the messages.
 */
static int vm_grow(void **p, size_t *cap, size_t need) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE), n = MAX(*cap * 2, (size_t)256 * 1024);
        void *q;

        while (n < need)
                n *= 2;
        n = (n + page - 1) / page * page;
        q = *p ? mremap(*p, *cap, n, MREMAP_MAYMOVE) : mmap(NULL, n, PROT_READ | PROT_WRITE,
                                                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (q == MAP_FAILED)
                return -ENOMEM;
        /* Huge pages where the kernel allows them on request: one fault per 2 MiB. */
        (void)madvise(q, n, MADV_HUGEPAGE);
        *p = q;
        *cap = n;
        return 0;
}

static void vm_free(void *p, size_t cap) {
        if (p)
                (void)munmap(p, cap);
}

/*
 * A replace of a table this big or bigger has its buffer and message table populated ahead of
 * the encoder by a thread of its own (util-ahead.h): at 50,000 forwards the encoder spent most of
 * its time faulting in the 14 MB batch and its 5 MB table.
 */
#define AHEAD_MIN_ENTRIES 4096
size_t natgw_batch_ahead_min_entries = AHEAD_MIN_ENTRIES;
size_t natgw_batch_ahead_reserve;

/*
 * Room reserved per entry: address space only (MAP_NORESERVE), several times what a batch
 * uses (about 280 bytes and 2 messages per forward); a batch that outgrows it stops the thread
 * and grows by mremap() as any other.
 */
#define AHEAD_BYTES_PER_ENTRY 1024
#define AHEAD_MSGS_PER_ENTRY 4
/* Populated ahead of the encoder: about what it writes for 16,000 entries, for 1/4 of them
 * below that (what is populated beyond the batch's end is paid for and not used). */
#define AHEAD_BUF_WINDOW(n) MIN((size_t)4 << 20, (n) * 256)
#define AHEAD_MSGS_WINDOW(n) MIN((size_t)2 << 20, (n) * 64)

static int vm_reserve(void **p, size_t *cap, size_t size) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        void *q;

        size = (size + page - 1) / page * page;
        q = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (q == MAP_FAILED)
                return -ENOMEM;
        (void)madvise(q, size, MADV_HUGEPAGE);
        *p = q;
        *cap = size;
        return 0;
}

/* An empty batch for the plan @p, populated ahead of its encoder when @p is big; else NULL. */
static struct natgw_batch *batch_new_ahead(const struct natgw_plan *p) {
        size_t n = natgw_plan_n_entries(p);
        struct natgw_batch *b;

        if (n < natgw_batch_ahead_min_entries || !natgw_ahead_enabled)
                return NULL;
        b = calloc(1, sizeof(*b));
        if (!b)
                return NULL;
        if (vm_reserve((void **)&b->buf, &b->cap,
                       natgw_batch_ahead_reserve ? natgw_batch_ahead_reserve
                                                 : n * AHEAD_BYTES_PER_ENTRY + AHEAD_BUF_WINDOW(n)) == 0 &&
            vm_reserve((void **)&b->msgs, &b->msgs_bytes,
                       n * AHEAD_MSGS_PER_ENTRY * sizeof(*b->msgs) + AHEAD_MSGS_WINDOW(n)) == 0) {
                const struct natgw_ahead_region r[] = {
                        { b->buf, b->cap, AHEAD_BUF_WINDOW(n) },
                        { b->msgs, b->msgs_bytes, AHEAD_MSGS_WINDOW(n) },
                };

                b->ahead = natgw_ahead_start(r, ELEMENTSOF(r));
        }
        if (!b->ahead)
                return natgw_batch_free(b);
        return b;
}

struct natgw_batch *natgw_batch_free(struct natgw_batch *b) {
        if (!b)
                return NULL;
        natgw_ahead_stop(b->ahead);
        vm_free(b->buf, b->cap);
        vm_free(b->msgs, b->msgs_bytes);
        free(b->subset);
        free(b);
        return NULL;
}

struct builder {
        struct natgw_batch *b;
        const struct natgw_plan *plan;
        const struct natgw_table_state *old; /* an update: what the previous batch left; else NULL */
        struct natgw_table_state *state;     /* what this batch leaves */
        struct natgw_set_plan *sets;               /* per set of state->sets: what the update does */
        uint32_t seq;
        int r; /* first error; once set, every step is a no-op */
};

static struct nlmsghdr *msg_begin(struct builder *bl, uint16_t type, uint16_t flags,
                                  enum natgw_msg_kind kind, const char *what) {
        struct natgw_batch *b = bl->b;
        struct nlmsghdr *nlh;
        struct natgw_msg *m;

        if (bl->r < 0)
                return NULL;
        if (b->ahead) {
                natgw_ahead_wrote(b->ahead, 0, b->len);
                natgw_ahead_wrote(b->ahead, 1, b->n_msgs * sizeof(*b->msgs));
                /* Outgrown: mremap() may move the memory the thread populates. */
                if (b->cap - b->len < MSG_RESERVE || (b->n_msgs + 1) * sizeof(*b->msgs) > b->msgs_bytes) {
                        natgw_ahead_stop(b->ahead);
                        b->ahead = NULL;
                }
        }
        if (b->cap - b->len < MSG_RESERVE && vm_grow((void **)&b->buf, &b->cap, b->len + 4 * MSG_RESERVE) < 0)
                goto oom;
        if ((b->n_msgs + 1) * sizeof(*b->msgs) > b->msgs_bytes &&
            vm_grow((void **)&b->msgs, &b->msgs_bytes, (b->n_msgs + 1) * sizeof(*b->msgs)) < 0)
                goto oom;
        m = &b->msgs[b->n_msgs++];
        *m = (struct natgw_msg){
                .seq = bl->seq,
                .kind = kind,
                .offset = b->len,
                .entry = -1,
                .map = -1,
                .subset = SIZE_MAX,
                .what = what,
        };
        if (kind == NATGW_MSG_CONTROL) {
                nlh = type == NFNL_MSG_BATCH_BEGIN ? nftnl_batch_begin((char *)b->buf + b->len, bl->seq)
                                                   : nftnl_batch_end((char *)b->buf + b->len, bl->seq);
        } else {
                /* Counters are one message each, tens of thousands of them: they report only
                 * failure, also when an update deletes them. Every other message asks for an
                 * ack; acks and errors come back in message order, so the last ack requested
                 * closes the transaction (it must come last: see natgw_batch_build()). */
                if (kind != NATGW_MSG_COUNTER && type != NFT_MSG_DELOBJ) {
                        flags |= NLM_F_ACK;
                        b->n_acks++;
                        b->last_ack_seq = bl->seq;
                }
                nlh = nftnl_nlmsg_build_hdr((char *)b->buf + b->len, type, NFPROTO_INET, flags, bl->seq);
        }
        bl->seq++;
        return nlh;
oom:
        bl->r = -ENOMEM;
        return NULL;
}

static struct natgw_msg *msg_last(struct builder *bl) {
        return &bl->b->msgs[bl->b->n_msgs - 1];
}

static void msg_end(struct builder *bl, struct nlmsghdr *nlh) {
        bl->b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

/* ---- table, counters, chains ---- */

static void put_table(struct builder *bl, uint16_t type, int flags_attr, uint32_t flags) {
        struct nftnl_table *t;
        struct nlmsghdr *nlh;

        nlh = msg_begin(bl, type, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0, NATGW_MSG_TABLE, "table inet " NATGW_TABLE);
        if (!nlh)
                return;
        t = nftnl_table_alloc();
        if (!t) {
                bl->r = -ENOMEM;
                return;
        }
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, NATGW_TABLE);
        if (flags_attr)
                nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, flags);
        nftnl_table_nlmsg_build_payload(nlh, t);
        nftnl_table_free(t);
        msg_end(bl, nlh);
}

/* @prefix@name into @buf of @size, cut to fit; the length uncut. For each counter and each element
 * of a counter map: 100,000 of each at 50,000 forwards, where snprintf() was slow. */
static size_t join_name(char *buf, size_t size, const char *prefix, const char *name) {
        size_t lp = strlen(prefix), ln = strlen(name), kp = MIN(lp, size - 1), kn = MIN(ln, size - 1 - kp);

        memcpy(buf, prefix, kp);
        memcpy(buf + kp, name, kn);
        buf[kp + kn] = '\0';
        return lp + ln;
}

/* The counter @prefix@name (@name NULL: entry @entry's own name), kept by errors as @entry's:
 * the message libnftnl's nftnl_obj_nlmsg_build_payload() writes for one (table, name, type and
 * an empty data nest), written directly. There are two per entry: through an nftnl_obj each was
 * an allocation, two string copies and their frees, and the traffic counter's name a printf; at
 * 50,000 forwards 6 of natgw_batch_build()'s 60 ms. test-nft-batch compares the bytes with
 * libnftnl's. */
static void put_counter(struct builder *bl, int64_t entry, const char *prefix, const char *name) {
        char full[NFT_OBJ_MAXNAMELEN];
        struct nlmsghdr *nlh;

        if (!name)
                name = natgw_plan_entry_name(bl->plan, (uint32_t)entry);
        if (join_name(full, sizeof(full), prefix, name) >= sizeof(full)) {
                bl->r = -ENAMETOOLONG;
                return;
        }
        nlh = msg_begin(bl, NFT_MSG_NEWOBJ, NLM_F_CREATE, NATGW_MSG_COUNTER, "counter");
        if (!nlh)
                return;
        msg_last(bl)->entry = entry;
        mnl_attr_put_strz(nlh, NFTA_OBJ_TABLE, NATGW_TABLE);
        mnl_attr_put_strz(nlh, NFTA_OBJ_NAME, full);
        mnl_attr_put_u32(nlh, NFTA_OBJ_TYPE, htonl(NFT_OBJECT_COUNTER));
        mnl_attr_nest_end(nlh, mnl_attr_nest_start(nlh, NFTA_OBJ_DATA));
        msg_end(bl, nlh);
}

/* Conntrack helper object @obj (nft-helper.h), for the first entry that uses it. */
static void put_helper(struct builder *bl, unsigned obj) {
        const struct natgw_hobj_def *d = &natgw_hobjs[obj];
        const char *kname = natgw_helpers[__builtin_ctz(d->helper)].name;
        struct nftnl_obj *o;
        struct nlmsghdr *nlh;

        nlh = msg_begin(bl, NFT_MSG_NEWOBJ, NLM_F_CREATE, NATGW_MSG_HELPER, kname);
        if (!nlh)
                return;
        msg_last(bl)->entry = bl->plan->helper_entry[obj];
        o = nftnl_obj_alloc();
        if (!o) {
                bl->r = -ENOMEM;
                return;
        }
        nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, NATGW_TABLE);
        nftnl_obj_set_str(o, NFTNL_OBJ_NAME, d->name);
        nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_CT_HELPER);
        nftnl_obj_set_str(o, NFTNL_OBJ_CT_HELPER_NAME, kname);
        /* No layer 3 protocol: in an inet table the kernel takes the helper for both. */
        nftnl_obj_set_u8(o, NFTNL_OBJ_CT_HELPER_L4PROTO, d->proto == NATGW_PROTO_TCP ? IPPROTO_TCP : IPPROTO_UDP);
        nftnl_obj_nlmsg_build_payload(nlh, o);
        nftnl_obj_free(o);
        msg_end(bl, nlh);
}

/* hook < 0: a regular chain; else a base chain of @type ("nat", "filter"). */
static void put_chain(struct builder *bl, const char *name, int hook, int prio, const char *type, int64_t entry) {
        struct nftnl_chain *ch;
        struct nlmsghdr *nlh;

        /* Base chain names are literals; an entry's chain is named after the entry. */
        nlh = msg_begin(bl, NFT_MSG_NEWCHAIN, NLM_F_CREATE, NATGW_MSG_CHAIN, hook >= 0 ? name : "chain");
        if (!nlh)
                return;
        msg_last(bl)->entry = entry;
        ch = nftnl_chain_alloc();
        if (!ch) {
                bl->r = -ENOMEM;
                return;
        }
        nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, NATGW_TABLE);
        nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, name);
        if (hook >= 0) {
                nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
                nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, prio);
                nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, type);
                nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
        }
        nftnl_chain_nlmsg_build_payload(nlh, ch);
        nftnl_chain_free(ch);
        msg_end(bl, nlh);
}

/* ---- sets ---- */

static uint32_t field_dtype(enum natgw_field f, int family) {
        switch (f) {
        case NATGW_FIELD_IIFNAME:
        case NATGW_FIELD_OIFNAME:
                return DT_IFNAME;
        case NATGW_FIELD_DADDR:
        case NATGW_FIELD_SADDR:
                return family == AF_INET ? DT_IPADDR : DT_IP6ADDR;
        case NATGW_FIELD_L4PROTO:
                return DT_INET_PROTO;
        case NATGW_FIELD_DPORT:
                return DT_INET_SERVICE;
        case NATGW_FIELD_ENTRY:
                return DT_MARK;
        }
        return 0;
}

/* nft's mark of a map whose data are intervals (its user data: the kernel keeps it for nft). */
static void set_data_interval(struct builder *bl, struct nftnl_set *s) {
        struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);

        if (!u || !nftnl_udata_put_u32(u, NFTNL_UDATA_SET_DATA_INTERVAL, 1) ||
            nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u)) < 0)
                bl->r = -ENOMEM;
        nftnl_udata_buf_free(u);
}

static void put_set(struct builder *bl, size_t mi, enum natgw_twin twin, uint32_t size) {
        const struct natgw_map *m = &bl->plan->maps[mi];
        uint32_t key_type = 0, flags;
        struct nlmsghdr *nlh;
        struct nftnl_set *s;
        char name[48];

        nlh = msg_begin(bl, NFT_MSG_NEWSET, NLM_F_CREATE, NATGW_MSG_SET, "map");
        if (!nlh)
                return;
        msg_last(bl)->map = (int32_t)mi;
        msg_last(bl)->twin = twin;
        s = nftnl_set_alloc();
        if (!s) {
                bl->r = -ENOMEM;
                return;
        }
        natgw_batch_set_name(m, twin, name, sizeof(name));
        for (unsigned i = 0; i < m->n_fields; i++)
                key_type = key_type << 6 | field_dtype(m->fields[i], m->family);
        flags = twin != NATGW_TWIN_MAP ? NFT_SET_OBJECT : m->kind == NATGW_MAP_ALLOW ? 0 : NFT_SET_MAP;
        if (m->interval)
                flags |= NFT_SET_INTERVAL | NFT_SET_CONCAT;

        nftnl_set_set_str(s, NFTNL_SET_TABLE, NATGW_TABLE);
        nftnl_set_set_str(s, NFTNL_SET_NAME, name);
        nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
        nftnl_set_set_u32(s, NFTNL_SET_ID, natgw_batch_set_id(mi, twin));
        nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
        nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, key_type);
        nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, m->key_len);
        if (twin != NATGW_TWIN_MAP) {
                nftnl_set_set_u32(s, NFTNL_SET_OBJ_TYPE, NFT_OBJECT_COUNTER);
        } else if (m->kind == NATGW_MAP_ALLOW) {
                /* a set: no data */
        } else if (m->kind == NATGW_MAP_EGRESS || m->kind == NATGW_MAP_POLICY) {
                nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
                nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 0);
        } else {
                uint32_t dt = m->family == AF_INET ? DT_IPADDR : DT_IP6ADDR;

                /* forward: address . port; netmap: a prefix's first . last address, which nft
                 * knows as an address interval (and crashes on as a concatenation). */
                nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, m->kind == NATGW_MAP_NETMAP ? dt : dt << 6 | DT_INET_SERVICE);
                if (m->kind == NATGW_MAP_NETMAP)
                        set_data_interval(bl, s);
                nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, m->data_len);
        }
        if (m->interval)
                nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, m->field_len, m->n_fields);
        else
                /* The size lets the kernel pick a hash of the right size at once; it is also
                 * the most elements the set takes (natgw_batch_set_size()). */
                nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, size);
        nftnl_set_nlmsg_build_payload(nlh, s);
        nftnl_set_free(s);
        msg_end(bl, nlh);
}

/* The id of host set (@family, @out) in the batch that creates it. */
static uint32_t hosts_set_id(int family, bool out) {
        return 5001u + (family == AF_INET6 ? 2u : 0u) + (out ? 1u : 0u);
}

/* metrics.hosts: a dynamic set of counters, elements added by chain account, gone after a quiet
 * NATGW_HOSTS_TIMEOUT_SEC, at most NATGW_HOSTS_MAX of them. */
static void put_hosts_set(struct builder *bl, int family, bool out) {
        struct nftnl_expr *ctr;
        struct nlmsghdr *nlh;
        struct nftnl_set *s;

        nlh = msg_begin(bl, NFT_MSG_NEWSET, NLM_F_CREATE, NATGW_MSG_SET, "the set of metrics.hosts");
        if (!nlh)
                return;
        s = nftnl_set_alloc();
        ctr = nftnl_expr_alloc("counter");
        if (!s || !ctr) {
                nftnl_set_free(s);
                nftnl_expr_free(ctr);
                bl->r = -ENOMEM;
                return;
        }
        nftnl_set_set_str(s, NFTNL_SET_TABLE, NATGW_TABLE);
        nftnl_set_set_str(s, NFTNL_SET_NAME, natgw_hosts_set_name(family, out));
        nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
        nftnl_set_set_u32(s, NFTNL_SET_ID, hosts_set_id(family, out));
        nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_EVAL | NFT_SET_TIMEOUT);
        nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, family == AF_INET ? DT_IPADDR : DT_IP6ADDR);
        nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, family == AF_INET ? 4 : 16);
        nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, NATGW_HOSTS_MAX);
        nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, NATGW_HOSTS_TIMEOUT_SEC * 1000ull);
        nftnl_set_add_expr(s, ctr);
        nftnl_set_nlmsg_build_payload(nlh, s);
        nftnl_set_free(s);
        msg_end(bl, nlh);
}

static void put_clear(struct builder *bl, uint16_t type, const char *name, const char *what);

static void put_hosts_sets(struct builder *bl, bool create) {
        for (int f = 0; f < 2; f++)
                for (int out = 0; out < 2; out++) {
                        int family = f == 0 ? AF_INET : AF_INET6;

                        if (create)
                                put_hosts_set(bl, family, out);
                        else
                                put_clear(bl, NFT_MSG_DELSET, natgw_hosts_set_name(family, out),
                                          "a set of metrics.hosts");
                }
}

/* ---- elements, split across messages ---- */

static bool put_value(struct nlmsghdr *nlh, size_t limit, uint16_t type, const void *v, uint32_t len) {
        struct nlattr *n = mnl_attr_nest_start_check(nlh, limit, type);

        if (!n || !mnl_attr_put_check(nlh, limit, NFTA_DATA_VALUE, len, v))
                return false;
        mnl_attr_nest_end(nlh, n);
        return true;
}

/* The elements one put_elem_lists() puts: of a plan map, or the records of an old set that go. */
struct elems {
        const struct natgw_map *m;   /* NULL: a deletion from @old */
        enum natgw_twin twin;        /* which of @m's sets */
        const uint32_t *subset;      /* indexes of @m's elements to put; NULL: all */
        const struct natgw_table_set *old;
        const size_t *off;           /* offsets in @old's records of those to delete */
};

/* Element @i of @x, nested into @nlh up to @limit: false when it does not fit (and nothing of it
 * stays). A deletion names the element by its key (interval) only. */
static bool put_elem(struct builder *bl, struct nlmsghdr *nlh, size_t limit, const struct elems *x, size_t i) {
        const struct natgw_map *m = x->m;
        size_t ei = x->subset ? x->subset[i] : i, key_len = m ? m->key_len : x->old->key_len;
        const uint8_t *key = m ? m->keys + ei * m->key_len * (m->interval ? 2 : 1)
                               : x->old->recs + x->off[i] + sizeof(uint16_t);
        struct nlattr *e, *d, *v;

        e = mnl_attr_nest_start_check(nlh, limit, NFTA_LIST_ELEM);
        if (!e)
                return false;
        if (!put_value(nlh, limit, NFTA_SET_ELEM_KEY, key, key_len))
                goto cancel;
        /* An old record of a set made without size is an interval map's. */
        if ((m ? m->interval : x->old->size == 0) &&
            !put_value(nlh, limit, NFTA_SET_ELEM_KEY_END, key + key_len, key_len))
                goto cancel;
        if (m && x->twin != NATGW_TWIN_MAP) {
                char counter[96];

                join_name(counter, sizeof(counter), x->twin == NATGW_TWIN_BYTES ? NATGW_BYTES_COUNTER_PREFIX : "",
                          natgw_plan_entry_name(bl->plan, m->entry[ei]));
                if (!mnl_attr_put_strz_check(nlh, limit, NFTA_SET_ELEM_OBJREF, counter))
                        goto cancel;
        } else if (m && (m->kind == NATGW_MAP_EGRESS || m->kind == NATGW_MAP_POLICY)) {
                bool jump = m->kind == NATGW_MAP_EGRESS || natgw_policy_to_chain(bl->plan, m, ei);
                char chain[96];

                join_name(chain, sizeof(chain), m->kind == NATGW_MAP_EGRESS ? NATGW_EGRESS_CHAIN_PREFIX : NATGW_ALLOW_CHAIN_PREFIX,
                          natgw_plan_entry_name(bl->plan, m->entry[ei]));
                d = mnl_attr_nest_start_check(nlh, limit, NFTA_SET_ELEM_DATA);
                if (!d)
                        goto cancel;
                v = mnl_attr_nest_start_check(nlh, limit, NFTA_DATA_VERDICT);
                if (!v || !mnl_attr_put_u32_check(nlh, limit, NFTA_VERDICT_CODE,
                                                  htonl(jump ? (uint32_t)NFT_GOTO : NF_ACCEPT)) ||
                    (jump && !mnl_attr_put_strz_check(nlh, limit, NFTA_VERDICT_CHAIN, chain)))
                        goto cancel;
                mnl_attr_nest_end(nlh, v);
                mnl_attr_nest_end(nlh, d);
        } else if (m && m->kind != NATGW_MAP_ALLOW && !put_value(nlh, limit, NFTA_SET_ELEM_DATA, m->data + ei * m->data_len, m->data_len))
                goto cancel;
        mnl_attr_nest_end(nlh, e);
        return true;
cancel:
        mnl_attr_nest_cancel(nlh, e);
        return false;
}

/*
 * Elements 0 .. @n - 1 of @x into set @set, in as many messages as the 64 KiB limit of the list
 * attribute needs: NFT_MSG_NEWSETELEM for plan map @mi (@base: where its subset starts in the
 * batch, SIZE_MAX none) or, without x->m, NFT_MSG_DELSETELEM.
 */
static void put_elem_lists(struct builder *bl, const char *set, size_t mi, size_t base, size_t n,
                           const struct elems *x) {
        size_t i = 0;

        while (i < n && bl->r >= 0) {
                struct nlmsghdr *nlh;
                struct nlattr *list;
                size_t limit, first = i;

                nlh = x->m ? msg_begin(bl, NFT_MSG_NEWSETELEM, NLM_F_CREATE, NATGW_MSG_ELEMENTS, "elements")
                           : msg_begin(bl, NFT_MSG_DELSETELEM, 0, NATGW_MSG_CLEAR, "the previous elements of a map");
                if (!nlh)
                        return;
                mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, NATGW_TABLE);
                mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
                if (x->m) {
                        struct natgw_msg *msg = msg_last(bl);

                        msg->map = (int32_t)mi;
                        msg->twin = x->twin;
                        msg->first_elem = i;
                        msg->subset = base == SIZE_MAX ? SIZE_MAX : base + i;
                        mnl_attr_put_u32(nlh, NFTA_SET_ELEM_LIST_SET_ID, htonl(natgw_batch_set_id(mi, x->twin)));
                }
                list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
                limit = nlh->nlmsg_len + ELEMS_ATTR_MAX;
                while (i < n && put_elem(bl, nlh, limit, x, i))
                        i++;
                if (i == first) { /* one element larger than a message: cannot happen with our keys */
                        bl->r = -E2BIG;
                        return;
                }
                mnl_attr_nest_end(nlh, list);
                msg_end(bl, nlh);
        }
}

/* The elements of set @twin of plan map @mi, all of them or, with @subset, the @n_subset
 * elements whose indexes it lists. */
static void put_elements(struct builder *bl, size_t mi, enum natgw_twin twin, const uint32_t *subset,
                         size_t n_subset) {
        const struct elems x = { .m = &bl->plan->maps[mi], .twin = twin, .subset = subset };
        size_t n = subset ? n_subset : x.m->n, base = SIZE_MAX;
        char name[48];

        if (subset && n > 0) {
                struct natgw_batch *b = bl->b;
                size_t cap = b->n_subset;

                /* Kept in the batch, so that an error can be traced to its element. */
                uint32_t *v = realloc(b->subset, (cap + n) * sizeof(*v));

                if (!v) {
                        bl->r = -ENOMEM;
                        return;
                }
                memcpy(v + cap, subset, n * sizeof(*v));
                b->subset = v;
                b->n_subset = cap + n;
                base = cap;
        }
        natgw_batch_set_name(x.m, twin, name, sizeof(name));
        put_elem_lists(bl, name, mi, base, n, &x);
}

int64_t natgw_batch_element_at(const struct natgw_batch *b, const struct natgw_msg *m, uint32_t offset) {
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)(b->buf + m->offset);
        const struct nlattr *a, *e;
        int64_t idx = (int64_t)m->first_elem;

        if (m->kind != NATGW_MSG_ELEMENTS || offset >= nlh->nlmsg_len)
                return -1;
        if (m->subset != SIZE_MAX)
                idx = 0;
        mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
                if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
                        continue;
                mnl_attr_for_each_nested(e, a) {
                        size_t start = (size_t)((const uint8_t *)e - (const uint8_t *)nlh);

                        if (offset >= start && offset < start + e->nla_len) {
                                if (m->subset == SIZE_MAX)
                                        return idx;
                                if (m->subset + (size_t)idx >= b->n_subset)
                                        return -1;
                                return (int64_t)b->subset[m->subset + (size_t)idx];
                        }
                        idx++;
                }
        }
        return -1;
}

/* ---- the transaction ---- */

static void put_maps(struct builder *bl) {
        const struct natgw_plan *p = bl->plan;
        size_t k = 0; /* index in bl->state->sets: plan order, twins after their map */

        for (size_t i = 0; i < p->n_maps; i++) {
                for (unsigned t = 0; t < natgw_map_n_sets(&p->maps[i]); t++, k++)
                        if (!bl->sets[k].kept)
                                put_set(bl, i, natgw_map_twin(&p->maps[i], t), bl->state->sets[k].size);
        }
        k = 0;
        for (size_t i = 0; i < p->n_maps; i++) {
                for (unsigned t = 0; t < natgw_map_n_sets(&p->maps[i]); t++, k++) {
                        const struct natgw_set_plan *sp = &bl->sets[k];
                        enum natgw_twin twin = natgw_map_twin(&p->maps[i], t);

                        if (!sp->delta)
                                put_elements(bl, i, twin, NULL, 0);
                        else if (sp->n_added > 0)
                                put_elements(bl, i, twin, sp->added, sp->n_added);
                }
        }
}

/* One rule message for entry @entry (-1: none) or map @map (-1: none); NULL when out of room. */
static struct nlmsghdr *rule_begin(struct builder *bl, int64_t entry, int32_t map) {
        struct nlmsghdr *nlh = msg_begin(bl, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, NATGW_MSG_RULE, "rule");

        if (nlh) {
                msg_last(bl)->entry = entry;
                msg_last(bl)->map = map;
        }
        return nlh;
}

/* Chain allow-NAME of egress entry @i: allowed packets accepted, the rest counted, maybe
 * logged, dropped or rejected. */
static void put_allow_rules(struct builder *bl, size_t i) {
        const struct natgw_plan *p = bl->plan;
        const struct natgw_egress *eg = &p->config->egress[i];
        struct nlmsghdr *nlh;

        for (size_t k = 0; k < p->n_maps && bl->r >= 0; k++) {
                bool used = false;

                if (p->maps[k].kind != NATGW_MAP_ALLOW)
                        continue;
                for (size_t e = 0; e < p->maps[k].n && !used; e++)
                        used = p->maps[k].entry[e] == i;
                if (!used || !(nlh = rule_begin(bl, (int64_t)i, (int32_t)k)))
                        continue;
                bl->r = natgw_rule_allow_lookup(nlh, eg, (uint32_t)i, &p->maps[k], k);
                msg_end(bl, nlh);
        }
        for (enum natgw_deny_rule w = NATGW_DENY_RULE_COUNT; w <= NATGW_DENY_RULE_UNREACH && bl->r >= 0; w++) {
                if ((w == NATGW_DENY_RULE_LOG && !eg->log_denied) ||
                    (w == NATGW_DENY_RULE_UNREACH && eg->deny != NATGW_DENY_REJECT))
                        continue;
                nlh = rule_begin(bl, (int64_t)i, -1);
                if (!nlh)
                        return;
                bl->r = natgw_rule_allow_deny(nlh, eg, w);
                msg_end(bl, nlh);
        }
}

/* Chain account: per forward map, then per egress map, each direction: the entry's traffic and,
 * with metrics.hosts, the host's; forwards first, so that a forward's reply leaving by an egress
 * entry's interface counts once, as the forward's. */
static void put_account_rules(struct builder *bl) {
        const struct natgw_plan *p = bl->plan;
        bool hosts = p->config->metrics.hosts;

        for (int kind = NATGW_MAP_FORWARD; kind <= NATGW_MAP_EGRESS; kind++)
                for (size_t i = 0; i < p->n_maps; i++) {
                        const struct natgw_map *m = &p->maps[i];

                        if ((int)m->kind != kind)
                                continue;
                        for (int reply = 0; reply < 2; reply++)
                                for (int w = hosts ? NATGW_ACCOUNT_HOSTS : NATGW_ACCOUNT_COUNT;
                                     w <= (hosts ? NATGW_ACCOUNT_UNTRACKED : NATGW_ACCOUNT_COUNT); w++) {
                                        struct nlmsghdr *nlh = rule_begin(bl, -1, (int32_t)i);
                                        bool out = natgw_account_host_is_source(m, reply);

                                        if (!nlh)
                                                return;
                                        bl->r = natgw_rule_account(nlh, m, i, reply, (enum natgw_account_rule)w,
                                                                   hosts_set_id(m->family, out));
                                        msg_end(bl, nlh);
                                }
                }
}

/* The rules of the netmap maps: NAT (@chain NULL: each in its hook's chain, inbound ones when
 * @in, outbound ones when @out) or the filter's accept of outbound ones (@chain "forward"). */
static void put_netmap_rules(struct builder *bl, const char *chain, bool in, bool out) {
        const struct natgw_plan *p = bl->plan;
        struct nlmsghdr *nlh;

        for (size_t i = 0; i < p->n_maps; i++) {
                const struct natgw_map *m = &p->maps[i];

                if (m->kind != NATGW_MAP_NETMAP || (chain && natgw_map_netmap_in(m)) ||
                    (!chain && !(natgw_map_netmap_in(m) ? in : out)))
                        continue;
                nlh = rule_begin(bl, -1, (int32_t)i);
                if (!nlh)
                        return;
                bl->r = natgw_rule_netmap(nlh, chain ? chain : natgw_map_netmap_in(m) ? "prerouting" : "postrouting", m, i);
                msg_end(bl, nlh);
        }
}

/* Chain forward: established and related first (the cheap common case), then what the config
 * says about new connections. */
static void put_filter_rules(struct builder *bl) {
        const struct natgw_plan *p = bl->plan;
        bool drop = p->config->filter.forward == NATGW_FILTER_DROP;
        struct nlmsghdr *nlh;

        if (!p->forward_chain)
                return;
        for (size_t i = 0; i < p->config->n_egress; i++)
                if (p->config->egress[i].has_allow)
                        put_allow_rules(bl, i);
        for (enum natgw_filter_rule w = NATGW_FILTER_RULE_ESTABLISHED; w <= NATGW_FILTER_RULE_DNAT; w++) {
                if (w == NATGW_FILTER_RULE_DNAT && !drop)
                        continue;
                nlh = rule_begin(bl, -1, -1);
                if (!nlh)
                        return;
                bl->r = natgw_rule_filter(nlh, w);
                msg_end(bl, nlh);
        }
        /* A netmap's hosts leave as the netmap says, before (and so instead of) any egress entry. */
        put_netmap_rules(bl, "forward", true, true);
        for (size_t i = 0; i < p->n_maps; i++) {
                if (p->maps[i].kind != NATGW_MAP_POLICY)
                        continue;
                nlh = rule_begin(bl, -1, (int32_t)i);
                if (!nlh)
                        return;
                bl->r = natgw_rule_egress_lookup(nlh, "forward", &p->maps[i], i);
                msg_end(bl, nlh);
        }
        if (drop && (nlh = rule_begin(bl, -1, -1))) {
                bl->r = natgw_rule_filter(nlh, NATGW_FILTER_RULE_DROP);
                msg_end(bl, nlh);
        }
}

/* Reflection (nft-reflect.h): prerouting after the outside rules, output, hairpin (when @kept),
 * and the masquerade that comes first in postrouting (before the egress lookups, which it
 * overrides; when @post). */
static void put_reflect_rules(struct builder *bl, bool kept, bool post) {
        static const enum natgw_forward_rule hows[] = { NATGW_FORWARD_REFLECT_PRE, NATGW_FORWARD_REFLECT_OUTPUT };
        const struct natgw_plan *p = bl->plan;
        struct nlmsghdr *nlh;

        if (!p->reflect)
                return;
        for (size_t h = 0; h <= ELEMENTSOF(hows) && kept; h++)
                for (size_t i = 0; i < p->n_maps; i++) {
                        const struct natgw_map *m = &p->maps[i];

                        if (h < ELEMENTSOF(hows) && hows[h] == NATGW_FORWARD_REFLECT_PRE &&
                            p->n_reflect_outside > NATGW_REFLECT_OUTSIDE_MAX)
                                break; /* warned at compile time (nft-compile.c) */

                        for (unsigned proto = NATGW_PROTO_TCP; proto <= NATGW_PROTO_UDP; proto <<= 1) {
                                if (m->kind != NATGW_MAP_FORWARD || !m->reflect || !(m->protos & proto) ||
                                    (h == ELEMENTSOF(hows) && !m->hairpin))
                                        continue;
                                nlh = rule_begin(bl, -1, (int32_t)i);
                                if (!nlh)
                                        return;
                                bl->r = h < ELEMENTSOF(hows)
                                                ? natgw_rule_forward(nlh, m, i, proto, hows[h], p->reflect_outside,
                                                                     p->n_reflect_outside)
                                                : natgw_rule_hairpin(nlh, m, i, proto);
                                msg_end(bl, nlh);
                        }
                }
        if (!post)
                return;
        nlh = rule_begin(bl, -1, -1);
        if (!nlh)
                return;
        bl->r = natgw_rule_reflect_masquerade(nlh);
        msg_end(bl, nlh);
}

/* Chain egress-NAME: its helpers, each for its protocols and standard port, before its NAT. */
static void put_egress_helper_rules(struct builder *bl, size_t i) {
        const struct natgw_egress *eg = &bl->plan->config->egress[i];
        unsigned objs = natgw_hobjs_of(eg->helpers, NATGW_PROTO_TCP | NATGW_PROTO_UDP);
        struct nlmsghdr *nlh;

        for (unsigned o = 0; o < NATGW_HOBJ_COUNT; o++) {
                const struct natgw_hobj_def *d = &natgw_hobjs[o];

                if (!(objs & (1u << o)) || !(nlh = rule_begin(bl, (int64_t)i, -1)))
                        continue;
                bl->r = natgw_rule_helper_egress(nlh, eg, d->proto, natgw_helpers[__builtin_ctz(d->helper)].port,
                                                 d->name);
                msg_end(bl, nlh);
        }
}

/* Chain helper: each forward with a helper, per protocol and range of target ports. */
static void put_forward_helper_rules(struct builder *bl) {
        const struct natgw_config *c = bl->plan->config;
        struct nlmsghdr *nlh;

        for (size_t i = 0; i < c->n_forwards; i++) {
                const struct natgw_forward *f = &c->forwards[i];
                unsigned objs = natgw_hobjs_of(f->helper, f->protos);
                bool keep = f->to_port_mode == NATGW_TO_PORT_KEEP;

                for (unsigned o = 0; o < NATGW_HOBJ_COUNT; o++)
                        for (size_t k = 0; (objs & (1u << o)) && k < (keep ? f->n_ports : 1); k++) {
                                nlh = rule_begin(bl, (int64_t)(c->n_egress + i), -1);
                                if (!nlh)
                                        return;
                                bl->r = natgw_rule_helper_forward(nlh, f, natgw_hobjs[o].proto,
                                                                  keep ? &f->ports[k] : &f->to_port, natgw_hobjs[o].name);
                                msg_end(bl, nlh);
                        }
        }
}

/* Which rules put_rules() writes: all, or those of chain postrouting, or all the others. */
enum rules_part {
        RULES_ALL,
        RULES_POSTROUTING,
        RULES_KEPT,
};

static void put_rules(struct builder *bl, enum rules_part part) {
        const struct natgw_plan *p = bl->plan;
        const struct natgw_config *c = p->config;
        struct nlmsghdr *nlh;

        for (size_t i = 0; i < c->n_egress && part != RULES_POSTROUTING; i++) {
                put_egress_helper_rules(bl, i);
                nlh = msg_begin(bl, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, NATGW_MSG_RULE, "rule");
                if (!nlh)
                        return;
                msg_last(bl)->entry = (int64_t)i;
                bl->r = natgw_rule_egress_entry(nlh, &c->egress[i]);
                msg_end(bl, nlh);
        }
        /* First in prerouting and postrouting: a netmap takes its addresses before any forward
         * or egress entry does. */
        put_netmap_rules(bl, NULL, part != RULES_POSTROUTING, part != RULES_KEPT);
        /* Only forwards with a helper have such rules: the others are not looked at. */
        if (part != RULES_POSTROUTING && p->helper_chain)
                put_forward_helper_rules(bl);
        for (size_t i = 0; i < p->n_maps && part != RULES_POSTROUTING; i++) {
                const struct natgw_map *m = &p->maps[i];

                for (unsigned proto = NATGW_PROTO_TCP; proto <= NATGW_PROTO_UDP; proto <<= 1) {
                        if (m->kind != NATGW_MAP_FORWARD || !(m->protos & proto))
                                continue;
                        nlh = msg_begin(bl, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, NATGW_MSG_RULE,
                                        "rule");
                        if (!nlh)
                                return;
                        msg_last(bl)->map = (int32_t)i;
                        bl->r = natgw_rule_forward(nlh, m, i, proto, NATGW_FORWARD_OUTSIDE, NULL, 0);
                        msg_end(bl, nlh);
                }
        }
        put_reflect_rules(bl, part != RULES_POSTROUTING, part != RULES_KEPT);
        for (size_t i = 0; i < p->n_maps && part != RULES_KEPT; i++) {
                if (p->maps[i].kind != NATGW_MAP_EGRESS)
                        continue;
                nlh = msg_begin(bl, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, NATGW_MSG_RULE, "rule");
                if (!nlh)
                        return;
                msg_last(bl)->map = (int32_t)i;
                bl->r = natgw_rule_egress_lookup(nlh, "postrouting", &p->maps[i], i);
                msg_end(bl, nlh);
        }
        if (part != RULES_POSTROUTING) {
                put_filter_rules(bl);
                put_account_rules(bl);
        }
}

/* A builder of a batch from sequence number @seq on, into @b when not NULL (it takes it). */
static int builder_init(struct builder *bl, const struct natgw_plan *p, uint32_t seq, struct natgw_batch *b) {
        *bl = (struct builder){ .plan = p, .seq = seq };
        bl->b = b ? b : calloc(1, sizeof(*bl->b));
        return bl->b ? 0 : -ENOMEM;
}

static void put_control(struct builder *bl, uint16_t type) {
        struct nlmsghdr *nlh = msg_begin(bl, type, 0, NATGW_MSG_CONTROL, "batch");

        if (nlh)
                msg_end(bl, nlh);
}

static int builder_finish(struct builder *bl, struct natgw_batch **ret) {
        _cleanup_(natgw_batch_freep) struct natgw_batch *b = bl->b;

        put_control(bl, NFNL_MSG_BATCH_END);
        if (bl->r < 0)
                return bl->r;
        *ret = TAKE_PTR(b);
        return 0;
}

/* ---- an update's removal of the previous content ---- */

/* put_clear() type flag: the object deleted is a conntrack helper, not a counter. */
#define NATGW_DELOBJ_HELPER 0x8000

static void put_clear(struct builder *bl, uint16_t type, const char *name, const char *what) {
        bool helper = type & NATGW_DELOBJ_HELPER;
        struct nlmsghdr *nlh;
        uint16_t table_attr, name_attr;

        type &= (uint16_t)~NATGW_DELOBJ_HELPER;
        nlh = msg_begin(bl, type, 0, NATGW_MSG_CLEAR, what);

        if (!nlh)
                return;
        /* A delete names its table and object, nothing else; a rule delete without a handle
         * deletes every rule of the chain, an element delete without elements flushes the set. */
        switch (type) {
        case NFT_MSG_DELRULE:
                table_attr = NFTA_RULE_TABLE, name_attr = NFTA_RULE_CHAIN;
                break;
        case NFT_MSG_DELSETELEM:
                table_attr = NFTA_SET_ELEM_LIST_TABLE, name_attr = NFTA_SET_ELEM_LIST_SET;
                break;
        case NFT_MSG_DELSET:
                table_attr = NFTA_SET_TABLE, name_attr = NFTA_SET_NAME;
                break;
        case NFT_MSG_DELCHAIN:
                table_attr = NFTA_CHAIN_TABLE, name_attr = NFTA_CHAIN_NAME;
                break;
        case NFT_MSG_DELOBJ:
                table_attr = NFTA_OBJ_TABLE, name_attr = NFTA_OBJ_NAME;
                break;
        default:
                bl->r = -EINVAL;
                return;
        }
        mnl_attr_put_strz(nlh, table_attr, NATGW_TABLE);
        mnl_attr_put_strz(nlh, name_attr, name);
        if (type == NFT_MSG_DELOBJ)
                mnl_attr_put_u32(nlh, NFTA_OBJ_TYPE, htonl(helper ? NFT_OBJECT_CT_HELPER : NFT_OBJECT_COUNTER));
        msg_end(bl, nlh);
}

/*
 * Empty what the previous batch made, in the order the kernel's reference counts allow: rules
 * first (they use maps and jump to chains), then map elements (they name chains and counters),
 * then the maps, chains and counters the new config no longer has. A map kept loses only the
 * elements that go, the others are deleted (and recreated by put_maps()).
 */
static void put_clear_previous(struct builder *bl, bool keep_rules) {
        const struct natgw_table_state *old = bl->old, *st = bl->state;

        /* Postrouting's always: the first message of an update, which fails when the table is gone
         * (then the caller replaces it). */
        if (!keep_rules)
                put_clear(bl, NFT_MSG_DELRULE, "prerouting", "the previous rules of chain prerouting");
        put_clear(bl, NFT_MSG_DELRULE, "postrouting", "the previous rules of chain postrouting");
        if (!keep_rules) {
                if (old->forward_chain)
                        put_clear(bl, NFT_MSG_DELRULE, "forward", "the previous rules of chain forward");
                if (old->helper_chain)
                        put_clear(bl, NFT_MSG_DELRULE, "helper", "the previous rules of chain helper");
                if (old->reflect_chains) {
                        put_clear(bl, NFT_MSG_DELRULE, "output", "the previous rules of chain output");
                        put_clear(bl, NFT_MSG_DELRULE, "hairpin", "the previous rules of chain hairpin");
                }
                put_clear(bl, NFT_MSG_DELRULE, NATGW_ACCOUNT_CHAIN, "the previous rules of chain account");
                for (size_t i = 0; i < old->n_chains; i++)
                        put_clear(bl, NFT_MSG_DELRULE, old->chains[i], "the previous rules of an entry's chain");
        }
        /* A kept map loses the elements that go (its difference: nft-state.c); a map deleted
         * releases what its elements name as it goes: no flush first. */
        for (size_t i = 0; i < old->n_sets; i++) {
                const struct natgw_set_plan *sp = NULL;

                for (size_t k = 0; k < st->n_sets && !sp; k++)
                        if (bl->sets[k].kept && streq(st->sets[k].name, old->sets[i].name))
                                sp = &bl->sets[k];
                if (!sp)
                        put_clear(bl, NFT_MSG_DELSET, old->sets[i].name, "a previous map");
                else if (!sp->delta)
                        put_clear(bl, NFT_MSG_DELSETELEM, old->sets[i].name, "the previous elements of a map");
                else
                        put_elem_lists(bl, old->sets[i].name, 0, SIZE_MAX, sp->n_removed,
                                       &(const struct elems){ .old = &old->sets[i], .off = sp->removed });
        }
        for (size_t i = 0; i < old->n_chains; i++)
                if (!natgw_table_state_has_name(st->chains, st->n_chains, old->chains[i]))
                        put_clear(bl, NFT_MSG_DELCHAIN, old->chains[i], "the chain of a removed entry");
        /* The host sets keep their elements and counters across reloads while metrics.hosts stays. */
        if (old->hosts && !st->hosts)
                put_hosts_sets(bl, false);
        if (old->forward_chain && !st->forward_chain)
                put_clear(bl, NFT_MSG_DELCHAIN, "forward", "chain forward, which the new config does not need");
        if (old->helper_chain && !st->helper_chain)
                put_clear(bl, NFT_MSG_DELCHAIN, "helper", "chain helper, which the new config does not need");
        for (unsigned o = 0; o < NATGW_HOBJ_COUNT; o++)
                if ((old->helper_objs & (1u << o)) && !(st->helper_objs & (1u << o)))
                        put_clear(bl, NFT_MSG_DELOBJ | NATGW_DELOBJ_HELPER, natgw_hobjs[o].name,
                                  "a conntrack helper the new config does not use");
        if (old->reflect_chains && !st->reflect_chains) {
                put_clear(bl, NFT_MSG_DELCHAIN, "output", "chain output, which the new config does not need");
                put_clear(bl, NFT_MSG_DELCHAIN, "hairpin", "chain hairpin, which the new config does not need");
        }
        for (size_t i = 0; i < st->n_counters_gone; i++)
                put_clear(bl, NFT_MSG_DELOBJ, old->names + st->counters_gone[i], "the counter of a removed entry");
}

/* The SHA-256 of the rules of every chain but postrouting, encoded from sequence number 0. */
static int rules_sha256(const struct natgw_plan *p, uint8_t ret[NATGW_SHA256_SIZE]) {
        struct builder bl;
        int r;

        if (builder_init(&bl, p, 0, NULL) < 0)
                return -ENOMEM;
        put_rules(&bl, RULES_KEPT);
        r = bl.r;
        if (r >= 0)
                natgw_sha256(bl.b->buf, bl.b->len, ret);
        natgw_batch_free(bl.b);
        return r;
}

/*
 * Whether an update may leave the rules of every chain but postrouting as they are: the same
 * rules (by their bytes), no chain added or removed, and every set kept (a rule binds its set:
 * a set deleted and recreated takes new rules). Re-adding a rule costs the kernel a walk over
 * every element of the map it binds (50,000 forwards: most of a reload that changes nothing).
 */
static bool rules_kept(const struct natgw_table_state *old, const struct natgw_table_state *st,
                       const struct natgw_set_plan *sets) {
        if (!old->rules_known || memcmp(old->rules_sha256, st->rules_sha256, NATGW_SHA256_SIZE) != 0 ||
            old->forward_chain != st->forward_chain || old->hosts != st->hosts || old->n_chains != st->n_chains ||
            old->n_sets != st->n_sets || old->reflect_chains != st->reflect_chains ||
            old->helper_chain != st->helper_chain || old->helper_objs != st->helper_objs)
                return false;
        for (size_t i = 0; i < st->n_chains; i++)
                if (!natgw_table_state_has_name(old->chains, old->n_chains, st->chains[i]))
                        return false;
        for (size_t i = 0; i < st->n_sets; i++)
                if (!sets[i].kept)
                        return false;
        return true;
}

/* natgw_batch_build(); with @unfinished, a replace's state as natgw_table_state_begin() leaves it. */
static int batch_build(const struct natgw_plan *p, const struct natgw_table_state *old, uint32_t seq,
                       uint32_t table_flags, bool unfinished, struct natgw_batch **ret,
                       struct natgw_table_state *ret_state) {
        const struct natgw_config *c = p->config;
        struct natgw_batch *ahead;
        struct natgw_table_state st;
        struct natgw_set_plan *sets = NULL;
        const char *const *added;
        size_t n_added;
        struct builder bl;
        bool keep_rules;
        char name[96];
        int r;

        if (old && !old->valid)
                old = NULL;
        /* A replace's size follows the plan's: its memory is populated from now on, while the
         * state is built. */
        ahead = old ? NULL : batch_new_ahead(p);
        r = old || !unfinished ? natgw_table_state_build(p, old, table_flags, &st, &sets)
                               : natgw_table_state_begin(p, table_flags, &st, &sets);
        if (r < 0) {
                natgw_batch_free(ahead);
                return r;
        }
        r = rules_sha256(p, st.rules_sha256);
        if (r < 0) {
                natgw_batch_free(ahead);
                natgw_set_plans_free(sets, st.n_sets);
                natgw_table_state_clear(&st);
                return r;
        }
        st.rules_known = true;
        keep_rules = old && rules_kept(old, &st, sets);
        if (builder_init(&bl, p, seq, ahead) < 0) {
                natgw_set_plans_free(sets, st.n_sets);
                natgw_table_state_clear(&st);
                return -ENOMEM;
        }
        bl.old = old;
        bl.state = &st;
        bl.sets = sets;
        put_control(&bl, NFNL_MSG_BATCH_BEGIN);

        if (old) {
                /* An update: the table, its base chains and flags stay; if the table is not
                 * there (deleted behind natgwd's back on a kernel without the owner flag), the
                 * first flush fails and the caller replaces the table instead. */
                put_clear_previous(&bl, keep_rules);
        } else {
                /* Create-if-missing, delete, create: whatever was there, the new table
                 * replaces it in the same transaction. */
                put_table(&bl, NFT_MSG_NEWTABLE, 0, 0);
                put_table(&bl, NFT_MSG_DELTABLE, 0, 0);
                put_table(&bl, NFT_MSG_NEWTABLE, 1, table_flags);
        }

        /* The entries whose counters are new: with an update, usually none. */
        added = st.counters_added;
        n_added = st.n_counters_added;
        for (size_t i = 0; i < natgw_plan_n_entries(p) && (!old || n_added > 0); i++) {
                if (!old || natgw_table_state_has_name(added, n_added, natgw_plan_entry_name(p, (uint32_t)i)))
                        put_counter(&bl, (int64_t)i, "", NULL);
                if (old)
                        snprintf(name, sizeof(name), NATGW_BYTES_COUNTER_PREFIX "%s", natgw_plan_entry_name(p, (uint32_t)i));
                if (!old || natgw_table_state_has_name(added, n_added, name))
                        put_counter(&bl, (int64_t)i, NATGW_BYTES_COUNTER_PREFIX, NULL);
        }
        if (c->metrics.hosts &&
            (!old || !natgw_table_state_has_name(old->counters, old->n_counters, NATGW_HOSTS_UNTRACKED_COUNTER)))
                put_counter(&bl, -1, "", NATGW_HOSTS_UNTRACKED_COUNTER);
        for (size_t i = 0; i < c->n_egress; i++) {
                snprintf(name, sizeof(name), NATGW_DENIED_COUNTER_PREFIX "%s", c->egress[i].name);
                if (c->egress[i].has_allow && (!old || !natgw_table_state_has_name(old->counters, old->n_counters, name)))
                        put_counter(&bl, (int64_t)i, NATGW_DENIED_COUNTER_PREFIX, c->egress[i].name);
        }
        if (c->filter.forward == NATGW_FILTER_DROP &&
            (!old || !natgw_table_state_has_name(old->counters, old->n_counters, NATGW_FILTER_COUNTER)))
                put_counter(&bl, -1, "", NATGW_FILTER_COUNTER);
        for (unsigned o = 0; o < NATGW_HOBJ_COUNT; o++)
                if ((p->helper_objs & (1u << o)) && (!old || !(old->helper_objs & (1u << o))))
                        put_helper(&bl, o);
        if (!old) {
                put_chain(&bl, "prerouting", NF_INET_PRE_ROUTING, PRIO_DSTNAT, "nat", -1);
                put_chain(&bl, "postrouting", NF_INET_POST_ROUTING, PRIO_SRCNAT, "nat", -1);
                put_chain(&bl, NATGW_ACCOUNT_CHAIN, NF_INET_FORWARD, PRIO_ACCOUNT, "filter", -1);
        }
        if (p->forward_chain && (!old || !old->forward_chain))
                put_chain(&bl, "forward", NF_INET_FORWARD, PRIO_FILTER, "filter", -1);
        /* After the DNAT, before the connection is confirmed (postrouting's end). */
        if (p->helper_chain && (!old || !old->helper_chain))
                put_chain(&bl, "helper", NF_INET_FORWARD, PRIO_FILTER - 1, "filter", -1);
        if (p->reflect && (!old || !old->reflect_chains)) {
                put_chain(&bl, "output", NF_INET_LOCAL_OUT, PRIO_DSTNAT, "nat", -1);
                /* Right after the translation in prerouting: it sees the target's address. */
                put_chain(&bl, "hairpin", NF_INET_PRE_ROUTING, PRIO_DSTNAT + 1, "filter", -1);
        }
        for (size_t i = 0; i < c->n_egress; i++) {
                snprintf(name, sizeof(name), NATGW_EGRESS_CHAIN_PREFIX "%s", c->egress[i].name);
                if (!old || !natgw_table_state_has_name(old->chains, old->n_chains, name))
                        put_chain(&bl, name, -1, 0, NULL, (int64_t)i);
                snprintf(name, sizeof(name), NATGW_ALLOW_CHAIN_PREFIX "%s", c->egress[i].name);
                if (c->egress[i].has_allow && (!old || !natgw_table_state_has_name(old->chains, old->n_chains, name)))
                        put_chain(&bl, name, -1, 0, NULL, (int64_t)i);
        }
        put_maps(&bl);
        if (c->metrics.hosts && (!old || !old->hosts))
                put_hosts_sets(&bl, true);
        put_rules(&bl, keep_rules ? RULES_POSTROUTING : RULES_ALL);
        /* An update may end in counter deletions, which ask for no ack; a table message with
         * no attributes to change asks for one and closes the transaction. */
        if (old)
                put_table(&bl, NFT_MSG_NEWTABLE, 0, 0);
        r = builder_finish(&bl, ret);
        natgw_set_plans_free(sets, st.n_sets);
        if (r < 0 || !ret_state)
                natgw_table_state_clear(&st);
        else
                *ret_state = st;
        return r;
}

int natgw_batch_build(const struct natgw_plan *p, const struct natgw_table_state *old, uint32_t seq,
                      uint32_t table_flags, struct natgw_batch **ret, struct natgw_table_state *ret_state) {
        return batch_build(p, old, seq, table_flags, false, ret, ret_state);
}

int natgw_batch_build_unfinished(const struct natgw_plan *p, const struct natgw_table_state *old, uint32_t seq,
                                 uint32_t table_flags, struct natgw_batch **ret, struct natgw_table_state *ret_state) {
        return batch_build(p, old, seq, table_flags, true, ret, ret_state);
}

int natgw_batch_build_delete(uint32_t seq, struct natgw_batch **ret) {
        struct builder bl;

        if (builder_init(&bl, NULL, seq, NULL) < 0)
                return -ENOMEM;
        put_control(&bl, NFNL_MSG_BATCH_BEGIN);
        put_table(&bl, NFT_MSG_DELTABLE, 0, 0);
        return builder_finish(&bl, ret);
}

void natgw_batch_strip_end(struct natgw_batch *b) {
        const struct natgw_msg *m = b->n_msgs > 0 ? &b->msgs[b->n_msgs - 1] : NULL;

        if (!m || m->kind != NATGW_MSG_CONTROL || m->offset == 0)
                return;
        b->len = m->offset;
        b->n_msgs--;
}

const struct natgw_msg *natgw_batch_find(const struct natgw_batch *b, uint32_t seq) {
        if (b->n_msgs == 0 || seq < b->msgs[0].seq || seq - b->msgs[0].seq >= b->n_msgs)
                return NULL;
        return &b->msgs[seq - b->msgs[0].seq];
}

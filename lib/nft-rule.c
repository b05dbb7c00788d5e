/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fixed rules of table inet natgw (see nft-rule.h). Registers are addressed in 32-bit
 * units: a key of fields f1 . f2 . ... starts at NFT_REG32_00, each field padded to 4 bytes,
 * which is the layout the kernel's concatenated lookups expect.
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "nft-reflect.h"
#include "nft-rule.h"
#include "util.h"

struct rb {
        struct nftnl_rule *rule;
        int r;
        /* key_load(): the in-interface field is this name (reflection), not the packet's */
        const char *iifname;
        /* key_load(): addresses and port from the conntrack entry's original direction */
        bool from_ct;
};

static struct nftnl_expr *rb_expr(struct rb *b, const char *name) {
        struct nftnl_expr *e;

        if (b->r < 0)
                return NULL;
        e = nftnl_expr_alloc(name);
        if (!e) {
                b->r = -ENOMEM;
                return NULL;
        }
        nftnl_rule_add_expr(b->rule, e);
        return e;
}

static void meta_load(struct rb *b, uint32_t key, uint32_t dreg) {
        struct nftnl_expr *e = rb_expr(b, "meta");

        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
}

static void payload_load(struct rb *b, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg) {
        struct nftnl_expr *e = rb_expr(b, "payload");

        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
}

static void cmp_op(struct rb *b, uint32_t sreg, uint32_t op, const void *data, uint32_t len) {
        struct nftnl_expr *e = rb_expr(b, "cmp");

        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
        nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

static void cmp_eq(struct rb *b, uint32_t sreg, const void *data, uint32_t len) {
        cmp_op(b, sreg, NFT_CMP_EQ, data, len);
}

static void match_u8(struct rb *b, uint32_t meta_key, uint8_t value) {
        meta_load(b, meta_key, NFT_REG_1);
        cmp_eq(b, NFT_REG_1, &value, sizeof(value));
}

static void match_fib_daddr_local(struct rb *b) {
        struct nftnl_expr *e = rb_expr(b, "fib");
        uint32_t local = RTN_LOCAL;

        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
        cmp_eq(b, NFT_REG_1, &local, sizeof(local));
}

static void immediate_data(struct rb *b, uint32_t dreg, const void *data, uint32_t len) {
        struct nftnl_expr *e = rb_expr(b, "immediate");

        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
        nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
}

static void verdict(struct rb *b, int code) {
        struct nftnl_expr *e = rb_expr(b, "immediate");

        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)code);
}

static void ct_original_load(struct rb *b, uint32_t key, uint32_t dreg) {
        struct nftnl_expr *e = rb_expr(b, "ct");

        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
        nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, IP_CT_DIR_ORIGINAL);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, dreg);
}

/* Where a key's fields come from. */
enum key_source {
        KEY_PACKET,  /* the packet's fields */
        KEY_ORIGINAL, /* chain account, a packet in the original direction (see below) */
        KEY_REPLY,    /* chain account, a reply */
};

/*
 * Load the key of map @m into the registers from NFT_REG32_00 on (@entry: an ENTRY field).
 * For chain account (@src not KEY_PACKET) the key is that of the packet's connection: a
 * forward's is what its first packet looked like before DNAT, the connection's original tuple
 * whichever the direction, only the interface is the packet's (in original, out reply); an
 * egress key is oifname . saddr going out, iifname . daddr coming back.
 */
static void key_load(struct rb *b, const struct natgw_map *m, uint32_t entry, enum key_source src) {
        bool v4 = m->family == AF_INET, reply = src == KEY_REPLY, ct = src != KEY_PACKET && m->kind == NATGW_MAP_FORWARD;
        uint32_t reg = NFT_REG32_00;

        for (unsigned i = 0; i < m->n_fields; i++) {
                uint32_t len = natgw_field_len(m->fields[i], m->family);

                switch (m->fields[i]) {
                case NATGW_FIELD_IIFNAME:
                        if (b->iifname) {
                                char name[IFNAMSIZ] = {};

                                memcpy(name, b->iifname, strnlen(b->iifname, sizeof(name) - 1));
                                immediate_data(b, reg, name, sizeof(name));
                        } else
                                meta_load(b, reply ? NFT_META_OIFNAME : NFT_META_IIFNAME, reg);
                        break;
                case NATGW_FIELD_OIFNAME:
                        meta_load(b, reply ? NFT_META_IIFNAME : NFT_META_OIFNAME, reg);
                        break;
                case NATGW_FIELD_DADDR:
                        if (ct || b->from_ct)
                                ct_original_load(b, v4 ? NFT_CT_DST_IP : NFT_CT_DST_IP6, reg);
                        else
                                payload_load(b, NFT_PAYLOAD_NETWORK_HEADER, v4 ? 16 : 24, len, reg);
                        break;
                case NATGW_FIELD_SADDR:
                        if (ct || b->from_ct)
                                ct_original_load(b, v4 ? NFT_CT_SRC_IP : NFT_CT_SRC_IP6, reg);
                        else
                                payload_load(b, NFT_PAYLOAD_NETWORK_HEADER, reply ? (v4 ? 16 : 24) : (v4 ? 12 : 8),
                                             len, reg);
                        break;
                case NATGW_FIELD_L4PROTO:
                        meta_load(b, NFT_META_L4PROTO, reg);
                        break;
                case NATGW_FIELD_DPORT:
                        if (ct || b->from_ct)
                                ct_original_load(b, NFT_CT_PROTO_DST, reg);
                        else
                                payload_load(b, NFT_PAYLOAD_TRANSPORT_HEADER, 2, len, reg);
                        break;
                case NATGW_FIELD_ENTRY:
                        entry = htonl(entry);
                        immediate_data(b, reg, &entry, sizeof(entry));
                        break;
                }
                reg += (len + 3) / 4;
        }
}

static int rb_begin(struct rb *b, const char *chain) {
        *b = (struct rb){ .rule = nftnl_rule_alloc() };
        if (!b->rule)
                return -ENOMEM;
        nftnl_rule_set_str(b->rule, NFTNL_RULE_TABLE, NATGW_TABLE);
        nftnl_rule_set_str(b->rule, NFTNL_RULE_CHAIN, chain);
        nftnl_rule_set_u32(b->rule, NFTNL_RULE_FAMILY, NFPROTO_INET);
        return 0;
}

static int rb_finish(struct rb *b, struct nlmsghdr *nlh) {
        int r = b->r;

        if (r >= 0)
                nftnl_rule_nlmsg_build_payload(nlh, b->rule);
        nftnl_rule_free(b->rule);
        return r;
}

/* The key in NFT_REG32_00 on, counted through map @m's counter twin (the plan's @map_index):
 * the twin's lookup ends the rule for a packet no element matches. */
static void map_count(struct rb *b, const struct natgw_map *m, size_t map_index) {
        struct nftnl_expr *e = rb_expr(b, "objref");
        char name[48];

        if (e) {
                natgw_batch_set_name(m, NATGW_TWIN_COUNTER, name, sizeof(name));
                nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_SET_SREG, NFT_REG32_00);
                nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_SET_NAME, name);
                nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_SET_ID, natgw_batch_set_id(map_index, NATGW_TWIN_COUNTER));
        }
}

/* The key in NFT_REG32_00 on, looked up in map @m, its data over the key. */
static void map_data(struct rb *b, const struct natgw_map *m, size_t map_index) {
        struct nftnl_expr *e = rb_expr(b, "lookup");
        char name[48];

        if (e) {
                natgw_batch_set_name(m, NATGW_TWIN_MAP, name, sizeof(name));
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG32_00);
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG32_00);
                nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, name);
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, natgw_batch_set_id(map_index, NATGW_TWIN_MAP));
        }
}

/* Both: @count, first counted through the counter twin. */
static void map_lookup(struct rb *b, const struct natgw_map *m, size_t map_index, bool count) {
        if (count)
                map_count(b, m, map_index);
        map_data(b, m, map_index);
}

/* ct label set: the reflection's bit (nft-reflect.h), in NFT_REG_1 (the key's registers). */
static void reflect_label_set(struct rb *b) {
        uint8_t label[16] = {};
        struct nftnl_expr *e;

        label[NATGW_REFLECT_LABEL_BYTE] = NATGW_REFLECT_LABEL_MASK;
        immediate_data(b, NFT_REG_1, label, sizeof(label));
        e = rb_expr(b, "ct");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_LABELS);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_SREG, NFT_REG_1);
}

int natgw_rule_forward(struct nlmsghdr *nlh, const struct natgw_map *m, size_t map_index, unsigned proto,
                       enum natgw_forward_rule how, const char *const *outside, size_t n_outside) {
        bool v4 = m->family == AF_INET;
        struct nftnl_expr *e;
        struct rb b;

        if (rb_begin(&b, how == NATGW_FORWARD_REFLECT_OUTPUT ? "output" : "prerouting") < 0)
                return -ENOMEM;
        if (how != NATGW_FORWARD_OUTSIDE)
                b.iifname = NATGW_REFLECT_IIF;
        match_u8(&b, NFT_META_NFPROTO, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
        match_u8(&b, NFT_META_L4PROTO, proto == NATGW_PROTO_TCP ? IPPROTO_TCP : IPPROTO_UDP);
        /* A client on another outside interface is not inside: a forward limited to one
         * interface (a VPN's, say) must not open to the others through its reflection. */
        for (size_t i = 0; how == NATGW_FORWARD_REFLECT_PRE && i < n_outside; i++) {
                char name[IFNAMSIZ] = {};

                memcpy(name, outside[i], strnlen(outside[i], sizeof(name) - 1));
                meta_load(&b, NFT_META_IIFNAME, NFT_REG_1);
                cmp_op(&b, NFT_REG_1, NFT_CMP_NEQ, name, sizeof(name));
        }
        /* Without a destination a forward is for the gateway's own addresses only, so that
         * traffic the gateway routes elsewhere on the same port is left alone. */
        if (!(m->shape & NATGW_SHAPE_DST))
                match_fib_daddr_local(&b);
        key_load(&b, m, 0, KEY_PACKET);
        map_count(&b, m, map_index);
        if (how != NATGW_FORWARD_OUTSIDE) {
                /* The label takes the key's registers: load the key again after it. */
                reflect_label_set(&b);
                key_load(&b, m, 0, KEY_PACKET);
        }
        map_data(&b, m, map_index);
        e = rb_expr(&b, "nat");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
                nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
                nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG32_00);
                nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, v4 ? NFT_REG32_01 : NFT_REG32_04);
        }
        return rb_finish(&b, nlh);
}

int natgw_rule_netmap(struct nlmsghdr *nlh, const char *chain, const struct natgw_map *m, size_t map_index) {
        bool v4 = m->family == AF_INET, nat = !streq(chain, "forward");
        struct nftnl_expr *e;
        struct rb b;

        if (rb_begin(&b, chain) < 0)
                return -ENOMEM;
        match_u8(&b, NFT_META_NFPROTO, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
        key_load(&b, m, 0, KEY_PACKET);
        /* A map is looked up with a destination register, also where only the match counts. */
        map_lookup(&b, m, map_index, nat);
        if (!nat) {
                verdict(&b, NF_ACCEPT);
                return rb_finish(&b, nlh);
        }
        e = rb_expr(&b, "nat");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, natgw_map_netmap_in(m) ? NFT_NAT_DNAT : NFT_NAT_SNAT);
                nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
                nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG32_00);
                nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX, v4 ? NFT_REG32_01 : NFT_REG32_04);
                nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_NETMAP);
        }
        return rb_finish(&b, nlh);
}

int natgw_rule_egress_lookup(struct nlmsghdr *nlh, const char *chain, const struct natgw_map *m, size_t map_index) {
        struct nftnl_expr *e;
        struct rb b;

        if (rb_begin(&b, chain) < 0)
                return -ENOMEM;
        match_u8(&b, NFT_META_NFPROTO, m->family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6);
        key_load(&b, m, 0, KEY_PACKET);
        e = rb_expr(&b, "lookup");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG32_00);
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
                nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, m->name);
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, natgw_batch_set_id(map_index, false));
        }
        return rb_finish(&b, nlh);
}

static void immediate_addr(struct rb *b, uint32_t dreg, const struct natgw_addr *a) {
        immediate_data(b, dreg, a->bytes, a->family == AF_INET ? 4 : 16);
}

int natgw_rule_egress_entry(struct nlmsghdr *nlh, const struct natgw_egress *eg) {
        struct nftnl_expr *e;
        char chain[96];
        struct rb b;

        snprintf(chain, sizeof(chain), "egress-%s", eg->name);
        if (rb_begin(&b, chain) < 0)
                return -ENOMEM;
        e = rb_expr(&b, "objref");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
                nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, eg->name);
        }
        if (eg->kind == NATGW_EGRESS_MASQUERADE) {
                rb_expr(&b, "masq");
                return rb_finish(&b, nlh);
        }
        immediate_addr(&b, NFT_REG_1, &eg->to_lo);
        if (natgw_addr_cmp(&eg->to_lo, &eg->to_hi) != 0)
                immediate_addr(&b, NFT_REG_2, &eg->to_hi);
        e = rb_expr(&b, "nat");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_SNAT);
                nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY,
                                   eg->to_lo.family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6);
                nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
                if (natgw_addr_cmp(&eg->to_lo, &eg->to_hi) != 0)
                        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX, NFT_REG_2);
        }
        return rb_finish(&b, nlh);
}

int natgw_rule_trace(struct nlmsghdr *nlh, const char *chain, const struct natgw_forward *f, uint8_t l4proto,
                     const struct natgw_port_range *ports) {
        bool v4 = f->to.family == AF_INET;
        struct nftnl_expr *e;
        uint8_t one = 1;
        struct rb b;

        if (rb_begin(&b, chain) < 0)
                return -ENOMEM;
        if (f->in_interface[0]) {
                char name[IFNAMSIZ] = {};

                memcpy(name, f->in_interface, strnlen(f->in_interface, sizeof(name) - 1));
                meta_load(&b, NFT_META_IIFNAME, NFT_REG_1);
                cmp_eq(&b, NFT_REG_1, name, sizeof(name));
        }
        match_u8(&b, NFT_META_NFPROTO, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
        match_u8(&b, NFT_META_L4PROTO, l4proto);
        if (ports) {
                uint16_t lo = htobe16(ports->lo), hi = htobe16(ports->hi);

                /* Big-endian bytes compare as the numbers do. */
                payload_load(&b, NFT_PAYLOAD_TRANSPORT_HEADER, 2, sizeof(lo), NFT_REG_1);
                cmp_op(&b, NFT_REG_1, NFT_CMP_GTE, &lo, sizeof(lo));
                cmp_op(&b, NFT_REG_1, NFT_CMP_LTE, &hi, sizeof(hi));
        }
        if (f->has_destination) {
                payload_load(&b, NFT_PAYLOAD_NETWORK_HEADER, v4 ? 16 : 24, v4 ? 4 : 16, NFT_REG_1);
                cmp_eq(&b, NFT_REG_1, f->destination.bytes, v4 ? 4 : 16);
        }
        e = rb_expr(&b, "immediate");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
                nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, &one, sizeof(one));
        }
        e = rb_expr(&b, "meta");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_NFTRACE);
                nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
        }
        return rb_finish(&b, nlh);
}

/* ---- the forward filter and the allow chains ---- */

/* Whether the bits @mask of conntrack key @key are set anywhere (ct state / ct status). */
static void match_ct_bits(struct rb *b, uint32_t key, uint32_t mask) {
        struct nftnl_expr *e = rb_expr(b, "ct");
        uint32_t zero = 0;

        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
        e = rb_expr(b, "bitwise");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, sizeof(uint32_t));
        nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, sizeof(mask));
        nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, sizeof(zero));
        e = rb_expr(b, "cmp");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_NEQ);
        nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, &zero, sizeof(zero));
}

static void count(struct rb *b, const char *counter) {
        struct nftnl_expr *e = rb_expr(b, "objref");

        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
        nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, counter);
}

int natgw_rule_filter(struct nlmsghdr *nlh, enum natgw_filter_rule which) {
        struct rb b;

        if (rb_begin(&b, "forward") < 0)
                return -ENOMEM;
        switch (which) {
        case NATGW_FILTER_RULE_ESTABLISHED:
                match_ct_bits(&b, NFT_CT_STATE, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
                verdict(&b, NF_ACCEPT);
                break;
        case NATGW_FILTER_RULE_DNAT:
                match_ct_bits(&b, NFT_CT_STATUS, IPS_DST_NAT);
                verdict(&b, NF_ACCEPT);
                break;
        case NATGW_FILTER_RULE_DROP:
                count(&b, NATGW_FILTER_COUNTER);
                verdict(&b, NF_DROP);
                break;
        }
        return rb_finish(&b, nlh);
}

int natgw_rule_allow_lookup(struct nlmsghdr *nlh, const struct natgw_egress *eg, uint32_t entry,
                            const struct natgw_map *m, size_t map_index) {
        struct nftnl_expr *e;
        char chain[96];
        struct rb b;

        snprintf(chain, sizeof(chain), NATGW_ALLOW_CHAIN_PREFIX "%s", eg->name);
        if (rb_begin(&b, chain) < 0)
                return -ENOMEM;
        match_u8(&b, NFT_META_NFPROTO, m->family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6);
        key_load(&b, m, entry, KEY_PACKET);
        e = rb_expr(&b, "lookup");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG32_00);
                nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, m->name);
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, natgw_batch_set_id(map_index, false));
        }
        verdict(&b, NF_ACCEPT);
        return rb_finish(&b, nlh);
}

int natgw_rule_allow_deny(struct nlmsghdr *nlh, const struct natgw_egress *eg, enum natgw_deny_rule which) {
        char chain[96], name[96];
        struct nftnl_expr *e;
        struct rb b;

        snprintf(chain, sizeof(chain), NATGW_ALLOW_CHAIN_PREFIX "%s", eg->name);
        if (rb_begin(&b, chain) < 0)
                return -ENOMEM;
        switch (which) {
        case NATGW_DENY_RULE_COUNT:
                snprintf(name, sizeof(name), NATGW_DENIED_COUNTER_PREFIX "%s", eg->name);
                count(&b, name);
                break;
        case NATGW_DENY_RULE_LOG:
                /* At most NATGW_LOG_RATE lines a second per entry: a flood must not flood the log. */
                e = rb_expr(&b, "limit");
                if (e) {
                        nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_RATE, NATGW_LOG_RATE);
                        nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_UNIT, 1);
                        nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_BURST, NATGW_LOG_BURST);
                        nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
                }
                /* The kernel log (the journal), and the same line to NFLOG group NATGW_LOG_GROUP for
                 * ulogd or any listener: nothing is sent there while none listens. */
                snprintf(name, sizeof(name), "natgw %s denied: ", eg->name);
                e = rb_expr(&b, "log");
                if (e)
                        nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, name);
                e = rb_expr(&b, "log");
                if (e) {
                        nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, name);
                        nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, NATGW_LOG_GROUP);
                }
                break;
        case NATGW_DENY_RULE_VERDICT:
                if (eg->deny == NATGW_DENY_DROP) {
                        verdict(&b, NF_DROP);
                        break;
                }
                match_u8(&b, NFT_META_L4PROTO, IPPROTO_TCP);
                e = rb_expr(&b, "reject");
                if (e) {
                        nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_TCP_RST);
                        nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, 0);
                }
                break;
        case NATGW_DENY_RULE_UNREACH:
                e = rb_expr(&b, "reject");
                if (e) {
                        nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_ICMPX_UNREACH);
                        nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, NFT_REJECT_ICMPX_PORT_UNREACH);
                }
                break;
        }
        return rb_finish(&b, nlh);
}

/* ---- chain account: traffic per entry and per inside host ---- */


int natgw_rule_account(struct nlmsghdr *nlh, const struct natgw_map *m, size_t map_index, bool reply,
                       enum natgw_account_rule which, uint32_t hosts_set_id) {
        bool v4 = m->family == AF_INET, src = natgw_account_host_is_source(m, reply);
        uint32_t dir = reply ? IP_CT_DIR_REPLY : IP_CT_DIR_ORIGINAL;
        struct nftnl_expr *e;
        char name[48];
        struct rb b;

        if (rb_begin(&b, NATGW_ACCOUNT_CHAIN) < 0)
                return -ENOMEM;
        match_u8(&b, NFT_META_NFPROTO, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
        e = rb_expr(&b, "ct");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_DIRECTION);
                nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
        }
        cmp_eq(&b, NFT_REG_1, &(uint8_t){ (uint8_t)dir }, 1);
        /* Only connections a forward translated: routed traffic to the same port is not its. */
        if (m->kind == NATGW_MAP_FORWARD)
                match_ct_bits(&b, NFT_CT_STATUS, IPS_DST_NAT);
        key_load(&b, m, 0, reply ? KEY_REPLY : KEY_ORIGINAL);
        if (which == NATGW_ACCOUNT_UNTRACKED) {
                e = rb_expr(&b, "lookup");
                if (e) {
                        natgw_batch_set_name(m, NATGW_TWIN_BYTES, name, sizeof(name));
                        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG32_00);
                        nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, name);
                        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, natgw_batch_set_id(map_index, NATGW_TWIN_BYTES));
                }
                count(&b, NATGW_HOSTS_UNTRACKED_COUNTER);
                verdict(&b, NF_ACCEPT);
                return rb_finish(&b, nlh);
        }
        e = rb_expr(&b, "objref");
        if (e) {
                natgw_batch_set_name(m, NATGW_TWIN_BYTES, name, sizeof(name));
                nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_SET_SREG, NFT_REG32_00);
                nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_SET_NAME, name);
                nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_SET_ID, natgw_batch_set_id(map_index, NATGW_TWIN_BYTES));
        }
        if (which == NATGW_ACCOUNT_HOSTS) {
                struct nftnl_expr *ctr;

                /* The key's registers are free again once the lookup has read them. When the set
                 * is full the update fails and the rule ends here: the next one counts that. */
                payload_load(&b, NFT_PAYLOAD_NETWORK_HEADER, src ? (v4 ? 12 : 8) : (v4 ? 16 : 24), v4 ? 4 : 16,
                             NFT_REG32_00);
                e = rb_expr(&b, "dynset");
                ctr = e ? nftnl_expr_alloc("counter") : NULL;
                if (e && !ctr)
                        b.r = -ENOMEM;
                if (ctr) {
                        nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
                        nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG32_00);
                        nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, natgw_hosts_set_name(m->family, src));
                        nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SET_ID, hosts_set_id);
                        nftnl_expr_set_u64(e, NFTNL_EXPR_DYNSET_TIMEOUT, NATGW_HOSTS_TIMEOUT_SEC * 1000ull);
                        nftnl_expr_set(e, NFTNL_EXPR_DYNSET_EXPR, ctr, 0);
                }
        }
        verdict(&b, NF_ACCEPT);
        return rb_finish(&b, nlh);
}

/* ---- the HA guard ---- */

/* (register & @mask) == @value, over @len bytes of NFT_REG_1. */
static void match_masked(struct rb *b, const void *mask, const void *value, uint32_t len) {
        static const uint8_t zero[16];
        struct nftnl_expr *e = rb_expr(b, "bitwise");

        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
        nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
        nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
        cmp_eq(b, NFT_REG_1, value, len);
}

int natgw_rule_ha_guard(struct nlmsghdr *nlh, const char *chain, const struct natgw_prefix *vip, uint8_t l4proto) {
        bool v4 = vip->addr.family == AF_INET;
        uint32_t len = v4 ? 4 : 16;
        uint8_t mask[16] = {}, net[16], syn = 0x02, none = 0;
        struct rb b;

        for (unsigned i = 0; i < vip->len && i < len * 8; i++)
                mask[i / 8] |= (uint8_t)(0x80u >> (i % 8));
        for (uint32_t i = 0; i < len; i++)
                net[i] = vip->addr.bytes[i] & mask[i];
        if (rb_begin(&b, chain) < 0)
                return -ENOMEM;
        match_u8(&b, NFT_META_NFPROTO, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
        payload_load(&b, NFT_PAYLOAD_NETWORK_HEADER, v4 ? 16 : 24, len, NFT_REG_1);
        match_masked(&b, mask, net, len);
        match_u8(&b, NFT_META_L4PROTO, l4proto);
        match_ct_bits(&b, NFT_CT_STATE, NF_CT_STATE_BIT(IP_CT_NEW));
        if (l4proto == IPPROTO_TCP) {
                /* tcp flags & syn == 0: a segment from the middle of a connection. */
                payload_load(&b, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, NFT_REG_1);
                match_masked(&b, &syn, &none, 1);
        }
        verdict(&b, NF_DROP);
        return rb_finish(&b, nlh);
}

/* ---- reflection (nft-reflect.h) ---- */

int natgw_rule_hairpin(struct nlmsghdr *nlh, const struct natgw_map *m, size_t map_index, unsigned proto) {
        struct nftnl_expr *e;
        uint32_t none = 0;
        struct rb b;

        if (rb_begin(&b, "hairpin") < 0)
                return -ENOMEM;
        b.iifname = NATGW_REFLECT_IIF;
        b.from_ct = true;
        match_ct_bits(&b, NFT_CT_STATE, NF_CT_STATE_BIT(IP_CT_NEW));
        match_u8(&b, NFT_META_NFPROTO, m->family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6);
        match_u8(&b, NFT_META_L4PROTO, proto == NATGW_PROTO_TCP ? IPPROTO_TCP : IPPROTO_UDP);
        match_ct_bits(&b, NFT_CT_STATUS, IPS_DST_NAT);
        /* fib daddr . iif oif != 0: the (translated) target is reached by the interface the
         * client came in on, so its replies would go straight back, past the gateway. */
        e = rb_expr(&b, "fib");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR | NFTA_FIB_F_IIF);
                nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_OIF);
                nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
        }
        cmp_op(&b, NFT_REG_1, NFT_CMP_NEQ, &none, sizeof(none));
        /* A forward with reflection on made this translation: its reflected element matches
         * the connection's original direction. */
        key_load(&b, m, 0, KEY_PACKET);
        e = rb_expr(&b, "lookup");
        if (e) {
                char name[48];

                natgw_batch_set_name(m, false, name, sizeof(name));
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG32_00);
                nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, name);
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, natgw_batch_set_id(map_index, false));
        }
        reflect_label_set(&b);
        return rb_finish(&b, nlh);
}

int natgw_rule_reflect_masquerade(struct nlmsghdr *nlh) {
        uint8_t mask[16] = {}, zero[16] = {};
        struct nftnl_expr *e;
        struct rb b;

        if (rb_begin(&b, "postrouting") < 0)
                return -ENOMEM;
        mask[NATGW_REFLECT_LABEL_BYTE] = NATGW_REFLECT_LABEL_MASK;
        e = rb_expr(&b, "ct");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_LABELS);
                nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
        }
        e = rb_expr(&b, "bitwise");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, sizeof(mask));
                nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, sizeof(mask));
                nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, sizeof(zero));
        }
        cmp_op(&b, NFT_REG_1, NFT_CMP_NEQ, zero, sizeof(zero));
        rb_expr(&b, "masq");
        return rb_finish(&b, nlh);
}

/* ---- conntrack helpers (nft-helper.h) ---- */

static void helper_set(struct rb *b, const char *obj) {
        struct nftnl_expr *e = rb_expr(b, "objref");

        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_CT_HELPER);
        nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, obj);
}

static void match_dport(struct rb *b, const struct natgw_port_range *ports) {
        uint16_t lo = htobe16(ports->lo), hi = htobe16(ports->hi);

        payload_load(b, NFT_PAYLOAD_TRANSPORT_HEADER, 2, sizeof(lo), NFT_REG_1);
        if (ports->lo == ports->hi) {
                cmp_eq(b, NFT_REG_1, &lo, sizeof(lo));
                return;
        }
        /* Big-endian bytes compare as the numbers do. */
        cmp_op(b, NFT_REG_1, NFT_CMP_GTE, &lo, sizeof(lo));
        cmp_op(b, NFT_REG_1, NFT_CMP_LTE, &hi, sizeof(hi));
}

int natgw_rule_helper_forward(struct nlmsghdr *nlh, const struct natgw_forward *f, unsigned proto,
                              const struct natgw_port_range *target_ports, const char *obj) {
        bool v4 = f->to.family == AF_INET;
        struct rb b;

        if (rb_begin(&b, "helper") < 0)
                return -ENOMEM;
        match_ct_bits(&b, NFT_CT_STATE, NF_CT_STATE_BIT(IP_CT_NEW));
        match_u8(&b, NFT_META_NFPROTO, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
        match_u8(&b, NFT_META_L4PROTO, proto == NATGW_PROTO_TCP ? IPPROTO_TCP : IPPROTO_UDP);
        match_ct_bits(&b, NFT_CT_STATUS, IPS_DST_NAT);
        payload_load(&b, NFT_PAYLOAD_NETWORK_HEADER, v4 ? 16 : 24, v4 ? 4 : 16, NFT_REG_1);
        cmp_eq(&b, NFT_REG_1, f->to.bytes, v4 ? 4 : 16);
        match_dport(&b, target_ports);
        helper_set(&b, obj);
        return rb_finish(&b, nlh);
}

int natgw_rule_helper_egress(struct nlmsghdr *nlh, const struct natgw_egress *eg, unsigned proto, uint16_t port,
                             const char *obj) {
        struct natgw_port_range ports = { .lo = port, .hi = port };
        char chain[96];
        struct rb b;

        snprintf(chain, sizeof(chain), "egress-%s", eg->name);
        if (rb_begin(&b, chain) < 0)
                return -ENOMEM;
        match_u8(&b, NFT_META_L4PROTO, proto == NATGW_PROTO_TCP ? IPPROTO_TCP : IPPROTO_UDP);
        match_dport(&b, &ports);
        helper_set(&b, obj);
        return rb_finish(&b, nlh);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The nftables notifications, read for changes to table inet natgw that natgwd did not make
 * (lib/nft-monitor.h). Parsing is separate from the socket so that tests and fuzzers can feed
 * it anything.
 */

#include <arpa/inet.h>
#include <inttypes.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft-monitor.h"
#include "nl.h"
#include "time-util.h"

#define TABLE_NAME "natgw"
#define RECV_BUF (64 * 1024)
/* Room for the notifications of a reload of a few thousand elements without ENOBUFS; past
 * that, ENOBUFS only costs one NFT_MSG_GETTABLE. */
#define RCVBUF_SIZE (1 << 20)
#define READS_PER_CALL 1024
#define TABLE_QUERY_TIMEOUT_USEC (2 * 1000000ull)

/*
 * The DESTROY* commands (Linux 6.3) are newer than some uapi headers; the kernel notifies them
 * under their own type. The values are the kernel's ABI.
 */
enum {
        MSG_DESTROYTABLE = 26,
        MSG_DESTROYCHAIN = 27,
        MSG_DESTROYRULE = 28,
        MSG_DESTROYSET = 29,
        MSG_DESTROYSETELEM = 30,
        MSG_DESTROYOBJ = 31,
        MSG_DESTROYFLOWTABLE = 32,
};

/* Every object message names its table in attribute 1 (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE,
 * NFTA_RULE_TABLE, NFTA_SET_TABLE, NFTA_SET_ELEM_LIST_TABLE, NFTA_OBJ_TABLE,
 * NFTA_FLOWTABLE_TABLE) and the object in attribute 2 (the chain's name, the rule's chain, the
 * set's name, the elements' set, the object's name, the flowtable's name). */
#define ATTR_TABLE 1
#define ATTR_OBJECT 2

enum kind {
        KIND_NONE,
        KIND_TABLE,
        KIND_CHAIN,
        KIND_RULE,
        KIND_SET,
        KIND_SETELEM,
        KIND_OBJ,
        KIND_FLOWTABLE,
};

/* The messages that add, delete and destroy each kind, and its name in a description. */
static const struct {
        uint16_t add, del, destroy;
        const char *noun;
} kinds[] = {
        [KIND_NONE] = { .noun = "object" },
        [KIND_TABLE] = { NFT_MSG_NEWTABLE, NFT_MSG_DELTABLE, MSG_DESTROYTABLE, "table" },
        [KIND_CHAIN] = { NFT_MSG_NEWCHAIN, NFT_MSG_DELCHAIN, MSG_DESTROYCHAIN, "chain" },
        [KIND_RULE] = { NFT_MSG_NEWRULE, NFT_MSG_DELRULE, MSG_DESTROYRULE, "rule" },
        [KIND_SET] = { NFT_MSG_NEWSET, NFT_MSG_DELSET, MSG_DESTROYSET, "set/map" },
        [KIND_SETELEM] = { NFT_MSG_NEWSETELEM, NFT_MSG_DELSETELEM, MSG_DESTROYSETELEM, "elements" },
        [KIND_OBJ] = { NFT_MSG_NEWOBJ, NFT_MSG_DELOBJ, MSG_DESTROYOBJ, "object" },
        [KIND_FLOWTABLE] = { NFT_MSG_NEWFLOWTABLE, NFT_MSG_DELFLOWTABLE, MSG_DESTROYFLOWTABLE, "flowtable" },
};

/* What an NFT_MSG_* changes, and whether it deletes; KIND_NONE for what changes nothing. */
static enum kind msg_kind(uint16_t msg, bool *ret_delete) {
        *ret_delete = false;
        /* From KIND_TABLE: KIND_NONE's zeroes would match NFT_MSG_NEWTABLE. */
        for (size_t k = KIND_TABLE; k < ELEMENTSOF(kinds); k++)
                if (msg == kinds[k].add || msg == kinds[k].del || msg == kinds[k].destroy) {
                        *ret_delete = msg != kinds[k].add;
                        return (enum kind)k;
                }
        return KIND_NONE;
}

/* Copy a string attribute into @buf, what a log line may hold: printable ASCII, the rest '?'. */
static void attr_copy(const struct nlattr *a, char *buf, size_t size) {
        const char *s = natgw_nla_data(a);
        size_t n = MIN(natgw_nla_strlen(a), size - 1);

        for (size_t i = 0; i < n; i++) {
                buf[i] = s[i];
                if (s[i] < 0x20 || s[i] >= 0x7f)
                        buf[i] = '?';
        }
        buf[n] = '\0';
}

/* NFT_MSG_NEWGEN closes a transaction and names the process that sent it. */
static void parse_gen(const struct nlmsghdr *nlh, struct natgw_nft_change *acc) {
        const uint8_t *p = natgw_nlmsg_attrs(nlh, sizeof(struct nfgenmsg)), *end = natgw_nlmsg_end(nlh);
        const struct nlattr *a;

        while ((a = natgw_nla_next(&p, end))) {
                if (natgw_nla_type(a) == NFTA_GEN_PROC_PID && natgw_nla_len(a) == sizeof(uint32_t))
                        acc->pid = natgw_nla_be32(a);
                else if (natgw_nla_type(a) == NFTA_GEN_PROC_NAME)
                        attr_copy(a, acc->comm, sizeof(acc->comm));
        }
}

/* An object notification: count it when it is about table inet natgw. */
static void parse_object(const struct nlmsghdr *nlh, uint16_t msg, enum kind kind, bool del,
                         struct natgw_nft_change *acc) {
        const uint8_t *p = natgw_nlmsg_attrs(nlh, sizeof(struct nfgenmsg)), *end = natgw_nlmsg_end(nlh);
        const struct nlattr *a, *table = NULL, *object = NULL;

        while ((a = natgw_nla_next(&p, end)))
                if (natgw_nla_type(a) == ATTR_TABLE)
                        table = a;
                else if (natgw_nla_type(a) == ATTR_OBJECT)
                        object = a;
        if (!table || !natgw_nla_streq(table, TABLE_NAME))
                return;
        if (acc->changes == 0) {
                acc->first_type = msg;
                acc->first_portid = nlh->nlmsg_pid;
                acc->first_object[0] = '\0';
                if (object && kind != KIND_TABLE)
                        attr_copy(object, acc->first_object, sizeof(acc->first_object));
        }
        if (acc->changes < UINT32_MAX)
                acc->changes++;
        if (kind == KIND_TABLE && del)
                acc->table_deleted = true;
}

void natgw_nft_monitor_parse(const void *buf, size_t len, uint32_t own_portid, struct natgw_nft_change *acc) {
        const uint8_t *p = buf;
        const struct nlmsghdr *nlh;

        while ((nlh = natgw_nlmsg_next(&p, &len))) {
                const struct nfgenmsg *nfg = NLMSG_DATA(nlh);
                uint16_t type = nlh->nlmsg_type, msg;
                enum kind kind;
                bool del;

                if (acc->messages < UINT32_MAX)
                        acc->messages++;
                if (type < NLMSG_MIN_TYPE || NFNL_SUBSYS_ID(type) != NFNL_SUBSYS_NFTABLES)
                        continue;
                if (!natgw_nlmsg_attrs(nlh, sizeof(struct nfgenmsg))) {
                        if (acc->malformed < UINT32_MAX)
                                acc->malformed++;
                        continue;
                }
                msg = NFNL_MSG_TYPE(type);
                if (msg == NFT_MSG_NEWGEN) {
                        /* The transaction of the first foreign change ends here: who sent it. */
                        if (acc->changes > 0 && acc->pid == 0 && nlh->nlmsg_pid == acc->first_portid)
                                parse_gen(nlh, acc);
                        continue;
                }
                kind = msg_kind(msg, &del);
                if (kind == KIND_NONE || nfg->nfgen_family != NFPROTO_INET || nlh->nlmsg_pid == own_portid)
                        continue;
                parse_object(nlh, msg, kind, del, acc);
        }
        /* A trailing fragment that is not a whole message. */
        if (len > 0 && acc->malformed < UINT32_MAX)
                acc->malformed++;
}

const char *natgw_nft_change_describe(const struct natgw_nft_change *c, char *buf, size_t size) {
        char what[NATGW_NFT_OBJECT_MAX + 64], more[48] = "";
        const char *o = c->first_object;
        bool del;
        enum kind kind = msg_kind(c->first_type, &del);

        if (size == 0)
                return buf;
        if (c->table_deleted) {
                snprintf(buf, size, "was deleted");
                return buf;
        }
        if (c->changes == 0) {
                snprintf(buf, size, c->lost ? "may have changed (notifications were lost)" : "did not change");
                return buf;
        }
        switch (kind) {
        case KIND_RULE:
        case KIND_SETELEM:
                snprintf(what, sizeof(what), "%s %s %s %s %s", kinds[kind].noun, del ? "deleted" : "added",
                         del ? "from" : "to", kind == KIND_RULE ? "chain" : "set/map", o[0] ? o : "?");
                break;
        case KIND_TABLE:
                snprintf(what, sizeof(what), "table %s", del ? "deleted" : "changed");
                break;
        default:
                snprintf(what, sizeof(what), "%s %s%s%s", kinds[kind].noun, o, o[0] ? " " : "",
                         del ? "deleted" : "added");
                break;
        }
        if (c->changes > 1)
                snprintf(more, sizeof(more), ", %" PRIu32 " changes in all", c->changes);
        snprintf(buf, size, "was changed (%s%s)", what, more);
        return buf;
}

const char *natgw_nft_change_who(const struct natgw_nft_change *c, char *buf, size_t size) {
        if (c->changes == 0)
                snprintf(buf, size, "unknown");
        else if (c->pid)
                snprintf(buf, size, "%s%spid %" PRIu32 ", netlink port %" PRIu32, c->comm, c->comm[0] ? ", " : "",
                         c->pid, c->first_portid);
        else
                snprintf(buf, size, "netlink port %" PRIu32, c->first_portid);
        return buf;
}

struct natgw_nft_monitor {
        struct natgw_nl *nl;
        uint8_t buf[RECV_BUF];
};

struct natgw_nft_monitor *natgw_nft_monitor_free(struct natgw_nft_monitor *m) {
        if (!m)
                return NULL;
        natgw_nl_free(m->nl);
        free(m);
        return NULL;
}

int natgw_nft_monitor_new(struct natgw_nft_monitor **ret) {
        _cleanup_(natgw_nft_monitor_freep) struct natgw_nft_monitor *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        r = natgw_nl_open(NETLINK_NETFILTER, NATGW_NL_NONBLOCK, &m->nl);
        if (r < 0)
                return r;
        r = natgw_nl_setsockopt(m->nl, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES);
        if (r < 0)
                return r;
        natgw_nl_set_buffers(m->nl, RCVBUF_SIZE, 0);
        *ret = TAKE_PTR(m);
        return 0;
}

int natgw_nft_monitor_fd(const struct natgw_nft_monitor *m) {
        return m->nl->fd;
}

int natgw_nft_monitor_read(struct natgw_nft_monitor *m, uint32_t own_portid, struct natgw_nft_change *acc) {
        for (unsigned i = 0; i < READS_PER_CALL; i++) {
                bool trunc = false;
                ssize_t n;

                n = natgw_nl_recv(m->nl, m->buf, RECV_BUF, &trunc);
                if (n == -EAGAIN)
                        return 0;
                /* The socket overran: notifications were dropped. What is queued after this
                 * error is still to be read. */
                if (n == -ENOBUFS) {
                        acc->lost = true;
                        continue;
                }
                if (n < 0)
                        return (int)n;
                if (trunc)
                        acc->lost = true;
                natgw_nft_monitor_parse(m->buf, MIN((size_t)n, (size_t)RECV_BUF), own_portid, acc);
        }
        return NATGW_NFT_MONITOR_MORE;
}

/* The answer to a GETTABLE: 1 exists, 0 missing. */
static int on_table(const struct nlmsghdr *nlh, void *userdata) {
        bool *seen = userdata;

        if (nlh->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE))
                *seen = true;
        return 0;
}

int natgw_nft_table_exists(void) {
        _cleanup_(natgw_nl_freep) struct natgw_nl *nl = NULL;
        _Alignas(struct nlmsghdr) char buf[256];
        struct nlmsghdr *nlh = natgw_nfnl_put_header(buf, NFNL_SUBSYS_NFTABLES, NFT_MSG_GETTABLE, NLM_F_ACK,
                                                     NFPROTO_INET);
        bool seen = false;
        int r;

        r = natgw_nl_open(NETLINK_NETFILTER, 0, &nl);
        if (r < 0)
                return r;
        natgw_nl_set_timeout(nl, TABLE_QUERY_TIMEOUT_USEC, natgw_mono_usec() + TABLE_QUERY_TIMEOUT_USEC);
        mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, TABLE_NAME);
        /* The table, then the ack that ends the answer; or the error alone. */
        r = natgw_nl_dump(nl, nlh, on_table, &seen);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        return seen ? 1 : -EPROTO;
}

uint64_t natgw_restore_limit_next(struct natgw_restore_limit *l, uint64_t now, bool *ret_new_pause) {
        uint64_t last, oldest, t;

        *ret_new_pause = false;
        if (l->n == 0) {
                l->paused = false;
                return now;
        }
        last = l->attempts[(l->next + NATGW_RESTORE_BURST - 1) % NATGW_RESTORE_BURST];
        /* With the ring full, l->next is the oldest of the last NATGW_RESTORE_BURST attempts. */
        oldest = l->attempts[l->n < NATGW_RESTORE_BURST ? 0 : l->next];
        if (l->n >= NATGW_RESTORE_BURST && last - oldest < NATGW_RESTORE_WINDOW_USEC) {
                t = last + NATGW_RESTORE_PAUSE_USEC;
                if (t > now) {
                        *ret_new_pause = !l->paused;
                        l->paused = true;
                        return t;
                }
        }
        l->paused = false;
        t = last + NATGW_RESTORE_INTERVAL_USEC;
        return t > now ? t : now;
}

void natgw_restore_limit_record(struct natgw_restore_limit *l, uint64_t now) {
        l->attempts[l->next] = now;
        l->next = (l->next + 1) % NATGW_RESTORE_BURST;
        if (l->n < NATGW_RESTORE_BURST)
                l->n++;
}

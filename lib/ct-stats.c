/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "ct-stats.h"
#include "nl.h"
#include "time-util.h"

#define TIMEOUT_USEC (2 * 1000000ull)

/* The per-CPU counters, each summed into its field. */
static const struct {
        uint16_t type;
        size_t offset;
} cpu_counters[] = {
        { CTA_STATS_FOUND, offsetof(struct natgw_ct_stats, found) },
        { CTA_STATS_INVALID, offsetof(struct natgw_ct_stats, invalid) },
        { CTA_STATS_INSERT, offsetof(struct natgw_ct_stats, insert) },
        { CTA_STATS_INSERT_FAILED, offsetof(struct natgw_ct_stats, insert_failed) },
        { CTA_STATS_DROP, offsetof(struct natgw_ct_stats, drop) },
        { CTA_STATS_EARLY_DROP, offsetof(struct natgw_ct_stats, early_drop) },
        { CTA_STATS_ERROR, offsetof(struct natgw_ct_stats, error) },
        { CTA_STATS_SEARCH_RESTART, offsetof(struct natgw_ct_stats, search_restart) },
        { CTA_STATS_CLASH_RESOLVE, offsetof(struct natgw_ct_stats, clash_resolve) },
        { CTA_STATS_CHAIN_TOOLONG, offsetof(struct natgw_ct_stats, chain_toolong) },
};

/* One message's attributes; unknown ones are skipped, malformed ones end the message. */
static int parse_attrs(const struct nlmsghdr *nlh, bool global, struct natgw_ct_stats *s) {
        const uint8_t *p = natgw_nlmsg_attrs(nlh, sizeof(struct nfgenmsg)), *end = natgw_nlmsg_end(nlh);
        const struct nlattr *a;

        if (!p)
                return -EPROTO;
        while ((a = natgw_nla_next(&p, end))) {
                uint16_t type = natgw_nla_type(a);
                uint32_t v = natgw_nla_be32(a);

                if (natgw_nla_len(a) != sizeof(v))
                        continue;
                if (global) {
                        if (type == CTA_STATS_GLOBAL_ENTRIES)
                                s->count = v;
                        else if (type == CTA_STATS_GLOBAL_MAX_ENTRIES)
                                s->max = v;
                        continue;
                }
                for (size_t i = 0; i < ELEMENTSOF(cpu_counters); i++)
                        if (type == cpu_counters[i].type)
                                *(uint64_t *)((uint8_t *)s + cpu_counters[i].offset) += v;
        }
        if (!global)
                s->cpus++;
        return 0;
}

int natgw_ct_stats_parse(const void *buf, size_t len, struct natgw_ct_stats *s) {
        const uint8_t *p = buf;
        const struct nlmsghdr *nlh;

        while ((nlh = natgw_nlmsg_next(&p, &len))) {
                uint16_t type = nlh->nlmsg_type;
                int r;

                if (type == NLMSG_DONE)
                        return 1;
                if (type == NLMSG_ERROR) {
                        struct natgw_nl_ack a;

                        /* error 0 is an ack: the end of a non-dump request. */
                        return natgw_nl_ack_parse(nlh, &a) < 0 ? -EPROTO : a.error == 0 ? 1 : a.error;
                }
                if (NFNL_SUBSYS_ID(type) != NFNL_SUBSYS_CTNETLINK)
                        return -EPROTO;
                switch (NFNL_MSG_TYPE(type)) {
                case IPCTNL_MSG_CT_GET_STATS:
                        r = parse_attrs(nlh, true, s);
                        /* Not a dump: this message is the whole answer, although the kernel
                         * marks it NLM_F_MULTI and sends no NLMSG_DONE after it. */
                        return r < 0 ? r : 1;
                case IPCTNL_MSG_CT_GET_STATS_CPU:
                        r = parse_attrs(nlh, false, s);
                        if (r < 0)
                                return r;
                        break;
                default:
                        return -EPROTO;
                }
        }
        return 0;
}

static int on_stats(const struct nlmsghdr *nlh, void *userdata) {
        return natgw_ct_stats_parse(nlh, nlh->nlmsg_len, userdata);
}

/* Send one request and read its answer into @s, within TIMEOUT_USEC. */
static int request(struct natgw_nl *nl, uint16_t msg, uint16_t flags, struct natgw_ct_stats *s) {
        _Alignas(struct nlmsghdr) char req[256];
        struct nlmsghdr *nlh = natgw_nfnl_put_header(req, NFNL_SUBSYS_CTNETLINK, (uint8_t)msg, flags, AF_UNSPEC);

        natgw_nl_set_timeout(nl, TIMEOUT_USEC, natgw_mono_usec() + TIMEOUT_USEC);
        /* Answers left over from an earlier request that timed out carry its sequence number. */
        return natgw_nl_dump(nl, nlh, on_stats, s);
}

int natgw_ct_stats_read(struct natgw_nl *nl, struct natgw_ct_stats *ret) {
        struct natgw_ct_stats s = {};
        int k;

        k = request(nl, IPCTNL_MSG_CT_GET_STATS, 0, &s);
        if (k >= 0)
                k = request(nl, IPCTNL_MSG_CT_GET_STATS_CPU, NLM_F_DUMP, &s);
        if (k < 0)
                return k;
        *ret = s;
        return 0;
}

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

/* Unknown attributes are skipped, a malformed one ends the message. */
int natgw_ct_stats_parse(const struct nlmsghdr *nlh, struct natgw_ct_stats *s) {
        const uint8_t *p = natgw_nlmsg_attrs(nlh, sizeof(struct nfgenmsg)), *end = natgw_nlmsg_end(nlh);
        bool global = NFNL_MSG_TYPE(nlh->nlmsg_type) == IPCTNL_MSG_CT_GET_STATS;
        const struct nlattr *a;

        if (!p || NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK ||
            (!global && NFNL_MSG_TYPE(nlh->nlmsg_type) != IPCTNL_MSG_CT_GET_STATS_CPU))
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
        /* The global statistics are no dump: their message is the whole answer, although the
         * kernel marks it NLM_F_MULTI and sends no NLMSG_DONE after it. */
        return global;
}

static int on_stats(const struct nlmsghdr *nlh, void *userdata) {
        return natgw_ct_stats_parse(nlh, userdata);
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

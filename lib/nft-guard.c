/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The HA guard's batch (nft-guard.h): chain ha-guard of table inet natgw, one rule per VIP. */

#include <netinet/in.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "nft-guard.h"
#include "nft-plan.h"
#include "nft-rule.h"
#include "nft-trace.h"

#define RULE_MSG_MAX 1024
#define MSG_MAX 512

size_t natgw_nft_ha_guard_batch_size(size_t n_vips) {
        return 4 * MSG_MAX + 2 * n_vips * RULE_MSG_MAX;
}

int natgw_nft_ha_guard_batch(uint32_t seq, const struct natgw_prefix *vips, size_t n_vips, bool udp, void *buf,
                             size_t *ret_len, uint32_t *ret_first, uint32_t *ret_acks) {
        char *p = buf;
        uint32_t s = seq;
        int n;

        p += NLMSG_ALIGN(nftnl_batch_begin(p, s++)->nlmsg_len);
        *ret_first = s;
        if (n_vips > 0) {
                n = natgw_nft_side_chain(p, s++, NATGW_HA_GUARD_CHAIN, NATGW_HA_GUARD_PRIORITY);
                if (n < 0)
                        return n;
                p += NLMSG_ALIGN(n);
                /* A chain left in place keeps no old rule. */
                p += NLMSG_ALIGN(natgw_nft_side_clear(p, NFT_MSG_DELRULE, s++, NATGW_HA_GUARD_CHAIN));
                for (size_t i = 0; i < (udp ? 2 : 1) * n_vips; i++) {
                        struct nlmsghdr *nlh = nftnl_rule_nlmsg_build_hdr(p, NFT_MSG_NEWRULE, NFPROTO_INET,
                                                                          NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK,
                                                                          s++);

                        n = natgw_rule_ha_guard(nlh, NATGW_HA_GUARD_CHAIN, &vips[i % n_vips],
                                                i < n_vips ? IPPROTO_TCP : IPPROTO_UDP);
                        if (n < 0)
                                return n;
                        p += NLMSG_ALIGN(nlh->nlmsg_len);
                }
        } else {
                p += NLMSG_ALIGN(natgw_nft_side_clear(p, NFT_MSG_DELRULE, s++, NATGW_HA_GUARD_CHAIN));
                p += NLMSG_ALIGN(natgw_nft_side_clear(p, NFT_MSG_DELCHAIN, s++, NATGW_HA_GUARD_CHAIN));
        }
        *ret_acks = s - *ret_first;
        p += NLMSG_ALIGN(nftnl_batch_end(p, s)->nlmsg_len);
        *ret_len = (size_t)(p - (char *)buf);
        return 0;
}

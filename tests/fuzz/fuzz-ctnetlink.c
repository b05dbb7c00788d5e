/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The parsers of what ctnetlink sends back, on arbitrary bytes: what comes back from the kernel
 * is input too. The statistics parser and the dump's per-entry parser (tuples, status, id, zone,
 * TCP state) must stay inside the buffer and return a verdict.
 */

#include <netinet/in.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include "ct-dump.h"
#include "ct-stats.h"
#include "nl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct natgw_ct_stats s = {};
        void *copy;
        int r;

        /* An exact-size heap copy: ASan then catches any read past the end. */
        copy = malloc(size ? size : 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        {
                const uint8_t *p = copy;
                const struct nlmsghdr *nlh;
                size_t len = size;

                while ((nlh = natgw_nlmsg_next(&p, &len))) {
                        struct natgw_ct_record rec;

                        r = natgw_ct_stats_parse(nlh, &s);
                        /* 1 (the whole answer) only for the global statistics. */
                        if (r > 1 || (r == 1 && nlh->nlmsg_type != ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET_STATS)))
                                abort();
                        if (natgw_ct_record_parse(nlh, &rec) < 0)
                                continue;
                        if (rec.orig.family != AF_INET && rec.orig.family != AF_INET6)
                                abort();
                        /* The decision's view holds together: one family, ports of TCP and UDP only. */
                        if (rec.has_reply &&
                            (rec.entry.family != rec.orig.family || rec.entry.reply_src.family != rec.orig.family ||
                             (rec.entry.l4proto != IPPROTO_TCP && rec.entry.l4proto != IPPROTO_UDP &&
                              (rec.entry.orig_sport | rec.entry.orig_dport | rec.entry.reply_sport |
                               rec.entry.reply_dport) != 0)))
                                abort();
                }
        }
        free(copy);
        return 0;
}

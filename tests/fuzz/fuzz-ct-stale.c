/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The conntrack decision after a reload (lib/ct-stale.c) on arbitrary configs and entries. The
 * input is OLD '\0' NEW '\0' ENTRIES: two config texts and then entries of ENTRY_SIZE bytes
 * each (family, protocol, flags, TCP state, four addresses, four ports). For every entry,
 * natgw_ct_stale_classify() must not crash or read out of bounds, and must agree with the rest
 * of the interface: a verdict other than "keep" names an entry and is never given when
 * natgw_ct_stale_possible() let the table go unread.
 */

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "ct-stale.h"

#define ENTRY_SIZE (4 + 4 * 16 + 4 * 2)
#define MAX_ENTRIES 64

static struct natgw_ct_entry entry_from(const uint8_t *p) {
        struct natgw_ct_entry e = {
                .family = p[0] & 1 ? AF_INET6 : AF_INET,
                .l4proto = (p[0] & 2) ? IPPROTO_UDP : (p[0] & 4) ? IPPROTO_ICMP : IPPROTO_TCP,
                .src_nat = p[1] & 1,
                .dst_nat = p[1] & 2,
                .tcp_state = p[2] > 10 ? 0xff : p[2],
        };
        struct natgw_addr *a[] = { &e.orig_src, &e.orig_dst, &e.reply_src, &e.reply_dst };
        uint16_t *port[] = { &e.orig_sport, &e.orig_dport, &e.reply_sport, &e.reply_dport };

        for (size_t i = 0; i < 4; i++) {
                a[i]->family = e.family;
                /* Bytes of p[3] copy an earlier address: untranslated tuples, same targets. */
                if (i > 0 && (p[3] >> (2 * i)) & 1)
                        memcpy(a[i]->bytes, a[(p[3] >> (2 * i + 1)) & 1 ? 0 : i - 1]->bytes, 16);
                else
                        memcpy(a[i]->bytes, p + 4 + 16 * i, 16);
                if (e.family == AF_INET)
                        memset(a[i]->bytes + 4, 0, 12);
                *port[i] = (uint16_t)(p[4 + 64 + 2 * i] << 8 | p[4 + 64 + 2 * i + 1]);
        }
        return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(natgw_config_freep) struct natgw_config *old = NULL, *new = NULL;
        _cleanup_(natgw_ct_stale_freep) struct natgw_ct_stale *s = NULL;
        struct natgw_errors errors = {};
        const uint8_t *nul1, *nul2, *entries;
        _cleanup_(freep) char *text = NULL;
        size_t n;

        if (size > 64 * 1024)
                return 0;
        nul1 = memchr(data, 0, size);
        if (!nul1)
                return 0;
        nul2 = memchr(nul1 + 1, 0, size - (size_t)(nul1 + 1 - data));
        if (!nul2)
                return 0;
        text = malloc(size);
        if (!text)
                return 0;
        memcpy(text, data, size);
        if (natgw_config_load_string(text, "old.conf", &old, &errors) < 0 ||
            natgw_config_load_string(text + (nul1 + 1 - data), "new.conf", &new, &errors) < 0) {
                natgw_errors_clear(&errors);
                return 0;
        }
        natgw_errors_clear(&errors);
        if (natgw_ct_stale_new(old, new, &s) < 0)
                return 0;

        entries = nul2 + 1;
        n = (size - (size_t)(entries - data)) / ENTRY_SIZE;
        for (size_t i = 0; i < n && i < MAX_ENTRIES; i++) {
                struct natgw_ct_entry e = entry_from(entries + i * ENTRY_SIZE);
                const char *name = NULL;
                enum natgw_ct_verdict v = natgw_ct_stale_classify(s, &e, &name);

                if ((v == NATGW_CT_KEEP) != (name == NULL) || (v != NATGW_CT_KEEP && !natgw_ct_stale_possible(s)))
                        abort();
        }
        return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The parser of a dump of nftables counters (lib/nft-dump.c), on arbitrary bytes: what comes
 * back from the kernel is input too. It must stay inside each message and name a counter only
 * with a NUL-terminated, non-empty name.
 */

#include "nft-netlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const struct nlmsghdr *nlh;
        const uint8_t *p;
        uint8_t *copy;

        /* An exact-size heap copy: ASan then catches any read past the end. */
        copy = malloc(size ? size : 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        p = copy;
        while ((nlh = natgw_nlmsg_next(&p, &size))) {
                struct natgw_nft_counter c;

                if (natgw_nft_counter_parse(nlh, &c) == 0 &&
                    (c.name[0] == '\0' || memchr(c.name, '\0', sizeof(c.name)) == NULL))
                        abort();
        }
        free(copy);
        return 0;
}

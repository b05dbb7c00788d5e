/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The parsers of nftables dumps, on arbitrary bytes: what comes back from the kernel is input
 * too. The counter parser (lib/nft-dump.c) must stay inside each message and name a counter only
 * with a NUL-terminated, non-empty name; the set element parser (lib/nft-elems.c, natgwctl
 * diagnose) must hand out only byte ranges inside the message.
 */

#include "nft-elems.h"
#include "nft-netlink.h"

/* Every range an element points at lies within the message @userdata. */
static int elem_inside(const struct natgw_nft_elem *e, void *userdata) {
        const struct nlmsghdr *nlh = userdata;
        const uint8_t *lo = (const uint8_t *)nlh, *hi = lo + nlh->nlmsg_len;
        const uint8_t *p[] = { e->key, e->key_end, e->data };
        size_t n[] = { e->key_len, e->key_end_len, e->data_len };

        for (size_t i = 0; i < 3; i++)
                if ((p[i] && (p[i] < lo || n[i] > (size_t)(hi - p[i]))) || (!p[i] && n[i]))
                        abort();
        return 0;
}

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
                (void)natgw_nft_elems_parse(nlh, "fwd4_if", elem_inside, (void *)nlh);
        }
        free(copy);
        return 0;
}

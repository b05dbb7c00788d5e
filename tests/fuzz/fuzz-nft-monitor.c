/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The parser of the kernel's nftables notifications (lib/nft-monitor.c), on arbitrary bytes:
 * it must stay inside the buffer, and what it reports must hold together. The same bytes are
 * parsed as one read and as two, as the notifications of one transaction may arrive.
 */

#include "nft-monitor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct natgw_nft_change *c) {
        char text[256];

        if (c->table_deleted && c->changes == 0)
                abort();
        if ((c->pid || c->comm[0]) && c->changes == 0)
                abort();
        if (memchr(c->first_object, '\0', sizeof(c->first_object)) == NULL ||
            memchr(c->comm, '\0', sizeof(c->comm)) == NULL)
                abort();
        (void)natgw_nft_change_describe(c, text, sizeof(text));
        (void)natgw_nft_change_who(c, text, sizeof(text));
}

/* Parse @size bytes from an exact-size heap copy: ASan then catches any read past the end. */
static void parse_copy(const uint8_t *data, size_t size, struct natgw_nft_change *c) {
        uint8_t *copy = malloc(size ? size : 1);

        if (!copy)
                return;
        memcpy(copy, data, size);
        natgw_nft_monitor_parse(copy, size, 1, c);
        free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct natgw_nft_change one = {}, two = {};
        size_t half = size / 2;

        parse_copy(data, size, &one);
        check(&one);
        parse_copy(data, half, &two);
        parse_copy(data + half, size - half, &two);
        check(&two);
        return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The parser of the kernel's ctnetlink statistics on arbitrary bytes: what comes back from the
 * kernel is input too. natgw_ct_stats_parse() must stay inside the buffer and return a verdict.
 */

#include "ct-stats.h"

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
        r = natgw_ct_stats_parse(copy, size, &s);
        free(copy);
        if (r > 1)
                abort();
        return 0;
}

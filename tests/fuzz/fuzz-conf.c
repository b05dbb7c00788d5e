/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The config loader and validator on arbitrary text: natgw_config_load_string() must return a
 * model or errors, never crash, leak or read out of bounds; every error must format; and a
 * model that loads must also compile into a plan (or say why not).
 */

#include "conf.h"
#include "nft-plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL;
        _cleanup_(natgw_plan_freep) struct natgw_plan *p = NULL;
        struct natgw_errors errors = {};
        _cleanup_(freep) char *text = NULL;
        int r;

        /* Big inputs only slow the fuzzer down; the loader's limits are tested elsewhere. */
        if (size > 64 * 1024)
                return 0;
        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';

        r = natgw_config_load_string(text, "fuzz.conf", &c, &errors);
        for (size_t i = 0; i < errors.n; i++)
                free(natgw_error_format(&errors.v[i]));
        if (r == 0) {
                if (!c)
                        abort();
                (void)natgw_plan_build(c, &p, &errors);
        } else if (r != -EINVAL && r != -ENOMEM)
                abort();
        natgw_errors_clear(&errors);
        return 0;
}

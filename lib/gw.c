/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "gw.h"
#include "sysctl.h"
#include "util.h"

int natgw_gw_new(struct natgw_gw **ret) {
        struct natgw_gw *gw;
        int r;

        gw = calloc(1, sizeof(*gw));
        if (!gw)
                return -ENOMEM;
        r = natgw_nft_new(&gw->nft);
        if (r < 0) {
                free(gw);
                return r;
        }
        *ret = gw;
        return 0;
}

struct natgw_gw *natgw_gw_free(struct natgw_gw *gw) {
        if (!gw)
                return NULL;
        natgw_nft_free(gw->nft);
        natgw_config_free(gw->config);
        free(gw);
        return NULL;
}

int natgw_gw_apply_file(struct natgw_gw *gw, const char *path, struct natgw_errors *errors) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL;
        struct natgw_apply_stats stats;
        int r;

        r = natgw_config_load_file(path, &c, errors);
        if (r < 0)
                return r;
        r = natgw_nft_apply(gw->nft, c, errors, &stats);
        if (r < 0)
                return r;
        /* The table is in; a sysctl the kernel refuses is reported but undoes nothing. */
        (void)natgw_sysctl_apply_forwarding(c, errors);
        natgw_config_free(gw->config);
        gw->config = TAKE_PTR(c);
        gw->generation++;
        gw->last_stats = stats;
        return 0;
}

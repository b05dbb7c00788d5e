/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <inttypes.h>
#include <net/if.h>

#include "gw.h"
#include "nft-plan.h"
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

/* One warning per entry whose interface does not exist (yet): a PPP link that is down, a
 * hot-plugged NIC. Not an error: the table matches names, so the entry works once it appears. */
static void warn_missing_interfaces(const struct natgw_config *c, struct natgw_errors *errors) {
        for (size_t i = 0; i < c->n_egress + c->n_forwards; i++) {
                bool egress = i < c->n_egress;
                const char *ifname = egress ? c->egress[i].out_interface : c->forwards[i - c->n_egress].in_interface;

                if (!ifname[0] || if_nametoindex(ifname) > 0 || errno != ENODEV)
                        continue;
                (void)natgw_errors_add(errors, c->path, egress ? c->egress[i].line : c->forwards[i - c->n_egress].line,
                                       egress ? c->egress[i].name : c->forwards[i - c->n_egress].name,
                                       "interface \"%s\" does not exist (yet): the entry applies as soon as an "
                                       "interface of that name appears",
                                       ifname);
        }
}

int natgw_gw_apply_file(struct natgw_gw *gw, const char *path, struct natgw_errors *errors) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL;
        struct natgw_ct_stale_stats ct_stats = {};
        struct natgw_apply_stats stats;
        int r;

        r = natgw_config_load_file(path, &c, errors);
        if (r < 0)
                return r;
        r = natgw_nft_apply(gw->nft, c, errors, &stats);
        if (r < 0)
                return r;
        /* The table is in; a sysctl the kernel refuses is a warning and undoes nothing. A
         * rejected file never gets here: it changes no setting either. */
        (void)natgw_settings_apply(&gw->settings, c, errors);
        warn_missing_interfaces(c, errors);
        if (gw->config) {
                r = natgw_ct_stale_clean(gw->config, c, &ct_stats);
                if (r < 0)
                        (void)natgw_errors_add(errors, c->path, 0, NULL,
                                               "conntrack entries of removed or changed entries were not all "
                                               "deleted (%" PRIu64 " of %" PRIu64 " found stale): %s",
                                               ct_stats.deleted, ct_stats.stale, strerror(-r));
                else if (ct_stats.failed > 0)
                        (void)natgw_errors_add(errors, c->path, 0, NULL,
                                               "the kernel refused to delete %" PRIu64 " of %" PRIu64
                                               " stale conntrack entries: %s",
                                               ct_stats.failed, ct_stats.stale, strerror(-ct_stats.first_error));
        }
        natgw_config_free(gw->config);
        gw->config = TAKE_PTR(c);
        gw->generation++;
        gw->last_stats = stats;
        gw->last_ct_stale = ct_stats;
        return 0;
}

int natgw_check_file(const char *path, struct natgw_errors *errors, struct natgw_check_result *ret) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL;
        _cleanup_(natgw_plan_freep) struct natgw_plan *p = NULL;
        int r;

        r = natgw_config_load_file(path, &c, errors);
        if (r >= 0)
                r = natgw_plan_build(c, &p, errors);
        if (r < 0)
                return r;
        warn_missing_interfaces(c, errors);
        *ret = (struct natgw_check_result){
                .egress = c->n_egress,
                .forwards = c->n_forwards,
                .map_elements = p->n_elements,
        };
        return 0;
}

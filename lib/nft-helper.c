/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which conntrack helper objects a config needs (see nft-helper.h).
 */

#include "nft-helper.h"
#include "util.h"

const struct natgw_hobj_def natgw_hobjs[NATGW_HOBJ_COUNT] = {
        [NATGW_HOBJ_FTP] = { "ftp", NATGW_HELPER_FTP, NATGW_PROTO_TCP },
        [NATGW_HOBJ_TFTP] = { "tftp", NATGW_HELPER_TFTP, NATGW_PROTO_UDP },
        [NATGW_HOBJ_SIP_UDP] = { "sip", NATGW_HELPER_SIP, NATGW_PROTO_UDP },
        [NATGW_HOBJ_SIP_TCP] = { "sip-tcp", NATGW_HELPER_SIP, NATGW_PROTO_TCP },
};

unsigned natgw_hobjs_of(unsigned helpers, unsigned protos) {
        unsigned mask = 0;

        for (unsigned i = 0; i < NATGW_HOBJ_COUNT; i++)
                if ((helpers & natgw_hobjs[i].helper) && (protos & natgw_hobjs[i].proto))
                        mask |= 1u << i;
        return mask;
}

static void use(struct natgw_plan *p, unsigned mask, uint32_t entry) {
        for (unsigned i = 0; i < NATGW_HOBJ_COUNT; i++)
                if ((mask & (1u << i)) && !(p->helper_objs & (1u << i))) {
                        p->helper_objs |= 1u << i;
                        p->helper_entry[i] = entry;
                }
}

void natgw_helper_plan(struct natgw_plan *p, bool forwards) {
        const struct natgw_config *c = p->config;

        for (size_t i = 0; i < c->n_egress; i++)
                use(p, natgw_hobjs_of(c->egress[i].helpers, NATGW_PROTO_TCP | NATGW_PROTO_UDP), (uint32_t)i);
        for (size_t i = 0; i < c->n_forwards && forwards; i++) {
                const struct natgw_forward *f = &c->forwards[i];

                if (!f->helper)
                        continue;
                p->helper_chain = true;
                use(p, natgw_hobjs_of(f->helper, f->protos), (uint32_t)(c->n_egress + i));
        }
}

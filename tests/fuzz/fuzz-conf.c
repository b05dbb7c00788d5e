/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The config loader and validator on arbitrary text: natgw_config_load_string() must return a
 * model or errors, never crash, leak or read out of bounds; every error must format; a model
 * that loads must also compile into a plan (or say why not); and a plan must encode into a
 * replace batch and then into an update batch against the state the replace leaves, which for
 * the same plan creates and deletes no map (every map is kept). And the same text loaded with
 * its forward list in slices of one entry each (conf-slice.h) must give the same errors and the
 * same forwards as loaded whole.
 */

#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include "conf-slice.h"
#include "conf.h"
#include "nft-batch.h"
#include "nft-plan.h"

static void check_batches(const struct natgw_plan *p) {
        struct natgw_table_state first = {}, second = {};
        struct natgw_batch *b = NULL;

        if (natgw_batch_build(p, NULL, 1, NATGW_TABLE_F_OWNER, &b, &first) < 0)
                return; /* out of memory */
        natgw_batch_free(b);
        b = NULL;
        if (natgw_batch_build(p, &first, 1000000, NATGW_TABLE_F_OWNER, &b, &second) == 0) {
                for (size_t i = 0; i < b->n_msgs; i++) {
                        const struct nlmsghdr *nlh = (const void *)(b->buf + b->msgs[i].offset);
                        uint16_t type = nlh->nlmsg_type & 0xff;

                        if (b->msgs[i].kind != NATGW_MSG_CONTROL && (type == NFT_MSG_NEWSET || type == NFT_MSG_DELSET))
                                abort();
                }
                natgw_batch_free(b);
        }
        natgw_table_state_clear(&first);
        natgw_table_state_clear(&second);
}

/* What a load gave, as text: its return, its errors as printed, its forwards' names and lines. */
static char *outcome(const char *text, size_t slice_bytes, int *ret) {
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL;
        struct natgw_errors errors = {};
        char *s = NULL;
        size_t len = 0;
        FILE *f;

        natgw_conf_slice_bytes = slice_bytes;
        *ret = natgw_config_load_string(text, "fuzz.conf", &c, &errors);
        natgw_conf_slice_bytes = NATGW_CONF_SLICE_BYTES;
        f = open_memstream(&s, &len);
        if (!f) {
                natgw_errors_clear(&errors);
                return NULL;
        }
        fprintf(f, "%d\n", *ret);
        for (size_t i = 0; i < errors.n; i++) {
                _cleanup_(freep) char *e = natgw_error_format(&errors.v[i]);

                fprintf(f, "%s\n", e ? e : "");
        }
        for (size_t i = 0; c && i < c->n_forwards; i++)
                fprintf(f, "%s %u %u %zu\n", c->forwards[i].name, c->forwards[i].line, c->forwards[i].protos,
                        c->forwards[i].n_ports);
        natgw_errors_clear(&errors);
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        return s;
}

/* Sliced and whole, the same (out of memory aside). */
static void check_slices(const char *text) {
        _cleanup_(freep) char *whole = NULL, *sliced = NULL;
        int rw, rs;

        whole = outcome(text, SIZE_MAX / 4, &rw);
        sliced = outcome(text, 1, &rs);
        if (whole && sliced && rw != -ENOMEM && rs != -ENOMEM && strcmp(whole, sliced) != 0)
                abort();
}

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
                if (natgw_plan_build(c, &p, &errors) == 0)
                        check_batches(p);
        } else if (r != -EINVAL && r != -ENOMEM)
                abort();
        natgw_errors_clear(&errors);
        check_slices(text);
        return 0;
}

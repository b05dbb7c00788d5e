/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * natgwctl import on arbitrary text (an iptables-save dump, or an nft ruleset when it starts
 * with "table"): natgw_import() must return a config or say why not, never crash, leak or read
 * out of bounds; a config it returns must load in natgwd's own loader (natgwd -t accepts every
 * output), and the same input must give the same bytes again.
 */

#include "conf.h"
#include "import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int import_once(const char *text, enum natgw_import_format f, char **ret) {
        struct natgw_errors problems = {};
        int r = natgw_import(text, f, "fuzz", ret, &problems);

        for (size_t i = 0; i < problems.n; i++)
                free(natgw_error_format(&problems.v[i]));
        natgw_errors_clear(&problems);
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        enum natgw_import_format f;
        struct natgw_errors errors = {};
        struct natgw_config *c = NULL;
        char *text, *a = NULL, *b = NULL;
        int r;

        if (size > 256 * 1024)
                return 0;
        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;
        f = size >= 5 && memcmp(data, "table", 5) == 0 ? NATGW_IMPORT_NFT : NATGW_IMPORT_IPTABLES_SAVE;
        r = import_once(text, f, &a);
        if (r >= 0) {
                if (natgw_config_load_string(a, "imported", &c, &errors) < 0)
                        abort(); /* an output natgwd refuses */
                natgw_config_free(c);
                natgw_errors_clear(&errors);
                if (import_once(text, f, &b) != r || !b || strcmp(a, b) != 0)
                        abort(); /* not stable */
        }
        free(a);
        free(b);
        free(text);
        return 0;
}

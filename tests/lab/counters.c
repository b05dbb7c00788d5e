/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * natgw-counters: the named counters of table inet natgw, read the two ways natgwd reads them
 * (lib/nft-dump.c), for tests/lab/lab-metrics.sh to compare on a table real traffic counted.
 *
 *   natgw-counters dump                   every counter, by the kernel's dump
 *   natgw-counters get [--repeat K] NAME...  the counters NAME... by name (pipelined requests),
 *                                         each name asked for K times in a row (default 1)
 *   natgw-counters get-all [--repeat K]   the dump's names, then those counters by name
 *
 * Run inside the gateway's namespace. Prints "NAME PACKETS BYTES" per counter, in the order
 * read (dump: the kernel's; get: the order asked; names the table has no counter of are left
 * out), and exits 0; 1 with the error on stderr.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nft.h"

static void print(const struct natgw_counter *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                printf("%s %llu %llu\n", v[i].name, (unsigned long long)v[i].packets, (unsigned long long)v[i].bytes);
}

int main(int argc, char **argv) {
        struct natgw_counter *v = NULL, *w = NULL;
        const char **names = NULL;
        size_t n = 0, m = 0, n_names = 0;
        unsigned long repeat = 1;
        int a = 2, r;

        if (argc < 2)
                goto usage;
        if (a + 1 < argc && strcmp(argv[a], "--repeat") == 0) {
                repeat = strtoul(argv[a + 1], NULL, 10);
                if (repeat < 1 || repeat > 10000)
                        goto usage;
                a += 2;
        }
        if (strcmp(argv[1], "dump") == 0 && argc == 2) {
                r = natgw_nft_dump_counters(&v, &n);
                if (r >= 0)
                        print(v, n);
        } else if (strcmp(argv[1], "get") == 0 || (strcmp(argv[1], "get-all") == 0 && a == argc)) {
                bool all = strcmp(argv[1], "get-all") == 0;
                size_t base = all ? 0 : (size_t)(argc - a);

                r = all ? natgw_nft_dump_counters(&v, &n) : 0;
                if (r >= 0) {
                        base = all ? n : base;
                        names = calloc(base * repeat + 1, sizeof(*names));
                        if (!names)
                                r = -ENOMEM;
                }
                for (size_t i = 0; r >= 0 && i < base; i++)
                        for (unsigned long k = 0; k < repeat; k++)
                                names[n_names++] = all ? v[i].name : argv[a + (int)i];
                if (r >= 0)
                        r = natgw_nft_get_counters(names, n_names, &w, &m);
                if (r >= 0)
                        print(w, m);
        } else
                goto usage;
        natgw_counters_free(v, n);
        natgw_counters_free(w, m);
        free(names);
        if (r < 0) {
                fprintf(stderr, "natgw-counters: %s\n", strerror(-r));
                return 1;
        }
        return 0;
usage:
        fprintf(stderr, "usage: natgw-counters dump | get [--repeat K] NAME... | get-all [--repeat K]\n");
        return 2;
}

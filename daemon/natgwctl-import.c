/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * natgwctl import: a saved ruleset in, a natgwd config out (lib/import-*.c does the work). Needs
 * no daemon. Exit 0 when every rule was converted, 1 when some were left out (listed on
 * standard error) or the input is not a dump, 2 usage.
 */

#include "conf.h"
#include "import.h"
#include "natgwctl-import.h"
#include "util.h"

/* A dump larger than this is not a hand-written script. */
#define IMPORT_MAX_BYTES (64u << 20)

static int read_all(FILE *f, char **ret) {
        _cleanup_(freep) char *buf = NULL;
        size_t n = 0, cap = 0, k;

        for (;;) {
                if (GROW(buf, cap, n + 65536 + 1) < 0)
                        return -ENOMEM;
                k = fread(buf + n, 1, 65536, f);
                n += k;
                if (n > IMPORT_MAX_BYTES)
                        return -EFBIG;
                if (k < 65536)
                        break;
        }
        if (ferror(f))
                return -EIO;
        buf[n] = 0;
        if (strlen(buf) != n)
                return -EBADMSG; /* a NUL byte: not text */
        *ret = TAKE_PTR(buf);
        return 0;
}

static void usage(FILE *f) {
        fprintf(f, "Usage: natgwctl import [--from iptables-save|nft] [FILE]\n"
                   "Print a natgwd config equivalent to the NAT rules of FILE (standard input without\n"
                   "it), an iptables-save / ip6tables-save dump or an `nft list ruleset` dump (without\n"
                   "--from: nft when the dump starts with \"table\"). Rules it cannot express are listed\n"
                   "on standard error with their line and why.\n"
                   "Exit status: 0 all converted, 1 some left out or not a dump, 2 usage.\n");
}

int natgwctl_import(int argc, char *argv[]) {
        _cleanup_(freep) char *text = NULL, *config = NULL;
        enum natgw_import_format format = NATGW_IMPORT_IPTABLES_SAVE;
        bool format_given = false;
        struct natgw_errors problems = {}, check = {};
        _cleanup_(natgw_config_freep) struct natgw_config *c = NULL;
        const char *path = NULL, *name;
        int r, i;

        for (i = 1; i < argc; i++) {
                const char *a = argv[i], *v = NULL;

                if (streq(a, "-h") || streq(a, "--help")) {
                        usage(stdout);
                        return 0;
                }
                if (streq(a, "--from") && i + 1 < argc)
                        v = argv[++i];
                else if (!strncmp(a, "--from=", 7))
                        v = a + 7;
                if (v) {
                        r = natgw_import_format_from_string(v);
                        if (r < 0) {
                                fprintf(stderr, "natgwctl: import --from takes iptables-save or nft, not \"%s\"\n", v);
                                return 2;
                        }
                        format = (enum natgw_import_format)r;
                        format_given = true;
                } else if (a[0] == '-' && a[1]) {
                        fprintf(stderr, "natgwctl: import: unknown option \"%s\"; see natgwctl import --help\n", a);
                        return 2;
                } else if (path) {
                        fprintf(stderr, "natgwctl: import takes one file, not also \"%s\"\n", a);
                        return 2;
                } else
                        path = a;
        }
        if (path && !streq(path, "-")) {
                FILE *f = fopen(path, "re");

                if (!f) {
                        fprintf(stderr, "natgwctl: cannot open %s: %s\n", path, strerror(errno));
                        return 1;
                }
                r = read_all(f, &text);
                fclose(f);
                name = path;
        } else {
                r = read_all(stdin, &text);
                name = "<stdin>";
        }
        if (r < 0) {
                fprintf(stderr, "natgwctl: cannot read %s: %s\n", name,
                        r == -EBADMSG ? "it holds a NUL byte, so it is not a text dump" : strerror(-r));
                return 1;
        }
        if (!format_given)
                format = natgw_import_format_guess(text);
        r = natgw_import(text, format, name, &config, &problems);
        for (size_t j = 0; j < problems.n; j++) {
                const struct natgw_error *e = &problems.v[j];

                fprintf(stderr, "%s:%u: %s%s\n", e->file ? e->file : name, e->line,
                        r == -EINVAL ? "" : e->severity == NATGW_SEVERITY_WARNING ? "note: " : "left out: ", e->message);
        }
        natgw_errors_clear(&problems);
        if (r < 0) {
                if (r != -EINVAL)
                        fprintf(stderr, "natgwctl: import: %s\n", strerror(-r));
                return 1;
        }
        /* What natgwd -t would say: an output natgwd refuses is a bug here, never the user's. */
        if (natgw_config_load_string(config, "<imported config>", &c, &check) < 0) {
                fprintf(stderr, "natgwctl: import made a config natgwd refuses (a bug; please report it):\n");
                natgw_errors_print(&check, stderr);
                natgw_errors_clear(&check);
                return 1;
        }
        natgw_errors_clear(&check);
        fputs(config, stdout);
        if (fflush(stdout) != 0) {
                fprintf(stderr, "natgwctl: cannot write the config: %s\n", strerror(errno));
                return 1;
        }
        return r > 0 ? 1 : 0;
}

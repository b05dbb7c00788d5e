/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <dirent.h>

#include "conf-dropin.h"
#include "util.h"

static bool ends_with(const char *s, const char *suffix) {
        size_t n = strlen(s), k = strlen(suffix);

        return n >= k && streq(s + n - k, suffix);
}

bool natgw_conf_dropin_wanted(const char *name) {
        /* ".conf" alone is a hidden file too. */
        return name[0] != '.' && ends_with(name, ".conf");
}

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

char **natgw_conf_dropin_free(char **names) {
        if (!names)
                return NULL;
        for (char **p = names; *p; p++)
                free(*p);
        free(names);
        return NULL;
}

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

int natgw_conf_dropin_list(const char *dir, char ***ret, size_t *ret_n) {
        _cleanup_(closedirp) DIR *d = opendir(dir);
        _cleanup_(natgw_conf_dropin_freep) char **v = NULL;
        size_t n = 0, cap = 0;
        const struct dirent *de;

        if (!d)
                return -errno;
        if (GROW(v, cap, 1) < 0)
                return -ENOMEM;
        v[0] = NULL;
        for (errno = 0; (de = readdir(d)); errno = 0) {
                if (!natgw_conf_dropin_wanted(de->d_name))
                        continue;
                if (n >= NATGW_DROPIN_MAX)
                        return -E2BIG;
                if (GROW(v, cap, n + 2) < 0)
                        return -ENOMEM;
                v[n] = strdup(de->d_name);
                if (!v[n])
                        return -ENOMEM;
                v[++n] = NULL;
        }
        if (errno)
                return -errno;
        if (n > 1) /* v is NULL for an empty directory */
                qsort(v, n, sizeof(*v), name_cmp);
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Read tests/fuzz/corpus/TARGET/NAME into @buf: kernel answers the unit tests parse too. */
static inline size_t read_seed(const char *target, const char *name, uint8_t *buf, size_t size) {
        char path[512];
        FILE *f;
        size_t n;

        snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/%s/%s", SRCDIR, target, name);
        f = fopen(path, "rb");
        assert_non_null(f);
        n = fread(buf, 1, size, f);
        fclose(f);
        assert_true(n > 0);
        return n;
}

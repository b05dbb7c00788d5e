/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * A big forward list parsed in slices (issue 18). libconfig builds the tree of a whole file at
 * once: for 50,000 forwards about 50 MB of small allocations, most of it memory fresh from the
 * kernel, and faulting it in costs more than the parse itself. The loader instead parses the
 * file without the interior of its forward list (the skeleton) and then the list a slice of
 * entries at a time, each slice's tree converted and freed before the next is parsed, so the
 * slices reuse the same memory. Each slice is a text of its own that libconfig parses as the
 * file would have been parsed there: "forward = (" the entries ");". Its lines start at 1; the
 * loader adds the line its first entry is on, less 1 (natgw_conf_ctx.line_offset).
 *
 * Only a plain list is sliced: one top-level key forward, "=" or ":", a list of groups { ... }
 * separated by commas. Anything else the whole file is parsed as before; so is a file whose
 * slices libconfig refuses (conf-load.c reports the whole file's syntax error).
 */

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

/* Slices of about this many bytes of text; a list shorter than two of them is not sliced. */
#define NATGW_CONF_SLICE_BYTES (128 * 1024)

/* The slice size in force (the unit tests lower it to slice small files). */
extern size_t natgw_conf_slice_bytes;

/* Files whose forward list was parsed in slices, since the start (for the unit tests). */
extern unsigned natgw_conf_sliced_files;

/* For the unit tests: false, the reader starts no thread; slices the caller's thread parsed. */
extern bool natgw_conf_slice_thread;
extern unsigned natgw_conf_slices_by_caller;
/* For the unit tests: slices the helper parsed. */
extern unsigned natgw_conf_slices_helped;


struct natgw_conf_slice {
        const char *start; /* the first entry's "{", in the text */
        size_t len;        /* up to the last entry's "}" */
        unsigned line;     /* of start */
        unsigned first;    /* the 1-based position of its first entry in the list */
};

struct natgw_conf_slices {
        char *skeleton;    /* the text with the list's interior replaced by its newlines */
        struct natgw_conf_slice *v;
        size_t n;
        size_t entries;    /* in the list */
};

/*
 * Slice @text's forward list, in slices of about @slice_bytes. Return: 1 and @ret filled; 0 when
 * the text is not sliced (@ret empty); -ENOMEM.
 */
int natgw_conf_slice(const char *text, size_t slice_bytes, struct natgw_conf_slices *ret);

/* The size of the text libconfig parses for slice @s, its terminating NUL included. */
size_t natgw_conf_slice_text_size(const struct natgw_conf_slice *s);

/* Write that text into @t (natgw_conf_slice_text_size() bytes). */
void natgw_conf_slice_text_into(const struct natgw_conf_slice *s, char *t);

void natgw_conf_slices_done(struct natgw_conf_slices *s);

/*
 * The slices' trees, in order, parsed by a thread of their own a few slices ahead of the caller,
 * who converts them meanwhile (on 2 cores the parse and the conversion overlap); when the slice
 * it asks for is still being parsed, the caller sends a helper thread to parse the next slice
 * nobody has claimed instead of waiting idle. libconfig keeps no state between calls and sets its
 * number locale per thread: parsing separate trees in several threads is safe. Without a thread
 * (pthread_create() failed) the caller's thread parses each slice when it is asked for.
 */
struct natgw_conf_slice_reader;

/* Start reading the slices of @sl (which must outlive the reader). 0 or -ENOMEM. */
int natgw_conf_slice_reader_new(const struct natgw_conf_slices *sl, struct natgw_conf_slice_reader **ret);

/*
 * The tree of the next slice (the caller's until natgw_conf_slice_reader_next() or _free());
 * NULL: no slice is left (*@r = 0), libconfig refused the slice (*@r = -EINVAL), or out of
 * memory (*@r = -ENOMEM).
 */
const config_t *natgw_conf_slice_reader_next(struct natgw_conf_slice_reader *rd, int *r);

/* Stop the thread and free every tree. */
void natgw_conf_slice_reader_free(struct natgw_conf_slice_reader *rd);

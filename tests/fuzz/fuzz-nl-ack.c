/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The transport's readers of kernel answers (lib/nl.h), on arbitrary bytes: the NLMSG_ERROR
 * parser, the ack walk and the dump walk must stay inside the buffer, and what they hand on
 * must hold together. The first 8 bytes pick the port id and first sequence number the walks
 * filter on; the rest is what one recv() returned.
 */

#include "nl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct walk {
        uint32_t portid, first, n;
        size_t calls;
};

static int on_ack(const struct natgw_nl_ack *a, void *userdata) {
        struct walk *w = userdata;

        if (a->seq - w->first >= w->n || a->error > 0 || a->error <= -4096 ||
            memchr(a->msg, '\0', sizeof(a->msg)) == NULL)
                abort();
        return ++w->calls == 3;
}

static int on_msg(const struct nlmsghdr *nlh, void *userdata) {
        struct walk *w = userdata;

        if (nlh->nlmsg_seq != w->first || nlh->nlmsg_pid != w->portid || nlh->nlmsg_type < NLMSG_MIN_TYPE)
                abort();
        w->calls++;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct walk w = { .n = 16 };
        const uint8_t *p;
        uint8_t *copy;
        bool intr = false;
        size_t len;
        int r;

        if (size < 8)
                return 0;
        memcpy(&w.portid, data, 4);
        memcpy(&w.first, data + 4, 4);
        data += 8;
        size -= 8;
        /* An exact-size heap copy: ASan then catches any read past the end. */
        copy = malloc(size ? size : 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);

        p = copy;
        len = size;
        for (const struct nlmsghdr *nlh; (nlh = natgw_nlmsg_next(&p, &len));) {
                struct natgw_nl_ack a;

                if (natgw_nl_ack_parse(nlh, &a) == 0 && (a.error > 0 || memchr(a.msg, '\0', sizeof(a.msg)) == NULL))
                        abort();
        }
        r = natgw_nl_ack_walk(copy, size, w.portid, w.first, w.n, on_ack, &w);
        if (r != 0 && r != 1)
                abort();
        w.calls = 0;
        r = natgw_nl_dump_walk(copy, size, w.portid, w.first, &intr, on_msg, &w);
        if (r > 2 || r <= -4096)
                abort();
        free(copy);
        return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Netlink walking with size_t bounds, for what the kernel sends back: libmnl's mnl_nlmsg_ok()
 * and mnl_attr_for_each() compare lengths as int and iterate to the aligned end of a message,
 * which a malformed message can push past its buffer (tests/fuzz found the first).
 */

#include <linux/netlink.h>
#include <stddef.h>
#include <stdint.h>

/* The next message in [*p, *p + *len), advancing past it; NULL when none is complete. */
static inline const struct nlmsghdr *natgw_nlmsg_next(const uint8_t **p, size_t *len) {
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)*p;
        size_t step;

        if (*len < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > *len)
                return NULL;
        step = NLMSG_ALIGN(nlh->nlmsg_len);
        if (step > *len)
                step = *len;
        *p += step;
        *len -= step;
        return nlh;
}

/* The next attribute in [*p, end), advancing past it; NULL when none is complete. */
static inline const struct nlattr *natgw_nla_next(const uint8_t **p, const uint8_t *end) {
        const struct nlattr *a = (const struct nlattr *)*p;
        size_t step;

        if (end - *p < (ptrdiff_t)sizeof(*a) || a->nla_len < sizeof(*a) || a->nla_len > end - *p)
                return NULL;
        step = NLA_ALIGN(a->nla_len);
        *p = (size_t)(end - *p) < step ? end : *p + step;
        return a;
}

static inline uint16_t natgw_nla_type(const struct nlattr *a) {
        return a->nla_type & NLA_TYPE_MASK;
}

static inline const void *natgw_nla_data(const struct nlattr *a) {
        return (const uint8_t *)a + NLA_HDRLEN;
}

static inline size_t natgw_nla_len(const struct nlattr *a) {
        return a->nla_len - NLA_HDRLEN;
}

/* The payload of @a as the bounds of a nested attribute walk. */
static inline const uint8_t *natgw_nla_end(const struct nlattr *a) {
        return (const uint8_t *)a + a->nla_len;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "nl.h"
#include "rt-query.h"
#include "time-util.h"

/* A request: header, family header and at most two addresses and an interface name. */
#define REQ_SIZE 256

/* Open a route socket whose reads end at @deadline, and send @req, answered by messages
 * (a dump, or a get asking for an ack) that go to @cb. */
static int rt_request(struct nlmsghdr *req, uint64_t deadline, natgw_nl_msg_cb cb, void *userdata) {
        _cleanup_(natgw_nl_freep) struct natgw_nl *nl = NULL;
        int r;

        r = natgw_nl_open(NETLINK_ROUTE, 0, &nl);
        if (r < 0)
                return r;
        natgw_nl_set_timeout(nl, nl->idle_usec, deadline);
        return natgw_nl_dump(nl, req, cb, userdata);
}

static void addr_from_attr(const struct nlattr *a, int family, struct natgw_addr *ret, bool *ret_ok) {
        size_t want = family == AF_INET6 ? 16 : 4;

        *ret_ok = natgw_nla_len(a) == want;
        if (!*ret_ok)
                return;
        *ret = (struct natgw_addr){ .family = family };
        memcpy(ret->bytes, natgw_nla_data(a), want);
}

static void put_addr(struct nlmsghdr *nlh, uint16_t type, const struct natgw_addr *a) {
        mnl_attr_put(nlh, type, a->family == AF_INET6 ? 16 : 4, a->bytes);
}

/* ---------------------------------------------------------------- links */

int natgw_rt_link_parse(const struct nlmsghdr *nlh, struct natgw_rt_link *ret) {
        const uint8_t *p = natgw_nlmsg_attrs(nlh, sizeof(struct ifinfomsg)), *end = natgw_nlmsg_end(nlh);
        const struct ifinfomsg *ifi = NLMSG_DATA(nlh);
        struct natgw_rt_link l = {};
        const struct nlattr *a;

        if (!p || nlh->nlmsg_type != RTM_NEWLINK)
                return -EPROTO;
        l.ifindex = ifi->ifi_index;
        l.flags = ifi->ifi_flags;
        l.up = l.flags & IFF_UP;
        /* IFF_LOWER_UP (1 << 16) is in <linux/if.h>, which clashes with <net/if.h>. */
        l.carrier = l.flags & (1u << 16);
        while ((a = natgw_nla_next(&p, end)))
                switch (natgw_nla_type(a)) {
                case IFLA_IFNAME:
                        snprintf(l.name, sizeof(l.name), "%.*s", (int)strnlen(natgw_nla_data(a), natgw_nla_len(a)),
                                 (const char *)natgw_nla_data(a));
                        break;
                case IFLA_OPERSTATE:
                        l.operstate = natgw_nla_u8(a);
                        break;
                default:
                        break;
                }
        *ret = l;
        return 0;
}

static int on_link(const struct nlmsghdr *nlh, void *userdata) {
        struct natgw_rt_link *l = userdata;

        return natgw_rt_link_parse(nlh, l) == 0 ? 1 : 0;
}

static int link_request(const char *name, int ifindex, uint64_t deadline, struct natgw_rt_link *ret) {
        _Alignas(struct nlmsghdr) char req[REQ_SIZE] = {};
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
        struct ifinfomsg *ifi;
        struct natgw_rt_link l = { .ifindex = -1 };
        int r;

        nlh->nlmsg_type = RTM_GETLINK;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        if (name)
                mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        r = rt_request(nlh, deadline, on_link, &l);
        if (r < 0)
                return r;
        if (l.ifindex < 0)
                return -ENODEV;
        *ret = l;
        return 0;
}

int natgw_rt_link_get(const char *name, uint64_t deadline, struct natgw_rt_link *ret) {
        if (strlen(name) >= IFNAMSIZ)
                return -ENODEV;
        return link_request(name, 0, deadline, ret);
}

const char *natgw_rt_link_name(int ifindex, char *buf) {
        struct natgw_rt_link l;

        /* A name is worth a second at most. */
        if (ifindex <= 0 || link_request(NULL, ifindex, natgw_mono_usec() + 1000000, &l) < 0)
                snprintf(buf, IFNAMSIZ, "?");
        else
                snprintf(buf, IFNAMSIZ, "%s", l.name);
        return buf;
}

/* ---------------------------------------------------------------- addresses */

int natgw_rt_addr_parse(const struct nlmsghdr *nlh, int *ret_ifindex, struct natgw_rt_addr *ret) {
        const uint8_t *p = natgw_nlmsg_attrs(nlh, sizeof(struct ifaddrmsg)), *end = natgw_nlmsg_end(nlh);
        const struct ifaddrmsg *ifa = NLMSG_DATA(nlh);
        struct natgw_rt_addr x = {};
        const struct nlattr *a;
        bool have_local = false, have_addr = false, ok;
        struct natgw_addr local = {}, addr = {};

        if (!p || nlh->nlmsg_type != RTM_NEWADDR || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
                return -EPROTO;
        while ((a = natgw_nla_next(&p, end)))
                if (natgw_nla_type(a) == IFA_LOCAL) {
                        addr_from_attr(a, ifa->ifa_family, &local, &ok);
                        have_local = have_local || ok;
                } else if (natgw_nla_type(a) == IFA_ADDRESS) {
                        addr_from_attr(a, ifa->ifa_family, &addr, &ok);
                        have_addr = have_addr || ok;
                }
        /* IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer's on a point-to-point
         * link); IPv6 sends only IFA_ADDRESS. */
        if (!have_local && !have_addr)
                return -EPROTO;
        x.prefix.addr = have_local ? local : addr;
        x.prefix.len = ifa->ifa_prefixlen;
        x.scope = ifa->ifa_scope;
        *ret_ifindex = (int)ifa->ifa_index;
        *ret = x;
        return 0;
}

struct addrs {
        int ifindex;
        struct natgw_rt_addr *v;
        size_t max, n;
};

static int on_addr(const struct nlmsghdr *nlh, void *userdata) {
        struct addrs *d = userdata;
        struct natgw_rt_addr a;
        int ifindex;

        if (natgw_rt_addr_parse(nlh, &ifindex, &a) == 0 && ifindex == d->ifindex && d->n < d->max)
                d->v[d->n++] = a;
        return 0;
}

int natgw_rt_addrs(int ifindex, uint64_t deadline, struct natgw_rt_addr *ret, size_t max, size_t *ret_n) {
        _Alignas(struct nlmsghdr) char req[REQ_SIZE] = {};
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
        struct addrs d = { .ifindex = ifindex, .v = ret, .max = max };
        struct ifaddrmsg *ifa;
        int r;

        nlh->nlmsg_type = RTM_GETADDR;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
        ifa->ifa_family = AF_UNSPEC;
        r = rt_request(nlh, deadline, on_addr, &d);
        if (r < 0)
                return r;
        *ret_n = d.n;
        return 0;
}

/* ---------------------------------------------------------------- routes */

int natgw_rt_route_parse(const struct nlmsghdr *nlh, struct natgw_rt_route *ret) {
        const uint8_t *p = natgw_nlmsg_attrs(nlh, sizeof(struct rtmsg)), *end = natgw_nlmsg_end(nlh);
        const struct rtmsg *rtm = NLMSG_DATA(nlh);
        struct natgw_rt_route rt = {};
        const struct nlattr *a;
        bool ok;

        if (!p || nlh->nlmsg_type != RTM_NEWROUTE)
                return -EPROTO;
        rt.type = rtm->rtm_type;
        while ((a = natgw_nla_next(&p, end)))
                switch (natgw_nla_type(a)) {
                case RTA_OIF:
                        if (natgw_nla_len(a) == sizeof(uint32_t))
                                memcpy(&rt.oif, natgw_nla_data(a), sizeof(uint32_t));
                        break;
                case RTA_GATEWAY:
                        addr_from_attr(a, rtm->rtm_family, &rt.gateway, &ok);
                        rt.has_gateway = ok;
                        break;
                case RTA_PREFSRC:
                        addr_from_attr(a, rtm->rtm_family, &rt.prefsrc, &ok);
                        rt.has_prefsrc = ok;
                        break;
                default:
                        break;
                }
        *ret = rt;
        return 0;
}

static int on_route(const struct nlmsghdr *nlh, void *userdata) {
        struct natgw_rt_route *rt = userdata;

        return natgw_rt_route_parse(nlh, rt) == 0 ? 1 : 0;
}

int natgw_rt_route_get(const struct natgw_addr *dst, const struct natgw_addr *src, int iif, uint64_t deadline,
                       struct natgw_rt_route *ret) {
        _Alignas(struct nlmsghdr) char req[REQ_SIZE] = {};
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
        struct natgw_rt_route rt = { .type = RTN_UNSPEC };
        struct rtmsg *rtm;
        int r;

        nlh->nlmsg_type = RTM_GETROUTE;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = (uint8_t)dst->family;
        rtm->rtm_dst_len = dst->family == AF_INET6 ? 128 : 32;
        put_addr(nlh, RTA_DST, dst);
        if (src && src->family == dst->family) {
                rtm->rtm_src_len = rtm->rtm_dst_len;
                put_addr(nlh, RTA_SRC, src);
        }
        if (iif > 0)
                mnl_attr_put_u32(nlh, RTA_IIF, (uint32_t)iif);
        r = rt_request(nlh, deadline, on_route, &rt);
        if (r < 0)
                return r;
        if (rt.type == RTN_UNSPEC)
                return -EPROTO;
        *ret = rt;
        return 0;
}

/* ---------------------------------------------------------------- neighbours */

struct neigh {
        int ifindex;
        struct natgw_addr addr;
        bool found;
        uint16_t state;
};

static int on_neigh(const struct nlmsghdr *nlh, void *userdata) {
        const uint8_t *p = natgw_nlmsg_attrs(nlh, sizeof(struct ndmsg)), *end = natgw_nlmsg_end(nlh);
        const struct ndmsg *ndm = NLMSG_DATA(nlh);
        struct neigh *d = userdata;
        const struct nlattr *a;
        struct natgw_addr dst;
        bool ok;

        if (!p || nlh->nlmsg_type != RTM_NEWNEIGH || ndm->ndm_ifindex != d->ifindex ||
            ndm->ndm_family != d->addr.family)
                return 0;
        while ((a = natgw_nla_next(&p, end)))
                if (natgw_nla_type(a) == NDA_DST) {
                        addr_from_attr(a, ndm->ndm_family, &dst, &ok);
                        if (ok && natgw_addr_cmp(&dst, &d->addr) == 0) {
                                d->found = true;
                                d->state = ndm->ndm_state;
                                return 1;
                        }
                }
        return 0;
}

int natgw_rt_neigh_get(int ifindex, const struct natgw_addr *addr, uint64_t deadline, uint16_t *ret_state) {
        _Alignas(struct nlmsghdr) char req[REQ_SIZE] = {};
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
        struct neigh d = { .ifindex = ifindex, .addr = *addr };
        struct ndmsg *ndm;
        int r;

        /* A dump rather than a get: the neighbour table of one host is small, and the dump
         * needs no exact request layout that older kernels check strictly. */
        nlh->nlmsg_type = RTM_GETNEIGH;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
        ndm->ndm_family = (uint8_t)addr->family;
        r = rt_request(nlh, deadline, on_neigh, &d);
        if (r < 0)
                return r;
        if (!d.found)
                return -ENOENT;
        *ret_state = d.state;
        return 0;
}

const char *natgw_rt_nud_name(uint16_t state) {
        static const struct {
                uint16_t nud;
                const char *name;
        } names[] = {
                { NUD_INCOMPLETE, "incomplete" }, { NUD_REACHABLE, "reachable" }, { NUD_STALE, "stale" },
                { NUD_DELAY, "delay" },           { NUD_PROBE, "probe" },         { NUD_FAILED, "failed" },
                { NUD_NOARP, "noarp" },           { NUD_PERMANENT, "permanent" },
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (state & names[i].nud)
                        return names[i].name;
        return "none";
}

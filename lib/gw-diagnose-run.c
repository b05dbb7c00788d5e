/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/neighbour.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ct-dump.h"
#include "gw-diagnose.h"
#include "nft-others.h"
#include "rt-query.h"
#include "time-util.h"
#include "util-sysctl.h"

#include <linux/netfilter.h>

/* Each netlink read of a probe ends by then: the whole walk stays in seconds. */
#define PROBE_USEC (3 * 1000000ull)

static uint64_t probe_deadline(void) {
        return natgw_mono_usec() + PROBE_USEC;
}

static const char *fmt_addr(const struct natgw_addr *a, char *buf) {
        return natgw_addr_format(a, buf, INET6_ADDRSTRLEN);
}

/* ---------------------------------------------------------------- 1: config and kernel */

static void layer_config(const struct natgw_diag_input *in, struct natgw_diag_report *r) {
        struct natgw_diag_layer *l = natgw_diag_layer_add(r, "config");

        natgw_diag_evidence(l, "entry %s (line %u of %s) is in force, generation %lld", in->forward->name,
                            in->forward->line, in->config_path, in->generation);
        if (in->in_kernel) {
                natgw_diag_evidence(l, "its counter is in table inet natgw: %lld connections, %lld bytes",
                                    in->connections, in->bytes);
                natgw_diag_check_elements(in, l);
        } else {
                natgw_diag_evidence(l, "table inet natgw has no counter for %s", in->forward->name);
                natgw_diag_fail(l, NATGW_CAUSE_NOT_APPLIED,
                                "the kernel lacks the entry: run `natgwctl reload` and read its errors");
        }
        if (in->last_reload) {
                natgw_diag_evidence(l, "last reload %s: %s", in->last_reload_time ?: "", in->last_reload);
                if (streq(in->last_reload, "rejected"))
                        natgw_diag_mark(l, NATGW_DIAG_WARN,
                                        "the file on disk is not in force: `natgwctl check`, fix it, `natgwctl reload`");
        }
}

/* ---------------------------------------------------------------- 2: the gateway */

static void check_forwarding(const struct natgw_forward *f, struct natgw_diag_layer *l) {
        bool v6 = f->to.family == AF_INET6;
        const char *key = v6 ? "net/ipv6/conf/all/forwarding" : "net/ipv4/ip_forward";
        int64_t v = 0;

        if (natgw_sysctl_read_int(key, &v) < 0) {
                natgw_diag_evidence(l, "%s cannot be read", key);
                natgw_diag_mark(l, NATGW_DIAG_UNKNOWN, NULL);
                return;
        }
        natgw_diag_evidence(l, "%s = %lld", key, (long long)v);
        if (v == 0)
                natgw_diag_fail(l, NATGW_CAUSE_FORWARDING_DISABLED,
                                "switch forwarding on: kernel = { %s = true; } in natgwd.conf and `natgwctl reload` "
                                "(or sysctl -w %s=1)",
                                v6 ? "ipv6_forward" : "ip_forward", v6 ? "net.ipv6.conf.all.forwarding" : "net.ipv4.ip_forward");
}

/* The addresses clients can use: the forward's destination, or the interface's own. */
static void check_addresses(const struct natgw_diag_input *in, int ifindex, struct natgw_diag_layer *l) {
        const struct natgw_forward *f = in->forward;
        struct natgw_rt_addr addrs[NATGW_RT_ADDRS_MAX];
        size_t n = 0, used = 0, public = 0, off = 0;
        char list[NATGW_DIAG_TEXT_MAX] = "", a[INET6_ADDRSTRLEN];
        enum natgw_addr_class worst = NATGW_ADDR_PUBLIC;

        if (natgw_rt_addrs(ifindex, probe_deadline(), addrs, ELEMENTSOF(addrs), &n) < 0) {
                natgw_diag_evidence(l, "the addresses of %s cannot be read", f->in_interface);
                natgw_diag_mark(l, NATGW_DIAG_UNKNOWN, NULL);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                const struct natgw_addr *x = &addrs[i].prefix.addr;
                enum natgw_addr_class c = natgw_addr_classify(x);

                if (x->family != f->to.family || (f->has_destination && natgw_addr_cmp(x, &f->destination) != 0))
                        continue;
                used++;
                if (c == NATGW_ADDR_PUBLIC)
                        public++;
                else if (worst == NATGW_ADDR_PUBLIC || c != NATGW_ADDR_LINK_LOCAL)
                        worst = c;
                if (off < sizeof(list))
                        off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s/%u %s", used > 1 ? ", " : "",
                                                fmt_addr(x, a), addrs[i].prefix.len, natgw_addr_class_name(c));
        }
        if (used == 0) {
                natgw_diag_evidence(l, "%s has no %s address%s%s", f->in_interface, natgw_family_name(f->to.family),
                                    f->has_destination ? " " : "",
                                    f->has_destination ? fmt_addr(&f->destination, a) : "");
                natgw_diag_fail(l, NATGW_CAUSE_NO_PUBLIC_ADDRESS, "give %s the address clients connect to",
                                f->in_interface);
                return;
        }
        natgw_diag_evidence(l, "addresses: %s", list);
        if (public > 0)
                return;
        /* A client on the same private network reaches it; the internet does not. */
        if (in->has_from && natgw_addr_classify(&in->from) != NATGW_ADDR_PUBLIC) {
                natgw_diag_mark(l, NATGW_DIAG_WARN, "only clients of private networks can reach %s",
                                f->in_interface);
                return;
        }
        natgw_diag_fail(l, NATGW_CAUSE_NO_PUBLIC_ADDRESS,
                        worst == NATGW_ADDR_CGNAT
                                ? "%s is behind carrier-grade NAT: ask the carrier for a public address (or a "
                                  "port forward on its NAT), or reach it over IPv6 or a tunnel"
                                : "%s has no public address: forward the port on the router in front of it, or give "
                                  "it a public address",
                        f->in_interface);
}

/* Strict reverse-path filtering drops a client whose replies would leave by another link. */
static void check_rp_filter(const struct natgw_diag_input *in, int ifindex, struct natgw_diag_layer *l) {
        const struct natgw_forward *f = in->forward;
        char key[96], name[IFNAMSIZ], a[INET6_ADDRSTRLEN];
        int64_t all = 0, dev = 0;
        struct natgw_rt_route rt;

        if (f->to.family != AF_INET)
                return;
        snprintf(key, sizeof(key), "net/ipv4/conf/%s/rp_filter", f->in_interface);
        if (natgw_sysctl_read_int("net/ipv4/conf/all/rp_filter", &all) < 0 || natgw_sysctl_read_int(key, &dev) < 0)
                return;
        natgw_diag_evidence(l, "rp_filter %lld (all %lld, %s %lld)", (long long)MAX(all, dev), (long long)all,
                            f->in_interface, (long long)dev);
        if (MAX(all, dev) != 1 || !in->has_from || in->from.family != AF_INET)
                return;
        if (natgw_rt_route_get(&in->from, NULL, 0, probe_deadline(), &rt) == 0 && rt.oif != ifindex) {
                natgw_diag_evidence(l, "replies to %s leave by %s, not %s: strict rp_filter drops its packets",
                                    fmt_addr(&in->from, a), natgw_rt_link_name(rt.oif, name), f->in_interface);
                natgw_diag_mark(l, NATGW_DIAG_WARN, "route %s via %s, or set rp_filter to 2 (loose) on %s",
                                a, f->in_interface, f->in_interface);
        }
}

static void layer_gateway(const struct natgw_diag_input *in, struct natgw_diag_report *r, int *ret_ifindex) {
        const struct natgw_forward *f = in->forward;
        struct natgw_diag_layer *l = natgw_diag_layer_add(r, "gateway");
        struct natgw_rt_link link;
        int k;

        *ret_ifindex = 0;
        check_forwarding(f, l);
        if (!f->in_interface[0]) {
                natgw_diag_evidence(l, "no in_interface: the forward takes connections on every interface");
                return;
        }
        k = natgw_rt_link_get(f->in_interface, probe_deadline(), &link);
        if (k == -ENODEV) {
                natgw_diag_evidence(l, "no interface %s", f->in_interface);
                natgw_diag_fail(l, NATGW_CAUSE_INTERFACE_MISSING,
                                "create %s or name the right interface in entry %s (`ip link`)", f->in_interface,
                                f->name);
                return;
        }
        if (k < 0) {
                natgw_diag_evidence(l, "interface %s cannot be read: %s", f->in_interface, strerror(-k));
                natgw_diag_mark(l, NATGW_DIAG_UNKNOWN, NULL);
                return;
        }
        *ret_ifindex = link.ifindex;
        natgw_diag_evidence(l, "%s: %s, %s", f->in_interface, link.up ? "up" : "down",
                            link.carrier ? "carrier" : "no carrier");
        if (!link.up || !link.carrier)
                natgw_diag_fail(l, NATGW_CAUSE_INTERFACE_DOWN,
                                link.up ? "%s has no carrier: check the cable or the link's other end"
                                                    : "bring %s up: ip link set %s up",
                                f->in_interface, f->in_interface);
        check_addresses(in, link.ifindex, l);
        check_rp_filter(in, link.ifindex, l);
}

/* ---------------------------------------------------------------- the client (--from) */

static void layer_client(const struct natgw_diag_input *in, int in_ifindex, struct natgw_diag_report *r) {
        const struct natgw_forward *f = in->forward;
        struct natgw_diag_layer *l = natgw_diag_layer_add(r, "client");
        char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], name[IFNAMSIZ];
        struct natgw_rt_route rt, target;

        if (!in->has_from) {
                natgw_diag_evidence(l, "no --from: allow_from %s", f->n_allow_from ? "not checked" : "is not set");
                natgw_diag_mark(l, f->n_allow_from ? NATGW_DIAG_UNKNOWN : NATGW_DIAG_OK, NULL);
                return;
        }
        fmt_addr(&in->from, a);
        if (in->from.family != f->to.family) {
                natgw_diag_evidence(l, "%s is %s, the forward is %s", a, natgw_family_name(in->from.family),
                                    natgw_family_name(f->to.family));
                natgw_diag_fail(l, NATGW_CAUSE_SOURCE_NOT_ALLOWED, "connect over %s, or add a forward for %s",
                                natgw_family_name(f->to.family), natgw_family_name(in->from.family));
                return;
        }
        if (!natgw_diag_allowed(f, &in->from)) {
                natgw_diag_evidence(l, "%s is in none of allow_from's %zu prefixes", a, f->n_allow_from);
                natgw_diag_fail(l, NATGW_CAUSE_SOURCE_NOT_ALLOWED, "add %s (or its network) to allow_from of %s", a,
                                f->name);
                return;
        }
        natgw_diag_evidence(l, "%s is allowed%s", a, f->n_allow_from ? " by allow_from" : " (no allow_from)");
        if (natgw_rt_route_get(&in->from, NULL, 0, probe_deadline(), &rt) < 0 || rt.type != RTN_UNICAST)
                return;
        /* A forward with in_interface takes a client behind another interface only by
         * reflection, which also source-NATs it to the gateway. */
        if (in_ifindex > 0 && rt.oif != in_ifindex) {
                natgw_diag_evidence(l, "%s is inside (reached by %s, not %s): its connections to the outside "
                                    "address are %s", a, natgw_rt_link_name(rt.oif, name), f->in_interface,
                                    f->reflection ? "reflected: translated to the target and source-NATed to the "
                                                    "gateway, so the replies come back through it"
                                                  : "not translated: reflection = false");
                if (!f->reflection)
                        natgw_diag_fail(l, NATGW_CAUSE_REFLECTION_DISABLED,
                                        "set reflection = true on %s, or from the inside connect to %s directly",
                                        f->name, fmt_addr(&f->to, a));
                return;
        }
        /* Without in_interface the client is translated, but a target on the client's own link
         * would answer it directly, from its own address, and the client drop that answer:
         * reflection source-NATs such a connection so the reply comes back through the gateway. */
        if (!f->in_interface[0] && natgw_rt_route_get(&f->to, NULL, 0, probe_deadline(), &target) == 0 &&
            target.oif == rt.oif) {
                natgw_diag_evidence(l, "%s and the target %s are both on %s: %s", a, fmt_addr(&f->to, b),
                                    natgw_rt_link_name(rt.oif, name),
                                    f->reflection ? "reflection source-NATs the connection to the gateway, so the "
                                                    "target answers the gateway"
                                                  : "the target answers the client directly and the client drops "
                                                    "it (reflection = false)");
                if (!f->reflection)
                        natgw_diag_fail(l, NATGW_CAUSE_REFLECTION_DISABLED,
                                        "set reflection = true on %s, or from the inside connect to %s directly",
                                        f->name, b);
        }
}

/* ---------------------------------------------------------------- 3: other firewalls */

static const char *hook_name(uint32_t hook) {
        return hook == NF_INET_PRE_ROUTING ? "prerouting" : hook == NF_INET_FORWARD ? "forward" : "postrouting";
}

/* Without --watch: what other tables' base chains could drop, read from their rules. A hint
 * only: whether a rule takes this forward's packets is the trace's to say. */
static void firewalls_static(struct natgw_diag_layer *l) {
        struct natgw_nft_others o;
        int k;

        k = natgw_nft_others_read(probe_deadline(), &o);
        if (k < 0) {
                natgw_diag_evidence(l, "the other tables cannot be read: %s", strerror(-k));
                natgw_diag_mark(l, NATGW_DIAG_UNKNOWN, NULL);
                return;
        }
        natgw_diag_evidence(l, "%zu base chain(s) of other tables on prerouting, forward, postrouting", o.n_chains);
        for (size_t i = 0; i < MIN(o.n_drops, (size_t)NATGW_DIAG_EVIDENCE_MAX - 2); i++) {
                const struct natgw_nft_drop *x = &o.drops[i];

                if (x->policy)
                        natgw_diag_evidence(l, "table %s %s chain %s (%s): policy drop", natgw_nft_family_name(x->family),
                                            x->table, x->chain, hook_name(x->hook));
                else
                        natgw_diag_evidence(l, "table %s %s chain %s (%s): rule handle %" PRIu64 " drops or rejects",
                                            natgw_nft_family_name(x->family), x->table, x->chain, hook_name(x->hook),
                                            x->handle);
        }
        if (o.n_drops > 0) {
                natgw_diag_mark(l, NATGW_DIAG_WARN,
                                "%zu place(s) in other tables drop some traffic: run again with --watch SEC while a "
                                "client tries, to see whether they drop this forward's",
                                o.n_drops);
                return;
        }
        if (o.n_jumps > 0) {
                natgw_diag_evidence(l, "%zu rule(s) jump to other chains, not followed here", o.n_jumps);
                natgw_diag_mark(l, NATGW_DIAG_UNKNOWN, "--watch SEC follows the packets themselves");
        }
}

static void layer_firewalls(const struct natgw_diag_input *in, struct natgw_diag_report *r) {
        const struct natgw_diag_watch *w = in->watch;
        struct natgw_diag_layer *l = natgw_diag_layer_add(r, "firewalls");
        const char *family;
        char where[256];

        if (!w) {
                firewalls_static(l);
                return;
        }
        if (w->packets == 0) {
                natgw_diag_evidence(l, "no packet of the forward arrived to be traced");
                natgw_diag_mark(l, NATGW_DIAG_UNKNOWN, NULL);
                return;
        }
        if (w->dropped == 0) {
                natgw_diag_evidence(l, "nftables trace: no table dropped any of %u packets", w->packets);
                return;
        }
        family = natgw_nft_family_name(w->drop_family);
        if (w->drop_policy)
                snprintf(where, sizeof(where), "table %s %s chain %s (its policy drop)", family, w->drop_table,
                         w->drop_chain);
        else
                snprintf(where, sizeof(where), "table %s %s chain %s rule handle %" PRIu64, family, w->drop_table,
                         w->drop_chain, w->drop_handle);
        natgw_diag_evidence(l, "nftables trace: %s dropped %u of %u packets", where, w->dropped, w->packets);
        natgw_diag_fail(l, NATGW_CAUSE_BLOCKED_BY_TABLE,
                        "let the forward's traffic through %s (`nft -a list chain %s %s %s`)", where, family,
                        w->drop_table, w->drop_chain);
}

/* ---------------------------------------------------------------- 6: --watch */

static void layer_watch(const struct natgw_diag_input *in, struct natgw_diag_report *r) {
        const struct natgw_diag_watch *w = in->watch;
        const struct natgw_forward *f = in->forward;
        struct natgw_diag_layer *l;
        char a[INET6_ADDRSTRLEN], ports[NATGW_PORTS_STRLEN];

        if (!w)
                return;
        l = natgw_diag_layer_add(r, "watch");
        natgw_diag_evidence(l, "watched %.1f s%s", w->seconds, w->interrupted ? " (interrupted)" : "");
        if (w->error)
                natgw_diag_evidence(l, "the trace lost events: %s", strerror(-w->error));
        natgw_ports_format(&f->ports[0], ports, sizeof(ports));
        if (w->packets == 0) {
                natgw_diag_evidence(l, "no packet to port %s%s%s%s arrived%s%s", ports, f->in_interface[0] ? " on " : "",
                                    f->in_interface, "", in->has_from ? " from " : "",
                                    in->has_from ? fmt_addr(&in->from, a) : "");
                natgw_diag_fail(l, NATGW_CAUSE_NO_TRAFFIC_ARRIVES,
                                "the attempts stop before the gateway: check the cloud security group or the "
                                "provider's firewall, the carrier (CGNAT), and the address and port clients use");
                return;
        }
        natgw_diag_evidence(l, "%u packet(s) arrived%s%s, %u dropped by other tables", w->packets,
                            w->has_src ? ", the first from " : "", w->has_src ? fmt_addr(&w->src, a) : "", w->dropped);
        if (w->dropped > 0)
                natgw_diag_mark(l, NATGW_DIAG_WARN, NULL);
}

/* ---------------------------------------------------------------- 4: the target */

/* A TCP connect to @to:@port bounded by @timeout seconds: 0 accepted, -ECONNREFUSED, -ETIMEDOUT,
 * -EHOSTUNREACH, ... */
static int tcp_probe(const struct natgw_addr *to, uint16_t port, double timeout) {
        struct sockaddr_storage ss = {};
        socklen_t len;
        int fd, r, err = 0;
        socklen_t elen = sizeof(err);
        struct pollfd pfd;

        if (to->family == AF_INET6) {
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

                *s6 = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_port = htobe16(port), .sin6_addr = to->v6 };
                len = sizeof(*s6);
        } else {
                struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

                *s4 = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htobe16(port), .sin_addr = to->v4 };
                len = sizeof(*s4);
        }
        fd = socket(to->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&ss, len) == 0)
                r = 0;
        else if (errno != EINPROGRESS)
                r = -errno;
        else {
                pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
                r = poll(&pfd, 1, (int)(timeout * 1000));
                if (r == 0)
                        r = -ETIMEDOUT;
                else if (r < 0)
                        r = -errno;
                else
                        r = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 ? -errno : -err;
        }
        close(fd);
        return r;
}

static bool nud_unreachable(int k, uint16_t state) {
        return k == 0 && (state & (NUD_FAILED | NUD_INCOMPLETE));
}

static void layer_target(const struct natgw_diag_input *in, struct natgw_diag_report *r) {
        const struct natgw_forward *f = in->forward;
        struct natgw_diag_layer *l = natgw_diag_layer_add(r, "target");
        char a[INET6_ADDRSTRLEN], hop[INET6_ADDRSTRLEN], name[IFNAMSIZ];
        uint16_t port = natgw_diag_target_port(f), state = 0;
        const struct natgw_addr *next;
        struct natgw_rt_route rt;
        int k, c = 1;

        fmt_addr(&f->to, a);
        k = natgw_rt_route_get(&f->to, NULL, 0, probe_deadline(), &rt);
        if (k < 0) {
                natgw_diag_evidence(l, "no route to %s: %s", a, strerror(-k));
                natgw_diag_fail(l, NATGW_CAUSE_TARGET_UNREACHABLE, "add a route to %s, or correct to = in %s", a,
                                f->name);
                return;
        }
        next = rt.has_gateway ? &rt.gateway : &f->to;
        fmt_addr(next, hop);
        natgw_diag_evidence(l, "route to %s: %s%s%s", a, rt.has_gateway ? "via " : "on link ",
                            rt.has_gateway ? hop : "", rt.has_gateway ? "" : natgw_rt_link_name(rt.oif, name));
        if (f->protos & NATGW_PROTO_TCP) {
                c = tcp_probe(&f->to, port, in->connect_timeout);
                natgw_diag_evidence(l, "TCP connect from the gateway to %s port %u: %s", a, port,
                                    c == 0              ? "accepted"
                                    : c == -ECONNREFUSED ? "refused"
                                    : c == -ETIMEDOUT    ? "no answer"
                                                         : strerror(-c));
        } else
                natgw_diag_evidence(l, "UDP: no connect probe (a UDP service need not answer)");
        /* The neighbour after the probe, which made the kernel resolve it. */
        k = rt.type == RTN_LOCAL ? -ENOENT : natgw_rt_neigh_get(rt.oif, next, probe_deadline(), &state);
        if (k == 0)
                natgw_diag_evidence(l, "neighbour %s on %s: %s", hop, natgw_rt_link_name(rt.oif, name),
                                    natgw_rt_nud_name(state));
        if (c == 0)
                return;
        if (c == -ECONNREFUSED) {
                natgw_diag_fail(l, NATGW_CAUSE_TARGET_NOT_LISTENING,
                                "nothing listens on %s port %u: start the service, bound to %s or 0.0.0.0 / [::] "
                                "(not 127.0.0.1)",
                                a, port, a);
                return;
        }
        if (c == -EHOSTUNREACH || c == -ENETUNREACH || nud_unreachable(k, state)) {
                natgw_diag_fail(l, NATGW_CAUSE_TARGET_UNREACHABLE,
                                "%s does not answer ARP/ND: is the host up, and is %s still its address (DHCP)?", hop, a);
                return;
        }
        if (c == -ETIMEDOUT) {
                natgw_diag_fail(l, NATGW_CAUSE_TARGET_FILTERED,
                                "%s drops connections to port %u: open the port in its firewall (from the "
                                "gateway's and the clients' addresses)",
                                a, port);
                return;
        }
        /* An error of the probe itself, or a UDP forward: whether a service listens is not known. */
        natgw_diag_mark(l, NATGW_DIAG_UNKNOWN, NULL);
}

/* ---------------------------------------------------------------- 5: the return path */

struct ct_count {
        const struct natgw_diag_input *in;
        unsigned replied, unreplied;
};

static int on_ct(const struct natgw_ct_record *rec, void *userdata) {
        struct ct_count *d = userdata;
        const struct natgw_forward *f = d->in->forward;
        const struct natgw_ct_entry *e = &rec->entry;
        unsigned proto = e->l4proto == IPPROTO_TCP ? NATGW_PROTO_TCP : e->l4proto == IPPROTO_UDP ? NATGW_PROTO_UDP : 0;

        /* The forward's connections: translated to the target and its port. */
        if (!rec->has_reply || !e->dst_nat || !(f->protos & proto) || natgw_addr_cmp(&e->reply_src, &f->to) != 0 ||
            !natgw_diag_target_port_matches(f, e->reply_sport) || !natgw_diag_port_listed(f, e->orig_dport))
                return 0;
        if (d->in->has_from && natgw_addr_cmp(&e->orig_src, &d->in->from) != 0)
                return 0;
        if (rec->status & IPS_SEEN_REPLY)
                d->replied++;
        else
                d->unreplied++;
        return 0;
}

static void layer_return(const struct natgw_diag_input *in, struct natgw_diag_report *r) {
        struct natgw_diag_layer *l = natgw_diag_layer_add(r, "return-path");
        struct ct_count d = { .in = in };
        bool earlier_doubt = false;
        char a[INET6_ADDRSTRLEN];
        int k;

        k = natgw_ct_dump_records(probe_deadline(), on_ct, &d);
        if (k < 0) {
                natgw_diag_evidence(l, "conntrack cannot be read: %s", strerror(-k));
                natgw_diag_mark(l, NATGW_DIAG_UNKNOWN, NULL);
                return;
        }
        if (d.replied + d.unreplied == 0) {
                natgw_diag_evidence(l, "no connection of this forward in conntrack%s%s",
                                    in->has_from ? " from " : "", in->has_from ? fmt_addr(&in->from, a) : "");
                natgw_diag_mark(l, NATGW_DIAG_UNKNOWN, "to see attempts arrive, run again with --watch SEC");
                return;
        }
        natgw_diag_evidence(l, "conntrack: %u translated connection(s) answered, %u [UNREPLIED]", d.replied,
                            d.unreplied);
        if (d.replied > 0)
                return;
        /* Unanswered is the return path only when the target answers the gateway itself and no
         * firewall is in doubt. */
        for (size_t i = 0; i + 1 < r->n_layers; i++) {
                enum natgw_diag_status st = r->layers[i].status;

                if (streq(r->layers[i].name, "target"))
                        earlier_doubt |= st != NATGW_DIAG_OK;
                else if (streq(r->layers[i].name, "firewalls"))
                        earlier_doubt |= st == NATGW_DIAG_FAIL || st == NATGW_DIAG_WARN;
        }
        if (earlier_doubt) {
                natgw_diag_mark(l, NATGW_DIAG_WARN, NULL);
                return;
        }
        natgw_diag_fail(l, NATGW_CAUSE_REPLY_BYPASSES_GATEWAY,
                        "%s answers the gateway but not the clients: its replies to them take another route; make "
                        "this gateway its default route (or route the clients' networks via it)",
                        fmt_addr(&in->forward->to, a));
}

void natgw_diag_run(const struct natgw_diag_input *in, struct natgw_diag_report *ret) {
        int ifindex = 0;

        *ret = (struct natgw_diag_report){};
        snprintf(ret->subject, sizeof(ret->subject), "forward %s", in->forward->name);
        layer_config(in, ret);
        layer_gateway(in, ret, &ifindex);
        layer_client(in, ifindex, ret);
        layer_firewalls(in, ret);
        layer_target(in, ret);
        layer_return(in, ret);
        layer_watch(in, ret);
}

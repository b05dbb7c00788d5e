/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <netinet/in.h>

#include "gw-diagnose.h"
#include "rt-query.h"
#include "time-util.h"
#include "util-sysctl.h"

#define PROBE_USEC (3 * 1000000ull)

struct egress_path {
        int route_error;              /* 0, or why there is no route to the destination */
        struct natgw_rt_route route;  /* as a packet from the source, arriving inside, takes it */
        char oif[IFNAMSIZ];
        bool forwarding;
};

static const char *proto_name(uint8_t p) {
        return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : "icmp";
}

/* The route of a packet from @in->from to @in->to that arrives from the inside: the interface
 * the source is reached by is the one its packets come in on. */
static void find_path(const struct natgw_diag_egress_input *in, struct egress_path *p) {
        struct natgw_rt_route back;
        int64_t fwd = 0;
        int iif = 0;

        p->forwarding = natgw_sysctl_read_int(in->to.family == AF_INET6 ? "net/ipv6/conf/all/forwarding"
                                                                       : "net/ipv4/ip_forward",
                                              &fwd) >= 0 &&
                        fwd != 0;
        if (natgw_rt_route_get(&in->from, NULL, 0, natgw_mono_usec() + PROBE_USEC, &back) == 0 && back.oif > 0)
                iif = back.oif;
        /* An input lookup needs forwarding on; without it, the gateway's own view of the route. */
        p->route_error = -ENOENT;
        if (iif > 0 && p->forwarding)
                p->route_error = natgw_rt_route_get(&in->to, &in->from, iif, natgw_mono_usec() + PROBE_USEC, &p->route);
        if (p->route_error < 0)
                p->route_error = natgw_rt_route_get(&in->to, NULL, 0, natgw_mono_usec() + PROBE_USEC, &p->route);
        if (p->route_error == 0)
                natgw_rt_link_name(p->route.oif, p->oif);
}

static void layer_entry(const struct natgw_diag_egress_input *in, const struct egress_path *p,
                        struct natgw_diag_report *r, const json_t **ret_entry) {
        struct natgw_diag_layer *l = natgw_diag_layer_add(r, "config");
        char a[INET6_ADDRSTRLEN];
        unsigned len = 0;
        int i = -1, other;
        const json_t *e;

        *ret_entry = NULL;
        natgw_addr_format(&in->from, a, sizeof(a));
        /* A netmap takes its inside hosts before any masquerade or snat. */
        if (p->route_error == 0 && (i = natgw_diag_netmap_match(in->entries, &in->from, p->oif, false, NULL)) >= 0) {
                e = json_array_get(in->entries, (size_t)i);
                *ret_entry = e;
                natgw_diag_evidence(l, "netmap entry %s (line %lld) takes %s out %s: its inside prefix %s, before any "
                                    "masquerade or snat", json_string_value(json_object_get(e, "name")),
                                    (long long)json_integer_value(json_object_get(e, "line")), a, p->oif,
                                    json_string_value(json_object_get(e, "inside")));
                return;
        }
        if (p->route_error == 0)
                i = natgw_diag_egress_match(in->entries, &in->from, p->oif, &len);
        else {
                /* Without a route the interface is open: the entry that would take it on its own. */
                i = natgw_diag_egress_match(in->entries, &in->from, NULL, &len);
                if (i >= 0) {
                        e = json_array_get(in->entries, (size_t)i);
                        *ret_entry = e;
                        natgw_diag_evidence(l, "entry %s would take %s out %s, but there is no route",
                                            json_string_value(json_object_get(e, "name")), a,
                                            json_string_value(json_object_get(e, "out_interface")));
                        natgw_diag_mark(l, NATGW_DIAG_UNKNOWN, NULL);
                        return;
                }
        }
        if (i < 0) {
                other = natgw_diag_egress_match(in->entries, &in->from, NULL, &len);
                if (other >= 0)
                        natgw_diag_evidence(l, "entry %s takes %s out %s, but its traffic to this destination leaves by %s",
                                            json_string_value(json_object_get(json_array_get(in->entries, (size_t)other), "name")),
                                            a, json_string_value(json_object_get(json_array_get(in->entries, (size_t)other),
                                                                                 "out_interface")),
                                            p->route_error == 0 ? p->oif : "no route");
                else
                        natgw_diag_evidence(l, "no masquerade or snat entry has a source prefix holding %s", a);
                natgw_diag_fail(l, NATGW_CAUSE_NOT_APPLIED,
                                "%s's traffic leaves %s untranslated: add a masquerade or snat entry for its network "
                                "out %s",
                                a, p->route_error == 0 ? p->oif : "the gateway", p->route_error == 0 ? p->oif : "that interface");
                return;
        }
        e = json_array_get(in->entries, (size_t)i);
        *ret_entry = e;
        natgw_diag_evidence(l, "entry %s (%s, line %lld) takes %s: its most specific source prefix, /%u out %s",
                            json_string_value(json_object_get(e, "name")), json_string_value(json_object_get(e, "kind")),
                            (long long)json_integer_value(json_object_get(e, "line")), a, len, p->oif);
        if (json_is_integer(json_object_get(e, "connections")))
                natgw_diag_evidence(l, "its counter is in table inet natgw: %lld connections",
                                    (long long)json_integer_value(json_object_get(e, "connections")));
        else {
                natgw_diag_evidence(l, "table inet natgw has no counter for it");
                natgw_diag_fail(l, NATGW_CAUSE_NOT_APPLIED, "the kernel lacks the entry: run `natgwctl reload` and read its errors");
        }
}

/* The entry of @name in @c, or NULL. */
static const struct natgw_egress *config_egress(const struct natgw_config *c, const char *name) {
        for (size_t i = 0; c && name && i < c->n_egress; i++)
                if (streq(c->egress[i].name, name))
                        return &c->egress[i];
        return NULL;
}

/* The entry's allow list decides, as the kernel does for a new connection
 * (natgw_egress_allows()); an entry without one lets everything through. A denied
 * destination is source-not-allowed: the contract's causes have none closer. */
static void layer_policy(const struct natgw_diag_egress_input *in, const json_t *entry, struct natgw_diag_report *r) {
        struct natgw_diag_layer *l = natgw_diag_layer_add(r, "policy");
        const char *name = json_string_value(json_object_get(entry, "name"));
        const struct natgw_egress *eg = config_egress(in->config, name);
        bool ported = in->l4proto == IPPROTO_TCP || in->l4proto == IPPROTO_UDP;
        char a[INET6_ADDRSTRLEN];

        if (!entry) {
                natgw_diag_evidence(l, "no entry, no allow list");
                natgw_diag_mark(l, NATGW_DIAG_UNKNOWN, NULL);
                return;
        }
        if (!eg && json_object_get(entry, "denied")) {
                /* show has a denied counter only for entries with an allow list. */
                natgw_diag_evidence(l, "entry %s has an allow list, but natgwd's config file did not load here",
                                    name);
                natgw_diag_mark(l, NATGW_DIAG_UNKNOWN, "see the entry's allow list in its config file");
                return;
        }
        if (!eg || !eg->has_allow) {
                natgw_diag_evidence(l, "allowed (no allow list): %s", proto_name(in->l4proto));
                return;
        }
        natgw_addr_format(&in->to, a, sizeof(a));
        if (ported && !in->has_port) {
                natgw_diag_evidence(l, "entry %s has an allow list of %zu rule(s); no port given", name, eg->n_allow);
                natgw_diag_mark(l, NATGW_DIAG_UNKNOWN, "give the port: --to %s:PORT", a);
                return;
        }
        if (natgw_egress_allows(eg, in->l4proto, &in->to, ported ? in->port : 0)) {
                natgw_diag_evidence(l, "allowed by entry %s's allow list: %s to %s%s%.0u", name, proto_name(in->l4proto),
                                    a, ported ? " port " : "", ported ? in->port : 0u);
                return;
        }
        natgw_diag_evidence(l, "denied by entry %s's allow list (%zu rule(s), deny \"%s\"): %s to %s%s%.0u", name,
                            eg->n_allow, eg->deny == NATGW_DENY_REJECT ? "reject" : "drop", proto_name(in->l4proto), a,
                            ported ? " port " : "", ported ? in->port : 0u);
        natgw_diag_fail(l, NATGW_CAUSE_SOURCE_NOT_ALLOWED,
                        "add a rule to entry %s's allow list (natgwctl egress learn %s proposes one) and reload", name,
                        name);
}

static void layer_gateway(const struct natgw_diag_egress_input *in, const struct egress_path *p, const json_t *entry,
                          struct natgw_diag_report *r) {
        struct natgw_diag_layer *l = natgw_diag_layer_add(r, "gateway");
        char a[INET6_ADDRSTRLEN], hop[INET6_ADDRSTRLEN], src[INET6_ADDRSTRLEN];
        struct natgw_rt_route own;
        struct natgw_rt_link link;
        struct natgw_addr mapped;

        natgw_diag_evidence(l, "%s forwarding: %s", natgw_family_name(in->to.family), p->forwarding ? "on" : "off");
        if (!p->forwarding)
                natgw_diag_fail(l, NATGW_CAUSE_FORWARDING_DISABLED,
                                "switch forwarding on: kernel = { ip_forward = true; } in natgwd.conf and `natgwctl reload`");
        natgw_addr_format(&in->to, a, sizeof(a));
        if (p->route_error < 0) {
                natgw_diag_evidence(l, "no route to %s: %s", a, strerror(-p->route_error));
                natgw_diag_fail(l, NATGW_CAUSE_TARGET_UNREACHABLE, "add a route (a default route) to %s", a);
                return;
        }
        natgw_diag_evidence(l, "route to %s: out %s%s%s", a, p->oif, p->route.has_gateway ? " via " : "",
                            p->route.has_gateway ? natgw_addr_format(&p->route.gateway, hop, sizeof(hop)) : "");
        if (natgw_rt_link_get(p->oif, natgw_mono_usec() + PROBE_USEC, &link) == 0 && (!link.up || !link.carrier)) {
                natgw_diag_evidence(l, "%s is %s", p->oif, link.up ? "up without carrier" : "down");
                natgw_diag_fail(l, NATGW_CAUSE_INTERFACE_DOWN, "bring %s up", p->oif);
        }
        if (!entry)
                return;
        /* What the source address becomes: netmap's by offset, snat's own, or masquerade's pick. */
        if (natgw_diag_netmap_match(in->entries, &in->from, p->oif, false, &mapped) >= 0)
                natgw_diag_evidence(l, "leaves %s as %s (netmap: the outside address at the same offset)", p->oif,
                                    natgw_addr_format(&mapped, src, sizeof(src)));
        else if (json_string_value(json_object_get(entry, "to")))
                natgw_diag_evidence(l, "leaves %s as %s (snat)", p->oif, json_string_value(json_object_get(entry, "to")));
        else if (natgw_rt_route_get(&in->to, NULL, 0, natgw_mono_usec() + PROBE_USEC, &own) == 0 && own.has_prefsrc)
                natgw_diag_evidence(l, "leaves %s as %s (masquerade: the address the route picks)", p->oif,
                                    natgw_addr_format(&own.prefsrc, src, sizeof(src)));
        else {
                natgw_diag_evidence(l, "%s has no address for masquerade to pick", p->oif);
                natgw_diag_fail(l, NATGW_CAUSE_NO_PUBLIC_ADDRESS, "give %s an address", p->oif);
        }
}

void natgw_diag_egress_run(const struct natgw_diag_egress_input *in, struct natgw_diag_report *ret) {
        char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
        struct egress_path p = {};
        const json_t *entry;

        *ret = (struct natgw_diag_report){};
        snprintf(ret->subject, sizeof(ret->subject), "egress %s -> %s%s%.0u/%s",
                 natgw_addr_format(&in->from, a, sizeof(a)), natgw_addr_format(&in->to, b, sizeof(b)),
                 in->has_port ? ":" : "", in->has_port ? in->port : 0u, proto_name(in->l4proto));
        find_path(in, &p);
        layer_entry(in, &p, ret, &entry);
        layer_policy(in, entry, ret);
        layer_gateway(in, &p, entry, ret);
}

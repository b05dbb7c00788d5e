/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Learn mode: observed flows -> a proposed allow list (see ct-learn.h). */

#include <netinet/in.h>
#include <sys/socket.h>

#include "ct-learn.h"
#include "util.h"

void natgw_learn_rules_free(struct natgw_learn_rule *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(v[i].rule.to);
                free(v[i].rule.ports);
        }
        free(v);
}

/* The service of a flow: protocol bits of a rule and the port (0: none). */
static unsigned flow_protos(const struct natgw_learn_flow *f) {
        switch (f->l4proto) {
        case IPPROTO_TCP:
                return NATGW_PROTO_TCP;
        case IPPROTO_UDP:
                return NATGW_PROTO_UDP;
        case IPPROTO_ICMP:
        case IPPROTO_ICMPV6:
                return NATGW_PROTO_ICMP;
        default:
                return NATGW_PROTO_ALL;
        }
}

static int flow_cmp(const void *a, const void *b) {
        const struct natgw_learn_flow *x = a, *y = b;
        unsigned px = flow_protos(x), py = flow_protos(y);
        int r;

        if (px != py)
                return px < py ? -1 : 1;
        if (px & (NATGW_PROTO_TCP | NATGW_PROTO_UDP) && x->dport != y->dport)
                return x->dport < y->dport ? -1 : 1;
        r = natgw_addr_cmp(&x->daddr, &y->daddr);
        return r;
}

static bool same_service(const struct natgw_learn_flow *a, const struct natgw_learn_flow *b) {
        unsigned p = flow_protos(a);

        return p == flow_protos(b) && (!(p & (NATGW_PROTO_TCP | NATGW_PROTO_UDP)) || a->dport == b->dport);
}

static void net_of(const struct natgw_addr *a, struct natgw_prefix *ret) {
        *ret = (struct natgw_prefix){ .addr = *a, .len = a->family == AF_INET ? 24 : 64 };
        natgw_prefix_mask(ret);
}

static bool prefix_eq(const struct natgw_prefix *a, const struct natgw_prefix *b) {
        return natgw_prefix_cmp(a, b) == 0;
}

/* The destinations of flows [a, b) (one service, sorted by address) folded into @r. */
static int fold_destinations(const struct natgw_learn_flow *f, size_t a, size_t b, struct natgw_allow *r) {
        size_t hosts = 0;

        for (size_t i = a; i < b; i++)
                if (i == a || natgw_addr_cmp(&f[i].daddr, &f[i - 1].daddr) != 0)
                        hosts++;
        if (hosts > NATGW_LEARN_ANY_HOSTS)
                return 0; /* n_to == 0: any destination */
        r->to = calloc(hosts, sizeof(*r->to));
        if (!r->to)
                return -ENOMEM;
        /* Sorted by address, the hosts of one /24 are next to each other. */
        for (size_t i = a, j; i < b; i = j) {
                struct natgw_prefix net, other;
                size_t in_net = 0;

                net_of(&f[i].daddr, &net);
                for (j = i; j < b; j++) {
                        net_of(&f[j].daddr, &other);
                        if (!prefix_eq(&net, &other))
                                break;
                        if (j == i || natgw_addr_cmp(&f[j].daddr, &f[j - 1].daddr) != 0)
                                in_net++;
                }
                if (in_net >= NATGW_LEARN_NET_HOSTS) {
                        r->to[r->n_to++] = net;
                        continue;
                }
                for (size_t k = i; k < j; k++)
                        if (k == i || natgw_addr_cmp(&f[k].daddr, &f[k - 1].daddr) != 0)
                                r->to[r->n_to++] = (struct natgw_prefix){
                                        .addr = f[k].daddr, .len = f[k].daddr.family == AF_INET ? 32 : 128 };
        }
        return 0;
}

static bool to_equal(const struct natgw_allow *a, const struct natgw_allow *b) {
        if (a->n_to != b->n_to)
                return false;
        for (size_t i = 0; i < a->n_to; i++)
                if (!prefix_eq(&a->to[i], &b->to[i]))
                        return false;
        return true;
}

static bool ports_equal(const struct natgw_allow *a, const struct natgw_allow *b) {
        if (a->n_ports != b->n_ports)
                return false;
        for (size_t i = 0; i < a->n_ports; i++)
                if (a->ports[i].lo != b->ports[i].lo || a->ports[i].hi != b->ports[i].hi)
                        return false;
        return true;
}

/* Move rule @from into @into (same protocol, same destinations): its port and flows join. */
static int merge_ports(struct natgw_learn_rule *into, struct natgw_learn_rule *from) {
        struct natgw_port_range *v = reallocarray(into->rule.ports, into->rule.n_ports + from->rule.n_ports,
                                                  sizeof(*v));

        if (!v)
                return -ENOMEM;
        into->rule.ports = v;
        for (size_t i = 0; i < from->rule.n_ports; i++) {
                struct natgw_port_range p = from->rule.ports[i];
                struct natgw_port_range *last = &into->rule.ports[into->rule.n_ports - 1];

                /* Ports come in ascending order: a neighbour extends the last range. */
                if (into->rule.n_ports > 0 && last->hi + 1 == p.lo)
                        last->hi = p.hi;
                else
                        into->rule.ports[into->rule.n_ports++] = p;
        }
        into->flows += from->flows;
        free(from->rule.to);
        free(from->rule.ports);
        *from = (struct natgw_learn_rule){};
        return 0;
}

static int rule_flows_cmp(const void *a, const void *b) {
        const struct natgw_learn_rule *x = a, *y = b;

        return x->flows != y->flows ? (x->flows < y->flows) - (x->flows > y->flows)
                                    : (x->rule.protos > y->rule.protos) - (x->rule.protos < y->rule.protos);
}

int natgw_learn_propose(const struct natgw_learn_flow *flows, size_t n, struct natgw_learn_rule **ret,
                        size_t *ret_n) {
        _cleanup_(freep) struct natgw_learn_flow *f = NULL;
        struct natgw_learn_rule *v = NULL;
        size_t nv = 0, k = 0;
        int r = 0;

        f = calloc(MAX(n, (size_t)1), sizeof(*f));
        v = calloc(MAX(n, (size_t)1), sizeof(*v));
        if (!f || !v) {
                free(v);
                return -ENOMEM;
        }
        if (n > 0) /* flows may be NULL then */
                memcpy(f, flows, n * sizeof(*f));
        qsort(f, n, sizeof(*f), flow_cmp);
        for (size_t a = 0, b; a < n && r >= 0; a = b) {
                struct natgw_learn_rule *x = &v[nv++];

                for (b = a + 1; b < n && same_service(&f[a], &f[b]); b++)
                        ;
                x->rule.protos = flow_protos(&f[a]);
                x->flows = b - a;
                if (x->rule.protos & (NATGW_PROTO_TCP | NATGW_PROTO_UDP)) {
                        x->rule.ports = calloc(1, sizeof(*x->rule.ports));
                        if (!x->rule.ports) {
                                r = -ENOMEM;
                                break;
                        }
                        x->rule.ports[0] = (struct natgw_port_range){ f[a].dport, f[a].dport };
                        x->rule.n_ports = 1;
                }
                r = fold_destinations(f, a, b, &x->rule);
        }
        /* Services of one protocol with the same destinations: one rule, a port list (the
         * services are in port order within a protocol). Then TCP and UDP alike: tcp+udp. */
        for (size_t i = 0; i < nv && r >= 0; i++)
                for (size_t j = i + 1; j < nv && r >= 0 && v[i].flows; j++)
                        if (v[j].flows && v[j].rule.protos == v[i].rule.protos && v[i].rule.n_ports &&
                            to_equal(&v[i].rule, &v[j].rule))
                                r = merge_ports(&v[i], &v[j]);
        for (size_t i = 0; i < nv && r >= 0; i++)
                for (size_t j = i + 1; j < nv && v[i].flows; j++)
                        if (v[j].flows && v[i].rule.protos == NATGW_PROTO_TCP && v[j].rule.protos == NATGW_PROTO_UDP &&
                            to_equal(&v[i].rule, &v[j].rule) && ports_equal(&v[i].rule, &v[j].rule)) {
                                v[i].rule.protos |= NATGW_PROTO_UDP;
                                v[i].flows += v[j].flows;
                                free(v[j].rule.to);
                                free(v[j].rule.ports);
                                v[j] = (struct natgw_learn_rule){};
                        }
        if (r < 0) {
                natgw_learn_rules_free(v, nv);
                return r;
        }
        for (size_t i = 0; i < nv; i++)
                if (v[i].flows)
                        v[k++] = v[i];
        qsort(v, k, sizeof(*v), rule_flows_cmp);
        *ret = v;
        *ret_n = k;
        return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The importer's rule model: chains, rules, matches, and the small parsers both readers share
 * (words of a line, interface names, prefixes, port sets, address ranges as prefixes).
 */

#include <arpa/inet.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/socket.h>

#include "import-rule.h"
#include "import.h"

void imp_match_done(struct imp_match *m) {
        free(m->src);
        free(m->dst);
        free(m->dports);
        *m = (struct imp_match) {};
}

/*
 * The capacity GROW() gives an array of @n elements (8, then doubling): the add functions below
 * keep no capacity of their own, so every array they grow has this one.
 */
static size_t cap_of(size_t n) {
        size_t c = 8;

        if (n == 0)
                return 0;
        while (c < n)
                c *= 2;
        return c;
}

static int dup_array(const void *src, size_t n, size_t sz, void **ret) {
        void *p;

        *ret = NULL;
        if (n == 0)
                return 0;
        p = calloc(cap_of(n), sz);
        if (!p)
                return -ENOMEM;
        memcpy(p, src, n * sz);
        *ret = p;
        return 0;
}

int imp_match_copy(const struct imp_match *m, struct imp_match *ret) {
        struct imp_match c = *m;
        void *s = NULL, *d = NULL, *p = NULL;

        if (dup_array(m->src, m->n_src, sizeof(*m->src), &s) < 0 ||
            dup_array(m->dst, m->n_dst, sizeof(*m->dst), &d) < 0 ||
            dup_array(m->dports, m->n_dports, sizeof(*m->dports), &p) < 0) {
                free(s);
                free(d);
                return -ENOMEM;
        }
        c.src = s;
        c.dst = d;
        c.dports = p;
        *ret = c;
        return 0;
}

static void rule_done(struct imp_rule *r) {
        free(r->text);
        imp_match_done(&r->m);
        free(r->jump);
        free(r->comment);
        free(r->why);
}

void imp_ruleset_done(struct imp_ruleset *rs) {
        for (size_t i = 0; i < rs->n_chains; i++) {
                struct imp_chain *c = &rs->chains[i];

                for (size_t j = 0; j < c->n_rules; j++)
                        rule_done(&c->rules[j]);
                free(c->rules);
                free(c->name);
        }
        free(rs->chains);
        *rs = (struct imp_ruleset) {};
}

struct imp_chain *imp_chain_add(struct imp_ruleset *rs, const char *name, unsigned line, int family,
                                enum imp_hook hook) {
        struct imp_chain *c;
        char *n = strdup(name);

        if (!n || GROW(rs->chains, rs->cap_chains, rs->n_chains + 1) < 0) {
                free(n);
                return NULL;
        }
        c = &rs->chains[rs->n_chains++];
        *c = (struct imp_chain) { .name = n, .line = line, .family = family, .hook = hook };
        return c;
}

struct imp_chain *imp_chain_find(struct imp_ruleset *rs, const char *name, int family, bool filter) {
        for (size_t i = 0; i < rs->n_chains; i++)
                if (rs->chains[i].family == family && rs->chains[i].filter == filter && streq(rs->chains[i].name, name))
                        return &rs->chains[i];
        return NULL;
}

struct imp_rule *imp_rule_add(struct imp_chain *c, unsigned line, const char *text) {
        struct imp_rule *r;
        char *t = strdup(text);

        if (!t || GROW(c->rules, c->cap_rules, c->n_rules + 1) < 0) {
                free(t);
                return NULL;
        }
        r = &c->rules[c->n_rules++];
        *r = (struct imp_rule) { .line = line, .text = t };
        return r;
}

int imp_rule_fail(struct imp_rule *r, const char *fmt, ...) {
        va_list ap;
        int n;

        if (r->why)
                return 0;
        va_start(ap, fmt);
        n = vasprintf(&r->why, fmt, ap);
        va_end(ap);
        if (n < 0) {
                r->why = NULL;
                return -ENOMEM;
        }
        return 0;
}

int imp_ct_state(const char *name) {
        static const struct {
                const char *name;
                unsigned bit;
        } states[] = {
                { "new", IMP_CT_NEW },   { "established", IMP_CT_ESTABLISHED }, { "related", IMP_CT_RELATED },
                { "dnat", IMP_CT_DNAT }, { "invalid", IMP_CT_OTHER },           { "untracked", IMP_CT_OTHER },
                { "snat", IMP_CT_OTHER },
        };

        for (size_t i = 0; i < ELEMENTSOF(states); i++)
                if (strcasecmp(name, states[i].name) == 0)
                        return (int)states[i].bit;
        return -EINVAL;
}

void imp_allow_done(struct natgw_allow *a) {
        free(a->to);
        free(a->ports);
        *a = (struct natgw_allow) {};
}

int imp_ports_add(struct natgw_port_range **v, size_t *n, struct natgw_port_range r) {
        size_t i = 0, j, cap = cap_of(*n);

        /* Skip the ranges that end before r starts, with no gap to fill between. */
        while (i < *n && (unsigned)(*v)[i].hi + 1 < r.lo)
                i++;
        j = i;
        while (j < *n && (*v)[j].lo <= (unsigned)r.hi + 1) {
                r.lo = MIN(r.lo, (*v)[j].lo);
                r.hi = MAX(r.hi, (*v)[j].hi);
                j++;
        }
        if (j == i) {
                if (GROW(*v, cap, *n + 1) < 0)
                        return -ENOMEM;
                memmove(*v + i + 1, *v + i, (*n - i) * sizeof(**v));
                (*n)++;
        } else if (j > i + 1) {
                memmove(*v + i + 1, *v + j, (*n - j) * sizeof(**v));
                *n -= j - i - 1;
        }
        (*v)[i] = r;
        return 0;
}

int imp_prefix_add(struct natgw_prefix **v, size_t *n, const struct natgw_prefix *p) {
        size_t cap = cap_of(*n);

        for (size_t i = 0; i < *n; i++)
                if (natgw_prefix_cmp(&(*v)[i], p) == 0)
                        return 0;
        if (GROW(*v, cap, *n + 1) < 0)
                return -ENOMEM;
        (*v)[(*n)++] = *p;
        return 0;
}

int imp_prefixes_from_range(const struct natgw_addr *lo, const struct natgw_addr *hi, struct natgw_prefix **v,
                            size_t *n) {
        unsigned bits = lo->family == AF_INET ? 32 : 128;
        natgw_u128 a = natgw_addr_to_u128(lo), b = natgw_addr_to_u128(hi);

        if (lo->family != hi->family || a > b)
                return -EINVAL;
        /* The largest aligned block that starts at a and ends by b, again and again. */
        for (;;) {
                struct natgw_prefix p;
                natgw_u128 last;
                unsigned k = 0;
                int r;

                while (k + 1 < 128 && k < bits) {
                        natgw_u128 size = (natgw_u128)1 << (k + 1);

                        if ((a & (size - 1)) != 0 || b - a < size - 1)
                                break;
                        k++;
                }
                if (k + 1 == 128 && a == 0 && b == ~(natgw_u128)0)
                        k = 128; /* ::/0 */
                p.len = bits - k;
                natgw_addr_from_u128(a, lo->family, &p.addr);
                r = imp_prefix_add(v, n, &p);
                if (r < 0)
                        return r;
                last = k == 128 ? ~(natgw_u128)0 : a + (((natgw_u128)1 << k) - 1);
                if (last >= b)
                        return 0;
                a = last + 1;
        }
}

void imp_tokens_done(struct imp_tokens *t) {
        for (size_t i = 0; i < t->n; i++)
                free(t->v[i]);
        free(t->v);
        *t = (struct imp_tokens) {};
}

int imp_tokenize(const char *line, struct imp_tokens *ret) {
        _cleanup_(imp_tokens_done) struct imp_tokens t = {};
        size_t cap = 0, len = strlen(line);
        _cleanup_(freep) char *buf = malloc(len + 1);
        const char *p = line;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                size_t k = 0;

                while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
                        p++;
                if (!*p)
                        break;
                while (*p && !strchr(" \t\r\n", *p)) {
                        if (*p != '"') {
                                buf[k++] = *p++;
                                continue;
                        }
                        for (p++; *p != '"'; p++) {
                                if (!*p)
                                        return -EINVAL;
                                if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                                        p++;
                                buf[k++] = *p;
                        }
                        p++;
                }
                buf[k] = 0;
                if (GROW(t.v, cap, t.n + 1) < 0)
                        return -ENOMEM;
                t.v[t.n] = strdup(buf);
                if (!t.v[t.n])
                        return -ENOMEM;
                t.n++;
        }
        /* cppcheck-suppress unreadVariable ; TAKE_STRUCT leaves t zeroed for its _cleanup_ */
        *ret = TAKE_STRUCT(t);
        return 0;
}

int imp_ifname(const char *s, char ret[IFNAMSIZ]) {
        size_t n = strlen(s);

        /* What natgwd's loader accepts (the kernel's dev_valid_name()). */
        if (n == 0 || n >= IFNAMSIZ || streq(s, ".") || streq(s, "..") || strpbrk(s, "/: \"\\"))
                return -EINVAL;
        /* No blanks or control characters: they would not survive the config's strings. */
        for (const char *c = s; *c; c++)
                if ((unsigned char)*c <= ' ' || (unsigned char)*c == 0x7f)
                        return -EINVAL;
        memcpy(ret, s, n + 1);
        return 0;
}

int imp_prefix_parse(const char *s, struct natgw_prefix *ret) {
        struct natgw_prefix p;
        const char *slash = strchr(s, '/');
        struct in_addr mask;
        int r;

        if (slash && strchr(slash, '.')) {
                /* iptables-save of old versions: "10.0.0.0/255.255.0.0" (only contiguous masks). */
                uint32_t m;

                r = natgw_addr_parse_n(s, (size_t)(slash - s), &p.addr);
                if (r < 0 || p.addr.family != AF_INET || inet_pton(AF_INET, slash + 1, &mask) != 1)
                        return -EINVAL;
                m = ntohl(mask.s_addr);
                if ((~m & (~m + 1)) != 0)
                        return -EINVAL; /* a hole in the mask */
                p.len = (unsigned)__builtin_popcount(m);
        } else {
                r = natgw_prefix_parse_loose(s, &p);
                if (r < 0)
                        return r;
        }
        natgw_prefix_mask(&p);
        *ret = p;
        return 0;
}

/* "A", "A-B", "[A]", "A:P", "A-B:P-Q", "A:P-Q/BASE", "[A]:P", ":P" (iptables' --to-*, nft's to). */
int imp_nat_to_parse(struct imp_rule *r, const char *s) {
        char addr[2 * INET6_ADDRSTRLEN + 2] = "";
        const char *ports = NULL, *dash;
        size_t n;

        if (s[0] == '[') {
                const char *end = strchr(s, ']');

                if (!end || (size_t)(end - s - 1) >= sizeof(addr) || (end[1] && end[1] != ':'))
                        goto bad;
                memcpy(addr, s + 1, (size_t)(end - s - 1));
                addr[end - s - 1] = 0;
                ports = end[1] ? end + 2 : NULL;
        } else {
                const char *colon = strchr(s, ':');

                /* Two colons or more: an IPv6 address without brackets, so no port. */
                if (colon && strchr(colon + 1, ':'))
                        colon = NULL;
                n = colon ? (size_t)(colon - s) : strlen(s);
                if (n >= sizeof(addr))
                        goto bad;
                memcpy(addr, s, n);
                addr[n] = 0;
                ports = colon ? colon + 1 : NULL;
        }
        if (addr[0]) {
                dash = strchr(addr, '-');
                if (dash ? natgw_addr_parse_n(addr, (size_t)(dash - addr), &r->to_lo) < 0 ||
                                   natgw_addr_parse(dash + 1, &r->to_hi) < 0
                         : natgw_addr_parse(addr, &r->to_lo) < 0)
                        goto bad;
                if (!dash)
                        r->to_hi = r->to_lo;
                if (r->to_lo.family != r->to_hi.family || natgw_addr_cmp(&r->to_lo, &r->to_hi) > 0)
                        goto bad;
                r->has_to = true;
        }
        if (ports) {
                char buf[NATGW_PORTS_STRLEN];
                const char *slash = strchr(ports, '/');
                struct natgw_port_range base;

                n = slash ? (size_t)(slash - ports) : strlen(ports);
                if (n >= sizeof(buf))
                        goto bad;
                memcpy(buf, ports, n);
                buf[n] = 0;
                if (natgw_port_parse(buf, &r->to_ports) < 0)
                        goto bad;
                r->has_to_ports = true;
                if (slash) {
                        if (natgw_port_parse(slash + 1, &base) < 0 || base.lo != base.hi)
                                goto bad;
                        r->to_base = base.lo;
                }
        }
        if (!r->has_to && !r->has_to_ports)
                goto bad;
        return 0;
bad:
        return imp_rule_fail(r, "\"%s\" is not an address, a range or ADDR:PORT", s);
}

int imp_report(struct natgw_errors *problems, const char *name, struct imp_rule *r, const char *fmt, ...) {
        va_list ap;
        int k;

        if (r->reported)
                return 0;
        r->reported = true;
        va_start(ap, fmt);
        k = natgw_errors_addv(problems, NATGW_SEVERITY_ERROR, name, r->line, NULL, fmt, ap);
        va_end(ap);
        return k;
}

int natgw_import_format_from_string(const char *s) {
        if (streq(s, "iptables-save") || streq(s, "ip6tables-save") || streq(s, "iptables"))
                return NATGW_IMPORT_IPTABLES_SAVE;
        if (streq(s, "nft"))
                return NATGW_IMPORT_NFT;
        return -EINVAL;
}

enum natgw_import_format natgw_import_format_guess(const char *text) {
        const char *p = text;

        for (;;) {
                p += strspn(p, " \t\r\n");
                if (*p != '#')
                        break;
                p += strcspn(p, "\n");
        }
        return strncmp(p, "table", 5) == 0 && (p[5] == ' ' || p[5] == '\t') ? NATGW_IMPORT_NFT
                                                                          : NATGW_IMPORT_IPTABLES_SAVE;
}

/* Problems in line order (a stable sort: one line's problems keep their order). */
static void problems_sort(struct natgw_errors *p, size_t from) {
        for (size_t i = from + 1; i < p->n; i++) {
                struct natgw_error e = p->v[i];
                size_t j = i;

                while (j > from && p->v[j - 1].line > e.line) {
                        p->v[j] = p->v[j - 1];
                        j--;
                }
                p->v[j] = e;
        }
}

int natgw_import(const char *text, enum natgw_import_format format, const char *name, char **ret_config,
                 struct natgw_errors *problems) {
        _cleanup_(imp_ruleset_done) struct imp_ruleset rs = {};
        size_t first = problems->n;
        unsigned left_out = 0;
        int k;

        k = format == NATGW_IMPORT_NFT ? imp_read_nft(text, name, &rs, problems)
                                       : imp_read_iptables(text, name, &rs, problems);
        if (k < 0)
                return k;
        k = imp_convert(&rs, name, format == NATGW_IMPORT_NFT ? "an nft ruleset" : "an iptables-save dump",
                        ret_config, problems);
        if (k == -E2BIG) {
                k = natgw_errors_add(problems, name, 0, NULL, "its jumps into user chains expand to more than "
                                     "a million rules: not a ruleset natgwctl import takes");
                return k < 0 ? k : -EINVAL;
        }
        if (k < 0)
                return k;
        problems_sort(problems, first);
        /* An inet rule is read into both families' chains: one report is enough. */
        if (problems->n > first) {
                size_t j = first + 1;

                for (size_t i = first + 1; i < problems->n; i++) {
                        const struct natgw_error *prev = &problems->v[j - 1], *e = &problems->v[i];

                        if (e->line == prev->line && e->severity == prev->severity && streq(e->message, prev->message)) {
                                free(e->file);
                                free(e->entry);
                                free(e->message);
                                continue;
                        }
                        problems->v[j++] = *e;
                }
                problems->n = j;
        }
        for (size_t i = first; i < problems->n; i++)
                left_out += problems->v[i].severity == NATGW_SEVERITY_ERROR;
        return (int)MIN(left_out, (unsigned)INT32_MAX);
}

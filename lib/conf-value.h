/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Values several kinds of entries share (conf-value.c): members, lists, prefixes, ports. */

#include "conf-ctx.h"

#define NATGW_CONF_TYPE_BIT(t) (1u << (t))

/* Member @key of @group; NULL when it is absent (reported when @required). */
const config_setting_t *natgw_conf_member(struct natgw_conf_ctx *ctx, const config_setting_t *group,
                                          const char *key, bool required);

/* The string @key, or NULL when it is absent or not a string (reported); *ret_s: its setting. */
const char *natgw_conf_get_string(struct natgw_conf_ctx *ctx, const config_setting_t *group, const char *key,
                                  bool required, const config_setting_t **ret_s);

/*
 * An array of @size-byte elements for a key that takes "one value or a list of them", and in
 * *ret_n their number; NULL when @s is NULL, has the wrong shape (reported) or there is no
 * memory (ctx->r). @scalar_types: the NATGW_CONF_TYPE_BIT()s one value may have.
 */
void *natgw_conf_new_elements(struct natgw_conf_ctx *ctx, const config_setting_t *s, const char *key,
                              unsigned scalar_types, const char *expected, size_t size, size_t *ret_n);

/* Element @i of a list or array @s; @s itself when it is one value. */
const config_setting_t *natgw_conf_element(const config_setting_t *s, size_t i);

/* @key: one CIDR string or a list of them, no duplicates, all of @family unless it is 0. */
void natgw_conf_parse_prefixes(struct natgw_conf_ctx *ctx, const config_setting_t *group, const char *key,
                               bool required, int family, struct natgw_prefix **ret, size_t *ret_n);

/* @key: exactly one CIDR string (of any family); false when it is absent or invalid (reported). */
bool natgw_conf_parse_prefix(struct natgw_conf_ctx *ctx, const config_setting_t *group, const char *key,
                             struct natgw_prefix *ret);

/* "port": a port, an "A-B" range or a list of them that do not overlap. */
void natgw_conf_parse_ports(struct natgw_conf_ctx *ctx, const config_setting_t *group, bool required,
                            struct natgw_port_range **ret, size_t *ret_n);

/* A "proto" value: its NATGW_PROTO_* bits in *ret when it is one of the names of @allowed. */
bool natgw_conf_proto_parse(const char *v, unsigned allowed, unsigned *ret);

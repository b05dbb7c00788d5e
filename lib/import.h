/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * natgwctl import: the NAT rules of a saved ruleset (iptables-save / ip6tables-save text, or an
 * `nft list ruleset` dump) as a natgwd config. Pure: text in, text and problems out.
 */

#include "diag.h"

enum natgw_import_format {
        NATGW_IMPORT_IPTABLES_SAVE,
        NATGW_IMPORT_NFT,
};

/* "iptables-save" or "nft" as an enum natgw_import_format; -EINVAL for anything else. */
int natgw_import_format_from_string(const char *s);

/* What @text is when --from does not say: an nft ruleset when its first word (after blank lines
 * and # comments) is "table", an iptables-save dump otherwise. */
enum natgw_import_format natgw_import_format_guess(const char *text);

/**
 * natgw_import() - convert a saved ruleset into a natgwd config
 * @text:       the dump, NUL-terminated
 * @format:     what kind of dump it is
 * @name:       the input's name in @problems ("rules.v4", "<stdin>")
 * @ret_config: the config text (caller frees): one entry per group of rules, each with a
 *              comment naming the lines it came from; the same input gives the same bytes
 * @problems:   every rule left out, as an error with its line and why; notes on what a
 *              converted rule loses (ports of an SNAT range, say) as warnings
 *
 * Return: the number of rules left out (0: everything was converted); -EINVAL when the text is
 * not a dump of that kind (@problems says where; @ret_config untouched); -ENOMEM.
 */
int natgw_import(const char *text, enum natgw_import_format format, const char *name, char **ret_config,
                 struct natgw_errors *problems);

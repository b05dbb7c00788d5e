#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# scripts/check-layers.py: the source tree passes; small trees of its own, each with one include
# against the layers (upwards, sideways between subsystems, a private header, a cycle), fail
# with that include's FILE:LINE; a tree that keeps the layers passes. Writes only to its own
# temporary directory.
set -euo pipefail
: "${SRCDIR:?}"
check="$SRCDIR/scripts/check-layers.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$check" "$SRCDIR" 2>&1) || fail "the source tree breaks its layers:"$'\n'"$out"

# A tree that keeps the layers. $1: a file to add, with its content in $2 (one case per tree).
tree() {
        rm -rf "$tmp/t" && mkdir -p "$tmp/t/lib" "$tmp/t/daemon"
        printf '#pragma once\n' >"$tmp/t/lib/util.h"
        printf '#pragma once\n#include "util.h"\n' >"$tmp/t/lib/addr.h"
        printf '#pragma once\n#include "addr.h"\n' >"$tmp/t/lib/conf.h"
        printf '#pragma once\n#include "conf.h"\n' >"$tmp/t/lib/nft.h"
        printf '#include "nft.h"\n#include "nft-batch.h"\n' >"$tmp/t/lib/nft-netlink.c"
        printf '#pragma once\n#include "nft.h"\n' >"$tmp/t/lib/nft-batch.h"
        printf '#pragma once\n#include "conf.h"\n#include "nft.h"\n' >"$tmp/t/lib/gw.h"
        # nl.h does not exist: placed by its name, in the base.
        printf '#include "gw.h"\n#include "config.h"\n#include "nl.h"\n' >"$tmp/t/daemon/natgwd.c"
        if [[ $# -gt 0 ]]; then printf '%b' "$2" >"$tmp/t/$1"; fi
}

tree
out=$("$check" "$tmp/t" 2>&1) || fail "a tree that keeps the layers fails:"$'\n'"$out"

# $1: file, $2: its content, $3: the FILE:LINE the check must name.
expect_fail() {
        tree "$1" "$2"
        if out=$("$check" "$tmp/t" 2>&1); then
                fail "$1 passes though it breaks the layers"
        fi
        grep -q "^$3: " <<<"$out" || fail "$1: expected a finding at $3, got:"$'\n'"$out"
        echo "ok: $3: $(grep "^$3: " <<<"$out" | head -1 | cut -d: -f3-)"
}

expect_fail lib/addr.h '#pragma once\n#include "util.h"\n#include "conf.h"\n' lib/addr.h:3
expect_fail lib/conf.h '#pragma once\n#include "gw.h"\n' lib/conf.h:2
expect_fail lib/ct-top.c '#include "util.h"\n#include "conf.h"\n#include "nft.h"\n' lib/ct-top.c:3
expect_fail lib/gw.c '#include "gw.h"\n#include "nft-batch.h"\n' lib/gw.c:2
expect_fail lib/ct-stats.c '#include "sysctl-new.h"\n' lib/ct-stats.c:1
# The cycle: nft-rule.c -> nft-batch.h -> nft-rule.h.
tree lib/nft-rule.h '#pragma once\n#include "nft-batch.h"\n'
printf '#pragma once\n#include "nft.h"\n#include "nft-rule.h"\n' >"$tmp/t/lib/nft-batch.h"
if out=$("$check" "$tmp/t" 2>&1); then fail "a cycle between nft-batch and nft-rule passes"; fi
grep -q '^lib/nft-rule.h:2: .*cycle' <<<"$out" || fail "the cycle is not named at lib/nft-rule.h:2:"$'\n'"$out"
grep -q '^lib/nft-batch.h:3: .*cycle' <<<"$out" || fail "the cycle is not named at lib/nft-batch.h:3:"$'\n'"$out"
echo "ok: the cycle nft-batch <-> nft-rule is named at both includes"
expect_fail lib/frob.c '#include "util.h"\n' lib/frob.c:1

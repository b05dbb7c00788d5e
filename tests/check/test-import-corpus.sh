#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# natgwctl import on the corpus of tests/import/: each dump (NAME.rules: iptables-save text,
# NAME.nft: nft list ruleset) gives exactly the config NAME.conf on standard output, the
# report NAME.err on standard error (none: no file) and the exit status NAME.exit; the same
# input gives the same bytes twice; natgwd -t accepts every config. The expected files were
# read rule by rule against iptables(8)/nft(8) semantics; lab-import proves the configs
# equivalent on a real kernel. Needs no privileges.
set -euo pipefail
: "${NATGWD:?}" "${NATGWCTL:?}" "${SRCDIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cd "$SRCDIR/tests/import"
n=0
for in in *.rules *.nft; do
        name=${in%.*}
        from=iptables-save
        [[ $in == *.nft ]] && from=nft
        [[ -f $name.exit ]] || fail "$in has no $name.exit"
        set +e
        "$NATGWCTL" import --from "$from" "$in" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        "$NATGWCTL" import <"$in" >"$tmp/out2" 2>/dev/null # without --from: told by its first word
        set -e
        [[ $rc -eq $(cat "$name.exit") ]] || fail "$in: exit $rc, want $(cat "$name.exit"): $(cat "$tmp/err")"
        if [[ -f $name.conf ]]; then
                diff -u "$name.conf" "$tmp/out" || fail "$in: the config differs from $name.conf (above)"
        else
                [[ ! -s $tmp/out ]] || fail "$in: a config on standard output, want none"
        fi
        if [[ -f $name.err ]]; then
                diff -u "$name.err" "$tmp/err" || fail "$in: the report differs from $name.err (above)"
        else
                [[ ! -s $tmp/err ]] || fail "$in: want an empty report, got: $(cat "$tmp/err")"
        fi
        # Standard input or a file, --from or not: the same config, byte for byte.
        cmp -s "$tmp/out" "$tmp/out2" || fail "$in: the config read from standard input without --from differs"
        if [[ -s $tmp/out ]]; then
                out=$("$NATGWD" -t -c "$tmp/out" 2>&1) || fail "$in: natgwd -t rejects the config: $out"
                # The dumps name interfaces this machine need not have: only that may be warned about,
                # and an empty allow list (a FORWARD chain that accepts nothing of an entry's sources).
                out=$(grep -v -e '^warning: .* interface "[^"]*" does not exist (yet): ' \
                        -e '^warning: .*: "allow" is an empty list: everything from the entry.s sources is denied$' \
                        <<<"$out" || true)
                [[ $out == "$tmp/out: valid: "* ]] || fail "$in: natgwd -t says: $out"
        fi
        n=$((n + 1))
done
[[ $n -ge 12 ]] || fail "the corpus should hold at least 12 dumps, it has $n"

# Usage errors exit 2; an unreadable file exits 1.
set +e
"$NATGWCTL" import --from pf /dev/null 2>/dev/null; [[ $? -eq 2 ]] || fail "--from pf: want exit 2"
"$NATGWCTL" import a b 2>/dev/null; [[ $? -eq 2 ]] || fail "two files: want exit 2"
"$NATGWCTL" import --bogus 2>/dev/null; [[ $? -eq 2 ]] || fail "--bogus: want exit 2"
"$NATGWCTL" import "$tmp/missing" 2>/dev/null; [[ $? -eq 1 ]] || fail "a missing file: want exit 1"
printf '*nat\0\n' | "$NATGWCTL" import 2>/dev/null; [[ $? -eq 1 ]] || fail "a NUL byte: want exit 1"
set -e
echo "natgwctl import: $n dumps give their expected config, report and exit status; natgwd -t accepts each"

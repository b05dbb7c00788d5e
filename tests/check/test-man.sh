#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The man pages natgwd(8), natgwctl(8), natgwd.conf(5): scdoc turns each into roff without a
# word of complaint, groff renders it without warnings, and each documents what the programs
# and the loader actually have: every option `natgwd --help` / `natgwctl --help` prints (and
# the defaults they name), every natgwctl command, every key the loader knows and every key
# the reference config conf/natgwd.conf uses. Needs no privileges; writes only to its own
# temporary directory.
set -euo pipefail
: "${MAN_SOURCES:?}" "${SRCDIR:?}" "${NATGWD:?}" "${NATGWCTL:?}"
SCDOC=${SCDOC:-}
fail() { echo "FAIL: $*" >&2; exit 1; }

if [[ -z $SCDOC ]]; then
        if [[ ${MAN_OPTION:-} == disabled ]]; then
                echo "SKIP: the man pages are not built (-Dman=disabled)" >&2
                exit 77
        fi
        [[ ${CI:-} == true ]] && fail "scdoc is missing (scripts/deps.sh installs it)"
        echo "SKIP: no scdoc, so no man pages (scripts/deps.sh installs it)" >&2
        exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pages=(natgwd.8 natgwctl.8 natgwd.conf.5)

# ---------------------------------------------------------------- scdoc, groff

for page in "${pages[@]}"; do
        src=$MAN_SOURCES/$page.scd
        [[ -f $src ]] || fail "no $src (configured from docs/$page.scd)"
        ! grep -n '@[A-Z_]*@' "$src" >&2 || fail "$page.scd: a @VAR@ meson did not fill in (above)"
        if ! "$SCDOC" <"$src" >"$tmp/$page" 2>"$tmp/$page.err"; then
                cat "$tmp/$page.err" >&2
                fail "scdoc rejected docs/$page.scd"
        fi
        [[ ! -s $tmp/$page.err ]] || fail "scdoc warns about docs/$page.scd: $(cat "$tmp/$page.err")"
        [[ -s $tmp/$page ]] || fail "scdoc made nothing of docs/$page.scd"
done
echo "# scdoc: ${pages[*]} built without warnings"

if command -v groff >/dev/null 2>&1; then
        for page in "${pages[@]}"; do
                # -ww: every warning; -z: no output, only the diagnostics.
                err=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$tmp/$page" 2>&1) ||
                        fail "groff failed on $page: $err"
                [[ -z $err ]] || fail "groff warns about $page: $err"
                # The rendered text, as man shows it, for the checks below.
                LC_ALL=C.UTF-8 groff -man -Tutf8 -rLL=100n -P -cbou "$tmp/$page" 2>/dev/null >"$tmp/$page.txt"
                grep -q '^NAME' "$tmp/$page.txt" || fail "$page renders without a NAME section"
        done
        echo "# groff -ww: no warnings"
else
        echo "# no groff: the roff itself is not checked"
fi

# ---------------------------------------------------------------- options and defaults

# options_of PROGRAM: the options its --help lists, one per line ("-c" and "--config").
options_of() {
        "$1" --help | sed -nE 's/^ +(-[A-Za-z]), (--[a-z-]+).*/\1\n\2/p'
}

# check_options PROGRAM PAGE: every option of PROGRAM's --help is in PAGE, in bold (*-c*,
# *--config*), and so is every default the help names.
check_options() {
        local prog=$1 page=$2 src=$MAN_SOURCES/$2.scd opts n=0 opt def

        opts=$(options_of "$prog")
        [[ -n $opts ]] || fail "no options found in $(basename "$prog") --help"
        while read -r opt; do
                grep -qF -- "*$opt*" "$src" || fail "$page does not document $(basename "$prog") $opt"
                n=$((n + 1))
        done <<<"$opts"
        while read -r def; do
                [[ -n $def ]] || continue
                grep -qF -- "$def" "$src" || fail "$page does not give the default $def that --help names"
        done < <("$prog" --help | sed -nE 's/.*\(default ([^)]+)\).*/\1/p')
        echo "# $page: all $n options of $(basename "$prog") --help, with their defaults"
}

check_options "$NATGWD" natgwd.8
check_options "$NATGWCTL" natgwctl.8

# Every natgwctl command of --help is a bold term of natgwctl(8).
commands=$("$NATGWCTL" --help | sed -n '/^Commands:/,/^$/p' | sed -nE 's/^  ([a-z]+).*/\1/p')
[[ $(wc -w <<<"$commands") -ge 5 ]] || fail "natgwctl --help lists too few commands: $commands"
for c in $commands; do
        grep -q "^\*$c\*" "$MAN_SOURCES/natgwctl.8.scd" || fail "natgwctl.8 does not describe the command $c"
done
echo "# natgwctl.8: every command ($(tr '\n' ' ' <<<"$commands"))"

# Exit codes of natgwctl --help are in natgwctl(8).
for code in 0 1 2 3; do
        grep -q "^\*$code\*$" "$MAN_SOURCES/natgwctl.8.scd" || fail "natgwctl.8 does not explain exit status $code"
done

# ---------------------------------------------------------------- config keys

conf5=$MAN_SOURCES/natgwd.conf.5.scd

# Keys the loader knows: the key tables of lib/conf-load.c and lib/conf-entry.c, and the
# conntrack timeouts (natgw_ct_timeouts[]).
loader_keys=$(perl -0ne 'print "$1\n" while /static const char \*const \w+_keys\[\] = \{(.*?)\};/sg' \
                "$SRCDIR/lib/conf-load.c" "$SRCDIR/lib/conf-entry.c" | grep -oE '"[a-z0-9_]+"' | tr -d '"'
              sed -nE 's/.*\[NATGW_CT_TIMEOUT_[A-Z0-9_]+\] = \{ "([a-z0-9_]+)".*/\1/p' "$SRCDIR/lib/conf-load.c")
n_timeouts=$(sed -nE 's/.*\[NATGW_CT_TIMEOUT_[A-Z0-9_]+\] = \{ "([a-z0-9_]+)".*/\1/p' "$SRCDIR/lib/conf-load.c" | wc -l)
[[ $n_timeouts -eq 15 ]] || fail "expected the 15 conntrack timeouts in lib/conf-load.c, found $n_timeouts"

# Keys the reference config uses: "key =" outside comments (top level, kernel, conntrack and
# its groups, entries) and the timeout keys its comment lists (all 15).
ref=$SRCDIR/conf/natgwd.conf
ref_timeouts=$(sed -n '/The keys and their sysctls/,/^ *timeouts = {/p' "$ref" | grep '^ *#' |
                grep -oE '\b(tcp_[a-z_]+|udp[a-z_]*|icmp[a-z0-9]*|generic)\b' | grep -v timeout)
[[ $(wc -l <<<"$ref_timeouts") -eq 15 ]] ||
        fail "conf/natgwd.conf should list the 15 timeout keys, the test found: $(tr '\n' ' ' <<<"$ref_timeouts")"
ref_keys=$(sed -E 's/#.*//' "$ref" | grep -oE '(^|[{;,[:space:]])[a-z][a-z0-9_]*[[:space:]]*=' |
                grep -oE '[a-z][a-z0-9_]*'
           echo "$ref_timeouts")
top=$(sed -E 's/#.*//' "$ref" | sed -nE 's/^([a-z][a-z0-9_]*)[[:space:]]*=.*/\1/p')
for k in version on_exit kernel conntrack masquerade snat forward; do
        grep -qx "$k" <<<"$top" || fail "conf/natgwd.conf has no top-level key $k (the parser of this test is off)"
done
for k in max buckets warn critical interval timeouts auto_grow ceiling step tcp_established generic; do
        grep -qx "$k" <<<"$ref_keys" || fail "conf/natgwd.conf: conntrack key $k not found (the parser of this test is off)"
done

n=0
while read -r k; do
        grep -qF -- "*$k*" "$conf5" || fail "natgwd.conf.5 does not document the key $k"
        n=$((n + 1))
done < <(sort -u <<<"$loader_keys"$'\n'"$ref_keys")
echo "# natgwd.conf.5: all $n keys of the loader and of conf/natgwd.conf"

# The defaults the loader sets (lib/conf-load.c build()) are the ones the page gives.
# same_default KEY LOADER_LINE PAGE_REGEX: the loader sets KEY's default as LOADER_LINE says,
# and the page's entry for KEY gives that default.
same_default() {
        grep -qF "$2" "$SRCDIR/lib/conf-load.c" || fail "lib/conf-load.c no longer has '$2': update this test"
        grep -qE "$3" "$conf5" || fail "$1: natgwd.conf.5 does not give the loader's default ($2)"
}
same_default conntrack.warn 'c->conntrack.warn = 80;' '^\*warn\* \(.*default \*80\*\)'
same_default conntrack.critical 'c->conntrack.critical = 95;' '^\*critical\* \(.*default \*95\*\)'
same_default conntrack.interval 'c->conntrack.interval = 1.0;' '^\*interval\* \(.*default \*1\.0\*\)'
same_default kernel.ip_forward 'c->kernel.ip_forward = true;' '^\*ip_forward\* \(boolean, default \*true\*\)'
# (ipv6_forward is false by default because the model starts zeroed.)
grep -qE '^\*ipv6_forward\* \(boolean, default \*false\*\)' "$conf5" || fail "kernel.ipv6_forward: default not given"

# Every example of the config page that is a whole file (it has "version = 1;") is valid.
awk -v dir="$tmp" '
        /^```$/ { if (inblock) { close(f); inblock = 0 } else { inblock = 1; f = dir "/example." ++n ".conf" } next }
        inblock { print > f }' "$conf5"
n=0
for f in "$tmp"/example.*.conf; do
        grep -q '^version = 1;' "$f" || continue
        out=$("$NATGWD" -t -c "$f" 2>&1) || fail "an example of natgwd.conf.5 is rejected: $out"$'\n'"$(cat "$f")"
        n=$((n + 1))
done
[[ $n -ge 2 ]] || fail "natgwd.conf.5 has $n complete example files, want at least 2"
echo "# natgwd.conf.5: its $n complete examples are valid (natgwd -t)"

# Every section the config page promises is there.
for s in SYNTAX KERNEL CONNTRACK ENTRIES "ON EXIT" ERRORS FILES EXAMPLES; do
        grep -qx "# $s" "$conf5" || fail "natgwd.conf.5 has no section $s"
done
for s in OPTIONS SIGNALS LOGGING "EXIT STATUS"; do
        grep -qx "# $s" "$MAN_SOURCES/natgwd.8.scd" || fail "natgwd.8 has no section $s"
done
echo "man pages: ${pages[*]} build cleanly and document every option, command and key"

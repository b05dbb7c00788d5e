#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bash completion for natgwctl and natgwd (completion/): sourced into bash, the completion
# functions offer the commands and options the programs' --help lists, file names after
# -S, -c and `check`, and nothing where a number or nothing at all belongs. Runs once on its
# own and, when the bash-completion package is installed, once more on top of it (its
# _filedir then completes the file names). Needs no privileges; writes only to its temporary
# directory.
set -euo pipefail
: "${SRCDIR:?}" "${NATGWD:?}" "${NATGWCTL:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/files/dir"
touch "$tmp/files/gw.conf" "$tmp/files/gw.sock" "$tmp/files/other"

# What --help lists, sorted, one per line.
help_options() {
        "$1" --help | sed -nE 's/^ +(-[A-Za-z]), (--[a-z-]+).*/\1\n\2/p' | sort
}
natgwctl_options=$(help_options "$NATGWCTL")
natgwd_options=$(help_options "$NATGWD")
natgwctl_commands=$("$NATGWCTL" --help | sed -n '/^Commands:/,/^$/p' | sed -nE 's/^  ([a-z]+).*/\1/p' | sort)
[[ -n $natgwctl_options && -n $natgwd_options && -n $natgwctl_commands ]] ||
        fail "cannot read the options and commands from --help"

# The checks run in a fresh bash that has sourced the completion files (and maybe
# bash-completion first); they print "FAIL: ..." and exit 1 on the first mismatch.
cat >"$tmp/checks.sh" <<'EOF'
set -u
cd "$FILES"
n=0

# complete LINE...: COMPREPLY (sorted, one per line) for the words of LINE with the cursor at
# the end of the last word (an empty last word: after a space).
complete_words() {
        local fn
        COMP_WORDS=("$@")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        COMPREPLY=()
        fn=$(complete -p "$1" | sed -nE 's/.*-F ([^ ]+).*/\1/p')
        [[ -n $fn ]] || { echo "FAIL: no completion function for $1"; exit 1; }
        "$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort
}

# expect WANT LINE...: the completion of LINE is exactly WANT (newline-separated).
expect() {
        local want=$1 got
        shift
        got=$(complete_words "$@")
        if [[ $got != "$want" ]]; then
                echo "FAIL: completing '$*': want [$(tr '\n' ' ' <<<"$want")], got [$(tr '\n' ' ' <<<"$got")]"
                exit 1
        fi
        n=$((n + 1))
}

lines() { printf '%s\n' "$@" | sort; }

files=$(lines dir gw.conf gw.sock other)

# natgwctl: commands, options, option values, check FILE.
expect "$NATGWCTL_COMMANDS" natgwctl ""
expect "$(lines show status)" natgwctl s
expect "status" natgwctl st
expect "$(lines show status)" natgwctl -j s
expect "$(lines show status)" natgwctl -S /run/x.sock s
expect "$(lines show status)" natgwctl --socket /run/x.sock -n 5 s
expect "$NATGWCTL_OPTIONS" natgwctl -
expect "$(grep -- '^--' <<<"$NATGWCTL_OPTIONS")" natgwctl --
expect "--socket" natgwctl --so
expect "$files" natgwctl -S ""
expect "$(lines gw.conf gw.sock)" natgwctl -S gw
expect "gw.sock" natgwctl --socket gw.s
expect "gw.sock" natgwctl --socket = gw.s
expect "$files" natgwctl check ""
expect "gw.conf" natgwctl check gw.c
expect "gw.conf" natgwctl -j check gw.c
expect "gw.conf" natgwctl check -j gw.c
expect "" natgwctl check gw.conf ""
expect "" natgwctl reload ""
expect "" natgwctl status s
expect "" natgwctl -n ""
expect "" natgwctl --timeout ""
expect "" natgwctl conntrack ""
expect "learn" natgwctl egress ""
expect "" natgwctl egress learn ""

# natgwd: options only; -c and -S take files.
expect "$NATGWD_OPTIONS" natgwd ""
expect "$NATGWD_OPTIONS" natgwd -
expect "$(lines --check --config)" natgwd --c
expect "$files" natgwd -c ""
expect "gw.conf" natgwd -c gw.c
expect "gw.conf" natgwd --config gw.c
expect "gw.sock" natgwd -t -S gw.s
expect "-c" natgwd -t -c

echo "ok $n completions"
EOF

run_checks() {
        local label=$1 preload=$2 out

        out=$(FILES=$tmp/files NATGWCTL_COMMANDS=$natgwctl_commands NATGWCTL_OPTIONS=$natgwctl_options \
                NATGWD_OPTIONS=$natgwd_options bash --norc --noprofile -c '
                        [[ -z $1 ]] || source "$1" >/dev/null 2>&1 || { echo "FAIL: cannot source $1"; exit 1; }
                        source "$2" && source "$3" || { echo "FAIL: cannot source the completion files"; exit 1; }
                        source "$4"' _ "$preload" "$SRCDIR/completion/natgwctl" "$SRCDIR/completion/natgwd" \
                "$tmp/checks.sh" 2>&1) || fail "$label: $out"
        [[ $out == "ok "* ]] || fail "$label: $out"
        echo "# $label: $out"
}

# Plain bash: no shell errors or noise from sourcing either file.
out=$(bash --norc --noprofile -c 'source "$1" && source "$2" && complete -p natgwctl natgwd' _ \
        "$SRCDIR/completion/natgwctl" "$SRCDIR/completion/natgwd" 2>&1) || fail "sourcing the completion: $out"
[[ $out == *"-F _natgwctl natgwctl"*"-F _natgwd natgwd"* ]] || fail "completion not registered: $out"

run_checks "bash alone" ""
# BASH_COMPLETION: bash-completion's main script, where the package puts it unless told.
bc=${BASH_COMPLETION:-/usr/share/bash-completion/bash_completion}
if [[ -r $bc ]]; then
        run_checks "with bash-completion" "$bc"
else
        echo "# bash-completion is not installed: checked without it only"
fi
echo "bash completion for natgwctl and natgwd: commands, options and files complete as expected"

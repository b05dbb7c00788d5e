#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# natgwd -t: every example under conf/ is valid; a broken file is rejected with every error
# as FILE:LINE: entry "NAME": message; exit codes 0 / 1 / 2. Needs no privileges.
set -euo pipefail
: "${NATGWD:?}" "${NATGWCTL:?}" "${SRCDIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

n=0
for f in "$SRCDIR"/conf/*.conf; do
        out=$("$NATGWD" -t -c "$f" 2>&1) || fail "$f rejected: $out"
        # The examples name interfaces this machine need not have (eth0, ens5, ppp0): that, and
        # only that, may be warned about.
        out=$(grep -v '^warning: .* interface "[^"]*" does not exist (yet): ' <<<"$out" || true)
        [[ $out == "$f: valid: "* ]] || fail "$f: unexpected output: $out"
        n=$((n + 1))
done
[ "$n" -ge 4 ] || fail "expected at least 4 examples in conf/, found $n"

cat >"$tmp/bad.conf" <<'CONF'
version = 1;
forward = (
  { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; },
  { name = "web2"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.67"; },
  { name = "bad"; proto = "tcp"; port = 70000; to = "192.168.1.68"; }
);
CONF
set +e
err=$("$NATGWD" -t -c "$tmp/bad.conf" 2>&1 >/dev/null)
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "bad.conf: exit $rc, want 1"
grep -q "^$tmp/bad.conf:4: entry \"web2\": .*\"web\".*line 3" <<<"$err" || fail "overlap not reported: $err"
grep -q "^$tmp/bad.conf:5: entry \"bad\": .*70000" <<<"$err" || fail "bad port not reported: $err"
[ "$(wc -l <<<"$err")" -eq 2 ] || fail "want exactly 2 errors, got: $err"

set +e
"$NATGWD" -t -c "$tmp/missing.conf" 2>"$tmp/err"
rc=$?
"$NATGWD" --no-such-option 2>/dev/null
rc2=$?
set -e
[ "$rc" -eq 1 ] || fail "missing file: exit $rc, want 1"
grep -q "$tmp/missing.conf" "$tmp/err" || fail "missing file not named: $(cat "$tmp/err")"
[ "$rc2" -eq 2 ] || fail "unknown option: exit $rc2, want 2"

# Only a regular file is a config, and nothing but it is opened: a FIFO nobody writes, as the
# file or as an @include target, must fail at once, not hang (timeout bounds the test, exit 124).
mkfifo "$tmp/fifo.conf"
printf 'version = 1;\n@include "%s"\n' "$tmp/fifo.conf" >"$tmp/include.conf"
mkdir "$tmp/dir.conf"
expect_refused() { # FILE MESSAGE
        local rc out
        for cmd in "$NATGWD -t -c" "$NATGWCTL check"; do
                set +e
                # shellcheck disable=SC2086 # the command is two words
                out=$(timeout 10 $cmd "$1" 2>&1)
                rc=$?
                set -e
                [ "$rc" -ne 124 ] || fail "$cmd $1 hangs"
                [ "$rc" -eq 1 ] || fail "$cmd $1: exit $rc, want 1: $out"
                grep -qF "$1$2" <<<"$out" || fail "$cmd $1: want '$1$2', got: $out"
        done
}
expect_refused "$tmp/fifo.conf" ": cannot read: not a regular file"
expect_refused /dev/zero ": cannot read: not a regular file"
expect_refused "$tmp/dir.conf" ": cannot read: Is a directory"
expect_refused "$tmp/include.conf" ":2: @include is not supported: drop-in files are read from include_dir"

# A file natgwd may not read (only root can show this: root reads everything).
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && as_nobody "$NATGWD" -V >/dev/null 2>&1; then
        cp "$tmp/bad.conf" "$tmp/secret.conf"
        chmod 600 "$tmp/secret.conf"
        chmod 755 "$tmp"
        set +e
        err=$(as_nobody "$NATGWD" -t -c "$tmp/secret.conf" 2>&1)
        rc=$?
        set -e
        [ "$rc" -eq 1 ] || fail "unreadable file: exit $rc, want 1"
        [ "$err" = "$tmp/secret.conf: cannot read: Permission denied" ] || fail "unreadable file: $err"
fi

# Interfaces that do not exist (yet): one warning per interface, at its first entry, naming up
# to three others, in the interfaces' name order; the same whether the entries name a few
# interfaces (read in one pass) or more than 16 (sorted).
missing_if_conf() { # N_INTERFACES ENTRIES_EACH
        local i k
        echo 'version = 1;'
        echo 'forward = ('
        for ((k = 0; k < $2; k++)); do
                for ((i = $1 - 1; i >= 0; i--)); do
                        printf '  { name = "f%d-%d"; in_interface = "nx-t%02d"; proto = "tcp"; port = %d; to = "192.168.1.66"; },\n' \
                                "$i" "$k" "$i" $((1000 + k))
                done
        done
        echo '  { name = "nif"; proto = "udp"; port = 53; to = "192.168.1.66"; }'
        echo ');'
}
for shape in "3 5" "20 2" "17 1"; do
        read -r n_if each <<<"$shape"
        missing_if_conf "$n_if" "$each" >"$tmp/missing-if.conf"
        out=$("$NATGWD" -t -c "$tmp/missing-if.conf" 2>&1) || fail "missing interfaces ($shape): rejected: $out"
        warns=$(grep '^warning: ' <<<"$out")
        [ "$(wc -l <<<"$warns")" -eq "$n_if" ] || fail "missing interfaces ($shape): want $n_if warnings: $out"
        # Sorted by interface, each at its first entry (line 3 + the interface's place from the end).
        for ((i = 0; i < n_if; i++)); do
                line=$(sed -n "$((i + 1))p" <<<"$warns")
                want="^warning: $tmp/missing-if.conf:$((3 + n_if - 1 - i)): entry \"f$i-0\": interface \"nx-t$(printf %02d $i)\" does not exist \(yet\): the entry"
                [[ $line =~ $want ]] || fail "missing interfaces ($shape): warning $i: $line"
                case $each in
                1) [[ $line == *"the entry applies as soon as"* ]] || fail "($shape) $line" ;;
                2) [[ $line == *"the entry and 1 other (\"f$i-1\") apply as soon"* ]] || fail "($shape) $line" ;;
                5) [[ $line == *"the entry and 4 others (\"f$i-1\", \"f$i-2\", \"f$i-3\", ...) apply as soon"* ]] ||
                        fail "($shape) $line" ;;
                esac
        done
done

echo "natgwd -t: $n examples valid, bad input rejected as expected"

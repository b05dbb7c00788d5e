#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `meson install` into a DESTDIR in this test's temporary directory, and the tree it makes:
# natgwd and natgwctl in sbindir, the unit (its ExecStart and ExecReload naming the installed
# programs), the man pages, the bash completion, the reference config as
# natgw/natgwd.conf.example in sysconfdir (never as natgwd.conf, which is the operator's),
# every example under the documentation's examples, and nothing else. The paths are the ones
# this build was configured with (tests/meson.build passes them). Needs no privileges and
# installs nothing outside the temporary directory; meson itself writes its install log to
# BUILDDIR/meson-logs/install-log.txt.
set -euo pipefail
: "${BUILDDIR:?}" "${SRCDIR:?}" "${VERSION:?}" "${PREFIX:?}" "${SBINDIR:?}" "${MANDIR:?}" "${MAN:?}"
: "${UNITDIR:?}" "${BASHCOMPLETIONDIR:?}" "${CONFDIR:?}" "${EXAMPLESDIR:?}" "${EXAMPLES:?}"
MESON=${MESON:-}
fail() { echo "FAIL: $*" >&2; exit 1; }

if [[ -z $MESON ]]; then
        [[ ${CI:-} == true ]] && fail "meson is not on PATH"
        echo "SKIP: meson is not on PATH" >&2
        exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

out=$("$MESON" install -C "$BUILDDIR" --destdir "$dest" --no-rebuild 2>&1) ||
        fail "meson install --destdir failed: $out"
echo "# meson install --destdir: done"

want=()
# file MODE PATH: PATH (absolute, as configured) was installed under the DESTDIR with MODE.
file() {
        local mode=$1 path=$2

        want+=("$path")
        [[ -f $dest$path ]] || fail "not installed: $path"
        [[ $(stat -c %a "$dest$path") == "$mode" ]] ||
                fail "$path: mode $(stat -c %a "$dest$path"), want $mode"
}

[[ $SBINDIR == "$PREFIX"/* ]] || fail "sbindir $SBINDIR is not under the prefix $PREFIX"

# ---------------------------------------------------------------- programs
file 755 "$SBINDIR/natgwd"
file 755 "$SBINDIR/natgwctl"
[[ $("$dest$SBINDIR/natgwd" --version) == "natgwd $VERSION" ]] || fail "installed natgwd --version"
[[ $("$dest$SBINDIR/natgwctl" --version) == "natgwctl $VERSION" ]] || fail "installed natgwctl --version"
echo "# programs: $SBINDIR/natgwd, $SBINDIR/natgwctl"

# ---------------------------------------------------------------- unit
unit=$UNITDIR/natgwd.service
file 644 "$unit"
exec_start=$(sed -n 's/^ExecStart=//p' "$dest$unit")
exec_reload=$(sed -n 's/^ExecReload=//p' "$dest$unit")
[[ ${exec_start%% *} == "$SBINDIR/natgwd" ]] || fail "ExecStart runs '${exec_start%% *}', want $SBINDIR/natgwd"
[[ ${exec_reload%% *} == "$SBINDIR/natgwctl" ]] || fail "ExecReload runs '${exec_reload%% *}', want $SBINDIR/natgwctl"
[[ -x $dest${exec_start%% *} && -x $dest${exec_reload%% *} ]] || fail "the unit's programs are not the installed ones"
[[ $exec_start == *" -c /etc/natgw/natgwd.conf "* ]] || fail "ExecStart does not read /etc/natgw/natgwd.conf: $exec_start"
echo "# unit: $unit, ExecStart=$exec_start"
# The metrics socket goes to natgwd.service under the name natgwd looks for.
socket=$UNITDIR/natgwd-metrics.socket
file 644 "$socket"
grep -qx "Service=natgwd.service" "$dest$socket" || fail "$socket does not activate natgwd.service"
grep -qx "FileDescriptorName=metrics" "$dest$socket" || fail "$socket does not name its socket \"metrics\""

# ---------------------------------------------------------------- man pages
if [[ $MAN == true ]]; then
        for page in man8/natgwd.8 man8/natgwctl.8 man5/natgwd.conf.5; do
                file 644 "$MANDIR/$page"
                grep -q '^\.TH ' "$dest$MANDIR/$page" || fail "$MANDIR/$page is not a man page"
        done
        if command -v man >/dev/null 2>&1; then
                MANPATH=$dest$MANDIR man -w natgwd.conf >/dev/null 2>&1 ||
                        fail "man does not find natgwd.conf(5) in the installed tree"
        fi
        echo "# man pages: $MANDIR/man8/natgwd.8, natgwctl.8, man5/natgwd.conf.5"
else
        echo "# man pages: not built (no scdoc), not checked"
fi

# ---------------------------------------------------------------- bash completion
for c in natgwctl natgwd; do
        file 644 "$BASHCOMPLETIONDIR/$c"
        cmp -s "$dest$BASHCOMPLETIONDIR/$c" "$SRCDIR/completion/$c" || fail "$BASHCOMPLETIONDIR/$c differs from completion/$c"
done
out=$(bash --norc --noprofile -c 'source "$1" && source "$2" && complete -p natgwctl natgwd' _ \
        "$dest$BASHCOMPLETIONDIR/natgwctl" "$dest$BASHCOMPLETIONDIR/natgwd" 2>&1) ||
        fail "the installed completion does not load: $out"
echo "# bash completion: $BASHCOMPLETIONDIR/natgwctl, natgwd"

# ---------------------------------------------------------------- configs
file 644 "$CONFDIR/natgwd.conf.example"
cmp -s "$dest$CONFDIR/natgwd.conf.example" "$SRCDIR/conf/natgwd.conf" ||
        fail "$CONFDIR/natgwd.conf.example is not conf/natgwd.conf"
[[ ! -e $dest$CONFDIR/natgwd.conf ]] || fail "$CONFDIR/natgwd.conf was installed: it is the operator's file"
n=0
for f in $EXAMPLES; do
        file 644 "$EXAMPLESDIR/$f"
        cmp -s "$dest$EXAMPLESDIR/$f" "$SRCDIR/conf/$f" || fail "$EXAMPLESDIR/$f is not conf/$f"
        out=$("$dest$SBINDIR/natgwd" -t -c "$dest$EXAMPLESDIR/$f" 2>&1) || fail "installed example $f rejected: $out"
        n=$((n + 1))
done
for f in ${EXAMPLE_DROPINS:-}; do
        file 644 "$EXAMPLESDIR/$f"
        cmp -s "$dest$EXAMPLESDIR/$f" "$SRCDIR/conf/$f" || fail "$EXAMPLESDIR/$f is not conf/$f"
done
for f in "$SRCDIR"/conf/*.conf "$SRCDIR"/conf/*.conf.d/*.conf; do
        f=${f#"$SRCDIR"/conf/}
        [[ -f $dest$EXAMPLESDIR/$f ]] || fail "conf/$f is not installed as an example"
done
echo "# configs: $CONFDIR/natgwd.conf.example, $n examples in $EXAMPLESDIR (each valid)"

# ---------------------------------------------------------------- nothing else
got=$(cd "$dest" && find . -type f -o -type l | sed 's|^\.||' | sort)
extra=$(comm -13 <(printf '%s\n' "${want[@]}" | sort) - <<<"$got")
[[ -z $extra ]] || fail "installed but not expected: $(tr '\n' ' ' <<<"$extra")"
echo "meson install: ${#want[@]} files, each where it belongs under prefix $PREFIX"

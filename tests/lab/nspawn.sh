# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# The real-systemd tier, sourced by tests/lab/lab-nspawn*.sh: this machine's own systemd booted
# in a throwaway container,
#
#   systemd-nspawn --register=no --keep-unit --volatile=yes -D / --private-network --boot
#
# (package systemd-container): / is a tmpfs, /usr the host's, read-only; the container has a
# network namespace of its own with nothing but lo, so whatever natgwd, nft or sysctl do in
# there never reaches the host's networking. natgwd comes in as `meson install --destdir` put
# it: the installed sbindir bind-mounted over the same path (read-only), the installed unit as
# /etc/systemd/system/natgwd.service (the container's /etc is its tmpfs). The build directory
# is bound read-only at /natgw-build for the test's own helpers (natgw-ct-fill, natgw-nft-fault).
#
# Commands run inside through nsenter into the container's namespaces (`inside CMD...`); the
# container is torn down on every exit (trap), and a hard timeout kills it whatever happens.
#
# Environment (tests/lab/meson.build): BUILDDIR, MESON, SBINDIR, UNITDIR (what nspawn_install
# needs); CI=true turns a skip into a failure; NSPAWN_KEEP=1 keeps the temporary directory;
# NSPAWN_TIMEOUT the container's whole life in seconds.

set -euo pipefail
shopt -s inherit_errexit

LAB_NAME=$(basename "$0" .sh)
MESON=${MESON:-}
BUILDDIR=${BUILDDIR:-}
# The container's whole life: a stuck boot or test is killed after this many seconds.
NSPAWN_TIMEOUT=${NSPAWN_TIMEOUT:-240}

fail() {
        echo "FAIL: $LAB_NAME: $*" >&2
        exit 1
}

info() {
        echo "# $*"
}

lab_skip() {
        [[ ${CI:-} == true ]] && fail "cannot run under CI=true: $*"
        echo "SKIP: $LAB_NAME: $*" >&2
        exit 77
}

assert_eq() {
        [[ $1 == "$2" ]] || fail "$3: want '$1', got '$2'"
        info "ok: $3"
}

assert_match() {
        [[ $2 =~ $1 ]] || fail "$3: '$2' does not match /$1/"
        info "ok: $3"
}

[[ $(id -u) == 0 ]] || lab_skip "needs root"
for tool in systemd-nspawn nsenter timeout; do
        command -v "$tool" >/dev/null 2>&1 || lab_skip "needs $tool (scripts/deps.sh installs it)"
done

NSPAWN_TMP=$(mktemp -d "${TMPDIR:-/tmp}/natgw-nspawn.$LAB_NAME.XXXXXX")
mkdir -p "$NSPAWN_TMP/share"
NSPAWN_PID=
LEADER=
MACHINE=natgw-$$

nspawn_cleanup() {
        local rc=$? i

        if ((rc != 0)) && [[ -n $LEADER ]] && kill -0 "$LEADER" 2>/dev/null; then
                echo "--- systemctl status natgwd in the container" >&2
                inside systemctl status natgwd --no-pager -n 30 >&2 || true
        fi
        if [[ -n $NSPAWN_PID ]] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
                # The first SIGTERM asks the container to halt, the second ends it at once;
                # the leader (the container's PID 1) killed takes every process in it along.
                kill -TERM "$NSPAWN_PID" 2>/dev/null || true
                for ((i = 0; i < 30; i++)); do
                        kill -0 "$NSPAWN_PID" 2>/dev/null || break
                        ((i == 10)) && kill -TERM "$NSPAWN_PID" 2>/dev/null
                        ((i == 20)) && { [[ -n $LEADER ]] && kill -KILL "$LEADER" 2>/dev/null; kill -KILL "$NSPAWN_PID" 2>/dev/null; }
                        sleep 0.2
                done
                wait "$NSPAWN_PID" 2>/dev/null || true
        fi
        if ((rc != 0)) && [[ -s $NSPAWN_TMP/console ]]; then
                echo "--- container console (last lines)" >&2
                tail -n 20 "$NSPAWN_TMP/console" >&2
        fi
        if [[ ${NSPAWN_KEEP:-} == 1 ]]; then
                echo "kept $NSPAWN_TMP" >&2
        else
                rm -rf "$NSPAWN_TMP"
        fi
        exit "$rc"
}
trap nspawn_cleanup EXIT
trap 'exit 130' INT TERM

# nspawn_install: natgwd as `meson install` puts it, into NSPAWN_TMP/dest.
nspawn_install() {
        local out

        : "${BUILDDIR:?}" "${SBINDIR:?}" "${UNITDIR:?}"
        [[ -n $MESON ]] || lab_skip "meson is not on PATH"
        # Bound over the host's directory inside the container: never over /usr/sbin and the
        # like, which the container's own systemd needs.
        [[ $SBINDIR == /usr/local/* || $SBINDIR == /opt/* ]] ||
                lab_skip "sbindir $SBINDIR would hide the host's programs in the container (configure with the default prefix /usr/local)"
        out=$("$MESON" install -C "$BUILDDIR" --destdir "$NSPAWN_TMP/dest" --no-rebuild 2>&1) ||
                fail "meson install --destdir failed: $out"
        [[ -x $NSPAWN_TMP/dest$SBINDIR/natgwd && -f $NSPAWN_TMP/dest$UNITDIR/natgwd.service ]] ||
                fail "meson install put no natgwd or unit under $NSPAWN_TMP/dest"
}

# nspawn_boot [NSPAWN-ARGS...]: boot the container and wait (bounded) until its systemd has
# finished starting up. Sets NSPAWN_PID (systemd-nspawn) and LEADER (the container's PID 1).
nspawn_boot() {
        local i state

        # The container's /etc starts empty: its systemd takes that for a first boot and enables
        # units by preset, Debian's being "enable *". Nothing is enabled but what a test enables:
        # the host's services stay down and natgwd starts when the test says. (NSPAWN_PRESET=no:
        # a test that brings the host's /etc in, where there is no first boot.)
        local preset=()
        if [[ ${NSPAWN_PRESET:-yes} != no ]]; then
                mkdir -p "$NSPAWN_TMP/preset"
                echo 'disable *' >"$NSPAWN_TMP/preset/00-natgw-test.preset"
                preset=(--bind-ro="$NSPAWN_TMP/preset":/etc/systemd/system-preset)
        fi
        timeout --kill-after=10 "$NSPAWN_TIMEOUT" systemd-nspawn --register=no --keep-unit \
                --volatile=yes -D / --private-network --boot --machine="$MACHINE" --console=pipe \
                ${BUILDDIR:+--bind-ro="$BUILDDIR":/natgw-build} --bind="$NSPAWN_TMP/share":/natgw-share \
                "${preset[@]}" "$@" \
                </dev/null >"$NSPAWN_TMP/console" 2>&1 &
        NSPAWN_PID=$!
        for ((i = 0; i < 100; i++)); do
                # timeout -> systemd-nspawn -> the container's systemd
                LEADER=$(pgrep -P "$(pgrep -P "$NSPAWN_PID" | head -n 1)" 2>/dev/null | head -n 1) || true
                [[ -n $LEADER ]] && [[ $(readlink "/proc/$LEADER/exe" 2>/dev/null) == */systemd ]] && break
                LEADER=
                kill -0 "$NSPAWN_PID" 2>/dev/null || fail "systemd-nspawn ended early: $(tail -n 5 "$NSPAWN_TMP/console")"
                sleep 0.1
        done
        [[ -n $LEADER ]] || fail "the container's systemd did not start within 10 s"
        # Its manager socket comes a moment after PID 1 (bounded: 10 s).
        for ((i = 0; i < 100; i++)); do
                inside test -S /run/systemd/private && break
                sleep 0.1
        done
        state=$(inside timeout 60 systemctl is-system-running --wait) || true
        # "degraded": units of the host's own that cannot work in the container (nftables.service
        # without /etc/nftables.conf, systemd-firstboot) failed; natgwd needs none of them.
        [[ $state == running || $state == degraded ]] || fail "the container's systemd is '$state'"
        info "container $MACHINE booted (systemd PID $LEADER on the host, state $state)"
}

# nspawn_start_with_natgwd [NSPAWN-ARGS...]: install, bind natgwd and its unit in, boot.
nspawn_start_with_natgwd() {
        nspawn_install
        nspawn_boot --bind-ro="$NSPAWN_TMP/dest$SBINDIR":"$SBINDIR" \
                --bind-ro="$NSPAWN_TMP/dest$UNITDIR/natgwd.service":/etc/systemd/system/natgwd.service \
                --bind-ro="$NSPAWN_TMP/dest$UNITDIR/natgwd-metrics.socket":/etc/systemd/system/natgwd-metrics.socket "$@"
}

# inside CMD...: run CMD in the container (all of its namespaces), with a plain environment.
inside() {
        nsenter -t "$LEADER" -a -- env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
                SYSTEMD_PAGER= SYSTEMD_COLORS=0 LC_ALL=C.UTF-8 "$@"
}

# inside_sh SCRIPT: a shell script in the container.
inside_sh() {
        inside bash -c "set -euo pipefail; $1"
}

# put PATH: standard input becomes the container's file PATH.
put() {
        inside_sh "mkdir -p \"\$(dirname '$1')\" && cat >'$1'"
}

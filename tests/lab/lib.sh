# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# The namespace lab, sourced by every tests/lab/lab-*.sh:
#
#   lan-$SUFFIX  eth0 192.168.1.10/24 192.168.1.66/24 fd00:1::10/64 fd00:1::66/64
#       |        (default via 192.168.1.1 / fd00:1::1)
#   gw-$SUFFIX   eth1 192.168.1.1/24 fd00:1::1/64
#                eth0 203.0.113.1/24 2001:db8:1::1/64, 203.0.113.10/32, 203.0.113.20-23/32
#       |        (198.51.100.0/24 via 203.0.113.100, 2001:db8:2::/64 via 2001:db8:1::100)
#   wan-$SUFFIX  eth0 203.0.113.100/24 2001:db8:1::100/64
#                lo   198.51.100.7/32 198.51.100.8/32 2001:db8:2::7/128 ("internet clients")
#                (no route to the LAN at all: only NAT makes LAN traffic come back)
#
# Everything lives in namespaces this file creates and removes again (trap on EXIT, INT, TERM);
# the veth pairs are created inside the lab namespaces, so the root namespace never sees a link,
# an address, a route, a sysctl or a rule of ours. Every wait below is bounded.
#
# Environment (set by tests/lab/meson.build, defaulted for a run by hand):
#   NATGWD, NATGWCTL, NATGW_PEER, LAB_DIR, SRCDIR; UPDATE_DUMPS=1 rewrites tests/lab/dumps/*.nft;
#   CI=true turns a skip (not root, no netns, missing tool) into a failure;
#   LAB_KEEP=1 keeps the temporary directory (configs, logs) for a look afterwards.

set -euo pipefail
shopt -s inherit_errexit

LAB_DIR=${LAB_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
SRCDIR=${SRCDIR:-$(cd "$LAB_DIR/../.." && pwd)}
NATGWD=${NATGWD:-$SRCDIR/build/daemon/natgwd}
NATGWCTL=${NATGWCTL:-$SRCDIR/build/daemon/natgwctl}
NATGW_PEER=${NATGW_PEER:-$SRCDIR/build/tests/lab/natgw-peer}
LAB_NAME=$(basename "$0" .sh)

lab_skip() {
        if [[ ${CI:-} == true ]]; then
                echo "FAIL: $LAB_NAME cannot run under CI=true: $*" >&2
                exit 1
        fi
        echo "SKIP: $LAB_NAME: $*" >&2
        exit 77
}

# lab_skip_part WHY: a part of the test cannot run here (the kernel lacks a feature, and no
# fault can stand in for it). The rest runs; the part is said to be skipped, on stderr and
# again by lab_pass, never passed over in silence. Under CI=true it fails like lab_skip: CI's
# kernel must run every part.
LAB_SKIPPED=()
lab_skip_part() {
        [[ ${CI:-} == true ]] && fail "a part cannot run under CI=true: $*"
        echo "SKIP: $LAB_NAME: part skipped: $*" >&2
        info "SKIP (part): $*"
        LAB_SKIPPED+=("$*")
}

# lab_pass: the last line of a test that has parts lab_skip_part may skip: PASS, or PASS with
# the parts that did not run.
lab_pass() {
        local p

        if ((${#LAB_SKIPPED[@]} == 0)); then
                info "PASS"
                return 0
        fi
        info "PASS, but ${#LAB_SKIPPED[@]} part(s) did not run on kernel $(uname -r):"
        for p in "${LAB_SKIPPED[@]}"; do
                info "  SKIP: $p"
                echo "SKIP: $LAB_NAME: part skipped: $p" >&2
        done
}

fail() {
        echo "FAIL: $LAB_NAME: $*" >&2
        exit 1
}

info() {
        echo "# $*"
}

assert_eq() {
        local want=$1 got=$2 msg=$3

        [[ $want == "$got" ]] || fail "$msg: want '$want', got '$got'"
        info "ok: $msg"
}

assert_match() {
        local regex=$1 text=$2 msg=$3

        [[ $text =~ $regex ]] || fail "$msg: '$text' does not match /$regex/"
        info "ok: $msg"
}

assert_no_match() {
        local regex=$1 text=$2 msg=$3

        [[ ! $text =~ $regex ]] || fail "$msg: '$text' matches /$regex/"
        info "ok: $msg"
}

# ---------------------------------------------------------------- preconditions

[[ $(id -u) == 0 ]] || lab_skip "needs root"
for tool in ip nft jq conntrack timeout; do
        command -v "$tool" >/dev/null 2>&1 || lab_skip "needs $tool"
done
[[ -x $NATGWD ]] || lab_skip "no natgwd at $NATGWD (build it first)"
[[ -x $NATGWCTL ]] || lab_skip "no natgwctl at $NATGWCTL (build it first)"
[[ -x $NATGW_PEER ]] || lab_skip "no natgw-peer at $NATGW_PEER (build it first)"

SUFFIX=${LAB_SUFFIX:-$$}
LAN=lan-$SUFFIX
GW=gw-$SUFFIX
WAN=wan-$SUFFIX
LAB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/natgw-lab.$LAB_NAME.XXXXXX")
NATGWD_PID=
NATGWD_LOG=
# natgwd's control socket: the lab's own, never the host's /run/natgwd/control.sock.
CTL_SOCK=$LAB_TMP/control.sock
# Where start_natgwd's notify listener writes what natgwd sent to NOTIFY_SOCKET, one line each.
NOTIFY_LOG=
SERVE_LOG=
SERVE_PID=
LAB_PIDS=()
LAB_NETNS=()
NATGWD_ENV=()
NATGWD_WRAP=()
LAB_SEQ=0

# ---------------------------------------------------------------- cleanup

# lab_running PID: PID is still one of this shell's own running background jobs (so that a
# signal never reaches a process that merely reused the number).
lab_running() {
        [[ " $(jobs -pr | tr '\n' ' ') " == *" $1 "* ]]
}

lab_cleanup() {
        local rc=$? ns pid i

        set +e
        trap - EXIT INT TERM
        if [[ -n $NATGWD_PID ]] && lab_running "$NATGWD_PID"; then
                kill -TERM "$NATGWD_PID" 2>/dev/null
                for ((i = 0; i < 50; i++)); do
                        lab_running "$NATGWD_PID" || break
                        sleep 0.1
                done
                lab_running "$NATGWD_PID" && kill -KILL "$NATGWD_PID" 2>/dev/null
                wait "$NATGWD_PID" 2>/dev/null
        fi
        if ((rc != 0)) && [[ -n $NATGWD_LOG && -s $NATGWD_LOG ]]; then
                echo "--- natgwd log ($NATGWD_LOG)" >&2
                tail -n 50 "$NATGWD_LOG" >&2
        fi
        for pid in "${LAB_PIDS[@]}"; do
                lab_running "$pid" && kill -TERM "$pid" 2>/dev/null
        done
        for pid in "${LAB_PIDS[@]}"; do
                for ((i = 0; i < 50; i++)); do
                        lab_running "$pid" || break
                        sleep 0.1
                done
                lab_running "$pid" && kill -KILL "$pid" 2>/dev/null
                wait "$pid" 2>/dev/null
        done
        # Anything still running inside our own namespaces was started by this test.
        for ns in "${LAB_NETNS[@]}"; do
                for pid in $(ip netns pids "$ns" 2>/dev/null); do
                        kill -KILL "$pid" 2>/dev/null
                done
        done
        # Deleting a namespace removes its veth ends and everything configured in it.
        for ns in "${LAB_NETNS[@]}"; do
                timeout 10 ip netns del "$ns" 2>/dev/null
        done
        if [[ ${LAB_KEEP:-} == 1 ]] || ((rc != 0 && rc != 77)); then
                echo "# kept $LAB_TMP" >&2
        else
                rm -rf "$LAB_TMP"
        fi
        exit "$rc"
}
trap lab_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- topology

# nsexec NS CMD...: run a command inside a lab namespace.
nsexec() {
        local ns=$1
        shift
        ip netns exec "$ns" "$@"
}

lab_netns_add() {
        local ns=$1

        ip netns add "$ns" 2>/dev/null || lab_skip "cannot create network namespace $ns"
        LAB_NETNS+=("$ns")
        ip -n "$ns" link set lo up
        # Addresses usable at once: no duplicate address detection in the lab.
        nsexec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

lab_setup() {
        local a

        for ns in "$LAN" "$GW" "$WAN"; do
                ip netns list | grep -qw "^$ns" && fail "namespace $ns already exists"
        done
        lab_netns_add "$LAN"
        lab_netns_add "$GW"
        lab_netns_add "$WAN"

        # A new namespace may inherit the root namespace's net.ipv4.ip_forward; start the gateway
        # from 0 so that the tests see natgwd switch it on (and IPv6 forwarding likewise).
        nsexec "$GW" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0

        # Both ends of each pair are created inside the lab: the root namespace never holds one.
        ip -n "$LAN" link add eth0 type veth peer name eth1 netns "$GW"
        ip -n "$GW" link add eth0 type veth peer name eth0 netns "$WAN"

        ip -n "$LAN" addr add 192.168.1.10/24 dev eth0
        ip -n "$LAN" addr add 192.168.1.66/24 dev eth0
        ip -n "$LAN" addr add fd00:1::10/64 dev eth0 nodad
        ip -n "$LAN" addr add fd00:1::66/64 dev eth0 nodad
        ip -n "$LAN" link set eth0 up
        ip -n "$LAN" route add default via 192.168.1.1
        ip -n "$LAN" -6 route add default via fd00:1::1

        ip -n "$GW" addr add 192.168.1.1/24 dev eth1
        ip -n "$GW" addr add fd00:1::1/64 dev eth1 nodad
        ip -n "$GW" addr add 203.0.113.1/24 dev eth0
        ip -n "$GW" addr add 2001:db8:1::1/64 dev eth0 nodad
        for a in 203.0.113.10 203.0.113.20 203.0.113.21 203.0.113.22 203.0.113.23; do
                ip -n "$GW" addr add "$a/32" dev eth0
        done
        ip -n "$GW" link set eth1 up
        ip -n "$GW" link set eth0 up
        ip -n "$GW" route add 198.51.100.0/24 via 203.0.113.100
        ip -n "$GW" -6 route add 2001:db8:2::/64 via 2001:db8:1::100

        ip -n "$WAN" addr add 203.0.113.100/24 dev eth0
        ip -n "$WAN" addr add 2001:db8:1::100/64 dev eth0 nodad
        ip -n "$WAN" addr add 198.51.100.7/32 dev lo
        ip -n "$WAN" addr add 198.51.100.8/32 dev lo
        ip -n "$WAN" addr add 2001:db8:2::7/128 dev lo nodad
        ip -n "$WAN" link set eth0 up

        lab_wait_links
}

# Wait (bounded) until every lab link is up on both ends (operstate UP, carrier on).
lab_wait_links() {
        local i

        for ((i = 0; i < 50; i++)); do
                if lab_link_up "$LAN" eth0 && lab_link_up "$GW" eth1 &&
                   lab_link_up "$GW" eth0 && lab_link_up "$WAN" eth0; then
                        return 0
                fi
                sleep 0.1
        done
        fail "lab links did not come up"
}

lab_link_up() {
        [[ $(ip -n "$1" -o link show dev "$2") =~ LOWER_UP.*state\ UP ]]
}

# lab_add_dmz: a fourth host, dmz-$SUFFIX, behind gw's eth2 (gw 10.0.2.1/24, dmz eth0
# 10.0.2.2/24, default via 10.0.2.1): a client that reaches gw on neither eth0 nor eth1.
lab_add_dmz() {
        local i

        DMZ=dmz-$SUFFIX
        lab_netns_add "$DMZ"
        ip -n "$DMZ" link add eth0 type veth peer name eth2 netns "$GW"
        ip -n "$DMZ" addr add 10.0.2.2/24 dev eth0
        ip -n "$DMZ" link set eth0 up
        ip -n "$DMZ" route add default via 10.0.2.1
        ip -n "$GW" addr add 10.0.2.1/24 dev eth2
        ip -n "$GW" link set eth2 up
        for ((i = 0; i < 50; i++)); do
                lab_link_up "$DMZ" eth0 && lab_link_up "$GW" eth2 && return 0
                sleep 0.1
        done
        fail "dmz link did not come up"
}

# ---------------------------------------------------------------- natgwd

# lab_config NAME: prints a fresh path for a config file in the lab's temporary directory.
lab_config() {
        echo "$LAB_TMP/$1.conf"
}

# `nft list chains` reads tables and chains only: `nft list table` or even `list tables` reads
# every element too, which takes 20 s for a table of 200,000 forwards.
natgw_table_exists() {
        nsexec "$GW" nft list chains inet 2>/dev/null | grep -x 'table inet natgw {' >/dev/null
}

# start_natgwd CONFIG [ARGS...]: natgwd in gw, in the background, on the lab's control socket,
# with NOTIFY_SOCKET pointing at a natgw-peer notify listener; returns once natgwd sent READY=1
# and its table is there (at most NATGWD_START_TIMEOUT seconds, 10 by default). A natgwd that
# exits first, or never gets ready, fails the test with its log. Extra ARGS go to natgwd;
# NATGWD_ENV (an array of VAR=value) to its environment; NATGWD_WRAP (an array) is a command
# natgwd runs under (which must exec it: listen-exec.py).
start_natgwd() {
        local config=$1 sock npid i rc ready=0
        shift

        [[ -z $NATGWD_PID ]] || fail "start_natgwd: natgwd is already running"
        LAB_SEQ=$((LAB_SEQ + 1))
        NATGWD_LOG=$LAB_TMP/natgwd.$LAB_SEQ.log
        sock=$LAB_TMP/notify.$LAB_SEQ.sock
        NOTIFY_LOG=$LAB_TMP/notify.$LAB_SEQ.out
        # The listener records everything natgwd says for the whole test (NOTIFY_LOG).
        "$NATGW_PEER" notify "$sock" --all --timeout 600 >"$NOTIFY_LOG" 2>/dev/null </dev/null &
        npid=$!
        LAB_PIDS+=("$npid")
        for ((i = 0; i < 50; i++)); do
                [[ -S $sock ]] && break
                sleep 0.1
        done
        [[ -S $sock ]] || fail "notify listener did not start"

        info "start natgwd -c $config"
        NOTIFY_SOCKET=$sock ip netns exec "$GW" env "${NATGWD_ENV[@]}" "${NATGWD_WRAP[@]}" \
                "$NATGWD" -c "$config" -S "$CTL_SOCK" "$@" >"$NATGWD_LOG" 2>&1 </dev/null &
        NATGWD_PID=$!
        for ((i = 0; i < ${NATGWD_START_TIMEOUT:-10} * 10; i++)); do
                if ! lab_running "$NATGWD_PID"; then
                        rc=0
                        wait "$NATGWD_PID" || rc=$?
                        NATGWD_PID=
                        fail "natgwd exited (status $rc) before it was ready"
                fi
                ((ready)) || ! grep -qx "READY=1" "$NOTIFY_LOG" || ready=1
                ((ready)) && natgw_table_exists && return 0
                sleep 0.1
        done
        if ((ready)); then
                fail "natgwd sent READY=1 but table inet natgw is not there"
        elif natgw_table_exists; then
                fail "natgwd created its table but sent no READY=1 within ${NATGWD_START_TIMEOUT:-10} s"
        fi
        fail "natgwd was not ready within ${NATGWD_START_TIMEOUT:-10} s"
}

# stop_natgwd: SIGTERM, wait at most 5 s; a natgwd that does not exit 0 fails the test.
stop_natgwd() {
        local i rc=0

        [[ -n $NATGWD_PID ]] || return 0
        lab_running "$NATGWD_PID" && kill -TERM "$NATGWD_PID" 2>/dev/null
        for ((i = 0; i < 50; i++)); do
                lab_running "$NATGWD_PID" || break
                sleep 0.1
        done
        if lab_running "$NATGWD_PID"; then
                kill -KILL "$NATGWD_PID" 2>/dev/null || true
                wait "$NATGWD_PID" 2>/dev/null || true
                NATGWD_PID=
                fail "natgwd did not exit within 5 s of SIGTERM"
        fi
        wait "$NATGWD_PID" || rc=$?
        NATGWD_PID=
        if ((rc != 0)); then
                fail "natgwd exited with status $rc on SIGTERM"
        fi
        info "natgwd stopped"
}

# natgwctl ARGS...: natgwctl in gw on the lab's control socket (bounded: 60 s).
natgwctl() {
        timeout 60 ip netns exec "$GW" "$NATGWCTL" -S "$CTL_SOCK" "$@"
}

# reload_ok: `natgwctl reload` must succeed; prints its output.
reload_ok() {
        local out

        out=$(natgwctl reload 2>&1) || fail "natgwctl reload failed: $out"
        echo "$out"
}

# natgwd_alive: natgwd is still running (not crashed) and answers on its control socket.
natgwd_alive() {
        [[ -n $NATGWD_PID ]] && lab_running "$NATGWD_PID" || fail "natgwd is not running any more"
        natgwctl status >/dev/null || fail "natgwd does not answer natgwctl status"
}

# nft_json: the natgw table as nft's JSON.
nft_json() {
        nsexec "$GW" nft -j list table inet natgw
}

# nft_json_shape: the table without its counters' values, which live traffic moves: what a
# refused reload must leave exactly as it was.
nft_json_shape() {
        nft_json | jq -c 'walk(if type == "object" and has("packets") and has("bytes")
                                then .packets = 0 | .bytes = 0 else . end)'
}

# counter_packets ENTRY: packets of the named counter that belongs to config entry ENTRY (its
# connections; not its traffic, "bytes:ENTRY").
counter_packets() {
        nft_json | jq -r --arg n "$1" '
                [.nftables[] | select(.counter) | .counter
                 | select(.name == $n or (.name | test("^[a-z0-9]+[-_.:]" + $n + "$")))
                 | select(.name | startswith("bytes:") | not)
                 | .packets] | if length == 1 then .[0] else "missing(\(length))" end'
}

# assert_counter ENTRY: the named counter of ENTRY has counted something.
assert_counter() {
        local got

        got=$(counter_packets "$1")
        [[ $got =~ ^[0-9]+$ ]] || fail "no single named counter for entry '$1' in table inet natgw ($got)"
        ((got > 0)) || fail "counter of entry '$1' is $got, want > 0"
        info "ok: counter of '$1' counted $got packets"
}

# kernel_at_least MAJOR MINOR: the running kernel is that version or newer.
kernel_at_least() {
        local major minor

        IFS=. read -r major minor _ <<<"$(uname -r)"
        ((major > $1 || (major == $1 && ${minor%%[!0-9]*} >= $2)))
}

# check_table_flags: owner (+ persist) where the kernel has persist (6.9), no flags before.
# The dumps leave the flags line out so that they hold on either kind of kernel.
check_table_flags() {
        local listing

        listing=$(nsexec "$GW" nft list table inet natgw) || fail "nft list table inet natgw failed"
        if kernel_at_least 6 9; then
                assert_match $'\n\tflags owner' "$listing" "table inet natgw is owned by natgwd (kernel $(uname -r))"
        else
                assert_no_match $'\n\tflags ' "$listing" "table inet natgw has no flags (kernel $(uname -r) lacks persist)"
        fi
}

# check_dump NAME: the table (rules and sets, not counter values, not the flags that depend on
# the kernel) against dumps/NAME.nft.
check_dump() {
        local name=$1 want=$LAB_DIR/dumps/$1.nft got=$LAB_TMP/$1.nft

        check_table_flags
        nsexec "$GW" nft -s list table inet natgw | sed -e 's/ # progname .*$//' -e '/^\tflags /d' >"$got" ||
                fail "nft list table inet natgw failed"
        if [[ ${UPDATE_DUMPS:-} == 1 ]]; then
                mkdir -p "$LAB_DIR/dumps"
                cp "$got" "$want"
                info "wrote $want"
                return 0
        fi
        [[ -f $want ]] || fail "no dump $want (run with UPDATE_DUMPS=1 and review it)"
        if ! diff -u "$want" "$got" >&2; then
                fail "table inet natgw differs from dumps/$name.nft"
        fi
        info "ok: table matches dumps/$name.nft"
}

# journal_wrapper TIMEOUT: write $LAB_TMP/natgwd-journal, a wrapper that runs natgwd (its args
# after it) in a private mount namespace with a journald stand-in (natgw-peer journal on a
# tmpfs /run/systemd, for at most TIMEOUT seconds) and JOURNAL_STREAM naming natgwd's stderr,
# so natgwd logs there with its structured fields. Sets JOURNAL_WRAPPER and JOURNAL_OUT (what
# the stand-in received, one blank-line separated entry per message). NATGW_WRAP_PRELOAD, if
# set when natgwd starts, is preloaded into natgwd alone.
journal_wrapper() {
        JOURNAL_WRAPPER=$LAB_TMP/natgwd-journal
        JOURNAL_OUT=$LAB_TMP/journal.out
        cat >"$JOURNAL_WRAPPER" <<EOF
#!/bin/bash
set -euo pipefail
if [[ \${1:-} != --inner ]]; then
        exec unshare --mount --propagation private "\$0" --inner "\$@"
fi
shift
mount -t tmpfs -o mode=0755 natgw-lab /run/systemd
mkdir /run/systemd/journal
"$NATGW_PEER" journal /run/systemd/journal/socket --timeout $1 >"$JOURNAL_OUT" 2>/dev/null </dev/null &
for ((i = 0; i < 50; i++)); do
        [[ -S /run/systemd/journal/socket ]] && break
        sleep 0.1
done
[[ -S /run/systemd/journal/socket ]] || { echo "journal stand-in did not start" >&2; exit 1; }
JOURNAL_STREAM=\$(stat -L -c '%d:%i' /proc/self/fd/2)
export JOURNAL_STREAM
exec env \${NATGW_WRAP_PRELOAD:+LD_PRELOAD=\$NATGW_WRAP_PRELOAD} "$NATGWD" "\$@"
EOF
        chmod +x "$JOURNAL_WRAPPER"
}

# entry_with FIELD=VALUE...: the entries of JOURNAL_OUT that have all these fields.
entry_with() {
        awk -v RS= -v want="$*" '
                BEGIN { n = split(want, w, " ") }
                { ok = 1; for (i = 1; i <= n; i++) if (index("\n" $0 "\n", "\n" w[i] "\n") == 0) ok = 0; if (ok) print $0 "\n" }
        ' "$JOURNAL_OUT"
}

# gw_sysctl KEY: a sysctl of the gateway.
gw_sysctl() {
        nsexec "$GW" sysctl -n "$1"
}

# wait_gw_sysctl KEY VALUE: bounded wait (2 s) for a gateway sysctl; prints its final value.
wait_gw_sysctl() {
        local i v

        for ((i = 0; i < 20; i++)); do
                v=$(gw_sysctl "$1")
                [[ $v == "$2" ]] && break
                sleep 0.1
        done
        echo "$v"
}

# conntrack_gw ARGS...: conntrack -L in gw (stderr's summary line dropped).
conntrack_gw() {
        nsexec "$GW" conntrack -L "$@" 2>/dev/null
}

# ct_id ARGS...: the id of the one conntrack entry in gw that ARGS (conntrack -L filters) select.
ct_id() {
        local out n

        out=$(conntrack_gw -o id "$@")
        n=$(grep -c . <<<"$out" || true)
        [[ $n == 1 ]] || fail "want one conntrack entry for '$*', got $n: $out"
        [[ $out =~ id=([0-9]+) ]] || fail "no id in conntrack entry for '$*': $out"
        echo "${BASH_REMATCH[1]}"
}

# ct_none ARGS...: no conntrack entry in gw matches ARGS.
ct_none() {
        local out

        out=$(conntrack_gw "$@")
        [[ -z $out ]] || fail "conntrack entry for '$*' still there: $out"
        info "ok: no conntrack entry for $*"
}

# ---------------------------------------------------------------- traffic

# serve_in NS ARGS...: natgw-peer serve in NS, in the background, stopped by itself after at
# most 120 s (or --timeout); waits until it listens. Sets SERVE_LOG (its stdout) and SERVE_PID.
serve_in() {
        local ns=$1 err i
        shift

        LAB_SEQ=$((LAB_SEQ + 1))
        SERVE_LOG=$LAB_TMP/serve.$LAB_SEQ.out
        err=$LAB_TMP/serve.$LAB_SEQ.err
        ip netns exec "$ns" "$NATGW_PEER" serve --timeout 120 "$@" >"$SERVE_LOG" 2>"$err" </dev/null &
        SERVE_PID=$!
        LAB_PIDS+=("$SERVE_PID")
        for ((i = 0; i < 50; i++)); do
                grep -q "listening" "$err" 2>/dev/null && return 0
                lab_running "$SERVE_PID" || break
                sleep 0.1
        done
        cat "$err" >&2
        fail "natgw-peer serve $* in $ns did not start"
}

# ask_from NS ARGS...: natgw-peer ask in NS; prints the reply, returns its status.
ask_from() {
        local ns=$1
        shift

        timeout 30 ip netns exec "$ns" "$NATGW_PEER" ask "$@"
}

# ask_ok NS ARGS...: like ask_from but the test fails when no reply comes.
ask_ok() {
        local out

        out=$(ask_from "$@") || fail "no reply: ask $*"
        echo "$out"
}

# ask_fails NS ARGS...: the ask must fail (refused or timed out); the test fails on a reply.
ask_fails() {
        local out

        if out=$(ask_from "$@" 2>/dev/null); then
                fail "unexpected reply to ask $*: $out"
        fi
        info "ok: no reply to ask $*"
}

# ask_refused NS ARGS...: the ask must be refused (TCP RST, ICMP port unreachable): the packet
# reached gw's own stack untranslated. Not the same as a drop or a timeout.
ask_refused() {
        local out err=$LAB_TMP/ask.err

        if out=$(ask_from "$@" 2>"$err"); then
                fail "unexpected reply to ask $*: $out"
        fi
        grep -q "Connection refused" "$err" || fail "ask $*: want 'Connection refused', got '$(cat "$err")'"
        info "ok: refused: ask $*"
}

# tcp_stream_wait PID OUT ERR LABEL: wait (bounded, 15 s) for a `natgw-peer stream tcp` of 8 s
# started in the background (stdout OUT, stderr ERR); it must exit 0 after at least 40
# exchanges. Sets STREAM_EXCHANGES to their number.
tcp_stream_wait() {
        local pid=$1 out=$2 err=$3 label=$4 i rc=0 exchanges

        for ((i = 0; i < 150; i++)); do
                lab_running "$pid" || break
                sleep 0.1
        done
        wait "$pid" || rc=$?
        cat "$err" >&2
        assert_eq 0 "$rc" "$label: the TCP stream across the reload exited 0"
        exchanges=$(sed -n 's/^exchanges=//p' "$out")
        if ! [[ $exchanges =~ ^[0-9]+$ ]] || ((exchanges < 40)); then
                fail "$label: want at least 40 exchanges in 8 s, got '$exchanges'"
        fi
        STREAM_EXCHANGES=$exchanges
}

# pings NS ADDR [FROM]: 0 when one of three ICMP echo requests (1 s each, from FROM if given) is
# answered; prints the reply's source. The lab has no ping(8): a raw socket does it (root in the
# namespace).
pings() {
        nsexec "$1" python3 - "$2" "${3:-}" <<'PY'
import socket, struct, sys, time
addr, src = sys.argv[1], sys.argv[2]
v6 = ":" in addr
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_RAW,
                  socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
if src:
    s.bind((src, 0))
s.settimeout(1)
def csum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff)
    return ~(t + (t >> 16)) & 0xffff
for seq in range(3):
    hdr = struct.pack("!BBHHH", 128 if v6 else 8, 0, 0, 0x4e4d, seq) + b"natgw-lab"
    if not v6:
        hdr = hdr[:2] + struct.pack("!H", csum(hdr + b"\0")) + hdr[4:]
    s.sendto(hdr, (addr, 0))
    end = time.time() + 1
    while time.time() < end:
        try:
            data, peer = s.recvfrom(2048)
        except socket.timeout:
            break
        icmp = data if v6 else data[(data[0] & 15) * 4:]
        if icmp[0] == (129 if v6 else 0) and icmp[4:6] == b"\x4e\x4d":
            print(peer[0])
            sys.exit(0)
sys.exit(1)
PY
}

# server_saw LOG REGEX: how many lines of a server's log match.
server_saw() {
        grep -cE -- "$2" "$1" || true
}

# LAB_TOPOLOGY=own: the test builds its own hosts (lab-ha.sh: two gateways); the rest is shared.
if [[ ${LAB_TOPOLOGY:-} != own ]]; then
        lab_setup
        info "lab up: $LAN $GW $WAN (tmp $LAB_TMP)"
fi

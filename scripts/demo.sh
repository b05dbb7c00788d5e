#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The natgwd demo, as root: scripts/demo.sh
#
# Installs what is missing (scripts/deps.sh), builds natgwd, builds the namespace lab of the
# lab tests (tests/lab/lib.sh: lan — gw — wan, network namespaces with a per-run suffix),
# runs natgwd in gw with a small commented config (on a control socket in the lab's temporary
# directory, never the host's /run/natgwd), sends real traffic through it with natgw-peer,
# shows what the far ends saw, `natgwctl show` and `natgwctl status`, conntrack and the table
# natgwd made, and removes the lab again. Nothing is attached to or configured in the root namespace; the "internet" side uses
# documentation addresses only; every wait is bounded. Takes a few seconds once built.
#
# Exit status: 0 when every step worked, non-zero (with a FAIL line) when one did not.
# Environment: CI=true turns "cannot run here" (no netns, missing tool) into a failure;
# LAB_KEEP=1 keeps the lab's temporary directory (config, logs); BUILD=DIR builds and runs
# natgwd in DIR instead of build/.

set -euo pipefail
shopt -s inherit_errexit

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$SRC/build}
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

if [[ -t 1 && ${CI:-} != true && -z ${NO_COLOR:-} ]]; then
        B=$'\e[1m' N=$'\e[0m'
else
        B='' N=''
fi

heading() {
        printf '\n%s== %s%s\n' "$B" "$*" "$N"
}

say() {
        printf '   %s\n' "$*"
}

die() {
        echo "FAIL: natgwd demo: $*" >&2
        exit 1
}

# ---------------------------------------------------------------- 1. build

# as_owner CMD...: run a build command as the owner of the checkout, so that "sudo
# scripts/demo.sh" does not leave root-owned files in a user's build directory.
as_owner() {
        local owner

        owner=$(stat -c %U "$SRC")
        if [[ $(id -u) == 0 && $owner != root && $owner != UNKNOWN ]] && getent passwd "$owner" >/dev/null; then
                runuser -u "$owner" -- "$@"
        else
                "$@"
        fi
}

# quietly LOG CMD...: run CMD with its output in LOG; on failure show the output and stop.
quietly() {
        local log=$1
        shift

        if ! "$@" >"$log" 2>&1; then
                cat "$log" >&2
                die "'${*#as_owner }' failed (output above)"
        fi
}

build() {
        local log

        heading "1. Build"
        [[ $(id -u) == 0 ]] || die "needs root (it installs packages and creates network namespaces): run it as root (su -, or sudo $0)"
        log=$(mktemp "${TMPDIR:-/tmp}/natgw-demo-build.XXXXXX")
        # shellcheck disable=SC2064 # expand now: the path is fixed
        trap "rm -f '$log'" EXIT
        quietly "$log" "$SRC/scripts/deps.sh"
        say "packages: everything natgwd needs is installed (scripts/deps.sh)"
        cd "$SRC"
        if [[ ! -d $BUILD ]]; then
                quietly "$log" as_owner meson setup "$BUILD"
        fi
        quietly "$log" as_owner meson compile -C "$BUILD"
        [[ -x $BUILD/daemon/natgwd && -x $BUILD/daemon/natgwctl && -x $BUILD/tests/lab/natgw-peer ]] ||
                die "the build did not produce daemon/natgwd, daemon/natgwctl and tests/lab/natgw-peer in $BUILD"
        if grep -q "no work to do" "$log"; then
                say "build:    up to date (${BUILD#"$SRC/"}: daemon/natgwd, daemon/natgwctl, tests/lab/natgw-peer)"
        else
                say "built:    ${BUILD#"$SRC/"}/daemon/natgwd (the daemon), natgwctl (its control tool),"
                say "          tests/lab/natgw-peer (traffic tool)"
        fi
        rm -f "$log"
        trap - EXIT
}

# ---------------------------------------------------------------- 2.-7. the lab

# Everything below runs in a subshell that sources the lab: its EXIT trap stops natgwd and
# the peers (by PID) and deletes the namespaces before the subshell is gone.
lab() {
        export NATGWD=$BUILD/daemon/natgwd NATGWCTL=$BUILD/daemon/natgwctl NATGW_PEER=$BUILD/tests/lab/natgw-peer
        export LAB_DIR=$SRC/tests/lab SRCDIR=$SRC

        heading "2. The lab: three network namespaces, wired lan — gw — wan"
        # shellcheck source=SCRIPTDIR/../tests/lab/lib.sh
        source "$LAB_DIR/lib.sh" >/dev/null
        cat <<EOF
   $LAN    eth0 192.168.1.10 (a LAN client), 192.168.1.66 (a LAN server)
       |
   $GW     eth1 192.168.1.1 (LAN side), eth0 203.0.113.1 (internet side); runs natgwd
       |
   $WAN    eth0 203.0.113.100, and 198.51.100.7, 198.51.100.8: "the internet"
   The internet side has no route to 192.168.1.0/24: only NAT can bring LAN traffic back.
   (Documentation addresses only; the host's own interfaces and routes are not involved.)
EOF

        # -------------------------------------------------------- 3. config, natgwd
        heading "3. The config, checked, then applied by natgwd in $GW"
        conf=$(lab_config demo)
        cat >"$conf" <<'EOF'
# natgwd demo config. The gateway has eth1 on the LAN (192.168.1.0/24)
# and eth0 on the internet side (203.0.113.1).
version = 1;

# Let the gateway route between its interfaces (net.ipv4.ip_forward).
kernel = { ip_forward = true; };

# Outbound: LAN clients leave through eth0 with the gateway's address.
masquerade = (
  { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; }
);

# Inbound: ports of the gateway forwarded to the LAN server 192.168.1.66.
forward = (
  # A web server: outside port 8080, inside port 80.
  { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080;
    to = "192.168.1.66:80"; },

  # A game server: port 6000 on both TCP and UDP, port kept.
  { name = "game"; in_interface = "eth0"; proto = "tcp+udp"; port = 6000;
    to = "192.168.1.66"; },

  # SSH on outside port 2222, for the admin's address 198.51.100.7 only.
  { name = "ssh"; in_interface = "eth0"; proto = "tcp"; port = 2222;
    to = "192.168.1.66:22"; allow_from = "198.51.100.7/32"; }
);
EOF
        say "$conf:"
        sed 's/^/     | /' "$conf"
        echo
        say "\$ natgwd -t -c demo.conf          # check only, change nothing"
        out=$(nsexec "$GW" "$NATGWD" -t -c "$conf" 2>&1) || { say "$out"; fail "natgwd -t rejected the demo config"; }
        say "${out/#"$LAB_TMP/"/}"

        # The same file with a typo: every error is reported with its line, and nothing applies.
        bad=$(lab_config typo)
        sed 's/port = 8080;/port = 80800;/' "$conf" >"$bad"
        if out=$(nsexec "$GW" "$NATGWD" -t -c "$bad" 2>&1); then
                fail "natgwd -t accepted port 80800"
        fi
        say "\$ natgwd -t -c typo.conf          # the same file with port = 80800"
        say "${out//"$LAB_TMP/"/}   (exit 1)"

        serve_in "$LAN" --tcp 80,22,6000 --udp 6000
        lan_log=$SERVE_LOG
        serve_in "$WAN" --tcp 80
        wan_log=$SERVE_LOG

        echo
        say "Before natgwd (servers listen on 192.168.1.66 and 203.0.113.100):"
        if out=$(ask_from "$LAN" tcp 203.0.113.100 80 --from 192.168.1.10 --timeout 1 2>&1); then
                fail "LAN client reached the internet before natgwd ran: $out"
        fi
        say "  LAN client → 203.0.113.100:80    no answer: gw does not route yet, and no route back"
        if out=$(ask_from "$WAN" tcp 203.0.113.1 8080 --from 198.51.100.7 2>&1); then
                fail "203.0.113.1:8080 answered before natgwd ran: $out"
        fi
        [[ $out == *"Connection refused"* ]] || fail "203.0.113.1:8080 before natgwd: want 'Connection refused', got '$out'"
        say "  internet → 203.0.113.1:8080      refused: nothing listens on the gateway itself"

        echo
        # start_natgwd (tests/lab/lib.sh) gives natgwd the lab's own control socket, $CTL_SOCK.
        say "\$ natgwd -c demo.conf -S control.sock   # in $GW, in the background; natgwctl -S talks to it"
        start_natgwd "$conf" >/dev/null
        sed "s|$LAB_TMP/||; s/^/   /" "$NATGWD_LOG"
        fwd=$(wait_gw_sysctl net.ipv4.ip_forward 1)
        [[ $fwd == 1 ]] || fail "natgwd did not switch on net.ipv4.ip_forward in $GW (it is $fwd)"
        say "natgwd replaced table inet natgw in one transaction and set net.ipv4.ip_forward = 1 (in $GW only)."

        # -------------------------------------------------------- 4. traffic
        # reply WHAT NS ARGS...: natgw-peer ask in NS; prints the server's reply line, or fails
        # the demo saying what did not work.
        reply() {
                local what=$1 out
                shift

                out=$(ask_from "$@" 2>&1) || fail "$what: no reply ($out)"
                echo "$out"
        }

        heading "4. Real traffic through the gateway (natgw-peer: each reply says who the server saw)"

        say "Outbound, masquerade \"lan\":  LAN client 192.168.1.10 → internet server 203.0.113.100:80"
        out=$(reply "masquerade: LAN client → 203.0.113.100:80" "$LAN" tcp 203.0.113.100 80 --from 192.168.1.10)
        say "  server replied: $out"
        [[ $out =~ ^peer=203\.0\.113\.1:[0-9]+\ local=203\.0\.113\.100:80\ proto=tcp$ ]] ||
                fail "the internet server did not see the gateway's address 203.0.113.1: '$out'"
        [[ $(server_saw "$wan_log" "peer=192\.168\.") == 0 ]] || fail "a LAN address reached the internet side untranslated"
        say "  ok: the far end sees 203.0.113.1 (the gateway), never 192.168.1.10"

        echo
        say "Inbound, forward \"web\":  internet client 198.51.100.7 → 203.0.113.1:8080"
        out=$(reply "forward web: 198.51.100.7 → 203.0.113.1:8080" "$WAN" tcp 203.0.113.1 8080 --from 198.51.100.7)
        say "  server replied: $out"
        [[ $out =~ ^peer=198\.51\.100\.7:[0-9]+\ local=192\.168\.1\.66:80\ proto=tcp$ ]] ||
                fail "203.0.113.1:8080 did not reach 192.168.1.66:80 from 198.51.100.7: '$out'"
        say "  ok: the LAN server 192.168.1.66 answered on port 80 and saw the real client 198.51.100.7"

        echo
        say "Inbound, forward \"game\" (tcp+udp):  198.51.100.8 → 203.0.113.1:6000"
        for proto in tcp udp; do
                out=$(reply "forward game: $proto 198.51.100.8 → 203.0.113.1:6000" "$WAN" $proto 203.0.113.1 6000 --from 198.51.100.8)
                say "  $proto: server replied: $out"
                [[ $out =~ ^peer=198\.51\.100\.8:[0-9]+\ local=192\.168\.1\.66:6000\ proto=$proto$ ]] ||
                        fail "$proto 203.0.113.1:6000 did not reach 192.168.1.66:6000: '$out'"
        done
        say "  ok: one entry, both protocols, port kept"

        echo
        say "Inbound, forward \"ssh\" with allow_from 198.51.100.7:  → 203.0.113.1:2222"
        out=$(reply "forward ssh: allowed client 198.51.100.7 → 203.0.113.1:2222" "$WAN" tcp 203.0.113.1 2222 --from 198.51.100.7)
        say "  from 198.51.100.7: server replied: $out"
        [[ $out =~ ^peer=198\.51\.100\.7:[0-9]+\ local=192\.168\.1\.66:22\ proto=tcp$ ]] ||
                fail "the allowed client did not reach 192.168.1.66:22: '$out'"
        if out=$(ask_from "$WAN" tcp 203.0.113.1 2222 --from 198.51.100.8 2>&1); then
                fail "198.51.100.8 was forwarded although allow_from excludes it: $out"
        fi
        [[ $out == *"Connection refused"* ]] || fail "198.51.100.8 → 2222: want 'Connection refused', got '$out'"
        [[ $(server_saw "$lan_log" "peer=198\.51\.100\.8:[0-9]+ local=192\.168\.1\.66:22 ") == 0 ]] ||
                fail "the LAN server saw 198.51.100.8 on port 22"
        say "  from 198.51.100.8: refused by the gateway itself"
        say "  ok: the other client was not translated at all; the LAN server never saw it"

        # -------------------------------------------------------- 5. natgwctl
        heading "5. What natgwd reports (natgwctl, over the lab's control socket)"

        say "\$ natgwctl -S control.sock show      # every entry with its counter"
        out=$(natgwctl show 2>&1) || fail "natgwctl show failed: $out"
        sed -E 's/ +$//; s/^/     /' <<<"$out"
        shown=$(natgwctl -j show | jq -r '.entries[] | "\(.name)\t\(.connections)"') || fail "natgwctl -j show failed"
        for entry in lan web game ssh; do
                packets=$(awk -F '\t' -v e="$entry" '$1 == e { print $2 }' <<<"$shown")
                if ! [[ $packets =~ ^[0-9]+$ ]] || ((packets == 0)); then
                        fail "natgwctl show: the counter of entry '$entry' is '$packets', want > 0"
                fi
        done
        say "NAT rules see only the first packet of a connection (conntrack translates the rest),"
        say "so these count new connections: game 2 (tcp and udp), ssh 1 (the refused client is not counted)."

        # The conntrack watch checks once a second: let it see the connections above (at most 3 s).
        for ((i = 0; i < 30; i++)); do
                count=$(natgwctl -j status | jq -r '.conntrack.count // 0') || fail "natgwctl -j status failed"
                ((count > 0)) && break
                sleep 0.1
        done
        ((count > 0)) || fail "natgwctl status: the conntrack watch saw no entries within 3 s"

        echo
        say "\$ natgwctl -S control.sock status"
        out=$(natgwctl status 2>&1) || fail "natgwctl status failed: $out"
        printf '%s\n' "${out//"$LAB_TMP/"/}" | sed 's/^/     /'
        [[ $out == *"(generation 1)"* ]] || fail "natgwctl status: want generation 1: $out"
        [[ $out =~ conntrack:\ +[0-9]+\ of\ [0-9]+\ entries ]] || fail "natgwctl status shows no conntrack count: $out"
        say "The config in force, the kernel settings natgwd made (ip_forward: previous 0, now 1),"
        say "the conntrack watch's last check and what happens to the table when natgwd stops."

        # -------------------------------------------------------- 6. kernel state
        heading "6. What the kernel holds in $GW"

        say "\$ conntrack -L                          # the translated connections, summarised"
        ct=$(conntrack_gw -f ipv4)
        # original tuple first, then the reply tuple: where they differ, the gateway translated
        awk '{
                n = 0; state = ($4 ~ /^[A-Z_]+$/) ? $4 : ""
                for (i = 1; i <= NF; i++)
                        if (split($i, kv, "=") == 2 && kv[1] ~ /^(src|dst|sport|dport)$/)
                                v[kv[1], (n += (kv[1] == "src"))] = kv[2]
                osrc = v["src", 1] (v["sport", 1] ? ":" v["sport", 1] : "")
                odst = v["dst", 1] (v["dport", 1] ? ":" v["dport", 1] : "")
                rsrc = v["src", 2] (v["sport", 2] ? ":" v["sport", 2] : "")
                rdst = v["dst", 2] (v["dport", 2] ? ":" v["dport", 2] : "")
                if (rsrc != odst) what = "DNAT to " rsrc
                else if (rdst != osrc) what = "SNAT, leaves as " rdst
                else what = "not translated"
                printf "     %-3s %-20s -> %-20s %-11s %s\n", $1, osrc, odst, state, what
                delete v
        }' <<<"$ct"
        grep -qE "src=192\.168\.1\.10 dst=203\.0\.113\.100 sport=[0-9]+ dport=80 .*src=203\.0\.113\.100 dst=203\.0\.113\.1 " <<<"$ct" ||
                fail "conntrack shows no masquerade of 192.168.1.10: $ct"
        grep -qE "src=198\.51\.100\.7 dst=203\.0\.113\.1 sport=[0-9]+ dport=8080 .*src=192\.168\.1\.66 dst=198\.51\.100\.7 sport=80 " <<<"$ct" ||
                fail "conntrack shows no DNAT of 203.0.113.1:8080 to 192.168.1.66:80: $ct"
        say "One line per connection the gateway tracks: as the client sent it, and what NAT made of it."

        echo
        say "\$ nft list table inet natgw             # abbreviated: named counters and *_ctr maps left out"
        nsexec "$GW" nft list table inet natgw | awk '
                skip { if ($0 ~ /^\t}/) skip = 0; next }
                /^\tcounter [^ ]+ \{/ || /^\tmap [^ ]+_ctr \{/ { skip = 1; next }
                { print }' | cat -s | sed 's/^\t\t\t     /\t\t             /' | expand -t 2 | sed 's/^/     /'
        say "prerouting: a packet to the gateway's own address is looked up by (interface[, source],"
        say "protocol, port) in the fwd4 maps and DNATed to the address:port found there. postrouting:"
        say "(out interface, source) in egress4 picks the chain egress-lan, which counts and masquerades."

        # -------------------------------------------------------- 6. stop, clean up
        heading "7. Stop natgwd, remove the lab"
        stop_natgwd >/dev/null
        out=$(reply "NAT after natgwd exited: LAN client → 203.0.113.100:80" "$LAN" tcp 203.0.113.100 80 --from 192.168.1.10)
        [[ $out =~ ^peer=203\.0\.113\.1: ]] || fail "NAT stopped working when natgwd exited: '$out'"
        say "natgwd stopped (SIGTERM to its PID): it leaves its table in place, and NAT keeps"
        say "working without it (LAN client → internet still arrives as 203.0.113.1)."
        say "Deleting $LAN, $GW and $WAN now removes the links, addresses, rules and connections."
}

main() {
        local rc=0 suffix ns left=()

        echo "${B}natgwd demo${N}: a NAT gateway in a throwaway lab of network namespaces"
        build
        # The lab in a subshell, errexit on inside (not in a condition, where bash would drop it).
        set +e
        (
                set -e
                lab
        )
        rc=$?
        set -e
        suffix=${LAB_SUFFIX:-$$}
        for ns in "lan-$suffix" "gw-$suffix" "wan-$suffix"; do
                ip netns list | awk '{ print $1 }' | grep -qFx "$ns" && left+=("$ns")
        done
        if ((${#left[@]})); then
                echo "FAIL: natgwd demo: namespaces left behind: ${left[*]} (remove: ip netns del NAME)" >&2
                exit 1
        fi
        if ((rc != 0)); then
                echo >&2
                if ((rc == 130 || rc == 143)); then
                        echo "natgwd demo: interrupted (exit $rc)." >&2
                else
                        echo "FAIL: natgwd demo did not complete (exit $rc); see the FAIL line above." >&2
                fi
                echo "The lab has been removed; the host's interfaces, routes, sysctls and nftables are untouched." >&2
                exit "$rc"
        fi
        say "The lab is gone (ip netns list shows no lan-$suffix, gw-$suffix, wan-$suffix)."
        echo
        echo "${B}Done.${N} natgwd ran only inside the lab. Nothing on this host was changed: its interfaces,"
        echo "addresses, routes, sysctls and nftables ruleset are as they were (what stays: the packages"
        echo "scripts/deps.sh installed and the build directory). Next, as root: scripts/test.sh"
}

main "$@"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# An HA pair (docs/HA.md) with the shipped configs of conf/ha/: keepalived and conntrackd do
# the work, natgwctl ha orders it, natgwd shows it. Proven with real traffic:
#
#   lan-S 192.168.1.10 ─ brl-S (bridge) ─┬─ gwa-S eth1 .2 ┐ eth2 10.99.0.1 ┐ eth0 203.0.113.2 ─┐
#     (default via VIP 192.168.1.1)      └─ gwb-S eth1 .3 ┘ eth2 10.99.0.2 ┘ eth0 203.0.113.3 ─┴─ brw-S ─ wan-S 203.0.113.50
#
# - a TCP stream LAN → WAN (SNAT to the public VIP), a TCP stream WAN → LAN (forward on the
#   VIP) and a UDP flow, each a message every 50 ms;
# - node A dies (every process of gwa SIGKILLed, its LAN and WAN links down): the streams go on through B
#   with the same translated address and port, no reset; the gaps are printed; new TCP
#   connections work through B at once;
# - A comes back (rebooted: empty conntrack table), gets the table from B, preempts: failback,
#   again without a reset;
# - preempt off (conf/ha's commented nopreempt enabled on both): A dies again, B takes over, A
#   returns and stays backup; the streams go on through B, same ports, no reset; in that
#   failover B's commit is held back 1 s while the WAN server sends to a quiet UDP flow's port:
#   the flow keeps its port (the guard's UDP rule, docs/HA.md);
# - the sync link is cut (packets dropped, carrier up): both nodes become master and both
#   report the split-brain in `natgwctl status -j`.
# Tuned VRRP timers (advert_int 0.2; HA_TIMERS=default keeps the shipped 1 s) keep it under a
# minute. HA_RUNS=N (outside CI) repeats the failover N times and prints the median gap.

# HA_RUNS=N (N > 1, not under CI): run the whole test N times and print the median of each gap.
if ((${HA_RUNS:-1} > 1)) && [[ ${CI:-} != true ]]; then
        out=$(mktemp)
        for ((run = 1; run <= HA_RUNS; run++)); do
                HA_RUNS=1 "$0" | tee -a "$out" | grep -E "gap|PASS" || exit 1
        done
        # "# egress: failover gap 954.8 ms, failback gap 0 ms, ... (387 answers)"
        for f in egress forward udp; do
                for kind in failover failback failover2 return; do
                        sed -n "s/^# $f: .*$kind gap \([0-9.]*\) ms.*/\1/p" "$out" | sort -n |
                                awk -v f="$f" -v k="$kind" -v n="$HA_RUNS" '{ v[NR] = $1 }
                                        END { printf "# median %s %s gap over %d runs: %s ms\n", f, k, n,
                                              NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
                done
        done
        rm -f "$out"
        exit 0
fi

LAB_TOPOLOGY=own
# shellcheck source=tests/lab/lib.sh
source "$(dirname "$0")/lib.sh"

ADVERT=0.2
[[ ${HA_TIMERS:-} == default ]] && ADVERT=1
# shellcheck source=tests/lab/ha-lib.sh
source "$LAB_DIR/ha-lib.sh"
ha_need_tools python3
FLOW=$LAB_DIR/ha-flow.py
LAB_START=$(date +%s%N)
# Every line with the seconds since the start: the lab's budget is a minute.
info() {
        printf '# [%5.1f s] %s\n' "$(((($(date +%s%N) - LAB_START) / 100000000)))e-1" "$*"
}

ha_topology
# The servers start while the nodes do (python's start-up is slow on a loaded machine).
ip netns exec "$WAN" python3 -S "$FLOW" serve --tcp 9000 --udp 9001 --seconds 110 >/dev/null 2>&1 </dev/null &
LAB_PIDS+=($!)
ip netns exec "$LAN" python3 -S "$FLOW" serve --tcp 8080 --udp 5060 --seconds 110 >/dev/null 2>&1 </dev/null &
LAB_PIDS+=($!)
ha_start
info "A master, B backup"
# The backup drops mid-connection TCP to the VIPs until its commit (docs/HA.md, the guard).
assert_eq true "$(field b guard)" "the backup's guard of the VIPs is in place"
assert_eq false "$(field a guard)" "the master has no guard"
assert_eq true "$(field b guard_udp)" "the backup's guard drops new UDP to the VIPs too"

# ---------------------------------------------------------------- traffic

STOP=$LAB_TMP/stop
# flow NAME NS PROTO ADDR PORT: a 50 ms stream in the background, results in $LAB_TMP/NAME.json.
flow() {
        ip netns exec "$2" python3 -S "$FLOW" stream "$3" "$4" "$5" --interval 0.05 --seconds 80 --stop "$STOP" \
                --out "$LAB_TMP/$1.json" 2>"$LAB_TMP/$1.err" </dev/null &
        LAB_PIDS+=($!)
        FLOW_PIDS+=($!)
}
FLOW_PIDS=()
flow egress "$LAN" tcp 203.0.113.50 9000
flow forward "$WAN" tcp 203.0.113.10 8080
flow udp "$LAN" udp 203.0.113.50 9001

# B must hold the three connections in its external cache before A dies.
for ((i = 0; i < 100; i++)); do
        ext=$(field b external)
        [[ $ext =~ ^[0-9]+$ ]] || ext=0
        ((ext >= 3)) && break
        sleep 0.05
done
((ext >= 3)) || fail "B's conntrackd holds $ext of A's connections, want 3: $(status b | jq -c .ha.sync)"
info "ok: B holds A's $ext connections in conntrackd's external cache"
sleep 0.3

# ---------------------------------------------------------------- failover

# new_conn NS ADDR PORT LABEL: a new TCP connection is answered at once (natgw-peer ask sends a
# line, ha-flow.py's server answers it with the peer it saw).
new_conn() {
        local out

        out=$(timeout 5 ip netns exec "$1" "$NATGW_PEER" ask tcp "$2" "$3" --timeout 2) || fail "$4: no answer"
        assert_match "^peer=" "$out" "$4"
}

FAILOVER_AT=$(date +%s.%N)
kill_node a
info "node A killed at $FAILOVER_AT (SIGKILL, LAN and WAN links down)"
wait_roles down master 10
MASTER_AT=$(date +%s.%N)
new_conn "$LAN" 203.0.113.50 9000 "a new LAN → WAN connection through B right after its transition"
new_conn "$WAN" 203.0.113.10 8080 "a new WAN → LAN forward connection through B right after its transition"
info "B master $(awk -v a="$FAILOVER_AT" -v b="$MASTER_AT" 'BEGIN {printf "%.0f", (b - a) * 1000}') ms after the kill"
st=$(status b)
assert_eq true "$(jq -r .ha.last_transition.result <<<"$st")" "B's transition to master: every conntrackd step worked"
assert_eq false "$(jq -r .ha.guard <<<"$st")" "B took its guard away after the commit"
info "B's conntrackd sequence took $(jq -r .ha.last_transition.ms <<<"$st") ms"
# For a look afterwards (LAB_KEEP=1): B's UDP entries right after its commit.
ip netns exec "$GWB" conntrack -L -p udp >"$LAB_TMP/b/udp-after-failover.txt" 2>&1 || true
sleep 1

# ---------------------------------------------------------------- failback

FAILBACK_AT=$(date +%s.%N)
reboot_node a
wait_roles master backup 15
info "failback: A master again $(awk -v a="$FAILBACK_AT" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s after its restart"
sleep 1

# ---------------------------------------------------------------- preempt off

# The same pair with conf/ha's commented `nopreempt` enabled on both nodes (B's keepalived
# reloads it, A's reads it when it restarts): A dies again, B takes over; A returns and stays
# backup; the streams keep going through B.
#
# This failover also holds B's commit back for a second (natgwctl ha runs a conntrackd wrapper
# that sleeps before -c while $LAB_TMP/slow-commit exists) and sends, in that second, datagrams
# from the WAN server to the public VIP and the translated port of a quiet UDP flow (a server
# that speaks first, or the reply to a datagram the old master forwarded): without the guard's
# UDP rule, B's conntrack made an entry of them (to B's own stack), the commit of the flow's
# entry clashed with it, and the flow's next datagram got a new port.
# shellcheck disable=SC2016 # the wrapper's own $3 and $@
printf '#!/bin/bash\n[[ $3 == -c && -e %s ]] && sleep 1\nexec conntrackd "$@"\n' "$LAB_TMP/slow-commit" \
        >"$LAB_TMP/conntrackd-slow"
chmod +x "$LAB_TMP/conntrackd-slow"
HA_PREEMPT=off
node_files a
HA_CONNTRACKD_B=$LAB_TMP/conntrackd-slow node_files b
kill -HUP "$(cat "$LAB_TMP/b/keepalived.pid")"
sleep 0.5
wait_roles master backup 5
info "preempt off: both keepalived configs have nopreempt, B's reloaded"

# quiet_udp: what the WAN server saw of the LAN's UDP flow from port 40000 (one datagram).
quiet_udp() {
        timeout 5 ip netns exec "$LAN" "$NATGW_PEER" ask udp 203.0.113.50 9001 --sport 40000 --timeout 2 ||
                fail "the quiet UDP flow got no answer"
}
quiet_before=$(quiet_udp)
assert_match "^peer=203\.0\.113\.10:[0-9]+" "$quiet_before" "the quiet UDP flow through A"
for ((i = 0; i < 60; i++)); do
        [[ $(ip netns exec "$GWB" conntrackd -C "$LAB_TMP/b/conntrackd.conf" -e 2>/dev/null) == *sport=40000* ]] && break
        sleep 0.05
done
((i < 60)) || fail "B's conntrackd did not get the quiet UDP flow's entry"
qport=${quiet_before#peer=203.0.113.10:}
qport=${qport%%[!0-9]*}
touch "$LAB_TMP/slow-commit"
FAILOVER2_AT=$(date +%s.%N)
kill_node a
for ((i = 0; i < 1000; i++)); do
        [[ $(ip -n "$GWB" -br addr show dev eth0) == *203.0.113.10* ]] && break
        sleep 0.01
done
# From the WAN server's port, raw: its own socket on that port stays as it is.
ip netns exec "$WAN" python3 -S -c '
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
p = b"early\n"
end = time.monotonic() + 0.5
while time.monotonic() < end:
    s.sendto(struct.pack("!HHHH", 9001, int(sys.argv[1]), 8 + len(p), 0) + p, ("203.0.113.10", 0))
    time.sleep(0.02)' "$qport"
wait_roles down master 10
rm -f "$LAB_TMP/slow-commit"
info "preempt off: A killed again, B master (its commit held back 1 s, WAN datagrams to the VIP meanwhile)"
assert_eq "$quiet_before" "$(quiet_udp)" "the quiet UDP flow kept its translated port across a commit that came late"
sleep 0.5
RETURN_AT=$(date +%s.%N)
reboot_node a
wait_roles backup master 15
info "preempt off: A back as backup $(awk -v a="$RETURN_AT" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s after its restart"
# Longer than the lab's preempt_delay (1 s) and 3 adverts: a preempting A would have taken over.
for ((i = 0; i < 12; i++)); do
        [[ $(role a) == backup && $(role b) == master ]] ||
                fail "preempt off: A took the VIPs back (A $(role a), B $(role b))"
        sleep 0.25
done
[[ $(ip -n "$GWA" -br addr show dev eth0) != *203.0.113.10* ]] || fail "preempt off: A holds the public VIP"
[[ $(ip -n "$GWB" -br addr show dev eth0) == *203.0.113.10* ]] || fail "preempt off: B lost the public VIP"
info "ok: preempt off: A stays backup, B keeps the VIPs"
new_conn "$LAN" 203.0.113.50 9000 "preempt off: a new LAN → WAN connection through B with A back"

touch "$STOP"
for pid in "${FLOW_PIDS[@]}"; do
        for ((i = 0; i < 50; i++)); do
                lab_running "$pid" || break
                sleep 0.1
        done
        wait "$pid" || fail "a flow client failed: $(cat "$LAB_TMP"/*.err)"
done

python3 -S "$FLOW" verdict "$LAB_TMP" failover="$FAILOVER_AT" failback="$FAILBACK_AT" \
        failover2="$FAILOVER2_AT" return="$RETURN_AT" || fail "the flows did not survive (above)"

# ---------------------------------------------------------------- split-brain

# The sync link cut with its carrier up (a broken switch): VRRP and conntrackd both go silent.
for ns in "$GWA" "$GWB"; do
        ip netns exec "$ns" nft -f - <<'NFT'
table netdev labcut {
        chain in { type filter hook ingress device "eth2" priority 0; policy drop; }
}
NFT
done
deadline=$(($(date +%s%N) + 10 * 1000000000))
while (($(date +%s%N) < deadline)); do
        [[ $(field a split_brain) == true && $(field b split_brain) == true ]] && break
        sleep 0.1
done
for x in a b; do
        st=$(status "$x")
        assert_eq master "$(jq -r .ha.role <<<"$st")" "sync link cut: node $x is master"
        assert_eq true "$(jq -r .ha.split_brain <<<"$st")" "sync link cut: node $x reports the split-brain"
        assert_eq peer-silent "$(jq -r .ha.sync.state <<<"$st")" "sync link cut: node $x's sync state"
done
[[ $(ip netns exec "$GWB" "$NATGWCTL" -S "$LAB_TMP/b/control.sock" status) == *SPLIT-BRAIN* ]] ||
        fail "natgwctl status does not say SPLIT-BRAIN"
info "ok: natgwctl status says SPLIT-BRAIN"
for ns in "$GWA" "$GWB"; do
        ip netns exec "$ns" nft delete table netdev labcut
done
# nopreempt does not keep a master that hears a higher priority: A (150) wins again.
wait_roles master backup 10
info "sync link back: A master, B backup"

info "PASS"

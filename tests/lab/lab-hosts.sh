#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# metrics.hosts, the entries' traffic counters and natgwctl top against the real kernel:
#   1. known traffic from two inside hosts (and IPv6 from a third): each host's bytes out and in
#      as natgwd reports them are those sent and answered, within 2 %, with the entry it leaves
#      by and its connection;
#   2. natgwctl top -j ranks by current rate: the host sending faster now comes first;
#   3. a forward's traffic counter (bytes:web) moves with a connection through it;
#   4. the bound: 100,000 distinct sources in a few seconds leave at most 65,536 hosts in the
#      set, and the packets of the others are counted as untracked;
#   5. a reload that switches metrics.hosts off takes the sets away (top says why it cannot
#      run), one that switches it on brings them back, empty.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

command -v jq >/dev/null || lab_skip "jq is not installed"
TRAFFIC=$LAB_DIR/hosts-traffic.py
NATGW_SPRAY=${NATGW_SPRAY:-$SRCDIR/build/tests/lab/natgw-spray}
[[ -x $NATGW_SPRAY ]] || lab_skip "no natgw-spray at $NATGW_SPRAY (build it first)"

conf=$(lab_config hosts)
cat >"$conf" <<'EOF'
version = 1;
kernel = { ip_forward = true; ipv6_forward = true; };
masquerade = (
  { name = "lan"; source = [ "192.168.1.0/24", "fd00:1::/64" ]; out_interface = "eth0"; },
  { name = "many"; source = "10.200.0.0/15"; out_interface = "eth0"; }
);
forward = ( { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; } );
metrics = { hosts = true; };
EOF

# The answering side: 500 bytes back for every datagram, for at most 90 s.
ip netns exec "$WAN" python3 "$TRAFFIC" echo 5000 --reply 500 --seconds 90 >"$LAB_TMP/echo.out" 2>&1 &
LAB_PIDS+=("$!")
serve_in "$LAN" --tcp 80
start_natgwd "$conf"
for ((i = 0; i < 50; i++)); do
        grep -q listening "$LAB_TMP/echo.out" && break
        sleep 0.1
done

# send FROM TO COUNT: COUNT datagrams of 1000 bytes from FROM, in the background; check_sent
# waits for them and checks that each was answered.
SENDERS=()
send() {
        local from=$1 to=$2 count=$3

        timeout 60 ip netns exec "$LAN" python3 "$TRAFFIC" send "$to" 5000 --from "$from" --count "$count" \
                --size 1000 >"$LAB_TMP/send.$from.out" 2>&1 &
        LAB_PIDS+=("$!")
        SENDERS+=("$!:$from:$count")
}
check_sent() {
        local s pid from count

        for s in "${SENDERS[@]}"; do
                pid=${s%%:*} count=${s##*:} from=${s#*:} from=${from%:*}
                wait "$pid" || fail "send from $from failed: $(cat "$LAB_TMP/send.$from.out")"
                assert_eq "sent=$count answered=$count" "$(cat "$LAB_TMP/send.$from.out")" \
                        "every datagram from $from answered"
        done
        SENDERS=()
}

# host_field ADDR FIELD: FIELD of host ADDR in natgwd's hosts reply.
host_field() {
        jq -r --arg a "$1" --arg f "$2" '.hosts[] | select(.address == $a) | .[$f]' "$LAB_TMP/hosts.json"
}

# within GOT WANT WHAT: GOT is WANT, or at most 2 % above it (nothing else from that host).
within() {
        [[ $1 =~ ^[0-9]+$ ]] || fail "$3: got '$1', want $2"
        (($1 >= $2 && $1 * 100 <= $2 * 102)) || fail "$3: got $1, want $2 (within 2 %)"
        info "ok: $3: $1 (sent $2)"
}

info "1: known traffic from 192.168.1.10 (300 x 1000 bytes), 192.168.1.66 (100) and fd00:1::10 (50)"
send 192.168.1.10 203.0.113.100 300
send 192.168.1.66 203.0.113.100 100
send fd00:1::10 2001:db8:1::100 50
check_sent
natgwctl -j hosts >"$LAB_TMP/hosts.json" || fail "natgwctl hosts failed: $(cat "$LAB_TMP/hosts.json")"
# IP bytes: IPv4 + UDP headers 28 bytes, IPv6 + UDP 48.
within "$(host_field 192.168.1.10 bytes_out)" $((300 * 1028)) "192.168.1.10 out"
within "$(host_field 192.168.1.10 bytes_in)" $((300 * 528)) "192.168.1.10 in"
within "$(host_field 192.168.1.66 bytes_out)" $((100 * 1028)) "192.168.1.66 out"
within "$(host_field 192.168.1.66 bytes_in)" $((100 * 528)) "192.168.1.66 in"
within "$(host_field fd00:1::10 bytes_out)" $((50 * 1048)) "fd00:1::10 out"
within "$(host_field fd00:1::10 bytes_in)" $((50 * 548)) "fd00:1::10 in"
within "$(host_field 192.168.1.10 packets_out)" 300 "192.168.1.10 packets out"
assert_eq lan "$(host_field 192.168.1.10 entry)" "192.168.1.10 leaves by entry lan"
assert_eq 1 "$(host_field 192.168.1.10 connections)" "192.168.1.10 holds its one UDP flow"
assert_eq 3 "$(jq '.hosts | length' "$LAB_TMP/hosts.json")" "natgwd knows the three hosts, no other"

info "2: natgwctl top -j ranks by the rate now: 192.168.1.66 sends faster than 192.168.1.10"
timeout 60 ip netns exec "$LAN" python3 "$TRAFFIC" send 203.0.113.100 5000 --from 192.168.1.66 --count 6000 \
        --size 1000 --interval 0.5 >"$LAB_TMP/fast.out" 2>&1 &
fast=$!
timeout 60 ip netns exec "$LAN" python3 "$TRAFFIC" send 203.0.113.100 5000 --from 192.168.1.10 --count 250 \
        --size 1000 --interval 20 >"$LAB_TMP/slow.out" 2>&1 &
slow=$!
LAB_PIDS+=("$fast" "$slow")
# Both are sending once both counters move (python may take a while to start on a busy machine).
for ((i = 0; i < 100; i++)); do
        natgwctl -j hosts >"$LAB_TMP/hosts.json"
        (($(host_field 192.168.1.66 packets_out) > 100 && $(host_field 192.168.1.10 packets_out) > 300)) && break
        sleep 0.1
done
natgwctl -j top -n 2 >"$LAB_TMP/top.json" || fail "natgwctl top -j failed: $(cat "$LAB_TMP/top.json")"
kill "$fast" "$slow" 2>/dev/null || true
wait "$fast" "$slow" 2>/dev/null || true
assert_eq "192.168.1.66 192.168.1.10" "$(jq -r '[.hosts[].address] | join(" ")' "$LAB_TMP/top.json")" \
        "top -j -n 2: the faster host first, two rows"
jq -e '.hosts[0].rate_out > .hosts[1].rate_out and .hosts[1].rate_out > 0 and .hosts[0].rate_in > 0' \
        "$LAB_TMP/top.json" >/dev/null || fail "top -j rates: $(jq -c '.hosts' "$LAB_TMP/top.json")"
info "ok: rates out $(jq -r '[.hosts[].rate_out | floor] | join(" and ")' "$LAB_TMP/top.json") bytes/s"

info "3: a forward's traffic counter moves"
before=$(natgwctl -j show | jq '.entries[] | select(.name == "web") | .traffic_bytes')
assert_eq 0 "$before" "web has carried nothing yet"
ask_ok "$WAN" tcp 203.0.113.1 8080 >/dev/null
after=$(natgwctl -j show | jq '.entries[] | select(.name == "web") | .traffic_bytes')
((after > 0)) || fail "web's traffic_bytes did not move: $after"
info "ok: web carried $after bytes"
lan=$(natgwctl -j show | jq '.entries[] | select(.name == "lan") | .traffic_bytes')
((lan >= 400 * 1556 + 50 * 1596)) || fail "lan's traffic_bytes $lan is less than phase 1 sent through it"

info "4: the bound: 100,000 sources in a few seconds"
nsexec "$GW" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth1.rp_filter=0
out=$(timeout 90 ip netns exec "$LAN" "$NATGW_SPRAY" 203.0.113.100 9 --net 10.200.0.0 --count 100000) ||
        fail "spray failed: $out"
info "$out"
natgwctl -j hosts >"$LAB_TMP/hosts.json" || fail "natgwctl hosts failed"
v4=$(jq '[.hosts[] | select(.address | contains(".")) | select(.bytes_out > 0)] | length' "$LAB_TMP/hosts.json")
untracked=$(jq '.untracked_packets' "$LAB_TMP/hosts.json")
((v4 <= 65536)) || fail "$v4 IPv4 hosts sending: more than the bound of 65,536"
((v4 > 60000)) || fail "only $v4 IPv4 hosts: the spray did not fill the set"
((untracked >= 100000 - 65536)) || fail "untracked packets $untracked, want at least $((100000 - 65536))"
info "ok: $v4 hosts tracked, $untracked packets untracked"

info "5: metrics.hosts switched off and on by reloads"
sed -i 's/hosts = true/hosts = false/' "$conf"
reload_ok >/dev/null
if out=$(natgwctl top -j 2>&1); then
        fail "natgwctl top worked with metrics.hosts off: $out"
fi
assert_match "per-host accounting is off" "$out" "top says metrics.hosts is off"
assert_no_match "hosts4_out" "$(nsexec "$GW" nft list sets inet)" "the host sets are gone"
sed -i 's/hosts = false/hosts = true/' "$conf"
reload_ok >/dev/null
natgwctl -j hosts >"$LAB_TMP/hosts.json" || fail "natgwctl hosts failed after hosts came back"
assert_eq 0 "$(jq '.hosts | length' "$LAB_TMP/hosts.json")" "the host sets are back, empty"
lab_pass

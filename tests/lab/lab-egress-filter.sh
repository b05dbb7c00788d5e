#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# filter = { forward = "drop"; } (issue 14): natgwd's table becomes the FORWARD policy DROP.
# The WAN host gets a route to the LAN (inside the lab), so that traffic can be routed there
# untranslated:
#   - accept (default, and a file without filter): routed untranslated traffic passes both ways;
#   - drop: it is dropped and counted (filter:forward, forward_dropped in show), while the
#     forward (DNAT) and the masquerade keep working, replies included;
#   - reloads switch between the two (chain forward created and removed in an update).

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

serve_in "$LAN" --tcp 80,22 --udp 53
serve_in "$WAN" --tcp 80 --udp 53
wan_log=$SERVE_LOG
nsexec "$WAN" ip route add 192.168.1.0/24 via 203.0.113.1

conf=$(lab_config filter)
write_conf() {
        cat >"$conf" <<EOF2
version = 1;
$1
masquerade = (
  { name = "lan"; source = "192.168.1.10/32"; out_interface = "eth0"; }
);
forward = (
  { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; }
);
EOF2
}

dropped() {
        natgwctl -j show | jq -r .forward_dropped
}

works() {
        local out

        out=$(ask_ok "$WAN" tcp 203.0.113.1 8080 --timeout 2)
        assert_match "^peer=203\.0\.113\.100:[0-9]+ local=192\.168\.1\.66:80 proto=tcp$" "$out" "$1: the forward web works"
        out=$(ask_ok "$LAN" tcp 203.0.113.100 80 --timeout 2)
        assert_match "^peer=203\.0\.113\.1:[0-9]+ local=203\.0\.113\.100:80 proto=tcp$" "$out" "$1: lan is masqueraded"
}

info "accept: routed untranslated traffic passes"
write_conf ""
start_natgwd "$conf"
works accept
out=$(ask_ok "$WAN" tcp 192.168.1.66 22 --timeout 2)
assert_match "^peer=203\.0\.113\.100:[0-9]+ local=192\.168\.1\.66:22 proto=tcp$" "$out" "accept: WAN reaches a LAN host directly"
assert_eq null "$(dropped)" "accept: no forward_dropped"
assert_eq 0 "$(nft_json | jq '[.nftables[] | select(.chain.name == "forward")] | length')" \
        "accept without allow lists: natgwd has no forward chain"

info "drop (a reload): routed untranslated traffic is dropped and counted"
write_conf 'filter = { forward = "drop"; };'
reload_ok
works drop
ask_fails "$WAN" tcp 192.168.1.66 22 --timeout 1
ask_fails "$WAN" udp 192.168.1.66 53 --timeout 1
before=$(server_saw "$wan_log" "peer=192\.168\.1\.66")
ask_fails "$LAN" udp 203.0.113.100 53 --from 192.168.1.66 --timeout 1
assert_eq "$before" "$(server_saw "$wan_log" "peer=192\.168\.1\.66")" \
        "drop: 192.168.1.66 (no egress entry) does not reach the WAN untranslated"
n=$(dropped)
[[ $n =~ ^[0-9]+$ ]] && ((n >= 3)) || fail "forward_dropped should count the dropped packets (>= 3), got $n"
info "ok: forward_dropped $n"
assert_match "^filter forward drop: $n packets dropped$" "$(natgwctl show | tail -1)" "show: the filter's line"

info "a TCP stream through the forward lasts across a reload of the filter"
nsexec "$WAN" "$NATGW_PEER" stream tcp 203.0.113.1 8080 --seconds 3 >"$LAB_TMP/stream.out" 2>"$LAB_TMP/stream.err" &
spid=$!
LAB_PIDS+=("$spid")
sleep 1
write_conf 'filter = { forward = "drop"; }; # reloaded'
reload_ok
wait "$spid" || fail "the stream through the forward broke across the reload: $(cat "$LAB_TMP/stream.err")"
assert_match "exchanges=[0-9]+" "$(cat "$LAB_TMP/stream.out")" "the stream through the forward kept going"

info "back to accept (a reload removes chain forward)"
write_conf 'filter = { forward = "accept"; };'
reload_ok
out=$(ask_ok "$WAN" tcp 192.168.1.66 22 --timeout 2)
assert_match "local=192\.168\.1\.66:22 proto=tcp$" "$out" "accept again: WAN reaches the LAN host"
works "accept again"

stop_natgwd
info "PASS"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Masquerade of the LAN out of eth0. Three phases prove that NAT, not routing, makes it work:
#   0. no natgwd: gw does not forward, nothing from the LAN reaches the WAN;
#   1. natgwd with a masquerade for some other prefix: ip_forward is on now and LAN packets do
#      reach the WAN, untranslated (the server logs 192.168.1.10), but no reply comes back;
#   2. natgwd with the LAN masquerade: TCP and UDP work and the WAN sees gw's 203.0.113.1.
# Also: natgwd leaves another tool's table alone; its table outlives it, and the next natgwd
# takes that table over.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

serve_in "$WAN" --tcp 80 --udp 53
wan_log=$SERVE_LOG

# A table of another tool, which natgwd must leave exactly as it is.
nsexec "$GW" nft -f - <<'EOF'
table ip lab_other {
        chain input {
                type filter hook input priority 10; policy accept;
                tcp dport 9 counter accept
        }
}
EOF
other_before=$(nsexec "$GW" nft -s list table ip lab_other)

info "phase 0: no natgwd"
assert_eq 0 "$(gw_sysctl net.ipv4.ip_forward)" "gw starts with ip_forward off"
ask_fails "$LAN" tcp 203.0.113.100 80 --timeout 1
ask_fails "$LAN" udp 203.0.113.100 53 --timeout 1
assert_eq 0 "$(server_saw "$wan_log" .)" "nothing reached the WAN without natgwd"

info "phase 1: natgwd forwards, but does not masquerade the LAN"
other=$(lab_config other)
cat >"$other" <<'EOF'
version = 1;
masquerade = (
  { name = "elsewhere"; source = "10.99.0.0/16"; out_interface = "eth0"; }
);
EOF
start_natgwd "$other"
assert_eq 1 "$(wait_gw_sysctl net.ipv4.ip_forward 1)" "natgwd switched ip_forward on"
ask_fails "$LAN" udp 203.0.113.100 53 --timeout 1
ask_fails "$LAN" tcp 203.0.113.100 80 --timeout 1
assert_match "peer=192\.168\.1\.10:[0-9]+ local=203\.0\.113\.100:53 proto=udp" "$(cat "$wan_log")" \
        "untranslated LAN datagram reached the WAN (and its reply had no way back)"
assert_eq 0 "$(server_saw "$wan_log" "proto=tcp")" "no TCP connection got established untranslated"
stop_natgwd
natgw_table_exists || fail "table inet natgw went away when natgwd stopped"
info "ok: the table outlives natgwd"

info "phase 2: masquerade the LAN (a new natgwd takes the old table over)"
conf=$(lab_config masquerade)
cat >"$conf" <<'EOF'
version = 1;
masquerade = (
  { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; }
);
EOF
start_natgwd "$conf"
assert_eq 1 "$(wait_gw_sysctl net.ipv4.ip_forward 1)" "ip_forward is on"

out=$(ask_ok "$LAN" tcp 203.0.113.100 80)
assert_match "^peer=203\.0\.113\.1:[0-9]+ local=203\.0\.113\.100:80 proto=tcp$" "$out" "TCP from 192.168.1.10 masqueraded"
out=$(ask_ok "$LAN" udp 203.0.113.100 53)
assert_match "^peer=203\.0\.113\.1:[0-9]+ local=203\.0\.113\.100:53 proto=udp$" "$out" "UDP from 192.168.1.10 masqueraded"
out=$(ask_ok "$LAN" tcp 203.0.113.100 80 --from 192.168.1.66)
assert_match "^peer=203\.0\.113\.1:[0-9]+ " "$out" "TCP from 192.168.1.66 masqueraded"
out=$(ask_ok "$LAN" udp 203.0.113.100 53 --from 192.168.1.66)
assert_match "^peer=203\.0\.113\.1:[0-9]+ " "$out" "UDP from 192.168.1.66 masqueraded"
out=$(nsexec "$LAN" "$NATGW_PEER" stream tcp 203.0.113.100 80 --seconds 1) || fail "stream through the masquerade failed: $out"
assert_match "exchanges=([5-9]|1[0-9])$" "$out" "a TCP stream through the masquerade"

# IPv6 is not in the entry: it stays unforwarded (ipv6_forward defaults to false).
assert_eq 0 "$(gw_sysctl net.ipv6.conf.all.forwarding)" "IPv6 forwarding left off"
ask_fails "$LAN" udp 2001:db8:1::100 53 --timeout 1

ct=$(conntrack_gw -p tcp --orig-port-dst 80)
assert_match "src=192\.168\.1\.10 dst=203\.0\.113\.100 sport=[0-9]+ dport=80 .*src=203\.0\.113\.100 dst=203\.0\.113\.1 sport=80" \
        "$ct" "conntrack shows the masquerade"
ct=$(conntrack_gw -p udp --orig-port-dst 53)
assert_match "src=192\.168\.1\.10 dst=203\.0\.113\.100 sport=[0-9]+ dport=53 .*src=203\.0\.113\.100 dst=203\.0\.113\.1 sport=53" \
        "$ct" "conntrack shows the UDP masquerade"

assert_eq natgw "$(nft_json | jq -r '[.nftables[] | select(.table) | .table.name] | join(",")')" "nft -j shows table natgw"
assert_counter lan
assert_eq missing "$(counter_packets elsewhere | cut -c1-7)" "the previous natgwd's entry is gone"
check_dump masquerade
assert_eq "$other_before" "$(nsexec "$GW" nft -s list table ip lab_other)" "the other tool's table is untouched"

stop_natgwd
info "PASS"

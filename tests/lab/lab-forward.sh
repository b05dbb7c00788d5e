#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Port forwards (DNAT) to the LAN server 192.168.1.66, every form of "port" and "to":
# single port rewritten, a port list and a range kept, many ports onto one, range onto range,
# tcp+udp, a forward on any interface, and one bound to a destination address. The server
# must see the real client address (no SNAT on a DNAT) and the port the forward maps to.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

lab_add_dmz

conf=$(lab_config forward)
cat >"$conf" <<'EOF'
version = 1;
masquerade = (
  { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; }
);
forward = (
  { name = "web";   in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; },
  { name = "mail";  in_interface = "eth0"; proto = "tcp"; port = [ 25, 110, 6080 ]; to = "192.168.1.66"; },
  { name = "data";  in_interface = "eth0"; proto = "tcp"; port = "50000-50010"; to = "192.168.1.66"; },
  { name = "shift"; in_interface = "eth0"; proto = "tcp"; port = "7000-7009"; to = "192.168.1.66:9000-9009"; },
  { name = "alt";   in_interface = "eth0"; proto = "tcp"; port = ( 8081, "8090-8091" ); to = "192.168.1.66:80";
    reflection = false; },
  { name = "game";  in_interface = "eth0"; proto = "tcp+udp"; port = 6000; to = "192.168.1.66"; },
  { name = "dns";   proto = "udp"; port = 5353; to = "192.168.1.66:53"; },
  { name = "vip";   in_interface = "eth0"; destination = "203.0.113.10"; proto = "tcp"; port = 8443;
    to = "192.168.1.66:443"; }
);
EOF

serve_in "$LAN" --tcp 80,25,110,6080,50000-50010,9000-9009,6000,443 --udp 6000,53
lan_log=$SERVE_LOG
serve_in "$WAN" --tcp 8080 --udp 5353
wan_log=$SERVE_LOG

# Before natgwd nothing is forwarded: gw itself refuses.
ask_refused "$WAN" tcp 203.0.113.1 8080

start_natgwd "$conf"

# expect_fwd PROTO DST PORT FROM WANT_LOCAL_PORT: a WAN client's request arrives at the server.
expect_fwd() {
        local proto=$1 dst=$2 port=$3 from=$4 lport=$5 out re

        out=$(ask_ok "$WAN" "$proto" "$dst" "$port" --from "$from")
        re="^peer=${from//./\\.}:[0-9]+ local=192\.168\.1\.66:$lport proto=$proto$"
        assert_match "$re" "$out" "$proto $dst:$port from $from arrives at 192.168.1.66:$lport"
}

# web: a single port rewritten
expect_fwd tcp 203.0.113.1 8080 203.0.113.100 80
expect_fwd tcp 203.0.113.1 8080 198.51.100.7 80
# mail: a port list, ports kept
for p in 25 110 6080; do
        expect_fwd tcp 203.0.113.1 $p 198.51.100.7 $p
done
# data: a port range, ports kept, and not one port more
for p in 50000 50005 50010; do
        expect_fwd tcp 203.0.113.1 $p 198.51.100.8 $p
done
ask_refused "$WAN" tcp 203.0.113.1 50011
ask_refused "$WAN" tcp 203.0.113.1 49999
# shift: a range onto a range of the same width
for p in 0 3 9; do
        expect_fwd tcp 203.0.113.1 700$p 198.51.100.7 900$p
done
ask_refused "$WAN" tcp 203.0.113.1 7010
# alt: several ports onto one
expect_fwd tcp 203.0.113.1 8081 198.51.100.7 80
expect_fwd tcp 203.0.113.1 8091 203.0.113.100 80
ask_refused "$WAN" tcp 203.0.113.1 8089
# game: tcp+udp
expect_fwd tcp 203.0.113.1 6000 198.51.100.7 6000
expect_fwd udp 203.0.113.1 6000 198.51.100.7 6000
# dns: udp only, rewritten, no in_interface: from the WAN and from a third network
expect_fwd udp 203.0.113.1 5353 198.51.100.8 53
ask_refused "$WAN" tcp 203.0.113.1 5353
out=$(ask_ok "$DMZ" udp 10.0.2.1 5353)
assert_match "^peer=10\.0\.2\.2:[0-9]+ local=192\.168\.1\.66:53 proto=udp$" "$out" \
        "a forward without in_interface works from eth2 too"
# ... while those with in_interface = eth0 take a client from eth2 only as reflection (the
# server sees gw, not the client), and not at all with reflection = false ("alt").
out=$(ask_ok "$DMZ" tcp 10.0.2.1 8080)
assert_match "^peer=192\.168\.1\.1:[0-9]+ local=192\.168\.1\.66:80 proto=tcp$" "$out" \
        "in_interface eth0 forward reached from eth2 is reflected"
ask_refused "$DMZ" tcp 10.0.2.1 8081
assert_eq 0 "$(server_saw "$lan_log" "peer=10\.0\.2\.2:[0-9]+ local=192\.168\.1\.66:80 ")" \
        "in_interface eth0 forward not applied to eth2 as if it came from eth0"
# vip: only traffic to 203.0.113.10 is forwarded
expect_fwd tcp 203.0.113.10 8443 198.51.100.7 443
ask_refused "$WAN" tcp 203.0.113.1 8443
assert_eq 1 "$(server_saw "$lan_log" "local=192\.168\.1\.66:443 ")" "only the request to 203.0.113.10 reached port 443"

# A forward matches traffic to gw's own addresses only: LAN traffic to port 5353 on the internet
# is masqueraded, not turned around to 192.168.1.66.
out=$(ask_ok "$LAN" udp 203.0.113.100 5353)
assert_match "^peer=203\.0\.113\.1:[0-9]+ local=203\.0\.113\.100:5353 proto=udp$" "$out" \
        "LAN traffic to port 5353 elsewhere is not forwarded"
out=$(ask_ok "$LAN" tcp 203.0.113.100 8080)
assert_match "^peer=203\.0\.113\.1:[0-9]+ local=203\.0\.113\.100:8080 proto=tcp$" "$out" \
        "LAN traffic to port 8080 elsewhere is not forwarded"
assert_eq 0 "$(server_saw "$wan_log" "peer=192\.168\.")" "no LAN address reached the WAN untranslated"

ct=$(conntrack_gw -p tcp --orig-port-dst 8080 --orig-src 198.51.100.7)
assert_match "src=198\.51\.100\.7 dst=203\.0\.113\.1 sport=([0-9]+) dport=8080 .*src=192\.168\.1\.66 dst=198\.51\.100\.7 sport=80 dport=" \
        "$ct" "conntrack shows the dnat of web"
ct=$(conntrack_gw -p udp --orig-port-dst 5353 --orig-src 198.51.100.8)
assert_match "src=198\.51\.100\.8 dst=203\.0\.113\.1 sport=[0-9]+ dport=5353 .*src=192\.168\.1\.66 dst=198\.51\.100\.8 sport=53" \
        "$ct" "conntrack shows the dnat of dns"

for entry in web mail data shift alt game dns vip lan; do
        assert_counter $entry
done
check_dump forward

stop_natgwd
info "PASS"

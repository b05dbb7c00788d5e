#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# SNAT to one address and to a pool, and egress precedence: the most specific source prefix
# wins, whatever the order in the file. The broad masquerade comes first in the file:
#   192.168.0.0/16   masquerade          -> 192.168.1.10 leaves as 203.0.113.1
#   192.168.1.64/26  snat 203.0.113.10   -> 192.168.1.66 leaves as 203.0.113.10
#   192.168.1.128/25 snat .20-.23 pool   -> 192.168.1.130 leaves as one of 203.0.113.20-23

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

# A third LAN client, for the pool.
ip -n "$LAN" addr add 192.168.1.130/24 dev eth0

conf=$(lab_config snat)
cat >"$conf" <<'EOF'
version = 1;
masquerade = (
  { name = "lan"; source = "192.168.0.0/16"; out_interface = "eth0"; }
);
snat = (
  { name = "pool"; source = "192.168.1.128/25"; out_interface = "eth0"; to = "203.0.113.20-203.0.113.23"; },
  { name = "dmz"; source = "192.168.1.64/26"; out_interface = "eth0"; to = "203.0.113.10"; }
);
EOF

serve_in "$WAN" --tcp 80 --udp 53
start_natgwd "$conf"

for proto in tcp udp; do
        port=80
        [[ $proto == udp ]] && port=53

        out=$(ask_ok "$LAN" $proto 203.0.113.100 $port --from 192.168.1.66)
        assert_match "^peer=203\.0\.113\.10:[0-9]+ local=203\.0\.113\.100:$port proto=$proto$" "$out" \
                "$proto from 192.168.1.66 (/26 inside the /16) gets the snat address"

        out=$(ask_ok "$LAN" $proto 203.0.113.100 $port --from 192.168.1.10)
        assert_match "^peer=203\.0\.113\.1:[0-9]+ local=203\.0\.113\.100:$port proto=$proto$" "$out" \
                "$proto from 192.168.1.10 (only the /16) is masqueraded"

        for i in 1 2 3; do
                out=$(ask_ok "$LAN" $proto 203.0.113.100 $port --from 192.168.1.130)
                assert_match "^peer=203\.0\.113\.2[0-3]:[0-9]+ local=203\.0\.113\.100:$port proto=$proto$" "$out" \
                        "$proto from 192.168.1.130 gets a pool address ($i)"
        done
done

ct=$(conntrack_gw -p tcp --orig-port-dst 80 --orig-src 192.168.1.66)
assert_match "src=192\.168\.1\.66 dst=203\.0\.113\.100 sport=[0-9]+ dport=80 .*src=203\.0\.113\.100 dst=203\.0\.113\.10 sport=80" \
        "$ct" "conntrack shows the snat to 203.0.113.10"
ct=$(conntrack_gw -p udp --orig-port-dst 53 --orig-src 192.168.1.130)
assert_match "src=203\.0\.113\.100 dst=203\.0\.113\.2[0-3] sport=53" "$ct" "conntrack shows the pool snat"

for entry in lan dmz pool; do
        assert_counter $entry
done
check_dump snat

stop_natgwd
info "PASS"

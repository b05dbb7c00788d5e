#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# natgwctl egress learn (issue 14): while `egress learn lan --for 4` reads conntrack, the LAN
# host makes a few flows (and the host of another entry one more); the proposed list names
# each observed service with its flow count, leaves the other entry's flow out, and, pasted
# into the entry and reloaded, lets the observed traffic through and denies a new destination.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

serve_in "$WAN" --tcp 80,81,443 --udp 53

conf=$(lab_config learn)
write_conf() {
        cat >"$conf" <<EOF2
version = 1;
masquerade = (
  { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0";
$1 },
  { name = "h66"; source = "192.168.1.66/32"; out_interface = "eth0"; }
);
EOF2
}
write_conf ""
start_natgwd "$conf"

info "learn for 4 s while the hosts make their flows"
natgwctl egress learn lan --for 4 >"$LAB_TMP/learn.out" 2>"$LAB_TMP/learn.err" &
lpid=$!
LAB_PIDS+=("$lpid")
sleep 0.5
ask_ok "$LAN" tcp 198.51.100.7 80 --timeout 2 >/dev/null
ask_ok "$LAN" tcp 198.51.100.7 80 --timeout 2 >/dev/null
ask_ok "$LAN" tcp 198.51.100.7 443 --timeout 2 >/dev/null
ask_ok "$LAN" udp 198.51.100.8 53 --timeout 2 >/dev/null
ask_ok "$LAN" tcp 203.0.113.100 81 --timeout 2 >/dev/null
ask_ok "$LAN" tcp 198.51.100.8 81 --from 192.168.1.66 --timeout 2 >/dev/null
wait "$lpid" || fail "egress learn failed: $(cat "$LAB_TMP/learn.err")"
cat "$LAB_TMP/learn.out"
out=$(cat "$LAB_TMP/learn.out")
assert_match "^# entry \"lan\" of .*: 5 flows seen in [0-9]+ s" "$out" "learn counted the 5 flows of lan (not h66's)"
assert_match $'\n  \\{ to = "198\\.51\\.100\\.7/32"; proto = "tcp"; port = \\[ 80, 443 \\]; \\},? +# 3 flows' "$out" \
        "one rule for both ports to 198.51.100.7, 3 flows"
assert_match $'\n  \\{ to = "198\\.51\\.100\\.8/32"; proto = "udp"; port = 53; \\},? +# 1 flow' "$out" "the DNS rule"
assert_match $'\n  \\{ to = "203\\.0\\.113\\.100/32"; proto = "tcp"; port = 81; \\},? +# 1 flow' "$out" "the rule for port 81"
assert_no_match "198\\.51\\.100\\.8/32\"; proto = \"tcp\"" "$out" "h66's flow is not in lan's list"

json=$(natgwctl -j egress learn lan) || fail "egress learn -j failed"
assert_eq "5 3" "$(jq -r '"\(.flows) \(.rules | length)"' <<<"$json")" "learn -j: 5 flows, 3 rules"

info "the proposal applied: the observed traffic passes, a new destination is denied"
write_conf "$out"
reload_ok >/dev/null
ask_ok "$LAN" tcp 198.51.100.7 443 --timeout 2 >/dev/null
ask_ok "$LAN" udp 198.51.100.8 53 --timeout 2 >/dev/null
out=$(ask_ok "$LAN" tcp 203.0.113.100 81 --timeout 2)
assert_match "^peer=203\.0\.113\.1:" "$out" "an observed flow passes masqueraded"
ask_fails "$LAN" tcp 198.51.100.8 80 --timeout 1
ask_fails "$LAN" udp 198.51.100.7 53 --timeout 1
ask_ok "$LAN" tcp 198.51.100.8 80 --from 192.168.1.66 --timeout 2 >/dev/null

info "the list removed again (a reload): everything passes, chain forward is gone"
write_conf ""
reload_ok >/dev/null
ask_ok "$LAN" tcp 198.51.100.8 80 --timeout 2 >/dev/null
assert_eq "0 0" "$(nft_json | jq -r '"\([.nftables[] | select(.chain.name == "forward" or .chain.name == "allow-lan")] | length) \([.nftables[] | select(.counter.name == "denied:lan")] | length)"')" \
        "no forward chain, allow chain or denied counter without a list"

info "usage errors"
rc=0
natgwctl egress learn >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "egress learn without NAME is a usage error"
rc=0
natgwctl egress learn lan --for soon >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "--for with a bad duration is a usage error"
rc=0
natgwctl egress learn nosuch >/dev/null 2>&1 || rc=$?
assert_eq 1 "$rc" "an unknown entry is rejected"

stop_natgwd
info "PASS"

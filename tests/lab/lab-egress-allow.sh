#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Egress allow lists (issue 14), one lab, real traffic:
#   - "lan" (192.168.1.0/24) may reach 198.51.100.7 on TCP 80, anything on UDP 53, and ping
#     198.51.100.8: those pass, masqueraded; another port to the same host, another host, UDP
#     54 and a ping of another host are dropped (no answer), and "denied:lan" counts them;
#   - "h66" (192.168.1.66/32, no list) sits inside "lan": the most specific prefix decides, so
#     its hosts go anywhere;
#   - IPv6 "v6" with deny = "reject": allowed TCP passes, another port is refused at once;
#   - lan with deny = "reject" after a reload: TCP and UDP refused at once (RST, ICMP);
#   - natgwctl show (and -j) reports the denied count;
#   - a reload that narrows the list (80, 81 -> 81) updates the table in place (counters kept):
#     the live TCP connection to port 80 is cut (its conntrack entry deleted, its next packet
#     rejected), the one to port 81 goes on.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

serve_in "$WAN" --tcp 80,81 --udp 53,54

conf=$(lab_config allow)
write_conf() {
        cat >"$conf" <<EOF2
version = 1;
kernel = { ipv6_forward = true; };
masquerade = (
  { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0";
    allow = ( { to = "198.51.100.7"; proto = "tcp"; port = ${2:-80}; },
              { proto = "udp"; port = 53; },
              { to = "198.51.100.8/32"; proto = "icmp"; } );
    deny = "$1"; },
  { name = "h66"; source = "192.168.1.66/32"; out_interface = "eth0"; },
  { name = "v6"; source = "fd00:1::/64"; out_interface = "eth0";
    allow = ( { to = "2001:db8:2::7"; proto = "tcp"; port = 80; } );
    deny = "reject"; }
);
EOF2
}

denied() {
        nft_json | jq -r --arg n "denied:$1" '[.nftables[] | select(.counter) | .counter | select(.name == $n) | .packets] | .[0] // "missing"'
}

counter_of() {
        nft_json | jq -r --arg n "$1" '[.nftables[] | select(.counter) | .counter | select(.name == $n) | .packets] | .[0] // "missing"'
}

write_conf drop
start_natgwd "$conf"

info "drop: what the list allows passes, masqueraded"
out=$(ask_ok "$LAN" tcp 198.51.100.7 80 --timeout 2)
assert_match "^peer=203\.0\.113\.1:[0-9]+ local=198\.51\.100\.7:80 proto=tcp$" "$out" "allowed TCP 198.51.100.7:80 passes masqueraded"
out=$(ask_ok "$LAN" udp 198.51.100.8 53 --timeout 2)
assert_match "^peer=203\.0\.113\.1:[0-9]+ local=198\.51\.100\.8:53 proto=udp$" "$out" "UDP 53 to any host passes"
pings "$LAN" 198.51.100.8 >/dev/null || fail "ping of 198.51.100.8 (an icmp rule) got no answer"
info "ok: ping of 198.51.100.8 is answered"

info "drop: the rest is dropped and counted"
assert_eq 0 "$(denied lan)" "denied:lan starts at 0"
ask_fails "$LAN" tcp 198.51.100.7 81 --timeout 1
ask_fails "$LAN" tcp 198.51.100.8 80 --timeout 1
ask_fails "$LAN" udp 198.51.100.7 54 --timeout 1
if pings "$LAN" 198.51.100.7 >/dev/null; then fail "ping of 198.51.100.7 (no icmp rule for it) was answered"; fi
info "ok: ping of 198.51.100.7 gets no answer"
n=$(denied lan)
[[ $n =~ ^[0-9]+$ ]] && ((n >= 6)) || fail "denied:lan should count the denied packets (>= 6), got $n"
info "ok: denied:lan counted $n packets"

info "the most specific entry decides: 192.168.1.66 (h66, no list) goes anywhere"
out=$(ask_ok "$LAN" tcp 198.51.100.8 81 --from 192.168.1.66 --timeout 2)
assert_match "^peer=203\.0\.113\.1:[0-9]+ local=198\.51\.100\.8:81 proto=tcp$" "$out" "h66's host reaches a port lan may not"
out=$(ask_ok "$LAN" udp 198.51.100.7 54 --from 192.168.1.66 --timeout 2)
assert_match "proto=udp$" "$out" "h66's host reaches UDP 54"

info "IPv6 with deny = reject"
out=$(ask_ok "$LAN" tcp 2001:db8:2::7 80 --timeout 2)
assert_match "^peer=\[?2001:db8:1::1\]?:[0-9]+ " "$out" "allowed IPv6 TCP passes masqueraded"
start=$(date +%s%N)
ask_refused "$LAN" tcp 2001:db8:2::7 81 --timeout 5
ms=$((($(date +%s%N) - start) / 1000000))
((ms < 2000)) || fail "IPv6 TCP to a denied port took $ms ms to fail: a reject must refuse at once"
info "ok: refused after $ms ms"
[[ $(denied v6) -ge 1 ]] || fail "denied:v6 did not count the rejected connection"

info "show reports the denied counts"
json=$(natgwctl -j show)
assert_eq "$n" "$(jq -r '.entries[] | select(.name == "lan") | .denied' <<<"$json")" "show -j: denied of lan"
assert_eq null "$(jq -r '.entries[] | select(.name == "h66") | .denied' <<<"$json")" "show -j: h66 has no list, no denied"
assert_match "lan .* $n\$" "$(natgwctl show | grep '^masquerade *lan ')" "show: the DENIED column of lan"

info "reload: lan with deny = reject"
write_conf reject
reload_ok
for proto in tcp udp; do
        port=81
        [[ $proto == udp ]] && port=54
        start=$(date +%s%N)
        ask_refused "$LAN" $proto 198.51.100.7 $port --timeout 5
        ms=$((($(date +%s%N) - start) / 1000000))
        ((ms < 2000)) || fail "$proto to a denied port took $ms ms to fail: a reject must refuse at once"
        info "ok: $proto refused after $ms ms"
done
out=$(ask_ok "$LAN" tcp 198.51.100.7 80 --timeout 2)
assert_match "local=198\.51\.100\.7:80 proto=tcp$" "$out" "allowed TCP still passes after the reload"
((($(denied lan)) > n)) || fail "denied:lan kept counting across the reload"
info "ok: denied:lan kept its count and went on"

info "a reload that narrows the list cuts the connections it now denies"
write_conf reject "[ 80, 81 ]"
reload_ok >/dev/null
conns=$(counter_of lan)
for port in 80 81; do
        nsexec "$LAN" "$NATGW_PEER" stream tcp 198.51.100.7 $port --seconds 5 --timeout 8 \
                >"$LAB_TMP/stream$port.out" 2>"$LAB_TMP/stream$port.err" &
        eval "pid$port=\$!"
        LAB_PIDS+=("$!")
done
sleep 1.5
write_conf reject 81
json=$(natgwctl -j reload) || fail "the narrowing reload failed: $json"
# The live connection and the earlier ones to port 80 (closed, still in conntrack).
[[ $(jq -r .conntrack.read <<<"$json") == true && $(jq -r .conntrack.deleted_denied <<<"$json") -ge 1 ]] ||
        fail "the reload should read conntrack and delete the flows the list now denies: $(jq -c .conntrack <<<"$json")"
info "ok: the reload deleted $(jq -r .conntrack.deleted_denied <<<"$json") conntrack entries the list now denies"
rc=0
wait "$pid80" || rc=$?
((rc != 0)) || fail "the connection to port 80 survived the reload that denies it: $(cat "$LAB_TMP/stream80.out")"
info "ok: the connection to port 80 was cut ($(head -c 120 "$LAB_TMP/stream80.err"))"
wait "$pid81" || fail "the connection to port 81 (still allowed) broke: $(cat "$LAB_TMP/stream81.err")"
assert_match "exchanges=[0-9]+" "$(cat "$LAB_TMP/stream81.out")" "the connection to port 81 went on across the reload"
assert_eq updated "$(natgwctl -j status | jq -r '.last_apply.table')" "the reload updated the table in place"
(($(counter_of lan) >= conns)) || fail "the counter of lan was reset by the reload"
ask_refused "$LAN" tcp 198.51.100.7 80 --timeout 5

stop_natgwd
info "PASS"

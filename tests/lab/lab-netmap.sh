#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# netmap (1:1 NAT): the outside block 203.0.113.64/28 (routed to gw by wan) is the inside block
# 192.168.1.64/28 of the LAN, address by address, every protocol, both directions; IPv6 the
# same with 2001:db8:1:1::/120 and fd00:1::/120. A masquerade of the whole LAN takes what the
# netmap leaves: 192.168.1.66 (in both) leaves with its own outside address 203.0.113.66,
# 192.168.1.10 (only the masquerade) with gw's 203.0.113.1. Reloads that remove and add the
# netmap keep a TCP stream of another entry (the forward "web"); with filter.forward = "drop"
# the netmap's connections pass both ways.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

# wan sends the outside blocks to gw: addresses gw does not hold, as a provider routes them.
ip -n "$WAN" route add 203.0.113.64/28 via 203.0.113.1
ip -n "$WAN" -6 route add 2001:db8:1:1::/120 via 2001:db8:1::1

conf=$(lab_config netmap)
write_conf() {
        cat >"$conf" <<EOF
version = 1;
kernel = { ipv6_forward = true; };
masquerade = ( { name = "lan"; source = [ "${MASQ:-192.168.1.0/24}", "fd00:1::/64" ]; out_interface = "eth0"; } );
forward = ( { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.10:80"; } );
$1
EOF
}
netmaps='netmap = (
  { name = "dmz"; interface = "eth0"; inside = "192.168.1.64/28"; outside = "203.0.113.64/28"; },
  { name = "dmz6"; interface = "eth0"; inside = "fd00:1::/120"; outside = "2001:db8:1:1::/120"; }
);'
write_conf "$netmaps"

serve_in "$LAN" --tcp 80 --udp 53
lan_log=$SERVE_LOG
serve_in "$WAN" --tcp 80 --udp 53
start_natgwd "$conf"

# Inbound: each outside address reaches the inside address of the same offset, TCP and UDP.
for proto in tcp udp; do
        port=80
        [[ $proto == udp ]] && port=53
        out=$(ask_ok "$WAN" $proto 203.0.113.66 $port --from 198.51.100.7)
        assert_match "^peer=198\.51\.100\.7:[0-9]+ local=192\.168\.1\.66:$port proto=$proto$" "$out" \
                "$proto to 203.0.113.66 reaches 192.168.1.66 (offset 2), client address kept"
        out=$(ask_ok "$WAN" $proto '[2001:db8:1:1::66]' $port --from 2001:db8:2::7)
        assert_match "^peer=\[2001:db8:2::7\]:[0-9]+ local=\[fd00:1::66\]:$port proto=$proto$" "$out" \
                "$proto to [2001:db8:1:1::66] reaches [fd00:1::66]"
done
# 192.168.1.74 has no host: the offset is exact, no other host answers for 203.0.113.74.
ask_fails "$WAN" tcp 203.0.113.74 80 --from 198.51.100.7 --timeout 2

# Outbound: the netmap's host leaves with its own outside address, before the masquerade of the
# same source; a host only the masquerade covers leaves with gw's address.
for proto in tcp udp; do
        port=80
        [[ $proto == udp ]] && port=53
        out=$(ask_ok "$LAN" $proto 203.0.113.100 $port --from 192.168.1.66)
        assert_match "^peer=203\.0\.113\.66:[0-9]+ local=203\.0\.113\.100:$port proto=$proto$" "$out" \
                "$proto from 192.168.1.66 leaves as 203.0.113.66 (netmap over masquerade)"
        out=$(ask_ok "$LAN" $proto 203.0.113.100 $port --from 192.168.1.10)
        assert_match "^peer=203\.0\.113\.1:[0-9]+ " "$out" "$proto from 192.168.1.10 is masqueraded"
        out=$(ask_ok "$LAN" $proto '[2001:db8:1::100]' $port --from fd00:1::66)
        assert_match "^peer=\[2001:db8:1:1::66\]:[0-9]+ " "$out" "$proto from fd00:1::66 leaves as 2001:db8:1:1::66"
done

# ICMP echo both ways.
out=$(pings "$WAN" 203.0.113.66) || fail "no echo reply from 203.0.113.66"
assert_eq 203.0.113.66 "$out" "wan pings 203.0.113.66 (192.168.1.66 answers)"
out=$(pings "$WAN" 2001:db8:1:1::66) || fail "no echo reply from 2001:db8:1:1::66"
assert_eq 2001:db8:1:1::66 "$out" "wan pings 2001:db8:1:1::66"
pings "$LAN" 203.0.113.100 192.168.1.66 >/dev/null || fail "192.168.1.66 gets no echo reply from 203.0.113.100"
ct=$(conntrack_gw -p icmp --orig-src 192.168.1.66 --orig-dst 203.0.113.100)
assert_match "src=192\.168\.1\.66 dst=203\.0\.113\.100 .*src=203\.0\.113\.100 dst=203\.0\.113\.66 " "$ct" \
        "the echo from 192.168.1.66 left as 203.0.113.66"
info "ok: ICMP echo both ways"

assert_counter dmz
assert_counter dmz6
show=$(natgwctl -j show)
assert_eq '{"kind":"netmap","interface":"eth0","inside":"192.168.1.64/28","outside":"203.0.113.64/28"}' \
        "$(jq -c '.entries[] | select(.name == "dmz") | {kind, interface, inside, outside}' <<<"$show")" \
        "natgwctl -j show has the netmap entry"
[[ $(jq '.entries[] | select(.name == "dmz") | .connections' <<<"$show") -gt 0 ]] ||
        fail "natgwctl -j show counts no connections of dmz"
check_dump netmap

# diagnose --egress names the netmap for its inside hosts, and the address they leave with.
out=$(natgwctl -j diagnose --egress 192.168.1.66 --to 203.0.113.100:80) || fail "diagnose --egress 192.168.1.66 failed: $out"
assert_eq ok "$(jq -r .verdict.cause <<<"$out")" "diagnose --egress 192.168.1.66: ok"
assert_match "^netmap entry dmz \(line [0-9]+\) takes 192\.168\.1\.66 out eth0" "$(jq -r '.layers[0].evidence[0]' <<<"$out")" \
        "diagnose --egress: 192.168.1.66 leaves by netmap dmz"
assert_match "leaves eth0 as 203\.0\.113\.66 \(netmap" "$(jq -r '.layers[2].evidence[]' <<<"$out")" \
        "diagnose --egress: it leaves eth0 as 203.0.113.66"
out=$(natgwctl -j diagnose --egress 192.168.1.10 --to 203.0.113.100:80) || true
assert_match "^entry lan \(masquerade" "$(jq -r '.layers[0].evidence[0]' <<<"$out")" "diagnose --egress: 192.168.1.10 by lan"
# diagnose NAME of a netmap: a usage error that says which command asks about it.
rc=0
out=$(natgwctl diagnose dmz 2>&1) || rc=$?
assert_eq 2 "$rc" "diagnose dmz (a netmap): exit 2"
assert_match "\"dmz\" is a netmap entry, not a forward: \"diagnose --egress ADDR --to DEST\" with an address of its inside 192\.168\.1\.64/28" \
        "$out" "diagnose dmz: points at diagnose --egress"
# The counts of the file in force: natgwd -t, check and status count the netmaps.
assert_match ": valid: egress entries 1, forwards 1, map elements [0-9]+, netmaps 2$" "$("$NATGWD" -t -c "$conf")" \
        "natgwd -t counts the netmaps"
assert_match ": valid: egress entries 1, forwards 1, map elements [0-9]+, netmaps 2$" "$(natgwctl check)" \
        "natgwctl check counts the netmaps"
assert_match "1 egress, 1 forwards, 2 netmaps, [0-9]+ map elements" "$(natgwctl status)" "status counts the netmaps"
assert_eq 2 "$(natgwctl -j status | jq .entries.netmaps)" "status -j: entries.netmaps"

# Reloads: a stream through "web" (another entry) lives across the removal and the re-addition.
ip netns exec "$WAN" "$NATGW_PEER" stream tcp 203.0.113.1 8080 --seconds 8 --from 198.51.100.8 \
        >"$LAB_TMP/s-web.out" 2>"$LAB_TMP/s-web.err" </dev/null &
web_pid=$!
LAB_PIDS+=("$web_pid")
for ((i = 0; i < 50; i++)); do
        [[ -s $LAB_TMP/s-web.out ]] && break
        sleep 0.1
done
assert_match "local=192\.168\.1\.10:80" "$(head -1 "$LAB_TMP/s-web.out")" "the stream through \"web\" is up"

[[ -n $(conntrack_gw -p udp --orig-dst 203.0.113.66) ]] || fail "no conntrack entry of the UDP flow to 203.0.113.66"
[[ -n $(conntrack_gw -p udp --orig-src 192.168.1.66 --reply-dst 203.0.113.66) ]] ||
        fail "no conntrack entry of the UDP flow from 192.168.1.66"
write_conf ""
reload_ok >/dev/null
# The netmap's flows went with it (a UDP client would otherwise keep its translation).
assert_eq "" "$(conntrack_gw -p udp --orig-dst 203.0.113.66)" "the removed netmap's UDP flow is deleted from conntrack"
assert_eq "" "$(conntrack_gw -p udp --orig-src 192.168.1.66 --reply-dst 203.0.113.66)" \
        "the removed netmap's outbound UDP flow is deleted from conntrack"
out=$(ask_ok "$LAN" tcp 203.0.113.100 80 --from 192.168.1.66)
assert_match "^peer=203\.0\.113\.1:[0-9]+ " "$out" "without the netmap 192.168.1.66 is masqueraded"
ask_fails "$WAN" tcp 203.0.113.66 80 --from 198.51.100.7 --timeout 2

# Back, with the forward filter dropping what no entry accepts and a masquerade that no longer
# covers 192.168.1.66: the netmap's connections both ways are its own, the masquerade's pass.
MASQ=192.168.1.0/28 write_conf "$netmaps
filter = { forward = \"drop\"; };"
reload_ok >/dev/null
out=$(ask_ok "$LAN" tcp 203.0.113.100 80 --from 192.168.1.66)
assert_match "^peer=203\.0\.113\.66:[0-9]+ " "$out" "with the netmap back 192.168.1.66 leaves as 203.0.113.66 (filter drop)"
out=$(ask_ok "$WAN" udp 203.0.113.66 53 --from 198.51.100.7)
assert_match "local=192\.168\.1\.66:53 " "$out" "with the netmap back 203.0.113.66 reaches 192.168.1.66 (filter drop)"
out=$(ask_ok "$LAN" udp 203.0.113.100 53 --from 192.168.1.10)
assert_match "^peer=203\.0\.113\.1:[0-9]+ " "$out" "192.168.1.10 is still masqueraded (filter drop)"

tcp_stream_wait "$web_pid" "$LAB_TMP/s-web.out" "$LAB_TMP/s-web.err" "web"
info "ok: the stream through \"web\" made $STREAM_EXCHANGES exchanges across two reloads"

stop_natgwd
info "PASS"

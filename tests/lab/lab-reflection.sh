#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# NAT reflection (hairpin): a LAN client (192.168.1.10, on the same link as the server
# 192.168.1.66) that connects to gw's outside address reaches the forward's target, and the
# target sees gw's LAN address (192.168.1.1) as the client: without that source NAT it would
# answer the client directly and the connection would fail. For a single port, a list, a range
# rewritten onto a range, allow_from (allowed and not), a forward without in_interface, IPv6,
# a process on gw itself; reflection = false leaves the inside client untranslated (gw's stack
# refuses it). Outside clients keep their own address. A reload that turns reflection off
# keeps the established connections, reflected or not.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

lab_add_dmz

conf=$(lab_config reflection)
write_conf() {
        cat >"$conf" <<EOF2
version = 1;
kernel = { ipv6_forward = true; };
masquerade = (
  { name = "lan"; source = [ "192.168.1.0/24", "fd00:1::/64" ]; out_interface = "eth0"; }
);
forward = (
  { name = "web";   in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; $1 },
  { name = "mail";  in_interface = "eth0"; proto = "tcp"; port = [ 25, 110 ]; to = "192.168.1.66"; },
  { name = "shift"; in_interface = "eth0"; proto = "tcp"; port = "7000-7003"; to = "192.168.1.66:9000-9003"; },
  { name = "ops";   in_interface = "eth0"; proto = "tcp"; port = 2222; to = "192.168.1.66:22";
    allow_from = [ "198.51.100.0/24", "10.0.2.0/24" ]; },
  { name = "game";  proto = "tcp+udp"; port = 6000; to = "192.168.1.66"; },
  { name = "vip";   in_interface = "eth0"; destination = "203.0.113.10"; proto = "tcp"; port = 8443;
    to = "192.168.1.66:443"; },
  { name = "off";   in_interface = "eth0"; proto = "tcp"; port = 8081; to = "192.168.1.66:80";
    reflection = false; },
  { name = "api6";  in_interface = "eth0"; proto = "tcp"; port = 443; to = "[fd00:1::66]:8443"; }
);
EOF2
}
write_conf ""

serve_in "$LAN" --tcp 80,25,110,9000-9003,22,6000,443,8443 --udp 6000 --timeout 60
lan_log=$SERVE_LOG
start_natgwd "$conf"
nsexec "$LAN" ip -6 route replace default via fd00:1::1 2>/dev/null || true

# reflected NS FROM PROTO DST PORT WANT_PEER WANT_LOCAL_PORT
reflected() {
        local ns=$1 from=$2 proto=$3 dst=$4 port=$5 peer=$6 lport=$7 out args=()

        [[ $from == - ]] || args=(--from "$from")
        out=$(ask_ok "$ns" "$proto" "$dst" "$port" "${args[@]}")
        assert_match "^peer=\[?${peer//./\\.}\]?:[0-9]+ local=\[?192\.168\.1\.66\]?:$lport proto=$proto$|^peer=\[?${peer//./\\.}\]?:[0-9]+ local=\[?fd00:1::66\]?:$lport proto=$proto$" \
                "$out" "$proto $dst:$port from ${from/-/$ns} arrives at :$lport from $peer"
}

# The outside path is unchanged: the server sees the real client.
reflected "$WAN" 198.51.100.7 tcp 203.0.113.1 8080 198.51.100.7 80
# A LAN client on the server's own link: reflected and source-NATed to gw's LAN address.
reflected "$LAN" 192.168.1.10 tcp 203.0.113.1 8080 192.168.1.1 80
for p in 25 110; do
        reflected "$LAN" 192.168.1.10 tcp 203.0.113.1 $p 192.168.1.1 $p
done
for p in 0 3; do
        reflected "$LAN" 192.168.1.10 tcp 203.0.113.1 700$p 192.168.1.1 900$p
done
ask_refused "$LAN" tcp 203.0.113.1 7004 --from 192.168.1.10
# destination: only that address is reflected
reflected "$LAN" 192.168.1.10 tcp 203.0.113.10 8443 192.168.1.1 443
ask_refused "$LAN" tcp 203.0.113.1 8443 --from 192.168.1.10
# allow_from: the DMZ client is allowed, the LAN client is not
reflected "$DMZ" - tcp 203.0.113.1 2222 192.168.1.1 22
ask_refused "$LAN" tcp 203.0.113.1 2222 --from 192.168.1.10
assert_eq 0 "$(server_saw "$lan_log" "peer=192\.168\.1\.10:[0-9]+ local=192\.168\.1\.66:22 ")" \
        "the server never saw the LAN client that allow_from refuses"
# No in_interface: the LAN client on the server's link is source-NATed (hairpin), a DMZ
# client is not (its replies come back through gw anyway), nor is an outside one.
reflected "$LAN" 192.168.1.10 tcp 203.0.113.1 6000 192.168.1.1 6000
reflected "$LAN" 192.168.1.10 udp 203.0.113.1 6000 192.168.1.1 6000
reflected "$DMZ" - tcp 203.0.113.1 6000 10.0.2.2 6000
reflected "$WAN" 198.51.100.8 tcp 203.0.113.1 6000 198.51.100.8 6000
# IPv6
reflected "$LAN" fd00:1::10 tcp 2001:db8:1::1 443 fd00:1::1 8443
# A process on gw itself
reflected "$GW" - tcp 203.0.113.1 8080 192.168.1.1 80
reflected "$GW" - tcp 203.0.113.1 7002 192.168.1.1 9002
reflected "$GW" - tcp 2001:db8:1::1 443 fd00:1::1 8443
# reflection = false: the inside client and gw itself are not translated (gw's stack refuses),
# while the outside path works.
ask_refused "$LAN" tcp 203.0.113.1 8081 --from 192.168.1.10
ask_refused "$GW" tcp 203.0.113.1 8081
reflected "$WAN" 198.51.100.7 tcp 203.0.113.1 8081 198.51.100.7 80

ct=$(conntrack_gw -p tcp --orig-port-dst 8080 --src 192.168.1.10)
assert_match "src=192\.168\.1\.10 dst=203\.0\.113\.1 sport=[0-9]+ dport=8080 .*src=192\.168\.1\.66 dst=192\.168\.1\.1 sport=80" \
        "$ct" "conntrack shows the reflected connection: dnat to the target, snat to gw"

show=$(natgwctl -j show)
assert_eq "true false" "$(jq -r '[.entries[] | select(.name == "web" or .name == "off") | .reflection] | join(" ")' <<<"$show")" \
        "show -j: reflection of web and off"
assert_match "off eth0 tcp 8081, reflection off" "$(natgwctl show | tr -s ' ')" "show says reflection off for off"

# A reload that turns web's reflection off keeps the connections established before it: the
# outside one and the reflected one.
ip netns exec "$WAN" "$NATGW_PEER" stream tcp 203.0.113.1 8080 --seconds 8 --from 198.51.100.8 \
        >"$LAB_TMP/s-out.out" 2>"$LAB_TMP/s-out.err" </dev/null &
out_pid=$!
LAB_PIDS+=("$out_pid")
ip netns exec "$LAN" "$NATGW_PEER" stream tcp 203.0.113.1 8080 --seconds 8 --from 192.168.1.10 \
        >"$LAB_TMP/s-in.out" 2>"$LAB_TMP/s-in.err" </dev/null &
in_pid=$!
LAB_PIDS+=("$in_pid")
for ((i = 0; i < 50; i++)); do
        [[ -s $LAB_TMP/s-out.out && -s $LAB_TMP/s-in.out ]] && break
        sleep 0.1
done
assert_match "peer=192\.168\.1\.1:" "$(head -1 "$LAB_TMP/s-in.out")" "the reflected stream is up, source-NATed"
write_conf "reflection = false;"
reload_ok >/dev/null
ask_refused "$LAN" tcp 203.0.113.1 8080 --from 192.168.1.10
write_conf ""
reload_ok >/dev/null
reflected "$LAN" 192.168.1.10 tcp 203.0.113.1 8080 192.168.1.1 80
tcp_stream_wait "$out_pid" "$LAB_TMP/s-out.out" "$LAB_TMP/s-out.err" "outside client"
tcp_stream_wait "$in_pid" "$LAB_TMP/s-in.out" "$LAB_TMP/s-in.err" "reflected client"

for entry in web mail shift ops game vip api6; do
        assert_counter $entry
done
natgwd_alive
stop_natgwd
info "PASS"

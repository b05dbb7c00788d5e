#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A reload deletes the conntrack entries that still carry a translation the new config no
# longer makes, and only those. A NAT binding lives in its conntrack entry: without the
# cleanup, a client that keeps sending on one UDP flow would go on reaching the old target.
#
# Before the reload, each of these flows has its conntrack entry in gw:
#   game   UDP 198.51.100.7:40000 -> gw:6000, forwarded to 192.168.1.66   (target changes)
#   game6  UDP [2001:db8:2::7]:40005 -> gw:6001, to [fd00:1::66]         (target changes)
#   web    TCP 198.51.100.8 -> gw:8080, to 192.168.1.66:80, a live stream  (forward unchanged)
#   guests UDP 192.168.1.66:40003 -> 203.0.113.100:53, masqueraded        (entry removed)
#   guests ICMP echo 192.168.1.66 -> 203.0.113.100, masqueraded           (entry removed)
#   lan    UDP 192.168.1.10:40004 -> 203.0.113.100:53, masqueraded        (entry unchanged)
#   other  UDP 198.51.100.7:40001 -> gw:7001, DNATed to 192.168.1.66:6000 by another table
#   plain  UDP 198.51.100.8:40002 -> gw:7000, a server on gw itself (no NAT at all)
# The reload (natgwctl reload) deletes the entries of game, game6 and guests (both), and only those: the same
# flows, with the same source ports, then reach the new targets or leave untranslated; every
# other entry is still there with the same conntrack id, and the stream never notices. A
# second reload of the same file deletes nothing.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

conf=$(lab_config reload-conntrack)
cat >"$conf" <<'EOF'
version = 1;
kernel = {
  ipv6_forward = true;
};
masquerade = (
  { name = "lan"; source = "192.168.1.10/32"; out_interface = "eth0"; },
  { name = "guests"; source = "192.168.1.64/26"; out_interface = "eth0"; }
);
forward = (
  { name = "game"; in_interface = "eth0"; proto = "udp"; port = 6000; to = "192.168.1.66"; },
  { name = "game6"; in_interface = "eth0"; proto = "udp"; port = 6001; to = "[fd00:1::66]"; },
  { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; }
);
EOF
# The same file after the edit: guests removed, game and game6 pointed at .10, the rest
# unchanged (in another order, which does not matter).
conf2=$LAB_TMP/reload-conntrack.2.conf
cat >"$conf2" <<'EOF'
version = 1;
kernel = {
  ipv6_forward = true;
};
masquerade = (
  { name = "lan"; source = "192.168.1.10/32"; out_interface = "eth0"; }
);
forward = (
  { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; },
  { name = "game"; in_interface = "eth0"; proto = "udp"; port = 6000; to = "192.168.1.10"; },
  { name = "game6"; in_interface = "eth0"; proto = "udp"; port = 6001; to = "[fd00:1::10]"; }
);
EOF
"$NATGWD" -t -c "$conf2" >/dev/null || fail "natgwd -t rejects the edited file"

# Another NAT table in gw, not natgwd's: its entries must survive natgwd's reloads.
nsexec "$GW" nft -f - <<'EOF' || fail "cannot create table ip labnat in gw"
table ip labnat {
        chain pre {
                type nat hook prerouting priority -110; policy accept;
                iifname "eth0" udp dport 7001 dnat to 192.168.1.66:6000
        }
}
EOF

serve_in "$LAN" --udp 6000 --tcp 80 --bind 192.168.1.66
lan66_log=$SERVE_LOG
serve_in "$LAN" --udp 6000 --bind 192.168.1.10
lan10_log=$SERVE_LOG
serve_in "$LAN" --udp 6001 --bind fd00:1::66
lan66v6_log=$SERVE_LOG
serve_in "$LAN" --udp 6001 --bind fd00:1::10
lan10v6_log=$SERVE_LOG
serve_in "$WAN" --udp 53
wan_log=$SERVE_LOG
serve_in "$GW" --udp 7000 --bind 203.0.113.1
gw_log=$SERVE_LOG

start_natgwd "$conf"

# ---------------------------------------------------------------- before the reload

out=$(ask_ok "$WAN" udp 203.0.113.1 6000 --from 198.51.100.7 --sport 40000)
assert_eq "peer=198.51.100.7:40000 local=192.168.1.66:6000 proto=udp" "$out" "game: the UDP flow reaches 192.168.1.66"
out=$(ask_ok "$WAN" udp 2001:db8:1::1 6001 --from 2001:db8:2::7 --sport 40005)
assert_eq "peer=[2001:db8:2::7]:40005 local=[fd00:1::66]:6001 proto=udp" "$out" "game6: the UDP flow reaches fd00:1::66"
out=$(ask_ok "$WAN" udp 203.0.113.1 7001 --from 198.51.100.7 --sport 40001)
assert_eq "peer=198.51.100.7:40001 local=192.168.1.66:6000 proto=udp" "$out" "other: table labnat forwards port 7001"
out=$(ask_ok "$WAN" udp 203.0.113.1 7000 --from 198.51.100.8 --sport 40002)
assert_eq "peer=198.51.100.8:40002 local=203.0.113.1:7000 proto=udp" "$out" "plain: gw's own server answers"
out=$(ask_ok "$LAN" udp 203.0.113.100 53 --from 192.168.1.66 --sport 40003)
assert_match "^peer=203\.0\.113\.1:[0-9]+ local=203\.0\.113\.100:53 proto=udp$" "$out" "guests: 192.168.1.66 is masqueraded"
out=$(ask_ok "$LAN" udp 203.0.113.100 53 --from 192.168.1.10 --sport 40004)
assert_match "^peer=203\.0\.113\.1:[0-9]+ local=203\.0\.113\.100:53 proto=udp$" "$out" "lan: 192.168.1.10 is masqueraded"
# One ICMP echo from 192.168.1.66 (a raw socket: the lab has no ping), answered within 2 s. Its
# entry has no ports: its deletion must name it by ICMP id, type and code.
nsexec "$LAN" python3 - <<'EOF' || fail "guests: no answer to an ICMP echo from 192.168.1.66"
import socket, struct
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
echo = struct.pack("!BBHHH", 8, 0, 0, 0x4e47, 1) + b"natgwlab"
echo = echo[:2] + struct.pack("!H", csum(echo)) + echo[4:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.bind(("192.168.1.66", 0))
s.settimeout(2)
s.sendto(echo, ("203.0.113.100", 0))
for _ in range(10):
    data, addr = s.recvfrom(1500)
    if addr[0] == "203.0.113.100" and data[20] == 0:
        break
else:
    raise SystemExit(1)
EOF
ct=$(conntrack_gw -p icmp --orig-src 192.168.1.66)
assert_match "src=192\.168\.1\.66 dst=203\.0\.113\.100 type=8 code=0 id=[0-9]+ .*src=203\.0\.113\.100 dst=203\.0\.113\.1 " \
        "$ct" "conntrack: guests' ping is masqueraded"

ct=$(conntrack_gw -p udp --orig-src 198.51.100.7 --orig-port-src 40000)
assert_match "src=198\.51\.100\.7 dst=203\.0\.113\.1 sport=40000 dport=6000 .*src=192\.168\.1\.66 dst=198\.51\.100\.7 sport=6000 dport=40000" \
        "$ct" "conntrack: game's flow is DNATed to 192.168.1.66"
ct=$(conntrack_gw -f ipv6 -p udp --orig-src 2001:db8:2::7 --orig-port-src 40005)
assert_match "src=2001:db8:2::7 dst=2001:db8:1::1 sport=40005 dport=6001 .*src=fd00:1::66 dst=2001:db8:2::7 sport=6001" \
        "$ct" "conntrack: game6's flow is DNATed to fd00:1::66"
ct=$(conntrack_gw -p udp --orig-src 192.168.1.66 --orig-port-src 40003)
assert_match "src=192\.168\.1\.66 dst=203\.0\.113\.100 sport=40003 dport=53 .*src=203\.0\.113\.100 dst=203\.0\.113\.1 sport=53" \
        "$ct" "conntrack: guests' flow is masqueraded"
id_lan=$(ct_id -p udp --orig-src 192.168.1.10 --orig-port-src 40004)
id_other=$(ct_id -p udp --orig-src 198.51.100.7 --orig-port-src 40001)
id_plain=$(ct_id -p udp --orig-src 198.51.100.8 --orig-port-src 40002)

# The TCP stream runs across the reload: 8 s of one exchange every 100 ms.
stream_out=$LAB_TMP/stream.out
ip netns exec "$WAN" "$NATGW_PEER" stream tcp 203.0.113.1 8080 --seconds 8 --from 198.51.100.8 \
        >"$stream_out" 2>"$LAB_TMP/stream.err" </dev/null &
stream_pid=$!
LAB_PIDS+=("$stream_pid")
for ((i = 0; i < 50; i++)); do
        grep -q "^peer=" "$stream_out" 2>/dev/null && break
        lab_running "$stream_pid" || break
        sleep 0.1
done
assert_match "^peer=198\.51\.100\.8:[0-9]+ local=192\.168\.1\.66:80 proto=tcp" "$(head -n 1 "$stream_out")" \
        "web: the TCP stream is forwarded to 192.168.1.66:80"
id_web=$(ct_id -p tcp --orig-src 198.51.100.8 --orig-port-dst 8080 --state ESTABLISHED)
sleep 1

# ---------------------------------------------------------------- the reload

cp "$conf2" "$conf"
log=$(reload_ok)
info "natgwctl reload: ${log//$'\n'/ | }"
assert_match "deleted 4 conntrack entries that carried a removed or changed translation" "$log" \
        "natgwd deleted the 4 stale entries (game, game6, guests' UDP flow and ping)"
assert_no_match "warning" "$log" "the reload logged no warning"

# Right after the reload, before any packet: the stale entries are gone, the others are the
# very same entries (same id).
ct_none -p udp --orig-src 198.51.100.7 --orig-port-src 40000
ct_none -f ipv6 -p udp --orig-src 2001:db8:2::7 --orig-port-src 40005
ct_none -p udp --orig-src 192.168.1.66 --orig-port-src 40003
ct_none -p icmp --orig-src 192.168.1.66
assert_eq "$id_lan" "$(ct_id -p udp --orig-src 192.168.1.10 --orig-port-src 40004)" "lan's entry survived the reload"
assert_eq "$id_other" "$(ct_id -p udp --orig-src 198.51.100.7 --orig-port-src 40001)" "table labnat's entry survived the reload"
assert_eq "$id_plain" "$(ct_id -p udp --orig-src 198.51.100.8 --orig-port-src 40002)" "the un-NATed entry survived the reload"
assert_eq "$id_web" "$(ct_id -p tcp --orig-src 198.51.100.8 --orig-port-dst 8080 --state ESTABLISHED)" \
        "web's established TCP entry survived the reload"

# ---------------------------------------------------------------- after the reload

# The same UDP flows (same source ports) reach the new targets.
out=$(ask_ok "$WAN" udp 203.0.113.1 6000 --from 198.51.100.7 --sport 40000)
assert_eq "peer=198.51.100.7:40000 local=192.168.1.10:6000 proto=udp" "$out" "game: the same UDP flow now reaches 192.168.1.10"
out=$(ask_ok "$WAN" udp 2001:db8:1::1 6001 --from 2001:db8:2::7 --sport 40005)
assert_eq "peer=[2001:db8:2::7]:40005 local=[fd00:1::10]:6001 proto=udp" "$out" "game6: the same UDP flow now reaches fd00:1::10"
assert_eq 1 "$(server_saw "$lan66_log" "peer=198\.51\.100\.7:40000 local=192\.168\.1\.66:6000 ")" "192.168.1.66 saw game's flow once, before the reload"
assert_eq 1 "$(server_saw "$lan10_log" "peer=198\.51\.100\.7:40000 local=192\.168\.1\.10:6000 ")" "192.168.1.10 saw it after the reload"
assert_eq 1 "$(server_saw "$lan66v6_log" "peer=\[2001:db8:2::7\]:40005 ")" "fd00:1::66 saw game6's flow once"
assert_eq 1 "$(server_saw "$lan10v6_log" "peer=\[2001:db8:2::7\]:40005 ")" "fd00:1::10 saw it after the reload"
ct=$(conntrack_gw -p udp --orig-src 198.51.100.7 --orig-port-src 40000)
assert_match "sport=40000 dport=6000 .*src=192\.168\.1\.10 dst=198\.51\.100\.7 sport=6000 dport=40000" "$ct" \
        "conntrack: game's flow is now DNATed to 192.168.1.10"

# guests is gone: the same flow from 192.168.1.66 leaves untranslated (and gets no answer: the
# WAN has no route back to the LAN).
ask_fails "$LAN" udp 203.0.113.100 53 --from 192.168.1.66 --sport 40003 --timeout 1
assert_match "peer=192\.168\.1\.66:40003 local=203\.0\.113\.100:53" "$(cat "$wan_log")" \
        "guests: the same flow from 192.168.1.66 now reaches the WAN untranslated"
out=$(ask_ok "$LAN" udp 203.0.113.100 53 --from 192.168.1.10 --sport 40004)
assert_match "^peer=203\.0\.113\.1:[0-9]+ local=203\.0\.113\.100:53 proto=udp$" "$out" "lan: 192.168.1.10 is still masqueraded"
assert_eq "$id_lan" "$(ct_id -p udp --orig-src 192.168.1.10 --orig-port-src 40004)" "lan's flow still uses its entry"
out=$(ask_ok "$WAN" udp 203.0.113.1 7001 --from 198.51.100.7 --sport 40001)
assert_eq "peer=198.51.100.7:40001 local=192.168.1.66:6000 proto=udp" "$out" "other: table labnat still forwards port 7001"
assert_eq "$id_other" "$(ct_id -p udp --orig-src 198.51.100.7 --orig-port-src 40001)" "table labnat's flow still uses its entry"
out=$(ask_ok "$WAN" udp 203.0.113.1 7000 --from 198.51.100.8 --sport 40002)
assert_eq "peer=198.51.100.8:40002 local=203.0.113.1:7000 proto=udp" "$out" "plain: gw's own server still answers"
assert_eq 2 "$(server_saw "$gw_log" "peer=198\.51\.100\.8:40002 ")" "plain: gw's server saw the flow before and after"
assert_eq "$id_plain" "$(ct_id -p udp --orig-src 198.51.100.8 --orig-port-src 40002)" "the un-NATed flow still uses its entry"

# The stream ran on through the reload: every exchange answered, none lost.
tcp_stream_wait "$stream_pid" "$stream_out" "$LAB_TMP/stream.err" web
exchanges=$STREAM_EXCHANGES
info "ok: web: $exchanges exchanges across the reload"
assert_eq "$exchanges" "$(server_saw "$lan66_log" "peer=198\.51\.100\.8:[0-9]+ local=192\.168\.1\.66:80 proto=tcp")" \
        "192.168.1.66:80 answered every exchange of the stream"

# natgwd deleted nothing that was not its own: table labnat is as it was.
assert_match 'udp dport 7001 dnat to 192\.168\.1\.66:6000' "$(nsexec "$GW" nft list table ip labnat)" "table labnat is untouched"

# A reload that changes nothing relevant does not read the table, and deletes nothing.
json=$(natgwctl -j reload) || fail "the second reload failed: $json"
assert_eq "true 0" "$(jq -r '"\(.ok) \(.conntrack_deleted)"' <<<"$json")" "an unchanged reload deletes no conntrack entry"
assert_eq "$id_lan" "$(ct_id -p udp --orig-src 192.168.1.10 --orig-port-src 40004)" "lan's entry survived the second reload"

stop_natgwd
info "PASS"

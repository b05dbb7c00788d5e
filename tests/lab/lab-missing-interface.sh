#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# An interface named in the config that does not exist (yet): a PPP link that is not up, a
# hot-plugged NIC. natgwd must accept the file and apply it, and the entries must start to
# work the moment an interface of that name appears, without a reload: the table matches
# interfaces by name (iifname/oifname), not by index.
#   - natgwd -t and the start accept out_interface/in_interface "uplink0", which gw lacks;
#   - meanwhile nothing is translated: LAN traffic leaves gw untranslated (no reply), the
#     forward does not apply on eth0 (gw itself refuses the connection);
#   - gw's eth0 is renamed uplink0: masquerade and forward work at once, natgwd's generation
#     is still 1, and the counters count.
# natgwd -t and the start warn once per missing interface, at its first entry and naming the
# others that use it, that the interface does not exist (yet).

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

conf=$(lab_config missing-if)
cat >"$conf" <<'EOF'
version = 1;
masquerade = ( { name = "up"; source = "192.168.1.0/24"; out_interface = "uplink0"; } );
# No entry names eth0: reflection would take its clients for inside ones (nft-reflect.h).
forward = ( { name = "web"; in_interface = "uplink0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80";
              reflection = false; } );
EOF

nsexec "$GW" ip link show dev uplink0 >/dev/null 2>&1 && fail "gw already has an uplink0"
out=$(nsexec "$GW" "$NATGWD" -t -c "$conf" 2>&1) || fail "natgwd -t rejects a config naming a missing interface: $out"
assert_match "valid: egress entries 1, forwards 1" "$out" "natgwd -t accepts the missing interface"
assert_match "warning: $conf:2: entry \"up\": interface \"uplink0\" does not exist \(yet\)" "$out" \
        "natgwd -t warns about the missing interface"

serve_in "$LAN" --tcp 80
serve_in "$WAN" --tcp 80 --udp 53
wan_log=$SERVE_LOG
start_natgwd "$conf"
assert_match "^natgwd: warning: $conf:2: entry \"up\": interface \"uplink0\" does not exist \(yet\): the entry and 1 other \(\"web\"\) apply as soon as" \
        "$(grep 'entry "up"' "$NATGWD_LOG")" "natgwd warns that the interface of up (and web) does not exist yet"
assert_eq 1 "$(grep -c 'does not exist (yet)' "$NATGWD_LOG")" "one warning for the one missing interface"
natgwd_alive

# Before the interface exists: nothing translated.
ask_fails "$LAN" udp 203.0.113.100 53 --from 192.168.1.10 --timeout 1
assert_match "peer=192\.168\.1\.10:[0-9]+ local=203\.0\.113\.100:53 proto=udp" "$(cat "$wan_log")" \
        "while uplink0 is missing, a LAN datagram reaches the WAN untranslated (no reply comes back)"
ask_refused "$WAN" tcp 203.0.113.1 8080 --from 198.51.100.7

# The interface appears: gw's WAN link becomes uplink0.
ip -n "$GW" link set eth0 down
ip -n "$GW" link set eth0 name uplink0
ip -n "$GW" link set uplink0 up
for ((i = 0; i < 50; i++)); do
        lab_link_up "$GW" uplink0 && lab_link_up "$WAN" eth0 && break
        sleep 0.1
done
lab_link_up "$GW" uplink0 || fail "uplink0 did not come up"
# A link that went down lost its routes.
ip -n "$GW" route replace 198.51.100.0/24 via 203.0.113.100
info "gw's eth0 is now uplink0"

out=$(ask_ok "$LAN" tcp 203.0.113.100 80 --from 192.168.1.10)
assert_match "^peer=203\.0\.113\.1:[0-9]+ " "$out" "the LAN client is masqueraded out of uplink0, without a reload"
out=$(ask_ok "$WAN" tcp 203.0.113.1 8080 --from 198.51.100.7)
assert_match "^peer=198\.51\.100\.7:[0-9]+ local=192\.168\.1\.66:80 " "$out" \
        "the forward works on uplink0, without a reload"
assert_counter up
assert_counter web
assert_eq 1 "$(natgwctl -j status | jq -r .generation)" "no reload happened"
stop_natgwd
info "PASS"

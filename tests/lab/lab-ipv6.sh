#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# IPv6: kernel.ipv6_forward switches IPv6 forwarding on; fd00:1::/64 is masqueraded out of eth0
# (the WAN sees 2001:db8:1::1); a TCP and a UDP forward to [fd00:1::66] with the port rewritten
# deliver the real client address. IPv4 is not part of any entry and stays untranslated.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

conf=$(lab_config ipv6)
cat >"$conf" <<'EOF'
version = 1;
kernel = {
  ipv6_forward = true;
};
masquerade = (
  { name = "lan6"; source = "fd00:1::/64"; out_interface = "eth0"; }
);
forward = (
  { name = "api6"; in_interface = "eth0"; proto = "tcp"; port = 443; to = "[fd00:1::66]:8443"; },
  { name = "dns6"; in_interface = "eth0"; proto = "udp"; port = 5353; to = "[fd00:1::66]:53"; }
);
EOF

serve_in "$WAN" --tcp 80 --udp 53
wan_log=$SERVE_LOG
serve_in "$LAN" --tcp 8443 --udp 53
lan_log=$SERVE_LOG

assert_eq 0 "$(gw_sysctl net.ipv6.conf.all.forwarding)" "gw starts with IPv6 forwarding off"
ask_fails "$LAN" tcp 2001:db8:1::100 80 --timeout 1
ask_fails "$WAN" tcp 2001:db8:1::1 443 --from 2001:db8:2::7 --timeout 1

start_natgwd "$conf"
assert_eq 1 "$(wait_gw_sysctl net.ipv6.conf.all.forwarding 1)" "natgwd switched IPv6 forwarding on"
assert_eq 1 "$(wait_gw_sysctl net.ipv4.ip_forward 1)" "natgwd switched ip_forward on"

for from in fd00:1::10 fd00:1::66; do
        out=$(ask_ok "$LAN" tcp 2001:db8:1::100 80 --from $from)
        assert_match "^peer=\[2001:db8:1::1\]:[0-9]+ local=\[2001:db8:1::100\]:80 proto=tcp$" "$out" "TCP from $from masqueraded"
        out=$(ask_ok "$LAN" udp 2001:db8:1::100 53 --from $from)
        assert_match "^peer=\[2001:db8:1::1\]:[0-9]+ local=\[2001:db8:1::100\]:53 proto=udp$" "$out" "UDP from $from masqueraded"
done

for from in 2001:db8:2::7 2001:db8:1::100; do
        out=$(ask_ok "$WAN" tcp 2001:db8:1::1 443 --from $from)
        assert_match "^peer=\[$from\]:[0-9]+ local=\[fd00:1::66\]:8443 proto=tcp$" "$out" "TCP [2001:db8:1::1]:443 from $from forwarded"
        out=$(ask_ok "$WAN" udp 2001:db8:1::1 5353 --from $from)
        assert_match "^peer=\[$from\]:[0-9]+ local=\[fd00:1::66\]:53 proto=udp$" "$out" "UDP [2001:db8:1::1]:5353 from $from forwarded"
done

# The entries are IPv6 only: IPv4 is neither forwarded to the server nor masqueraded.
ask_refused "$WAN" tcp 203.0.113.1 443
ask_fails "$LAN" udp 203.0.113.100 53 --timeout 1
assert_eq 0 "$(server_saw "$lan_log" "local=192\.")" "no IPv4 request reached the LAN server"
assert_match "peer=192\.168\.1\.10:[0-9]+ local=203\.0\.113\.100:53" "$(cat "$wan_log")" "IPv4 from the LAN left untranslated"

ct=$(nsexec "$GW" conntrack -L -f ipv6 -p tcp --orig-port-dst 443 2>/dev/null)
assert_match "src=2001:db8:2::7 dst=2001:db8:1::1 sport=[0-9]+ dport=443 .*src=fd00:1::66 dst=2001:db8:2::7 sport=8443" \
        "$ct" "conntrack shows the IPv6 dnat"
ct=$(nsexec "$GW" conntrack -L -f ipv6 -p tcp --orig-port-dst 80 2>/dev/null)
assert_match "src=fd00:1::10 dst=2001:db8:1::100 sport=[0-9]+ dport=80 .*src=2001:db8:1::100 dst=2001:db8:1::1 sport=80" \
        "$ct" "conntrack shows the IPv6 masquerade"

for entry in lan6 api6 dns6; do
        assert_counter $entry
done
check_dump ipv6

stop_natgwd
info "PASS"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# allow_from: a forward translates only clients inside its prefixes; any other client's packet
# is not translated at all and reaches gw's own stack (which refuses it). The server must
# never see a client that is not allowed. "ops" also lists a prefix nested in another one,
# which natgwd folds away (overlapping intervals would make the kernel reject the map).

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

conf=$(lab_config allow-from)
cat >"$conf" <<'EOF'
version = 1;
forward = (
  { name = "ssh"; in_interface = "eth0"; proto = "tcp+udp"; port = 2222; to = "192.168.1.66:22";
    allow_from = [ "198.51.100.7/32" ]; },
  { name = "ops"; in_interface = "eth0"; proto = "tcp"; port = "2300-2301"; to = "192.168.1.66";
    allow_from = [ "198.51.100.8/32", "203.0.113.64/26", "203.0.113.96/27" ]; },
  { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; }
);
EOF

serve_in "$LAN" --tcp 22,80,2300-2301 --udp 22
lan_log=$SERVE_LOG
start_natgwd "$conf"

# ssh: only 198.51.100.7
out=$(ask_ok "$WAN" tcp 203.0.113.1 2222 --from 198.51.100.7)
assert_match "^peer=198\.51\.100\.7:[0-9]+ local=192\.168\.1\.66:22 proto=tcp$" "$out" "tcp from 198.51.100.7 is forwarded"
out=$(ask_ok "$WAN" udp 203.0.113.1 2222 --from 198.51.100.7)
assert_match "^peer=198\.51\.100\.7:[0-9]+ local=192\.168\.1\.66:22 proto=udp$" "$out" "udp from 198.51.100.7 is forwarded"
ask_refused "$WAN" tcp 203.0.113.1 2222 --from 198.51.100.8
ask_fails "$WAN" udp 203.0.113.1 2222 --from 198.51.100.8 --timeout 1
ask_refused "$WAN" tcp 203.0.113.1 2222 --from 203.0.113.100
assert_eq 0 "$(server_saw "$lan_log" "peer=198\.51\.100\.8:")" "the server never saw 198.51.100.8 on ssh"
assert_eq 0 "$(server_saw "$lan_log" "peer=203\.0\.113\.100:")" "the server never saw 203.0.113.100 on ssh"

# ops: a list of two prefixes (198.51.100.8/32 and 203.0.113.64/26, which holds .100)
for from in 198.51.100.8 203.0.113.100; do
        out=$(ask_ok "$WAN" tcp 203.0.113.1 2301 --from $from)
        assert_match "^peer=${from//./\\.}:[0-9]+ local=192\.168\.1\.66:2301 proto=tcp$" "$out" "ops from $from is forwarded"
done
ask_refused "$WAN" tcp 203.0.113.1 2300 --from 198.51.100.7
assert_eq 0 "$(server_saw "$lan_log" "peer=198\.51\.100\.7:[0-9]+ local=192\.168\.1\.66:230")" "the server never saw 198.51.100.7 on ops"

# web has no allow_from: everyone
for from in 198.51.100.7 198.51.100.8 203.0.113.100; do
        out=$(ask_ok "$WAN" tcp 203.0.113.1 8080 --from $from)
        assert_match "^peer=${from//./\\.}:[0-9]+ local=192\.168\.1\.66:80 proto=tcp$" "$out" "web from $from is forwarded"
done

ct=$(conntrack_gw -p tcp --orig-port-dst 2222)
assert_match "src=198\.51\.100\.7 dst=203\.0\.113\.1 sport=[0-9]+ dport=2222 .*src=192\.168\.1\.66 dst=198\.51\.100\.7 sport=22" \
        "$ct" "conntrack shows the dnat for the allowed client"
assert_no_match "src=198\.51\.100\.8 dst=203\.0\.113\.1 sport=[0-9]+ dport=2222 .*src=192\.168\.1\.66" \
        "$ct" "conntrack shows no dnat for the refused client"

for entry in ssh ops web; do
        assert_counter $entry
done
check_dump allow-from

stop_natgwd
info "PASS"

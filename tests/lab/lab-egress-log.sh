#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# log_denied (issue 14): a denied packet is logged with the entry's name as prefix, at most 5
# lines a second (burst 10), however many packets are denied.
#
# The kernel log drops the log lines of every network namespace but the first, unless
# net.netfilter.nf_log_all_netns is set, a sysctl of the root namespace that the lab never
# touches (and nft's log statement ignores the namespace's own nf_log setting). natgwd sends
# the same lines to NFLOG group 14 as well: nflog-listen.py reads them there, prefix included,
# and the lab checks that the kernel-log statement is in the same rate-limited rule.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

serve_in "$WAN" --tcp 80 --udp 53

conf=$(lab_config log)
cat >"$conf" <<'EOF2'
version = 1;
masquerade = (
  { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0";
    allow = ( { proto = "tcp"; port = 80; } );
    log_denied = true; },
  { name = "quiet"; source = "192.168.1.66/32"; out_interface = "eth0";
    allow = ( { proto = "tcp"; port = 80; } ); }
);
EOF2
start_natgwd "$conf"

listen=$LAB_TMP/nflog.out
nsexec "$GW" python3 "$LAB_DIR/nflog-listen.py" 14 5 >"$listen" 2>"$LAB_TMP/nflog.err" &
lpid=$!
LAB_PIDS+=("$lpid")
for ((i = 0; i < 50; i++)); do
        grep -q listening "$LAB_TMP/nflog.err" 2>/dev/null && break
        lab_running "$lpid" || fail "nflog-listen.py did not start: $(cat "$LAB_TMP/nflog.err")"
        sleep 0.1
done

info "allowed traffic is not logged; a denied packet of an entry without log_denied is not either"
ask_ok "$LAN" tcp 198.51.100.7 80 --timeout 2 >/dev/null
ask_fails "$LAN" udp 198.51.100.7 53 --from 192.168.1.66 --timeout 1

info "a flood of 300 denied datagrams from lan in about a second"
start=$(date +%s%N)
nsexec "$LAN" python3 - <<'PY'
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(300):
    s.sendto(b"flood", ("198.51.100.7", 53))
    time.sleep(0.003)
PY
wait "$lpid" || fail "nflog-listen.py failed: $(cat "$LAB_TMP/nflog.err")"
secs=$(( ($(date +%s%N) - start) / 1000000000 + 1 ))

lines=$(grep -c " natgw lan denied: $" "$listen" || true)
others=$(grep -vc " natgw lan denied: $" "$listen" || true)
denied=$(natgwctl -j show | jq -r '.entries[] | select(.name == "lan") | .denied')
info "$lines log lines for $denied denied packets of lan within about $secs s"
((denied >= 300)) || fail "denied of lan should count all 300 datagrams, got $denied"
((lines >= 5)) || fail "want log lines with prefix 'natgw lan denied: ', got $lines: $(head -3 "$listen")"
# Burst 10, then 5 a second, for the $secs seconds the flood and the listener overlapped.
((lines <= 10 + 5 * secs + 2)) || fail "the log is not rate-limited: $lines lines in about $secs s"
info "ok: the flood of 300 made $lines log lines (burst 10 + 5/s)"
assert_eq 0 "$others" "no other log lines (allowed traffic, and quiet's denied packet, are not logged)"
assert_match "limit rate 5/second burst 10 packets log prefix \"natgw lan denied: \" log prefix \"natgw lan denied: \" group 14" \
        "$(nsexec "$GW" nft list chain inet natgw allow-lan)" "the log rule as nft shows it"

stop_natgwd
info "PASS"

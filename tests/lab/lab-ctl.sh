#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# natgwctl against a real natgwd: every verb in text and JSON, exit codes 0/1/2/3, counters of
# real connections in `show`, the real client in `conntrack`; then the control socket under
# abuse: non-root clients (file mode, then SO_PEERCRED), garbage, truncated, oversized, deeply
# nested, silent and trickling requests, a flood of clients, clients that hang up, natgwd out
# of descriptors. natgwd must answer each with an error or drop it, stay up, and keep NAT
# working.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

command -v python3 >/dev/null || lab_skip "needs python3"
command -v setpriv >/dev/null || lab_skip "needs setpriv"
command -v prlimit >/dev/null || lab_skip "needs prlimit"
ABUSE=$LAB_DIR/ctl-abuse.py

conf=$(lab_config ctl)
cat >"$conf" <<'EOF'
version = 1;
masquerade = (
  { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; }
);
forward = (
  { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; },
  { name = "dns"; in_interface = "eth0"; proto = "udp"; port = ( 53, "5300-5301" ); to = "192.168.1.66";
    allow_from = [ "198.51.100.0/24" ]; }
);
EOF

serve_in "$LAN" --tcp 80 --udp 53
serve_in "$WAN" --tcp 80
start_natgwd "$conf"

# ---------------------------------------------------------------- verbs

for i in 1 2 3; do
        ask_ok "$WAN" tcp 203.0.113.1 8080 --from 198.51.100.7 >/dev/null
done
ask_ok "$LAN" tcp 203.0.113.100 80 --from 192.168.1.10 >/dev/null

out=$(natgwctl status) || fail "natgwctl status failed"
assert_match "config: +$conf \(generation 1\)" "$out" "status names the config and generation"
assert_match "entries: +1 egress, 2 forwards" "$out" "status counts the entries"
assert_match $'\n +net\\.ipv4\\.ip_forward +1 +0 +1  applied' "$out" "status shows ip_forward switched on"
assert_match "last reload: +none since start" "$out" "status: no reload yet"

json=$(natgwctl -j status) || fail "natgwctl -j status failed"
assert_eq "true 1 1 2 1 $CTL_SOCK keep" \
        "$(jq -r '"\(.ok) \(.generation) \(.entries.egress) \(.entries.forwards) \(.settings[0].actual) \(.socket) \(.on_exit)"' <<<"$json")" \
        "status -j fields"
pid=$(jq -r .pid <<<"$json")
[[ $(ip netns identify "$pid" 2>/dev/null) == "$GW" ]] || fail "status pid $pid is not natgwd in $GW"
info "ok: status -j pid is natgwd's"

out=$(natgwctl show) || fail "natgwctl show failed"
assert_match $'\nforward +web +eth0 tcp 8080 +192\.168\.1\.66:80 +3 ' "$out" "show: web counted the 3 connections"
assert_match $'\nforward +dns +eth0 udp 53,5300-5301 from 198\.51\.100\.0/24 +192\.168\.1\.66 +0 ' "$out" \
        "show: dns with its ports, allow_from and no connections"
assert_match $'\nmasquerade +lan +192\.168\.1\.0/24 out eth0 +\(interface address\) +1 ' "$out" \
        "show: lan counted 1 connection"
json=$(natgwctl -j show) || fail "natgwctl -j show failed"
assert_eq "lan:1 web:3 dns:0" "$(jq -r '[.entries[] | "\(.name):\(.connections)"] | join(" ")' <<<"$json")" \
        "show -j counters per entry, in config order"
assert_eq "$(counter_packets web)" "$(jq -r '.entries[] | select(.name == "web") | .connections' <<<"$json")" \
        "show -j agrees with the kernel's counter of web"

out=$(natgwctl check) || fail "natgwctl check (daemon's file) failed"
# 1 egress interval, web 1 and dns 3 elements, each forward's twice (reflection, on by default).
assert_match "^$conf: valid: egress entries 1, forwards 2, map elements 9$" "$out" "check of natgwd's own file"

bad=$(lab_config bad)
printf 'version = 1;\nforward = (\n  { name = "oops"; proto = "tcp"; port = 70000; to = "192.168.1.66"; }\n);\n' >"$bad"
rc=0
out=$(natgwctl check "$bad" 2>&1) || rc=$?
assert_eq 1 "$rc" "check of an invalid file exits 1"
assert_match "^natgwctl: check: invalid:"$'\n'"$bad:3: entry \"oops\": port 70000 is out of range 1-65535$" "$out" \
        "check names file, line and entry"
rc=0
json=$(natgwctl -j check "$bad") || rc=$?
assert_eq "1 false 3 oops" "$rc $(jq -r '"\(.ok) \(.errors[0].line) \(.errors[0].entry)"' <<<"$json")" "check -j of the invalid file"
out=$(natgwctl check "$conf") || fail "natgwctl check FILE of a valid file failed"
assert_match "valid: egress entries 1, forwards 2" "$out" "check FILE of a valid file"

out=$(natgwctl conntrack) || fail "natgwctl conntrack failed"
assert_match "top sources:"$'\n'".*ENTRIES.*"$'\n'" +[0-9]+ +[0-9.]+%  198\.51\.100\.7"$'\n' "$out" \
        "conntrack: the WAN client 198.51.100.7 is the top source"
json=$(natgwctl -j conntrack --top 2) || fail "natgwctl -j conntrack failed"
assert_eq "true 2 3" \
        "$(jq -r '"\(.ok) \(.sources | length) \([.destinations[] | select(.address == "203.0.113.1" and .port == 8080 and .protocol == "tcp")][0].count)"' <<<"$json")" \
        "conntrack -j: 2 top sources; 3 entries to 203.0.113.1:8080/tcp"
total=$(jq -r .total <<<"$json")
(( total == $(conntrack_gw | wc -l) )) || fail "conntrack -j total $total differs from conntrack -L"
info "ok: conntrack -j total $total matches conntrack -L"

# Exit codes: 2 usage, 3 unreachable.
rc=0; natgwctl frobnicate 2>/dev/null || rc=$?
assert_eq 2 "$rc" "unknown command exits 2"
rc=0; natgwctl status extra 2>/dev/null || rc=$?
assert_eq 2 "$rc" "extra argument exits 2"
rc=0; natgwctl --top 0 conntrack 2>/dev/null || rc=$?
assert_eq 2 "$rc" "bad option value exits 2"
rc=0; out=$(timeout 10 "$NATGWCTL" -S "$LAB_TMP/nothing.sock" status 2>&1) || rc=$?
assert_eq 3 "$rc" "no daemon on the socket exits 3"
assert_match "cannot reach natgwd at $LAB_TMP/nothing.sock" "$out" "unreachable: the message names the socket"

# ---------------------------------------------------------------- non-root

as_nobody() {
        timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}
as_nobody true || lab_skip "cannot run as nobody"
# The socket is 0600: a non-root natgwctl cannot even connect.
[[ $(stat -c %a "$CTL_SOCK") == 600 ]] || fail "control socket mode is $(stat -c %a "$CTL_SOCK"), want 600"
chmod 755 "$LAB_TMP"
rc=0; out=$(as_nobody "$NATGWCTL" -S "$CTL_SOCK" status 2>&1) || rc=$?
assert_eq 3 "$rc" "natgwctl as nobody cannot connect (exit 3)"
assert_match "Permission denied \(natgwctl must run as root\)" "$out" "non-root: the message says why"
# Even with the file opened up, natgwd refuses a peer that is not root (SO_PEERCRED).
chmod 666 "$CTL_SOCK"
rc=0; out=$(as_nobody "$NATGWCTL" -S "$CTL_SOCK" reload 2>&1) || rc=$?
assert_eq 1 "$rc" "natgwd refuses a non-root reload (exit 1)"
assert_match "permission denied: only root may use natgwd's control socket" "$out" "SO_PEERCRED refusal message"
chmod 600 "$CTL_SOCK"
chmod 700 "$LAB_TMP"
assert_eq 1 "$(natgwctl -j status | jq -r .generation)" "the refused reload did not happen"

# ---------------------------------------------------------------- abuse

for case in garbage nul not-json unknown-command pipelined deep truncated oversized slow trickle flood hangup; do
        info "abuse: $case"
        timeout 60 python3 "$ABUSE" "$CTL_SOCK" "$case" || fail "control socket case '$case'"
        natgwd_alive
done
json=$(natgwctl -j status)
assert_match '^[1-9]' "$(jq -r .control.malformed <<<"$json")" "status counts malformed requests"
assert_match '^[1-9]' "$(jq -r .control.refused_busy <<<"$json")" "status counts busy refusals"
assert_eq 1 "$(jq -r .control.refused_not_root <<<"$json")" "status counts the non-root refusal"
assert_eq 1 "$(jq -r .generation <<<"$json")" "the reload after a pipelined status was ignored"
assert_match '^[1-9]' "$(jq -r .control.timed_out <<<"$json")" "status counts timed-out clients"

# Out of descriptors: natgwd with only a few spare ones, 40 clients. EMFILE on accept must not
# spin the loop; natgwd serves again once they go.
nfd=$(find "/proc/$NATGWD_PID/fd" -mindepth 1 | wc -l)
soft=$(prlimit --pid "$NATGWD_PID" --nofile --output SOFT --noheadings)
prlimit --pid "$NATGWD_PID" --nofile=$((nfd + 8)):
info "abuse: nofds (natgwd holds $nfd descriptors, may open $((nfd + 8)))"
NATGWD_PID=$NATGWD_PID timeout 60 python3 "$ABUSE" "$CTL_SOCK" nofds || fail "control socket case 'nofds'"
prlimit --pid "$NATGWD_PID" --nofile="${soft// /}":
natgwd_alive

# Still NAT, still the same table, still reloadable.
out=$(ask_ok "$WAN" tcp 203.0.113.1 8080 --from 198.51.100.8)
assert_match "^peer=198\.51\.100\.8:[0-9]+ local=192\.168\.1\.66:80 proto=tcp$" "$out" "forward still works after the abuse"
out=$(reload_ok)
assert_match "generation 2" "$out" "reload still works after the abuse"
[[ -S $CTL_SOCK ]] || fail "control socket gone before stop"
stop_natgwd
[[ ! -e $CTL_SOCK ]] || fail "control socket left behind after a clean stop"
info "ok: control socket removed at stop"
info "PASS"

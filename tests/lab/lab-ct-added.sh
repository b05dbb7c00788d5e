#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The other half of the conntrack clean-up: a flow that went untranslated (to the gateway itself,
# routed without NAT, or nowhere) keeps its conntrack entry as long as it keeps sending, and the
# kernel looks at the NAT rules only for a flow's first packet. After a reload that adds or
# widens an entry, natgwd deletes the entries of such flows that the new entry now translates,
# so that their next packet takes the new path. A live TCP connection to a service on the
# gateway itself is kept, and the reply says so.
#
# Flows running across the reload (each one UDP datagram every 100 ms, at most 100):
#   p7300   198.51.100.7:41000 -> gw:7300 (port unreachable)    forward udp7300 added
#   p7350   198.51.100.7:41001 -> gw:7350 (port unreachable)    forward range "7340-7359" added
#   a7400   198.51.100.7:41002 -> gw:7400                       forward allow_from .7/32 added
#   b7400   198.51.100.8:41003 -> gw:7400                       ... not allowed: untouched
#   egress  192.168.1.66:41004 -> 203.0.113.100:5300 (routed untranslated) masquerade added
#   ssh     TCP 198.51.100.8 -> gw:2222, a server on gw itself  forward of 2222 added: kept
#   fill    10,000 unrelated entries (natgw-ct-fill)             untouched throughout
# Then natgwd is stopped (SIGTERM, on_exit "keep"), udp7300 is pointed at another target in the
# file, and natgwd is started again: the flow moves like on a reload (the record natgwd keeps
# next to its control socket says what was in force). With on_exit = "remove" the record goes
# with the table.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

NATGW_CT_FILL=${NATGW_CT_FILL:-$SRCDIR/build/tests/lab/natgw-ct-fill}
[[ -x $NATGW_CT_FILL ]] || lab_skip "no natgw-ct-fill at $NATGW_CT_FILL (build it first)"

conf=$(lab_config ct-added)
cat >"$conf" <<'EOF'
version = 1;
masquerade = ( { name = "lan10"; source = "192.168.1.10/32"; out_interface = "eth0"; } );
forward = ( { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; } );
EOF
added=$LAB_TMP/ct-added.2.conf
cat >"$added" <<'EOF'
version = 1;
masquerade = (
  { name = "lan10"; source = "192.168.1.10/32"; out_interface = "eth0"; },
  { name = "lan66"; source = "192.168.1.64/26"; out_interface = "eth0"; }
);
forward = (
  { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; },
  { name = "udp7300"; in_interface = "eth0"; proto = "udp"; port = 7300; to = "192.168.1.66"; },
  { name = "range"; in_interface = "eth0"; proto = "udp"; port = "7340-7359"; to = "192.168.1.66"; },
  { name = "allowed"; in_interface = "eth0"; proto = "udp"; port = 7400; to = "192.168.1.66";
    allow_from = "198.51.100.7/32"; },
  { name = "ssh2222"; in_interface = "eth0"; proto = "tcp"; port = 2222; to = "192.168.1.66"; }
);
EOF
"$NATGWD" -t -c "$added" >/dev/null || fail "natgwd -t rejects the file with the added entries"

serve_in "$LAN" --udp 7300,7340-7359,7400 --tcp 2222 --bind 192.168.1.66
lan66_log=$SERVE_LOG
serve_in "$LAN" --udp 7300 --bind 192.168.1.10
lan10_log=$SERVE_LOG
serve_in "$WAN" --udp 5300
wan_log=$SERVE_LOG
serve_in "$GW" --tcp 2222 --bind 203.0.113.1
gw_log=$SERVE_LOG

start_natgwd "$conf"
record=$(dirname "$CTL_SOCK")/applied.conf
[[ -f $record ]] || fail "natgwd keeps no record of the config in force at $record"
cmp -s "$conf" "$record" || fail "the record $record is not the file applied"

# 10,000 entries nothing in either config covers (TCP established and UDP, to gw:9 from
# 10.99.0.0/16): they must all survive every step.
fill() {
        timeout 120 ip netns exec "$GW" "$NATGW_CT_FILL" --dst 203.0.113.1 --dport 9 --src 10.99.0.0/16 "$@"
}
fill --count 5000 --proto tcp >/dev/null || fail "natgw-ct-fill (tcp) failed"
fill --count 5000 --proto udp >/dev/null || fail "natgw-ct-fill (udp) failed"
fill_count() {
        local tcp udp

        tcp=$(conntrack_gw -p tcp --orig-dst 203.0.113.1 --orig-port-dst 9 | grep -c . || true)
        udp=$(conntrack_gw -p udp --orig-dst 203.0.113.1 --orig-port-dst 9 | grep -c . || true)
        echo $((tcp + udp))
}
assert_eq 10000 "$(fill_count)" "10,000 unrelated conntrack entries in gw"

# stream_udp NAME NS ARGS...: a UDP flow of one datagram per 100 ms for STREAM_SECS seconds
# (default 20: long enough to outlast a reload on a loaded machine), in the background; its
# output in $LAB_TMP/NAME.out.
declare -A STREAM_PID STREAM_LEN
stream_udp() {
        local name=$1 ns=$2 secs=${STREAM_SECS:-20}
        shift 2

        ip netns exec "$ns" "$NATGW_PEER" stream udp "$@" --seconds "$secs" >"$LAB_TMP/$name.out" \
                2>"$LAB_TMP/$name.err" </dev/null &
        STREAM_PID[$name]=$!
        STREAM_LEN[$name]=$secs
        LAB_PIDS+=("$!")
}

# stream_wait NAME: the stream ended (bounded) and sent its datagrams.
stream_wait() {
        local pid=${STREAM_PID[$1]} secs=${STREAM_LEN[$1]} i rc=0 sent

        for ((i = 0; i < (secs + 5) * 10; i++)); do
                lab_running "$pid" || break
                sleep 0.1
        done
        wait "$pid" || rc=$?
        assert_eq 0 "$rc" "stream $1 exited 0"
        sent=$(tail -n 1 "$LAB_TMP/$1.out" | sed -n 's/^sent=\([0-9]*\) .*/\1/p')
        ((${sent:-0} >= secs * 10 - 10)) || fail "stream $1 sent only ${sent:-no} datagrams in $secs s"
        info "ok: stream $1 sent its datagrams ($sent)"
}

# ---------------------------------------------------------------- before the reload

stream_udp p7300 "$WAN" 203.0.113.1 7300 --from 198.51.100.7 --sport 41000
stream_udp p7350 "$WAN" 203.0.113.1 7350 --from 198.51.100.7 --sport 41001
stream_udp a7400 "$WAN" 203.0.113.1 7400 --from 198.51.100.7 --sport 41002
stream_udp b7400 "$WAN" 203.0.113.1 7400 --from 198.51.100.8 --sport 41003
stream_udp egress "$LAN" 203.0.113.100 5300 --from 192.168.1.66 --sport 41004
ssh_out=$LAB_TMP/ssh.out
ip netns exec "$WAN" "$NATGW_PEER" stream tcp 203.0.113.1 2222 --seconds 8 --from 198.51.100.8 \
        >"$ssh_out" 2>"$LAB_TMP/ssh.err" </dev/null &
ssh_pid=$!
LAB_PIDS+=("$ssh_pid")
sleep 2

# Every flow has its entry, untranslated: the gateway answered port unreachable, or routed.
for args in "--orig-port-src 41000 --orig-port-dst 7300" "--orig-port-src 41001 --orig-port-dst 7350" \
        "--orig-port-src 41002 --orig-port-dst 7400" "--orig-port-src 41003 --orig-port-dst 7400"; do
        # shellcheck disable=SC2086
        ct=$(conntrack_gw -p udp $args)
        assert_match "dst=203\.0\.113\.1 sport=4100[0-3] dport=7[34][0-9]0 .*src=203\.0\.113\.1 dst=198\.51\.100\.[78] " \
                "$ct" "before: the flow $args reaches gw itself, untranslated"
done
ct=$(conntrack_gw -p udp --orig-src 192.168.1.66 --orig-port-src 41004)
assert_match "src=203\.0\.113\.100 dst=192\.168\.1\.66 sport=5300 dport=41004" "$ct" \
        "before: 192.168.1.66's flow is routed untranslated"
assert_match "^peer=192\.168\.1\.66:41004 local=203\.0\.113\.100:5300" "$(head -n 1 "$wan_log")" \
        "before: the far end sees the inside source 192.168.1.66"
assert_eq 0 "$(server_saw "$lan66_log" "proto=udp")" "before: nothing reaches 192.168.1.66 over UDP"
assert_match "^peer=198\.51\.100\.8:[0-9]+ local=203\.0\.113\.1:2222 proto=tcp" "$(head -n 1 "$ssh_out")" \
        "before: the TCP connection reaches gw's own server on port 2222"
id_b=$(ct_id -p udp --orig-src 198.51.100.8 --orig-port-src 41003)
id_ssh=$(ct_id -p tcp --orig-port-dst 2222 --state ESTABLISHED)

# ---------------------------------------------------------------- the reload

cp "$added" "$conf"
log=$(reload_ok)
info "natgwctl reload: ${log//$'\n'/ | }"
json=$(natgwctl -j status) || fail "natgwctl status failed: $json"
assert_eq "4 0 0 1 ssh2222" \
        "$(jq -r '.last_apply.conntrack | "\(.deleted_added) \(.deleted_changed) \(.deleted_removed) \(.kept_established) \(.kept_entry)"' <<<"$json")" \
        "status: 4 entries deleted for added entries (p7300, p7350, a7400, egress), 1 TCP connection kept"
info "cleanup cost: $(jq -r '.last_apply.conntrack | "read \(.seen) entries, \(.usec) usec"' <<<"$json")"
assert_match "ct cleanup: +read [0-9]+ entries in [0-9.]+ ms; deleted 4 for added, 0 for changed, 0 for removed entries; kept 1 established" \
        "$(natgwctl status)" "natgwctl status keeps the figures of the last clean-up"
assert_match "deleted 4 conntrack entries of flows that an added or widened entry now translates" "$log" \
        "the reload reply counts the entries deleted for added entries"
assert_match "kept 1 established TCP connections .*entry \"ssh2222\"" "$log" \
        "the reload reply reports the TCP connection it kept"
assert_no_match "removed or changed|warning" "$log" "nothing deleted for removed or changed entries, no warning"
assert_eq "$id_b" "$(ct_id -p udp --orig-src 198.51.100.8 --orig-port-src 41003)" \
        "b7400: the client outside allow_from keeps its entry"
assert_eq "$id_ssh" "$(ct_id -p tcp --orig-port-dst 2222 --state ESTABLISHED)" "ssh: the connection keeps its entry"
assert_eq 10000 "$(fill_count)" "the 10,000 unrelated entries survived the reload"

# ---------------------------------------------------------------- after the reload

for s in p7300 p7350 a7400 b7400 egress; do
        stream_wait "$s"
done
# Each flow, same source port, reached the new target with its next datagrams.
assert_match "peer=198\.51\.100\.7:41000 local=192\.168\.1\.66:7300 proto=udp" "$(cat "$LAB_TMP/p7300.out")" \
        "p7300: the next datagrams reach 192.168.1.66"
(($(server_saw "$lan66_log" "peer=198\.51\.100\.7:41000 ") >= 50)) || fail "p7300: want >= 50 datagrams at 192.168.1.66"
assert_match "peer=198\.51\.100\.7:41001 local=192\.168\.1\.66:7350 proto=udp" "$(cat "$LAB_TMP/p7350.out")" \
        "p7350: the port range forward takes the flow"
assert_match "peer=198\.51\.100\.7:41002 local=192\.168\.1\.66:7400 proto=udp" "$(cat "$LAB_TMP/a7400.out")" \
        "a7400: the allowed client's flow is forwarded"
assert_eq 0 "$(server_saw "$lan66_log" "peer=198\.51\.100\.8:41003 ")" "b7400: the client outside allow_from is not forwarded"
assert_match "sport=41003 dport=7400 .*src=203\.0\.113\.1 dst=198\.51\.100\.8 " \
        "$(conntrack_gw -p udp --orig-src 198.51.100.8 --orig-port-src 41003)" "b7400: its entry is still untranslated"
assert_eq "$id_b" "$(ct_id -p udp --orig-src 198.51.100.8 --orig-port-src 41003)" "b7400: its entry still has its id"
assert_match "^peer=203\.0\.113\.1:[0-9]+ local=203\.0\.113\.100:5300" "$(tail -n 1 "$wan_log")" \
        "egress: the far end now sees the masquerade address"
assert_match "^peer=203\.0\.113\.1:[0-9]+ local=203\.0\.113\.100:5300 proto=udp" "$(head -n 1 "$LAB_TMP/egress.out")" \
        "egress: the answers come back to 192.168.1.66"
ct=$(conntrack_gw -p udp --orig-src 198.51.100.7 --orig-port-src 41000)
assert_match "sport=41000 dport=7300 .*src=192\.168\.1\.66 dst=198\.51\.100\.7 sport=7300 dport=41000" "$ct" \
        "conntrack: p7300's flow is DNATed to 192.168.1.66"

# The kept connection ran on to its end on gw's own server; new ones take the forward.
tcp_stream_wait "$ssh_pid" "$ssh_out" "$LAB_TMP/ssh.err" ssh
exchanges=$STREAM_EXCHANGES
assert_eq "$exchanges" "$(server_saw "$gw_log" "local=203\.0\.113\.1:2222 proto=tcp")" \
        "ssh: gw's own server answered every exchange, before and after the reload"
out=$(ask_ok "$WAN" tcp 203.0.113.1 2222 --from 198.51.100.8)
assert_match "^peer=198\.51\.100\.8:[0-9]+ local=192\.168\.1\.66:2222 proto=tcp$" "$out" \
        "ssh2222: a new connection is forwarded to 192.168.1.66"
assert_eq 10000 "$(fill_count)" "the 10,000 unrelated entries are still there"

# ---------------------------------------------------------------- across a restart

# 30 s: the flow must outlast a stop and a start, which take longer than a reload.
STREAM_SECS=30 stream_udp p7300b "$WAN" 203.0.113.1 7300 --from 198.51.100.7 --sport 41005
sleep 1.5
assert_match "peer=198\.51\.100\.7:41005 local=192\.168\.1\.66:7300" "$(cat "$LAB_TMP/p7300b.out")" \
        "restart: the flow reaches 192.168.1.66 before"
# Every entry DNATed to 192.168.1.66:7300 (this flow's, and p7300's, which has not expired yet)
# is stale once udp7300 points elsewhere.
n7300=$(conntrack_gw -p udp --orig-port-dst 7300 | grep -c "src=192\.168\.1\.66 dst=198\.51\.100\.7 sport=7300" || true)
((n7300 >= 1)) || fail "restart: no entry DNATed to 192.168.1.66:7300"
stop_natgwd
natgw_table_exists || fail "on_exit keep: the table must outlive natgwd"
cmp -s "$added" "$record" || fail "the record $record is not the file last applied"
sed 's/port = 7300; to = "192.168.1.66"/port = 7300; to = "192.168.1.10"/' "$added" >"$conf"
grep -q '7300; to = "192.168.1.10"' "$conf" || fail "the edit of udp7300 did not apply"
start_natgwd "$conf"
json=$(natgwctl -j status) || fail "natgwctl status failed: $json"
assert_eq "0 $n7300 0" "$(jq -r '.last_apply.conntrack | "\(.deleted_added) \(.deleted_changed) \(.deleted_removed)"' <<<"$json")" \
        "restart: the first apply deleted the $n7300 entries of the changed forward"
assert_match "deleted $n7300 conntrack entries that carried a removed or changed translation \(changed $n7300, removed 0\)" \
        "$(cat "$NATGWD_LOG")" "restart: natgwd's log says so"
stream_wait p7300b
assert_match "peer=198\.51\.100\.7:41005 local=192\.168\.1\.10:7300 proto=udp" "$(cat "$LAB_TMP/p7300b.out")" \
        "restart: the same flow now reaches 192.168.1.10"
(($(server_saw "$lan10_log" "peer=198\.51\.100\.7:41005 ") >= 30)) || fail "restart: want >= 30 datagrams at 192.168.1.10"
assert_eq 10000 "$(fill_count)" "the 10,000 unrelated entries survived the restart"

# A record that cannot be loaded is a warning, never a failed start.
stop_natgwd
echo "this is not a config" >"$record"
start_natgwd "$conf"
assert_match "the record .* cannot be loaded" "$(cat "$NATGWD_LOG")" "a broken record is reported"
cmp -s "$conf" "$record" || fail "the broken record was replaced by the file applied"

# on_exit = "remove": the record goes with the table; the next start is a plain one.
sed -i '1a on_exit = "remove";' "$conf"
reload_ok >/dev/null
stop_natgwd
natgw_table_exists && fail "on_exit remove: the table must be gone"
[[ ! -e $record ]] || fail "on_exit remove: the record $record must be gone"
info "ok: on_exit remove removed the table and the record"

info "PASS"

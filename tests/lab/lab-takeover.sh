#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# natgwd's lifecycle against the kernel's state:
#   - another tool's tables in the same namespace stay exactly as they were (same handles)
#     through start, reload, kill, takeover and stop;
#   - `kill -9`: the table stays (persist), traffic keeps flowing, and a new natgwd takes the
#     table over in one batch: a probe that opens a new connection every ~100 ms never fails;
#   - a second natgwd in the same namespace is refused by the kernel (the table has an owner)
#     and changes nothing;
#   - start with an invalid config: exit 1, nothing changed (an existing table stays
#     byte-for-byte, no table is created where there was none);
#   - stop keeps the table by default; on_exit = "remove" removes it, and only it.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

conf=$(lab_config takeover)
write_config() {
        cat >"$conf.tmp" <<EOF
version = 1;
on_exit = "$1";
masquerade = ( { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; } );
forward = (
  { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; },
  { name = "$2"; in_interface = "eth0"; proto = "udp"; port = 5353; to = "192.168.1.66:53"; }
);
EOF
        mv "$conf.tmp" "$conf"
}

# Another tool's rules: a filter table with a set, a chain, a rule with a counter, and a nat
# table of its own (a hand-written port forward natgwd must not touch either).
nsexec "$GW" nft -f - <<'EOF'
table ip other {
        set blocked { type ipv4_addr; elements = { 198.51.100.99 } }
        chain filter_forward {
                type filter hook forward priority 0; policy accept;
                ip saddr @blocked counter drop
        }
}
table inet othernat {
        chain pre {
                type nat hook prerouting priority -150; policy accept;
                iifname "eth0" tcp dport 2222 dnat ip to 192.168.1.10:22
        }
}
EOF
other_tables() {
        nsexec "$GW" nft -a list table ip other && nsexec "$GW" nft -a list table inet othernat
}
others=$(other_tables)
check_others() {
        [[ $(other_tables) == "$others" ]] || fail "another tool's tables changed $1"
        info "ok: the other tool's tables are untouched $1"
}

serve_in "$LAN" --tcp 80 --udp 53
serve_in "$WAN" --tcp 80

# ---------------------------------------------------------------- invalid config, no table

printf 'version = 1;\nforward = ( { name = "x"; proto = "tcp"; port = 1; to = "nowhere"; } );\n' >"$conf"
rc=0
out=$(timeout 10 ip netns exec "$GW" "$NATGWD" -c "$conf" -S "$CTL_SOCK" 2>&1) || rc=$?
assert_eq 1 "$rc" "start with an invalid config exits 1"
assert_match "$conf:2: entry \"x\": " "$out" "the start error names file, line and entry"
natgw_table_exists && fail "a failed start created table inet natgw"
info "ok: no table after a failed start"
check_others "after a failed start"

# ---------------------------------------------------------------- start, reload

write_config keep game
start_natgwd "$conf"
check_table_flags
check_others "after start"
write_config keep game2
reload_ok >/dev/null
check_others "after reload"

# ---------------------------------------------------------------- a second natgwd

before=$(nft_json_shape)
rc=0
out=$(timeout 10 ip netns exec "$GW" "$NATGWD" -c "$conf" -S "$LAB_TMP/second.sock" 2>&1) || rc=$?
assert_eq 1 "$rc" "a second natgwd in the same namespace exits 1"
if kernel_at_least 6 9; then
        assert_match "another natgwd" "$out" "the refusal says another natgwd owns the table"
else
        lab_skip_part "the kernel refuses the second natgwd, the owner of the table being another: kernel $(uname -r) has no owner flag"
fi
[[ $(nft_json_shape) == "$before" ]] || fail "the second natgwd changed the table"
info "ok: the second natgwd changed nothing"
natgwd_alive

# ---------------------------------------------------------------- kill -9 and takeover

# probe: a new TCP connection through the forward and one through masquerade every ~100 ms,
# "ok" or "fail" per round, until $LAB_TMP/probe.stop exists (60 s at most). Rounds, not
# seconds, are what the test counts: a loaded machine makes them slower, not fewer.
probe() {
        local end=$((SECONDS + 60))

        while ((SECONDS < end)) && [[ ! -e $LAB_TMP/probe.stop ]]; do
                if ask_from "$WAN" tcp 203.0.113.1 8080 --from 198.51.100.8 --timeout 1 >/dev/null 2>&1 &&
                   ask_from "$LAN" tcp 203.0.113.100 80 --from 192.168.1.10 --timeout 1 >/dev/null 2>&1; then
                        echo ok
                else
                        echo "fail $(date +%T.%N)"
                fi
                sleep 0.1
        done
}
probe >"$LAB_TMP/probe.out" 2>&1 &
probe_pid=$!
LAB_PIDS+=("$probe_pid")
ip netns exec "$WAN" "$NATGW_PEER" stream tcp 203.0.113.1 8080 --from 198.51.100.7 --seconds 8 --timeout 3 \
        >"$LAB_TMP/stream.out" 2>&1 </dev/null &
stream_pid=$!
LAB_PIDS+=("$stream_pid")
sleep 1.5

kill -KILL "$NATGWD_PID"
wait "$NATGWD_PID" 2>/dev/null || true
NATGWD_PID=
info "natgwd killed with SIGKILL"
natgw_table_exists || fail "table inet natgw vanished with natgwd"
info "ok: table inet natgw outlived natgwd"
if kernel_at_least 6 9; then
        assert_no_match $'\n\tflags owner' "$(nsexec "$GW" nft list table inet natgw)" \
                "the table lost its owner with natgwd"
else
        lab_skip_part "the table outlives natgwd through persist and loses its owner: kernel $(uname -r) has no persist flag"
fi
sleep 2
check_others "after kill -9"

# Takeover, with a changed entry, while the probe runs.
write_config remove game3
start_natgwd "$conf"
check_table_flags
json=$(nft_json)
assert_eq "game3" "$(jq -r '[.nftables[] | select(.counter) | .counter.name | select(startswith("game"))] | join(",")' <<<"$json")" \
        "the new natgwd's config is in the table"

# Some rounds after the takeover too (bounded), then stop the probe.
taken_over=$(wc -l <"$LAB_TMP/probe.out")
for ((i = 0; i < 300 && $(wc -l <"$LAB_TMP/probe.out") < taken_over + 10; i++)); do
        sleep 0.1
done
touch "$LAB_TMP/probe.stop"
wait "$probe_pid" || true
oks=$(grep -c '^ok$' "$LAB_TMP/probe.out" || true)
fails=$(grep -c '^fail' "$LAB_TMP/probe.out" || true)
((fails == 0)) || fail "$fails of $((oks + fails)) probes failed around kill -9 and takeover: $(grep '^fail' "$LAB_TMP/probe.out" | head -3)"
((oks >= taken_over + 10)) || fail "only $oks probe rounds ran, $((oks - taken_over)) after the takeover"
info "ok: $oks probe rounds (new forward and masquerade connections), none failed across kill -9 and takeover"
rc=0
wait "$stream_pid" || rc=$?
((rc == 0)) || fail "the established stream broke: $(cat "$LAB_TMP/stream.out")"
info "ok: the established connection kept going: $(tail -1 "$LAB_TMP/stream.out")"
check_others "after takeover"

# ---------------------------------------------------------------- invalid config, existing table

stop_natgwd_keep() {
        write_config keep game3
        reload_ok >/dev/null
        stop_natgwd
}
stop_natgwd_keep
natgw_table_exists || fail "a stop with on_exit = \"keep\" removed the table"
info "ok: stop with on_exit = \"keep\" left the table"
before=$(nft_json_shape)
printf 'version = 1;\non_exit = "remove";\nmasquerade = ( { name = "lan"; source = "192.168.1.0/33"; out_interface = "eth0"; } );\n' >"$conf"
rc=0
out=$(timeout 10 ip netns exec "$GW" "$NATGWD" -c "$conf" -S "$CTL_SOCK" 2>&1) || rc=$?
assert_eq 1 "$rc" "start with an invalid config over an existing table exits 1"
assert_match "$conf:3: entry \"lan\": " "$out" "the error names file, line and entry"
[[ $(nft_json_shape) == "$before" ]] || fail "a failed start changed the existing table"
info "ok: the existing table is byte-for-byte unchanged"
out=$(ask_ok "$WAN" tcp 203.0.113.1 8080 --from 198.51.100.8)
assert_match "local=192\.168\.1\.66:80 " "$out" "the table left by the stopped natgwd still forwards"

# ---------------------------------------------------------------- on_exit = "remove"

write_config remove game4
start_natgwd "$conf"
stop_natgwd
natgw_table_exists && fail "a stop with on_exit = \"remove\" left the table"
info "ok: stop with on_exit = \"remove\" removed table inet natgw"
check_others "after a stop that removed natgwd's table"
grep -q 'table inet natgw removed (on_exit = "remove")' "$NATGWD_LOG" || fail "the stop did not log the removal"
lab_pass

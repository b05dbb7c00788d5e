#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Hitless reloads. Two established TCP connections, one through a forward (wan -> lan) and one
# through masquerade (lan -> wan), keep exchanging data across 100 `natgwctl reload`s that add,
# change and remove other entries; their conntrack entries stay. Reloads sent at the same time
# are serialized and all applied. A reload of an invalid file exits 1 naming file, line and
# entry, and leaves the table byte-for-byte as it was, with traffic still flowing.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

conf=$(lab_config reload)

# write_config N: the stable entries (lan, web) plus entries that change with N.
write_config() {
        local n=$1 tmp=$conf.tmp

        {
                echo 'version = 1;'
                echo 'masquerade = ('
                echo '  { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; }'
                echo ');'
                if ((n % 2)); then
                        # A more specific prefix that takes .64/26 away from "lan", every other time.
                        echo 'snat = ( { name = "dmz"; source = "192.168.1.64/26"; out_interface = "eth0"; to = "203.0.113.10"; } );'
                fi
                echo 'forward = ('
                echo '  { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; },'
                echo "  { name = \"extra-$((n % 7))\"; in_interface = \"eth0\"; proto = \"tcp+udp\"; port = $((9000 + n % 5)); to = \"192.168.1.$((20 + n % 3))\"; },"
                echo "  { name = \"range\"; proto = \"tcp\"; port = \"$((10000 + n))-$((10010 + n))\"; to = \"192.168.1.66\"; }"
                echo ');'
        } >"$tmp"
        mv "$tmp" "$conf"
}

write_config 0
serve_in "$LAN" --tcp 80,10000-10110
serve_in "$WAN" --tcp 80
start_natgwd "$conf"

# The two long-lived connections, in the background, for longer than the reloads take: at
# most stream_secs, and the test ends them (SIGUSR1) when it has done its work, however long
# that took on a busy machine or under ASan.
stream_secs=240
ip netns exec "$WAN" "$NATGW_PEER" stream tcp 203.0.113.1 8080 --from 198.51.100.7 --seconds $stream_secs \
        --timeout 3 >"$LAB_TMP/stream-fwd.out" 2>&1 </dev/null &
fwd_pid=$!
LAB_PIDS+=("$fwd_pid")
ip netns exec "$LAN" "$NATGW_PEER" stream tcp 203.0.113.100 80 --from 192.168.1.10 --seconds $stream_secs \
        --timeout 3 >"$LAB_TMP/stream-masq.out" 2>&1 </dev/null &
masq_pid=$!
LAB_PIDS+=("$masq_pid")
for ((i = 0; i < 50; i++)); do
        [[ -s $LAB_TMP/stream-fwd.out && -s $LAB_TMP/stream-masq.out ]] && break
        sleep 0.1
done
assert_match "^peer=198\.51\.100\.7:[0-9]+ local=192\.168\.1\.66:80" "$(head -1 "$LAB_TMP/stream-fwd.out")" \
        "the forward stream is established"
assert_match "^peer=203\.0\.113\.1:[0-9]+ local=203\.0\.113\.100:80" "$(head -1 "$LAB_TMP/stream-masq.out")" \
        "the masquerade stream is established"
ct_fwd=$(conntrack_gw -p tcp --orig-src 198.51.100.7 --orig-port-dst 8080 | grep ESTABLISHED) ||
        fail "no ESTABLISHED conntrack entry for the forward stream"
ct_masq=$(conntrack_gw -p tcp --orig-src 192.168.1.10 --orig-port-dst 80 | grep ESTABLISHED) ||
        fail "no ESTABLISHED conntrack entry for the masquerade stream"
# The tuple without timeout and counters: what must still be there afterwards.
tuple() { grep -oE 'src=.* dport=[0-9]+ .*src=.* dport=[0-9]+' <<<"$1" | sed 's/ \[[A-Z]*\]//g'; }
tuple_fwd=$(tuple "$ct_fwd")
tuple_masq=$(tuple "$ct_masq")

# ---------------------------------------------------------------- 100 reloads

start=$(date +%s%N)
for ((n = 1; n <= 100; n++)); do
        write_config "$n"
        out=$(natgwctl reload 2>&1) || fail "reload $n failed: $out"
done
ms=$((($(date +%s%N) - start) / 1000000))
info "100 reloads in $ms ms"
lab_running "$fwd_pid" || fail "the forward stream ended before the reloads were done (took $ms ms)"
lab_running "$masq_pid" || fail "the masquerade stream ended before the reloads were done (took $ms ms)"
assert_eq 101 "$(natgwctl -j status | jq -r .generation)" "generation after 100 reloads"

# The last config is in force: the snat entry of odd N, the moved range.
out=$(ask_ok "$WAN" tcp 203.0.113.1 10105 --from 198.51.100.8)
assert_match "local=192\.168\.1\.66:10105 " "$out" "the range of the last config forwards"
ask_refused "$WAN" tcp 203.0.113.1 10000 --from 198.51.100.8

# Still the same connections, still ESTABLISHED.
[[ $(conntrack_gw -p tcp --orig-src 198.51.100.7 --orig-port-dst 8080) == *"$tuple_fwd"* ]] ||
        fail "the forward stream's conntrack entry changed: want '$tuple_fwd'"
[[ $(conntrack_gw -p tcp --orig-src 192.168.1.10 --orig-port-dst 80) == *"$tuple_masq"* ]] ||
        fail "the masquerade stream's conntrack entry changed: want '$tuple_masq'"
info "ok: both streams' conntrack entries survived"

# ---------------------------------------------------------------- concurrent reloads

# Five at once, with a config large enough that they overlap: each waits for the one before.
{
        echo 'version = 1;'
        echo 'masquerade = ( { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; } );'
        echo 'forward = ('
        echo '  { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; },'
        echo '  { name = "bulk"; in_interface = "eth0"; proto = "tcp+udp"; port = "20000-39999"; to = "192.168.1.66";'
        echo '    reflection = false; }'
        echo ');'
} >"$conf.tmp"
mv "$conf.tmp" "$conf"
pids=()
for ((i = 0; i < 5; i++)); do
        natgwctl reload >"$LAB_TMP/par.$i.out" 2>&1 &
        pids+=($!)
done
for ((i = 0; i < 5; i++)); do
        wait "${pids[$i]}" || fail "concurrent reload $i failed: $(cat "$LAB_TMP/par.$i.out")"
done
gens=$(cat "$LAB_TMP"/par.*.out | grep -oE 'generation [0-9]+' | sort -t' ' -k2,2n | tr '\n' ' ')
assert_eq "generation 102 generation 103 generation 104 generation 105 generation 106 " "$gens" \
        "5 concurrent reloads each applied, one after the other"
# lan 1, web 1 and its reflected copy, bulk 40000 (not reflected).
assert_eq 40003 "$(natgwctl -j status | jq -r .entries.map_elements)" "the bulk config is in force"

# ---------------------------------------------------------------- invalid reloads

before=$(nft_json_shape)
good=$(cat "$conf")

# A syntax error: file and line.
printf '%s\n' "$good" | sed '2s/=/==/' >"$conf"
rc=0
out=$(natgwctl reload 2>&1) || rc=$?
assert_eq 1 "$rc" "reload of a file with a syntax error exits 1"
assert_match "^natgwctl: reload: rejected, the running state is unchanged:"$'\n'"$conf:[23]: syntax error" "$out" \
        "the syntax error names file and line"

# Errors in entries: every one named, with its line.
cat >"$conf" <<'EOF'
version = 1;
masquerade = ( { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; } );
forward = (
  { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; },
  { name = "twin"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.10"; },
  { name = "far"; proto = "udp"; port = 70000; to = "192.168.1.10"; }
);
EOF
rc=0
out=$(natgwctl reload 2>&1) || rc=$?
assert_eq 1 "$rc" "reload of a file with bad entries exits 1"
assert_match "$conf:6: entry \"far\": port 70000 is out of range 1-65535" "$out" "the bad port is named"
assert_match "$conf:5: entry \"twin\": .*\"web\"" "$out" "the overlap names both entries"
rc=0
json=$(natgwctl -j reload) || rc=$?
assert_eq "1 false" "$rc $(jq -r .ok <<<"$json")" "reload -j of the bad file"
assert_eq "far" "$(jq -r '.errors[] | select(.line == 6) | .entry' <<<"$json")" "reload -j errors carry line and entry"

after=$(nft_json_shape)
[[ $before == "$after" ]] || fail "table inet natgw changed after rejected reloads"
info "ok: nft -j list table inet natgw is byte-for-byte the same after the rejected reloads"
out=$(natgwctl status)
assert_match "last reload: +[0-9T:-]+Z \(natgwctl\): rejected" "$out" "status shows the rejected reload"
assert_match "$conf:6: entry \"far\"" "$out" "status lists the errors of the rejected reload"
assert_eq 106 "$(natgwctl -j status | jq -r .generation)" "generation unchanged by rejected reloads"

out=$(ask_ok "$WAN" tcp 203.0.113.1 8080 --from 198.51.100.8)
assert_match "local=192\.168\.1\.66:80 " "$out" "forward still works after the rejected reloads"
out=$(ask_ok "$LAN" tcp 203.0.113.100 80 --from 192.168.1.66)
assert_match "^peer=203\.0\.113\.1:" "$out" "masquerade still works after the rejected reloads"

# ---------------------------------------------------------------- the streams

kill -USR1 "$fwd_pid" "$masq_pid" 2>/dev/null || fail "a stream ended before the test was done with it"
for s in fwd masq; do
        pid_var=${s}_pid
        rc=0
        wait "${!pid_var}" || rc=$?
        ex=$(grep -oE '^exchanges=[0-9]+' "$LAB_TMP/stream-$s.out" | cut -d= -f2)
        ((rc == 0)) || fail "$s stream failed after $ex exchanges: $(cat "$LAB_TMP/stream-$s.out")"
        # A stall of more than 3 s (--timeout) fails the stream itself; how many exchanges fit
        # in the time depends on the machine's load, not on natgwd.
        ((ex > 0)) || fail "$s stream made no exchange"
        info "ok: $s stream: $ex exchanges, no error, across 106 reloads"
done

stop_natgwd

# ---------------------------------------------------------------- a stop during a reload

# SIGTERM arrives while a reload runs: the reload is applied and its client must still get the
# whole reply, although the stop is handled before the loop would have written it all. 20,000
# forwards, each on an interface that does not exist: the reload takes long enough to be caught
# in, and its reply (a warning per interface, some 3 MB) takes more than one write. Three
# rounds, each bounded.
big=$(lab_config big)
python3 - "$big" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write('version = 1;\nforward = (\n')
    f.write(",\n".join('  { name = "f%d"; in_interface = "nx%d"; proto = "tcp"; port = 80; to = "192.168.1.66"; reflection = false; }'
                       % (i, i) for i in range(20000)))
    f.write("\n);\n")
PY
for round in 1 2 3; do
        start_natgwd "$big" -v
        natgwctl -j reload >"$LAB_TMP/stop-reload.json" 2>&1 &
        ctl_pid=$!
        for ((i = 0; i < 500; i++)); do
                grep -q "control: reload" "$NATGWD_LOG" && break
                sleep 0.01
        done
        grep -q "control: reload" "$NATGWD_LOG" || fail "round $round: natgwd did not start the reload within 5 s"
        kill -TERM "$NATGWD_PID"
        rc=0
        wait "$ctl_pid" || rc=$?
        assert_eq "0 true 2 20000" "$rc $(jq -r '"\(.ok) \(.generation) \(.warnings | length)"' "$LAB_TMP/stop-reload.json" 2>&1 | head -c 200)" \
                "round $round: the reload SIGTERM came during was applied and its whole reply arrived"
        stop_natgwd
done
info "PASS"

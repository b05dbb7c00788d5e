#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# natgw-ct-fill against the real kernel, and a conntrack table that is really full.
#
# nf_conntrack_max cannot be lowered inside a child namespace, but gw's own count is held
# against it: natgw-ct-fill inserts ASSURED entries until the kernel refuses more. Then:
#   - 1000 entries arrive in gw (conntrack -C), ESTABLISHED, ASSURED, from the source range
#     asked, each tuple distinct; --delete takes exactly those away again;
#   - filling beyond the max reports the full table (ENOMEM), exit 0 only with --allow-full;
#   - a forward (wan -> gw:8080 -> lan) and a masqueraded connection (lan -> wan) fail while
#     the table is full, and conntrack -S in gw counts the dropped packets;
#   - natgwd stays up, its status and its table dump see the full table;
#   - after conntrack -F in gw, the same connections work again.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

NATGW_CT_FILL=${NATGW_CT_FILL:-$SRCDIR/build/tests/lab/natgw-ct-fill}
[[ -x $NATGW_CT_FILL ]] || lab_skip "no natgw-ct-fill at $NATGW_CT_FILL (build it first)"

# The fill entries: private sources, a documentation destination no lab traffic uses.
FILL_DST=198.51.100.200
FILL_DPORT=9

# ct_fill ARGS...: natgw-ct-fill in gw (bounded); prints its report line, returns its status.
ct_fill() {
        timeout 120 ip netns exec "$GW" "$NATGW_CT_FILL" --dst "$FILL_DST" --dport "$FILL_DPORT" "$@"
}

# field KEY LINE: the value of KEY=VALUE in a report line.
field() {
        local re="(^| )$1=([^ ]*)"

        [[ $2 =~ $re ]] || fail "no $1= in '$2'"
        echo "${BASH_REMATCH[2]}"
}

ct_count() {
        nsexec "$GW" conntrack -C
}

# ct_drops: gw's conntrack drop counter, summed over the CPUs.
ct_drops() {
        nsexec "$GW" conntrack -S | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^drop=/) { sub(/^drop=/, "", $i); s += $i } }
                                         END { print s + 0 }'
}

conf=$(lab_config ct-fill)
cat >"$conf" <<'EOF'
version = 1;
masquerade = (
  { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; }
);
forward = (
  { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; }
);
EOF

serve_in "$LAN" --tcp 80 --bind 192.168.1.66
serve_in "$WAN" --tcp 80 --bind 203.0.113.100
start_natgwd "$conf"

out=$(ask_ok "$WAN" tcp 203.0.113.1 8080 --from 198.51.100.7)
assert_match "^peer=198\.51\.100\.7:[0-9]+ local=192\.168\.1\.66:80 proto=tcp$" "$out" "forward works before the fill"
ask_ok "$LAN" tcp 203.0.113.100 80 --from 192.168.1.10 >/dev/null
info "ok: masquerade works before the fill"

# ---------------------------------------------------------------- 1000 entries

rc=0
ct_fill --count 10 --src 10.99.0.0/16 --delete >/dev/null || rc=$?
assert_eq 0 "$rc" "--delete of entries that are not there succeeds (they count as missing)"

before=$(ct_count)
report=$(ct_fill --count 1000 --src 10.99.0.0/16) || fail "natgw-ct-fill --count 1000 failed: $report"
info "$report"
assert_eq "1000 0 none 0" "$(field inserted "$report") $(field failed "$report") $(field first_error "$report") $(field unsent "$report")" \
        "natgw-ct-fill reports 1000 inserted, nothing failed"
assert_eq $((before + 1000)) "$(ct_count)" "conntrack -C in gw counts 1000 more entries"

listing=$(conntrack_gw -p tcp -d "$FILL_DST" --dport "$FILL_DPORT")
summary=$(awk -v dst="$FILL_DST" '
        $0 ~ "dst=" dst " " {
                n++
                if ($4 == "ESTABLISHED" && / \[ASSURED\] /) good++
                split($5, s, "=")
                if (s[2] ~ /^10\.99\.[0-9]+\.[0-9]+$/) inrange++
                if ($7 == "sport=1024") port++
                seen[s[2]] = 1
        }
        END { print n + 0, good + 0, inrange + 0, port + 0, length(seen) }' <<<"$listing")
assert_eq "1000 1000 1000 1000 1000" "$summary" \
        "1000 entries: ESTABLISHED and ASSURED, sources in 10.99.0.0/16, 1000 distinct sources (sport 1024)"

report=$(ct_fill --count 1000 --src 10.99.0.0/16 2>/dev/null) && fail "a second insert of the same tuples succeeded: $report"
assert_eq "0 1000 EEXIST" "$(field inserted "$report") $(field failed "$report") $(field first_error "$report")" \
        "inserting the same tuples again: each one refused as existing, exit 1"

report=$(ct_fill --count 1000 --src 10.99.0.0/16 --delete) || fail "natgw-ct-fill --delete failed: $report"
assert_eq "1000 0 0" "$(field deleted "$report") $(field failed "$report") $(field missing "$report")" \
        "--delete removes the 1000 entries"
assert_eq "$before" "$(ct_count)" "conntrack -C is back where it was"

# UDP and IPv6 entries are ASSURED too (no TCP state).
report=$(ct_fill --count 3 --proto udp --src fd00:99::/64 --dst 2001:db8::200) ||
        fail "natgw-ct-fill --proto udp IPv6 failed: $report"
listing=$(conntrack_gw -f ipv6 -p udp -d 2001:db8::200 --dport "$FILL_DPORT")
assert_eq 3 "$(grep -cE ' src=fd00:99::[12]? .*\[ASSURED\]' <<<"$listing" || true)" \
        "3 UDP IPv6 entries from fd00:99::/64, ASSURED"
ct_fill --count 3 --proto udp --src fd00:99::/64 --dst 2001:db8::200 --delete >/dev/null ||
        fail "natgw-ct-fill --delete of the UDP IPv6 entries failed"

# ---------------------------------------------------------------- a full table

# Start from an empty table: what is left (TIME_WAIT of the asks above) could expire while the
# table is full and let one connection through.
nsexec "$GW" conntrack -F 2>/dev/null
max=$(gw_sysctl net.netfilter.nf_conntrack_max)
assert_match '^[1-9][0-9]*$' "$max" "gw's nf_conntrack_max is $max"
(( max <= 4 * 1024 * 1024 )) || lab_skip "nf_conntrack_max $max is too large to fill in a test"

rc=0
report=$(ct_fill --count $((max + 1000)) --src 10.99.0.0/16 --allow-full 2>"$LAB_TMP/fill.err") || rc=$?
info "$report"
assert_eq 0 "$rc" "filling beyond the max with --allow-full exits 0"
assert_eq ENOMEM "$(field first_error "$report")" "the kernel refuses with ENOMEM once the table is full"
inserted=$(field inserted "$report")
full=$(field full "$report")
(( inserted > 0 && inserted <= max && full > 0 )) || fail "inserted=$inserted full=$full (max $max)"
assert_eq "$(field failed "$report")" "$full" "every failure was the full table"
assert_match "the conntrack table is full" "$(cat "$LAB_TMP/fill.err")" "natgw-ct-fill says the table is full"
assert_eq "$max" "$(ct_count)" "conntrack -C in gw is at nf_conntrack_max"

rc=0
report=$(ct_fill --count 10 --src 10.98.0.0/16 2>/dev/null) || rc=$?
assert_eq "1 0 ENOMEM" "$rc $(field inserted "$report") $(field first_error "$report")" \
        "one more insert without --allow-full: nothing inserted, table full, exit 1"

drops=$(ct_drops)
ask_fails "$WAN" tcp 203.0.113.1 8080 --from 198.51.100.7 --timeout 2
ask_fails "$LAN" tcp 203.0.113.100 80 --from 192.168.1.10 --timeout 2
drops2=$(ct_drops)
(( drops2 > drops )) || fail "conntrack -S drop did not rise ($drops -> $drops2)"
info "ok: conntrack -S in gw counted $((drops2 - drops)) dropped packets"
assert_eq "$max" "$(ct_count)" "the refused connections left no entry"

natgwd_alive
json=$(natgwctl -j status) || fail "natgwctl -j status failed"
assert_eq "$max $max" "$(jq -r '"\(.conntrack.count) \(.conntrack.max)"' <<<"$json")" "natgwctl status: count = max"
level=$(jq -r '.conntrack.level // empty' <<<"$json")
[[ -z $level ]] || info "natgwctl status: conntrack level $level"
json=$(natgwctl -j conntrack) || fail "natgwctl -j conntrack failed on a full table"
assert_eq "$max" "$(jq -r .total <<<"$json")" "natgwctl conntrack dumps the whole full table"
info "natgwctl conntrack: dump of $max entries in $(jq -r .dump_ms <<<"$json") ms"

# ---------------------------------------------------------------- flushed

nsexec "$GW" conntrack -F 2>/dev/null
(( $(ct_count) < 100 )) || fail "conntrack -F left $(ct_count) entries"
out=$(ask_ok "$WAN" tcp 203.0.113.1 8080 --from 198.51.100.7)
assert_match "^peer=198\.51\.100\.7:[0-9]+ local=192\.168\.1\.66:80 proto=tcp$" "$out" "forward works after conntrack -F"
out=$(ask_ok "$LAN" tcp 203.0.113.100 80 --from 192.168.1.10)
assert_match "^peer=203\.0\.113\.1:[0-9]+ local=203\.0\.113\.100:80 proto=tcp$" "$out" "masquerade works after conntrack -F"
natgwd_alive
stop_natgwd
info "PASS"

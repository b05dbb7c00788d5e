#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The conntrack watch against a really filling table. nf_conntrack_max is read-only in the lab's
# gw namespace (262144 here, the global value), but gw's own table fills up to it and then the
# kernel really drops new connections; natgw-ct-fill inserts ASSURED entries to get there.
# With warn = 50 and critical = 75 (interval 0.2 s) and auto_grow:
#   - each threshold crossed produces exactly one log entry (ok -> warn -> critical -> full),
#     also while the table hovers around the warn threshold (hysteresis);
#   - at warn natgwd dumps the table once and names the filler's addresses as top sources;
#   - full: a real connection through the gateway is dropped, and the drop counter natgwctl
#     shows rises; STATUS= says full;
#   - at critical, auto_grow tries to raise nf_conntrack_max, the kernel refuses (read-only in a
#     child namespace), and natgwd says so once and does not try again;
#   - after a flush the level is back to ok, in one entry.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

NATGW_CT_FILL=${NATGW_CT_FILL:-$SRCDIR/build/tests/lab/natgw-ct-fill}
[[ -x $NATGW_CT_FILL ]] || lab_skip "no natgw-ct-fill at $NATGW_CT_FILL (build it first)"

max=$(gw_sysctl net.netfilter.nf_conntrack_max)
((max >= 65536)) || lab_skip "nf_conntrack_max is only $max here"
info "nf_conntrack_max in gw: $max (read-only in a child namespace)"

conf=$(lab_config ct-watch)
cat >"$conf" <<'EOF2'
version = 1;
conntrack = { warn = 50; critical = 75; interval = 0.2; auto_grow = { ceiling = 524288; step = 65536; }; };
masquerade = ( { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; } );
EOF2

serve_in "$WAN" --tcp 80
start_natgwd "$conf"

# fill CIDR COUNT [ARGS...]: natgw-ct-fill in gw.
fill() {
        local src=$1 count=$2 out
        shift 2

        out=$(timeout 60 ip netns exec "$GW" "$NATGW_CT_FILL" --src "$src" --count "$count" --dst 198.51.100.50 \
                --dport 443 "$@") || fail "natgw-ct-fill --src $src --count $count $*: $out"
        info "fill $src $count $*: $out"
}

level() {
        natgwctl -j status | jq -r .conntrack.level
}

# wait_level LEVEL: bounded (5 s) wait until natgwctl status says LEVEL.
wait_level() {
        local i l

        for ((i = 0; i < 50; i++)); do
                l=$(level)
                [[ $l == "$1" ]] && { info "ok: level $1 ($(natgwctl -j status | jq -r .conntrack.percent | cut -c1-5) %)"; return 0; }
                sleep 0.1
        done
        fail "conntrack level is $l, want $1"
}

# level_lines: natgwd's log lines about level changes, "NEW<was OLD>" each.
level_lines() {
        sed -nE 's/.*conntrack table ([a-z]+) \(was ([a-z]+)\).*/\1<\2/p' "$NATGWD_LOG" | tr '\n' ' '
}

assert_eq ok "$(level)" "an empty table is ok"

# 47.7 % of the table from four addresses, then a hovering 3 % from four others.
a=$((max * 477 / 1000))
b=$((max * 3 / 100))
fill 10.99.0.0/30 "$a"
sleep 0.5
assert_eq ok "$(level)" "47.7 % is still ok"
fill 10.98.0.0/30 "$b"
wait_level warn

# Hover around 50 %: out, in, out, in. The band reaches down to 45 %: no new entry.
for round in 1 2; do
        fill 10.98.0.0/30 "$b" --delete
        sleep 0.5
        assert_eq warn "$(level)" "round $round: back under 50 % the level holds (hysteresis)"
        fill 10.98.0.0/30 "$b"
        sleep 0.5
done
assert_eq "warn<ok " "$(level_lines)" "one log entry for warn, none for the hovering"

# The dump at warn names the filler.
for ((i = 0; i < 30; i++)); do
        grep -q "conntrack table warn: .*top sources: 10\.9[89]\.0\.[0-3]" "$NATGWD_LOG" && break
        sleep 0.1
done
assert_match "top sources: 10\.9[89]\.0\.[0-3] [0-9]+ \([0-9.]+%\)" "$(grep 'conntrack table warn: ' "$NATGWD_LOG")" \
        "the dump at warn names the filler's addresses"
json=$(natgwctl -j status)
assert_eq warn "$(jq -r .conntrack.last_top.level <<<"$json")" "status keeps the dump made at warn"
assert_match "^10\.99\.0\.[0-3]$" "$(jq -r '.conntrack.last_top.sources[0].address' <<<"$json")" \
        "status: the top source is one of the filler's addresses"
out=$(natgwctl conntrack)
assert_match "top sources:"$'\n'".*ENTRIES.*"$'\n'" +[0-9]+ +[0-9.]+%  10\.99\.0\.[0-3]" "$out" \
        "natgwctl conntrack names the filler first"
assert_match "198\.51\.100\.50 +tcp +443" "$out" "natgwctl conntrack names the filler's destination"

# Critical, then full.
fill 10.97.0.0/30 $((max * 27 / 100))
wait_level critical
for ((i = 0; i < 30; i++)); do
        grep -q "conntrack.auto_grow: cannot raise" "$NATGWD_LOG" && break
        sleep 0.1
done
assert_match "conntrack.auto_grow: cannot raise nf_conntrack_max from $max: Permission denied \(it is read-only here" \
        "$(grep 'conntrack.auto_grow' "$NATGWD_LOG")" "auto_grow says the kernel refused"
assert_eq "Permission denied" "$(natgwctl -j status | jq -r .conntrack.auto_grow.refused)" "status shows the refusal"
fill 10.96.0.0/30 $((max * 30 / 100)) --allow-full
wait_level full
drop_before=$(natgwctl -j status | jq -r .conntrack.drop)

# A real connection through the full gateway is dropped; the kernel counts it.
ask_fails "$LAN" tcp 203.0.113.100 80 --from 192.168.1.10 --timeout 2
drop_after=""
for ((i = 0; i < 30; i++)); do
        drop_after=$(natgwctl -j status | jq -r .conntrack.drop)
        ((drop_after > drop_before)) && break
        sleep 0.1
done
((drop_after > drop_before)) || fail "the drop counter did not rise ($drop_before -> $drop_after)"
info "ok: drop counter rose from $drop_before to $drop_after"
assert_match "drop $drop_after," "$(natgwctl status)" "natgwctl status shows the drop counter"
assert_eq full "$(level)" "still full"
grep -q "^STATUS=.*conntrack 100.0% (full)$" "$NOTIFY_LOG" || fail "no STATUS= saying full: $(grep STATUS= "$NOTIFY_LOG" | tail -2)"
info "ok: STATUS= says the table is full"

# Flushed: ok again, and the connection works.
nsexec "$GW" conntrack -F >/dev/null 2>&1 || fail "conntrack -F in gw failed"
wait_level ok
out=$(ask_ok "$LAN" tcp 203.0.113.100 80 --from 192.168.1.10)
assert_match "^peer=203\.0\.113\.1:" "$out" "after the flush new connections go through"
assert_eq "warn<ok critical<warn full<critical ok<full " "$(level_lines)" \
        "exactly one log entry per level change, in order"
assert_eq 1 "$(grep -c 'conntrack.auto_grow' "$NATGWD_LOG")" "one auto_grow refusal, not one per check"
stop_natgwd
info "PASS"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Bad answers from the kernel, injected by natgw-nft-fault (nft-fault.c, LD_PRELOAD into
# natgwd only: it changes what natgwd reads, never what the kernel holds):
#   - ENOBUFS and NLM_F_DUMP_INTR on the counter dump (`natgwctl show`) and on the conntrack
#     dump (`natgwctl conntrack`): once, natgwd dumps again and answers; on every try, a clear
#     error, and natgwd stays up;
#   - the conntrack statistics cannot be read (EPERM): one error in the log, status says why,
#     and once they can be read again, one line says so;
#   - ENOBUFS on the conntrack dump of a reload's cleanup: the reload is applied, with a warning;
#   - ENOBUFS on the answers to a reload's batch: natgwd cannot know whether the kernel took it
#     and says so; the answers it did not read must not be taken for those of the next reload,
#     which the kernel rejects (verdict fault) and natgwd must report as rejected.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

NATGW_NFT_FAULT=${NATGW_NFT_FAULT:-$SRCDIR/build/tests/lab/natgw-nft-fault.so}
[[ -f $NATGW_NFT_FAULT ]] || lab_skip "no fault module at $NATGW_NFT_FAULT (build it first)"
fault=$LAB_TMP/fault

conf=$(lab_config faults)
write_config() {
        cat >"$conf.tmp" <<EOF
version = 1;
conntrack = { interval = 0.2; };
masquerade = ( { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; } );
forward = ( { name = "game"; in_interface = "eth0"; proto = "udp"; port = 6000; to = "$1"; } );
$2
EOF
        mv "$conf.tmp" "$conf"
}
write_config 192.168.1.66 ""

serve_in "$LAN" --udp 6000
serve_in "$WAN" --tcp 80
NATGWD_ENV=("LD_PRELOAD=$NATGW_NFT_FAULT" "NATGW_FAULT_FILE=$fault"
            "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
start_natgwd "$conf"
ask_ok "$LAN" tcp 203.0.113.100 80 --from 192.168.1.10 >/dev/null
ask_ok "$WAN" udp 203.0.113.1 6000 --from 198.51.100.7 --sport 40000 >/dev/null

# fault KIND COUNT: arm a fault for the next COUNT requests of its kind.
fault() {
        echo "$1 $2" >"$fault"
}

# fault_used KIND: every armed request met the fault (the module counts down to 0).
fault_used() {
        [[ $(cat "$fault") == "$1 0" ]] || fail "fault $1 was not used up: the file says '$(cat "$fault")'"
        rm -f "$fault"
}

# ---------------------------------------------------------------- dumps

for kind in nft-dump-enobufs nft-dump-intr; do
        fault "$kind" 1
        json=$(natgwctl -j show) || fail "show after one $kind failed: $json"
        fault_used "$kind"
        assert_eq "lan:1 game:1" "$(jq -r '[.entries[] | "\(.name):\(.connections)"] | join(" ")' <<<"$json")" \
                "show dumps again after one $kind and has every counter"
        fault "$kind" 3
        rc=0
        out=$(natgwctl show 2>&1) || rc=$?
        fault_used "$kind"
        assert_eq 1 "$rc" "show fails when every try meets $kind"
        assert_match "cannot read the counters of table inet natgw: the dump was interrupted on every try" "$out" \
                "the error says the dump was interrupted ($kind)"
        natgwd_alive
done

for kind in ct-dump-enobufs ct-dump-intr; do
        fault "$kind" 1
        json=$(natgwctl -j conntrack) || fail "conntrack after one $kind failed: $json"
        fault_used "$kind"
        assert_match '^[1-9]' "$(jq -r .total <<<"$json")" "conntrack dumps again after one $kind"
        fault "$kind" 3
        rc=0
        out=$(natgwctl conntrack 2>&1) || rc=$?
        fault_used "$kind"
        assert_eq 1 "$rc" "conntrack fails when every try meets $kind"
        assert_match "cannot dump the conntrack table: the dump was interrupted on every try" "$out" \
                "the error says the dump was interrupted ($kind)"
        natgwd_alive
done

# ---------------------------------------------------------------- conntrack statistics

fault ct-stats-eperm 1000000
for ((i = 0; i < 50; i++)); do
        [[ $(natgwctl -j status | jq -r .conntrack.read_error) == "Operation not permitted" ]] && break
        sleep 0.1
done
json=$(natgwctl -j status)
assert_eq "Operation not permitted" "$(jq -r .conntrack.read_error <<<"$json")" "status: the statistics cannot be read"
assert_match "cannot read the statistics: Operation not permitted" "$(natgwctl status)" "natgwctl status says so"
sleep 1
rm -f "$fault"
assert_eq 1 "$(grep -c 'cannot read the conntrack statistics over ctnetlink: Operation not permitted' "$NATGWD_LOG")" \
        "one log line for many failed checks"
for ((i = 0; i < 50; i++)); do
        [[ $(natgwctl -j status | jq -r .conntrack.read_error) == null ]] && break
        sleep 0.1
done
assert_eq null "$(natgwctl -j status | jq -r .conntrack.read_error)" "status: readable again"
grep -q 'conntrack statistics readable again' "$NATGWD_LOG" || fail "no log line saying the statistics are readable again"
info "ok: natgwd logged that the statistics are readable again"
assert_match '^[1-9]' "$(natgwctl -j status | jq -r .conntrack.count)" "the watch counts again"

# ---------------------------------------------------------------- reload: cleanup dump

# The target of "game" moves: the reload's cleanup must dump the table, and meets ENOBUFS.
write_config 192.168.1.10 ""
fault ct-dump-enobufs 1
rc=0
out=$(natgwctl reload 2>&1) || rc=$?
fault_used ct-dump-enobufs
echo "$out"
assert_eq 0 "$rc" "the reload is applied although its cleanup failed"
assert_match "warning: .*conntrack entries of added, removed or changed entries were not all deleted .*the dump was interrupted" \
        "$out" "the failed cleanup is a warning"
assert_eq 2 "$(natgwctl -j status | jq -r .generation)" "generation 2"

# ---------------------------------------------------------------- reload: lost answers

write_config 192.168.1.10 'snat = ( { name = "dmz"; source = "192.168.1.64/26"; out_interface = "eth0"; to = "203.0.113.10"; } );'
fault batch-enobufs 1
rc=0
out=$(natgwctl reload 2>&1) || rc=$?
fault_used batch-enobufs
echo "$out"
assert_eq 1 "$rc" "a reload whose answers were lost is not reported as applied"
assert_match "reading the kernel's answers failed: No buffer space available; the table's state is unknown" "$out" \
        "the error says the table's state is unknown"
assert_eq 2 "$(natgwctl -j status | jq -r .generation)" "the config in force is still generation 2"
natgwd_alive

# The next reload is rejected by the kernel; the unread answers of the last one must not hide that.
write_config 192.168.1.10 'snat = ( { name = "dmz2"; source = "192.168.1.64/26"; out_interface = "eth0"; to = "203.0.113.10"; } );'
echo egress-dmz2 >"$fault"
rc=0
out=$(natgwctl reload 2>&1) || rc=$?
rm -f "$fault"
echo "$out"
assert_eq 1 "$rc" "the kernel's rejection of the next reload is reported"
assert_match 'entry "dmz2": the kernel rejected' "$out" "the rejection names the entry"
assert_eq 2 "$(natgwctl -j status | jq -r .generation)" "still generation 2"

# And without faults, natgwd and the kernel agree again.
out=$(reload_ok)
assert_match "generation 3" "$out" "a clean reload is applied"
assert_eq 1 "$(nft_json | jq '[.nftables[] | select(.chain.name == "egress-dmz2")] | length')" \
        "the table holds what natgwd says is in force"
out=$(ask_ok "$LAN" tcp 203.0.113.100 80 --from 192.168.1.66)
assert_match "^peer=203\.0\.113\.10:[0-9]+ " "$out" "192.168.1.66 leaves with dmz2's address"

# ---------------------------------------------------------------- reload: cleanup deadline

# The target of "game" moves back: the cleanup must dump the table, which stays silent. The
# cleanup stops at its overall deadline (5 s), before a read's own 10 s wait would end it, and
# the reload is applied with a warning that says so.
write_config 192.168.1.66 'snat = ( { name = "dmz2"; source = "192.168.1.64/26"; out_interface = "eth0"; to = "203.0.113.10"; } );'
fault ct-dump-stall 1
rc=0
t0=$(date +%s%N)
out=$(natgwctl reload 2>&1) || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
fault_used ct-dump-stall
echo "$out"
assert_eq 0 "$rc" "the reload is applied although its cleanup ran out of time"
assert_match "warning: .*conntrack entries of added, removed or changed entries were not all deleted .*the cleanup stopped at its deadline" \
        "$out" "the warning says the cleanup stopped at its deadline"
((ms >= 4500 && ms < 9500)) || fail "the reload took $ms ms: want the cleanup's 5 s deadline, not a read's 10 s wait"
info "ok: the reload took $ms ms"
assert_eq 4 "$(natgwctl -j status | jq -r .generation)" "generation 4"
natgwd_alive
stop_natgwd
info "PASS"

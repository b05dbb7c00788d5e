#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Who may touch table inet natgw, and what natgwd does when someone does:
#   1. another process holds an owned table inet natgw (nft -i keeps its socket open): natgwd
#      refuses to start, says why, and changes nothing;
#   2. a second natgwd on the same control socket stops before it changes anything;
#      kernel >= 6.9, table owned by natgwd: `nft delete table`, `nft flush table`, `nft add
#      rule` and `nft delete chain` from outside are all refused by the kernel; the table stays
#      byte for byte, NAT keeps working, natgwd notices nothing;
#   3. a kernel without the owner flag (< 6.9; here simulated by natgw-nft-fault "table-flags",
#      which makes the kernel answer EOPNOTSUPP exactly as an old kernel does for "persist"):
#      natgwd falls back to a table without flags and says so (table flags 0x0); then
#      `nft delete table inet natgw` succeeds behind natgwd's back. NAT is gone, natgwd stays
#      up and does not notice (status is unchanged; `natgwctl show` has no counters); the next
#      `natgwctl reload` recreates the table and NAT works again.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

NATGW_NFT_FAULT=${NATGW_NFT_FAULT:-$SRCDIR/build/tests/lab/natgw-nft-fault.so}
[[ -f $NATGW_NFT_FAULT ]] || lab_skip "no fault module at $NATGW_NFT_FAULT (build it first)"
fault=$LAB_TMP/fault

conf=$(lab_config owner)
cat >"$conf" <<'EOF'
version = 1;
on_exit = "remove";
masquerade = ( { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; } );
forward = ( { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; } );
EOF

serve_in "$LAN" --tcp 80
serve_in "$WAN" --tcp 80

nat_works() {
        local out

        out=$(ask_ok "$LAN" tcp 203.0.113.100 80 --from 192.168.1.10)
        assert_match "^peer=203\.0\.113\.1:[0-9]+ " "$out" "LAN client masqueraded $1"
        out=$(ask_ok "$WAN" tcp 203.0.113.1 8080 --from 198.51.100.7)
        assert_match "local=192\.168\.1\.66:80 " "$out" "forward web works $1"
}

# ---------------------------------------------------------------- 1. another process owns it

if kernel_at_least 6 9 || nsexec "$GW" nft add table inet owner_probe '{ flags owner; }' 2>/dev/null; then
        nsexec "$GW" nft delete table inet owner_probe 2>/dev/null || true
        # nft -i keeps its netlink socket, and so its ownership, until its input ends.
        exec 9> >(exec ip netns exec "$GW" nft -i >/dev/null 2>&1)
        holder=$!
        LAB_PIDS+=("$holder")
        echo 'add table inet natgw { flags owner; }' >&9
        for ((i = 0; i < 50; i++)); do
                natgw_table_exists && break
                sleep 0.1
        done
        natgw_table_exists || fail "nft -i did not create an owned table inet natgw"
        before=$(nsexec "$GW" nft -a list table inet natgw)
        rc=0
        out=$(timeout 10 ip netns exec "$GW" "$NATGWD" -c "$conf" -S "$CTL_SOCK" 2>&1) || rc=$?
        echo "$out"
        assert_eq 1 "$rc" "natgwd exits 1 when another process owns table inet natgw"
        assert_match "Operation not permitted \(the table belongs to another running process" "$out" \
                "the error says another process owns the table"
        [[ $(nsexec "$GW" nft -a list table inet natgw) == "$before" ]] || fail "natgwd changed the other owner's table"
        info "ok: the other owner's table is unchanged"
        [[ ! -e $CTL_SOCK ]] || fail "a natgwd that did not start left its control socket"
        # Its owner gone, the kernel removes an owned table that does not persist.
        exec 9>&-
        wait "$holder" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
                natgw_table_exists || break
                sleep 0.1
        done
        natgw_table_exists && fail "the owned table outlived nft -i"
        info "ok: the owned table went with its owner"
else
        info "kernel $(uname -r) has no owner flag: no other process can own a table"
fi

# ---------------------------------------------------------------- 2. owned by natgwd

start_natgwd "$conf"
# A second natgwd on the same control socket stops before it touches anything.
before=$(nft_json)
rc=0
out=$(timeout 10 ip netns exec "$GW" "$NATGWD" -c "$conf" -S "$CTL_SOCK" 2>&1) || rc=$?
assert_eq 1 "$rc" "a second natgwd on the same control socket exits 1"
assert_match "cannot listen on control socket $CTL_SOCK: Address already in use \(another natgwd is running" "$out" \
        "it says another natgwd holds the socket"
[[ $(nft_json) == "$before" ]] || fail "the second natgwd changed the table"
natgwd_alive
if kernel_at_least 6 9; then
        check_table_flags
        nat_works "before anyone else touches the table"
        before=$(nft_json)
        for cmd in "delete table inet natgw" "flush table inet natgw" \
                   "add rule inet natgw postrouting counter accept" "delete chain inet natgw egress-lan" \
                   "delete map inet natgw fwd4_if"; do
                rc=0
                out=$(nsexec "$GW" nft "$cmd" 2>&1) || rc=$?
                ((rc != 0)) || fail "nft $cmd succeeded on natgwd's owned table"
                assert_match "Operation not permitted" "$out" "nft $cmd is refused by the kernel"
        done
        [[ $(nft_json) == "$before" ]] || fail "table inet natgw changed although every change was refused"
        info "ok: table inet natgw is byte-identical"
        nat_works "after the refused changes"
        natgwd_alive
else
        info "kernel $(uname -r) has no owner flag: part 2 does not apply"
fi
stop_natgwd
natgw_table_exists && fail "on_exit = \"remove\" left the table"

# ---------------------------------------------------------------- 3. no owner flag

if kernel_at_least 6 9; then
        # What a kernel before 6.9 answers to "persist": EOPNOTSUPP for the table's flags.
        echo table-flags >"$fault"
        NATGWD_ENV=("LD_PRELOAD=$NATGW_NFT_FAULT" "NATGW_FAULT_FILE=$fault"
                    "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
fi
start_natgwd "$conf"
rm -f "$fault"
if kernel_at_least 6 9; then
        grep -q '^natgw-nft-fault: table-flags: added' "$NATGWD_LOG" || fail "the table-flags fault did not fire"
fi
grep -q 'table flags 0x0$' "$NATGWD_LOG" || fail "natgwd did not log 'table flags 0x0': $(cat "$NATGWD_LOG")"
info "ok: natgwd fell back to a table without flags and said so"
assert_eq 0 "$(natgwctl -j status | jq -r .last_apply.table_flags)" "status: table_flags 0"
assert_no_match $'\n\tflags ' "$(nsexec "$GW" nft list table inet natgw)" "the table has no flags"
nat_works "with a table without owner"

nsexec "$GW" nft delete table inet natgw || fail "nft delete table inet natgw failed on a table without owner"
natgw_table_exists && fail "table inet natgw still there after nft delete"
info "ok: without the owner flag, nft deletes natgwd's table behind its back"
ask_fails "$LAN" tcp 203.0.113.100 80 --from 192.168.1.10 --timeout 1
natgwd_alive
assert_eq "1 applied-at-start" \
        "$(natgwctl -j status | jq -r '"\(.generation) \(.last_reload // "applied-at-start")"')" \
        "natgwd does not notice: status unchanged, generation 1"
# A dump of a table that is not there is empty, not an error: show has no counters to show.
json=$(natgwctl -j show) || fail "natgwctl -j show failed"
assert_eq "lan:null web:null" "$(jq -r '[.entries[] | "\(.name):\(.packets)"] | join(" ")' <<<"$json")" \
        "show: no counter for any entry"

out=$(reload_ok)
assert_match "generation 2" "$out" "the reload is applied"
natgw_table_exists || fail "the reload did not recreate table inet natgw"
info "ok: the reload recreated table inet natgw"
assert_eq 0 "$(natgwctl -j status | jq -r .last_apply.table_flags)" "still no table flags after the reload"
nat_works "after the reload recreated the table"
stop_natgwd
info "PASS"

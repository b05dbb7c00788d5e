#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A reload the kernel rejects changes nothing. The file is valid (natgwd's validator accepts
# it) but the kernel refuses it: natgw-nft-fault (nft-fault.c, LD_PRELOAD into natgwd only)
# points the new entry's egress verdict at a chain that does not exist, so the kernel answers
# ENOENT and aborts the whole transaction. Then:
#   - the error names the file, the line and the entry ("dmz");
#   - table inet natgw is byte for byte what it was (nft -j, handles and counters included);
#   - traffic is translated as before the reload;
#   - the same file, reloaded without the fault, is applied and changes the table.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

NATGW_NFT_FAULT=${NATGW_NFT_FAULT:-$SRCDIR/build/tests/lab/natgw-nft-fault.so}
[[ -f $NATGW_NFT_FAULT ]] || lab_skip "no fault module at $NATGW_NFT_FAULT (build it first)"
fault=$LAB_TMP/fault

# reload_natgwd: `natgwctl reload`; prints what it said (the errors when rejected) and returns
# 0 when applied, 1 when rejected. Run it in this shell, not in $(...), so that a fail() inside
# ends the test.
reload_natgwd() {
        local rc=0

        natgwctl reload 2>&1 || rc=$?
        ((rc <= 1)) || fail "natgwctl reload: exit $rc"
        natgwd_alive
        return "$rc"
}

conf=$(lab_config egress)
cat >"$conf" <<'EOF'
version = 1;
masquerade = (
  { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; }
);
EOF

serve_in "$WAN" --tcp 80
# The module goes into natgwd only; it does nothing while $fault does not exist.
# Under ASan (CI's sanitizer run) the runtime wants to come first; the module has no ASan of its
# own and interposes only sendto/sendmsg, so the order check is switched off for natgwd.
NATGWD_ENV=("LD_PRELOAD=$NATGW_NFT_FAULT" "NATGW_FAULT_FILE=$fault"
            "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
start_natgwd "$conf"

out=$(ask_ok "$LAN" tcp 203.0.113.100 80 --from 192.168.1.66)
assert_match "^peer=203\.0\.113\.1:[0-9]+ " "$out" "192.168.1.66 is masqueraded before the reload"

# The new file adds "dmz": a valid entry, and the one the fault breaks.
cat >"$conf" <<'EOF'
version = 1;
masquerade = (
  { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; }
);
snat = (
  { name = "dmz"; source = "192.168.1.64/26"; out_interface = "eth0"; to = "203.0.113.10"; }
);
EOF
line=$(grep -n 'name = "dmz"' "$conf" | cut -d: -f1)
"$NATGWD" -t -c "$conf" >/dev/null || fail "natgwd -t rejects the new file: it must be valid"

before=$(nft_json_shape) || fail "nft -j list table inet natgw failed"
echo egress-dmz >"$fault"
rc=0
reload_natgwd >"$LAB_TMP/reload.1" || rc=$?
rm -f "$fault"
after=$(nft_json_shape) || fail "nft -j list table inet natgw failed"
cat "$LAB_TMP/reload.1"

grep -Eq '^natgw-nft-fault: "goto egress-dmz" made "goto egress-dm[XY]" in [1-9][0-9]* set elements' "$NATGWD_LOG" ||
        fail "the fault was not injected: no natgw-nft-fault line in $NATGWD_LOG"
assert_eq 1 "$rc" "the reload is rejected"
# Both attempts were refused: the update, then the replace natgwd falls back to; the errors
# are the replace's, which map to entries like any batch's.
assert_eq 2 "$(grep -c '^natgw-nft-fault: "goto egress-dmz"' "$NATGWD_LOG")" "the update and the replace were both tried"
[[ $(grep -F "$conf:$line: entry \"dmz\": " "$LAB_TMP/reload.1") == *"kernel rejected"* ]] ||
        fail "no error naming $conf:$line and entry \"dmz\" as rejected by the kernel"
info "ok: the error names $(basename "$conf"):$line, entry \"dmz\", and the kernel"
[[ $before == "$after" ]] || fail "table inet natgw changed although the reload was rejected:
$(diff <(jq . <<<"$before") <(jq . <<<"$after"))"
info "ok: table inet natgw is byte-identical after the rejected reload"

out=$(ask_ok "$LAN" tcp 203.0.113.100 80 --from 192.168.1.66)
assert_match "^peer=203\.0\.113\.1:[0-9]+ " "$out" "192.168.1.66 is still masqueraded after the rejected reload"
out=$(ask_ok "$LAN" tcp 203.0.113.100 80 --from 192.168.1.10)
assert_match "^peer=203\.0\.113\.1:[0-9]+ " "$out" "192.168.1.10 is still masqueraded after the rejected reload"

rc=0
reload_natgwd >"$LAB_TMP/reload.2" || rc=$?
cat "$LAB_TMP/reload.2"
assert_eq 0 "$rc" "the same file reloaded without the fault is applied"
assert_match "\(table updated, " "$(cat "$LAB_TMP/reload.2")" \
        "after a rejected reload natgwd still updates the table in place (it knows the table is unchanged)"
after=$(nft_json_shape) || fail "nft -j list table inet natgw failed"
[[ $before != "$after" ]] || fail "table inet natgw unchanged after the reload that was applied"
assert_eq 1 "$(jq '[.nftables[] | select(.chain.name == "egress-dmz")] | length' <<<"$after")" \
        "chain egress-dmz exists after the reload that was applied"

out=$(ask_ok "$LAN" tcp 203.0.113.100 80 --from 192.168.1.66)
assert_match "^peer=203\.0\.113\.10:[0-9]+ " "$out" "192.168.1.66 now gets the snat address of dmz"
out=$(ask_ok "$LAN" tcp 203.0.113.100 80 --from 192.168.1.10)
assert_match "^peer=203\.0\.113\.1:[0-9]+ " "$out" "192.168.1.10 is still masqueraded"
assert_counter dmz

stop_natgwd
info "PASS"

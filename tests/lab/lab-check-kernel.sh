#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# `natgwctl check --kernel [FILE]`: natgwd sends the batch a reload of FILE would send, without
# its end, so the kernel checks every message and aborts the transaction.
#   - a valid file: accepted, and nothing changed: table inet natgw as `nft -j` lists it, the
#     kernel's ruleset generation (NFT_MSG_GETGEN, tests/lab/nft-gen.py) and natgwd's generation
#     are all as before; the same file then reloads (the check said so rightly);
#   - a file the kernel refuses (natgw-nft-fault.c, LD_PRELOAD into natgwd: the verdict of a
#     drop-in's snat entry points at a chain that does not exist, which no file natgwd accepts
#     can make the kernel refuse today): exit 1, the error names the drop-in's FILE:LINE, the
#     entry and the kernel; again nothing changed;
#   - `natgwd -t` still checks a file without any kernel, as natgwctl check FILE does.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

NATGW_NFT_FAULT=${NATGW_NFT_FAULT:-$SRCDIR/build/tests/lab/natgw-nft-fault.so}
[[ -f $NATGW_NFT_FAULT ]] || lab_skip "no fault module at $NATGW_NFT_FAULT (build it first)"
fault=$LAB_TMP/fault
gen_kernel() { nsexec "$GW" python3 "$LAB_DIR/nft-gen.py"; }

conf=$(lab_config running)
cat >"$conf" <<'EOF2'
version = 1;
masquerade = ( { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; } );
forward = ( { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; } );
EOF2
# The candidate: one more forward in the main file, an snat entry in a drop-in.
cand=$LAB_TMP/candidate.conf
mkdir "$LAB_TMP/candidate.d"
cat >"$cand" <<'EOF2'
version = 1;
include_dir = "candidate.d";
masquerade = ( { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; } );
forward = ( { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; },
            { name = "dns"; proto = "udp"; port = 5353; to = "192.168.1.66:53"; } );
EOF2
printf '# the DMZ\n\nsnat = ( { name = "dmz"; source = "192.168.1.64/26"; out_interface = "eth0"; to = "203.0.113.10"; } );\n' \
        >"$LAB_TMP/candidate.d/dmz.conf"

"$NATGWD" -t -c "$cand" >/dev/null || fail "natgwd -t rejects the candidate: it must be valid"
info "ok: natgwd -t checks the candidate without a kernel"

NATGWD_ENV=("LD_PRELOAD=$NATGW_NFT_FAULT" "NATGW_FAULT_FILE=$fault"
            "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
serve_in "$LAN" --udp 53
start_natgwd "$conf"

# unchanged LABEL: table, kernel generation and natgwd's generation as before.
unchanged() {
        assert_eq "$table_before" "$(nft_json_shape)" "$1: table inet natgw is unchanged"
        assert_eq "$gen_before" "$(gen_kernel)" "$1: the kernel's ruleset generation is unchanged"
        assert_eq "$natgwd_gen_before" "$(natgwctl -j status | jq -r .generation)" "$1: natgwd's generation is unchanged"
}
table_before=$(nft_json_shape) || fail "nft -j list table failed"
gen_before=$(gen_kernel) || fail "cannot read the ruleset generation"
[[ $gen_before =~ ^[0-9]+$ ]] || fail "ruleset generation: '$gen_before'"
natgwd_gen_before=$(natgwctl -j status | jq -r .generation)

# A valid file.
out=$(natgwctl check --kernel "$cand" 2>&1) || fail "check --kernel of a valid file failed: $out"
assert_match "valid: egress entries 2, forwards 2, .*the kernel accepts it" "$out" "check --kernel accepts the valid file"
json=$(natgwctl -j check --kernel "$cand") || fail "check -j --kernel failed: $json"
assert_eq "true true $cand" "$(jq -r '"\(.ok) \(.kernel) \(.config)"' <<<"$json")" "the reply says the kernel checked it"
unchanged "after check --kernel of a valid file"
out=$(natgwctl check --kernel 2>&1) || fail "check --kernel of natgwd's own file failed: $out"
assert_match "^$conf: valid: .*the kernel accepts it" "$out" "check --kernel without FILE checks natgwd's own file"
unchanged "after check --kernel of natgwd's own file"
ask_fails "$WAN" udp 203.0.113.1 5353 --from 198.51.100.7

# A file the kernel refuses.
echo egress-dmz >"$fault"
rc=0
out=$(natgwctl check --kernel "$cand" 2>&1) || rc=$?
rm -f "$fault"
echo "$out"
grep -q '^natgw-nft-fault: "goto egress-dmz"' "$NATGWD_LOG" || fail "the fault was not injected"
assert_eq 1 "$rc" "check --kernel of a file the kernel refuses exits 1"
line=$(grep -n 'name = "dmz"' "$LAB_TMP/candidate.d/dmz.conf" | cut -d: -f1)
assert_match "$LAB_TMP/candidate.d/dmz.conf:$line: entry \"dmz\": the kernel rejected" "$out" \
        "the kernel's refusal names the drop-in's FILE:LINE and the entry"
unchanged "after check --kernel of a file the kernel refuses"

# The check was right: the file reloads.
cp "$cand" "$conf"
mkdir "$LAB_TMP/candidate.d.copy" && cp -r "$LAB_TMP/candidate.d/." "$LAB_TMP/candidate.d.copy"
sed -i 's|include_dir = "candidate.d";|include_dir = "candidate.d.copy";|' "$conf"
reload_ok >/dev/null
out=$(ask_ok "$WAN" udp 203.0.113.1 5353 --from 198.51.100.7)
assert_match "local=192\.168\.1\.66:53 " "$out" "the file check --kernel accepted reloads and forwards"
(($(gen_kernel) > gen_before)) || fail "the reload did not raise the kernel's ruleset generation"
info "ok: a reload raises the ruleset generation (the check did not)"

stop_natgwd
lab_pass

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# include_dir: entries of drop-in files translate real traffic, and drop-ins come and go with
# reloads that keep established connections.
#   main file        masquerade "lan" 192.168.1.0/24, include_dir = "dropin.conf.d" (relative)
#   10-web.conf      forward "web" tcp gw:8080 -> 192.168.1.66:80
#   20-dmz.conf      snat "dmz" 192.168.1.64/26 -> 203.0.113.10
# Two TCP streams run across every reload: one through "web", one through "dmz". Then:
#   - add 30-dns.conf (forward udp 5353): it forwards after the reload;
#   - change 10-web.conf (adds "web2" tcp 8081, "web" unchanged): 8081 forwards;
#   - an error in a new drop-in: refused, the error is at that drop-in's FILE:LINE, the table
#     (nft -j) and the generation are unchanged; a duplicate name across files names both;
#   - remove 30-dns.conf and the bad one: 5353 no longer forwards;
#   - editor leftovers (10-web.conf~, .#10-web.conf) are never read;
# and both streams make their exchanges throughout. `natgwctl status` lists the files in force
# with the SHA-256 sha256sum(1) computes for them; the record of the applied config holds the
# drop-ins in force, and a reload writes into it only the files that changed (the same inodes
# otherwise); a record removed behind natgwd's back is written whole by the next reload.
# Then the update of a reload (only the difference of each kept map is sent, found from the
# unchanged prefix and suffix of its elements) against a replace: beside 50-big.conf (300
# forwards with reflection, a netmap), 60-small.conf's forwards are added, changed and removed,
# and a forward of 50-big.conf changed, by single reloads and two in a row; after them the
# table (nft -j, without handles, counter values and map sizes, elements sorted) is the one a
# natgwd started afresh on the same files makes, and a changed forward translates real traffic.
# The same after an egress entry comes in a drop-in before the unchanged big one (its forwards'
# elements are copied from the plan before with their entry numbers moved), and after
# include_dir moves to another directory (the record then holds that directory's drop-ins only).

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

conf=$(lab_config dropin)
dir=$LAB_TMP/dropin.conf.d
mkdir "$dir"
cat >"$conf" <<'EOF2'
version = 1;
include_dir = "dropin.conf.d";
masquerade = ( { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; } );
EOF2
# put NAME TEXT: write a drop-in as configuration management does (temp file + rename).
put() {
        printf '%s\n' "$2" >"$dir/.$1.tmp"
        mv "$dir/.$1.tmp" "$dir/$1"
}
put 10-web.conf 'forward = ( { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; } );'
put 20-dmz.conf 'snat = ( { name = "dmz"; source = "192.168.1.64/26"; out_interface = "eth0"; to = "203.0.113.10"; } );'
# Never read: a syntax error in either would refuse every reload.
echo 'garbage (' >"$dir/10-web.conf~"
echo 'garbage (' >"$dir/.#10-web.conf"

serve_in "$LAN" --tcp 80 --udp 53
serve_in "$WAN" --tcp 80
start_natgwd "$conf"

out=$(ask_ok "$WAN" tcp 203.0.113.1 8080 --from 198.51.100.7)
assert_match "local=192\.168\.1\.66:80 " "$out" "the drop-in forward \"web\" translates"
out=$(ask_ok "$LAN" tcp 203.0.113.100 80 --from 192.168.1.66)
assert_match "^peer=203\.0\.113\.10:[0-9]+ " "$out" "the drop-in snat \"dmz\" translates"

# The files in force, with checksums an independent sha256sum agrees with.
status=$(natgwctl -j status)
assert_eq "3 main drop-in drop-in" "$(jq -r '"\(.files | length) \([.files[].role] | join(" "))"' <<<"$status")" \
        "status lists the main file and two drop-ins"
for f in "$conf" "$dir/10-web.conf" "$dir/20-dmz.conf"; do
        want=$(sha256sum "$f" | cut -d' ' -f1)
        assert_eq "$want" "$(jq -r --arg p "$f" '.files[] | select(.path | endswith($p | split("/") | last)) | .sha256' <<<"$status")" \
                "status gives sha256sum's checksum of $(basename "$f")"
done
[[ $(natgwctl status) == *"$(sha256sum "$dir/20-dmz.conf" | cut -d' ' -f1)  "* ]] ||
        fail "natgwctl status does not print the checksum of 20-dmz.conf"

# Two streams of 8 s through drop-in entries, across every reload below.
ip netns exec "$WAN" "$NATGW_PEER" stream tcp 203.0.113.1 8080 --seconds 8 --from 198.51.100.8 \
        >"$LAB_TMP/s-fwd.out" 2>"$LAB_TMP/s-fwd.err" </dev/null &
fwd_pid=$!
LAB_PIDS+=("$fwd_pid")
ip netns exec "$LAN" "$NATGW_PEER" stream tcp 203.0.113.100 80 --seconds 8 --from 192.168.1.66 \
        >"$LAB_TMP/s-snat.out" 2>"$LAB_TMP/s-snat.err" </dev/null &
snat_pid=$!
LAB_PIDS+=("$snat_pid")
for ((i = 0; i < 50; i++)); do
        [[ -s $LAB_TMP/s-fwd.out && -s $LAB_TMP/s-snat.out ]] && break
        sleep 0.1
done
assert_match "local=192\.168\.1\.66:80" "$(head -1 "$LAB_TMP/s-fwd.out")" "the stream through \"web\" is up"
assert_match "^peer=203\.0\.113\.10:" "$(head -1 "$LAB_TMP/s-snat.out")" "the stream through \"dmz\" is up"

# Add a drop-in.
ask_fails "$WAN" udp 203.0.113.1 5353 --from 198.51.100.7
put 30-dns.conf 'forward = ( { name = "dns"; proto = "udp"; port = 5353; to = "192.168.1.66:53"; } );'
reload_ok >/dev/null
out=$(ask_ok "$WAN" udp 203.0.113.1 5353 --from 198.51.100.7)
assert_match "local=192\.168\.1\.66:53 " "$out" "an added drop-in forwards after the reload"

# Change one ("web" itself stays as it was).
put 10-web.conf 'forward = ( { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; },
  { name = "web2"; in_interface = "eth0"; proto = "tcp"; port = 8081; to = "192.168.1.66:80"; } );'
reload_ok >/dev/null
out=$(ask_ok "$WAN" tcp 203.0.113.1 8081 --from 198.51.100.7)
assert_match "local=192\.168\.1\.66:80 " "$out" "a changed drop-in's new entry forwards after the reload"

# An error in a drop-in: located there, nothing changes.
before=$(nft_json_shape) || fail "nft -j list table failed"
gen=$(natgwctl -j status | jq -r .generation)
put 40-bad.conf '# a bad port on line 3

forward = ( { name = "bad"; proto = "tcp"; port = 70000; to = "192.168.1.66"; } );'
rc=0
out=$(natgwctl reload 2>&1) || rc=$?
assert_eq 1 "$rc" "a reload with an error in a drop-in is refused"
assert_match "$dir/40-bad.conf:3: entry \"bad\": port 70000 is out of range" "$out" \
        "a reload with an error in a drop-in is refused and names it"
put 40-bad.conf 'forward = ( { name = "dmz"; proto = "tcp"; port = 7000; to = "192.168.1.66"; } );'
rc=0
out=$(natgwctl reload 2>&1) || rc=$?
assert_eq 1 "$rc" "a name used in two files is refused"
assert_match "$dir/40-bad.conf:1: entry \"dmz\": name already used by the entry at $dir/20-dmz.conf:1" "$out" \
        "a duplicate name across files names both files and lines"
assert_eq "$before" "$(nft_json_shape)" "the table is unchanged after the refused reloads"
assert_eq "$gen" "$(natgwctl -j status | jq -r .generation)" "the generation is unchanged after the refused reloads"

# Remove drop-ins.
rm "$dir/40-bad.conf" "$dir/30-dns.conf"
reload_ok >/dev/null
ask_fails "$WAN" udp 203.0.113.1 5353 --from 198.51.100.7
assert_eq 3 "$(natgwctl -j status | jq -r '.files | length')" "the removed drop-ins are no longer in force"

tcp_stream_wait "$fwd_pid" "$LAB_TMP/s-fwd.out" "$LAB_TMP/s-fwd.err" "web"
info "ok: the stream through \"web\" made $STREAM_EXCHANGES exchanges across 3 applied and 2 refused reloads"
tcp_stream_wait "$snat_pid" "$LAB_TMP/s-snat.out" "$LAB_TMP/s-snat.err" "dmz"
info "ok: the stream through \"dmz\" made $STREAM_EXCHANGES exchanges across 3 applied and 2 refused reloads"

# The record of what is in force (beside the control socket) holds the drop-ins as applied, so
# that a restarted natgwd knows the old config.
for f in 10-web.conf 20-dmz.conf; do
        cmp -s "$dir/$f" "$LAB_TMP/applied.conf.d/$f" || fail "the record does not hold drop-in $f as applied"
done
assert_eq "10-web.conf 20-dmz.conf" "$(ls "$LAB_TMP/applied.conf.d" | tr '\n' ' ' | sed 's/ $//')" \
        "the record holds exactly the drop-ins in force"
# A reload writes only what the record does not hold: nothing when nothing changed (the same
# inodes), the changed drop-in when one did (in place: the directory and the unchanged drop-in
# are the same files); and a record gone is written again, whole (the unchanged drop-ins read
# again to that end).
record_inodes() {
        stat -c %i "$LAB_TMP/applied.conf" "$LAB_TMP/applied.conf.d" "$LAB_TMP/applied.conf.d/10-web.conf" \
                "$LAB_TMP/applied.conf.d/20-dmz.conf" | tr '\n' ' '
}
inodes=$(record_inodes)
reload_ok >/dev/null
assert_eq "$inodes" "$(record_inodes)" "a reload that changes nothing leaves the record as it was"
put 20-dmz.conf 'snat = ( { name = "dmz"; source = "192.168.1.64/26"; out_interface = "eth0"; to = "203.0.113.10"; } ); # again'
reload_ok >/dev/null
cmp -s "$dir/20-dmz.conf" "$LAB_TMP/applied.conf.d/20-dmz.conf" || fail "the record does not hold the changed drop-in"
read -r -a was <<<"$inodes"
read -r -a now <<<"$(record_inodes)"
assert_eq "${was[0]} ${was[1]} ${was[2]}" "${now[0]} ${now[1]} ${now[2]}" \
        "a reload that changes one drop-in leaves the record's main file, directory and other drop-ins as they were"
echo "# the main file changed" >>"$conf"
reload_ok >/dev/null
cmp -s "$conf" "$LAB_TMP/applied.conf" || fail "the record does not hold the changed main file"
rm -r "$LAB_TMP/applied.conf" "$LAB_TMP/applied.conf.d"
out=$(reload_ok)
[[ $out != *"cannot write the record"* ]] || fail "a reload cannot write a record gone: $out"
cmp -s "$conf" "$LAB_TMP/applied.conf" || fail "a reload does not write the record again once it is gone"
for f in 10-web.conf 20-dmz.conf; do
        cmp -s "$dir/$f" "$LAB_TMP/applied.conf.d/$f" || fail "a reload does not write drop-in $f into the record again"
done

# An update against a replace. table_canon: the table as the kernel holds it, without what
# differs by history alone: handles, counter values (nft_json_shape), a kept map's size (made
# for the elements it had then: lib/nft-state.c), the order of the objects in the dump (an
# update adds a new counter after the others) and of a set's elements; rules keep their order.
table_canon() {
        nft_json_shape | jq -S 'walk(if type == "object" then del(.handle) | del(.size) else . end)
                | .nftables |= (map(if .set then .set.elem |= (if . then sort else . end)
                                    elif .map then .map.elem |= (if . then sort else . end) else . end)
                                | to_entries
                                | sort_by(if .value.rule then [1, .value.rule.chain, .key] else [0, (.value | tojson)] end)
                                | map(.value))'
}
# same_as_fresh WHAT: the table now is the one a natgwd started on the same files makes.
same_as_fresh() {
        local updated fresh

        updated=$(table_canon) || fail "nft -j list table failed"
        stop_natgwd
        start_natgwd "$conf"
        fresh=$(table_canon) || fail "nft -j list table failed"
        [[ $updated == "$fresh" ]] ||
                fail "$1: the updated table differs from a fresh start's: $(diff <(jq . <<<"$updated") <(jq . <<<"$fresh") | head -20)"
        info "ok: $1: the updated table is the one a fresh start makes"
}
big=""
for ((i = 0; i < 300; i++)); do
        big+="${big:+,
}  { name = \"b$i\"; in_interface = \"eth0\"; proto = \"tcp\"; port = $((20000 + i)); to = \"192.168.1.$((100 + i % 50)):80\"; }"
done
put 50-big.conf "forward = ( $big );
netmap = ( { name = \"nm\"; interface = \"eth0\"; inside = \"192.168.1.64/28\"; outside = \"203.0.113.64/28\"; } );"
reload_ok >/dev/null
put 60-small.conf 'forward = ( { name = "s1"; in_interface = "eth0"; proto = "tcp"; port = 9001; to = "192.168.1.66:80"; } );'
reload_ok >/dev/null
out=$(ask_ok "$WAN" tcp 203.0.113.1 9001 --from 198.51.100.7)
assert_match "local=192\.168\.1\.66:80 " "$out" "a forward added beside a big drop-in translates"
same_as_fresh "a forward added to the small drop-in"
# Two updates in a row: the second starts from the state the first left, not a fresh start's.
put 60-small.conf 'forward = ( { name = "s1"; in_interface = "eth0"; proto = "tcp"; port = 9001; to = "192.168.1.10:80"; } );'
reload_ok >/dev/null
put 60-small.conf 'forward = ( { name = "s1"; in_interface = "eth0"; proto = "tcp"; port = 9001; to = "192.168.1.10:80"; },
  { name = "s2"; proto = "udp"; port = 9002; to = "192.168.1.66:53"; } );'
reload_ok >/dev/null
out=$(ask_ok "$WAN" tcp 203.0.113.1 9001 --from 198.51.100.7)
assert_match "local=192\.168\.1\.10:80 " "$out" "a changed forward beside a big drop-in goes to its new target"
same_as_fresh "a forward of the small drop-in changed, one added"
put 60-small.conf 'forward = ( { name = "s2"; proto = "udp"; port = 9002; to = "192.168.1.66:53"; } );'
reload_ok >/dev/null
ask_fails "$WAN" tcp 203.0.113.1 9001 --from 198.51.100.7
same_as_fresh "a forward of the small drop-in removed"
put 50-big.conf "forward = ( ${big/192.168.1.100:80/192.168.1.66:80} );
netmap = ( { name = \"nm\"; interface = \"eth0\"; inside = \"192.168.1.64/28\"; outside = \"203.0.113.64/28\"; } );"
reload_ok >/dev/null
out=$(ask_ok "$WAN" tcp 203.0.113.1 20000 --from 198.51.100.7)
assert_match "local=192\.168\.1\.66:80 " "$out" "the changed first forward of the big drop-in goes to its new target"
same_as_fresh "the first forward of the big drop-in changed"
put 50-big.conf "forward = ( $big );
netmap = ( { name = \"nm\"; interface = \"eth0\"; inside = \"192.168.1.64/28\"; outside = \"203.0.113.64/28\"; } );"
reload_ok >/dev/null
rm "$dir/60-small.conf"
reload_ok >/dev/null
same_as_fresh "the big drop-in's forward changed back, then the small drop-in removed"
# An egress entry in a drop-in before the big one moves every forward's entry number: the big
# drop-in's elements, copied from the plan before (lib/nft-compile.c), name the same counters.
put 50-big.conf "forward = ( ${big/192.168.1.100:80/192.168.1.66:80} );
netmap = ( { name = \"nm\"; interface = \"eth0\"; inside = \"192.168.1.64/28\"; outside = \"203.0.113.64/28\"; } );"
reload_ok >/dev/null
put 05-lan.conf 'masquerade = ( { name = "lan77"; source = "10.77.0.0/16"; out_interface = "eth0"; } );'
reload_ok >/dev/null
out=$(ask_ok "$WAN" tcp 203.0.113.1 20000 --from 198.51.100.7)
assert_match "local=192\.168\.1\.66:80 " "$out" "a forward of the unchanged big drop-in translates after an entry before it came"
same_as_fresh "an egress entry added in a drop-in before the unchanged big one"
# include_dir moved to another directory: no drop-in is the config in force's, the record holds
# the new directory's drop-ins only.
other=$LAB_TMP/other.conf.d
mkdir "$other"
printf '%s\n' 'forward = ( { name = "o1"; proto = "udp"; port = 9100; to = "192.168.1.66:53"; } );' >"$other/70-other.conf"
sed -i 's|include_dir = "dropin.conf.d";|include_dir = "other.conf.d";|' "$conf"
reload_ok >/dev/null
assert_eq "70-other.conf" "$(ls "$LAB_TMP/applied.conf.d" | tr '\n' ' ' | sed 's/ $//')" \
        "the record holds the drop-ins of the new include_dir, and only those"
cmp -s "$other/70-other.conf" "$LAB_TMP/applied.conf.d/70-other.conf" || fail "the record does not hold the new include_dir's drop-in"
out=$(ask_ok "$WAN" udp 203.0.113.1 9100 --from 198.51.100.7)
assert_match "local=192\.168\.1\.66:53 " "$out" "the new include_dir's forward translates"
ask_fails "$WAN" tcp 203.0.113.1 20000 --from 198.51.100.7
same_as_fresh "include_dir moved to another directory"

stop_natgwd
lab_pass

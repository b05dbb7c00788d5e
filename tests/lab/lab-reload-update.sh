#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A reload updates table inet natgw in place (one transaction: the table, its base chains, the
# maps still needed and the counters of entries that keep their name stay; rules and elements
# are replaced), and the result is exactly what a fresh start makes of the same file.
#
# For a sequence of files that add, rename and remove egress entries (chains and counters
# created and deleted, egress intervals split and merged), change an allow_from forward's
# prefixes and target (interval map elements deleted and added in place), drop whole kinds of
# forwards (maps deleted) and bring them back, grow a
# map past the size it was created with (the map is recreated in the same transaction), shrink
# it, empty the file and fill it again: after each `natgwctl reload` (which must say "table
# updated"), the table as `nft -j` lists it, without handles, counter values and set sizes,
# equals the table natgwd makes of the same file when it starts afresh (a replace). Counters of
# entries that keep their name survive reloads; a renamed entry's counter starts at zero. NAT
# works after all of it.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

conf=$(lab_config update)

# write_step N: the file of step N.
write_step() {
        local n=$1 tmp=$conf.tmp

        {
                echo 'version = 1;'
                echo 'on_exit = "keep";'
                case $n in
                empty) ;;
                *)
                        echo 'masquerade = ('
                        echo '  { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; }'
                        [[ $n == rename ]] && echo ', { name = "guest"; source = "192.168.7.0/24"; out_interface = "eth0"; }'
                        echo ');'
                        [[ $n != rename ]] &&
                                echo 'snat = ( { name = "dmz"; source = "192.168.1.64/26"; out_interface = "eth0"; to = "203.0.113.10"; } );'
                        echo 'forward = ('
                        echo '  { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; }'
                        if [[ $n == rename ]]; then
                                echo ', { name = "dns2"; proto = "udp"; port = 5353; to = "192.168.1.66:53"; }'
                        else
                                echo ', { name = "dns"; proto = "udp"; port = 5353; to = "192.168.1.66:53"; }'
                        fi
                        if [[ $n != v4only && $n != grow ]]; then
                                echo ', { name = "web6"; in_interface = "eth0"; proto = "tcp"; port = 8443; to = "[fd00:1::66]:443"; }'
                                if [[ $n == allow ]]; then
                                        # Same keys in part, another target: elements change in place.
                                        echo ', { name = "admin"; in_interface = "eth0"; proto = "tcp"; port = 2222; to = "192.168.1.67:22"; allow_from = [ "198.51.100.0/25", "203.0.113.0/24" ]; }'
                                else
                                        echo ', { name = "admin"; in_interface = "eth0"; proto = "tcp"; port = 2222; to = "192.168.1.66:22"; allow_from = [ "198.51.100.0/24" ]; }'
                                fi
                        fi
                        [[ $n == grow ]] &&
                                echo ', { name = "many"; in_interface = "eth0"; proto = "tcp+udp"; port = "20000-20200"; to = "192.168.1.67"; }'
                        echo ');'
                        ;;
                esac
        } >"$tmp"
        mv "$tmp" "$conf"
}

# The table without what legitimately differs between an update and a fresh replace: handles,
# counter values, set sizes (a kept map keeps its size), listing order of objects and elements.
# Rules keep their order within their chain.
normalized_table() {
        nft_json | jq -S '
                [.nftables[] | select(.metainfo | not)
                 | if .counter then .counter |= (del(.handle) | .packets = 0 | .bytes = 0)
                   elif .map then .map |= (del(.handle, .size) | if .elem then .elem |= sort_by(tostring) else . end)
                   elif .set then .set |= (del(.handle, .size) | if .elem then .elem |= sort_by(tostring) else . end)
                   elif .rule then .rule |= del(.handle)
                   elif .chain then .chain |= del(.handle)
                   elif .table then .table |= del(.handle)
                   else . end] as $all
                | { objects: ([$all[] | select(.rule | not)] | sort_by(tostring)),
                    rules: ([$all[] | select(.rule)] | group_by(.rule.chain)) }'
}

serve_in "$LAN" --tcp 80 --udp 53
write_step base
start_natgwd "$conf"

# Some traffic for "web" and "dns", so that their counters have something to keep.
ask_ok "$WAN" tcp 203.0.113.1 8080 --from 198.51.100.7 >/dev/null
ask_ok "$WAN" udp 203.0.113.1 5353 --from 198.51.100.7 >/dev/null
web_before=$(counter_packets web)
dns_before=$(counter_packets dns)
[[ $web_before =~ ^[0-9]+$ && $web_before -gt 0 ]] || fail "counter of web: '$web_before', want > 0"
[[ $dns_before =~ ^[0-9]+$ && $dns_before -gt 0 ]] || fail "counter of dns: '$dns_before', want > 0"

steps=(base rename base allow base v4only base grow base empty base grow v4only allow)
for ((i = 1; i < ${#steps[@]}; i++)); do
        step=${steps[i]}
        write_step "$step"
        json=$(natgwctl -j reload) || fail "step $i ($step): natgwctl -j reload failed: $json"
        assert_eq "true updated 0" "$(jq -r '"\(.ok) \(.table) \(.warnings | length)"' <<<"$json")" \
                "step $i ($step): reload applied as an update, no warnings"
        assert_eq updated "$(natgwctl -j status | jq -r .last_apply.table)" "step $i ($step): status says updated"
        updated=$(normalized_table) || fail "step $i ($step): nft -j list table failed"

        if [[ $step == grow ]]; then
                # The elements on eth0 (each forward reflects too: as many again, keyed natgw:reflect).
                assert_eq 403 "$(nft_json | jq '[.nftables[] | select(.map.name == "fwd4_if") | .map.elem[] | tostring | select(test("\"eth0\""))] | length')" \
                        "step $i: fwd4_if grew past its size (64) to web + 2 x 201 ports of many"
        fi
        if ((i == 1)); then
                # base -> rename: web kept its name, dns became dns2.
                got=$(counter_packets web)
                ((got >= web_before)) || fail "web's counter went from $web_before to $got across a reload"
                info "ok: web's counter survived the reload ($web_before -> $got packets)"
                assert_eq 0 "$(counter_packets dns2)" "the renamed entry's counter starts at zero"
                assert_eq "missing(0)" "$(counter_packets dns)" "the old name's counter is gone"
        fi

        # The same file, applied by a fresh natgwd: the table is replaced as a whole.
        stop_natgwd
        start_natgwd "$conf"
        assert_eq replaced "$(natgwctl -j status | jq -r .last_apply.table)" "step $i ($step): a fresh start replaces"
        fresh=$(normalized_table) || fail "step $i ($step): nft -j list table failed"
        if [[ $updated != "$fresh" ]]; then
                diff -u <(echo "$fresh") <(echo "$updated") >&2 || true
                fail "step $i ($step): the updated table differs from a fresh one (- fresh, + updated)"
        fi
        info "ok: step $i ($step): the updated table equals a fresh one ($(jq -r '"\(.objects | length) objects, \([.objects[] | (.map.elem // [])[]] | length) map elements, \([.rules[][]] | length) rules"' <<<"$updated"))"
done

ask_ok "$WAN" tcp 203.0.113.1 8080 --from 198.51.100.7 >/dev/null
info "ok: NAT works after the updates"
stop_natgwd
info "PASS"

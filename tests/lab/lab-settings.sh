#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The kernel settings natgwd manages, in gw's network namespace only:
#   1. start: ip_forward and IPv6 forwarding switched on (lib.sh set both to 0), conntrack
#      timeouts set and read back; nf_conntrack_max and nf_conntrack_buckets, read-only outside
#      the initial network namespace, are refused with a warning that names the key, the
#      namespace and why, and natgwd runs all the same; status shows wanted / previous / actual;
#   2. a reload that changes a timeout applies it in the same reload;
#   3. a reload that is rejected (by the validator, or by the kernel: natgw-nft-fault) changes
#      no setting, although its file changes a timeout;
#   4. a writable nf_conntrack_max: natgwd in a private mount namespace where regular files are
#      bind-mounted over nf_conntrack_max and nf_conntrack_buckets. natgwd writes them, status
#      says applied, and neither gw's real sysctls nor the root namespace's change;
#   5. natgwd in the unit's sandbox: /proc/sys read-only but natgwd.service's ReadWritePaths=
#      (a private mount namespace again): every sysctl natgwd manages is set, none refused.
# The root namespace's sysctls are only ever read, to show that they stay as they were.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

for tool in unshare mount readlink; do
        command -v "$tool" >/dev/null 2>&1 || lab_skip "needs $tool"
done
NATGW_NFT_FAULT=${NATGW_NFT_FAULT:-$SRCDIR/build/tests/lab/natgw-nft-fault.so}
[[ -f $NATGW_NFT_FAULT ]] || lab_skip "no fault module at $NATGW_NFT_FAULT (build it first)"
fault=$LAB_TMP/fault

CT=/proc/sys/net/netfilter
[[ -r $CT/nf_conntrack_max ]] || lab_skip "nf_conntrack is not loaded"

# What the root namespace has: read only, compared at the end.
root_before=$(cat "$CT/nf_conntrack_max" "$CT/nf_conntrack_buckets" "$CT/nf_conntrack_udp_timeout" \
        "$CT/nf_conntrack_tcp_timeout_established" /proc/sys/net/ipv4/ip_forward)

gw_ns=$(nsexec "$GW" readlink /proc/self/ns/net)
gw_max=$(gw_sysctl net.netfilter.nf_conntrack_max)
gw_buckets=$(gw_sysctl net.netfilter.nf_conntrack_buckets)
udp_before=$(gw_sysctl net.netfilter.nf_conntrack_udp_timeout)
est_before=$(gw_sysctl net.netfilter.nf_conntrack_tcp_timeout_established)
[[ $udp_before != 45 && $est_before != 7200 ]] || fail "gw already has the timeouts the test sets"
assert_eq 0 "$(gw_sysctl net.ipv4.ip_forward)" "gw starts with ip_forward off"
assert_eq 0 "$(gw_sysctl net.ipv6.conf.all.forwarding)" "gw starts with IPv6 forwarding off"

# status_json: natgwctl -j status, kept in $json for setting below.
json=
status_json() {
        json=$(natgwctl -j status) || fail "natgwctl -j status failed"
}

# setting SYSCTL FIELD: a field of one setting of the last status_json ("null" for null).
setting() {
        jq -r --arg k "$1" --arg f "$2" '.settings[] | select(.key == $k) | .[$f] | tostring' <<<"$json"
}

# assert_setting SYSCTL "WANTED PREVIOUS ACTUAL RESULT" MSG (RESULT: its first word)
assert_setting() {
        local got

        got="$(setting "$1" wanted) $(setting "$1" previous) $(setting "$1" actual) $(setting "$1" result | cut -d' ' -f1)"
        assert_eq "$2" "$got" "$3"
}

masq='masquerade = ( { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; } );'
conf=$(lab_config settings)
# write_conf UDP [EXTRA]: the file of phases 1-3, with the udp timeout UDP and EXTRA appended.
write_conf() {
        cat >"$conf" <<EOF
version = 1;
kernel = { ip_forward = true; ipv6_forward = true; };
conntrack = {
  max = 524288;
  buckets = 131072;
  timeouts = { udp = $1;
               tcp_established = 7200; };
};
$masq
${2:-}
EOF
}

# ---------------------------------------------------------------- 1. start

info "phase 1: start in gw ($gw_ns)"
write_conf 45
NATGWD_ENV=("LD_PRELOAD=$NATGW_NFT_FAULT" "NATGW_FAULT_FILE=$fault"
            "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
start_natgwd "$conf"
natgwd_alive

assert_eq 1 "$(gw_sysctl net.ipv4.ip_forward)" "ip_forward switched on in gw"
assert_eq 1 "$(gw_sysctl net.ipv6.conf.all.forwarding)" "IPv6 forwarding switched on in gw"
assert_eq 45 "$(gw_sysctl net.netfilter.nf_conntrack_udp_timeout)" "udp timeout set in gw"
assert_eq 7200 "$(gw_sysctl net.netfilter.nf_conntrack_tcp_timeout_established)" "tcp_established timeout set in gw"
assert_eq "$gw_max" "$(gw_sysctl net.netfilter.nf_conntrack_max)" "nf_conntrack_max stays as it was in gw"
assert_eq "$gw_buckets" "$(gw_sysctl net.netfilter.nf_conntrack_buckets)" "nf_conntrack_buckets stays as it was in gw"

# The warnings: file and line, key, sysctl, namespace, why; one line each.
grep -F "$conf:4: conntrack.max: cannot set net.netfilter.nf_conntrack_max to 524288: read-only in network namespace $gw_ns" \
        "$NATGWD_LOG" | grep -F "the kernel lets only the initial network namespace change it; it stays $gw_max" >/dev/null ||
        fail "no warning about conntrack.max in the log: $(cat "$NATGWD_LOG")"
info "ok: warning: $(grep -F 'conntrack.max:' "$NATGWD_LOG" | head -1)"
grep -F "$conf:5: conntrack.buckets: cannot set net.netfilter.nf_conntrack_buckets to 131072: read-only in network namespace $gw_ns" \
        "$NATGWD_LOG" >/dev/null || fail "no warning about conntrack.buckets in the log"
info "ok: warning about conntrack.buckets"
assert_eq 2 "$(grep -c "cannot set" "$NATGWD_LOG")" "exactly two settings refused"

status_json
assert_setting net.ipv4.ip_forward "1 0 1 applied" "status: ip_forward"
assert_setting net.ipv6.conf.all.forwarding "1 0 1 applied" "status: ipv6 forwarding"
assert_setting net.netfilter.nf_conntrack_udp_timeout "45 $udp_before 45 applied" "status: udp timeout"
assert_setting net.netfilter.nf_conntrack_tcp_timeout_established "7200 $est_before 7200 applied" \
        "status: tcp_established timeout"
assert_setting net.netfilter.nf_conntrack_max "524288 null $gw_max refused:" "status: nf_conntrack_max refused"
reason=$(setting net.netfilter.nf_conntrack_max result)
[[ $reason == "refused: read-only in network namespace $gw_ns"*": the kernel lets only the initial network namespace change it" ]] ||
        fail "status: unexpected reason for nf_conntrack_max: $reason"
info "ok: status: $reason"
assert_setting net.netfilter.nf_conntrack_buckets "131072 null $gw_buckets refused:" "status: nf_conntrack_buckets refused"
assert_setting net.netfilter.nf_conntrack_icmp_timeout "null null 30 left" "status: icmp timeout left as is"
assert_eq "kernel.ip_forward conntrack.timeouts.udp" \
        "$(jq -r '[.settings[] | select(.key | test("ip_forward|udp_timeout$")) | .config] | join(" ")' <<<"$json")" \
        "status: settings name their config keys"
assert_eq 19 "$(jq '.settings | length' <<<"$json")" "status: every managed setting listed"

out=$(natgwctl status) || fail "natgwctl status failed"
echo "$out" | sed -n '/^settings:/,/more left as is/p'
assert_match $'\n *net\\.ipv4\\.ip_forward +1 +0 +1  applied' "$out" "status text: ip_forward row"
assert_match $'\n *net\\.netfilter\\.nf_conntrack_max +524288 +- +'"$gw_max"'  refused: read-only' "$out" \
        "status text: nf_conntrack_max row"
assert_match "\(13 more left as is" "$out" "status text: the settings left as is are counted"

# ---------------------------------------------------------------- 2. reload

info "phase 2: a reload changes a timeout"
write_conf 50
out=$(reload_ok)
assert_match "warning: .*conntrack\.max: cannot set" "$out" "the reload warns about nf_conntrack_max again"
assert_eq 50 "$(gw_sysctl net.netfilter.nf_conntrack_udp_timeout)" "the reload set the udp timeout"
status_json
assert_setting net.netfilter.nf_conntrack_udp_timeout "50 $udp_before 50 applied" \
        "status: udp timeout applied, previous still the value before natgwd"
assert_setting net.netfilter.nf_conntrack_tcp_timeout_established "7200 $est_before 7200 unchanged" \
        "status: tcp_established unchanged"
assert_setting net.ipv4.ip_forward "1 0 1 unchanged" "status: ip_forward unchanged, previous kept"
generation=$(jq -r .generation <<<"$json")

# ---------------------------------------------------------------- 3. rejected reloads

info "phase 3: rejected reloads change no setting"
write_conf 99 'forward = ( { name = "bad"; proto = "tcp"; port = 70000; to = "192.168.1.68"; } );'
rc=0
out=$(natgwctl reload 2>&1) || rc=$?
assert_eq 1 "$rc" "the invalid file is rejected"
assert_match "entry \"bad\"" "$out" "the rejection names the bad entry"
assert_eq 50 "$(gw_sysctl net.netfilter.nf_conntrack_udp_timeout)" "the invalid file did not change the udp timeout"

# A valid file the kernel refuses (natgw-nft-fault breaks the new entry "dmz").
write_conf 77 'snat = ( { name = "dmz"; source = "192.168.1.64/26"; out_interface = "eth0"; to = "203.0.113.10"; } );'
"$NATGWD" -t -c "$conf" >/dev/null || fail "natgwd -t rejects the file: it must be valid"
echo egress-dmz >"$fault"
rc=0
out=$(natgwctl reload 2>&1) || rc=$?
rm -f "$fault"
grep -q '^natgw-nft-fault: "goto egress-dmz"' "$NATGWD_LOG" || fail "the fault was not injected"
assert_eq 1 "$rc" "the kernel rejects the reload"
assert_match "entry \"dmz\": .*kernel rejected" "$out" "the rejection names dmz and the kernel"
assert_eq 50 "$(gw_sysctl net.netfilter.nf_conntrack_udp_timeout)" "the kernel-rejected file did not change the udp timeout"
status_json
assert_eq "$generation" "$(jq -r .generation <<<"$json")" "no new generation"
assert_setting net.netfilter.nf_conntrack_udp_timeout "50 $udp_before 50 applied" "status: the udp timeout as before"

# The same file without the fault: applied, timeout and all.
reload_ok >/dev/null
assert_eq 77 "$(gw_sysctl net.netfilter.nf_conntrack_udp_timeout)" "the same file, applied, sets the udp timeout"
stop_natgwd

# ---------------------------------------------------------------- 4. writable nf_conntrack_max

info "phase 4: nf_conntrack_max and nf_conntrack_buckets writable (files bound over them, private mount namespace)"
fake_max=$LAB_TMP/nf_conntrack_max
fake_buckets=$LAB_TMP/nf_conntrack_buckets
echo "$gw_max" >"$fake_max"
echo "$gw_buckets" >"$fake_buckets"
wrapper=$LAB_TMP/natgwd-settings
cat >"$wrapper" <<EOF
#!/bin/bash
set -euo pipefail
if [[ \${1:-} != --inner ]]; then
        exec unshare --mount --propagation private "\$0" --inner "\$@"
fi
shift
mount --bind "$fake_max" $CT/nf_conntrack_max
mount --bind "$fake_buckets" $CT/nf_conntrack_buckets
exec "$NATGWD" "\$@"
EOF
chmod +x "$wrapper"
conf2=$(lab_config writable)
cat >"$conf2" <<EOF
version = 1;
conntrack = { max = 300000; buckets = 65536; };
$masq
EOF
NATGWD_ENV=()
NATGWD=$wrapper start_natgwd "$conf2"
natgwd_alive
grep -q "cannot set" "$NATGWD_LOG" && fail "natgwd warned about a writable setting: $(cat "$NATGWD_LOG")"
assert_eq 300000 "$(cat "$fake_max")" "natgwd wrote nf_conntrack_max (the file bound over it)"
assert_eq 65536 "$(cat "$fake_buckets")" "natgwd wrote nf_conntrack_buckets (the file bound over it)"
status_json
assert_setting net.netfilter.nf_conntrack_max "300000 $gw_max 300000 applied" "status: nf_conntrack_max applied"
assert_setting net.netfilter.nf_conntrack_buckets "65536 $gw_buckets 65536 applied" "status: nf_conntrack_buckets applied"
assert_setting net.ipv4.ip_forward "1 null 1 unchanged" "status: a new natgwd found ip_forward on already"
assert_eq "$gw_max" "$(gw_sysctl net.netfilter.nf_conntrack_max)" "gw's real nf_conntrack_max is unchanged"
assert_eq "$gw_buckets" "$(gw_sysctl net.netfilter.nf_conntrack_buckets)" "gw's real nf_conntrack_buckets is unchanged"
stop_natgwd

# ---------------------------------------------------------------- 5. the unit's sandbox

# natgwd.service makes /proc/sys read-only (ProtectKernelTunables=) and opens again only its
# ReadWritePaths=. The same here, in a private mount namespace, with the list read off the
# unit: natgwd must set every sysctl it manages (all but nf_conntrack_max and _buckets, which
# are read-only outside the initial namespace anyway) without one refusal, so no file it
# writes is missing from the list.
info "phase 5: /proc/sys read-only but the unit's ReadWritePaths="
rw_paths=$(sed -n 's/^ReadWritePaths=//p' "$SRCDIR/systemd/natgwd.service.in" | tr ' ' '\n' | sed 's/^-//' | grep -v '^$')
[[ -n $rw_paths ]] || fail "no ReadWritePaths= in the unit"
sandbox=$LAB_TMP/natgwd-sandbox
{
        echo '#!/bin/bash'
        echo 'set -euo pipefail'
        echo 'if [[ ${1:-} != --inner ]]; then exec unshare --mount --propagation private "$0" --inner "$@"; fi'
        echo 'shift'
        echo 'mount --bind /proc/sys /proc/sys'
        echo 'mount -o remount,bind,ro /proc/sys'
        for p in $rw_paths; do
                echo "if [[ -e $p ]]; then mount --bind $p $p; mount -o remount,bind,rw $p; fi"
        done
        # The sandbox holds: a sysctl natgwd does not manage is read-only (64 is the default).
        echo 'if echo 64 2>/dev/null >/proc/sys/net/ipv4/ip_default_ttl; then echo "sandbox: /proc/sys writable" >&2; exit 3; fi'
        echo "exec \"$NATGWD\" \"\$@\""
} >"$sandbox"
chmod +x "$sandbox"
nsexec "$GW" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
conf5=$(lab_config sandbox)
{
        echo 'version = 1;'
        echo 'kernel = { ipv6_forward = true; };'
        echo 'conntrack = { timeouts = {'
        for k in tcp_established tcp_syn_sent tcp_syn_recv tcp_fin_wait tcp_close_wait tcp_last_ack \
                 tcp_time_wait tcp_close tcp_unacknowledged tcp_max_retrans udp udp_stream icmp icmpv6 generic; do
                echo "  $k = 1234;"
        done
        echo '}; };'
        echo "$masq"
} >"$conf5"
NATGWD=$sandbox start_natgwd "$conf5"
natgwd_alive
grep -q "cannot set" "$NATGWD_LOG" && fail "a sysctl was refused in the unit's sandbox: $(grep "cannot set" "$NATGWD_LOG")"
assert_eq "1 1" "$(gw_sysctl net.ipv4.ip_forward) $(gw_sysctl net.ipv6.conf.all.forwarding)" \
        "in the unit's sandbox natgwd switched IPv4 and IPv6 forwarding on"
got=$(for k in tcp_timeout_established tcp_timeout_syn_sent tcp_timeout_syn_recv tcp_timeout_fin_wait \
               tcp_timeout_close_wait tcp_timeout_last_ack tcp_timeout_time_wait tcp_timeout_close \
               tcp_timeout_unacknowledged tcp_timeout_max_retrans udp_timeout udp_timeout_stream icmp_timeout \
               icmpv6_timeout generic_timeout; do gw_sysctl "net.netfilter.nf_conntrack_$k"; done | sort -u | tr '\n' ' ')
assert_eq "1234 " "$got" "in the unit's sandbox natgwd set all 15 conntrack timeouts"
stop_natgwd

root_after=$(cat "$CT/nf_conntrack_max" "$CT/nf_conntrack_buckets" "$CT/nf_conntrack_udp_timeout" \
        "$CT/nf_conntrack_tcp_timeout_established" /proc/sys/net/ipv4/ip_forward)
assert_eq "$root_before" "$root_after" "the root namespace's sysctls are as they were"
info "PASS"

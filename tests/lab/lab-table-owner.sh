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
#      natgwd falls back to a table without flags, says so (table flags 0x0) and watches the
#      kernel's nftables notifications instead. Other processes' changes now succeed, and
#      natgwd puts the table back as the config in force says within 3 s, logging
#      NATGW_EVENT=table-restored with what happened and who did it (read off a journal
#      stand-in, as in lab-systemd.sh); status counts the restores, and a restore is no reload
#      (the generation stays):
#        a. `nft delete table inet natgw`: restored as it was (with chain ha-guard: the config
#           has the HA hint), NAT works again;
#        b. `nft flush chain inet natgw prerouting`: restored, the forward works again;
#        c. `nft add rule inet natgw postrouting ...`, and the kernel rejects the first restore
#           (natgw-nft-fault with a chain name): NATGW_EVENT=table-restore-failed with the
#           kernel's error, tried again a second later: restored, the rule is gone;
#        d. natgwd's own `natgwctl reload` sets off no restore;
#        e. notifications lost (natgwd held by SIGSTOP while another process loads 100,000
#           elements into a table of its own): natgwd asks the kernel whether its table is
#           there; it is, and nothing is restored; with the table deleted in the same overrun,
#           it is restored;
#        f. deleted again and again: after 5 tries within 2 minutes natgwd tries at most once
#           a minute and says so once (NATGW_EVENT=table-restore-paused); a reload still
#           recreates the table.

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
        lab_skip_part "1 (another process owns the table): kernel $(uname -r) has no owner flag"
fi

# ---------------------------------------------------------------- 2. owned by natgwd

start_natgwd "$conf"
# A second natgwd on the same control socket stops before it touches anything.
before=$(nft_json_shape)
rc=0
out=$(timeout 10 ip netns exec "$GW" "$NATGWD" -c "$conf" -S "$CTL_SOCK" 2>&1) || rc=$?
assert_eq 1 "$rc" "a second natgwd on the same control socket exits 1"
assert_match "cannot listen on control socket $CTL_SOCK: Address already in use \(another natgwd is running" "$out" \
        "it says another natgwd holds the socket"
[[ $(nft_json_shape) == "$before" ]] || fail "the second natgwd changed the table"
natgwd_alive
if kernel_at_least 6 9; then
        check_table_flags
        nat_works "before anyone else touches the table"
        before=$(nft_json_shape)
        for cmd in "delete table inet natgw" "flush table inet natgw" \
                   "add rule inet natgw postrouting counter accept" "delete chain inet natgw egress-lan" \
                   "delete map inet natgw fwd4_if"; do
                rc=0
                out=$(nsexec "$GW" nft "$cmd" 2>&1) || rc=$?
                ((rc != 0)) || fail "nft $cmd succeeded on natgwd's owned table"
                assert_match "Operation not permitted" "$out" "nft $cmd is refused by the kernel"
        done
        [[ $(nft_json_shape) == "$before" ]] || fail "table inet natgw changed although every change was refused"
        info "ok: table inet natgw is byte-identical"
        nat_works "after the refused changes"
        natgwd_alive
else
        lab_skip_part "2 (the kernel refuses others' changes to natgwd's table): kernel $(uname -r) has no owner flag"
fi
stop_natgwd
natgw_table_exists && fail "on_exit = \"remove\" left the table"

# ---------------------------------------------------------------- 3. no owner flag

# natgwd logs to a journal stand-in here, as in lab-systemd.sh, so that the structured fields of
# its restores can be checked: a private mount namespace with a tmpfs on /run/systemd, natgw-peer
# journal on its socket, JOURNAL_STREAM naming natgwd's stderr. The fault module is preloaded into
# natgwd alone (NATGW_WRAP_PRELOAD), not into the shell and the tools around it.
journal_wrapper 240
wrapper=$JOURNAL_WRAPPER
journal_out=$JOURNAL_OUT


restores() {
        natgwctl -j status | jq -r .table_restore.restored
}

# wait_restored N: bounded wait (3 s) until status counts N restores and the table is back.
wait_restored() {
        local i got=

        for ((i = 0; i < 30; i++)); do
                got=$(restores)
                [[ $got == "$1" ]] && natgw_table_exists && break
                sleep 0.1
        done
        [[ $got == "$1" ]] && natgw_table_exists ||
                fail "natgwd did not restore table inet natgw within 3 s (restores: $got, want $1)"
        info "ok: table inet natgw restored (restore $1)"
}

# no_restore_for N TENTHS: the restore counter stays at N for TENTHS tenths of a second.
no_restore_for() {
        local i got

        for ((i = 0; i < $2; i++)); do
                got=$(restores)
                [[ $got == "$1" ]] || fail "unexpected restore: $got restores, want $1"
                sleep 0.1
        done
}

# What another process loads in 3e: a table of its own with 100,000 elements, as many
# notifications, which overrun natgwd's monitor socket while natgwd is stopped.
burst=$LAB_TMP/burst.nft
awk 'BEGIN {
        print "table inet burst {"; print "  set s { type ipv4_addr; elements = {"
        for (i = 0; i < 100000; i++)
                printf "    10.%d.%d.%d%s\n", int(i / 65536) % 256, int(i / 256) % 256, i % 256, i < 99999 ? "," : ""
        print "  } }"; print "}"
}' >"$burst"

# From here on the config has the HA hint (docs/HA.md): natgwd, no master, keeps chain ha-guard
# in its table, and a restore must put it back too.
echo 'ha = { vips = [ "203.0.113.10" ]; };' >>"$conf"

# What a kernel before 6.9 answers to "persist": EOPNOTSUPP for the table's flags. The module
# stays loaded: 3c makes a restore fail with it.
kernel_at_least 6 9 && echo table-flags >"$fault"
NATGWD_ENV=("NATGW_WRAP_PRELOAD=$NATGW_NFT_FAULT" "NATGW_FAULT_FILE=$fault"
            "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
# -v: the debug line about lost notifications (3e) is checked too.
NATGWD=$wrapper start_natgwd "$conf" -v
rm -f "$fault"
if kernel_at_least 6 9; then
        grep -q '^natgw-nft-fault: table-flags: added' "$NATGWD_LOG" || fail "the table-flags fault did not fire"
fi
grep -q '^MESSAGE=applied .*table flags 0x0$' "$journal_out" ||
        fail "natgwd did not log 'table flags 0x0': $(cat "$journal_out")"
info "ok: natgwd fell back to a table without flags and said so"
assert_eq 0 "$(natgwctl -j status | jq -r .last_apply.table_flags)" "status: table_flags 0"
assert_no_match $'\n\tflags ' "$(nsexec "$GW" nft list table inet natgw)" "the table has no flags"
assert_eq "true 0 0" "$(natgwctl -j status | jq -r '.table_restore | "\(.watching) \(.restored) \(.failed)"')" \
        "status: natgwd watches the table, no restore yet"
assert_match "MESSAGE=table inet natgw has no owner flag on this kernel: natgwd restores it when another process changes it" \
        "$(entry_with PRIORITY=6 SYSLOG_IDENTIFIER=natgwd)" "journal: natgwd says it watches the table"
nat_works "with a table without owner"
listing=$(nsexec "$GW" nft -s list table inet natgw)

# 3a. The table deleted behind natgwd's back.
nsexec "$GW" nft delete table inet natgw || fail "nft delete table inet natgw failed on a table without owner"
info "ok: without the owner flag, nft deletes natgwd's table behind its back"
wait_restored 1
nat_works "after natgwd restored the deleted table"
[[ $(nsexec "$GW" nft -s list table inet natgw) == "$listing" ]] ||
        fail "the restored table differs: $(diff <(echo "$listing") <(nsexec "$GW" nft -s list table inet natgw))"
info "ok: the restored table is the one natgwd made"
assert_match "chain ha-guard" "$listing" "the HA guard was in the table before the delete"
assert_eq true "$(natgwctl -j status | jq -r .ha.guard)" "status: the HA guard is in place after the restore"
assert_eq "1 applied-at-start restored" \
        "$(natgwctl -j status | jq -r '"\(.generation) \(.last_reload // "applied-at-start") \(.table_restore.last_result)"')" \
        "status: a restore is no reload (generation 1, no reload)"
assert_match "^table inet natgw was deleted by another process \(nft, pid [0-9]+, netlink port [0-9]+\)$" \
        "$(natgwctl -j status | jq -r .table_restore.last_cause)" "status: the cause of the last restore"
assert_match "restores: +1 \(last [0-9T:-]+Z: table inet natgw was deleted by another process" "$(natgwctl status)" \
        "natgwctl status shows the restore"
e=$(entry_with NATGW_EVENT=table-restored PRIORITY=4 NATGW_RESTORES=1 NATGW_GENERATION=1 "NATGW_CONFIG=$conf")
assert_match "MESSAGE=table inet natgw was deleted by another process \(nft, pid [0-9]+, netlink port [0-9]+\); restored it as $conf \(generation 1\) says" \
        "$e" "journal: table-restored names what happened and who did it"
assert_match $'\nNATGW_NFT_PID=[0-9]+\n' "$e" "journal: the other process's pid as NATGW_NFT_PID"

# 3b. A chain flushed.
nsexec "$GW" nft flush chain inet natgw prerouting || fail "nft flush chain failed"
wait_restored 2
nat_works "after natgwd restored the flushed chain"
assert_match "MESSAGE=table inet natgw was changed \(rule deleted from chain prerouting(, [0-9]+ changes in all)?\) by another process \(nft, pid [0-9]+" \
        "$(entry_with NATGW_EVENT=table-restored NATGW_RESTORES=2)" "journal: the flush, named"

# 3c. A rule added, and the first restore fails: the fault module makes the kernel reject the
# restore's batch (the element of "lan" goes to a chain that does not exist). natgwd says so and
# tries again a second later, when it works.
echo egress-lan >"$fault"
nsexec "$GW" nft add rule inet natgw postrouting counter accept || fail "nft add rule failed"
for ((i = 0; i < 30; i++)); do
        [[ -n $(entry_with NATGW_EVENT=table-restore-failed PRIORITY=3) ]] && break
        sleep 0.1
done
rm -f "$fault"
e=$(entry_with NATGW_EVENT=table-restore-failed PRIORITY=3)
assert_match "MESSAGE=table inet natgw was changed \(rule added to chain postrouting\) by another process \(nft, pid [0-9]+, netlink port [0-9]+\); restoring it failed:" \
        "$e" "journal: the failed restore, with its cause"
assert_match "MESSAGE=  $conf:3: entry \"lan\": the kernel rejected an element of map egress4: No such file or directory" \
        "$e" "journal: the kernel's error, mapped to its entry"
wait_restored 3
assert_eq "1 restored" "$(natgwctl -j status | jq -r '.table_restore | "\(.failed) \(.last_result)"')" \
        "status: one failed restore, then restored"
assert_no_match "counter packets [0-9]+ bytes [0-9]+ accept" "$(nsexec "$GW" nft list chain inet natgw postrouting)" \
        "the added rule is gone"
assert_match "MESSAGE=table inet natgw was changed \(rule added to chain postrouting\)" \
        "$(entry_with NATGW_EVENT=table-restored NATGW_RESTORES=3)" "journal: the added rule, named"

# 3d. natgwd's own reload is no foreign change.
out=$(reload_ok)
assert_match "generation 2" "$out" "the reload is applied"
no_restore_for 3 15
info "ok: natgwd's own reload did not set off a restore"
assert_eq "" "$(entry_with NATGW_EVENT=table-restored NATGW_RESTORES=4)" "journal: no restore after the reload"
nat_works "after the reload"

# 3e. Lost notifications: natgwd stopped while another process loads 100,000 elements into a
# table of its own (an overrun of natgwd's socket), first alone, then with natgwd's table deleted.
# On SIGCONT natgwd meets ENOBUFS and asks the kernel whether its table is still there.
lost='^MESSAGE=nftables notifications were lost; table inet natgw is still there$'
kill -STOP "$NATGWD_PID"
nsexec "$GW" nft -f "$burst" || { kill -CONT "$NATGWD_PID"; fail "nft -f $burst failed"; }
kill -CONT "$NATGWD_PID"
for ((i = 0; i < 30; i++)); do
        grep -q "$lost" "$journal_out" && break
        sleep 0.1
done
grep -q "$lost" "$journal_out" || fail "natgwd did not check its table after the overrun"
info "ok: after an overrun natgwd checked its table: still there"
no_restore_for 3 5
kill -STOP "$NATGWD_PID"
if ! { nsexec "$GW" nft delete table inet burst && nsexec "$GW" nft -f "$burst" &&
       nsexec "$GW" nft delete table inet natgw; }; then
        kill -CONT "$NATGWD_PID"
        fail "the overrun with the delete failed"
fi
kill -CONT "$NATGWD_PID"
wait_restored 4
assert_match "MESSAGE=table inet natgw is gone \(natgwd's notifications overran, so who removed it is unknown\); restored it" \
        "$(entry_with NATGW_EVENT=table-restored NATGW_RESTORES=4)" "journal: the table gone after an overrun, restored"
nsexec "$GW" nft delete table inet burst
nat_works "after the overrun"

# 3f. Someone keeps deleting it: 5 tries within 2 minutes so far (3a, 3b, 3c twice, 3e); at the
# sixth natgwd pauses, and says so once.
nsexec "$GW" nft delete table inet natgw
for ((i = 0; i < 30; i++)); do
        [[ -n $(entry_with NATGW_EVENT=table-restore-paused) ]] && break
        sleep 0.1
done
assert_match "MESSAGE=table inet natgw was deleted by another process \(nft, pid [0-9]+, netlink port [0-9]+\), again: natgwd tried to restore it 5 times within 120 s, and it keeps being changed or cannot be restored; natgwd now tries at most once every 60 s until that stops" \
        "$(entry_with NATGW_EVENT=table-restore-paused PRIORITY=3)" "journal: natgwd pauses its restores and says why"
no_restore_for 4 15
natgw_table_exists && fail "natgwd restored its table during the pause"
info "ok: no restore during the pause"
out=$(reload_ok)
assert_match "generation 3" "$out" "a reload during the pause is applied"
natgw_table_exists || fail "the reload did not recreate table inet natgw"
nat_works "after the reload during the pause"
nsexec "$GW" nft delete table inet natgw
no_restore_for 4 10
assert_eq 1 "$(grep -c '^NATGW_EVENT=table-restore-paused$' "$journal_out")" "journal: the pause was said once"
assert_eq 1 "$(natgwctl -j status | jq -r .table_restore.failed)" "status: still the one failed restore"
natgwd_alive
stop_natgwd
grep -q 'restored it as' "$NATGWD_LOG" && fail "natgwd logged to stderr although JOURNAL_STREAM named it"
lab_pass

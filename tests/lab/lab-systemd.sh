#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What systemd sees of natgwd, read off sockets of the test's own:
#   - NOTIFY_SOCKET: READY=1 after the first apply, STATUS= lines (with the conntrack level), RELOADING=1 (with
#     MONOTONIC_USEC=) ... READY=1 around every reload (natgwctl, SIGHUP, rejected or not),
#     WATCHDOG=1 while WATCHDOG_USEC is set, STOPPING=1 at the end;
#   - the journal: with JOURNAL_STREAM naming its stderr, natgwd logs to journald's native
#     socket with structured fields (NATGW_EVENT, NATGW_ENTRY, NATGW_LINE, ...). natgwd runs in
#     a private mount namespace where a tmpfs on /run/systemd holds a stand-in journald socket
#     (natgw-peer journal), so the host's journal is never written.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

command -v unshare >/dev/null || lab_skip "needs unshare"

conf=$(lab_config systemd)
good() {
        cat >"$conf" <<'EOF'
version = 1;
masquerade = ( { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; } );
forward = ( { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; } );
EOF
}
bad() {
        cat >"$conf" <<'EOF'
version = 1;
masquerade = ( { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; } );
forward = (
  { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; },
  { name = "broken"; proto = "tcp"; port = 8081; to = "192.168.1.666"; }
);
EOF
}

# natgwd wrapped: a private mount namespace with the journald stand-in, JOURNAL_STREAM = stderr.
journal_wrapper 120
wrapper=$JOURNAL_WRAPPER
journal_out=$JOURNAL_OUT

serve_in "$LAN" --tcp 80
good
NATGWD_ENV=("WATCHDOG_USEC=400000")
NATGWD=$wrapper start_natgwd "$conf"

# ---------------------------------------------------------------- reloads of every kind

reload_ok >/dev/null
bad
rc=0; natgwctl reload >/dev/null 2>&1 || rc=$?
assert_eq 1 "$rc" "the bad file is rejected"
good
kill -HUP "$NATGWD_PID"
for ((i = 0; i < 50; i++)); do
        [[ $(natgwctl -j status | jq -r .generation) == 3 ]] && break
        sleep 0.1
done
assert_eq 3 "$(natgwctl -j status | jq -r .generation)" "SIGHUP reloaded"
sleep 1 # watchdog pings accumulate
stop_natgwd
sleep 0.2

# ---------------------------------------------------------------- NOTIFY_SOCKET

grep -v '^WATCHDOG=1$' "$NOTIFY_LOG" | sed -E 's/^MONOTONIC_USEC=[0-9]+$/MONOTONIC_USEC=N/; s/ at [0-9T:-]+Z//; s/reload [0-9T:-]+Z/reload T/; s/; conntrack [0-9.]+% \(([a-z]+)\)$/; conntrack P% (\1)/' \
        >"$LAB_TMP/notify.seq"
cat >"$LAB_TMP/notify.want" <<'EOF'
READY=1
STATUS=generation 1: 1 egress entries, 1 forwards; conntrack P% (ok)
RELOADING=1
MONOTONIC_USEC=N
READY=1
STATUS=generation 2: 1 egress entries, 1 forwards; last reload T applied; conntrack P% (ok)
RELOADING=1
MONOTONIC_USEC=N
READY=1
STATUS=generation 2: 1 egress entries, 1 forwards; last reload T REJECTED (running state unchanged); conntrack P% (ok)
RELOADING=1
MONOTONIC_USEC=N
READY=1
STATUS=generation 3: 1 egress entries, 1 forwards; last reload T applied; conntrack P% (ok)
STOPPING=1
EOF
diff -u "$LAB_TMP/notify.want" "$LAB_TMP/notify.seq" >&2 || fail "natgwd's notify messages differ from the expected sequence"
info "ok: READY, STATUS, RELOADING/MONOTONIC_USEC/READY around three reloads, STOPPING, in order"
pings=$(grep -cx 'WATCHDOG=1' "$NOTIFY_LOG" || true)
# About two pings per 400 ms period over several seconds; at least a few whatever the load.
((pings >= 5)) || fail "only $pings WATCHDOG=1 with WATCHDOG_USEC=400000"
info "ok: $pings WATCHDOG=1 pings"

# ---------------------------------------------------------------- journal

[[ -s $journal_out ]] || fail "nothing reached the journal stand-in"
e=$(entry_with NATGW_EVENT=apply NATGW_GENERATION=1 NATGW_TABLE=replaced PRIORITY=6 SYSLOG_IDENTIFIER=natgwd "NATGW_CONFIG=$conf")
assert_match "MESSAGE=applied $conf \(generation 1, table replaced\)" "$e" "journal: the first apply, with its fields"
e=$(entry_with NATGW_EVENT=reload NATGW_GENERATION=2 NATGW_TABLE=updated PRIORITY=6)
assert_match "MESSAGE=reloaded $conf \(generation 2, table updated\)" "$e" "journal: the reload, with its generation, in place"
e=$(entry_with NATGW_EVENT=reload-rejected NATGW_ENTRY=broken NATGW_LINE=5 "NATGW_FILE=$conf" PRIORITY=3)
assert_match "MESSAGE=  $conf:5: entry \"broken\": " "$e" "journal: the rejected entry, with file, line and entry fields"
e=$(entry_with NATGW_GENERATION=3 NATGW_EVENT=reload)
[[ -n $e ]] || fail "journal: no entry for the SIGHUP reload"
info "ok: journal: the SIGHUP reload"
e=$(entry_with PRIORITY=6 SYSLOG_IDENTIFIER=natgwd)
assert_match "MESSAGE=stopped; table inet natgw left in place" "$e" "journal: the stop"
# Nothing of that went to stderr: it was the journal's.
grep -q "applied $conf" "$NATGWD_LOG" && fail "natgwd logged to stderr although JOURNAL_STREAM named it"
info "ok: stderr stayed quiet"
info "PASS"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# systemd's watchdog restarts a natgwd that hangs (real systemd in a container, as in
# lab-nspawn.sh). natgwd comes from a build with -Dtest_hooks=true, where SIGUSR2 hangs its
# event loop for good (daemon/natgwd-test-hooks.c): no WATCHDOG=1 any more. With WatchdogSec=2s
# (a drop-in; the unit's 60 s would make the test last minutes), systemd must kill it and,
# Restart=on-failure, start a new one, which takes the table over; the table stays in the
# kernel all along.

source "${LAB_DIR:-$(dirname "$0")}/nspawn.sh"

[[ ${TEST_HOOKS:-} == true ]] || fail "natgwd is not built with -Dtest_hooks=true (tests/lab/meson.build runs this test only then)"

nspawn_start_with_natgwd
CONF=/etc/natgw/natgwd.conf
put $CONF <<'EOF2'
version = 1;
masquerade = ( { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; } );
EOF2
put /etc/systemd/system/natgwd.service.d/50-watchdog.conf <<'EOF2'
[Service]
WatchdogSec=2s
EOF2
inside systemctl daemon-reload
inside timeout 30 systemctl start natgwd || fail "systemctl start natgwd failed"

prop() {
        inside systemctl show -p "$1" --value natgwd
}
pid=$(prop MainPID)
assert_eq 0 "$(prop NRestarts)" "started, not restarted yet"
sleep 3 # longer than WatchdogSec: a natgwd that pings is left alone
assert_eq "$pid" "$(prop MainPID)" "a natgwd that pings is not restarted"

inside systemctl kill -s SIGUSR2 --kill-whom=main natgwd
rc=0
inside natgwctl -S /run/natgwd/control.sock -T 1 status >/dev/null 2>&1 || rc=$?
[[ $rc != 0 ]] || fail "natgwd still answers after SIGUSR2: the hang hook did not work"
info "ok: natgwd hangs (natgwctl status: exit $rc)"

# WatchdogSec=2s, then RestartSec=2s of the unit: bounded by 20 s.
for ((i = 0; i < 200; i++)); do
        new=$(prop MainPID)
        [[ $new != 0 && $new != "$pid" && $(prop ActiveState) == active ]] && break
        sleep 0.1
done
[[ $new != 0 && $new != "$pid" ]] || fail "natgwd was not restarted within 20 s of hanging"
assert_eq active "$(prop ActiveState)" "a new natgwd is active"
assert_eq 1 "$(prop NRestarts)" "systemd restarted it once"
journal=$(inside journalctl -u natgwd --no-pager -o cat)
assert_match "natgwd.service: Watchdog timeout" "$journal" "systemd's watchdog fired"
assert_match "SIGUSR2 \(test hook\)" "$journal" "the hang was the test hook's"
inside nft list table inet natgw >/dev/null || fail "no table after the restart"
assert_eq 1 "$(inside natgwctl -S /run/natgwd/control.sock -j status | jq -r .generation)" "the new natgwd answers (generation 1)"
assert_eq replaced "$(inside journalctl -u natgwd -o json NATGW_EVENT=apply | jq -r "select(._PID == \"$new\" and .NATGW_TABLE) | .NATGW_TABLE")" \
        "the new natgwd took the table over"
info "PASS"

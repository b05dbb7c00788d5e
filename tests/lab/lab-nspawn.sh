#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# natgwd under real systemd (tests/lab/nspawn.sh boots this machine's systemd in a throwaway
# container with a network namespace of its own), with the unit `meson install` installs:
#   1. `systemctl start natgwd` returns once natgwd said READY=1 (Type=notify): active, with
#      natgwd's STATUS= as the unit's status text, the table in the container's kernel; the
#      sysctls the file asks for set through the unit's ReadWritePaths= (ip_forward, conntrack
#      timeouts), those the kernel keeps read-only outside the initial namespace refused with
#      a warning, and the host's own sysctls unchanged;
#   2. the journal: natgwd's structured fields are searchable (`journalctl NATGW_EVENT=apply`);
#   3. `systemctl reload` applies an edited file, in place, and deletes the conntrack entry the
#      edit made stale (stale-entry cleanup), not another one;
#   4. `systemctl reload` of a bad file fails (non-zero), `journalctl -u natgwd` has the error
#      with its entry and line (`journalctl NATGW_ENTRY=broken`), the table is byte for byte
#      what it was;
#   5. auto_grow at the critical level: the kernel refuses to raise nf_conntrack_max (read-only
#      outside the initial namespace) and natgwd says so, in status and journal;
#   6. the table watch (a kernel without the owner flag, simulated by natgw-nft-fault through a
#      drop-in's LD_PRELOAD): `nft delete table inet natgw` from outside is put back;
#   7. `systemctl restart`: the table is taken over without a moment where it is missing;
#   8. `systemctl stop`: the table stays with on_exit = "keep", goes with "remove";
#   9. the system calls natgwd makes while doing all of that (strace -f in a drop-in, the filter
#      lifted for that run only) are each allowed by the unit's SystemCallFilter=; and nothing
#      in the whole run was refused by it (no "Operation not permitted" from natgwd).
#  10. natgwd-metrics.socket: GET /metrics through the socket systemd hands natgwd, valid
#      exposition; natgwd.service keeps IPAddressDeny=any; the socket's IPAddressAllow= decides
#      who may scrape (a drop-in widens it); a scrape starts a stopped natgwd.
# Later units (the HA notify hook) get a section of their own at the end.

source "${LAB_DIR:-$(dirname "$0")}/nspawn.sh"

for tool in jq strace; do
        command -v "$tool" >/dev/null 2>&1 || lab_skip "needs $tool"
done

host_sysctls() {
        cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/netfilter/nf_conntrack_udp_timeout 2>/dev/null || true
}
host_before=$(host_sysctls)

nspawn_start_with_natgwd

CONF=/etc/natgw/natgwd.conf
# The container's own interfaces: a veth pair in its network namespace (the host never sees them).
inside_sh 'ip link add eth0 type veth peer name eth1 && ip link set eth0 up && ip link set eth1 up
        ip addr add 203.0.113.1/24 dev eth0 && ip addr add 192.168.1.1/24 dev eth1'

good() {
        put $CONF <<EOF
version = 1;
on_exit = "${1:-keep}";
kernel = { ip_forward = true; };
conntrack = { timeouts = { udp = 45; tcp_established = 7200; }; };
masquerade = ( { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; } );
forward = ( { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; } );
EOF
}

table() {
        inside nft list table inet natgw
}

jfield() { # jfield FIELD MATCH...: FIELD of the last journal entry of natgwd matching MATCH...
        inside journalctl -u natgwd -o json --no-pager "${@:2}" | jq -r "select(.$1) | .$1" | tail -n 1
}

# wait_table: bounded wait (3 s) until the table is back after `nft delete table`.
wait_table() {
        local i

        for ((i = 0; i < 30; i++)); do
                table >/dev/null 2>&1 && return 0
                sleep 0.1
        done
        fail "the deleted table was not put back within 3 s"
}

status() {
        inside natgwctl -S /run/natgwd/control.sock -j status
}

# ---------------------------------------------------------------- 1. start
good
inside sysctl -q -w net.ipv4.ip_forward=0
t0=$(date +%s%N)
inside timeout 30 systemctl start natgwd || fail "systemctl start natgwd failed: $(inside journalctl -u natgwd --no-pager | tail -n 20)"
info "systemctl start took $((($(date +%s%N) - t0) / 1000000)) ms"
assert_eq "ActiveState=active SubState=running" "$(inside systemctl show -p ActiveState -p SubState natgwd | tr '\n' ' ' | sed 's/ $//')" \
        "systemctl start: active (running)"
assert_match "^StatusText=generation 1: 1 egress entries, 1 forwards" "$(inside systemctl show -p StatusText natgwd)" \
        "the unit's status text is natgwd's STATUS="
table >/dev/null || fail "no table inet natgw in the container after the start"
assert_eq 1 "$(inside sysctl -n net.ipv4.ip_forward)" "ip_forward switched on through ReadWritePaths="
assert_eq 45 "$(inside sysctl -n net.netfilter.nf_conntrack_udp_timeout)" "conntrack udp timeout set"
assert_eq 7200 "$(inside sysctl -n net.netfilter.nf_conntrack_tcp_timeout_established)" "conntrack tcp_established timeout set"

# ---------------------------------------------------------------- 2. journal fields
assert_eq 1 "$(jfield NATGW_GENERATION NATGW_EVENT=apply)" "journalctl NATGW_EVENT=apply finds the first apply"
assert_eq "$CONF" "$(jfield NATGW_CONFIG NATGW_EVENT=apply)" "... with the config's path"

# ---------------------------------------------------------------- 3. reload, stale entries
# Two UDP flows of the container's own, each a conntrack entry: one from a LAN address,
# masqueraded by "lan", which the edit below moves to another LAN; one from the outside
# address, which nothing translates and the edit leaves alone.
inside ip route add 198.51.100.0/24 via 203.0.113.100 dev eth0
udp_from() {
        inside python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.sendto(b"natgw", ("198.51.100.80", 53))' "$@"
}
udp_from 192.168.1.1 41000
udp_from 203.0.113.1 41001
assert_eq 1 "$(inside conntrack -L -p udp --orig-port-src 41000 --src-nat 2>/dev/null | wc -l)" "the LAN flow is masqueraded"
put $CONF <<EOF
version = 1;
kernel = { ip_forward = true; };
conntrack = { timeouts = { udp = 45; tcp_established = 7200; }; };
masquerade = ( { name = "lan"; source = "192.168.2.0/24"; out_interface = "eth0"; } );
forward = ( { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.67:80"; } );
EOF
inside timeout 30 systemctl reload natgwd || fail "systemctl reload of a good file failed"
assert_match "192\.168\.1\.67" "$(table)" "systemctl reload applied the edited file"
assert_eq 2 "$(jfield NATGW_GENERATION NATGW_EVENT=reload)" "journalctl NATGW_EVENT=reload: generation 2"
assert_eq updated "$(jfield NATGW_TABLE NATGW_EVENT=reload)" "the reload updated the table in place"
assert_eq 0 "$(inside conntrack -L -p udp --orig-port-src 41000 2>/dev/null | wc -l)" "the flow the edit made stale is deleted"
assert_eq 1 "$(inside conntrack -L -p udp --orig-port-src 41001 2>/dev/null | wc -l)" "the untranslated flow stays"
assert_eq 1 "$(jfield NATGW_CT_DELETED_CHANGED NATGW_EVENT=reload NATGW_GENERATION=2 NATGW_CT_DELETED=1)" \
        "journalctl NATGW_CT_DELETED=1: natgwd says what it deleted"

# ---------------------------------------------------------------- 4. a bad reload
before=$(table)
put $CONF <<EOF
version = 1;
forward = (
  { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; },
  { name = "broken"; proto = "udp"; port = 70000; to = "192.168.1.20"; }
);
EOF
rc=0
inside timeout 30 systemctl reload natgwd 2>/dev/null || rc=$?
[[ $rc != 0 ]] || fail "systemctl reload of a bad file succeeded"
info "ok: systemctl reload of a bad file fails (exit $rc)"
assert_eq "$before" "$(table)" "the table is untouched by the rejected file"
assert_match "$CONF:4: entry \"broken\"" "$(inside journalctl -u natgwd --no-pager -o cat)" \
        "journalctl -u natgwd has the error with file, line and entry"
# The whole journal, not only the unit's: the field alone finds it.
assert_eq 4 "$(inside journalctl -o json --no-pager NATGW_ENTRY=broken | jq -r 'select(.NATGW_LINE) | .NATGW_LINE' | tail -n 1)" \
        "journalctl NATGW_ENTRY=broken finds the rejected entry, with its line"
assert_eq active "$(inside systemctl is-active natgwd)" "natgwd is still active"

# ---------------------------------------------------------------- 5. auto_grow refused
# critical = 1 %: about 2,600 entries of the container's table (natgw-ct-fill, from the build;
# --host-namespace because in there PID 1 shares the namespace: it is the container's own).
max=$(inside sysctl -n net.netfilter.nf_conntrack_max)
good
inside_sh "sed -i 's/^conntrack = { /conntrack = { warn = 1; critical = 1; interval = 0.2; auto_grow = { ceiling = $((max * 2)); step = 65536; }; /' $CONF"
inside timeout 30 systemctl reload natgwd || fail "systemctl reload with auto_grow failed"
inside timeout 60 /natgw-build/tests/lab/natgw-ct-fill --src 10.99.0.0/24 --count $((max / 100 + 50)) --host-namespace \
        --dst 198.51.100.50 --dport 443 >/dev/null || fail "natgw-ct-fill failed"
for ((i = 0; i < 50; i++)); do
        [[ $(status | jq -r '.conntrack.auto_grow.refused // empty') ]] && break
        sleep 0.1
done
assert_eq critical "$(status | jq -r .conntrack.level)" "conntrack at the critical level"
assert_eq "Permission denied" "$(status | jq -r .conntrack.auto_grow.refused)" \
        "auto_grow: the kernel refuses nf_conntrack_max (read-only outside the initial namespace)"
assert_match "conntrack.auto_grow: cannot raise nf_conntrack_max from $max: Permission denied" \
        "$(inside journalctl -u natgwd --no-pager -o cat)" "... and the journal says so"
assert_eq "$max" "$(inside sysctl -n net.netfilter.nf_conntrack_max)" "nf_conntrack_max unchanged"
inside conntrack -F >/dev/null 2>&1

# ---------------------------------------------------------------- 6. the table watch
# A kernel without the owner flag (natgw-nft-fault "table-flags", through a drop-in): natgwd
# watches the kernel's nftables notifications and puts its table back.
put /etc/systemd/system/natgwd.service.d/50-fault.conf <<'EOF2'
[Service]
Environment=LD_PRELOAD=/natgw-build/tests/lab/natgw-nft-fault.so NATGW_FAULT_FILE=/etc/natgw/fault
EOF2
echo table-flags | put /etc/natgw/fault
inside systemctl daemon-reload
inside timeout 30 systemctl restart natgwd || fail "systemctl restart with the fault module failed"
assert_match "table flags 0x0" "$(inside journalctl -u natgwd --no-pager -o cat -n 5)" "natgwd fell back to a table without flags"
inside nft delete table inet natgw
wait_table
assert_eq table-restored "$(jfield NATGW_EVENT NATGW_EVENT=table-restored)" "the table watch put it back (journalctl NATGW_EVENT=table-restored)"
inside rm -f /etc/systemd/system/natgwd.service.d/50-fault.conf
inside systemctl daemon-reload

# ---------------------------------------------------------------- 7. restart without a gap
# The kernel's own account: `nft monitor` sees every transaction ("# new generation N by
# process P") and every table added or deleted in it. After each transaction, the table must
# be there: the old natgwd leaves it (on_exit = "keep"), the new one replaces it in one.
pid_before=$(inside systemctl show -p MainPID --value natgwd)
inside_sh 'timeout 30 nft monitor >/natgw-share/monitor 2>&1 & m=$!; sleep 0.5
        timeout 30 systemctl restart natgwd; sleep 0.5; kill $m; wait $m || true'
gaps=$(awk '/^add table inet natgw$/ { up = 1 } /^delete table inet natgw$/ { up = 0 }
        /^# new generation/ { n++; if (!up) gap++ } END { print n + 0, gap + 0 }' up=1 "$NSPAWN_TMP/share/monitor")
[[ ${gaps% *} -ge 1 ]] || fail "nft monitor saw no transaction during systemctl restart: $(head -c 500 "$NSPAWN_TMP/share/monitor")"
assert_eq 0 "${gaps#* }" "after none of the ${gaps% *} transaction(s) during systemctl restart was the table missing"
[[ $(inside systemctl show -p MainPID --value natgwd) != "$pid_before" ]] || fail "natgwd was not restarted"
assert_eq replaced "$(jfield NATGW_TABLE NATGW_EVENT=apply _PID="$(inside systemctl show -p MainPID --value natgwd)")" \
        "the new natgwd took the table over (replaced in one transaction)"

# ---------------------------------------------------------------- 8. stop: on_exit
inside timeout 30 systemctl stop natgwd
assert_eq inactive "$(inside systemctl is-active natgwd || true)" "systemctl stop: inactive"
table >/dev/null 2>&1 || fail "on_exit = \"keep\": the table is gone after systemctl stop"
info "ok: on_exit = \"keep\": the table stays after systemctl stop"
good remove
inside timeout 30 systemctl start natgwd
inside timeout 30 systemctl stop natgwd
! table >/dev/null 2>&1 || fail "on_exit = \"remove\": the table is still there after systemctl stop"
info "ok: on_exit = \"remove\": systemctl stop removes the table"

# ---------------------------------------------------------------- 9. system calls
# What the unit's SystemCallFilter= allows, its groups expanded with systemd-analyze: the
# first allow list, plus later allow lists, minus every "~" list (systemd.exec(5)).
expand() {
        systemd-analyze syscall-filter "$1" | sed -n 's/^    //p' | grep -v '^#' | while read -r x; do
                if [[ $x == @* ]]; then expand "$x"; else echo "$x"; fi
        done
}
unit=$NSPAWN_TMP/dest$UNITDIR/natgwd.service
allowed=$({
        sed -n 's/^SystemCallFilter=//p' "$unit" | while read -r line; do
                sign=+
                [[ $line == '~'* ]] && { sign=-; line=${line#\~}; }
                for g in $line; do
                        if [[ $g == @* ]]; then expand "$g"; else echo "$g"; fi | sed "s/^/$sign /"
                done
        done
} | awk '$1 == "+" { ok[$2] = 1 } $1 == "-" { delete ok[$2] } END { for (s in ok) print s }' | sort -u)
(($(wc -l <<<"$allowed") > 100)) || fail "the unit's filter expands to only $(wc -l <<<"$allowed") calls"

# natgwd under strace -f, in the unit's sandbox but for the filter (lifted for these runs only:
# a refused call would fail with EPERM instead of showing up); every call it makes is recorded.
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
strace_run() { # strace_run NAME [DROP-IN LINES...]: start natgwd traced; the trace is NAME
        printf '%s\n' "[Service]" "NotifyAccess=all" "SystemCallFilter=" "ExecStart=" \
                "ExecStart=$(command -v strace) -f -qq -o /run/natgwd/strace.$1 $exec_start" "${@:2}" |
                put /etc/systemd/system/natgwd.service.d/60-strace.conf
        inside systemctl daemon-reload
        inside timeout 30 systemctl start natgwd || fail "natgwd under strace did not start"
}
strace_stop() {
        inside timeout 30 systemctl stop natgwd
        inside rm /etc/systemd/system/natgwd.service.d/60-strace.conf
        inside systemctl daemon-reload
}
# The file of this run has a forward list big enough to be parsed in slices by a thread of its
# own (lib/conf-slice.c: 6,000 forwards, about 600 KiB), so that the thread's calls are recorded
# too: a refused clone3 would not kill natgwd (SystemCallErrorNumber=EPERM), but it would
# silently parse the slices without the thread.
good
for ((i = 0; i < 6000; i++)); do
        printf '  { name = "bulk%d"; in_interface = "eth0"; proto = "tcp"; port = %d; to = "192.168.1.%d:80"; },\n' \
                "$i" $((20000 + i)) $((i % 200 + 2))
done >"$NSPAWN_TMP/bulk"
(($(stat -c %s "$NSPAWN_TMP/bulk") > 2 * 256 * 1024)) || fail "the bulk list is too small to be sliced"
inside cat $CONF >"$NSPAWN_TMP/good.conf"
awk -v bulk="$NSPAWN_TMP/bulk" '
        /^forward = \( / { print "forward = ("; while ((getline l < bulk) > 0) print l; sub(/^forward = \( /, "  "); print; next }
        { print }' "$NSPAWN_TMP/good.conf" | put $CONF
assert_eq 6001 "$(inside grep -c 'name = "bulk[0-9]*";\|name = "web";' $CONF)" "the file has the bulk list and web"
inside_sh "sed -i 's/^conntrack = { /conntrack = { warn = 1; critical = 1; interval = 0.2; auto_grow = { ceiling = $((max * 2)); step = 65536; }; /' $CONF"
strace_run main
assert_eq 6001 "$(status | jq '.entries.forwards')" "natgwd under strace applied the 6,001 forwards"
# The slices' thread: a clone3 (or clone) with CLONE_THREAD, by natgwd.
inside grep -qE '^[0-9]+ +clone3?\(.*CLONE_THREAD' /run/natgwd/strace.main ||
        fail "natgwd created no thread for the sliced forward list (strace.main)"
info "ok: natgwd parsed the big forward list with a thread of its own (strace -f saw it)"
udp_from 192.168.1.1 41000
inside timeout 30 systemctl reload natgwd
inside_sh "sed -i 's/192.168.1.0/192.168.2.0/' $CONF"
inside timeout 30 systemctl reload natgwd
echo 'version = 1; bad' | put $CONF
inside timeout 30 systemctl reload natgwd 2>/dev/null && fail "a bad file was accepted under strace"
inside timeout 60 /natgw-build/tests/lab/natgw-ct-fill --src 10.99.0.0/24 --count $((max / 100 + 50)) --host-namespace \
        --dst 198.51.100.50 --dport 443 >/dev/null
sleep 1 # conntrack checks, the critical level, auto_grow
inside natgwctl -S /run/natgwd/control.sock status >/dev/null
strace_stop
good
echo table-flags | put /etc/natgw/fault
strace_run watch "Environment=LD_PRELOAD=/natgw-build/tests/lab/natgw-nft-fault.so NATGW_FAULT_FILE=/etc/natgw/fault"
inside nft delete table inet natgw
wait_table
strace_stop
used=$(inside cat /run/natgwd/strace.main /run/natgwd/strace.watch | sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' | sort -u)
(($(wc -l <<<"$used") > 20)) || fail "strace recorded only $(wc -l <<<"$used") different calls"
refused=$(comm -23 <(echo "$used") <(echo "$allowed"))
info "natgwd made $(wc -l <<<"$used") different system calls: $(tr '\n' ' ' <<<"$used")"
[[ -z $refused ]] || fail "calls natgwd makes that the unit's SystemCallFilter= refuses: $(tr '\n' ' ' <<<"$refused")"
info "ok: every one of them is allowed by the unit's SystemCallFilter="
# And with the filter in force, all along: nothing natgwd said was a refusal.
assert_eq "" "$(inside journalctl -u natgwd --no-pager -o cat | grep -i 'operation not permitted' || true)" \
        "no \"Operation not permitted\" in natgwd's journal"

# ---------------------------------------------------------------- 10. the metrics socket
# natgwd-metrics.socket as meson installs it: systemd listens on 127.0.0.1:9727 and hands the
# socket to natgwd.service, whose sandbox (RestrictAddressFamilies=AF_UNIX AF_NETLINK,
# IPAddressDeny=any) stays as it is; the socket's own IPAddressAllow=localhost decides who may
# scrape, and a drop-in widens it.
scrape() { # scrape URL [CURL ARGS...]: the body (HTTP errors fail curl)
        inside curl -sS -f --max-time 10 "${@:2}" "$1"
}
restart_metrics() { # the socket unit again (its drop-ins), and natgwd with it
        inside systemctl daemon-reload
        inside timeout 30 systemctl stop natgwd natgwd-metrics.socket
        inside timeout 30 systemctl start natgwd-metrics.socket natgwd
}
good
inside timeout 30 systemctl start natgwd-metrics.socket || fail "natgwd-metrics.socket did not start"
inside timeout 30 systemctl start natgwd || fail "natgwd did not start with the metrics socket"
# systemctl prints the two prefixes in either order.
assert_eq "0.0.0.0/0 ::/0" "$(inside systemctl show -P IPAddressDeny natgwd | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')" \
        "natgwd.service keeps IPAddressDeny=any"
body=$(scrape http://127.0.0.1:9727/metrics) || fail "GET /metrics through natgwd-metrics.socket failed"
if /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null; then
        out=$(/usr/bin/python3 "$LAB_DIR/check-exposition.py" <<<"$body") || fail "the scrape is not valid exposition: $out"
        info "ok: the scrape through the socket unit is valid exposition ($out)"
else
        lab_skip "needs python3-prometheus-client"
fi
assert_match 'natgw_entry_connections_total\{entry="lan",kind="masquerade"\} [0-9]+' "$body" "the scrape has the entries"
# Does this systemd enforce IPAddressDeny= at all (cgroup BPF)? A unit of its own with
# IPAddressDeny=any must not reach the socket.
inside journalctl --no-pager -b -o cat | grep -i "bpf" | head -n 5 | sed 's/^/# journal: /' >&2 || true
if inside timeout 30 systemd-run --quiet --wait --pipe -p IPAddressDeny=any \
        curl -sS -f --max-time 5 -o /dev/null http://127.0.0.1:9727/metrics 2>/dev/null; then
        firewall=no
        echo "NOTE: $LAB_NAME: IPAddressDeny= is not enforced in this container (no cgroup BPF firewall): the metrics socket's IPAddressAllow= is not checked here" >&2
else
        firewall=yes
        info "ok: a unit with IPAddressDeny=any cannot reach the socket (the BPF firewall works here)"
fi
# The socket's firewall: a client on a LAN address (the container's own 192.168.1.1, which is
# not localhost) is refused until a drop-in allows its network.
printf '%s\n' "[Socket]" "ListenStream=" "ListenStream=0.0.0.0:9727" |
        put /etc/systemd/system/natgwd-metrics.socket.d/50-lan.conf
restart_metrics
if [[ $firewall == yes ]]; then
        scrape http://192.168.1.1:9727/metrics --interface 192.168.1.1 >/dev/null 2>&1 &&
                fail "a client at 192.168.1.1 was served although the socket allows localhost only"
        info "ok: IPAddressAllow=localhost refuses a client at 192.168.1.1"
fi
scrape http://127.0.0.1:9727/metrics >/dev/null || fail "localhost was refused after the drop-in"
printf '%s\n' "[Socket]" "ListenStream=" "ListenStream=0.0.0.0:9727" "IPAddressAllow=192.168.1.0/24" |
        put /etc/systemd/system/natgwd-metrics.socket.d/50-lan.conf
restart_metrics
scrape http://192.168.1.1:9727/metrics --interface 192.168.1.1 >/dev/null ||
        fail "IPAddressAllow=192.168.1.0/24 on the socket did not let 192.168.1.1 scrape"
info "ok: the socket's IPAddressAllow= widened lets 192.168.1.1 scrape, natgwd.service unchanged"
# Socket activation: a scrape while natgwd is stopped starts it.
inside timeout 30 systemctl stop natgwd
scrape http://127.0.0.1:9727/metrics >/dev/null || fail "a scrape did not start natgwd"
assert_eq "active" "$(inside systemctl is-active natgwd)" "a scrape of the socket starts natgwd"
inside timeout 30 systemctl stop natgwd natgwd-metrics.socket

# ---------------------------------------------------------------- later units
# The HA notify hook is not in the tree yet: when it lands, its checks go here (run as
# keepalived would, its own unit/sandbox if it gets one).

# ---------------------------------------------------------------- the host
assert_eq "$host_before" "$(host_sysctls)" "the host's own sysctls are as they were"
info "PASS"

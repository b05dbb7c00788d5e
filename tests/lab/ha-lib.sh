# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# The HA pair's lab (docs/HA.md), sourced after lib.sh by tests/lab/lab-ha.sh and
# tests/bench/bench-ha-sync.sh: the namespaces, the two nodes with the files of conf/ha/ (only
# paths and timers changed), and the waits on their roles.
#
#   lan-S 192.168.1.10 ─ brl-S (bridge) ─┬─ gwa-S eth1 .2 ┐ eth2 10.99.0.1 ┐ eth0 203.0.113.2 ─┐
#     (default via VIP 192.168.1.1)      └─ gwb-S eth1 .3 ┘ eth2 10.99.0.2 ┘ eth0 203.0.113.3 ─┴─ brw-S ─ wan-S 203.0.113.50
#
# Before ha_topology: ADVERT (keepalived's advert_int, 1 = the shipped one), HA_PREEMPT (on, the
# shipped config; off: its commented `nopreempt` enabled), HA_CONF (default conf/ha: the files to
# start from, e.g. a copy with other priorities to measure). Every node's files, logs and sockets
# are in $LAB_TMP/a and $LAB_TMP/b; keepalived.log has each line prefixed with the epoch time.

HA_CONF=${HA_CONF:-$SRCDIR/conf/ha}
ADVERT=${ADVERT:-1}
HA_PREEMPT=${HA_PREEMPT:-on}
BRL=brl-$SUFFIX BRW=brw-$SUFFIX GWA=gwa-$SUFFIX GWB=gwb-$SUFFIX LAN=lan-$SUFFIX WAN=wan-$SUFFIX

ha_need_tools() {
        local tool

        for tool in keepalived conntrackd "$@"; do
                command -v "$tool" >/dev/null 2>&1 || lab_skip "needs $tool (scripts/deps.sh installs it)"
        done
}

# ha_topology: the namespaces, bridges, links and addresses (the VIPs are keepalived's).
ha_topology() {
        local ns br

        for ns in "$BRL" "$BRW" "$GWA" "$GWB" "$LAN" "$WAN"; do
                lab_netns_add "$ns"
        done
        for br in "$BRL" "$BRW"; do
                ip -n "$br" link add br0 type bridge stp_state 0 mcast_snooping 0
                ip -n "$br" link set br0 up
        done
        ha_port "$LAN" eth0 "$BRL" lan
        ha_port "$GWA" eth1 "$BRL" a1
        ha_port "$GWB" eth1 "$BRL" b1
        ha_port "$WAN" eth0 "$BRW" wan
        ha_port "$GWA" eth0 "$BRW" a0
        ha_port "$GWB" eth0 "$BRW" b0
        ip -n "$GWA" link add eth2 type veth peer name eth2 netns "$GWB"
        ip -n "$GWA" link set eth2 up
        ip -n "$GWB" link set eth2 up
        ip -n "$LAN" addr add 192.168.1.10/24 dev eth0
        ip -n "$LAN" route add default via 192.168.1.1
        ip -n "$WAN" addr add 203.0.113.50/24 dev eth0
        ha_node_addrs 2 "$GWA"
        ha_node_addrs 3 "$GWB"
        ip -n "$GWA" addr add 10.99.0.1/30 dev eth2
        ip -n "$GWB" addr add 10.99.0.2/30 dev eth2
}

# ha_port NS IFNAME BRIDGE-NS PORTNAME: NS's IFNAME plugged into the bridge.
ha_port() {
        ip -n "$1" link add "$2" type veth peer name "$4" netns "$3"
        ip -n "$3" link set "$4" master br0 up
        ip -n "$1" link set "$2" up
}

# ha_node_addrs N GW: the node's own addresses.
ha_node_addrs() {
        ip -n "$2" addr add "192.168.1.$1/24" dev eth1
        ip -n "$2" addr add "203.0.113.$1/24" dev eth0
}

# node_files X: $LAB_TMP/X/ with conf/ha's files, only paths and timers changed for the lab
# (and `nopreempt` enabled with HA_PREEMPT=off; with HA_CONNTRACKD_X set, node X's natgwctl ha
# runs that program instead of conntrackd).
node_files() {
        local x=$1 d=$LAB_TMP/$1 preempt=() bin_var=HA_CONNTRACKD_${1^^} bin=

        mkdir -p "$d"
        cp "$HA_CONF/natgwd.conf" "$d/natgwd.conf"
        sed -e "s#/var/lock/conntrackd.lock#$d/conntrackd.lock#" -e "s#/var/run/conntrackd.ctl#$d/conntrackd.ctl#" \
            -e "s#Syslog on#Syslog off#" -e "s#LogFile off#LogFile $d/conntrackd.log#" \
            "$HA_CONF/conntrackd-$x.conf" >"$d/conntrackd.conf"
        [[ $HA_PREEMPT == off ]] && preempt=(-e 's/^\( *\)# nopreempt$/\1nopreempt/')
        [[ -n ${!bin_var:-} ]] && bin=" --conntrackd ${!bin_var}"
        sed -e "s#\"/usr/sbin/natgwctl ha \([a-z]*\)\"#\"$NATGWCTL -S $d/control.sock ha \1 --conntrackd-conf $d/conntrackd.conf$bin\"#" \
            -e "s#advert_int 1\$#advert_int $ADVERT#" -e "s#preempt_delay 5#preempt_delay 1#" "${preempt[@]}" \
            "$HA_CONF/keepalived-$x.conf" >"$d/keepalived.conf"
        grep -q "advert_int $ADVERT" "$d/keepalived.conf" || fail "keepalived-$x.conf: no advert_int to tune"
        grep -q "$NATGWCTL" "$d/keepalived.conf" || fail "keepalived-$x.conf: no notify hook to point at the build"
        if [[ $HA_PREEMPT == off ]]; then
                grep -q "^ *nopreempt$" "$d/keepalived.conf" || fail "keepalived-$x.conf: no commented nopreempt to enable"
        fi
}

# ha_ns X: node X's namespace.
ha_ns() {
        if [[ $1 == a ]]; then echo "$GWA"; else echo "$GWB"; fi
}

# node_natgwd X: natgwd of node X, in the background (start_node waits for it).
node_natgwd() {
        ip netns exec "$(ha_ns "$1")" "$NATGWD" -c "$LAB_TMP/$1/natgwd.conf" -S "$LAB_TMP/$1/control.sock" \
                >>"$LAB_TMP/$1/natgwd.log" 2>&1 </dev/null &
        LAB_PIDS+=($!)
}

# ha_stamp: each line of stdin with the epoch time in front (keepalived's console log has none).
ha_stamp() {
        local line

        while IFS= read -r line; do
                printf '%s %s\n' "$EPOCHREALTIME" "$line"
        done
}

# start_node X: once natgwd answers, conntrackd, then keepalived (whose first transition needs
# both).
start_node() {
        local x=$1 ns d=$LAB_TMP/$1 i

        ns=$(ha_ns "$x")
        for ((i = 0; i < 100; i++)); do
                [[ -S $d/control.sock ]] && ip netns exec "$ns" "$NATGWCTL" -S "$d/control.sock" -T 2 status \
                        >/dev/null 2>&1 && break
                sleep 0.05
        done
        ip netns exec "$ns" "$NATGWCTL" -S "$d/control.sock" -T 2 status >/dev/null || fail "natgwd $x did not start"
        # What a reboot clears (/run is a tmpfs): a killed node's lock and pid files. keepalived
        # refuses to start ("daemon is already running") while its VRRP child's pid file names a
        # live process, and a zombie is one: the killed child is reparented to PID 1, which may
        # reap it only seconds later (the init of the machines here reaps every second or two).
        rm -f "$d/conntrackd.lock" "$d/keepalived.pid" "$d/vrrp.pid"
        ip netns exec "$ns" conntrackd -C "$d/conntrackd.conf" -d >>"$d/conntrackd.out" 2>&1 </dev/null ||
                fail "conntrackd $x did not start: $(tail -3 "$d/conntrackd.out")"
        ip netns exec "$ns" keepalived -n -l -D --vrrp -f "$d/keepalived.conf" -p "$d/keepalived.pid" \
                -r "$d/vrrp.pid" > >(ha_stamp >>"$d/keepalived.log") 2>&1 </dev/null &
        LAB_PIDS+=($!)
}

# status X: natgwd X's status as JSON ({} when it does not answer).
status() {
        timeout 5 ip netns exec "$(ha_ns "$1")" "$NATGWCTL" -S "$LAB_TMP/$1/control.sock" -T 2 -j status 2>/dev/null ||
                echo '{}'
}

# field X KEY: a key of natgwd X's "ha" object (role, split_brain, state, external...), read
# without a jq per call (the waits ask many times): natgwctl -j prints one key per line, and
# "ha" comes last.
field() {
        local out

        out=$(status "$1")
        out=${out##*\"ha\": \{}
        [[ $out =~ \"$2\":\ \"?([a-z0-9-]+) ]] && echo "${BASH_REMATCH[1]}" || echo none
}

role() {
        local r

        r=$(field "$1" role)
        [[ $r == none ]] && r=down
        echo "$r"
}

# ha_why X: on stderr, the last lines of node X's keepalived and natgwd logs (why a wait failed).
ha_why() {
        local f

        for f in "$LAB_TMP/$1/keepalived.log" "$LAB_TMP/$1/natgwd.log"; do
                [[ -s $f ]] || continue
                echo "# ${f#"$LAB_TMP"/}, its last lines:" >&2
                tail -n 8 "$f" | sed 's/^/#   /' >&2
        done
}

# wait_roles A B SECONDS: until natgwd A and B report these roles.
wait_roles() {
        local want_a=$1 want_b=$2 deadline

        deadline=$(($(date +%s%N) + $3 * 1000000000))
        while (($(date +%s%N) < deadline)); do
                [[ $(role a) == "$want_a" && $(role b) == "$want_b" ]] && return 0
                sleep 0.05
        done
        ha_why a
        ha_why b
        fail "want roles A $want_a, B $want_b within $3 s; got A $(role a), B $(role b)"
}

# ha_start: both nodes' files, natgwd, conntrackd and keepalived; A master, B backup.
ha_start() {
        node_files a
        node_files b
        node_natgwd a
        node_natgwd b
        start_node a
        start_node b
        wait_roles master backup 15
}

# kill_node X: the box dies: every process of its namespace SIGKILLed, its LAN and WAN links
# down (its kernel still holds the VIPs and the table). The sync link keeps its carrier: a dead
# peer on a switch does not take the survivor's port down.
kill_node() {
        local pid ns

        ns=$(ha_ns "$1")
        for pid in $(ip netns pids "$ns"); do
                kill -KILL "$pid" 2>/dev/null || true
        done
        ip -n "$ns" link set eth0 down
        ip -n "$ns" link set eth1 down
}

# reboot_node X: what a rebooted node has: no connections, no VIPs; links up, daemons started.
reboot_node() {
        local ns

        ns=$(ha_ns "$1")
        ip netns exec "$ns" conntrack -F 2>/dev/null || true
        ip -n "$ns" addr del 192.168.1.1/24 dev eth1 2>/dev/null || true
        ip -n "$ns" addr del 203.0.113.10/24 dev eth0 2>/dev/null || true
        ip -n "$ns" link set eth0 up
        ip -n "$ns" link set eth1 up
        node_natgwd "$1"
        start_node "$1"
}

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The HA pair's sync cost (issue 17, docs/PERFORMANCE.md section 8): conntrackd's CPU on both
# nodes at N new connections/s.
#
#   sudo tests/bench/bench-ha-sync.sh [BUILD_DIR] [--quick] [--rates "200 1000 5000"] [--seconds S]
#
# The lab of tests/lab/lab-ha.sh (tests/lab/ha-lib.sh: two gateways with the files of conf/ha/,
# keepalived, conntrackd FTFW and natgwd; A master, B backup), nothing outside its namespaces
# touched. For each rate, natgw-load on the LAN host opens that many short TCP connections a
# second to the WAN host through A (SNAT to the public VIP; each closed by the client with a
# reset, so every connection is a NEW, two UPDATEs and, 10 s later, a DESTROY event for
# conntrackd to replicate) for S seconds (5; --quick: one rate, 200/s for 1 s, only to see that
# it works). conntrackd's CPU time (utime + stime of /proc/PID/stat) on A (sends) and B
# (receives into its external cache) over the run, as % of one core, and per connection until
# the run's last DESTROY (11 s after it), less the idle cost (measured first, 5 s); the
# connections A's conntrackd holds (internal cache) and B's holds for A (external cache) at the
# end of the run, and how long B took to reach A's count (within 1 %). It reports, it asserts
# no timing: it fails only when the lab does not work (no connection through the pair,
# conntrackd gone).
# Exit status: 0 ran, 1 failed, 77 cannot run here (a failure under CI=true).

set -euo pipefail
build=
rates="200 1000 5000"
seconds=5
while (($#)); do
        case $1 in
        --quick) rates=200 seconds=1 ;;
        --rates) rates=$2; shift ;;
        --seconds) seconds=$2; shift ;;
        -h | --help) sed -n '3,23s/^# \{0,1\}//p' "$0"; exit 0 ;;
        -*) echo "usage: $0 [BUILD_DIR] [--quick] [--rates \"R...\"] [--seconds S]" >&2; exit 2 ;;
        *) build=$1 ;;
        esac
        shift
done
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${build:-$here/../../build}" && pwd)
export NATGWD=$build/daemon/natgwd NATGWCTL=$build/daemon/natgwctl NATGW_PEER=$build/tests/lab/natgw-peer
LOAD=$build/tests/bench/natgw-load
LAB_TOPOLOGY=own
# shellcheck source=tests/lab/lib.sh
source "$here/../lab/lib.sh"
# shellcheck source=tests/lab/ha-lib.sh
source "$LAB_DIR/ha-lib.sh"
ha_need_tools conntrack
[[ -x $LOAD ]] || lab_skip "no natgw-load at $LOAD (build it first)"
HZ=$(getconf CLK_TCK)

# conntrackd_pid X: the pid of node X's conntrackd.
conntrackd_pid() {
        local pid

        for pid in $(ip netns pids "$(ha_ns "$1")"); do
                [[ $(cat "/proc/$pid/comm" 2>/dev/null) == conntrackd ]] && { echo "$pid"; return 0; }
        done
        fail "node $1 has no conntrackd"
}

# cpu_ticks PID: utime + stime of PID in clock ticks.
cpu_ticks() {
        local stat

        stat=$(cat "/proc/$1/stat") || fail "conntrackd $1 is gone"
        stat=${stat##*) }
        read -r -a f <<<"$stat"
        # After "pid (comm) ": field 3 is f[0]; utime (14) and stime (15) are f[11] and f[12].
        echo $((f[11] + f[12]))
}

# cache X internal|external: conntrackd X's active connections in that cache.
cache() {
        local out

        out=$(ip netns exec "$(ha_ns "$1")" conntrackd -C "$LAB_TMP/$1/conntrackd.conf" -s 2>/dev/null) || { echo 0; return; }
        out=${out#*cache "$2":}
        [[ $out =~ current\ active\ connections:[[:space:]]*([0-9]+) ]] && echo "${BASH_REMATCH[1]}" || echo 0
}

echo "# bench-ha-sync: conntrackd's CPU at N new connections/s through the HA pair (FTFW, conf/ha)"
echo "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(conntrackd -v 2>&1 | head -n 1)"
ha_topology
ha_start
ip netns exec "$WAN" "$LOAD" serve --port 9100 --seconds 600 >"$LAB_TMP/serve.out" 2>&1 &
LAB_PIDS+=($!)
sleep 0.3
pa=$(conntrackd_pid a)
pb=$(conntrackd_pid b)
# Idle: after the start's transitions (B's resync request, A's bulk send) have settled; natgwd
# asks each conntrackd for its statistics once a second, which is part of this.
sleep 2
idle=$((seconds > 1 ? 5 : 1))
a0=$(cpu_ticks "$pa") b0=$(cpu_ticks "$pb")
sleep "$idle"
idle_a=$(($(cpu_ticks "$pa") - a0)) idle_b=$(($(cpu_ticks "$pb") - b0))

echo
echo "| rate asked (conn/s) | connections ok (/s) | conntrackd A (master, sends) | conntrackd B (backup, receives) | CPU per connection, NEW to DESTROY, A / B | A internal / B external at the end | B caught up after |"
echo "|---|---|---|---|---|---|---|"
awk -v a="$idle_a" -v b="$idle_b" -v hz="$HZ" -v s="$idle" \
        'BEGIN { printf "| 0 (idle, %d s) | 0 | %.1f %% | %.1f %% | - | - | - |\n", s, a / hz / s * 100, b / hz / s * 100 }'
for rate in $rates; do
        a0=$(cpu_ticks "$pa") b0=$(cpu_ticks "$pb") t0=$(date +%s%N)
        out=$(ip netns exec "$LAN" "$LOAD" connect 203.0.113.50 9100 --rate "$rate" --seconds "$seconds" \
                --concurrency 256 --timeout 2) || fail "natgw-load at $rate/s: no connection worked: $out"
        t1=$(date +%s%N) a1=$(cpu_ticks "$pa") b1=$(cpu_ticks "$pb")
        # B's external cache reaching A's internal one (within 1 %), bounded by 10 s. Each look
        # costs two conntrackd -s (tens of ms, more under load): "first look" is as soon as
        # this can tell.
        caught=">10 s"
        for ((i = 0; i < 100; i++)); do
                ia2=$(cache a internal) eb2=$(cache b external)
                ((i == 0)) && ia=$ia2 eb=$eb2
                if ((eb2 * 100 >= ia2 * 99)); then
                        caught="$((($(date +%s%N) - t1) / 1000000)) ms"
                        ((i == 0)) && caught="first look ($caught)"
                        break
                fi
                (($(date +%s%N) - t1 < 10000000000)) || break
                sleep 0.05
        done
        [[ $out =~ ok=([0-9]+) ]] && ok=${BASH_REMATCH[1]} || ok=0
        ((ok > 0)) || fail "natgw-load at $rate/s: $out"
        # A connection's last event, DESTROY, comes when its entry expires (CLOSE: 10 s): the
        # CPU per connection counts until then (but --quick does not wait for it).
        per="-"
        if ((seconds > 1)); then
                left=$((11000 - ($(date +%s%N) - t1) / 1000000))
                ((left <= 0)) || sleep "$((left / 1000)).$(printf %03d $((left % 1000)))"
                a2=$(cpu_ticks "$pa") b2=$(cpu_ticks "$pb") t2=$(date +%s%N)
                # Less what the idle daemons cost over the same time.
                per=$(awk -v a="$((a2 - a0))" -v b="$((b2 - b0))" -v ia="$idle_a" -v ib="$idle_b" -v s="$idle" \
                        -v t="$((t2 - t0))" -v hz="$HZ" -v n="$ok" 'BEGIN {
                        w = t / 1e9 / s
                        printf "%.0f / %.0f µs", (a - ia * w) / hz / n * 1e6, (b - ib * w) / hz / n * 1e6 }')
        fi
        awk -v r="$rate" -v ok="$ok" -v a="$((a1 - a0))" -v b="$((b1 - b0))" -v hz="$HZ" -v t="$((t1 - t0))" \
            -v ia="$ia" -v eb="$eb" -v c="$caught" -v per="$per" 'BEGIN {
                s = t / 1e9
                printf "| %d | %.0f | %.1f %% | %.1f %% | %s | %d / %d | %s |\n", r, ok / s, a / hz / s * 100,
                        b / hz / s * 100, per, ia, eb, c
        }'
done
echo
echo "# CPU: utime + stime of each conntrackd over the run (/proc/PID/stat, $HZ ticks/s) per second of run, % of one core."
for x in a b; do
        st=$(ip netns exec "$(ha_ns "$x")" conntrackd -C "$LAB_TMP/$x/conntrackd.conf" -s 2>/dev/null) || st=
        echo "# conntrackd $x: $(grep -E "Pckts (sent|recv)|Lost msgs" <<<"$st" | tr -s ' \t\n' ' ')"
done

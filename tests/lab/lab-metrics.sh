#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Prometheus metrics (natgwd(8), METRICS): natgwd serves GET /metrics on a listening socket it
# is handed (as systemd hands natgwd-metrics.socket's, LISTEN_FDS with the name "metrics"), the
# scrape is valid exposition by an independent parser (prometheus_client), `natgwctl metrics`
# prints the same families, other paths get 404 and other methods 405; and SNAT port usage:
# UDP flows from one inside host masqueraded to 203.0.113.1 raise the ports in use on that
# address, and at conntrack.ports.warn = 1 (% of 64,512 ports: 646) the level goes to warn,
# with a journal event and the metric.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

PY=/usr/bin/python3
"$PY" -c 'import prometheus_client' 2>/dev/null || lab_skip "needs python3-prometheus-client"
command -v curl >/dev/null || lab_skip "needs curl"

PORT=9727
URL=http://127.0.0.1:$PORT

conf=$(lab_config metrics)
cat >"$conf" <<'CONF'
version = 1;
conntrack = { ports = { warn = 1; critical = 50; interval = 0.2; }; };
masquerade = ( { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; } );
forward = ( { name = "web"; in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; } );
CONF

NATGWD_WRAP=("$PY" "$LAB_DIR/listen-exec.py" 127.0.0.1 "$PORT" metrics)
start_natgwd "$conf"
grep -q "serving GET /metrics on 1 socket passed by systemd" "$NATGWD_LOG" ||
        fail "natgwd did not take the passed socket: $(cat "$NATGWD_LOG")"

# scrape [PATH [CURL ARGS...]]: the body; the status line and headers go to $LAB_TMP/headers.
scrape() {
        local path=${1:-/metrics}
        shift || true
        nsexec "$GW" curl -sS --max-time 10 -D "$LAB_TMP/headers" "$@" "$URL$path"
}

# value TEXT NAME{LABELS}: the value of one sample ("" when absent).
value() {
        awk -v k="$2" '$1 == k { print $2 }' <<<"$1"
}

body=$(scrape)
assert_match "^HTTP/1\.1 200 OK" "$(head -1 "$LAB_TMP/headers")" "GET /metrics answers 200"
assert_match "Content-Type: text/plain; version=0\.0\.4" "$(cat "$LAB_TMP/headers")" "the content type is exposition 0.0.4"
out=$("$PY" "$LAB_DIR/check-exposition.py" <<<"$body") || fail "the scrape is not valid exposition: $out"
info "parser: $out"
# Prometheus' own linter too, where it is installed (Debian's prometheus package).
if command -v promtool >/dev/null; then
        out=$(promtool check metrics <<<"$body" 2>&1) || fail "promtool check metrics: $out"
        info "ok: promtool check metrics has nothing to say"
fi
assert_eq "1" "$(value "$body" 'natgw_build_info{version="'"$("$NATGWD" -V | cut -d' ' -f2)"'"}')" "build info"
assert_eq "1" "$(value "$body" 'natgw_conntrack_stats_up')" "the conntrack statistics are read"
max=$(nsexec "$GW" cat /proc/sys/net/netfilter/nf_conntrack_max)
assert_eq "$max" "$(value "$body" natgw_conntrack_entries_max)" "conntrack max is the kernel's nf_conntrack_max"
for f in natgw_conntrack_drop_total natgw_conntrack_early_drop_total natgw_conntrack_insert_failed_total; do
        assert_match "^[0-9]+$" "$(value "$body" $f)" "$f is there"
done
assert_eq "0" "$(value "$body" 'natgw_snat_port_level')" "port usage level ok at start"

# The same families through the control socket.
ctl=$(natgwctl metrics) || fail "natgwctl metrics failed"
assert_eq "$(grep '^# TYPE' <<<"$body")" "$(grep '^# TYPE' <<<"$ctl")" "natgwctl metrics prints the same families"

# What is not a scrape.
scrape /other >/dev/null
assert_match "^HTTP/1\.1 404" "$(head -1 "$LAB_TMP/headers")" "another path gets 404"
scrape /metrics -X POST >/dev/null
assert_match "^HTTP/1\.1 405" "$(head -1 "$LAB_TMP/headers")" "POST gets 405"
assert_match "Allow: GET, HEAD" "$(cat "$LAB_TMP/headers")" "405 says what is allowed"
out=$(scrape /metrics -I)
assert_match "^HTTP/1\.1 200" "$(head -1 "$LAB_TMP/headers")" "HEAD gets 200"
# A client that sends half a request and stalls costs only its own connection.
nsexec "$GW" "$PY" -c 'import socket,time; s=socket.create_connection(("127.0.0.1",'"$PORT"')); s.send(b"GET /met"); time.sleep(30)' &
LAB_PIDS+=($!)
sleep 0.3
body=$(scrape)
assert_match "^HTTP/1\.1 200" "$(head -1 "$LAB_TMP/headers")" "a stalled client does not block a scrape"

NATGW_COUNTERS=${NATGW_COUNTERS:-$SRCDIR/build/tests/lab/natgw-counters}
[[ -x $NATGW_COUNTERS ]] || lab_skip "no natgw-counters at $NATGW_COUNTERS (build it first)"

# udp_flows N FIRST: N UDP flows from 192.168.1.10 (each its own source port) to the WAN host.
udp_flows() {
        nsexec "$LAN" "$PY" - "$1" <<'PYEOF'
import socket, sys
socks = []
for i in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("192.168.1.10", 0))
    s.sendto(b"x", ("203.0.113.100", 5353))
    socks.append(s)
PYEOF
}

# wait_ports MIN: until the scrape (in $body) shows at least MIN UDP ports used on 203.0.113.1
# (5 s); sets used.
wait_ports() {
        local i

        for ((i = 0; i < 50; i++)); do
                body=$(scrape 2>&1)
                used=$(value "$body" 'natgw_snat_ports_used{address="203.0.113.1",protocol="udp"}')
                [[ -n $used ]] && ((used >= $1)) && return 0
                sleep 0.1
        done
        fail "ports used on 203.0.113.1 did not reach $1 (last: ${used:-none}): $(head -c 300 <<<"$body")"
}

udp_flows 300
wait_ports 300
info "after 300 flows: $used ports"
assert_eq "0" "$(value "$body" natgw_snat_port_level)" "300 of 64,512 ports (0.5%) is below warn (1%)"
assert_eq "64512" "$(value "$body" 'natgw_snat_ports_available{address="203.0.113.1",protocol="udp"}')" \
        "the range NAT picks from is 1024-65535"

# The second batch may reuse a port of the first (its sockets are closed): the same flow.
udp_flows 500
wait_ports 700
info "after 800 flows: $used ports"
for ((i = 0; i < 20; i++)); do
        [[ $(value "$body" natgw_snat_port_level) == 1 ]] && break
        sleep 0.1
        body=$(scrape)
done
assert_eq "1" "$(value "$body" natgw_snat_port_level)" "$used ports (> 1%) reach warn (1%)"
grep -q "SNAT port usage warn (was ok): 203.0.113.1/udp" "$NATGWD_LOG" || fail "no port usage event in the log"
status=$(natgwctl -j status)
assert_eq "warn" "$(jq -r .snat_ports.level <<<"$status")" "status shows the port usage level"
conns=$(value "$body" 'natgw_entry_connections_total{entry="lan",kind="masquerade"}')
((conns >= used)) || fail "entry lan counted $conns connections, expected at least $used"

# The counters read by name, as natgwd reads them from NATGW_COUNTERS_BY_NAME_MIN counters on
# (lib/nft-dump.c: the dump's time grows with the square of their number), are the dump's, on
# the table the traffic above counted; each name asked for 300 times in a row (more than one
# pipelined chunk of requests) gives it 300 times; a name the table has no counter of, or one
# longer than any counter's, is left out.
read_counters() { nsexec "$GW" "$NATGW_COUNTERS" "$@" || fail "natgw-counters $1 failed"; }
for ((i = 0; i < 3; i++)); do # the same dump before and after: nothing counted meanwhile
        dump=$(read_counters dump | sort)
        byname=$(read_counters get-all | sort)
        [[ $dump == "$(read_counters dump | sort)" ]] && break
        sleep 0.5
done
grep -q "^lan [1-9]" <<<"$dump" || fail "the dump has no count for lan: $(head -c 300 <<<"$dump")"
assert_eq "$dump" "$byname" "the counters read by name are the dump's"
rep=$(read_counters get-all --repeat 300)
assert_eq "$(($(wc -l <<<"$dump") * 300))" "$(wc -l <<<"$rep")" "each name asked for 300 times: 300 answers each"
assert_eq "$dump" "$(sort -u <<<"$rep")" "... the same counters"
long=$(printf 'x%.0s' {1..300})
assert_eq "lan" "$(read_counters get nosuch lan "$long" | cut -d' ' -f1)" \
        "a name without a counter, and one too long for any, are left out"

# Reloads by result.
reload_ok >/dev/null
cp "$conf" "$conf.good"
echo "garbage" >>"$conf"
natgwctl reload >/dev/null 2>&1 && fail "a broken config was applied"
body=$(scrape)
assert_eq "1" "$(value "$body" 'natgw_reloads_total{result="applied"}')" "one reload applied"
assert_eq "1" "$(value "$body" 'natgw_reloads_total{result="rejected"}')" "one reload rejected"
assert_eq "0" "$(value "$body" natgw_last_reload_success)" "the last reload failed"
out=$("$PY" "$LAB_DIR/check-exposition.py" <<<"$body") || fail "the scrape after the reloads is not valid: $out"

# After a reload the ports are counted again at once only when conntrack.ports changed (or stale
# conntrack entries were deleted): a reload of forwards leaves the count on its schedule, here
# every 60 s. status counts the counts (snat_ports.checks).
checks() { natgwctl -j status | jq .snat_ports.checks; }
# wait_checks N: until more than N counts were made (5 s); prints the number.
wait_checks() {
        local i n

        for ((i = 0; i < 50; i++)); do
                n=$(checks)
                ((n > $1)) && { echo "$n"; return 0; }
                sleep 0.1
        done
        fail "no SNAT port count after the reload (still $n)"
}
sed 's/interval = 0.2;/interval = 60;/' "$conf.good" >"$conf"
c0=$(checks)
reload_ok >/dev/null
wait_checks "$c0" >/dev/null
# The reload's count is made; one of the old 0.2 s schedule may have come just before it. Then
# the next is 60 s away.
sleep 0.5
c1=$(checks)
info "the ports are counted every 60 s from now ($c1 counts so far)"
sed -i 's/^forward = ( /forward = ( { name = "web2"; in_interface = "eth0"; proto = "tcp"; port = 8081; to = "192.168.1.66:80"; }, /' "$conf"
out=$(reload_ok)
assert_match "forwards 2 " "$out" "the reload added a forward"
sleep 1
assert_eq "$c1" "$(checks)" "a reload of forwards leaves the SNAT port count on its schedule (no dump of the table)"
sed -i 's/warn = 1;/warn = 2;/' "$conf"
reload_ok >/dev/null
c2=$(wait_checks "$c1")
info "ok: a reload that changes conntrack.ports.warn counts the ports at once ($c1 -> $c2 counts)"

stop_natgwd
lab_pass

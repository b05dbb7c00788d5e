#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Resource limits: natgwd with a config of 200,000 forwards, under a hostile control socket.
#   - natgwd -t checks the file, and a real natgwd in gw applies it, each within bounded
#     memory (peak RSS / VmHWM below 1 GiB, 3 GiB for a sanitizer build; printed) and time;
#   - the forwards work (the first and the last entry of the file), status and show cover all
#     200,000 entries (natgwd's and natgwctl's peaks while they do: about the reply's text),
#     a reload of the same file is applied;
#   - while it holds them: a 16 MiB request, 1,000 clients connecting at once, a client that
#     asks for the 30 MB `show` reply and never reads it: natgwd answers or drops each, stays
#     up, leaks no descriptor, and its memory stays below the bound;
#   - a file that expands to more than 4,000,000 map elements is refused with a clear error,
#     and the running state stays as it was.
# Measurements are printed as "# measure: ..." lines.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

command -v python3 >/dev/null || lab_skip "needs python3"
ABUSE=$LAB_DIR/ctl-abuse.py
N=${LIMITS_N:-200000}
MEM_BOUND_KIB=$((1024 * 1024))
# A sanitizer build (CI's second run) keeps shadow memory and a quarantine of freed blocks: its
# peak is about 2.5 times natgwd's own.
# (Not "ldd | grep -q": grep's early exit can kill ldd with SIGPIPE, and pipefail then says no.)
if [[ $(ldd "$NATGWD" 2>/dev/null) == *libasan* ]]; then
        MEM_BOUND_KIB=$((3 * MEM_BOUND_KIB))
        # The sanitizer run is about memory errors on these paths, not about scale (the plain run
        # has that): a tenth of the entries takes it from five minutes to one.
        N=${LIMITS_N:-20000}
        info "natgwd is built with AddressSanitizer: memory bound $((MEM_BOUND_KIB / 1024)) MiB, $N forwards"
fi
# The start and a reload of 200,000 entries take a few seconds; sanitizer builds many more.
NATGWD_START_TIMEOUT=300

measure() {
        echo "# measure: $*"
}

# natgwctl with room for a show or a reload of 200,000 entries on a slow or busy machine (lib.sh
# gives natgwctl 60 s).
natgwctl_slow() {
        timeout 900 ip netns exec "$GW" "$NATGWCTL" -S "$CTL_SOCK" -T 900 "$@"
}

# natgwd's peak resident memory so far, in KiB.
natgwd_hwm() {
        awk '$1 == "VmHWM:" { print $2 }' "/proc/$NATGWD_PID/status"
}

# From now on, natgwd's VmHWM is the peak of what follows (proc(5): clear_refs).
natgwd_hwm_reset() {
        echo 5 >"/proc/$NATGWD_PID/clear_refs"
}

assert_mem() {
        local kib=$1 what=$2

        [[ $kib =~ ^[0-9]+$ ]] || fail "no memory figure for $what: '$kib'"
        ((kib < MEM_BOUND_KIB)) || fail "$what: peak memory $((kib / 1024)) MiB, bound $((MEM_BOUND_KIB / 1024)) MiB"
        info "ok: $what: peak memory $((kib / 1024)) MiB (bound $((MEM_BOUND_KIB / 1024)) MiB)"
}

# now_ms: a monotonic clock in milliseconds.
now_ms() {
        local s

        s=$(cut -d' ' -f1 /proc/uptime)
        echo $((${s%.*} * 1000 + 10#${s#*.} * 10))
}

# ---------------------------------------------------------------- the file

# 200,000 TCP forwards on eth0 (reflection off: this measures the outside path's maps):
# ports 1-50000 on each of four of gw's addresses (N/4 each), all to the LAN
# server's port 80, so that any of them can be tried with real traffic.
conf=$(lab_config limits)
t0=$(now_ms)
python3 - "$conf" "$N" <<'EOF'
import sys

path, n = sys.argv[1], int(sys.argv[2])
dests = ["203.0.113.1", "203.0.113.10", "203.0.113.20", "203.0.113.21"]
per = n // 4
with open(path, "w") as f:
    f.write("version = 1;\nforward = (\n")
    for i in range(n):
        f.write('  { name = "f%d"; in_interface = "eth0"; proto = "tcp"; port = %d; destination = "%s"; '
                'to = "192.168.1.66:80"; reflection = false; }%s\n' % (i, 1 + i % per, dests[i // per], "," if i < n - 1 else ""))
    f.write(");\n")
EOF
measure "generated $N forwards ($(($(stat -c %s "$conf") / 1024 / 1024)) MiB) in $(($(now_ms) - t0)) ms"

# ---------------------------------------------------------------- natgwd -t

t0=$(now_ms)
report=$(python3 - "$NATGWD" -t -c "$conf" <<'EOF'
import resource, subprocess, sys

r = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=600)
sys.stdout.write(r.stdout + r.stderr)
print("rc=%d maxrss_kib=%d" % (r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
EOF
)
ms=$(($(now_ms) - t0))
echo "$report"
assert_match "valid: egress entries 0, forwards $N, map elements $N"$'\n'"rc=0 " "$report" "natgwd -t accepts $N forwards"
kib=$(sed -n 's/.*maxrss_kib=\([0-9]*\).*/\1/p' <<<"$report")
measure "natgwd -t: $ms ms, peak RSS $((kib / 1024)) MiB"
assert_mem "$kib" "natgwd -t"

# ---------------------------------------------------------------- start, status, show, reload

# The server outlives the whole test, which takes minutes under a sanitizer.
serve_in "$LAN" --tcp 80 --timeout 1800
t0=$(now_ms)
start_natgwd "$conf"
ms=$(($(now_ms) - t0))
[[ $(awk '$1 == "Name:" { print $2 }' "/proc/$NATGWD_PID/status") == natgwd ]] ||
        fail "pid $NATGWD_PID is not natgwd"
kib=$(natgwd_hwm)
measure "start to READY=1: $ms ms, VmHWM $((kib / 1024)) MiB; $(grep -o 'map elements.*' "$NATGWD_LOG" | head -1)"
assert_mem "$kib" "natgwd start"
start_kib=$kib

# What an apply freed (libconfig's tree, the batch) stays mapped for the next reload of a burst
# and goes back once natgwd has been quiet for 5 s (NATGWD_TRIM_DELAY_USEC): at most half of the
# apply's peak is kept. (How much is still mapped right after the apply is printed, not asserted:
# a slow machine may read it after the trim.) After the start, free() never trims by itself
# (natgwd_keep_memory()): the memory of a reload goes back only so. A sanitizer build has its
# own allocator, which keeps freed memory in quarantine: not asked there.
rss_kib() {
        awk '$1 == "VmRSS:" { print $2 }' "/proc/$NATGWD_PID/status"
}
assert_given_back() { # PEAK_KIB WHAT
        local busy i
        [[ $(ldd "$NATGWD" 2>/dev/null) != *libasan* ]] || return 0
        busy=$(rss_kib)
        for ((i = 0; i < 150; i++)); do
                (($(rss_kib) * 2 < $1)) && break
                sleep 0.1
        done
        measure "VmRSS right after $2 $((busy / 1024)) MiB, $(($(rss_kib) / 1024)) MiB after $((i / 10)) s quiet"
        (($(rss_kib) * 2 < $1)) ||
                fail "natgwd kept the memory of $2: VmRSS $(($(rss_kib) / 1024)) MiB after 15 s quiet, peak $(($1 / 1024)) MiB"
        info "ok: natgwd gave back more than half of its peak of $2 once quiet"
}
assert_given_back "$kib" "READY=1"

json=$(natgwctl -j status) || fail "natgwctl status failed"
assert_eq "1 $N $N" "$(jq -r '"\(.generation) \(.entries.forwards) \(.entries.map_elements)"' <<<"$json")" \
        "status: generation 1, $N forwards, $N map elements"
for target in "203.0.113.1 1" "203.0.113.21 $((N / 4))"; do
        read -r addr port <<<"$target"
        out=$(ask_ok "$WAN" tcp "$addr" "$port" --from 198.51.100.7)
        assert_match "^peer=198\.51\.100\.7:[0-9]+ local=192\.168\.1\.66:80 " "$out" "forward to $addr:$port works"
done

natgwd_hwm_reset
t0=$(now_ms)
natgwctl_slow -j show >"$LAB_TMP/show.json" || fail "natgwctl show failed"
ms=$(($(now_ms) - t0))
assert_eq "$N 1" "$(jq -r '"\(.entries | length) \(.entries[-1].connections)"' "$LAB_TMP/show.json")" \
        "show: $N entries, the last one counted its connection"
kib=$(natgwd_hwm)
measure "natgwctl show: $ms ms, reply $(($(stat -c %s "$LAB_TMP/show.json") / 1024 / 1024)) MiB, natgwd's VmHWM $((kib / 1024)) MiB"
assert_mem "$kib" "natgwd while it answers show"
# The reply is written an entry at a time (natgw_show_format()): its peak is the text's, below the
# start's. Built as one JSON tree it was about 9 times the text (630 MiB here). Not asked of a
# sanitizer build, whose allocator keeps freed memory in quarantine.
if [[ $(ldd "$NATGWD" 2>/dev/null) != *libasan* ]]; then
        ((kib <= start_kib)) ||
                fail "natgwd's peak while it answers show, $((kib / 1024)) MiB, is above the start's, $((start_kib / 1024)) MiB"
        info "ok: natgwd's peak while it answers show is below the start's"
fi

# natgwctl reads the reply an entry at a time (lib/ctl-json-stream.c): its own peak is about the
# reply's text. Read as one JSON tree it was about 9 times the text (135 MB at 50,000 entries).
ctl_kib=$(timeout 900 python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' \
        ip netns exec "$GW" "$NATGWCTL" -S "$CTL_SOCK" -T 900 show) || fail "natgwctl show (table) failed"
json_kib=$(($(stat -c %s "$LAB_TMP/show.json") / 1024))
measure "natgwctl show: natgwctl's own peak $((ctl_kib / 1024)) MiB for a reply of $((json_kib / 1024)) MiB (indented)"
if [[ $(ldd "$NATGWCTL" 2>/dev/null) != *libasan* ]]; then
        ((ctl_kib <= 2 * json_kib)) ||
                fail "natgwctl's peak while it prints show, $((ctl_kib / 1024)) MiB, is above twice the reply's $((json_kib / 1024)) MiB"
        info "ok: natgwctl's peak while it prints show is at most twice the reply"
fi

natgwd_hwm_reset
t0=$(now_ms)
out=$(natgwctl_slow reload 2>&1) || fail "natgwctl reload failed: $out"
ms=$(($(now_ms) - t0))
assert_match "generation 2, egress entries 0, forwards $N" "$out" "a reload of $N forwards is applied"
kib=$(natgwd_hwm)
measure "natgwctl reload: $ms ms, VmHWM $((kib / 1024)) MiB"
assert_mem "$kib" "natgwd after a reload"
assert_given_back "$kib" "the reload"

# ---------------------------------------------------------------- a hostile control socket

fds_before=$(find "/proc/$NATGWD_PID/fd" -mindepth 1 | wc -l)
for case in oversized flood1000 noread; do
        info "abuse: $case"
        t0=$(now_ms)
        timeout 120 python3 "$ABUSE" "$CTL_SOCK" "$case" || fail "control socket case '$case'"
        measure "abuse $case: $(($(now_ms) - t0)) ms"
        natgwd_alive
done
fds_after=$(find "/proc/$NATGWD_PID/fd" -mindepth 1 | wc -l)
assert_eq "$fds_before" "$fds_after" "natgwd holds as many descriptors after the abuse as before"
kib=$(natgwd_hwm)
assert_mem "$kib" "natgwd after the abuse"

# ---------------------------------------------------------------- too many elements

# 62 forwards of every port: 62 x 65,535 = 4,063,170 map elements, over the 4,000,000 limit
# (without reflection: with it, each forward's elements count twice).
python3 - "$conf" <<'EOF'
import sys

with open(sys.argv[1], "w") as f:
    f.write("version = 1;\nforward = (\n")
    f.write(",\n".join('  { name = "all%d"; proto = "tcp"; port = "1-65535"; destination = "198.51.100.%d"; '
                       'to = "192.168.1.66"; reflection = false; }' % (i, i + 1) for i in range(62)))
    f.write("\n);\n")
EOF
rc=0
out=$(natgwctl_slow reload 2>&1) || rc=$?
assert_eq 1 "$rc" "a file of more than 4,000,000 map elements is refused"
assert_match ":64: entry \"all61\": the forwards up to this entry expand to more than 4000000 map elements" "$out" \
        "the error names the entry where the limit is passed"
assert_eq "2 $N" "$(natgwctl -j status | jq -r '"\(.generation) \(.entries.forwards)"')" \
        "the running config is still generation 2 with $N forwards"
out=$(ask_ok "$WAN" tcp 203.0.113.20 4242 --from 198.51.100.8)
assert_match "local=192\.168\.1\.66:80 " "$out" "the forwards still work after the refusal"
kib=$(natgwd_hwm)
measure "VmHWM since the reload $((kib / 1024)) MiB, VmRSS at the end $(($(awk '$1 == "VmRSS:" { print $2 }' "/proc/$NATGWD_PID/status") / 1024)) MiB"
assert_mem "$kib" "natgwd at the end"
stop_natgwd
info "PASS"

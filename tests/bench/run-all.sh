#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The benchmark suite in one command (issue 5; docs/PERFORMANCE.md shows its output):
#
#   sudo tests/bench/run-all.sh [--quick] [BUILD_DIR] [--out DIR]
#
# Runs every benchmark under tests/bench/, each in network namespaces of its own (they create
# and remove them; nothing outside them is touched): apply speed, datapath scaling, egress
# allow lists, reload under load, footprint, conntrack watch cost, the HA pair's sync cost. Each prints its machine info and its tables;
# they are kept in DIR (default BUILD_DIR/bench-results), one file per benchmark, next to
# machine.txt (CPU, kernel, versions, load before and after).
#
# --quick: small sizes and few runs (well under 2 minutes), what CI runs so that the suite
# cannot rot. No timing is ever asserted: a benchmark fails only when something does not work
# (natgwd not ready, a reload rejected, a connection refused or reset, a tool erroring).
# Exit status: 0 all ran, 1 one or more failed, 77 none could run (a failure under CI=true).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
quick=()
build=$src/build
out=

while (($#)); do
        case $1 in
        --quick) quick=(--quick) ;;
        --out)
                [[ $# -ge 2 ]] || { echo "usage: $0 [--quick] [BUILD_DIR] [--out DIR]" >&2; exit 2; }
                out=$2
                shift
                ;;
        -h | --help)
                sed -n '3,17s/^# \{0,1\}//p' "$0"
                exit 0
                ;;
        -*) echo "usage: $0 [--quick] [BUILD_DIR] [--out DIR]" >&2; exit 2 ;;
        *) build=$1 ;;
        esac
        shift
done
build=$(cd "$build" && pwd)
out=${out:-$build/bench-results}
mkdir -p "$out"

machine() {
        echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1) ($(nproc) cores)"
        echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
        echo "kernel: $(uname -r)"
        echo "natgwd: $("$build/daemon/natgwd" -V 2>&1 | head -n 1)"
        echo "nft: $(nft --version 2>&1 | head -n 1)"
        echo "iptables: $(iptables-nft --version 2>&1 | head -n 1); $(iptables-legacy --version 2>&1 | head -n 1)"
        echo "conntrack: $(conntrack --version 2>&1 | head -n 1)"
        for lib in libnftnl libmnl libnetfilter_conntrack libconfig libsystemd; do
                echo "$lib: $(pkg-config --modversion "$lib" 2>/dev/null || echo n/a)"
        done
        echo "python: $(python3 --version 2>&1)"
        echo "compiler: $(sed -n 's/^C compiler for the host machine: //p' "$build/meson-logs/meson-log.txt" 2>/dev/null | head -n 1)"
        echo "buildtype: $(meson introspect --buildoptions "$build" 2>/dev/null |
                python3 -c 'import json, sys; print({o["name"]: o["value"] for o in json.load(sys.stdin)}.get("buildtype", "?"))' 2>/dev/null || echo '?')"
}

load_now() {
        echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "other processes using >= 5 % of a CPU (over 1 s): $(PYTHONDONTWRITEBYTECODE=1 python3 -c '
import sys
sys.path.insert(0, sys.argv[1])
import benchlib
print(", ".join(benchlib.busy_processes(limit=5, window=1.0)) or "none")' "$here")"
}

{
        machine
        echo "mode: ${quick[*]:-full}"
        echo "--- before"
        load_now
} >"$out/machine.txt"
cat "$out/machine.txt"

benches=(bench-apply bench-datapath bench-egress bench-hosts bench-reload bench-footprint bench-ct bench-dropin bench-metrics
        bench-ha-sync)
failed=()
skipped=0
start=$SECONDS
for b in "${benches[@]}"; do
        echo
        echo "=== $b ${quick[*]}"
        t=$SECONDS
        rc=0
        # Each benchmark is bounded by its own steps' timeouts; this is the outer bound.
        # A benchmark is a python script, or a shell script (bench-ha-sync.sh: the lab's shell helpers).
        run=(python3 "$here/$b.py")
        [[ -e $here/$b.sh ]] && run=("$here/$b.sh")
        timeout --signal=TERM --kill-after=30 3600 \
                "${run[@]}" "$build" "${quick[@]}" 2>&1 | tee "$out/$b.md" || rc=${PIPESTATUS[0]}
        echo "=== $b: exit $rc, $((SECONDS - t)) s"
        case $rc in
        0) ;;
        77) skipped=$((skipped + 1)) ;;
        *) failed+=("$b") ;;
        esac
done

{
        echo "--- after ($((SECONDS - start)) s)"
        load_now
} >>"$out/machine.txt"
echo
echo "results in $out: machine.txt $(printf '%s.md ' "${benches[@]}")"
if ((${#failed[@]})); then
        echo "FAILED: ${failed[*]}" >&2
        exit 1
fi
if ((skipped == ${#benches[@]})); then
        exit 77
fi
exit 0

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build the libFuzzer targets (clang, ASan+UBSan, -Werror) and run each for SECONDS, starting
# from the seed corpus in tests/fuzz/corpus/TARGET; new inputs go to BUILDDIR/corpus/TARGET.
# A crash, leak or timeout fails the run and leaves the input in BUILDDIR/artifacts/.
# Usage: scripts/fuzz.sh [BUILDDIR] [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
seconds=${2:-60}
shift 2 2>/dev/null || shift $#
targets=("$@")
((${#targets[@]})) || targets=(fuzz-conf fuzz-ctl fuzz-ctnetlink fuzz-ct-stale fuzz-import fuzz-nft-dump fuzz-nft-monitor fuzz-nl-ack)

scripts/deps.sh
[ -d "$build" ] || CC=clang meson setup "$build" -Dfuzzing=true -Db_sanitize=address,undefined \
        -Db_lundef=false -Dwerror=true >/dev/null
meson compile -C "$build" "${targets[@]/#/tests/fuzz/}"
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp
mkdir -p "$build/artifacts"
for t in "${targets[@]}"; do
        mkdir -p "$build/corpus/$t"
        echo "--- $t: $seconds s"
        rc=0
        "$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
                -artifact_prefix="$build/artifacts/$t-" "$build/corpus/$t" "tests/fuzz/corpus/$t" \
                >"$build/$t.log" 2>&1 || rc=$?
        grep -E '^stat::(number_of_executed_units|new_units_added)' "$build/$t.log" || true
        if ((rc != 0)); then
                tail -n 40 "$build/$t.log" >&2
                echo "fuzz: $t failed (exit $rc); the input is in $build/artifacts/" >&2
                exit 1
        fi
done

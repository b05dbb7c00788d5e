#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build the libFuzzer targets (clang, ASan+UBSan, -Werror) and run each for SECONDS, starting
# from the seed corpus in tests/fuzz/corpus/TARGET; new inputs go to BUILDDIR/corpus/TARGET.
# A crash, leak or timeout fails the run and leaves the input in BUILDDIR/artifacts/. Targets run
# side by side, one per processor (FUZZ_JOBS=N to change it).
# Usage: scripts/fuzz.sh [BUILDDIR] [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
seconds=${2:-60}
shift 2 2>/dev/null || shift $#
targets=("$@")
((${#targets[@]})) || targets=(fuzz-conf fuzz-ctl fuzz-ctnetlink fuzz-ct-stale fuzz-import fuzz-json-stream fuzz-nft-dump fuzz-nft-monitor fuzz-nl-ack)

scripts/deps.sh
[ -d "$build" ] || CC=clang meson setup "$build" -Dfuzzing=true -Db_sanitize=address,undefined \
        -Db_lundef=false -Dwerror=true >/dev/null
meson compile -C "$build" "${targets[@]/#/tests/fuzz/}"
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp
mkdir -p "$build/artifacts"
# FUZZ_BUILD_ONLY=1: compile the targets and stop (CI builds them early, in the background).
[ "${FUZZ_BUILD_ONLY:-0}" = 1 ] && exit 0

# One target: its log in BUILDDIR/TARGET.log, its crash input in BUILDDIR/artifacts/.
fuzz_one() {
        local t=$1 rc=0

        mkdir -p "$build/corpus/$t"
        "$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
                -artifact_prefix="$build/artifacts/$t-" "$build/corpus/$t" "tests/fuzz/corpus/$t" \
                >"$build/$t.log" 2>&1 || rc=$?
        echo "--- $t: $seconds s"
        grep -E '^stat::(number_of_executed_units|new_units_added)' "$build/$t.log" || true
        if ((rc != 0)); then
                tail -n 40 "$build/$t.log" >&2
                echo "fuzz: $t failed (exit $rc); the input is in $build/artifacts/" >&2
        fi
        return "$rc"
}

# As many targets at once as there are processors (FUZZ_JOBS overrides): each is one process.
jobs=${FUZZ_JOBS:-$(nproc)}
failed=0
pids=()
for t in "${targets[@]}"; do
        fuzz_one "$t" &
        pids+=($!)
        if ((${#pids[@]} >= jobs)); then
                wait "${pids[0]}" || failed=1
                pids=("${pids[@]:1}")
        fi
done
for p in "${pids[@]}"; do
        wait "$p" || failed=1
done
exit "$failed"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Static analysis of lib/ and daemon/: the layers of the includes (scripts/check-layers.py), then,
# from BUILDDIR/compile_commands.json (set up if missing):
#   clang-tidy with the checks in .clang-tidy (each one left out says why there);
#   cppcheck with tests/cppcheck.cfg (what it must know of jansson) and tests/cppcheck.supp.
# Prints every finding and exits 1 if there is any. Usage: scripts/lint.sh [BUILDDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

echo "--- layers: scripts/check-layers.py"
layers_rc=0
scripts/check-layers.py || layers_rc=1

for tool in clang-tidy cppcheck; do
        command -v "$tool" >/dev/null || { echo "lint: $tool is missing (scripts/deps.sh installs it)" >&2; exit 1; }
done
[ -f "$build/compile_commands.json" ] || meson setup "$build" >/dev/null

files=(lib/*.c daemon/*.c)
jobs=$(nproc 2>/dev/null || echo 2)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=$layers_rc

echo "--- clang-tidy $(clang-tidy --version | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -1): ${#files[@]} files"
# One file per process: clang-tidy takes a few seconds for each.
if ! printf '%s\n' "${files[@]}" | xargs -P "$jobs" -n 1 clang-tidy -p "$build" --quiet >"$out" 2>&1; then
        rc=1
fi
# Without findings clang-tidy still says how many warnings of the system headers it hid.
grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' "$out" || true

echo "--- cppcheck $(cppcheck --version | sed 's/^Cppcheck //')"
cppcheck --project="$build/compile_commands.json" --file-filter='lib/*' --file-filter='daemon/*' \
        --enable=warning,style,performance,portability --inline-suppr \
        --library=tests/cppcheck.cfg --suppressions-list=tests/cppcheck.supp \
        --error-exitcode=1 --quiet -j "$jobs" --template='{file}:{line}: {severity}: {id}: {message}' || rc=1

if ((rc != 0)); then
        echo "lint: findings above (fix them, or suppress one with its reason: .clang-tidy, tests/cppcheck.supp;" \
             "layers: docs/ARCHITECTURE.md)" >&2
        exit 1
fi
echo "lint: the layers hold; clang-tidy and cppcheck found nothing"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build natgwd with warnings as errors and run every test: unit, check, lab (network
# namespaces, real kernel, real traffic: needs root). Usage, as root: scripts/test.sh [BUILDDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

scripts/deps.sh
if [ -d "$build" ]; then
        meson configure "$build" -Dwerror=true >/dev/null
else
        meson setup "$build" -Dwerror=true >/dev/null
fi
meson compile -C "$build"
meson test -C "$build" --print-errorlogs --num-processes 1

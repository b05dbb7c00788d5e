#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build the Debian package from a clean export of the committed tree (git archive HEAD), then
# run lintian on it: any error fails. Usage (as root, for the packages it installs):
#   scripts/deb.sh OUTDIR
# OUTDIR receives natgwd_VERSION_ARCH.deb (and the -dbgsym, .changes, .buildinfo), build.log
# and lintian.txt. lintian (Debian 12's, 2.116) reports neither errors nor warnings today; a
# warning that must stay goes into debian/natgwd.lintian-overrides with a comment saying why.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/deb.sh OUTDIR}

scripts/deps.sh
missing=()
for p in debhelper lintian dpkg-dev; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

rm -rf "$out"
mkdir -p "$out/src"
out=$(cd "$out" && pwd)
git archive --format=tar --prefix=natgwd/ HEAD | tar -x -C "$out/src"
(cd "$out/src/natgwd" && dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1 ||
        { tail -n 40 "$out/build.log" >&2; echo "deb.sh: dpkg-buildpackage failed (log: $out/build.log)" >&2; exit 1; }
mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out"/
rm -rf "$out/src"
changes=("$out"/natgwd_*.changes)
lintian --info "${changes[0]}" >"$out/lintian.txt" 2>&1 || true
cat "$out/lintian.txt"
if grep -q '^E: ' "$out/lintian.txt"; then
        echo "deb.sh: lintian found errors" >&2
        exit 1
fi
debs=("$out"/natgwd_*.deb)
echo "deb.sh: ${debs[*]} built; lintian: no errors, $(grep -c '^W: ' "$out/lintian.txt" || true) warnings"

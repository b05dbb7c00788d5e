#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install what natgwd needs to build, test and run its lab (Debian 12 packages). Needs root.
set -euo pipefail

packages=(
        build-essential pkg-config meson ninja-build clang clang-tidy cppcheck
        libnftnl-dev libmnl-dev libnetfilter-conntrack-dev libconfig-dev libsystemd-dev
        libcmocka-dev libjansson-dev
        nftables conntrack iptables iproute2 jq socat python3 valgrind scdoc hyperfine procps systemd
        systemd-container strace
        bash-completion
        keepalived conntrackd
        python3-prometheus-client
        curl python3-pyftpdlib
)

missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
        exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
        echo "deps.sh: missing packages: ${missing[*]}; run as root (or: sudo $0)" >&2
        exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

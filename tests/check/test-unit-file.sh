#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The generated natgwd.service: `systemd-analyze verify` has nothing to say about it, and
# `systemd-analyze security` rates its exposure at or below what the unit achieves today.
# Reads files only; needs no privileges, installs and starts nothing.
set -euo pipefail
: "${UNIT:?}" "${SBINDIR:?}" "${NATGWD:?}" "${SRCDIR:?}"
NATGWCTL=${NATGWCTL:-}
# systemd 252 (Debian 12) rates the unit 1.4. The rating is rounded and some settings weigh
# little, so the checks that stay open are listed as well: each one is open for a reason given
# in systemd/natgwd.service.in, and any other open check fails the test.
THRESHOLD=${THRESHOLD:-1.4}
ACCEPTED_OPEN=(
        "RootDirectory=/RootImage="            # the host's file system, mostly read-only
        "User=/DynamicUser="                   # root: the sysctls, the control socket
        "RestrictAddressFamilies=~AF_NETLINK"  # nftables, ctnetlink
        "RestrictAddressFamilies=~AF_UNIX"     # control socket, sd_notify, journal
        "CapabilityBoundingSet=~CAP_NET_ADMIN" # the one privilege natgwd needs
        "ProcSubset="                          # would hide /proc/sys
        "PrivateNetwork="                      # natgwd configures the host's network
        "PrivateUsers="                        # would make CAP_NET_ADMIN useless
        "DeviceAllow="                         # char-rtc:r, added by ProtectClock=
)

fail() { echo "FAIL: $*" >&2; exit 1; }

for tool in systemd-analyze jq; do
        if ! command -v $tool >/dev/null 2>&1; then
                [[ ${CI:-} == true ]] && fail "$tool is missing (scripts/deps.sh installs it)"
                echo "SKIP: no $tool (scripts/deps.sh installs it)" >&2
                exit 77
        fi
done
[[ -f $UNIT ]] || fail "no unit at $UNIT"
grep -q "^ExecStart=$SBINDIR/natgwd " "$UNIT" || fail "ExecStart does not run $SBINDIR/natgwd"
grep -q "^ExecReload=$SBINDIR/natgwctl .*reload$" "$UNIT" || fail "ExecReload does not run $SBINDIR/natgwctl reload"

# The sysctls opened for writing are exactly those natgwd writes: every "net/..." path in lib/
# (the conntrack timeouts are written CT_SYSCTL "NAME": net/netfilter/nf_conntrack_NAME), but
# those it only reads; each may be missing ("-") but ip_forward, which every kernel has.
# status reads the count (the kernel's file is 0444); natgwctl diagnose reads rp_filter.
READ_ONLY=(net/netfilter/nf_conntrack_count net/ipv4/conf/all/rp_filter)
want=$({
        grep -ohE '"net/[a-z0-9_/]*[a-z0-9]"' "$SRCDIR"/lib/*.[ch] | tr -d '"'
        grep -ohE 'CT_SYSCTL "[a-z0-9_]+"' "$SRCDIR"/lib/*.[ch] | sed -E 's|CT_SYSCTL "(.*)"|net/netfilter/nf_conntrack_\1|'
} | grep -vxF -f <(printf '%s\n' "${READ_ONLY[@]}") | sort -u)
[[ $(wc -l <<<"$want") -ge 19 ]] || fail "found only $(wc -l <<<"$want") sysctls in $SRCDIR/lib: $want"
rw=$(sed -n 's/^ReadWritePaths=//p' "$UNIT" | tr ' ' '\n' | grep -v '^$' | sort -u)
got=$(sed -E 's|^-?/proc/sys/||' <<<"$rw" | sort -u)
[[ $got == "$want" ]] || fail "ReadWritePaths= differ from the sysctls natgwd writes: $(diff <(echo "$want") <(echo "$got") | grep '^[<>]' | tr '\n' ' ')"
grep -vqE '^-?/proc/sys/' <<<"$rw" && fail "ReadWritePaths= outside /proc/sys: $(grep -vE '^-?/proc/sys/' <<<"$rw" | tr '\n' ' ')"
grep -qE '^/proc/sys/' <<<"$(grep -vx /proc/sys/net/ipv4/ip_forward <<<"$rw")" &&
        fail "a sysctl that may be missing lacks the \"-\": $(grep -E '^/proc/sys/' <<<"$rw" | tr '\n' ' ')"
echo "# ReadWritePaths=: the $(wc -l <<<"$want") sysctls natgwd writes, nothing else"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# verify wants the binaries to exist: the same unit, pointing at the ones in the build tree.
# Without a natgwctl (a run by hand with NATGWCTL unset), ExecReload points at natgwd instead:
# verify only checks that the program is there and executable.
if [[ -z $NATGWCTL || ! -x $NATGWCTL ]]; then
        echo "# no natgwctl at '$NATGWCTL': ExecReload checked with natgwd in its place"
        NATGWCTL=$NATGWD
fi
sed -e "s|^ExecStart=$SBINDIR/natgwd |ExecStart=$NATGWD |" \
    -e "s|^ExecReload=$SBINDIR/natgwctl |ExecReload=$NATGWCTL |" "$UNIT" >"$tmp/natgwd.service"

# --man=no: the man pages are not installed where the tests run.
set +e
out=$(systemd-analyze verify --man=no "$tmp/natgwd.service" 2>&1)
rc=$?
set -e
[[ $rc -eq 0 && -z $out ]] || fail "systemd-analyze verify (exit $rc): $out"
echo "# systemd-analyze verify: no warnings"

set +e
out=$(systemd-analyze security --offline=true --no-pager "$tmp/natgwd.service" 2>&1)
rc=$?
set -e
[[ $rc -eq 0 ]] || fail "systemd-analyze security (exit $rc): $out"
line=$(grep "Overall exposure level for natgwd.service:" <<<"$out") ||
        fail "no overall exposure level in: $out"
level=$(sed -E 's/.*natgwd\.service: ([0-9]+\.[0-9]+) .*/\1/' <<<"$line")
[[ $level =~ ^[0-9]+\.[0-9]+$ ]] || fail "cannot read the exposure level from: $line"
echo "# $line"
if awk -v l="$level" -v t="$THRESHOLD" 'BEGIN { exit !(l > t) }'; then
        grep "✗" <<<"$out" >&2 || true
        fail "exposure level $level is above $THRESHOLD"
fi
open=$(systemd-analyze security --offline=true --json=short "$tmp/natgwd.service" |
        jq -r '.[] | select(.set == false and .exposure != null) | .name') ||
        fail "systemd-analyze security --json=short failed"
unexpected=$(grep -vxF -f <(printf '%s\n' "${ACCEPTED_OPEN[@]}") <<<"$open" || true)
[[ -z $unexpected ]] || fail "hardening checks open that natgwd.service closes: $(tr '\n' ' ' <<<"$unexpected")"
echo "# open on purpose: $(tr '\n' ' ' <<<"$open")"
echo "natgwd.service: verified, exposure $level (threshold $THRESHOLD)"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The Debian package (scripts/deb.sh builds it) installed, upgraded and purged in a throwaway
# container of this machine's systemd (tests/lab/nspawn.sh; dpkg's writes go to overlays on
# /etc, /usr and /var, thrown away with the container):
#   1. install: the programs, the unit enabled but not started, /etc/natgw/natgwd.conf a
#      conffile that does nothing once started (no entries, forwarding left as it was);
#   2. upgrade to a version bump (the same package repacked as VERSION+1: the maintainer
#      scripts are what is being tested) while natgwd runs: natgwd is restarted, the edited
#      config kept, and after no transaction of the kernel's (nft monitor) is the table missing;
#   3. purge with on_exit = "keep": natgwd stopped, its files, config and /run/natgwd gone,
#      the table left in the kernel; with on_exit = "remove": the table gone too.
# Usage: DEB_DIR=DIR tests/lab/lab-nspawn-deb.sh (DIR holds natgwd_*.deb; .ci/run passes it).

source "${LAB_DIR:-$(dirname "$0")}/nspawn.sh"

[[ -n ${DEB_DIR:-} ]] || lab_skip "DEB_DIR is not set (scripts/deb.sh DIR builds the package)"
deb=$(ls "$DEB_DIR"/natgwd_*.deb 2>/dev/null | head -n 1)
[[ -f $deb ]] || fail "no natgwd_*.deb in $DEB_DIR"
for tool in dpkg-deb jq; do
        command -v "$tool" >/dev/null 2>&1 || lab_skip "needs $tool"
done

# The version bump: the package unpacked, its version raised, packed again.
version=$(dpkg-deb -f "$deb" Version)
dpkg-deb -R "$deb" "$NSPAWN_TMP/bump"
sed -i "s/^Version: .*/Version: $version+1/" "$NSPAWN_TMP/bump/DEBIAN/control"
cp "$deb" "$NSPAWN_TMP/share/natgwd.deb"
dpkg-deb -b "$NSPAWN_TMP/bump" "$NSPAWN_TMP/share/natgwd-bump.deb" >/dev/null

# dpkg needs the host's /etc (users, groups, its own config) and /var/lib/dpkg: /etc, /usr and
# /var are overlays, the host's below, the test's temporary directory above. With the host's
# /etc, this is no first boot and the host's enabled services would start: the container
# boots to basic.target only (natgwd needs nothing beyond it).
mkdir -p "$NSPAWN_TMP/etc" "$NSPAWN_TMP/usr" "$NSPAWN_TMP/var"
NSPAWN_PRESET=no nspawn_boot --overlay=/etc:"$NSPAWN_TMP/etc":/etc --overlay=/usr:"$NSPAWN_TMP/usr":/usr \
        --overlay=/var:"$NSPAWN_TMP/var":/var systemd.unit=basic.target
dpkg_in() {
        inside timeout 120 env DEBIAN_FRONTEND=noninteractive dpkg --force-confdef --force-confold "$@" >"$NSPAWN_TMP/dpkg.log" 2>&1 ||
                fail "dpkg $* failed: $(tail -n 20 "$NSPAWN_TMP/dpkg.log")"
}
table() {
        inside nft list table inet natgw
}
CONF=/etc/natgw/natgwd.conf

# A container image's policy-rc.d (Docker's says 101: start nothing) would veto every
# start, stop and restart of maintainer scripts; a Debian machine has none. Gone from the
# container's /usr overlay only.
inside rm -f /usr/sbin/policy-rc.d

# ---------------------------------------------------------------- 1. install
inside sysctl -q -w net.ipv4.ip_forward=0
dpkg_in -i /natgw-share/natgwd.deb
assert_eq "install ok installed $version" "$(inside dpkg-query -W -f '${Status} ${Version}' natgwd)" "natgwd $version installed"
inside test -x /usr/sbin/natgwd -a -x /usr/sbin/natgwctl || fail "natgwd or natgwctl missing"
assert_eq enabled "$(inside systemctl is-enabled natgwd)" "the unit is enabled"
assert_eq inactive "$(inside systemctl is-active natgwd || true)" "... and not started"
assert_match "$CONF" "$(inside dpkg-query -W -f '${Conffiles}' natgwd)" "$CONF is a conffile"
inside man -w natgwd.conf >/dev/null 2>&1 || inside test -f /usr/share/man/man5/natgwd.conf.5.gz || fail "no natgwd.conf(5)"
for f in home-router.conf vpc-nat.conf ftp-server.conf natgwd.conf; do
        inside natgwd -t -c "/usr/share/doc/natgwd/examples/$f" >/dev/null 2>&1 || fail "example $f not installed or invalid"
done
info "ok: the examples in /usr/share/doc/natgwd/examples, each valid"
inside test -f /usr/share/bash-completion/completions/natgwctl || fail "no bash completion"

# The default config, started: nothing happens.
inside timeout 30 systemctl start natgwd || fail "natgwd does not start with the default config"
st=$(inside natgwctl -j status)
assert_eq "0 0" "$(jq -r '"\(.entries.egress) \(.entries.forwards)"' <<<"$st")" \
        "the default config has no entries"
assert_eq 0 "$(inside sysctl -n net.ipv4.ip_forward)" "the default config leaves forwarding off"
assert_eq "" "$(inside nft -j list table inet natgw | jq -r '.nftables[] | select(.rule) | .rule.expr[] | keys[]' | grep -E 'snat|dnat|masquerade' || true)" \
        "the default config translates nothing"

# ---------------------------------------------------------------- 2. upgrade while running
put $CONF <<'EOF2'
version = 1;
masquerade = ( { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; } );
EOF2
inside timeout 30 systemctl reload natgwd
assert_eq 1 "$(inside natgwctl -j status | jq -r .entries.egress)" "the edited config applied"
edited=$(inside cat $CONF)
pid=$(inside systemctl show -p MainPID --value natgwd)
inside_sh 'timeout 60 nft monitor >/natgw-share/monitor 2>&1 & m=$!; sleep 0.5
        DEBIAN_FRONTEND=noninteractive timeout 120 dpkg --force-confdef --force-confold -i /natgw-share/natgwd-bump.deb >/natgw-share/dpkg-bump.log 2>&1
        sleep 0.5; kill $m; wait $m || true' || fail "the upgrade failed: $(tail -n 20 "$NSPAWN_TMP/share/dpkg-bump.log")"
assert_eq "install ok installed $version+1" "$(inside dpkg-query -W -f '${Status} ${Version}' natgwd)" "upgraded to $version+1"
new=$(inside systemctl show -p MainPID --value natgwd)
[[ $new != 0 && $new != "$pid" ]] || fail "natgwd was not restarted by the upgrade (MainPID $pid -> $new)"
assert_eq active "$(inside systemctl is-active natgwd)" "natgwd restarted by the upgrade, active"
assert_eq "$edited" "$(inside cat $CONF)" "the edited config is kept"
gaps=$(awk '/^add table inet natgw$/ { up = 1 } /^delete table inet natgw$/ { up = 0 }
        /^# new generation/ { n++; if (!up) gap++ } END { print n + 0, gap + 0 }' up=1 "$NSPAWN_TMP/share/monitor")
[[ ${gaps% *} -ge 1 ]] || fail "nft monitor saw no transaction during the upgrade"
assert_eq 0 "${gaps#* }" "after none of the ${gaps% *} transaction(s) during the upgrade was the table missing"
assert_match "masquerade" "$(table)" "the table is the edited config's"

# ---------------------------------------------------------------- 3. purge
dpkg_in --purge natgwd
assert_eq "" "$(inside dpkg-query -W -f '${Status}' natgwd 2>/dev/null || true)" "purged"
assert_eq inactive "$(inside systemctl is-active natgwd || true)" "natgwd stopped"
for f in /usr/sbin/natgwd /usr/sbin/natgwctl $CONF /etc/natgw/natgwd.conf.example /run/natgwd /lib/systemd/system/natgwd.service; do
        inside test ! -e "$f" || fail "$f is still there after purge"
done
info "ok: programs, unit, config and /run/natgwd gone"
table >/dev/null 2>&1 || fail "on_exit = \"keep\": the purge took the table away"
info "ok: on_exit = \"keep\": the table stays in the kernel after purge"

inside nft delete table inet natgw
dpkg_in -i /natgw-share/natgwd.deb
put $CONF <<'EOF2'
version = 1;
on_exit = "remove";
masquerade = ( { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; } );
EOF2
inside timeout 30 systemctl start natgwd
table >/dev/null || fail "no table after the start"
dpkg_in --purge natgwd
! table >/dev/null 2>&1 || fail "on_exit = \"remove\": the table is still there after purge"
info "ok: on_exit = \"remove\": purge removes the table"
info "PASS"

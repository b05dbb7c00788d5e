#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Conntrack helpers: a real FTP transfer (curl against pyftpdlib) through a forward with
# helper = "ftp" that forwards port 21 only, passive and active; and out of an egress entry
# with helpers = [ "ftp" ] (active: the server connects back). The helper finds the data
# connection's address and port in the control connection, its NAT half rewrites them, and
# the data connection is translated as the control one was. After a reload without the
# helpers each of these transfers fails (the server 192.168.1.66 is not masqueraded: only the
# helper translates its active data connection).

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

PY=/usr/bin/python3
command -v curl >/dev/null 2>&1 || lab_skip "needs curl"
"$PY" -c "import pyftpdlib" 2>/dev/null || lab_skip "needs python3-pyftpdlib"

conf=$(lab_config helper)
write_conf() {
        cat >"$conf" <<EOF2
version = 1;
masquerade = ( { name = "lan"; source = "192.168.1.10/32"; out_interface = "eth0"; $2 } );
forward = (
  { name = "ftp"; in_interface = "eth0"; proto = "tcp"; port = 21; to = "192.168.1.66"; $1 } ${3:-}
);
EOF2
}
write_conf 'helper = "ftp";' 'helpers = [ "ftp" ];'

# One file to fetch, on each server (LAN: behind the forward; WAN: for the LAN client).
mkdir -p "$LAB_TMP/ftp"
head -c 65536 /dev/urandom >"$LAB_TMP/ftp/file"
want=$(sha256sum <"$LAB_TMP/ftp/file")
ftpd() {
        local ns=$1 addr=$2

        ip netns exec "$ns" timeout 60 "$PY" -m pyftpdlib -i "$addr" -p 21 -d "$LAB_TMP/ftp" -r 50000-50010 \
                >"$LAB_TMP/ftpd-$ns.log" 2>&1 </dev/null &
        LAB_PIDS+=("$!")
}
ftpd "$LAN" 192.168.1.66
ftpd "$WAN" 203.0.113.100
for ((i = 0; i < 50; i++)); do
        [[ $(nsexec "$LAN" ss -ltn) == *"192.168.1.66:21 "* && $(nsexec "$WAN" ss -ltn) == *"203.0.113.100:21 "* ]] && break
        sleep 0.1
done

# natgwd runs with the fault module: a helper the kernel lacks is simulated below.
fault=$LAB_TMP/fault
NATGWD_ENV=("LD_PRELOAD=$NATGW_NFT_FAULT" "NATGW_FAULT_FILE=$fault"
            "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
start_natgwd "$conf"

# fetch NS WHAT URL [CURL ARGS]: the file arrives whole.
fetch_ok() {
        local ns=$1 what=$2 url=$3 got
        shift 3

        got=$(ip netns exec "$ns" curl -s --max-time 5 "$@" "$url" | sha256sum) || true
        assert_eq "$want" "$got" "$what: the file arrives"
}
fetch_fails() {
        local ns=$1 what=$2 url=$3 rc=0
        shift 3

        ip netns exec "$ns" curl -s --max-time 2 "$@" "$url" >/dev/null || rc=$?
        ((rc != 0)) || fail "$what: the transfer worked without the helper"
        info "ok: $what: fails (curl exit $rc)"
}

fetch_ok "$WAN" "forward, passive" ftp://203.0.113.1/file
fetch_ok "$WAN" "forward, active" ftp://203.0.113.1/file -P 203.0.113.100
fetch_ok "$LAN" "egress, active" ftp://203.0.113.100/file -P 192.168.1.10 --interface 192.168.1.10
assert_match '"ftp"' "$(nsexec "$GW" nft list ct helpers table inet natgw)" "the table has ct helper ftp"
assert_eq "ftp" "$(natgwctl -j show | jq -r '.entries[] | select(.name == "ftp") | .helper')" "show -j: helper of ftp"
assert_eq "ftp" "$(natgwctl -j show | jq -r '.entries[] | select(.name == "lan") | .helpers | join(",")')" \
        "show -j: helpers of lan"
assert_match "helper=ftp" "$(conntrack_gw -p tcp --orig-port-dst 21 --dst 203.0.113.1 -o extended 2>/dev/null || true) $(conntrack_gw -p tcp --orig-port-dst 21 --dst 203.0.113.1)" \
        "conntrack shows the helper on the control connection"

write_conf "" ""
reload_ok >/dev/null
fetch_fails "$WAN" "forward, passive, no helper" ftp://203.0.113.1/file
fetch_fails "$WAN" "forward, active, no helper" ftp://203.0.113.1/file -P 203.0.113.100
fetch_fails "$LAN" "egress, active, no helper" ftp://203.0.113.100/file -P 192.168.1.10 --interface 192.168.1.10
assert_eq "" "$(nsexec "$GW" nft list ct helpers table inet natgw | grep -o '"ftp"' || true)" "the helper object is gone"

write_conf 'helper = "ftp";' 'helpers = [ "ftp" ];'
reload_ok >/dev/null
fetch_ok "$WAN" "forward, passive, helper again" ftp://203.0.113.1/file

# A helper the kernel does not have (the fault module renames "tftp" to "tftX" in the batch,
# as a kernel without nf_conntrack_tftp answers): check --kernel and the reload name the entry,
# and nothing changes.
write_conf 'helper = "ftp";' 'helpers = [ "ftp" ];' \
        ', { name = "boot"; in_interface = "eth0"; proto = "udp"; port = 69; to = "192.168.1.66"; helper = "tftp"; }'
echo "helper-name" >"$fault"
rc=0
out=$(natgwctl check --kernel "$conf" 2>&1) || rc=$?
assert_eq 1 "$rc" "check --kernel refuses a helper the kernel lacks"
assert_match "entry \"boot\": the kernel rejected its conntrack helper \"tftp\": No such file or directory \(the kernel has no such helper: load its modules, nf_conntrack_tftp and nf_nat_tftp" \
        "$out" "check --kernel names the entry and the module"
rc=0
out=$(natgwctl reload 2>&1) || rc=$?
assert_eq 1 "$rc" "the reload is refused"
assert_match "entry \"boot\": the kernel rejected its conntrack helper \"tftp\"" "$out" "the reload names the entry"
rm -f "$fault"
fetch_ok "$WAN" "forward, passive, after the refused reload" ftp://203.0.113.1/file
reload_ok >/dev/null
assert_match '"tftp"' "$(nsexec "$GW" nft list ct helpers table inet natgw)" "with the module there, the reload applies"

natgwd_alive
stop_natgwd
info "PASS"

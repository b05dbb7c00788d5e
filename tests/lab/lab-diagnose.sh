#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# natgwctl diagnose: one fault injected per case, and the verdict must name exactly that cause
# (DESIGN.md, "Wave 2 commands"), with exit 0 only for "ok". One lab for every case: each
# forward below carries its own fault, the gateway-wide faults (forwarding off) are undone
# right after their case.

source "${LAB_DIR:-$(dirname "$0")}/lib.sh"

# eth3: a link with only a carrier-grade NAT address; eth4: a link that is down (veth pairs
# with both ends in gw).
ip -n "$GW" link add eth3 type veth peer name eth3p
ip -n "$GW" addr add 100.64.1.1/10 dev eth3
ip -n "$GW" link set eth3p up
ip -n "$GW" link set eth3 up
ip -n "$GW" link add eth4 type veth peer name eth4p
ip -n "$GW" addr add 198.51.100.200/32 dev eth4

conf=$(lab_config diagnose)
cat >"$conf" <<'EOF'
version = 1;
kernel = { ip_forward = true; };
masquerade = ( { name = "lan"; source = "192.168.1.0/24"; out_interface = "eth0"; } );
snat = ( { name = "host66"; source = "192.168.1.66/32"; out_interface = "eth0"; to = "203.0.113.10"; },
         { name = "host77"; source = "192.168.1.77/32"; out_interface = "eth0"; to = "203.0.113.11";
           allow = ( { to = "198.51.100.0/24"; proto = "tcp"; port = 443; } ); deny = "reject"; } );
forward = (
  { name = "web";    in_interface = "eth0"; proto = "tcp"; port = 8080; to = "192.168.1.66:80"; },
  { name = "local";  in_interface = "eth0"; proto = "tcp"; port = 8081; to = "192.168.1.66:81"; },
  { name = "fw";     in_interface = "eth0"; proto = "tcp"; port = 8082; to = "192.168.1.66:82"; },
  { name = "gone";   in_interface = "eth0"; proto = "tcp"; port = 8083; to = "192.168.1.99:80"; },
  { name = "only7";  in_interface = "eth0"; proto = "tcp"; port = 8084; to = "192.168.1.66:80";
    allow_from = [ "198.51.100.7/32" ]; },
  { name = "cgn";    in_interface = "eth3"; proto = "tcp"; port = 8085; to = "192.168.1.66:80"; },
  { name = "down";   in_interface = "eth4"; proto = "tcp"; port = 8086; to = "192.168.1.66:80"; },
  { name = "nolink"; in_interface = "eth9"; proto = "tcp"; port = 8087; to = "192.168.1.66:80"; },
  { name = "bypass"; in_interface = "eth0"; proto = "tcp"; port = 8088; to = "192.168.1.66:80"; },
  { name = "anyif";  proto = "tcp"; port = 8089; to = "192.168.1.66:80"; },
  { name = "noref";  in_interface = "eth0"; proto = "tcp"; port = 8090; to = "192.168.1.66:80"; reflection = false; },
  { name = "anyoff"; proto = "tcp"; port = 8091; to = "192.168.1.66:80"; reflection = false; }
);
EOF

# The target: port 80 and 82 on every address, port 81 on 127.0.0.1 only; its own firewall
# drops port 82.
serve_in "$LAN" --tcp 80,82
serve_in "$LAN" --tcp 81 --bind 127.0.0.1
nsexec "$LAN" nft -f - <<'EOF'
table inet labfw {
        chain input { type filter hook input priority 0; tcp dport 82 drop; }
}
EOF
start_natgwd "$conf"

# diagnose_cause WANT NAME [ARGS...]: the JSON verdict is WANT, the exit status 0 exactly when
# WANT is ok, and the human output says the same verdict.
diagnose_cause() {
        local want=$1 out rc=0 want_rc=1 human
        shift

        out=$(natgwctl -j diagnose "$@") || rc=$?
        [[ $want == ok ]] && want_rc=0
        assert_eq "$want" "$(jq -r .verdict.cause <<<"$out")" "diagnose $*: cause"
        assert_eq "$want_rc" "$rc" "diagnose $*: exit status"
        # Every layer has a status of the four and its evidence.
        assert_eq 0 "$(jq '[.layers[] | select((.status | test("^(ok|warn|fail|unknown)$") | not) or (.evidence | length) == 0)] | length' <<<"$out")" \
                "diagnose $*: every layer has a status and evidence"
        if [[ $want != ok ]]; then
                assert_match "." "$(jq -r '.verdict.fix // empty' <<<"$out")" "diagnose $*: a fix is given"
                # The failing layer is the first one that fails, and only it carries the verdict.
                assert_eq "$(jq -r '[.layers[] | select(.status == "fail")][0].layer' <<<"$out")" \
                        "$(jq -r .verdict.layer <<<"$out")" "diagnose $*: the verdict is the first failing layer"
        fi
        # The text form says the same (not for the cases that wait 2 s for the connect probe).
        if [[ ${DIAG_HUMAN:-1} == 1 ]]; then
                human=$(natgwctl diagnose "$@") || true
                sed 's/^/#   /' <<<"$human"
                assert_match "verdict: $want" "$human" "diagnose $*: human output"
        fi
        DIAG_OUT=$out
}

# A real client first, so that conntrack has an answered connection of "web".
out=$(ask_ok "$WAN" tcp 203.0.113.1 8080 --from 198.51.100.7)
assert_match "^peer=198\.51\.100\.7:[0-9]+ local=192\.168\.1\.66:80 proto=tcp$" "$out" "web is forwarded"

diagnose_cause ok web
assert_eq ok "$(jq -r '.layers[] | select(.layer == "firewalls") | .status' <<<"$DIAG_OUT")" \
        "no other table on the gateway: the firewalls layer is ok"
# Layer config reads the forward's map elements back: web's one element (eth0 . tcp . 8080).
assert_match "its 1 map element\(s\) are in map fwd4_if: 1 of 1" \
        "$(jq -r '.layers[] | select(.layer == "config") | .evidence[]' <<<"$DIAG_OUT")" "web's map element is in the kernel"

# The file edited and not reloaded: the elements cannot be checked against it, a warning and no
# verdict of its own (web is still in force as it was).
cp "$conf" "$LAB_TMP/diagnose.conf.saved"
sed -i 's/port = 8080;/port = 8090;/' "$conf"
diagnose_cause ok web
assert_eq warn "$(jq -r '.layers[] | select(.layer == "config") | .status' <<<"$DIAG_OUT")" \
        "an entry edited after the reload: layer config warns"
assert_match "map elements not checked" "$(jq -r '.layers[] | select(.layer == "config") | .evidence[]' <<<"$DIAG_OUT")" \
        "an entry edited after the reload: its elements are not checked"
cp "$LAB_TMP/diagnose.conf.saved" "$conf"

# nft_delete_as_natgwd SET KEY: DELSETELEM of one element (KEY in hex) of table inet natgw, sent
# on natgwd's own netfilter sockets, taken with pidfd_getfd(): the owner flag refuses every other
# process (kernel 6.9 on), so `nft delete element` cannot. Without NLM_F_ACK: only a refusal (on
# the sockets that do not own the table) answers, and natgwd skips answers it did not ask for.
nft_delete_as_natgwd() {
        python3 - "$NATGWD_PID" "$@" <<'EOF2'
import ctypes, os, re, socket, struct, sys
pid, setname, key = int(sys.argv[1]), sys.argv[2], bytes.fromhex(sys.argv[3])
def attr(t, v): return struct.pack("HH", 4 + len(v), t) + v + b"\0" * (-len(v) % 4)
def nest(t, v): return attr(t | 0x8000, v)
def msg(t, flags, seq, family, body): return struct.pack("IHHIIBBH", 20 + len(body), t, flags, seq, 0, family, 0, socket.htons(10)) + body
elem = nest(1, nest(1, attr(1, key)))
body = attr(1, b"natgw\0") + attr(2, setname.encode() + b"\0") + nest(3, elem)
batch = msg(0x10, 1, 0x7ff00001, 0, b"") + msg((10 << 8) | 14, 1, 0x7ff00002, 1, body) + msg(0x11, 1, 0x7ff00003, 0, b"")
inodes = {l.split()[-1] for l in open(f"/proc/{pid}/net/netlink").read().splitlines()[1:] if l.split()[1] == "12"}
libc = ctypes.CDLL(None, use_errno=True)
pidfd = os.pidfd_open(pid)
for fd in os.listdir(f"/proc/{pid}/fd"):
    m = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(f"/proc/{pid}/fd/{fd}"))
    if not m or m.group(1) not in inodes:
        continue
    mine = libc.syscall(438, pidfd, int(fd), 0)  # pidfd_getfd
    if mine < 0:
        sys.exit(f"pidfd_getfd: {os.strerror(ctypes.get_errno())}")
    s = socket.socket(fileno=mine)
    s.sendto(batch, (0, 0))
    s.detach()
    os.close(mine)
EOF2
}

# An element the kernel lacks: not-applied, and the element is named. The element of bypass
# (eth0 . tcp . 8088 -> 192.168.1.66 . 80) is taken out of map fwd4_if. natgwd does not know:
# a reload would send only what the file changed.
bypass_key=65746830000000000000000000000000060000001f980000  # "eth0", 16 bytes . 6 . 8088
nft_delete_as_natgwd fwd4_if "$bypass_key"
if [[ $(nsexec "$GW" nft list map inet natgw fwd4_if) == *'"eth0" . tcp . 8088'* ]]; then
        fail "the element of bypass could not be taken out of map fwd4_if"
fi
diagnose_cause not-applied bypass
assert_match "map fwd4_if lacks 1 of its 1 element\(s\): tcp/8088" \
        "$(jq -r '.layers[] | select(.layer == "config") | .evidence[]' <<<"$DIAG_OUT")" "the missing element is named"
assert_match "restart natgwd" "$(jq -r .verdict.fix <<<"$DIAG_OUT")" "the fix is a restart (a reload sends only what the file changed)"
# The fix as given: natgwd's start replaces the table, with every element.
stop_natgwd
start_natgwd "$conf"
diagnose_cause ok bypass

diagnose_cause ok web --from 198.51.100.7
assert_match "answered" "$(jq -r '.layers[] | select(.layer == "return-path") | .evidence[]' <<<"$DIAG_OUT")" \
        "the return path saw the answered connection"
diagnose_cause target-not-listening local
DIAG_HUMAN=0 diagnose_cause target-filtered fw
DIAG_HUMAN=0 diagnose_cause target-unreachable gone
diagnose_cause source-not-allowed only7 --from 198.51.100.8
diagnose_cause ok only7 --from 198.51.100.7
# An inside client (on the target's link, eth1): reflected when the forward reflects (the
# default), reflection-disabled when it does not, and allow_from holds for it as for others.
diagnose_cause ok web --from 192.168.1.10
assert_match "192\.168\.1\.10 is inside \(reached by eth1, not eth0\).*reflected" \
        "$(jq -r '.layers[] | select(.layer == "client") | .evidence[]' <<<"$DIAG_OUT")" "web: the client is inside, reflected"
out=$(ask_ok "$LAN" tcp 203.0.113.1 8080 --from 192.168.1.10)
assert_match "^peer=192\.168\.1\.1:" "$out" "web: the inside client does reach the target, as diagnose says"
diagnose_cause reflection-disabled noref --from 192.168.1.10
assert_match "192\.168\.1\.10 is inside \(reached by eth1, not eth0\).*reflection = false" \
        "$(jq -r '.layers[] | select(.layer == "client") | .evidence[]' <<<"$DIAG_OUT")" "noref: the client is inside, not reflected"
ask_refused "$LAN" tcp 203.0.113.1 8090 --from 192.168.1.10
diagnose_cause source-not-allowed only7 --from 192.168.1.10
diagnose_cause ok anyif --from 192.168.1.10
assert_match "are both on eth1: reflection source-NATs" \
        "$(jq -r '.layers[] | select(.layer == "client") | .evidence[]' <<<"$DIAG_OUT")" \
        "anyif: client and target share eth1, reflected"
diagnose_cause reflection-disabled anyoff --from 192.168.1.10
assert_match "are both on eth1: the target answers the client directly" \
        "$(jq -r '.layers[] | select(.layer == "client") | .evidence[]' <<<"$DIAG_OUT")" \
        "anyoff: client and target share eth1, not reflected"
diagnose_cause ok anyif --from 198.51.100.7
diagnose_cause no-public-address cgn
diagnose_cause interface-down down
diagnose_cause interface-missing nolink

nsexec "$GW" sysctl -qw net.ipv4.ip_forward=0
diagnose_cause forwarding-disabled web
nsexec "$GW" sysctl -qw net.ipv4.ip_forward=1

# ---------------------------------------------------------------- --watch

trace_chain_gone() {
        if nsexec "$GW" nft list chain inet natgw diagnose-trace >/dev/null 2>&1; then
                fail "$1: the trace chain is still in table inet natgw"
        fi
        info "ok: $1: the trace chain is gone"
}

# attempts_bg PORT FROM: three connection attempts from FROM during the next ~4 s, in the
# background (ATTEMPTS_PID); each waits 1 s at most.
attempts_bg() {
        local port=$1 from=$2

        (
                for i in 1 2 3; do
                        sleep 0.7
                        timeout 5 ip netns exec "$WAN" "$NATGW_PEER" ask tcp 203.0.113.1 "$port" --from "$from" \
                                --timeout 1 >/dev/null 2>&1 || true
                done
        ) &
        ATTEMPTS_PID=$!
}

# watch_cause WANT SEC PORT FROM NAME [ARGS...]: diagnose NAME --watch SEC while a client makes
# attempts on PORT from FROM ("" for none); the verdict must be WANT and the trace rule gone.
watch_cause() {
        local want=$1 sec=$2 port=$3 from=$4 out rc=0 want_rc=1
        shift 4

        [[ -n $from ]] && attempts_bg "$port" "$from"
        out=$(natgwctl -j diagnose "$@" --watch "$sec" 2>/dev/null) || rc=$?
        [[ -n $from ]] && wait "$ATTEMPTS_PID"
        [[ $want == ok ]] && want_rc=0
        jq -r '.layers[] | "#   \(.layer) \(.status): \(.evidence | join("; "))"' <<<"$out"
        assert_eq "$want" "$(jq -r .verdict.cause <<<"$out")" "diagnose $* --watch $sec: cause"
        assert_eq "$want_rc" "$rc" "diagnose $* --watch $sec: exit status"
        trace_chain_gone "diagnose $* --watch $sec"
        DIAG_OUT=$out
}

# Nobody tries: nothing arrives.
watch_cause no-traffic-arrives 1 8080 "" web
# Attempts arrive and are answered.
watch_cause ok 3 8080 198.51.100.7 web --from 198.51.100.7
assert_match "^[1-9][0-9]* packet" "$(jq -r '.layers[] | select(.layer == "watch") | .evidence[1]' <<<"$DIAG_OUT")" \
        "the watch counted the packets that arrived"

# Another table on the gateway drops forwarded traffic to the target: named by table, chain
# and rule handle, as the trace saw it.
nsexec "$GW" nft -f - <<'EOF2'
table inet otherfw {
        chain fwdfilter {
                type filter hook forward priority 0;
                ip daddr 192.168.1.66 tcp dport 80 drop
        }
}
EOF2
handle=$(nsexec "$GW" nft -a list chain inet otherfw fwdfilter | sed -nE 's/.*drop # handle ([0-9]+)$/\1/p')
watch_cause blocked-by-table 3 8080 198.51.100.7 web --from 198.51.100.7
assert_match "table inet otherfw chain fwdfilter rule handle $handle dropped" \
        "$(jq -r '.layers[] | select(.layer == "firewalls") | .evidence[]' <<<"$DIAG_OUT")" \
        "the firewalls layer names the table, the chain and the rule handle"
# Without --watch the rule text is only a hint: a warning that names it, no verdict.
out=$(natgwctl -j diagnose web) || true
assert_eq warn "$(jq -r '.layers[] | select(.layer == "firewalls") | .status' <<<"$out")" \
        "without --watch, another table's drop rule is a warning"
assert_match "table inet otherfw chain fwdfilter \(forward\): rule handle $handle drops or rejects" \
        "$(jq -r '.layers[] | select(.layer == "firewalls") | .evidence[]' <<<"$out")" "the warning names the rule"
nsexec "$GW" nft delete table inet otherfw

# SIGINT ends a watch early: the trace rule goes with it.
out=$LAB_TMP/watch-int.json
ip netns exec "$GW" "$NATGWCTL" -S "$CTL_SOCK" -j diagnose web --watch 60 >"$out" 2>/dev/null &
wpid=$!
for ((i = 0; i < 50; i++)); do
        nsexec "$GW" nft list chain inet natgw diagnose-trace >/dev/null 2>&1 && break
        sleep 0.1
done
nsexec "$GW" nft list chain inet natgw diagnose-trace >/dev/null 2>&1 || fail "the trace chain never appeared"
kill -INT "$wpid"
for ((i = 0; i < 50; i++)); do
        lab_running "$wpid" || break
        sleep 0.1
done
lab_running "$wpid" && fail "natgwctl diagnose --watch did not end within 5 s of SIGINT"
wait "$wpid" || true
assert_match "interrupted" "$(jq -r '.layers[] | select(.layer == "watch") | .evidence[0]' <"$out")" \
        "the report says the watch was interrupted"
trace_chain_gone "diagnose --watch after SIGINT"

# ---------------------------------------------------------------- --egress

# egress_cause WANT ARGS...: diagnose --egress ARGS; the verdict is WANT (exit 0 exactly for ok).
egress_cause() {
        local want=$1 out rc=0 want_rc=1
        shift

        out=$(natgwctl -j diagnose "$@") || rc=$?
        [[ $want == ok ]] && want_rc=0
        jq -r '.layers[] | "#   \(.layer) \(.status): \(.evidence | join("; "))"' <<<"$out"
        assert_eq "$want" "$(jq -r .verdict.cause <<<"$out")" "diagnose $*: cause"
        assert_eq "$want_rc" "$rc" "diagnose $*: exit status"
        DIAG_OUT=$out
}

# 192.168.1.10 is in "lan" only: masqueraded to eth0's address on the route.
egress_cause ok --egress 192.168.1.10 --to 198.51.100.7:443
assert_match "^entry lan \(masquerade" "$(jq -r '.layers[0].evidence[0]' <<<"$DIAG_OUT")" "192.168.1.10 leaves by entry lan"
assert_match "allowed \(no allow list\)" "$(jq -r '.layers[1].evidence[0]' <<<"$DIAG_OUT")" "no allow list: allowed"
assert_match "leaves eth0 as 203\.0\.113\.1 \(masquerade" "$(jq -r '.layers[2].evidence[]' <<<"$DIAG_OUT")" \
        "it leaves eth0 as 203.0.113.1"
# 192.168.1.66 is in both: the /32 wins.
egress_cause ok --egress 192.168.1.66 --to 198.51.100.7 --proto udp
assert_match "^entry host66 \(snat" "$(jq -r '.layers[0].evidence[0]' <<<"$DIAG_OUT")" "192.168.1.66 leaves by entry host66"
assert_match "leaves eth0 as 203\.0\.113\.10 \(snat\)" "$(jq -r '.layers[2].evidence[]' <<<"$DIAG_OUT")" \
        "it leaves eth0 as 203.0.113.10"
# 192.168.1.77's entry has an allow list: HTTPS to 198.51.100.0/24 only.
egress_cause ok --egress 192.168.1.77 --to 198.51.100.7:443
assert_match "^allowed by entry host77's allow list: tcp to 198\.51\.100\.7 port 443" \
        "$(jq -r '.layers[1].evidence[0]' <<<"$DIAG_OUT")" "host77: HTTPS to 198.51.100.7 is allowed by its list"
egress_cause source-not-allowed --egress 192.168.1.77 --to 198.51.100.7:80
assert_match "^denied by entry host77's allow list \(1 rule\(s\), deny \"reject\"\): tcp to 198\.51\.100\.7 port 80" \
        "$(jq -r '.layers[1].evidence[0]' <<<"$DIAG_OUT")" "host77: port 80 is denied by its list"
egress_cause source-not-allowed --egress 192.168.1.77 --to 198.51.100.7 --proto icmp
assert_eq fail "$(jq -r '.layers[1].status' <<<"$DIAG_OUT")" "host77: ICMP is denied by its list"
egress_cause ok --egress 192.168.1.77 --to 198.51.100.7
assert_eq unknown "$(jq -r '.layers[1].status' <<<"$DIAG_OUT")" "host77: TCP without a port is unknown"
# No entry for 10.0.9.9: it would leave untranslated.
egress_cause not-applied --egress 10.0.9.9 --to 198.51.100.7
# No route to 192.0.2.1 on the gateway.
egress_cause target-unreachable --egress 192.168.1.10 --to 192.0.2.1:80
rc=0
natgwctl diagnose --egress 192.168.1.10 >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "diagnose --egress without --to exits 2"
rc=0
natgwctl diagnose --egress 192.168.1.10 --to 198.51.100.7:80 --proto icmp >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "diagnose --egress with a port and icmp exits 2"

# A natgwctl killed with SIGKILL cannot take the rule away: natgwd does, SEC + 5 s after it put
# it there. The request as natgwctl sends it, from a client that then goes away.
python3 - "$CTL_SOCK" <<'EOF2'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(b'{"command": "trace", "entry": "web", "seconds": 1}\n')
reply = s.makefile().readline()
assert '"ok": true' in reply or '"ok":true' in reply, reply
EOF2
start=$(date +%s%N)
nsexec "$GW" nft list chain inet natgw diagnose-trace >/dev/null 2>&1 || fail "trace: natgwd put no trace chain in place"
for ((i = 0; i < 100; i++)); do
        nsexec "$GW" nft list chain inet natgw diagnose-trace >/dev/null 2>&1 || break
        sleep 0.1
done
ms=$((($(date +%s%N) - start) / 1000000))
((ms >= 5000)) || fail "the trace chain went after $ms ms, before its 1 s + 5 s"
trace_chain_gone "trace for 1 s left alone by its client, after $ms ms"

# Not a forward of natgwd's: a usage error, no verdict.
rc=0
natgwctl diagnose nosuch >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "diagnose of an unknown name exits 2"
rc=0
natgwctl diagnose >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "diagnose without a name exits 2"
rc=0
natgwctl diagnose web --from not-an-address >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "diagnose --from with a bad address exits 2"

# The target answers the gateway, but its replies to 198.51.100.8 go to a router that is not
# there: policy routing in the lan host. A client's attempts stay [UNREPLIED].
nsexec "$LAN" ip rule add from 192.168.1.66 to 198.51.100.8 lookup 100
nsexec "$LAN" ip route add default via 192.168.1.254 table 100
ask_fails "$WAN" tcp 203.0.113.1 8088 --from 198.51.100.8 --timeout 1
diagnose_cause reply-bypasses-gateway bypass --from 198.51.100.8
# The same while watching real attempts: they arrive, no table drops them, none is answered.
watch_cause reply-bypasses-gateway 3 8088 198.51.100.8 bypass --from 198.51.100.8

# diagnose asks natgwd for show of its entry alone, whose counters natgwd reads by name instead of
# dumping every counter of the table: the same entry, the same counters as in the whole show.
python3 - "$CTL_SOCK" <<'EOF2' || fail "show of one entry differs from the entry in the whole show"
import json, socket, sys

def ask(req):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sys.argv[1])
    s.sendall((json.dumps(req) + "\n").encode())
    reply = json.loads(s.makefile().readline())
    s.close()
    return reply

full = ask({"command": "show"})
assert full["ok"], full
for name in ("web", "bypass", "host77", "lan"):
    one = ask({"command": "show", "entry": name})
    want = [e for e in full["entries"] if e["name"] == name]
    assert one["entries"] == want, (name, one["entries"], want)
    assert {k: v for k, v in one.items() if k != "entries"} == {k: v for k, v in full.items() if k != "entries"}
    print("# %s: %s" % (name, {k: v for k, v in want[0].items() if k in ("connections", "traffic_packets", "denied")}))
assert [e for e in full["entries"] if e["name"] == "bypass"][0]["connections"] > 0, "no connection counted for bypass"
assert ask({"command": "show", "entry": "nosuch"})["entries"] == []
EOF2
info "ok: show of one entry (diagnose's) is that entry of the whole show, counters and all"

stop_natgwd
info "PASS"

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""lab-import: natgwctl import proven equivalent on a real kernel.

    lab-import.py [DUMP...]      (default: every dump of tests/import/ that gives a config)

For each dump (NAME.rules: iptables-save text, NAME.nft: nft list ruleset), two gateway labs
are built in network namespaces, the same in every way:

    o<k>-X  (one per interface the dump names: its veth is called that in gw)
       |    203.0.113.(128+8k+1)/29 and 2001:db8:ff:k::1/64 on gw, .2 / ::2 on the other end
    gw-X    (ip_forward on; lan0 100.64.255.1/30, fd00:ff::1/64)
       |
    in-X    (eth0 100.64.255.2/30, fd00:ff::2/64; every DNAT target and every egress client
             address of the dump on lo, routed to it by gw)

Lab A loads the dump with iptables-restore / ip6tables-restore (nft -f for an nft dump) in its
gw, less the rules natgwctl import reported as left out; lab B runs natgwd on the imported
config. The same traffic matrix goes through both: every forward's ports (first and last of
each range), protocols, source (allow_from) and destination, every egress entry's sources per
out interface, every netmap both ways (sampled addresses by offset), and near misses of each (a port just outside, the other protocol, another
interface, a source outside). What the far end saw (source address and port, the address and
port it was reached on), or how the connection failed, must be the same in both labs; lab B
must also show what natgwd.conf(5) promises for each match (the target reached, the egress
address). A dump with a filter table's FORWARD chain adds what passes and what is blocked:
every allow rule's destination and first port (it passes, translated), its next port, the other
protocol and another destination (blocked unless another rule of the list allows them: dropped,
or refused with deny = "reject"); an ICMP rule's echo request (from a raw socket; the address
the far end saw is the reply tuple of the gateway's conntrack entry); and with filter.forward =
"drop" connections routed to inside addresses without NAT and an inside address no entry
translates (dropped). And every NAT rule of the dump must be in the config (its line in a
comment) or reported.

Namespaces carry a per-run suffix and are removed on exit; nothing touches the root namespace.
Every probe has a timeout of PROBE_TIMEOUT seconds. Not root or no namespaces: exit 77 (skip),
a failure under CI=true. Exit 0 when every dump's labs agree, 1 otherwise.
"""

import concurrent.futures
import ipaddress
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

SRCDIR = os.environ.get("SRCDIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NATGWD = os.environ.get("NATGWD") or os.path.join(SRCDIR, "build/daemon/natgwd")
NATGWCTL = os.environ.get("NATGWCTL") or os.path.join(SRCDIR, "build/daemon/natgwctl")
PEER = os.environ.get("NATGW_PEER") or os.path.join(SRCDIR, "build/tests/lab/natgw-peer")
CORPUS = os.path.join(SRCDIR, "tests/import")
SUFFIX = str(os.getpid())
# A TCP client sends its SYN again after 1 s: a first SYN lost to a neighbour lookup still
# gets its answer within the timeout.
PROBE_TIMEOUT = 2.5
PROBES_AT_ONCE = 4
EGRESS_PORT = 7

NAMESPACES = []
PROCS = []


def info(msg):
    print(f"# {msg}", flush=True)


def fail(msg):
    print(f"FAIL: lab-import: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def skip(msg):
    if os.environ.get("CI") == "true":
        fail(f"cannot run under CI=true: {msg}")
    print(f"SKIP: lab-import: {msg}", file=sys.stderr)
    sys.exit(77)


def run(args, check=True, input_text=None, timeout=30):
    p = subprocess.run(args, input=input_text, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        fail(f"{' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return p


def cleanup():
    for p in PROCS:
        if p.poll() is None:
            p.terminate()
    for p in PROCS:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    PROCS.clear()
    for ns in NAMESPACES:
        pids = run(["ip", "netns", "pids", ns], check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        run(["ip", "netns", "del", ns], check=False, timeout=10)
    NAMESPACES.clear()


def ns_add(name):
    if run(["ip", "netns", "add", name], check=False).returncode != 0:
        skip(f"cannot create network namespace {name}")
    NAMESPACES.append(name)
    nsx = ["ip", "netns", "exec", name]
    # ICMP errors unlimited: a REJECT's port unreachable must not depend on how many the same host
    # got in the last second (1 a second, a burst of 6, by default), nor on the order in which
    # the probes, a few at a time, reach each lab (vpc-filter.rules: "refused" against "timeout").
    run(nsx + ["sh", "-c", 'ip link set lo up && exec sysctl "$@"', "sh", "-qw",
               "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
               "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
               "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0",
               "net.ipv4.icmp_msgs_per_sec=100000", "net.ipv4.icmp_msgs_burst=100000"])
    return name


# ---------------------------------------------------------------- the imported config

ENTRY = re.compile(r'^\s*\{ (name = .*) \}[,]?\s*$')
FIELD = re.compile(r'(\w+) = ("[^"]*"|\[[^\]]*\]|\([^)]*\)|\d+);')


def values(v):
    """A config value as a list of strings (numbers as strings too)."""
    v = v.strip()
    if v[0] in "[(":
        return [x.strip().strip('"') for x in v[1:-1].split(",") if x.strip()]
    return [v.strip('"')]


ALLOW_RULE = re.compile(r'\{ ([^{}]*)\}')


def parse_allow(entry):
    """An entry's text without its allow list, and the list: [{key: [values]}] (None: no list)."""
    m = re.search(r'allow = \((.*?)\s\);', entry)
    if not m:
        return entry, None
    rules = [{k: values(v) for k, v in FIELD.findall(r.group(1))} for r in ALLOW_RULE.finditer(m.group(1))]
    return entry[:m.start()] + entry[m.end():], rules


def joined_lines(text):
    """The config's lines, an entry written over several lines (its allow list) as one."""
    out, cur = [], None
    for line in text.splitlines():
        if cur is not None:
            cur += " " + line.strip()
            if cur.count("{") == cur.count("}"):
                out.append(cur)
                cur = None
            continue
        if line.startswith("  { name = ") and line.count("{") != line.count("}"):
            cur = line
            continue
        out.append(line)
    return out


def parse_config(text):
    """The entries of natgwctl import's output: (section, {key: [values]}) in order; the key
    "lines" holds the lines of the dump the entry came from (its comments), "allow" an egress
    entry's allow list (parse_allow()), "deny" its deny. A section "filter" says the policy."""
    section, entries, lines = None, [], []
    for line in joined_lines(text):
        if re.match(r'^filter = \{ forward = "drop"; \};$', line):
            entries.append(("filter", {"forward": ["drop"], "lines": []}))
            continue
        m = re.match(r'^(masquerade|snat|forward|netmap) = \($', line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r'^  # line (\d+): ', line)
        if m:
            lines.append(int(m.group(1)))
            continue
        m = ENTRY.match(line)
        if m and section:
            rest, allow = parse_allow(m.group(1))
            e = {k: values(v) for k, v in FIELD.findall(rest)}
            if allow is not None:
                e["allow"] = allow
            e["lines"] = lines
            entries.append((section, e))
            lines = []
    return entries


def port_ranges(vals):
    out = []
    for v in vals:
        lo, _, hi = v.partition("-")
        out.append((int(lo), int(hi or lo)))
    return out


def split_to(to):
    """'A', 'A:P', 'A:P-Q', '[A]', '[A]:P' -> (addr, (P, Q) or None)."""
    m = re.match(r'^\[(.*)\](?::(.*))?$', to) or re.match(r'^([^:]*)(?::(.*))?$', to)
    return m.group(1), (port_ranges([m.group(2)])[0] if m.group(2) else None)


# ---------------------------------------------------------------- the lab

class Lab:
    """One gateway lab. Its links, addresses and routes are written as `ip -batch` lines per
    namespace and applied with one `ip` each (apply())."""

    def __init__(self, tag, ifaces):
        self.tag = tag
        self.ifaces = ifaces
        self.gw = ns_add(f"imp{tag}gw-{SUFFIX}")
        self.inside = ns_add(f"imp{tag}in-{SUFFIX}")
        self.outside = [ns_add(f"imp{tag}o{k}-{SUFFIX}") for k in range(len(ifaces))]
        self.batch = {}
        run(["ip", "netns", "exec", self.gw, "sysctl", "-qw", "net.ipv4.ip_forward=1",
             "net.ipv6.conf.all.forwarding=1"])
        self.cmd(self.gw, f"link add lan0 type veth peer name eth0 netns {self.inside}",
                 "addr add 100.64.255.1/30 dev lan0", "addr add fd00:ff::1/64 dev lan0 nodad", "link set lan0 up")
        self.cmd(self.inside, "addr add 100.64.255.2/30 dev eth0", "addr add fd00:ff::2/64 dev eth0 nodad",
                 "link set eth0 up", "route add default via 100.64.255.1", "route add default via fd00:ff::1")
        for k, name in enumerate(ifaces):
            o = self.outside[k]
            self.cmd(self.gw, f"link add {name} type veth peer name eth0 netns {o}",
                     f"addr add {self.gw_addr(k, 4)}/29 dev {name}", f"addr add {self.gw_addr(k, 6)}/64 dev {name} nodad",
                     f"link set {name} up")
            self.cmd(o, f"addr add {self.peer_addr(k, 4)}/29 dev eth0", f"addr add {self.peer_addr(k, 6)}/64 dev eth0 nodad",
                     "link set eth0 up", f"route add default via {self.gw_addr(k, 4)}",
                     f"route add default via {self.gw_addr(k, 6)}")
        self.apply()
        self.wait_links()

    def cmd(self, ns, *lines):
        self.batch.setdefault(ns, []).extend(lines)

    def apply(self):
        """Every namespace's batch, gw's first (it creates the links the others configure)."""
        for ns in [self.gw] + [n for n in self.batch if n != self.gw]:
            lines = self.batch.pop(ns, [])
            if lines:
                run(["ip", "-n", ns, "-batch", "-"], input_text="\n".join(lines) + "\n")

    @staticmethod
    def gw_addr(k, fam):
        return f"203.0.113.{128 + 8 * k + 1}" if fam == 4 else str(ipaddress.ip_address(f"2001:db8:ff:{k:x}::1"))

    @staticmethod
    def peer_addr(k, fam):
        return f"203.0.113.{128 + 8 * k + 2}" if fam == 4 else str(ipaddress.ip_address(f"2001:db8:ff:{k:x}::2"))

    def wait_links(self):
        for _ in range(50):
            out = run(["ip", "-n", self.gw, "-o", "link", "show"]).stdout
            up = {m.group(1) for m in re.finditer(r'^\d+: ([^@:]+)[@:].*state UP', out, re.M)}
            if up >= set(self.ifaces) | {"lan0"}:
                return
            time.sleep(0.1)
        fail(f"lab {self.tag}: links did not come up")

    def warm_up(self):
        """Neighbours resolved before the first probe: gw sends a datagram to every host it is
        linked to (an answer or a port unreachable, either will do)."""
        addrs = ["100.64.255.2", "fd00:ff::2"] + [self.peer_addr(k, f) for k in range(len(self.ifaces))
                                                  for f in (4, 6)]
        run(["ip", "netns", "exec", self.gw, "sh", "-c",
             'p=$1; shift; for a in "$@"; do "$p" ask udp "$a" 9 --timeout 0.5 >/dev/null 2>&1; done; exit 0', "sh",
             PEER] + addrs)

    @staticmethod
    def host(addr):
        fam = ipaddress.ip_address(addr).version
        return fam, f"{addr}/{32 if fam == 4 else 128}"

    def inside_addr(self, addr):
        """addr lives on the inside host; gw routes it there."""
        fam, host = self.host(addr)
        self.cmd(self.inside, f"addr replace {host} dev lo")
        self.cmd(self.gw, f"route replace {host} via {'100.64.255.2' if fam == 4 else 'fd00:ff::2'}")

    def outside_addr(self, k, addr):
        """addr lives on the outside host k; gw routes it there."""
        fam, host = self.host(addr)
        self.cmd(self.outside[k], f"addr replace {host} dev lo")
        self.cmd(self.gw, f"route replace {host} via {self.peer_addr(k, fam)}")

    def gw_local(self, k, addr):
        _, host = self.host(addr)
        self.cmd(self.gw, f"addr replace {host} dev {self.ifaces[k]}")

    def serve(self, ns, tcp, udp):
        if not tcp and not udp:
            return
        args = ["ip", "netns", "exec", ns, PEER, "serve", "--timeout", "120"]
        if tcp:
            args += ["--tcp", ",".join(str(p) for p in sorted(tcp))]
        if udp:
            args += ["--udp", ",".join(str(p) for p in sorted(udp))]
        err = tempfile.TemporaryFile(mode="w+")
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
        PROCS.append(p)
        for _ in range(50):
            err.seek(0)
            if "listening" in err.read():
                return
            if p.poll() is not None:
                break
            time.sleep(0.05)
        err.seek(0)
        fail(f"lab {self.tag}: natgw-peer serve in {ns} did not start: {err.read()}")

    def ask(self, ns, proto, dst, port, src, sport):
        if proto == "icmp":
            return self.ask_icmp(ns, dst, src, sport)
        args = ["ip", "netns", "exec", ns, PEER, "ask", proto, dst, str(port), "--from", src,
                "--sport", str(sport), "--timeout", str(PROBE_TIMEOUT)]
        p = run(args, check=False, timeout=PROBE_TIMEOUT + 10)
        if p.returncode == 0:
            return p.stdout.strip()
        err = p.stderr.lower()
        return "no reply: " + ("refused" if "refused" in err else "timeout" if "tim" in err else err.strip())

    def ask_icmp(self, ns, dst, src, ident):
        """An echo request from @src to @dst with identifier @ident (a raw socket: the lab has no
        ping). The far end's kernel answers; what it saw as the source is the reply tuple of the
        gateway's conntrack entry of the request, printed as natgw-peer prints what its server
        saw ("peer=ADDR:ID local=DST")."""
        p = run(["ip", "netns", "exec", ns, "python3", "-c", ICMP_ASK, dst, src, str(ident), str(PROBE_TIMEOUT)],
                check=False, timeout=PROBE_TIMEOUT + 10)
        if p.returncode != 0:
            return "no reply: " + (p.stdout.strip() or p.stderr.strip())
        v6 = ":" in dst
        ct = run(["ip", "netns", "exec", self.gw, "conntrack", "-L", "-p", "icmpv6" if v6 else "icmp", "-s", src,
                  "-d", dst, "--icmpv6-id" if v6 else "--icmp-id", str(ident)], check=False)
        m = re.search(r'id=\d+ src=(\S+) dst=(\S+) type=\d+ code=\d+ id=(\d+)', ct.stdout)
        if not m:
            return f"a reply, but no conntrack entry of it on the gateway: {ct.stdout.strip()} {ct.stderr.strip()}"
        peer = f"[{m.group(2)}]" if v6 else m.group(2)
        return f"peer={peer}:{m.group(3)} local={dst}"


# An echo request over a raw socket, in the prober's namespace: argv dst src id timeout. Exits 0
# on the echo reply; prints "refused" (an ICMP unreachable that quotes it) or "timeout" and exits 1.
ICMP_ASK = r"""
import select, socket, struct, sys, time
dst, src, ident, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
v6 = ":" in dst
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_RAW,
                  socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
s.bind((src, 0))
msg = struct.pack("!BBHHH", 128 if v6 else 8, 0, 0, ident, 1) + b"natgw-import"
if not v6:  # the kernel sums ICMPv6 itself
    c = sum(struct.unpack("!%dH" % (len(msg) // 2), msg))
    c = (c & 0xffff) + (c >> 16)
    c = ~((c & 0xffff) + (c >> 16)) & 0xffff
    msg = msg[:2] + struct.pack("!H", c) + msg[4:]
s.sendto(msg, (dst, 0))
end = time.monotonic() + timeout
while time.monotonic() < end:
    if not select.select([s], [], [], max(0.0, end - time.monotonic()))[0]:
        break
    data = s.recv(2048)
    if not v6:
        data = data[(data[0] & 15) * 4:]
    if data[0] == (129 if v6 else 0) and struct.unpack("!H", data[4:6])[0] == ident:
        sys.exit(0)
    # An error quotes the request after its own 8 bytes: the IP header, then the echo's header.
    if data[0] == (1 if v6 else 3):
        inner = data[8:]
        inner = inner[40:] if v6 else inner[(inner[0] & 15) * 4:]
        if len(inner) >= 6 and struct.unpack("!H", inner[4:6])[0] == ident:
            print("refused")
            sys.exit(1)
print("timeout")
sys.exit(1)
"""


# ---------------------------------------------------------------- the traffic matrix

class Matrix:
    """Probes: (label, side, k, proto, dst, port, src, want) with side 'out' (outside host k)
    or 'in' (the inside host); want: what lab B must show for a match (a regex), or None."""

    def __init__(self, ifaces):
        self.ifaces = ifaces
        self.probes = []
        self.inside = set()       # addresses on the inside host
        self.outside = set()      # (k, addr) on an outside host
        self.gw_local = set()     # (k, addr) on gw
        self.in_tcp, self.in_udp = set(), set()
        self.out_tcp = {k: {EGRESS_PORT} for k in range(len(ifaces))}   # ports outside host k serves
        self.out_udp = {k: {EGRESS_PORT} for k in range(len(ifaces))}
        self.sport = 40000
        # Lines whose conversion loses how source ports are chosen (a note says so): the probes
        # of their entries compare source addresses, not ports.
        self.noted = set()
        self.loose = False
        # Lines of "-i IN -o OUT" ACCEPTs taken as OUT's egress entries leaving (a note says what
        # differs): a source outside the entries passes the script un-NATed, natgwd drops it.
        self.iface_noted = set()
        self.known = False

    def add(self, label, side, k, proto, dst, port, src, want=None):
        self.sport += 1
        self.probes.append((label, side, k, proto, dst, port, src, self.sport, want, self.loose, self.known))

    def iface(self, name):
        return self.ifaces.index(name) if name in self.ifaces else 0

    def sample(self, net):
        n = ipaddress.ip_network(net)
        if n.num_addresses <= 2:
            return [str(n.network_address)]
        return [str(n.network_address + 1), str(n.broadcast_address - 1)]

    def forward(self, e, forwards):
        self.loose = bool(self.noted & set(e["lines"]))
        to, to_ports = split_to(e["to"][0])
        fam = ipaddress.ip_address(to).version
        ranges = port_ranges(e["port"])
        protos = ["tcp", "udp"] if e["proto"][0] == "tcp+udp" else [e["proto"][0]]
        k = self.iface(e.get("in_interface", [""])[0])
        if "destination" in e:
            dst = e["destination"][0]
            self.gw_local.add((k, dst))
        else:
            dst = Lab.gw_addr(k, fam)
        src = Lab.peer_addr(k, fam)
        if "allow_from" in e:
            src = self.sample(e["allow_from"][0])[0]
            self.outside.add((k, src))
        self.inside.add(to)
        ports = sorted({p for lo, hi in ranges[:3] for p in (lo, hi)})
        for p in ports:
            target = p if not to_ports else to_ports[0] + (p - ranges[0][0] if to_ports[0] != to_ports[1] else 0)
            for proto in protos:
                (self.in_tcp if proto == "tcp" else self.in_udp).add(target)
                tgt = f"[{to}]" if fam == 6 else to
                self.add(f"{e['name'][0]} {proto} {p}", "out", k, proto, dst, p, src,
                         rf"peer={re.escape(src if fam == 4 else '[' + src + ']')}:\d+ local={re.escape(tgt)}:{target} ")
        # Near misses: a port just outside, the other protocol, another interface, another source.
        lo, hi = ranges[0][0], ranges[-1][1]
        for p in (lo - 1, hi + 1):
            if 1 <= p <= 65535:
                for f in forwards:
                    to2, tp2 = split_to(f["to"][0])
                    for l2, h2 in port_ranges(f["port"]):
                        if l2 <= p <= h2:
                            t = p if not tp2 else tp2[0] + (p - l2 if tp2[0] != tp2[1] else 0)
                            self.in_tcp.add(t)
                            self.in_udp.add(t)
                self.add(f"{e['name'][0]} port {p} (outside)", "out", k, protos[0], dst, p, src)
        other = {"tcp": "udp", "udp": "tcp"}
        if len(protos) == 1:
            self.add(f"{e['name'][0]} {other[protos[0]]} {lo} (other protocol)", "out", k, other[protos[0]], dst, lo, src)
        if len(self.ifaces) > 1:
            k2 = (k + 1) % len(self.ifaces)
            dst2 = dst if "destination" in e else Lab.gw_addr(k2, fam)
            src2 = Lab.peer_addr(k2, fam)
            self.add(f"{e['name'][0]} {protos[0]} {lo} via {self.ifaces[k2]} (other interface)", "out", k2, protos[0],
                     dst2, lo, src2)
        if "allow_from" in e:
            self.add(f"{e['name'][0]} {protos[0]} {lo} from {Lab.peer_addr(k, fam)} (other source)", "out", k,
                     protos[0], dst, lo, Lab.peer_addr(k, fam))

    def egress(self, e):
        self.loose = bool(self.noted & set(e["lines"]))
        k = self.iface(e["out_interface"][0])
        sources = e["source"][:3]
        for net in sources:
            n = ipaddress.ip_network(net)
            fam = n.version
            srcs = ["100.64.255.2" if fam == 4 else "fd00:ff::2"] if n.prefixlen == 0 else self.sample(net)
            for s in srcs:
                if n.prefixlen:
                    self.inside.add(s)
                if "to" in e:
                    lo, _, hi = e["to"][0].partition("-")
                    want = ("snat", lo, hi or lo)
                else:
                    want = ("masq", Lab.gw_addr(k, fam))
                for proto in ("tcp", "udp"):
                    # With an allow list, what passes is the list's (probed below), not natgwd.conf(5)'s.
                    self.add(f"{e['name'][0]} {proto} from {s}", "in", k, proto, Lab.peer_addr(k, fam), EGRESS_PORT, s,
                             None if "allow" in e else want)
                if len(self.ifaces) > 1:
                    k2 = (k + 1) % len(self.ifaces)
                    self.add(f"{e['name'][0]} from {s} via {self.ifaces[k2]} (other interface)", "in", k2, "udp",
                             Lab.peer_addr(k2, fam), EGRESS_PORT, s)
            # A source just outside the prefix (the inside host's own address when it is everything).
            if n.prefixlen:
                below = n.network_address - 1
                self.inside.add(str(below))
                self.known = bool(self.iface_noted & set(e["lines"]))
                self.add(f"{e['name'][0]} from {below} (other source)", "in", k, "tcp", Lab.peer_addr(k, fam),
                         EGRESS_PORT, str(below))
                self.known = False
            if "allow" in e:
                self.allow(e, k, srcs[0], fam, want)

    def serve_out(self, k, proto, port):
        (self.out_tcp if proto == "tcp" else self.out_udp)[k].add(port)

    @staticmethod
    def allowed(rules, proto, dst, port):
        """Whether the allow list lets (proto, dst, port) through (natgwd.conf(5), EGRESS ALLOW LISTS)."""
        for r in rules:
            rp = r.get("proto", ["all"])[0]
            if rp not in ("all", "tcp+udp", proto):
                continue
            if "to" in r and not any(ipaddress.ip_address(dst) in ipaddress.ip_network(t) for t in r["to"]):
                continue
            if "port" in r and not any(lo <= port <= hi for lo, hi in port_ranges(r["port"])):
                continue
            return True
        return False

    def allow(self, e, k, src, fam, want):
        """An allow list (the FORWARD chain's ACCEPTs): each rule's destination, protocol and
        first port pass (lab B shows the entry's translation); near misses: the next port, the
        other protocol, another destination. An ICMP rule: an echo request (allow_icmp())."""
        other = {"tcp": "udp", "udp": "tcp"}
        name = e["name"][0]
        for rule in e["allow"][:4]:
            proto = rule.get("proto", ["all"])[0]
            if proto == "icmp":
                self.allow_icmp(e, k, src, fam, want, rule)
                continue
            proto = "udp" if proto == "udp" else "tcp"
            port = port_ranges(rule["port"])[0][0] if "port" in rule else EGRESS_PORT
            dst = self.rule_dst(rule, k, fam)
            if dst is None:
                continue
            for p, pr in ((port, proto), (port + 1, proto), (port, other[proto])):
                if p <= 65535:
                    self.serve_out(k, pr, p)
            self.add(f"{name} allow {proto} {dst}:{port} from {src}", "in", k, proto, dst, port, src, want)
            if "port" in rule and port < 65535:
                self.near_miss(e, k, src, "next port", proto, dst, port + 1)
            if rule.get("proto", ["all"])[0] in ("tcp", "udp"):
                self.near_miss(e, k, src, "other protocol", other[proto], dst, port)
            if "to" in rule and dst != Lab.peer_addr(k, fam):
                self.near_miss(e, k, src, "other destination", proto, Lab.peer_addr(k, fam), port)

    def near_miss(self, e, k, src, label, proto, dst, port):
        """A probe beside one of entry @e's allow rules: blocked (dropped, or refused with
        deny = "reject") unless another rule of the list allows it."""
        blocked = ("blocked", "refused" if e.get("deny", ["drop"])[0] == "reject" else "timeout")
        what = f"icmp echo {dst}" if proto == "icmp" else f"{proto} {dst}:{port}"
        self.add(f"{e['name'][0]} {what} from {src} ({label})", "in", k, proto, dst, port, src,
                 None if self.allowed(e["allow"], proto, dst, port) else blocked)

    def rule_dst(self, rule, k, fam):
        """Where to probe an allow rule: an address of its destination (on outside host k), or
        outside host k's own without one; None when the destination is of the other family."""
        if "to" not in rule:
            return Lab.peer_addr(k, fam)
        net = ipaddress.ip_network(rule["to"][0])
        if net.version != fam:
            return None
        dst = str(net.network_address if net.num_addresses <= 2 else net.network_address + 1)
        if dst != Lab.peer_addr(k, fam):
            self.outside.add((k, dst))
        return dst

    def allow_icmp(self, e, k, src, fam, want, rule):
        """An ICMP allow rule: an echo request to its destination passes (lab B shows the entry's
        translation); near misses: TCP to the same destination, an echo to another one."""
        dst = self.rule_dst(rule, k, fam)
        if dst is None:
            return
        self.add(f"{e['name'][0]} allow icmp echo {dst} from {src}", "in", k, "icmp", dst, 0, src, want)
        self.near_miss(e, k, src, "other protocol", "tcp", dst, EGRESS_PORT)
        if "to" in rule and dst != Lab.peer_addr(k, fam):
            self.near_miss(e, k, src, "other destination", "icmp", Lab.peer_addr(k, fam), 0)

    def routed(self, config):
        """FORWARD DROP: an outside host that routes straight to an inside address (no DNAT) is
        dropped; an inside host's own address (no egress entry) does not get out."""
        drop = ("blocked", "timeout") if any(s == "filter" for s, _ in config) else None
        self.in_tcp.add(EGRESS_PORT)
        for k in range(min(len(self.ifaces), 2)):
            for addr in sorted(self.inside)[:2]:
                if ipaddress.ip_address(addr).version == 4:
                    self.add(f"routed to {addr} from {self.ifaces[k]} (no NAT)", "out", k, "tcp", addr, EGRESS_PORT,
                             Lab.peer_addr(k, 4), drop)
        self.add("the inside host's own address out (no egress entry)", "in", 0, "udp", Lab.peer_addr(0, 4),
                 EGRESS_PORT, "100.64.255.2", drop)


    def netmap(self, e):
        """Both ways by offset: outside clients to sampled outside addresses reach the inside
        address at the same offset; those inside hosts leave with their outside address; near
        misses: another interface, a source just below the inside prefix."""
        k = self.iface(e["interface"][0])
        inside, outside = ipaddress.ip_network(e["inside"][0]), ipaddress.ip_network(e["outside"][0])
        fam = inside.version
        src = Lab.peer_addr(k, fam)
        self.in_tcp.add(EGRESS_PORT)
        self.in_udp.add(EGRESS_PORT)
        for o in self.sample(outside):
            i = str(inside.network_address + (int(ipaddress.ip_address(o)) - int(outside.network_address)))
            self.inside.add(i)
            tgt = f"[{i}]" if fam == 6 else i
            for proto in ("tcp", "udp"):
                self.add(f"{e['name'][0]} {proto} to {o}", "out", k, proto, o, EGRESS_PORT, src,
                         rf"peer={re.escape(src if fam == 4 else '[' + src + ']')}:\d+ local={re.escape(tgt)}:{EGRESS_PORT} ")
                self.add(f"{e['name'][0]} {proto} from {i}", "in", k, proto, src, EGRESS_PORT, i, ("snat", o, o))
            if len(self.ifaces) > 1:
                k2 = (k + 1) % len(self.ifaces)
                self.add(f"{e['name'][0]} from {i} via {self.ifaces[k2]} (other interface)", "in", k2, "udp",
                         Lab.peer_addr(k2, fam), EGRESS_PORT, i)
        below = inside.network_address - 1
        self.inside.add(str(below))
        self.add(f"{e['name'][0]} from {below} (other source)", "in", k, "tcp", src, EGRESS_PORT, str(below))


def check_want(want, reply):
    if want is None:
        return True
    if isinstance(want, str):
        return re.match(want, reply) is not None
    if want[0] == "blocked":
        return reply == f"no reply: {want[1]}"
    m = re.match(r'peer=\[?([0-9a-f.:]+)\]?:\d+ ', reply)
    if not m:
        return False
    got = ipaddress.ip_address(m.group(1))
    if want[0] == "masq":
        return got == ipaddress.ip_address(want[1])
    return ipaddress.ip_address(want[1]) <= got <= ipaddress.ip_address(want[2])


# ---------------------------------------------------------------- one dump

NAT_VERB = re.compile(r'-j (DNAT|SNAT|MASQUERADE|REDIRECT|NETMAP)\b|\b(dnat|snat|masquerade|redirect)\b')


def interfaces(text, config):
    names = []
    for m in re.finditer(r'(?:-[io]|iifname|oifname)\s+"?([A-Za-z0-9_.+-]+)"?', text):
        if m.group(1) not in names and m.group(1) != "lo" and not m.group(1).endswith("+"):
            names.append(m.group(1))
    for _, e in config:
        for key in ("in_interface", "out_interface"):
            if key in e and e[key][0] not in names:
                names.append(e[key][0])
    return names or ["eth0"]


def one_dump(path, tmp):
    name = os.path.basename(path)
    nft = path.endswith(".nft")
    with open(path) as f:
        text = f.read()
    p = run([NATGWCTL, "import", "--from", "nft" if nft else "iptables-save", path], check=False)
    if p.returncode not in (0, 1) or not p.stdout:
        return 0
    config = parse_config(p.stdout)
    left_out = {int(m.group(1)) for m in re.finditer(r':(\d+): left out: ', p.stderr)}
    noted = {int(m.group(1)) for m in re.finditer(r':(\d+): note: does what an earlier rule does', p.stderr)}
    converted = {int(m.group(1)) for m in re.finditer(r'^  # line (\d+): ', p.stdout, re.M)}
    lines = text.splitlines()
    for i, line in enumerate(lines, 1):
        if NAT_VERB.search(re.sub(r'ct (status|state) \S+', '', line)) and not line.lstrip().startswith("#") and \
                i not in left_out | noted | converted:
            fail(f"{name}:{i}: a NAT rule neither converted nor reported: {line}")

    ifaces = interfaces(text, config)
    conf = os.path.join(tmp, name + ".conf")
    with open(conf, "w") as f:
        f.write(p.stdout)
    # An ACCEPT of a forward's target that names an out interface: the import takes it as the
    # route to the target (a note says so); in the lab the target is routed by lan0.
    routed = {int(x.group(1)): x.group(2) for x in
              re.finditer(r':(\d+): note: -o (\S+) is taken as the route to the forwards', p.stderr)}

    # An -i IN -o OUT ACCEPT taken as OUT's egress entries leaving: the lab's clients come by lan0.
    lan_iif = {int(x.group(1)): x.group(2) for x in
               re.finditer(r':(\d+): note: taken as: the egress entries of \S+ leave unrestricted\. natgwd '
                           r'matches their sources, not the in interface (\S+):', p.stderr)}

    # ... of one family in an inet chain, left out for the other (nft only): lab A keeps the half
    # that was converted.
    half = {int(x.group(1)): "ipv6" if x.group(2) == "IPv4" else "ipv4" for x in
            re.finditer(r':(\d+): left out: accepts every (IPv4|IPv6) source from', p.stderr)}

    def lab_line(i, line):
        if i in routed:
            line = re.sub(rf'(-o |oifname "?){re.escape(routed[i])}\b', r'\g<1>lan0', line)
        if i in lan_iif:
            line = re.sub(rf'(-i |iifname "?){re.escape(lan_iif[i])}\b', r'\g<1>lan0', line)
            if i in half and nft:
                line = re.sub(r'^(\s*)', rf'\g<1>meta nfproto {half[i]} ', line, count=1)
        return line

    kept = os.path.join(tmp, name + ".kept")
    with open(kept, "w") as f:
        f.write("\n".join(lab_line(i, line) for i, line in enumerate(lines, 1)
                          if i not in left_out or (i in lan_iif and i in half and nft)) + "\n")

    m = Matrix(ifaces)
    m.noted = {int(x.group(1)) for x in re.finditer(r':(\d+): note: (?!does what|taken as: the egress)', p.stderr)}
    m.iface_noted = set(lan_iif)
    forwards = [e for s, e in config if s == "forward"]
    for s, e in config:
        if s == "forward":
            m.forward(e, forwards)
        elif s == "netmap":
            m.netmap(e)
        elif s != "filter":
            m.egress(e)
    if any(s == "filter" or "allow" in e for s, e in config):
        m.routed(config)

    t0 = time.monotonic()

    def build(tag):
        lab = Lab(tag, ifaces)
        for addr in sorted(m.inside):
            lab.inside_addr(addr)
        for k, addr in sorted(m.outside):
            lab.outside_addr(k, addr)
        for k, addr in sorted(m.gw_local):
            lab.gw_local(k, addr)
        lab.apply()
        lab.warm_up()
        lab.serve(lab.inside, m.in_tcp, m.in_udp)
        for k, o in enumerate(lab.outside):
            lab.serve(o, m.out_tcp[k], m.out_udp[k])
        return lab

    # The two labs are built, and probed, side by side: they share nothing.
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        labs = list(pool.map(build, ("a", "b")))
    a, b = labs
    gwa = ["ip", "netns", "exec", a.gw]
    if nft:
        run(gwa + ["nft", "-f", kept])
    else:
        restore = "ip6tables-restore" if "ip6tables-save" in text else "iptables-restore"
        with open(kept) as f:
            run(gwa + [restore], input_text=f.read())
    sock = os.path.join(tmp, name + ".sock")
    natgwd = subprocess.Popen(["ip", "netns", "exec", b.gw, NATGWD, "-c", conf, "-S", sock],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, name + ".log"), "w"),
                              stdin=subprocess.DEVNULL)
    PROCS.append(natgwd)
    for _ in range(100):
        if "table inet natgw" in run(["ip", "netns", "exec", b.gw, "nft", "list", "tables"], check=False).stdout:
            break
        if natgwd.poll() is not None:
            fail(f"{name}: natgwd exited ({natgwd.returncode}): {open(os.path.join(tmp, name + '.log')).read()}")
        time.sleep(0.1)
    else:
        fail(f"{name}: natgwd did not create its table within 10 s")

    t1 = time.monotonic()
    # Probes are independent (each its own source port, so its own conntrack entry): they run
    # a few at a time, each in both labs.
    # The two labs' asks of a probe run side by side too: a blocked probe waits out its timeout
    # once, not twice.
    side_b = concurrent.futures.ThreadPoolExecutor(PROBES_AT_ONCE)

    def probe(pr):
        label, side, k, proto, dst, port, src, sport, want, loose, known = pr
        fb = side_b.submit(b.ask, b.inside if side == "in" else b.outside[k], proto, dst, port, src, sport)
        ra = a.ask(a.inside if side == "in" else a.outside[k], proto, dst, port, src, sport)
        rb = fb.result()
        out = []
        if want is not None and not check_want(want, rb):
            out.append(f"{label}: natgwd: {rb}; natgwd.conf(5) says: {want}")
        if loose:
            ra, rb = (re.sub(r'^(peer=\S+):\d+ ', r'\1:* ', r) for r in (ra, rb))
        if known:
            # The difference the import's note names, exactly: the script passes it untranslated.
            if not ra.startswith(f"peer={src}:") or rb != "no reply: timeout":
                out.append(f"{label}: want iptables to pass it untranslated and natgwd to drop it (the "
                           f"import's note): iptables: {ra} | natgwd: {rb}")
        elif ra != rb:
            out.append(f"{label}: iptables: {ra} | natgwd: {rb}")
        return out

    with concurrent.futures.ThreadPoolExecutor(PROBES_AT_ONCE) as pool:
        bad = [line for lines in pool.map(probe, m.probes) for line in lines]
    side_b.shutdown()
    t2 = time.monotonic()
    natgwd.terminate()
    natgwd.wait(timeout=10)
    PROCS.remove(natgwd)
    cleanup()
    t3 = time.monotonic()
    if bad:
        for line in bad:
            print(f"# {name}: {line}", file=sys.stderr)
        fail(f"{name}: {len(bad)} of {len(m.probes)} probes differ")
    matches = sum(1 for pr in m.probes if pr[8] is not None and pr[8][0] != "blocked")
    blocked = sum(1 for pr in m.probes if pr[8] is not None and pr[8][0] == "blocked")
    info(f"ok: {name}: {len(m.probes)} probes ({matches} matches, {len(m.probes) - matches} near misses, "
         f"{blocked} of them blocked by the filter) "
         f"see the same through iptables and natgwd (labs up {t1 - t0:.1f} s, probes {t2 - t1:.1f} s, "
         f"down {t3 - t2:.1f} s)")
    return len(m.probes)


def main():
    if os.geteuid() != 0:
        skip("needs root")
    for tool in (NATGWD, NATGWCTL, PEER):
        if not os.access(tool, os.X_OK):
            skip(f"no {tool} (build it first)")
    for tool in ("ip", "nft", "iptables-restore", "ip6tables-restore"):
        if run(["sh", "-c", f"command -v {tool}"], check=False).returncode != 0:
            skip(f"needs {tool}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    dumps = sys.argv[1:] or sorted(os.path.join(CORPUS, f) for f in os.listdir(CORPUS)
                                   if f.endswith((".rules", ".nft")))
    start = time.monotonic()
    total = n = 0
    with tempfile.TemporaryDirectory(prefix="natgw-lab.import.") as tmp:
        try:
            for d in dumps:
                k = one_dump(d, tmp)
                total += k
                n += k > 0
        finally:
            cleanup()
    if n == 0 or total == 0:
        fail("no dump was tried")
    info(f"PASS: {n} dumps, {total} probes, {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    main()

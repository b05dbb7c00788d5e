#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Egress allow lists (issue 14): new TCP connections per second from a LAN host out through a
masquerade entry whose allow list has 1 rule, against the same with R rules (--rules, 10,000;
the rule that allows the target among them), and against no list at all.

The lab of bench-datapath.py turned around (tests/bench/benchlib.py; nothing outside its
namespaces is touched): natgw-load `serve` on the wan host (198.51.100.7), `connect` on the
lan host (192.168.1.10) through the gateway's masquerade, C in flight (--concurrency, 64) for
S seconds (--seconds, 4) after a warm-up. Each new connection passes natgwd's forward filter:
the policy map, the entry's allow chain and one lookup in the allow set, whatever R is; then
the NAT rules. Rows run A B B A per repetition (1 rule, R rules), switched by `natgwctl
reload`, the order flipped every other repetition; the goal (R rules at least 0.9x the rate of
1 rule) is judged on the median of the repetitions' A-B-B-A ratios. "no list" is measured once
per repetition, for what the filter costs at all.

--quick: 1 repetition, 1,000 rules, 1 s runs, for CI (no timing asserted). Exit 0 when it all
worked, 1 when something did not (a connection refused or reset: the list denied it), 77 when
it cannot run (a failure under CI=true). Usage (root):
  tests/bench/bench-egress.py [BUILD_DIR] [--quick] [--runs N] [--rules R] [--seconds S]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import shutil

sys.dont_write_bytecode = True
import benchlib as B  # noqa: E402

TARGET = "198.51.100.7"


def write_config(path, rules):
    """A masquerade of the LAN with @rules allow rules (None: no list), the target's last."""
    lines = []
    if rules is not None:
        for i in range(rules - 1):
            # Hosts of 100.64.0.0/10 on a spread of ports and protocols: nothing the load uses.
            proto = ("tcp", "udp", "tcp+udp")[i % 3]
            lines.append('{ to = "100.%d.%d.%d"; proto = "%s"; port = %d; }'
                         % (64 + (i >> 16) % 64, (i >> 8) & 255, i & 255, proto, 1 + i % 60000))
        lines.append('{ to = "%s"; proto = "tcp"; port = %d; }' % (TARGET, B.TARGET_PORT))
    allow = "\n    allow = (\n      %s );" % ",\n      ".join(lines) if rules is not None else ""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write('version = 1;\non_exit = "remove";\nmasquerade = (\n  { name = "lan"; source = "192.168.1.0/24"; '
                'out_interface = "eth0";%s }\n);\n' % allow)
    os.rename(tmp, path)


def load(topo, paths, a):
    topo.ct_flush()
    r = subprocess.run(topo.lan.cmd(paths["load"], "connect", TARGET, B.TARGET_PORT, "--concurrency", a.concurrency,
                                    "--seconds", a.seconds, "--count", a.count),
                       capture_output=True, text=True, timeout=a.seconds + 60)
    rep = B.parse_kv(r.stdout)
    if r.returncode != 0 or not rep.get("ok"):
        raise B.Fail("natgw-load connect: no connection worked: %s %s" % (r.stdout.strip(), r.stderr.strip()))
    if rep["refused"] or rep["reset"]:
        raise B.Fail("connections refused or reset: the allow list denied them: %s" % r.stdout.strip())
    return rep


def measure(topo, paths, a, res, row):
    load(topo, paths, argparse.Namespace(**dict(vars(a), seconds=a.warmup)))
    rep = load(topo, paths, a)
    res.setdefault(row, []).append(rep["rate"])
    print("#   %-24s %8.0f conn/s (p50 %6.0f µs, p99 %6.0f µs)" % (row, rep["rate"], rep["p50_us"], rep["p99_us"]),
          flush=True)
    return rep["rate"]


def repetition(paths, a, tmp, res, flip, pairs):
    topo = B.Topology("eg")
    d = srv = None
    try:
        topo.lan.sysctl(net__ipv4__ip_local_port_range="1024 65535")
        srv = B.Proc(topo.wan.cmd(paths["load"], "serve", "--port", B.TARGET_PORT, "--bind", TARGET,
                                  "--seconds", 3600), tmp, "serve", ready="listening")
        conf = os.path.join(tmp, "natgwd.conf")
        rows = [(1, "1 allow rule"), (a.rules, "%d allow rules" % a.rules)]
        if flip:
            rows.reverse()
        write_config(conf, rows[0][0])
        d = B.Natgwd(paths, topo.gw, conf, tmp)
        d.start()
        current, rates = rows[0][0], {}
        for n, row in (rows[0], rows[1], rows[1], rows[0]):
            if n != current:
                write_config(conf, n)
                d.reload()
                current = n
            rates.setdefault(n, []).append(measure(topo, paths, a, res, row))
        pairs.append(sum(rates[a.rules]) / sum(rates[1]))
        write_config(conf, None)
        d.reload()
        measure(topo, paths, a, res, "no allow list")
        d.stop()
        d = None
        if srv.stop() != 0:
            raise B.Fail("natgw-load serve failed: %s" % srv.errtext())
        srv = None
    finally:
        B.cleanup(d and (lambda: d.stop(check=False)), srv and srv.stop, topo.close)


def run(a):
    paths = B.build_paths(a.build)
    B.need(paths, "natgwd", "natgwctl", "load", tools=("conntrack", "nft"))
    print("\n".join("# " + l for l in B.machine_info(paths)))
    print("# natgw-load: %d in flight for %g s, lan -> wan through the masquerade; medians of %d repetitions"
          % (a.concurrency, a.seconds, a.runs), flush=True)
    tmp = tempfile.mkdtemp(prefix="natgw-bench-eg.")
    res, pairs = {}, []
    try:
        for i in range(a.runs):
            print("# repetition %d of %d (load average %s)" % (i + 1, a.runs, B.loadavg()), flush=True)
            repetition(paths, a, tmp, res, i % 2 == 1, pairs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base = B.median(res["1 allow rule"])
    print("\n| configuration | new connections/s | vs 1 allow rule |")
    print("|---|---:|---:|")
    for row in ("no allow list", "1 allow rule", "%d allow rules" % a.rules):
        print("| %s | %.0f | %.2f× |" % (row, B.median(res[row]), B.median(res[row]) / base))
    print("\n%d allow rules: %.2f× the rate of 1 rule (goal: at least 0.9×), the median of the %d repetitions' "
          "A-B-B-A ratios (%s)" % (a.rules, B.median(pairs), len(pairs), ", ".join("%.2f" % p for p in pairs)))
    return 0


def main():
    ap = argparse.ArgumentParser(description="egress allow list benchmark (root; see the top of the file)")
    ap.add_argument("build", nargs="?", default=os.path.join(B.SRC, "build"), help="meson build dir (default build/)")
    ap.add_argument("--quick", action="store_true", help="1 repetition, 1,000 rules, 1 s runs: for CI")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--rules", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--count", type=int, default=100000)
    a = ap.parse_args()
    a.runs = a.runs or (1 if a.quick else 5)
    a.rules = a.rules or (1000 if a.quick else 10000)
    a.seconds = a.seconds or (1.0 if a.quick else 4.0)
    a.warmup = 0.2 if a.quick else 0.5
    if a.runs < 1 or not 2 <= a.rules <= 200000:
        ap.error("--runs positive; --rules 2-200000")
    return B.run_main("bench-egress", lambda: run(a))


sys.exit(main())

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
import sys

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


def repetition(paths, a, tmp, res, flip, pairs):
    topo = B.Topology("eg")
    d = srv = None
    try:
        topo.lan.sysctl(net__ipv4__ip_local_port_range="1024 65535")
        srv = B.Proc(topo.wan.cmd(paths["load"], "serve", "--port", B.TARGET_PORT, "--bind", TARGET,
                                  "--seconds", 3600), tmp, "serve", ready="listening")
        conf = os.path.join(tmp, "natgwd.conf")
        write_config(conf, a.rules if flip else 1)
        d = B.Natgwd(paths, topo.gw, conf, tmp)
        d.start()
        pairs.append(B.abba(((1, "1 allow rule"), (a.rules, "%d allow rules" % a.rules)), flip,
                            lambda n: (write_config(conf, n), d.reload()),
                            lambda row: B.lan_rate(topo, paths, a, res, row, TARGET, "the allow list denied them")))
        write_config(conf, None)
        d.reload()
        B.lan_rate(topo, paths, a, res, "no allow list", TARGET, "the allow list denied them")
        d.stop()
        d = None
        B.stop_server(srv)
        srv = None
    finally:
        B.cleanup(d and (lambda: d.stop(check=False)), srv and srv.stop, topo.close)


def run(a):
    paths = B.build_paths(a.build)
    B.need(paths, "natgwd", "natgwctl", "load", tools=("conntrack", "nft"))
    res, pairs = {}, []
    B.repetitions(a, paths, "eg", lambda tmp, i: repetition(paths, a, tmp, res, i % 2 == 1, pairs))
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
    B.rate_args(ap, "1 repetition, 1,000 rules, 1 s runs: for CI")
    ap.add_argument("--rules", type=int, default=None)
    a = B.rate_defaults(ap.parse_args())
    a.rules = a.rules or (1000 if a.quick else 10000)
    if a.runs < 1 or not 2 <= a.rules <= 200000:
        ap.error("--runs positive; --rules 2-200000")
    return B.run_main("bench-egress", lambda: run(a))


sys.exit(main())

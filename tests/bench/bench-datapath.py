#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Datapath scaling: new TCP connections per second through a DNAT forward, as the number of
forwards grows, natgwd against linear iptables rules, in one run.

A lab of three namespaces (tests/bench/benchlib.py: wan clients — gw — lan server; nothing
outside them is touched) with natgw-load: `serve` on the lan host (accept, one byte, close),
`connect` on the wan host opening connections to the gateway's wan address on the target
forward's port, as fast as they go with C in flight (--concurrency, 64), for S seconds
(--seconds, 4) or N connections (--count, 100,000), after a 0.5 s warm-up; then once more with
one in flight, for the latency of a single new connection with nothing queued in front of it.
Each connection is: handshake, the server's byte, RST from the client (no TIME_WAIT anywhere;
the gateway forgets closed entries after 1 s, set inside the lab only), so the conntrack table
stays far below its maximum: it is flushed before every run, and its drop counters are checked
after.

Rows (a fresh lab for every repetition; natgwd's two rows run A B B A, switched by `natgwctl
reload`, and every other repetition starts each pair with the big one, so that neither a drift
of the machine's load nor being first in a fresh lab falls on one row):
  natgwd, 1 forward           the target forward alone
  natgwd, F forwards          F forwards (--forwards, 50,000), the target among them (last in
                              the file: for natgwd's hash maps the place does not matter)
  iptables-nft, 1 rule        the target as one DNAT rule in PREROUTING
  iptables-nft, F rules       F linear DNAT rules, the target rule last: the worst case of a
                              linear list, every new connection walks all the others first
  iptables-legacy, 1 / F      the same with the legacy (x_tables) backend
Only the first packet of a connection goes through the nat chains (conntrack remembers the
rest), so what differs between the rows is the cost of one new connection's lookup.

The goal (natgwd at F forwards at least 0.9× its rate at 1) is judged on the median of the
repetitions' A-B-B-A ratios. Prints medians of R repetitions (--runs, 5; --quick: 1 repetition,
2,000 forwards, 1 s runs, for CI: no timing is asserted) and ratios. Exits 0 when everything
worked, 1 when something did not (natgwd not ready, a run without a single connection, refused
or reset connections), 77 when it cannot run (a failure under CI=true). Usage (root):
  tests/bench/bench-datapath.py [BUILD_DIR] [--quick] [--runs R] [--forwards F] [--seconds S]
"""
import argparse
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True
import benchlib as B  # noqa: E402

ROWS = ["natgwd", "iptables-nft", "iptables-legacy"]


def load(topo, paths, concurrency, seconds, count):
    """One natgw-load run from wan through gw; its report as a dict, plus conntrack figures."""
    topo.ct_flush()
    drops0 = topo.ct_drops()
    rep = B.connect_load(topo.wan, paths["load"], B.GW_WAN, concurrency, seconds, count,
                         "the forward did not translate them", "--from", B.CLIENT)
    rep["ct_after"] = topo.ct_count()
    rep["ct_drops"] = topo.ct_drops() - drops0
    return rep


def measure(topo, paths, a, res, row):
    # A short run first: neighbour entries, the server's first accepts, caches.
    load(topo, paths, a.concurrency, a.warmup, a.count)
    rate = load(topo, paths, a.concurrency, a.seconds, a.count)
    lat = load(topo, paths, 1, a.latency_seconds, a.latency_count)
    r = res.setdefault(row, {"rate": [], "p50": [], "p99": [], "lat50": [], "lat99": [], "failed": 0,
                             "timeout": 0, "ct_max": 0, "ct_drops": 0, "connections": 0})
    r["rate"].append(rate["rate"])
    r["p50"].append(rate["p50_us"])
    r["p99"].append(rate["p99_us"])
    r["lat50"].append(lat["p50_us"])
    r["lat99"].append(lat["p99_us"])
    for rep in (rate, lat):
        r["failed"] += int(rep["failed"])
        r["timeout"] += int(rep["timeout"])
        r["connections"] += int(rep["connections"])
        r["ct_max"] = max(r["ct_max"], int(rep["ct_after"]))
        r["ct_drops"] += int(rep["ct_drops"])
    print("#   %-28s %8.0f conn/s (p50 %6.0f µs, p99 %6.0f µs); one at a time: p50 %5.0f µs"
          % (row, rate["rate"], rate["p50_us"], rate["p99_us"], lat["p50_us"]), flush=True)
    return rate["rate"]


def repetition(paths, a, tmp, res, tools, flip, pairs):
    """One lab, every row. natgwd's two rows run A B B A (with @flip B A A B: what comes first in
    a fresh lab does not always fall on the same row), switched by `natgwctl reload`, so that a
    drift of the machine's load in between cancels out in their ratio, appended to @pairs."""
    topo = B.Topology("dp")
    d = srv = None
    try:
        srv = B.Proc(topo.lan.cmd(paths["load"], "serve", "--port", B.SERVER_PORT, "--seconds", 3600),
                     tmp, "serve", ready="listening")
        one, big = os.path.join(tmp, "one.conf"), os.path.join(tmp, "big.conf")
        conf = os.path.join(tmp, "natgwd.conf")
        B.write_datapath_config(one, 1)
        B.write_datapath_config(big, a.forwards)
        rows = [(one, "natgwd, 1 forward"), (big, "natgwd, %d forwards" % a.forwards)]
        if flip:
            rows.reverse()
        shutil.copy(rows[0][0], conf)
        d = B.Natgwd(paths, topo.gw, conf, tmp)
        d.start()
        current, rates = rows[0][0], {}
        for path, row in (rows[0], rows[1], rows[1], rows[0]):
            if path != current:
                shutil.copy(path, conf + ".tmp")
                os.rename(conf + ".tmp", conf)
                d.reload()
                current = path
            rates.setdefault(row, []).append(measure(topo, paths, a, res, row))
        pairs.append(sum(rates["natgwd, %d forwards" % a.forwards]) / sum(rates["natgwd, 1 forward"]))
        d.stop()  # on_exit = "remove": the table goes with it
        d = None
        if "table inet natgw" in topo.gw.out("nft", "list", "tables"):
            raise B.Fail("natgwd's table is still there after it stopped (on_exit = \"remove\")")

        for tool, name in tools:
            for n in ((a.forwards, 1) if flip else (1, a.forwards)):
                topo.gw.run(tool, input=B.iptables_rules(n), text=True)
                measure(topo, paths, a, res, "%s, %d rule%s" % (name, n, "" if n == 1 else "s"))
            topo.gw.run(tool, input="*nat\nCOMMIT\n", text=True)  # an empty nat table
            if name == "iptables-nft" and "table ip nat" in topo.gw.out("nft", "list", "tables"):
                topo.gw.run("nft", "delete", "table", "ip", "nat")
        B.stop_server(srv)
        srv = None
    finally:
        B.cleanup(d and (lambda: d.stop(check=False)), srv and srv.stop, topo.close)


def run(a):
    paths = B.build_paths(a.build)
    B.need(paths, "natgwd", "natgwctl", "load", tools=("conntrack", "nft"))
    tools = [(t, t.replace("-restore", "")) for t in ("iptables-nft-restore", "iptables-legacy-restore")
             if shutil.which(t)]
    print("\n".join("# " + l for l in B.machine_info(paths)))
    print("# natgw-load: %d in flight for %g s (at most %d connections), then 1 in flight for %g s; "
          "medians of %d repetitions" % (a.concurrency, a.seconds, a.count, a.latency_seconds, a.runs), flush=True)
    tmp = tempfile.mkdtemp(prefix="natgw-bench-dp.")
    res, pairs = {}, []
    try:
        for i in range(a.runs):
            print("# repetition %d of %d (load average %s)" % (i + 1, a.runs, B.loadavg()), flush=True)
            repetition(paths, a, tmp, res, tools, i % 2 == 1, pairs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    base = B.median(res["natgwd, 1 forward"]["rate"])
    print("\n| configuration | new connections/s | vs natgwd, 1 forward | p50 / p99 at %d in flight "
          "| one at a time: p50 / p99 | failed (timeouts) of all | conntrack peak, drops |" % a.concurrency)
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row, r in sorted(res.items(), key=lambda kv: ROWS.index(kv[0].split(",")[0]) * 2 + (
            0 if kv[0].split(", ")[1].startswith("1 ") else 1)):
        rate = B.median(r["rate"])
        print("| %s | %.0f | %.2f× | %.1f / %.1f ms | %.0f / %.0f µs | %d (%d) of %d | %d, %d |" % (
            row, rate, rate / base, B.median(r["p50"]) / 1000, B.median(r["p99"]) / 1000, B.median(r["lat50"]),
            B.median(r["lat99"]), r["failed"], r["timeout"], r["connections"], r["ct_max"], r["ct_drops"]))
    big = B.median(res["natgwd, %d forwards" % a.forwards]["rate"])
    # The ratio within a repetition (A B B A, seconds apart) is far less exposed to what else the
    # machine does than the ratio of the medians: it is the headline.
    print("\nnatgwd at %d forwards: %.2f× its rate at 1 forward (goal: at least 0.9×), the median of "
          "the %d repetitions' A-B-B-A ratios (%s); ratio of the medians above: %.2f×"
          % (a.forwards, B.median(pairs), len(pairs), ", ".join("%.2f" % p for p in pairs), big / base))
    for _, name in tools:
        r = res.get("%s, %d rules" % (name, a.forwards))
        if r:
            print("%s at %d linear rules (target last): %.3f× natgwd's rate at 1 forward; natgwd at %d is "
                  "%.0f× faster" % (name, a.forwards, B.median(r["rate"]) / base, a.forwards,
                                    big / B.median(r["rate"])))
    drops = sum(r["ct_drops"] for r in res.values())
    if drops:
        print("WARNING: the gateway's conntrack dropped %d packets: the figures are not clean" % drops)
    return 0


def main():
    ap = argparse.ArgumentParser(description="datapath scaling benchmark (root; see the top of the file)")
    ap.add_argument("build", nargs="?", default=os.path.join(B.SRC, "build"), help="meson build dir (default build/)")
    ap.add_argument("--quick", action="store_true", help="1 repetition, 2,000 forwards, 1 s runs: for CI")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--forwards", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=None, help="seconds of each rate run (4)")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--count", type=int, default=100000, help="at most this many connections per run")
    a = ap.parse_args()
    a.runs = a.runs or (1 if a.quick else 5)
    a.forwards = a.forwards or (2000 if a.quick else 50000)
    a.seconds = a.seconds or (1.0 if a.quick else 4.0)
    a.latency_seconds = 0.5 if a.quick else 1.0
    a.warmup = 0.2 if a.quick else 0.5
    a.latency_count = 2000
    if a.runs < 1 or a.forwards < 2 or a.forwards > 200000 or a.count < 1 or not 1 <= a.concurrency <= 4096:
        ap.error("--runs, --count positive; --forwards 2-200000; --concurrency 1-4096")
    return B.run_main("bench-datapath", lambda: run(a))


sys.exit(main())

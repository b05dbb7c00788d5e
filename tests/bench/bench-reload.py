#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Reload under load: `natgwctl reload` of a big config, again and again, while connections run
through the gateway on a forward that does not change; not one of them may fail.

A lab of three namespaces (tests/bench/benchlib.py; nothing outside them is touched). natgwd
in gw runs a config of F forwards (--forwards, 10,000) in two variants that differ in the
targets of a tenth of the other forwards, so that every reload really changes the table;
the forwards "target" (to natgw-load serve) and "stream" (to natgw-peer serve) stay as they
are. Measured:
  - idle: K reloads (alternating the variants) with no traffic, `natgwctl reload` wall time;
  - under load: N reloads (--reloads, 100) while natgw-load opens new connections through
    "target" at a steady rate (--rate, 2,000/s, 64 in flight) and 4 natgw-peer streams hold
    established connections through "stream" (one exchange every 100 ms each).
natgwctl talks to natgwd's control socket (in the benchmark's temporary directory) directly,
so the time is natgwctl's and natgwd's, not that of entering a namespace.

Goal: 0 failed or reset connections; the reload latency p50 / p99 is reported. Exits 1 when a
reload is rejected, an established stream breaks, a connection is refused or reset, or natgwd
stops. (Refusals were a race of replacing the whole table, about 1 in 100 reloads at 3,000 new
connections/s, until reloads became in-place updates: docs/PERFORMANCE.md.) Timeouts (a SYN
lost on a busy machine) are reported, and failed on only with --strict. 77 when it cannot run (a failure under CI=true). --quick: 1,000 forwards, 10 reloads, 500
connections/s, for CI; no timing is asserted. Usage (root):
  tests/bench/bench-reload.py [BUILD_DIR] [--quick] [--forwards F] [--reloads N] [--rate R] [--allow-from]
                              [--strict]
"""
import argparse
import os
import shutil
import signal
import sys
import tempfile
import time

sys.dont_write_bytecode = True
import benchlib as B  # noqa: E402

STREAMS = 4


def reloads(d, conf, variants, n, start):
    """@n reloads, alternating @variants from index @start; (seconds, kernel_ms, conntrack_deleted) lists."""
    times, kernel, deleted = [], [], 0
    for i in range(n):
        shutil.copy(variants[(start + i) % 2], conf + ".tmp")
        os.rename(conf + ".tmp", conf)
        dt, reply = d.reload()
        times.append(dt)
        kernel.append(reply.get("kernel_ms", float("nan")))
        deleted += reply.get("conntrack_deleted", 0)
        if not d.alive():
            raise B.Fail("natgwd exited during the reloads: " + d.tail())
    return times, kernel, deleted


def run(a):
    paths = B.build_paths(a.build)
    B.need(paths, "natgwd", "natgwctl", "load", "peer", tools=("conntrack", "nft"))
    print("\n".join("# " + l for l in B.machine_info(paths)))
    tmp = tempfile.mkdtemp(prefix="natgw-bench-reload.")
    topo = B.Topology("rl")
    procs, d = [], None
    try:
        conf, va, vb = (os.path.join(tmp, n) for n in ("natgwd.conf", "a.conf", "b.conf"))
        allow = "198.51.100.0/24" if a.allow_from else None
        B.write_datapath_config(va, a.forwards, stream=True, allow_from=allow)
        B.write_datapath_config(vb, a.forwards, changed=a.forwards // 10, stream=True, allow_from=allow)
        shutil.copy(va, conf)
        d = B.Natgwd(paths, topo.gw, conf, tmp)
        d.start()

        idle, idle_kernel, _ = reloads(d, conf, (vb, va), a.idle, 0)
        # The streams last long enough for all reloads, with room for a machine twice as busy.
        window = min(600.0, max(10.0, 2.5 * a.reloads * B.median(idle) + 5))
        srv = B.Proc(topo.lan.cmd(paths["load"], "serve", "--port", B.SERVER_PORT, "--seconds", window + 120),
                     tmp, "serve", ready="listening")
        procs.append(srv)
        peer = B.Proc(topo.lan.cmd(paths["peer"], "serve", "--tcp", B.STREAM_SERVER_PORT, "--count", 10000000,
                                   "--timeout", window + 120), tmp, "peer-serve", ready="listening")
        procs.append(peer)
        topo.ct_flush()
        load = B.Proc(topo.wan.cmd(paths["load"], "connect", B.GW_WAN, B.TARGET_PORT, "--from", B.CLIENT,
                                   "--rate", a.rate, "--concurrency", 64, "--seconds", window,
                                   "--count", int(a.rate * window) + 1, "--timeout", 5), tmp, "load")
        procs.append(load)
        streams = [B.Proc(topo.wan.cmd(paths["peer"], "stream", "tcp", B.GW_WAN, B.STREAM_PORT, "--seconds", window,
                                       "--from", B.STREAM_CLIENT, "--timeout", 5), tmp, "stream%d" % i)
                   for i in range(STREAMS)]
        procs.extend(streams)
        time.sleep(1.0)  # the load runs before the first reload
        t0 = time.monotonic()
        busy, busy_kernel, deleted = reloads(d, conf, (va, vb), a.reloads, 1)
        t_reloads = time.monotonic() - t0
        time.sleep(1.0)  # and after the last
        load.stop(signal.SIGTERM)
        rep = B.parse_kv(load.outtext())
        if not rep.get("ok"):
            raise B.Fail("natgw-load: no connection worked: %s %s" % (load.outtext(), load.errtext()))
        broken, exchanges = [], 0
        for s in streams:
            rc = s.wait(window + 30)
            ex = B.parse_kv(s.outtext()).get("exchanges", 0)
            exchanges += int(ex)
            if rc != 0:
                broken.append("%s after %d exchanges: %s" % (s.tag, ex, s.errtext().strip()))
        covered = t_reloads + 2.0 < window
        if not d.alive():
            raise B.Fail("natgwd exited: " + d.tail())
        d.stop()
        d = None

        print("# %d forwards; variants differ in the targets of %d others; natgwctl reload, seconds"
              % (a.forwards, a.forwards // 10))
        print("\n| reloads | while | latency p50 | p99 | max | kernel share p50 | rejected |")
        print("|---:|---|---:|---:|---:|---:|---:|")
        for n, what, t, k in ((a.idle, "idle", idle, idle_kernel),
                              (a.reloads, "%d new connections/s + %d streams" % (a.rate, STREAMS), busy, busy_kernel)):
            print("| %d | %s | %.3f | %.3f | %.3f | %.3f | 0 |" % (n, what, B.median(t), B.pct(t, 99), max(t),
                                                                  B.median(k) / 1000))
        print("\n| traffic during the %d reloads (%.1f s) | count |" % (a.reloads, t_reloads))
        print("|---|---:|")
        print("| new connections through the unchanged forward | %d (%.0f/s) |" % (rep["connections"], rep["rate"]))
        print("| of them failed: refused / reset / timed out / other | %d / %d / %d / %d |" % (
            rep["refused"], rep["reset"], rep["timeout"], rep["unreachable"] + rep["other"]))
        print("| connection latency p50 / p99 | %.0f / %.0f µs |" % (rep["p50_us"], rep["p99_us"]))
        print("| established streams broken | %d of %d (%d exchanges) |" % (len(broken), STREAMS, exchanges))
        print("| conntrack entries natgwd deleted as stale | %d |" % deleted)
        if not covered:
            print("NOTE: the reloads took longer than the streams ran (%.0f s): the last ones ran without them"
                  % window)
        if rep["failed"]:
            print("GOAL MISSED: %d of %d new connections failed during the reloads (refused: the SYN met the "
                  "gateway untranslated; timed out: lost on a busy machine)" % (rep["failed"], rep["connections"]))
        if broken:
            raise B.Fail("established streams broken during reloads: " + "; ".join(broken))
        if rep["refused"] or rep["reset"] or (a.strict and rep["failed"]):
            raise B.Fail("connections failed during reloads: %s" % load.outtext().strip())
        return 0
    finally:
        B.cleanup(d and (lambda: d.stop(check=False)), *[p.stop for p in procs], topo.close,
                  lambda: shutil.rmtree(tmp, ignore_errors=True))


def main():
    ap = argparse.ArgumentParser(description="reload-under-load benchmark (root; see the top of the file)")
    ap.add_argument("build", nargs="?", default=os.path.join(B.SRC, "build"), help="meson build dir (default build/)")
    ap.add_argument("--quick", action="store_true", help="1,000 forwards, 10 reloads: for CI")
    ap.add_argument("--forwards", type=int, default=None)
    ap.add_argument("--reloads", type=int, default=None)
    ap.add_argument("--rate", type=int, default=None, help="new connections per second (2000)")
    ap.add_argument("--allow-from", action="store_true",
                    help="the target forward has allow_from: its map is an interval map, recreated by every reload")
    ap.add_argument("--strict", action="store_true", help="fail also on new connections that timed out")
    a = ap.parse_args()
    a.forwards = a.forwards or (1000 if a.quick else 10000)
    a.reloads = a.reloads or (10 if a.quick else 100)
    a.rate = a.rate or (500 if a.quick else 2000)
    a.idle = 3 if a.quick else 20
    if a.forwards < 20 or a.forwards > 200000 or a.reloads < 1 or a.reloads > 10000 or a.rate < 1:
        ap.error("--forwards 20-200000, --reloads 1-10000, --rate positive")
    return B.run_main("bench-reload", lambda: run(a))


sys.exit(main())

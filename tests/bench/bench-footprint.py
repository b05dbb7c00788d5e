#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Footprint: natgwd's memory and start-up time as the number of forwards grows.

For each size N (--sizes, 1,1000,10000,50000 forwards) natgwd starts in a network namespace of
its own (nothing outside it is touched; the namespace is new for every run, so each start is a
first apply) on a control socket and a notify socket of the benchmark's own, and the benchmark
measures:
  - the time from starting natgwd until it sends READY=1 (libconfig, validation, compilation,
    the kernel's transaction, the kernel settings);
  - VmRSS and VmHWM (/proc/PID/status) after 6 s idle: what natgwd keeps (it gives the memory
    an apply freed back once it has been quiet for 5 s), and its peak;
  - VmRSS right after one `natgwctl reload` of the same file (what a burst of reloads keeps
    mapped), then VmRSS and VmHWM 6 s later (the peak of a reload).
Medians of R runs (--runs, 5; --quick: 2 runs of 1, 100 and 1,000 forwards, for CI: no timing
or size is asserted). Exits 0 when every start and reload worked, 1 when not, 77 when it cannot
run (a failure under CI=true). Usage (root):
  tests/bench/bench-footprint.py [BUILD_DIR] [--quick] [--runs R] [--sizes 1,1000,50000]
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True
import benchlib as B  # noqa: E402

KEYS = ("VmRSS", "VmHWM")
# natgwd trims its heap once quiet for 5 s (NATGWD_TRIM_DELAY_USEC).
QUIET_SEC = 6.0


def one_run(paths, conf, tmp):
    ns = B.Netns("natgw-bench-fp-%d" % os.getpid())
    d = None
    try:
        d = B.Natgwd(paths, ns, conf, tmp)
        ready = d.start()
        time.sleep(QUIET_SEC)
        idle = d.status(*KEYS)
        dt, _ = d.reload()
        busy = d.status(*KEYS)
        time.sleep(QUIET_SEC)
        after = d.status(*KEYS)
        after["busy"] = busy["VmRSS"]
        if not d.alive():
            raise B.Fail("natgwd exited: " + d.tail())
        d.stop()
        d = None
        return ready, idle, dt, after
    finally:
        B.cleanup(d and (lambda: d.stop(check=False)), ns.close)


def run(a):
    paths = B.build_paths(a.build)
    B.need(paths, "natgwd", "natgwctl")
    print("\n".join("# " + l for l in B.machine_info(paths)))
    print("# medians of %d runs; each start in a new namespace (a first apply); memory in MiB\n" % a.runs)
    print("| forwards | start → READY=1 | VmRSS idle | VmHWM after start | natgwctl reload "
          "| VmRSS right after a reload | VmRSS idle after a reload | VmHWM after a reload |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    tmp = tempfile.mkdtemp(prefix="natgw-bench-fp.")
    try:
        for n in a.sizes:
            conf = os.path.join(tmp, "natgwd-%d.conf" % n)
            B.write_datapath_config(conf, n)
            res = [one_run(paths, conf, tmp) for _ in range(a.runs)]
            mib = lambda i, k: B.median([r[i][k] for r in res]) / 1024.0  # noqa: E731
            print("| %d | %.3f s | %.1f | %.1f | %.3f s | %.1f | %.1f | %.1f |" % (
                n, B.median([r[0] for r in res]), mib(1, "VmRSS"), mib(1, "VmHWM"), B.median([r[2] for r in res]),
                mib(3, "busy"), mib(3, "VmRSS"), mib(3, "VmHWM")), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description="natgwd footprint benchmark (root; see the top of the file)")
    a = B.size_args(ap, 2, 5, "1,100,1000", "1,1000,10000,50000")
    return B.run_main("bench-footprint", lambda: run(a))


sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Metrics: the time to render the Prometheus exposition as the number of forwards grows.

For each size N (--sizes, 1,10000,50000 forwards) natgwd starts in a network namespace of its
own (nothing outside it is touched) and the benchmark asks for the exposition R times
(--runs, 10) with `natgwctl metrics`, measuring:
  - natgwd's own time to gather and render it (natgw_scrape_duration_seconds in the text:
    reading every named counter of the table from the kernel, then the text);
  - natgwctl's wall time (the above, plus the control socket and the JSON around the text);
  - the size of the exposition.
The loop is blocked for natgwd's own time, during which no other request is answered. Medians
(and the maximum of natgwd's time). --quick: 3 runs of 1 and 1,000 forwards, for CI (no timing
is asserted). Exits 0 when every start and request worked, 1 when not, 77 when it cannot run
(a failure under CI=true). Usage (root):
  tests/bench/bench-metrics.py [BUILD_DIR] [--quick] [--runs R] [--sizes 1,10000,50000]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
import benchlib as B  # noqa: E402


def one_size(paths, n, runs, tmp):
    conf = os.path.join(tmp, "natgwd-%d.conf" % n)
    B.write_datapath_config(conf, n)
    ns = B.Netns("natgw-bench-metrics-%d" % os.getpid())
    d = None
    try:
        d = B.Natgwd(paths, ns, conf, tmp)
        d.start()
        own, wall, size = [], [], 0
        for _ in range(runs):
            t = time.monotonic()
            r = subprocess.run([paths["natgwctl"], "-S", d.ctl_sock, "metrics"], capture_output=True, text=True,
                               timeout=B.TIMEOUT)
            wall.append(time.monotonic() - t)
            if r.returncode != 0:
                raise B.Fail("natgwctl metrics failed (exit %d): %s" % (r.returncode, r.stderr.strip()))
            m = re.search(r"^natgw_scrape_duration_seconds (\S+)$", r.stdout, re.M)
            rows = len(re.findall(r"^natgw_entry_connections_total\{", r.stdout, re.M))
            if not m or rows != n:
                raise B.Fail("the exposition has %d entry samples, want %d (and a duration): %s" % (
                    rows, n, r.stdout[:300]))
            own.append(float(m.group(1)))
            size = len(r.stdout)
        if not d.alive():
            raise B.Fail("natgwd exited: " + d.tail())
        d.stop()
        d = None
        return own, wall, size
    finally:
        B.cleanup(d and (lambda: d.stop(check=False)), ns.close)


def run(a):
    paths = B.build_paths(a.build)
    B.need(paths, "natgwd", "natgwctl")
    print("\n".join("# " + l for l in B.machine_info(paths)))
    print("# %d requests per size; natgwd's time is natgw_scrape_duration_seconds\n" % a.runs)
    print("| forwards | natgwd renders (median) | natgwd (max) | natgwctl metrics (median) | exposition |")
    print("|---:|---:|---:|---:|---:|")
    tmp = tempfile.mkdtemp(prefix="natgw-bench-metrics.")
    try:
        for n in a.sizes:
            own, wall, size = one_size(paths, n, a.runs, tmp)
            print("| %d | %.1f ms | %.1f ms | %.1f ms | %.1f KiB |" % (
                n, B.median(own) * 1e3, max(own) * 1e3, B.median(wall) * 1e3, size / 1024.0), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description="natgwd metrics rendering benchmark (root; see the top of the file)")
    a = B.size_args(ap, 3, 10, "1,1000", "1,10000,50000")
    return B.run_main("bench-metrics", lambda: run(a))


sys.exit(main())

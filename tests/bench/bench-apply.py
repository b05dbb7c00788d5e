#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Apply-speed benchmark: natgwd against nft -f and iptables-restore, in one run.

For each size N (forwards, plus E egress entries) it measures, in a network namespace of its
own (no traffic, nothing outside the namespace is touched):
  - natgwd first apply: start until READY=1 (sd_notify, read from a socket of our own);
  - natgwd reload: `natgwctl -S SOCK reload` of the same file, the wall time of that call
    (natgwctl talks to the benchmark's own control socket directly: no namespace to enter); an
    update that changes nothing (issue 18: no element, no rule but postrouting's is sent), so it
    is the cost of reading and checking the file, not of loading the table;
  - the kernel's share of the first apply: natgwd's own figure for sendmsg of the batch until
    the last ack (`kernel_ms` of status' last apply): the floor no userspace can beat;
  - nft -f of the same ruleset: natgwd's table as `nft list` prints it, renamed, loaded with
    the delete-and-recreate-in-one-file form, in a namespace of its own holding only that table
    (nft reads its namespace's whole ruleset first: natgwd's table beside it would slow it);
  - nft -f of the file someone would write by hand for the same translation (one map, one set,
    a rule each, no per-entry counters: gen-config.py), in a namespace of its own too;
  - iptables-nft-restore and iptables-legacy-restore of the equivalent linear rules.
Both nft -f files delete and recreate their table, as natgwd's first apply replaces its own: the
comparisons are with natgwd's first apply. Reports medians of R runs and ratios. Exits 0 when everything worked, 1 when not, 77 when it
cannot run (a failure under CI=true); --quick (sizes 100 and 1,000, 3 runs) is for CI and
asserts no timing. Usage (root):
  tests/bench/bench-apply.py [BUILD_DIR] [--quick] [--runs R] [--sizes 1000,10000,50000] [--egress 200]
"""
import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time

sys.dont_write_bytecode = True
import benchlib as B  # noqa: E402

HERE = B.HERE


def timed(fn):
    t = time.monotonic()
    fn()
    return time.monotonic() - t


def bench_size(paths, n, egress, runs, tmp):
    conf = os.path.join(tmp, "natgwd-%d.conf" % n)
    rules = os.path.join(tmp, "iptables-%d.rules" % n)
    hand = os.path.join(tmp, "hand-%d.nft" % n)
    B.sh(sys.executable, os.path.join(HERE, "gen-config.py"), str(n), str(egress), conf, rules, hand)

    first, replace, kernel = [], [], []
    lab = None
    try:
        for _ in range(runs):
            # A fresh namespace each time: "first apply" means no table yet.
            if lab:
                lab.close()
            lab = B.Netns("natgw-bench-%d" % os.getpid())
            d = B.Natgwd(paths, lab, conf, tmp)
            try:
                first.append(d.start())
                kernel.append(d.ctl("status")[2]["last_apply"]["kernel_ms"])
                dt, reply = d.reload()
                replace.append(dt)
            finally:
                d.stop(check=False)
            if d.proc.returncode != 0:
                raise B.Fail("natgwd exited with %s on SIGTERM: %s" % (d.proc.returncode, d.tail()))

        # nft -f of the very same ruleset (natgwd left its table behind), as its own table,
        # replaced in one file, in a namespace of its own: nft reads the whole ruleset of its
        # namespace before it applies anything, and natgwd's table there would count against it.
        dump = lab.out("nft", "list", "table", "inet", "natgw")
        dump = re.sub(r"^\tflags[^\n]*\n", "", dump, flags=re.M)  # owner/persist: natgwd's, not nft's
        dump = dump.replace("table inet natgw {", "table inet natgw_nft {", 1)
        # nft 1.0.6 cannot read back a counter name with ':' (natgwd's bytes:NAME, chosen so that
        # no entry name can collide), quoted or not: the copy names them with '_'.
        dump = re.sub(r"\b(bytes|denied|hosts):", r"\1_", dump)
        # Nor can it read back chain account's keys (ct original proto-dst in a concatenation):
        # the copy leaves out the per-entry traffic counting, its maps and counters (less for nft
        # to do than natgwd did).
        dump = re.sub(r"^\t(chain account|map \S+_bytes|counter bytes_\S+) \{\n.*?^\t\}\n\n?", "", dump,
                      flags=re.M | re.S)
        nftfile = os.path.join(tmp, "nft-%d.nft" % n)
        with open(nftfile, "w") as f:
            f.write("table inet natgw_nft\ndelete table inet natgw_nft\n" + dump)
        res = {"natgwd first apply": first, "natgwd reload": replace}
        for key, path in (("nft -f", nftfile), ("nft -f hand map", hand)):
            alone = B.Netns("natgw-bench-nft-%d" % os.getpid())
            try:
                alone.run("nft", "-f", path)  # the first load creates the table: not what is timed
                res[key] = [timed(lambda: alone.run("nft", "-f", path)) for _ in range(runs)]
            finally:
                alone.close()
        with open(rules) as f:
            data = f.read()
        for tool in ("iptables-nft-restore", "iptables-legacy-restore"):
            if shutil.which(tool):
                res[tool] = [timed(lambda: lab.run(tool, input=data, text=True)) for _ in range(runs)]
    finally:
        B.cleanup(lab and lab.close)
    return res, statistics.median(kernel) / 1000.0 if kernel else float("nan")


def run(a):
    paths = B.build_paths(a.build)
    B.need(paths, "natgwd", "natgwctl", tools=("nft",))
    print("\n".join("# " + l for l in B.machine_info(paths)))
    print("# medians of %d runs, seconds; %d egress entries in every config\n" % (a.runs, a.egress))
    print("| forwards | natgwd first apply | its kernel share | natgwd reload (no change) | nft -f | "
          "nft -f hand map | iptables-nft-restore | iptables-legacy-restore | first apply / nft -f | "
          "/ hand map | / kernel |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    tmp = tempfile.mkdtemp(prefix="natgw-bench.")
    try:
        for n in a.sizes:
            res, kernel = bench_size(paths, n, a.egress, a.runs, tmp)
            med = {k: statistics.median(v) for k, v in res.items()}
            col = lambda k: "%.3f" % med[k] if k in med else "n/a"  # noqa: E731
            first = med["natgwd first apply"]
            print("| %d | %s | %.3f | %s | %s | %s | %s | %s | %.2f× | %.2f× | %.2f× |" % (
                n, col("natgwd first apply"), kernel, col("natgwd reload"), col("nft -f"), col("nft -f hand map"),
                col("iptables-nft-restore"), col("iptables-legacy-restore"),
                first / med["nft -f"], first / med["nft -f hand map"], first / kernel), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description="apply-speed benchmark (root; see the top of the file)")
    ap.add_argument("build", nargs="?", default=os.path.join(B.SRC, "build"), help="meson build dir (default build/)")
    ap.add_argument("--quick", action="store_true", help="small sizes, for CI")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--sizes", default=None)
    ap.add_argument("--egress", type=int, default=200)
    a = ap.parse_args()
    try:
        a.sizes = [int(x) for x in (a.sizes or ("100,1000" if a.quick else "1000,10000,50000")).split(",")]
    except ValueError:
        ap.error("--sizes: a list of numbers")
    a.runs = a.runs or (3 if a.quick else 5)
    if a.runs < 1 or a.egress < 0 or any(n < 1 for n in a.sizes):
        ap.error("--runs and --sizes positive, --egress not negative")
    return B.run_main("bench-apply", lambda: run(a))


sys.exit(main())

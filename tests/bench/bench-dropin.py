#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Reloads that cost what changed (issue 18): include_dir with one big and one small drop-in.

In a network namespace of its own (no traffic; nothing outside it is touched), natgwd runs a
main file with include_dir, a drop-in big.conf of F forwards (--forwards, 50,000) and a drop-in
small.conf of one. Measured, medians of R runs (--runs), `natgwctl reload` wall time and the
kernel's share (natgwd's kernel_ms: sendmsg of the batch until the last ack):
  - no change: the same files again;
  - small changed: small.conf's forward gets another target (written to a temporary file and
    renamed, as configuration management does);
  - big changed: one forward of big.conf gets another target;
  - small and big changed again, natgwd quiet for 6 s before each: reloads in a row (the rows
    above, as configuration management sends them) find the memory the last one freed still
    mapped; after 5 s quiet natgwd has given it back, and the reload faults it in again;
  - full: the table replaced as a whole (natgwd restarted: its first apply);
  - small changed, the F forwards in D drop-ins of their own (--dropins, 1,000) instead of
    big.conf: one drop-in per tenant or service, as configuration management writes them
    (a reload must cost what changed whatever the number of files; natgwd restarted for it).
Also natgwd's CPU time (user + system, from /proc: the figure a loaded machine disturbs least)
and, for the full apply, its kernel share. Goals (docs/PERFORMANCE.md): small changed <= 0.10x
big changed; a no-change reload's kernel share <= 5 ms; a full apply <= 1.5x its kernel share. Nothing is asserted (a benchmark fails only when something does not work); 77
when it cannot run (a failure under CI=true). --quick: 2,000 forwards, 3 runs, 100 drop-ins.
Usage (root):
  tests/bench/bench-dropin.py [BUILD_DIR] [--quick] [--forwards F] [--runs R] [--dropins D]
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.dont_write_bytecode = True
import benchlib as B  # noqa: E402

# Files younger than this are not trusted by their times (lib/conf-cache.c): let them age.
RACY_SEC = 2.2
# natgwd gives the memory an apply freed back once it has been quiet for 5 s
# (NATGWD_TRIM_DELAY_USEC): a reload after this long finds it unmapped.
QUIET_SEC = 6.0


def write(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def big_text(n, variant, first=0):
    lines = []
    for i, iif, port, to in B.forward_lines(n, first):
        if i == 0 and variant:
            to = to.replace("192.168.", "192.169.", 1)
        lines.append('  { name = "f%d"; in_interface = "%s"; proto = "tcp"; port = %d; to = "%s:80"; reflection = false; }'
                     % (i, iif, port, to))
    return "forward = (\n%s\n);\n" % ",\n".join(lines)


def small_text(variant):
    return ('forward = ( { name = "small"; in_interface = "eth9"; proto = "udp"; port = 53; to = "10.9.9.%d:53"; } );\n'
            % (1 + variant % 2))


def cpu_ms(pid):
    """User + system CPU time of process @pid so far, milliseconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def ratio(x, y):
    """x / y as "0.123×"; "-" when y is 0 (a CPU time below /proc's 10 ms tick, as at --quick)."""
    return "%.3f×" % (x / y) if y else "-"


def run(a):
    paths = B.build_paths(a.build)
    B.need(paths, "natgwd", "natgwctl", tools=("nft",))
    print("\n".join("# " + l for l in B.machine_info(paths)))
    print("# %d forwards in big.conf, 1 in small.conf; medians of %d runs, milliseconds\n" % (a.forwards, a.runs))
    tmp = tempfile.mkdtemp(prefix="natgw-bench-dropin.")
    lab = d = None
    try:
        confd = os.path.join(tmp, "natgwd.conf.d")
        os.mkdir(confd)
        conf = os.path.join(tmp, "natgwd.conf")
        write(conf, 'version = 1;\non_exit = "remove";\ninclude_dir = "natgwd.conf.d";\n')
        big, small = os.path.join(confd, "big.conf"), os.path.join(confd, "small.conf")
        write(big, big_text(a.forwards, 0))
        write(small, small_text(0))
        time.sleep(RACY_SEC)
        lab = B.Netns("natgw-bench-dropin-%d" % os.getpid())
        d = B.Natgwd(paths, lab, conf, tmp)
        full, full_cpu, full_kernel = [], [], []

        def start():
            full.append(d.start() * 1000)
            full_cpu.append(cpu_ms(d.pid))
            full_kernel.append(d.ctl("status")[2]["last_apply"]["kernel_ms"])

        start()
        res = {}

        def measure(label, change, quiet=False):
            wall, kernel, cpu = [], [], []
            for i in range(a.runs):
                change(i)
                if quiet:
                    time.sleep(QUIET_SEC)
                c0 = cpu_ms(d.pid)
                dt, reply = d.reload()
                cpu.append(cpu_ms(d.pid) - c0)
                wall.append(dt * 1000)
                kernel.append(reply["kernel_ms"])
            res[label] = (statistics.median(wall), statistics.median(kernel), statistics.median(cpu))

        measure("no change", lambda i: None)
        measure("small.conf changed", lambda i: write(small, small_text(i + 1)))
        measure("big.conf changed (1 forward)", lambda i: write(big, big_text(a.forwards, (i + 1) % 2)))
        measure("small.conf changed, natgwd quiet before", lambda i: write(small, small_text(i + 1)), quiet=True)
        measure("big.conf changed, natgwd quiet before", lambda i: write(big, big_text(a.forwards, (i + 1) % 2)),
                quiet=True)
        d.stop()
        for _ in range(a.runs - 1):
            start()
            d.stop()
        d = None
        res["full (first apply, natgwd started)"] = tuple(statistics.median(v) for v in (full, full_kernel, full_cpu))
        # The same forwards in many drop-ins: one file per tenant.
        os.unlink(big)
        per = -(-a.forwards // a.dropins)
        for k in range(a.dropins):
            first = k * per
            if first < a.forwards:
                write(os.path.join(confd, "part-%05d.conf" % k), big_text(min(per, a.forwards - first), 0, first))
        time.sleep(RACY_SEC)
        d = B.Natgwd(paths, lab, conf, tmp)
        d.start()
        measure("small.conf changed, the forwards in %d drop-ins" % a.dropins, lambda i: write(small, small_text(i + 1)))
        d.stop()
        d = None
        print("| reload | wall | kernel share | natgwd CPU |")
        print("|---|---:|---:|---:|")
        for k, (wall, kernel, cpu) in res.items():
            print("| %s | %.1f | %.1f | %.0f |" % (k, wall, kernel, cpu))
        small, big = res["small.conf changed"], res["big.conf changed (1 forward)"]
        print("\nsmall changed / big changed, reloads in a row: %s (wall), %s (CPU)"
              % (ratio(small[0], big[0]), ratio(small[2], big[2])))
        small, big = res["small.conf changed, natgwd quiet before"], res["big.conf changed, natgwd quiet before"]
        print("small changed / big changed, natgwd quiet before each: %s (wall), %s (CPU)"
              % (ratio(small[0], big[0]), ratio(small[2], big[2])))
        print("full apply / its kernel share: %.2f×" % (res["full (first apply, natgwd started)"][0] /
                                                        res["full (first apply, natgwd started)"][1]))
        print("small changed, the forwards in %d drop-ins / in one: %s (wall)"
              % (a.dropins, ratio(res["small.conf changed, the forwards in %d drop-ins" % a.dropins][0],
                                  res["small.conf changed"][0])))
    finally:
        B.cleanup(d and (lambda: d.stop(check=False)), lab and lab.close)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description="include_dir reload benchmark (root; see the top of the file)")
    ap.add_argument("build", nargs="?", default=os.path.join(B.SRC, "build"), help="meson build dir (default build/)")
    ap.add_argument("--quick", action="store_true", help="small sizes, for CI")
    ap.add_argument("--forwards", type=int, default=None)
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--dropins", type=int, default=None)
    a = ap.parse_args()
    a.forwards = a.forwards or (2000 if a.quick else 50000)
    a.runs = a.runs or (3 if a.quick else 7)
    a.dropins = a.dropins or (100 if a.quick else 1000)
    if a.forwards < 1 or a.runs < 1 or a.dropins < 1:
        ap.error("--forwards, --runs and --dropins positive")
    return B.run_main("bench-dropin", lambda: run(a))


sys.exit(main())

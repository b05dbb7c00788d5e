#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Apply-speed benchmark: natgwd against nft -f and iptables-restore, in one run.

For each size N (forwards, plus E egress entries) it measures, in a network namespace of its
own (no traffic, nothing outside the namespace is touched):
  - natgwd first apply: start until READY=1 (sd_notify, read from a socket of our own);
  - natgwd replace: SIGHUP until the next READY=1;
  - the kernel's share: natgwd's own figure for sendmsg of the batch until the last ack;
  - nft -f of the same ruleset: natgwd's table as `nft list` prints it, renamed, loaded with
    the delete-and-recreate-in-one-file form;
  - iptables-nft-restore and iptables-legacy-restore of the equivalent linear rules.
Reports medians of R runs and ratios. Usage (root):
  tests/bench/bench-apply.py [--quick] [--runs R] [--sizes 1000,10000,50000] [--egress 200]
"""
import argparse
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
NATGWD = os.environ.get("NATGWD", os.path.join(SRC, "build", "daemon", "natgwd"))
TIMEOUT = 120  # seconds, for any single step


def sh(*args, **kw):
    return subprocess.run(args, check=True, timeout=TIMEOUT, **kw)


class Lab:
    def __init__(self):
        self.ns = "natgw-bench-%d" % os.getpid()
        sh("ip", "netns", "add", self.ns)
        self.run("ip", "link", "set", "lo", "up")

    def run(self, *args, **kw):
        return sh("ip", "netns", "exec", self.ns, *args, **kw)

    def close(self):
        subprocess.run(["ip", "netns", "del", self.ns], timeout=TIMEOUT)


class Natgwd:
    """natgwd in the lab namespace, with a notify socket of our own."""

    def __init__(self, lab, conf, tmp):
        self.path = os.path.join(tmp, "notify.sock")
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(TIMEOUT)
        env = dict(os.environ, NOTIFY_SOCKET=self.path)
        self.log = open(os.path.join(tmp, "natgwd.log"), "w+")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(["ip", "netns", "exec", lab.ns, NATGWD, "-c", conf],
                                     env=env, stderr=self.log)

    def wait_ready(self):
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("natgwd exited: " + self.logtext())
            msg = self.sock.recv(4096).decode()
            if "READY=1" in msg.split("\n"):
                return time.monotonic()

    def reload(self):
        t = time.monotonic()
        self.proc.send_signal(signal.SIGHUP)
        return self.wait_ready() - t

    def logtext(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def kernel_ms(self):
        found = re.findall(r"kernel ([0-9.]+) ms", self.logtext())
        return [float(x) for x in found]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=TIMEOUT)
        self.sock.close()
        os.unlink(self.path)


def timed(fn):
    t = time.monotonic()
    fn()
    return time.monotonic() - t


def machine_info():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    def ver(*cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip().split("\n")[0]
        except OSError:
            return "n/a"
    return [
        "cpu: %s (%d cores)" % (cpu, os.cpu_count()),
        "kernel: %s" % platform.release(),
        "natgwd: %s" % ver(NATGWD, "-V"),
        "nft: %s" % ver("nft", "--version"),
        "iptables: %s" % ver("iptables-nft", "--version"),
    ]


def bench_size(lab, n, egress, runs, tmp):
    conf = os.path.join(tmp, "natgwd-%d.conf" % n)
    rules = os.path.join(tmp, "iptables-%d.rules" % n)
    sh(sys.executable, os.path.join(HERE, "gen-config.py"), str(n), str(egress), conf, rules)

    first, replace, kernel = [], [], []
    for _ in range(runs):
        # A fresh namespace each time: "first apply" means no table yet.
        lab.close()
        lab.__init__()
        d = Natgwd(lab, conf, tmp)
        first.append(d.wait_ready() - d.t0)
        replace.append(d.reload())
        kernel.extend(d.kernel_ms())
        d.stop()

    # nft -f of the very same ruleset, as its own table, replaced in one file.
    dump = lab.run("nft", "list", "table", "inet", "natgw", capture_output=True, text=True).stdout
    dump = re.sub(r"^\tflags[^\n]*\n", "", dump, flags=re.M)  # owner/persist: natgwd's, not nft's
    dump = dump.replace("table inet natgw {", "table inet natgw_nft {", 1)
    nftfile = os.path.join(tmp, "nft-%d.nft" % n)
    with open(nftfile, "w") as f:
        f.write("table inet natgw_nft\ndelete table inet natgw_nft\n" + dump)
    nft = [timed(lambda: lab.run("nft", "-f", nftfile)) for _ in range(runs)]

    res = {"natgwd first apply": first, "natgwd replace": replace, "nft -f": nft}
    for tool in ("iptables-nft-restore", "iptables-legacy-restore"):
        if shutil.which(tool):
            with open(rules) as f:
                data = f.read()
            res[tool] = [timed(lambda: lab.run(tool, input=data, text=True)) for _ in range(runs)]
    return res, statistics.median(kernel) / 1000.0 if kernel else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes, for CI")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--sizes", default=None)
    ap.add_argument("--egress", type=int, default=200)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("bench-apply: needs root (network namespaces)", file=sys.stderr)
        return 77
    sizes = [int(x) for x in (a.sizes or ("100,1000" if a.quick else "1000,10000,50000")).split(",")]
    runs = a.runs or (3 if a.quick else 5)

    print("\n".join("# " + l for l in machine_info()))
    print("# medians of %d runs, seconds; %d egress entries in every config\n" % (runs, a.egress))
    print("| forwards | natgwd first apply | natgwd replace | kernel share | nft -f | "
          "iptables-nft-restore | iptables-legacy-restore | natgwd / nft -f | natgwd / kernel |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lab = Lab()
    tmp = tempfile.mkdtemp(prefix="natgw-bench.")
    try:
        for n in sizes:
            res, kernel = bench_size(lab, n, a.egress, runs, tmp)
            med = {k: statistics.median(v) for k, v in res.items()}
            col = lambda k: "%.3f" % med[k] if k in med else "n/a"
            print("| %d | %s | %s | %.3f | %s | %s | %s | %.2f× | %.2f× |" % (
                n, col("natgwd first apply"), col("natgwd replace"), kernel, col("nft -f"),
                col("iptables-nft-restore"), col("iptables-legacy-restore"),
                med["natgwd replace"] / med["nft -f"], med["natgwd replace"] / kernel), flush=True)
    finally:
        lab.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


sys.exit(main())

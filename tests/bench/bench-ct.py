#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Conntrack benchmark: natgwd against a full conntrack table, in one run.

In a network namespace of its own (nothing outside it is touched; deleting the namespace at
the end frees every entry), with a natgwd started on a control socket and a config of its own
(one masquerade entry and `conntrack = { interval = ...; };`), it fills the table to
nf_conntrack_max with natgw-ct-fill (ASSURED entries: the kernel really refuses more) and
measures:
  (a) `natgwctl -j conntrack` on the full table: natgwd's own dump_ms and the wall time of the
      command, medians of R runs, against `conntrack -L | wc -l` and `conntrack -C` in the same
      namespace; natgwd's memory across the dumps (VmRSS/VmHWM before, after);
  (b) the CPU cost of natgwd's table watch: a second natgwd with a 0.1 s interval (natgwd's
      status says which interval it uses; the one written is the fallback), its CPU over W idle
      seconds divided by the polls, once against the full table and once after conntrack -F.
      utime+stime come in clock ticks (10 ms), too coarse for W seconds of polls: the per-poll
      figure uses the scheduler's run time (/proc/PID/task/*/schedstat) where there is one.
      For some 30 s after a fill every poll costs several times more (measured on 6.18: it
      follows the table's age, not natgwd's), so the full-table window starts once the table is
      --settle seconds old (45; 0 with --quick) and the output says how old it was;
  (c) how long after the table is full natgwd's status says so (`.conntrack.level` = "full",
      polled every 50 ms), over several fills (flushed in between), and how much of it was the
      table dump the watch itself makes at a level change; "n/a" when natgwd reports no level.
The fill sources default to 10.96.0.0/14, a distinct address per entry: the worst case for the
top-N aggregation of natgwctl conntrack (--src 10.99.0.0/16 gives 4 entries per source).

Not part of the default test run. Usage (root):
  tests/bench/bench-ct.py [BUILD_DIR] [--quick] [--runs R] [--idle W] [--src CIDR]
BUILD_DIR defaults to build/ (daemon/natgwd, daemon/natgwctl, tests/lab/natgw-ct-fill).
--quick (3 runs, 5 s idle windows, about 30 s in all) is meant for CI, e.g.
  CI=true tests/bench/bench-ct.py build-ci --quick
It exits 0 when every step worked and the numbers add up (the fill ends at a full table, every
dump counts the whole table, natgwd stays up and reports "full" within 15 s), 1 when not, 77
when it cannot run (no root, no namespaces, no conntrack tool, not built): a failure instead
under CI=true.
"""
import argparse
import ipaddress
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
import benchlib as B  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
TIMEOUT = 120  # seconds, for any single step
FULL_WAIT = 15.0  # seconds to wait for level "full" after the fill
HZ = os.sysconf("SC_CLK_TCK")


class Skip(Exception):
    pass


def sh(*args, **kw):
    return subprocess.run(args, check=True, timeout=TIMEOUT, **kw)


class Lab:
    def __init__(self):
        self.ns = "natgw-bench-ct-%d" % os.getpid()
        try:
            sh("ip", "netns", "add", self.ns, stderr=subprocess.PIPE)
        except subprocess.CalledProcessError as e:
            raise Skip("cannot create a network namespace: %s" % e.stderr.decode().strip())
        self.run("ip", "link", "set", "lo", "up")

    def run(self, *args, **kw):
        return sh("ip", "netns", "exec", self.ns, *args, **kw)

    def out(self, *args):
        return self.run(*args, capture_output=True, text=True).stdout

    def close(self):
        subprocess.run(["ip", "netns", "del", self.ns], timeout=TIMEOUT)


def write_config(path, interval):
    with open(path, "w") as f:
        f.write('version = 1;\n'
                'masquerade = (\n'
                '  { name = "lan"; source = "10.99.0.0/16"; out_interface = "eth0"; }\n'
                ');\n'
                'conntrack = { interval = %s; };\n' % interval)
    return interval


class Natgwd:
    """natgwd in the lab namespace on a control socket and a notify socket of our own."""

    def __init__(self, lab, paths, conf, tmp, tag):
        self.paths, self.lab = paths, lab
        self.ctl = os.path.join(tmp, "control-%s.sock" % tag)
        self.notify = os.path.join(tmp, "notify-%s.sock" % tag)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.notify)
        self.log = open(os.path.join(tmp, "natgwd-%s.log" % tag), "w+")
        env = dict(B.unit_env(), NOTIFY_SOCKET=self.notify)
        # `ip netns exec` execs natgwd itself: the pid is natgwd's.
        self.proc = subprocess.Popen(["ip", "netns", "exec", lab.ns, paths["natgwd"], "-c", conf, "-S", self.ctl],
                                     env=env, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        self.pid = self.proc.pid
        self.filled = None
        try:
            self.wait_ready()
        except BaseException:
            self.stop()  # never leave a natgwd behind in a namespace about to go away
            raise

    def wait_ready(self):
        deadline = time.monotonic() + TIMEOUT
        self.sock.settimeout(0.5)
        while True:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("natgwd did not get ready: " + self.logtext())
            try:
                if "READY=1" in self.sock.recv(4096).decode().split("\n"):
                    return
            except socket.timeout:
                pass

    def ctl_json(self, *args):
        r = self.lab.run(self.paths["natgwctl"], "-S", self.ctl, "-j", *args, capture_output=True, text=True)
        return json.loads(r.stdout)

    def status(self, *keys):
        """/proc/PID/status values in kB."""
        return B.proc_status(self.pid, *keys)

    def cpu_sec(self):
        """utime + stime (clock ticks: 10 ms steps at HZ 100) and the scheduler's run time of
        every thread (nanoseconds, from schedstat; None where the kernel lacks it)."""
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # utime and stime: fields 14 and 15 of stat(5), 12 and 13 after "pid (comm)".
        ticks = (int(fields[11]) + int(fields[12])) / HZ
        run = 0
        try:
            for t in os.listdir("/proc/%d/task" % self.pid):
                with open("/proc/%d/task/%s/schedstat" % (self.pid, t)) as f:
                    run += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return ticks, None
        return ticks, run / 1e9

    def where(self):
        """What natgwd is doing: its state and where in the kernel it waits (for a failure report)."""
        try:
            with open("/proc/%d/wchan" % self.pid) as f:
                wchan = f.read()
            with open("/proc/%d/stat" % self.pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            return "state %s, waiting in %s" % (state, wchan or "-")
        except OSError:
            return "gone"

    def alive(self):
        return self.proc.poll() is None

    def logtext(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=TIMEOUT)
        if self.sock.fileno() >= 0:
            self.sock.close()
            os.unlink(self.notify)


def timed(fn):
    t = time.monotonic()
    r = fn()
    return time.monotonic() - t, r


def machine_info(paths, lab):
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass

    def ver(*cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (r.stdout or r.stderr).strip().split("\n")[0]
        except OSError:
            return "n/a"
    return [
        "cpu: %s (%d cores)" % (cpu, os.cpu_count()),
        "kernel: %s" % platform.release(),
        "natgwd: %s" % ver(paths["natgwd"], "-V"),
        "conntrack: %s" % ver("conntrack", "--version"),
        "libnetfilter_conntrack: %s" % ver("pkg-config", "--modversion", "libnetfilter_conntrack"),
        "nf_conntrack_max %s, buckets %s (the namespace's view)" % (
            lab.out("sysctl", "-n", "net.netfilter.nf_conntrack_max").strip(),
            lab.out("sysctl", "-n", "net.netfilter.nf_conntrack_buckets").strip()),
    ]


def fill(lab, paths, count, src):
    """natgw-ct-fill up to @count entries, allowed to end at a full table; its report as a dict."""
    dst = "198.51.100.1" if ipaddress.ip_network(src, strict=False).version == 4 else "2001:db8::1"
    r = lab.run(paths["fill"], "--count", str(count), "--src", src, "--dst", dst,
                "--allow-full", capture_output=True, text=True)
    return dict(kv.split("=", 1) for kv in r.stdout.split())


def wait_full(d, t_full):
    """Seconds from @t_full until natgwd's status reports level "full"; None when it has no level."""
    deadline = t_full + FULL_WAIT
    while True:
        ct = d.ctl_json("status").get("conntrack") or {}
        if "level" not in ct:
            return None, ct
        if ct["level"] == "full":
            return time.monotonic() - t_full, ct
        if time.monotonic() > deadline:
            raise RuntimeError("natgwd did not report level full within %.0f s: %s" % (FULL_WAIT, ct))
        time.sleep(0.05)


def wait_not_full(d):
    """After a flush: bounded wait until natgwd's level leaves "full" (no level: at once)."""
    deadline = time.monotonic() + FULL_WAIT
    while (d.ctl_json("status").get("conntrack") or {}).get("level", "ok") == "full":
        if time.monotonic() > deadline:
            raise RuntimeError("natgwd still reports level full %.0f s after conntrack -F" % FULL_WAIT)
        time.sleep(0.05)


def bench_full(lab, paths, d, runs, src):
    """Fill to the max @runs times (flushed in between); the fill times, the delays until
    natgwd reports "full" (None when it has no level) and the durations of the table dump the
    watch makes when the level changes. The table is left full."""
    mx = int(lab.out("sysctl", "-n", "net.netfilter.nf_conntrack_max"))
    fills, delays, tops = [], [], []
    for i in range(runs):
        if i:
            lab.run("conntrack", "-F", stderr=subprocess.DEVNULL)
            wait_not_full(d)
        t, rep = timed(lambda: fill(lab, paths, mx + 1000, src))
        t_full = time.monotonic()
        count = int(lab.out("conntrack", "-C"))
        if count != mx or rep.get("first_error") != "ENOMEM":
            raise RuntimeError("the fill did not end at a full table: %s, count %d of %d" % (rep, count, mx))
        fills.append(t)
        d.filled = t_full
        delay, ct = wait_full(d, t_full)
        if delay is None:
            return fills, None, None, rep, count
        delays.append(delay)
        top = ct.get("last_top") or {}
        if top.get("level") == "full" and "dump_ms" in top:
            tops.append(top["dump_ms"] / 1000.0)
    return fills, delays, tops, rep, count


def bench_dumps(lab, d, runs, expect):
    res = {"natgwctl conntrack (dump_ms)": [], "natgwctl conntrack (wall)": [],
           "conntrack -L | wc -l": [], "conntrack -C": []}
    before = d.status("VmRSS", "VmHWM")
    for _ in range(runs):
        t, reply = timed(lambda: d.ctl_json("conntrack"))
        if not reply.get("ok") or reply.get("total") != expect:
            raise RuntimeError("natgwctl conntrack: total %s, want %d" % (reply.get("total"), expect))
        res["natgwctl conntrack (dump_ms)"].append(reply["dump_ms"] / 1000.0)
        res["natgwctl conntrack (wall)"].append(t)
    after = d.status("VmRSS", "VmHWM")
    for _ in range(runs):
        t, out = timed(lambda: lab.out("sh", "-c", "conntrack -L 2>/dev/null | wc -l"))
        if int(out) != expect:
            raise RuntimeError("conntrack -L listed %s entries, want %d" % (out.strip(), expect))
        res["conntrack -L | wc -l"].append(t)
        t, out = timed(lambda: lab.out("conntrack", "-C"))
        res["conntrack -C"].append(t)
    return res, before, after


def idle_window(d, idle, interval, filled):
    """natgwd's CPU over @idle seconds (the table filled at @filled): a dict of the figures."""
    st0 = d.ctl_json("status").get("conntrack") or {}
    (c0, r0), t0 = d.cpu_sec(), time.monotonic()
    time.sleep(idle)
    (c1, r1), t1 = d.cpu_sec(), time.monotonic()
    if not d.alive():
        raise RuntimeError("natgwd exited during the idle window: " + d.logtext())
    st1 = d.ctl_json("status").get("conntrack") or {}
    # The interval natgwd says it uses wins over the one written (older natgwd: no such field).
    interval = st1.get("interval", interval)
    res = {"window": t1 - t0, "interval": interval, "age": t0 - filled, "polls": (t1 - t0) / interval, "ticks": c1 - c0,
           "run": (r1 - r0) if r0 is not None and r1 is not None else None, "watch": "level" in st1,
           "count": st1.get("count"), "check_ms": st1.get("check_ms_average"),
           # A top-N dump of the watch inside the window (every minute at level warn or above).
           "top_dump": (st0.get("last_top") or {}).get("time") != (st1.get("last_top") or {}).get("time")}
    res["cpu_ms"] = (res["run"] if res["run"] is not None else res["ticks"]) * 1000
    return res


def poll_cost(lab, paths, tmp, idle, filled, settle):
    """natgwd's CPU over @idle seconds with a 0.1 s interval: against the full table (filled at
    @filled, once it is @settle seconds old), then after conntrack -F against an empty one."""
    conf = os.path.join(tmp, "poll.conf")
    interval = write_config(conf, 0.1)
    d = Natgwd(lab, paths, conf, tmp, "poll")
    try:
        time.sleep(max(1.0, filled + settle - time.monotonic()))  # past the start-up work
        full = idle_window(d, idle, interval, filled)
        lab.run("conntrack", "-F", stderr=subprocess.DEVNULL)
        wait_not_full(d)
        time.sleep(1.0)
        empty = idle_window(d, idle, interval, time.monotonic())
    finally:
        d.stop()
    return full, empty


def main():
    ap = argparse.ArgumentParser(description="conntrack benchmark of natgwd (root; see the top of the file)")
    ap.add_argument("build", nargs="?", default=os.path.join(SRC, "build"), help="meson build dir (default build/)")
    ap.add_argument("--quick", action="store_true", help="3 runs, 5 s idle: for CI")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--idle", type=float, default=None, help="seconds of idle CPU measurement")
    ap.add_argument("--settle", type=float, default=None,
                    help="age of the full table before its idle window (default 45 s, 0 with --quick)")
    ap.add_argument("--src", default="10.96.0.0/14",
                    help="sources of the fill entries (default: a distinct address for each entry, the "
                         "worst case for natgwctl conntrack; 10.99.0.0/16 gives 4 entries per source)")
    a = ap.parse_args()
    try:
        sources = ipaddress.ip_network(a.src, strict=False).num_addresses
    except ValueError:
        ap.error("--src: not a CIDR: %s" % a.src)
    if (a.runs is not None and a.runs < 1) or (a.idle is not None and a.idle <= 0):
        ap.error("--runs and --idle must be positive")
    runs = a.runs or (3 if a.quick else 7)
    idle = a.idle or (5.0 if a.quick else 20.0)
    settle = a.settle if a.settle is not None else (0.0 if a.quick else 45.0)
    b = os.path.abspath(a.build)
    paths = {"natgwd": os.path.join(b, "daemon", "natgwd"), "natgwctl": os.path.join(b, "daemon", "natgwctl"),
             "fill": os.path.join(b, "tests", "lab", "natgw-ct-fill")}

    # A SIGTERM (timeout, CI) still runs the cleanup below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    lab = tmp = d = None
    try:
        if os.geteuid() != 0:
            raise Skip("needs root (network namespaces)")
        for p in paths.values():
            if not os.access(p, os.X_OK):
                raise Skip("no %s (build it first: meson compile -C %s)" % (p, b))
        if not shutil.which("conntrack"):
            raise Skip("needs conntrack (conntrack-tools)")
        lab = Lab()
        tmp = tempfile.mkdtemp(prefix="natgw-bench-ct.")
        print("\n".join("# " + l for l in machine_info(paths, lab)))

        conf = os.path.join(tmp, "natgwd.conf")
        write_config(conf, 1.0)
        d = Natgwd(lab, paths, conf, tmp, "main")
        rss0 = d.status("VmRSS", "VmHWM")
        fills, to_full, tops, rep, count = bench_full(lab, paths, d, min(runs, 5), a.src)
        filled = d.filled

        dumps, before, after = bench_dumps(lab, d, runs, count)
        if not d.alive():
            raise RuntimeError("natgwd exited: " + d.logtext())
        d.stop()
        d = None
        polls = poll_cost(lab, paths, tmp, idle, filled, settle)

        med = {k: statistics.median(v) for k, v in dumps.items()}
        print("# medians of %d runs against a full table of %d entries from %s (%d distinct sources)\n" % (
            runs, count, a.src, min(count, sources)))
        print("| measurement | median | min | max |")
        print("|---|---:|---:|---:|")
        print("| natgw-ct-fill: %s inserted, then refused (%s) | %.3f s | %.3f s | %.3f s |" % (
            rep["inserted"], rep["first_error"], statistics.median(fills), min(fills), max(fills)))
        for k, v in dumps.items():
            print("| %s | %.3f s | %.3f s | %.3f s |" % (k.replace("|", "\\|"), med[k], min(v), max(v)))
        print("| natgwctl conntrack / conntrack -L \\| wc -l | %.2f× | | |" % (
            med["natgwctl conntrack (wall)"] / med["conntrack -L | wc -l"]))
        print("| natgwctl conntrack / conntrack -C | %.1f× | | |" % (
            med["natgwctl conntrack (wall)"] / med["conntrack -C"]))
        print("| natgwd VmRSS idle, before the fill | %d KiB | | |" % rss0["VmRSS"])
        print("| natgwd VmRSS before the dumps / after | %d KiB / %d KiB | | |" % (before["VmRSS"], after["VmRSS"]))
        print("| natgwd VmHWM before the dumps / after | %d KiB / %d KiB | | |" % (before["VmHWM"], after["VmHWM"]))
        print("| natgwd peak growth in a dump (VmHWM after − VmRSS before) | %d KiB (%.0f bytes/entry) | | |" % (
            after["VmHWM"] - before["VmRSS"], (after["VmHWM"] - before["VmRSS"]) * 1024.0 / count))
        for p in polls:
            what = "%s entries" % p["count"] if p["count"] is not None else "table"
            if p["count"]:
                what += " (table %.0f s old)" % p["age"]
            print("| natgwd CPU, %.1f s idle at interval %g s (%.0f polls), %s: utime+stime / schedstat "
                  "| %.0f ms / %s | | |" % (p["window"], p["interval"], p["polls"], what, p["ticks"] * 1000,
                                          "%.2f ms" % (p["run"] * 1000) if p["run"] is not None else "n/a"))
            print("| natgwd CPU per poll, %s%s | %s | | |" % (
                what, " (a top-N dump of the watch fell in the window)" if p["top_dump"] else "",
                "%.1f µs (natgwd's check_ms_average, wall time since start: %.0f µs)" % (
                    p["cpu_ms"] * 1000 / p["polls"], (p["check_ms"] or 0) * 1000) if p["watch"] else
                "n/a (no conntrack watch in this natgwd: %.1f µs idle per interval)" % (
                    p["cpu_ms"] * 1000 / p["polls"])))
        if to_full:
            print("| level \"full\" reported after the table filled (interval 1 s, %d fills) "
                  "| %.3f s | %.3f s | %.3f s |" % (len(to_full), statistics.median(to_full), min(to_full),
                                                    max(to_full)))
            if tops:
                print("| of which the watch's own table dump at the change to \"full\" | %.3f s | %.3f s "
                      "| %.3f s |" % (statistics.median(tops), min(tops), max(tops)))
        else:
            print("| level \"full\" reported after the table filled | n/a (no .conntrack.level in status) | | |")
        return 0
    except Skip as e:
        if os.environ.get("CI") == "true":
            print("bench-ct: FAIL: cannot run under CI=true: %s" % e, file=sys.stderr)
            return 1
        print("bench-ct: SKIP: %s" % e, file=sys.stderr)
        return 77
    except (RuntimeError, subprocess.CalledProcessError, subprocess.TimeoutExpired, ValueError, KeyError) as e:
        print("bench-ct: FAIL: %s" % e, file=sys.stderr)
        if d:
            print("--- natgwd (pid %d) %s\n%s" % (d.pid, d.where(), "\n".join(d.logtext().splitlines()[-20:])),
                  file=sys.stderr)
        return 1
    finally:
        if d:
            d.stop()
        if lab:
            lab.close()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


sys.exit(main())

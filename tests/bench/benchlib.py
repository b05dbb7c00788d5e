# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared pieces of the benchmarks in tests/bench/: the lab (network namespaces this module
creates and removes; nothing outside them is touched), natgwd on a control socket and a
notify socket of the benchmark's own, config generation, machine info and the exit
convention (0 worked, 1 failed, 77 cannot run: a failure under CI=true)."""
import json
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
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
TIMEOUT = 120  # seconds, for any single step

# The forward every datapath benchmark sends its connections through, and where it ends.
TARGET_PORT = 62000
STREAM_PORT = 62001
GW_WAN = "203.0.113.1"
CLIENT = "198.51.100.7"
STREAM_CLIENT = "198.51.100.8"
SERVER = "192.168.1.10"
SERVER_PORT = 8000
STREAM_SERVER_PORT = 7000


class Skip(Exception):
    """The benchmark cannot run here (no root, no namespaces, a tool missing, not built)."""


class Fail(Exception):
    """Something did not work: the benchmark fails (never because of a timing)."""


def sh(*args, **kw):
    kw.setdefault("timeout", TIMEOUT)
    return subprocess.run(args, check=True, **kw)


def build_paths(build):
    b = os.path.abspath(build)
    return {
        "build": b,
        "natgwd": os.path.join(b, "daemon", "natgwd"),
        "natgwctl": os.path.join(b, "daemon", "natgwctl"),
        "peer": os.path.join(b, "tests", "lab", "natgw-peer"),
        "fill": os.path.join(b, "tests", "lab", "natgw-ct-fill"),
        "load": os.path.join(b, "tests", "bench", "natgw-load"),
    }


def need(paths, *keys, tools=()):
    if os.geteuid() != 0:
        raise Skip("needs root (network namespaces)")
    for k in keys:
        if not os.access(paths[k], os.X_OK):
            raise Skip("no %s (build it first: meson compile -C %s)" % (paths[k], paths["build"]))
    for t in tools:
        if not shutil.which(t):
            raise Skip("needs %s" % t)


def median(v):
    return statistics.median(v) if v else float("nan")


def pct(v, p):
    """The p-th percentile (nearest rank below) of @v."""
    if not v:
        return float("nan")
    s = sorted(v)
    return s[(len(s) - 1) * p // 100]


# ---------------------------------------------------------------- machine

def _ver(*cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return ((r.stdout or r.stderr).strip().split("\n") or ["n/a"])[0]
    except (OSError, subprocess.TimeoutExpired):
        return "n/a"


def _cpu_ticks():
    res = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                head, _, tail = f.read().rpartition(")")
            fields = tail.split()
            # comm, nice; utime and stime are fields 14 and 15 of stat(5), 12 and 13 after "pid (comm)".
            res[int(pid)] = (head.split("(", 1)[1], fields[16], int(fields[11]) + int(fields[12]))
        except (OSError, IndexError, ValueError):
            pass
    return res


def busy_processes(limit=4, window=0.5):
    """Other processes using at least 5 % of a CPU over the next @window seconds, with their nice."""
    t0, a = time.monotonic(), _cpu_ticks()
    time.sleep(window)
    t1, b = time.monotonic(), _cpu_ticks()
    hz = os.sysconf("SC_CLK_TCK")
    busy = []
    for pid, (comm, nice, ticks) in b.items():
        if pid in a and pid != os.getpid():
            cpu = (ticks - a[pid][2]) / hz / (t1 - t0) * 100
            if cpu >= 5:
                busy.append((cpu, "%s (pid %d, nice %s, %.0f%% CPU)" % (comm, pid, nice, cpu)))
    return [text for _, text in sorted(busy, reverse=True)[:limit]]


def machine_info(paths):
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    busy = busy_processes()
    return [
        "cpu: %s (%d cores)" % (cpu, os.cpu_count()),
        "kernel: %s" % platform.release(),
        "load average at start: %s; other processes busy now: %s" % (load, ", ".join(busy) or "none"),
        "natgwd: %s" % _ver(paths["natgwd"], "-V"),
        "nft: %s" % _ver("nft", "--version"),
        "iptables: %s" % _ver("iptables-nft", "--version"),
        "python: %s" % platform.python_version(),
    ]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ---------------------------------------------------------------- configs

def forward_lines(n, first=0, to_base=None):
    """@n forwards f<first>.. as gen-config.py writes them (ports 1024.., eth0 up to 60,000),
    each to a LAN address (to_base shifts the third octet: another variant of the same set)."""
    res = []
    for i in range(first, first + n):
        port = 1024 + i % 60000
        iif = "eth0" if i < 60000 else "eth%d" % (1 + i // 60000)
        to = "192.168.%d.%d" % (((i // 250) + (to_base or 0)) % 256, i % 250 + 1)
        res.append((i, iif, port, to))
    return res


def write_datapath_config(path, n, changed=0, stream=False, on_exit="remove", allow_from=None):
    """A natgwd config of @n forwards in all, the target forward (wan port TARGET_PORT to the LAN
    server) last among them; with @stream a second one for natgw-peer streams (counted in @n).
    @changed: how many of the others get another target (a second variant of the file).
    @allow_from: a prefix the target forward admits (it then lives in an interval map)."""
    extra = 2 if stream else 1
    lines = []
    for i, iif, port, to in forward_lines(max(0, n - extra)):
        if i < changed:
            to = to.replace("192.168.", "192.169.", 1)
        lines.append('  { name = "f%d"; in_interface = "%s"; proto = "tcp"; port = %d; to = "%s:80"; reflection = false; }'
                     % (i, iif, port, to))
    if stream:
        lines.append('  { name = "stream"; in_interface = "eth0"; proto = "tcp"; port = %d; to = "%s:%d"; reflection = false; }'
                     % (STREAM_PORT, SERVER, STREAM_SERVER_PORT))
    lines.append('  { name = "target"; in_interface = "eth0"; proto = "tcp"; port = %d; to = "%s:%d"; reflection = false;%s }'
                 % (TARGET_PORT, SERVER, SERVER_PORT,
                    ' allow_from = [ "%s" ];' % allow_from if allow_from else ""))
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write('version = 1;\non_exit = "%s";\nforward = (\n%s\n);\n' % (on_exit, ",\n".join(lines)))
    os.rename(tmp, path)  # natgwd never reads a half-written file


def iptables_rules(n):
    """The same @n forwards as linear iptables DNAT rules, the target rule last (the worst case
    of a linear list: every new connection to it walks all the others first)."""
    rules = ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
             ":POSTROUTING ACCEPT [0:0]"]
    for i, iif, port, to in forward_lines(max(0, n - 1)):
        rules.append("-A PREROUTING -i %s -p tcp --dport %d -j DNAT --to-destination %s:80" % (iif, port, to))
    rules.append("-A PREROUTING -i eth0 -p tcp --dport %d -j DNAT --to-destination %s:%d"
                 % (TARGET_PORT, SERVER, SERVER_PORT))
    rules.append("COMMIT")
    return "\n".join(rules) + "\n"


# ---------------------------------------------------------------- namespaces

class Netns:
    """One namespace of the lab; removed (with everything in it) by close()."""

    def __init__(self, name):
        self.name = name
        try:
            sh("ip", "netns", "add", name, stderr=subprocess.PIPE)
        except subprocess.CalledProcessError as e:
            raise Skip("cannot create a network namespace: %s" % e.stderr.decode().strip())
        self.run("ip", "link", "set", "lo", "up")

    def cmd(self, *args):
        return ["ip", "netns", "exec", self.name] + [str(a) for a in args]

    def run(self, *args, **kw):
        return sh(*self.cmd(*args), **kw)

    def out(self, *args):
        return self.run(*args, capture_output=True, text=True).stdout

    def quiet(self, *args):
        return self.run(*args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def sysctl(self, **kv):
        self.quiet("sysctl", "-w", *["%s=%s" % (k.replace("__", "."), v) for k, v in kv.items()])

    def kill_all(self):
        """Anything still running inside the namespace was started by the benchmark."""
        try:
            pids = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True,
                                  timeout=10).stdout.split()
        except (OSError, subprocess.TimeoutExpired):
            return
        for p in pids:
            try:
                os.kill(int(p), signal.SIGKILL)
            except (OSError, ValueError):
                pass

    def close(self):
        self.kill_all()
        subprocess.run(["ip", "netns", "del", self.name], timeout=TIMEOUT, stderr=subprocess.DEVNULL)


class Topology:
    """lan (192.168.1.10, the servers) — gw (natgwd; wan side 203.0.113.1) — wan (the clients,
    198.51.100.7 and .8 on lo), as tests/lab/lib.sh builds it. Both ends of each veth pair are
    created inside the lab; the root namespace never sees a link, address, route or sysctl."""

    def __init__(self, tag):
        suffix = "%s-%d" % (tag, os.getpid())
        self.all = []
        try:
            self.lan = self._add("nbl-" + suffix)
            self.gw = self._add("nbg-" + suffix)
            self.wan = self._add("nbw-" + suffix)
            self._links()
        except BaseException:
            self.close()
            raise

    def _add(self, name):
        ns = Netns(name)
        self.all.append(ns)
        return ns

    def _links(self):
        lan, gw, wan = self.lan.name, self.gw.name, self.wan.name
        for cmd in (
            ["-n", lan, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1", "netns", gw],
            ["-n", gw, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", wan],
            ["-n", lan, "addr", "add", SERVER + "/24", "dev", "eth0"],
            ["-n", lan, "link", "set", "eth0", "up"],
            ["-n", lan, "route", "add", "default", "via", "192.168.1.1"],
            ["-n", gw, "addr", "add", "192.168.1.1/24", "dev", "eth1"],
            ["-n", gw, "addr", "add", GW_WAN + "/24", "dev", "eth0"],
            ["-n", gw, "link", "set", "eth1", "up"],
            ["-n", gw, "link", "set", "eth0", "up"],
            ["-n", gw, "route", "add", "198.51.100.0/24", "via", "203.0.113.100"],
            ["-n", wan, "addr", "add", "203.0.113.100/24", "dev", "eth0"],
            ["-n", wan, "addr", "add", CLIENT + "/32", "dev", "lo"],
            ["-n", wan, "addr", "add", STREAM_CLIENT + "/32", "dev", "lo"],
            ["-n", wan, "link", "set", "eth0", "up"],
        ):
            sh("ip", *cmd)
        # Only inside the lab: closed and TIME_WAIT conntrack entries of the gateway go after
        # 1 s (the load generator ends every connection with a RST), the clients may use
        # nearly every port.
        self.gw.sysctl(net__ipv4__ip_forward=1, net__netfilter__nf_conntrack_tcp_timeout_close=1,
                       net__netfilter__nf_conntrack_tcp_timeout_time_wait=1)
        self.wan.sysctl(net__ipv4__ip_local_port_range="1024 65535")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if all("LOWER_UP" in sh("ip", "-n", ns, "-o", "link", "show", "dev", dev, capture_output=True,
                                      text=True).stdout for ns, dev in ((lan, "eth0"), (gw, "eth1"), (gw, "eth0"),
                                                                        (wan, "eth0"))):
                return
            time.sleep(0.1)
        raise Fail("lab links did not come up")

    def ct_flush(self):
        self.gw.run("conntrack", "-F", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ct_count(self):
        return int(self.gw.out("conntrack", "-C").strip() or 0)

    def ct_drops(self):
        """Sum of the gateway's conntrack drop, early_drop and insert_failed counters."""
        out = self.gw.out("conntrack", "-S")
        return sum(int(v) for k, v in re.findall(r"\b(drop|early_drop|insert_failed)=(\d+)", out))

    def close(self):
        for ns in reversed(self.all):
            ns.close()
        self.all = []


# ---------------------------------------------------------------- processes

class Proc:
    """A background process of the benchmark (in a namespace), stopped by stop()."""

    def __init__(self, argv, tmp, tag, ready=None, env=None):
        self.tag = tag
        self.out = open(os.path.join(tmp, tag + ".out"), "w+")
        self.err = open(os.path.join(tmp, tag + ".err"), "w+")
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL, env=env)
        if ready:
            deadline = time.monotonic() + 10
            while ready not in self.errtext():
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise Fail("%s did not start: %s" % (tag, self.errtext().strip()))
                time.sleep(0.02)

    def errtext(self):
        self.err.flush()
        self.err.seek(0)
        return self.err.read()

    def outtext(self):
        self.out.flush()
        self.out.seek(0)
        return self.out.read()

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise Fail("%s did not finish within %.0f s" % (self.tag, timeout))

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=TIMEOUT)
        return self.proc.returncode


def parse_kv(text):
    """The last line of key=value pairs in @text as a dict (numbers as float)."""
    for line in reversed(text.strip().splitlines()):
        if "=" in line:
            res = {}
            for kv in line.split():
                k, _, v = kv.partition("=")
                try:
                    res[k] = float(v)
                except ValueError:
                    res[k] = v
            return res
    return {}


def unit_env():
    """The environment natgwd.service gives natgwd (its Environment= lines): the benchmarks run
    natgwd as its users do."""
    env = dict(os.environ)
    with open(os.path.join(SRC, "systemd", "natgwd.service.in")) as f:
        for line in f:
            if line.startswith("Environment="):
                k, _, v = line.strip()[len("Environment="):].partition("=")
                env[k] = v
    return env


def connect_load(ns, load, target, concurrency, seconds, count, why, *extra):
    """One `natgw-load connect` run from @ns to @target:TARGET_PORT; its report as a dict. A run
    in which no connection worked, or one was refused or reset (@why: what that would mean), fails."""
    r = subprocess.run(ns.cmd(load, "connect", target, TARGET_PORT, *extra, "--concurrency", concurrency,
                              "--seconds", seconds, "--count", count),
                       capture_output=True, text=True, timeout=seconds + 60)
    rep = parse_kv(r.stdout)
    if r.returncode != 0 or not rep.get("ok"):
        raise Fail("natgw-load connect (concurrency %d): no connection worked: %s %s"
                   % (concurrency, r.stdout.strip(), r.stderr.strip()))
    if rep["refused"] or rep["reset"]:
        raise Fail("connections refused or reset%s: %s" % (why and ": " + why, r.stdout.strip()))
    return rep


def lan_rate(topo, paths, a, res, row, target, why="", width=24):
    """New connections/s lan -> @target through the gateway: a warm-up run of a.warmup s (neighbour
    entries, the server's first accepts, caches), then a.seconds measured; appended to res[row]."""
    for seconds in (a.warmup, a.seconds):
        topo.ct_flush()
        rep = connect_load(topo.lan, paths["load"], target, a.concurrency, seconds, a.count, why)
    res.setdefault(row, []).append(rep["rate"])
    print("#   %-*s %8.0f conn/s (p50 %6.0f µs, p99 %6.0f µs)" % (width, row, rep["rate"], rep["p50_us"], rep["p99_us"]),
          flush=True)
    return rep["rate"]


def stop_server(srv):
    """Stops a `natgw-load serve` Proc; one that failed fails the benchmark."""
    if srv.stop() != 0:
        raise Fail("natgw-load serve failed: %s" % srv.errtext())


def rate_args(ap, quick_help):
    """The arguments of a benchmark of new connections/s lan -> wan (natgw-load): build dir,
    --quick (1 repetition of 1 s runs), --runs, --seconds, --concurrency, --count. Call
    rate_defaults() on what ap.parse_args() returns."""
    ap.add_argument("build", nargs="?", default=os.path.join(SRC, "build"), help="meson build dir (default build/)")
    ap.add_argument("--quick", action="store_true", help=quick_help)
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--count", type=int, default=100000)


def rate_defaults(a):
    """Fills in rate_args()' defaults: 5 repetitions of 4 s runs (--quick: 1 of 1 s), a warm-up."""
    a.runs = a.runs or (1 if a.quick else 5)
    a.seconds = a.seconds or (1.0 if a.quick else 4.0)
    a.warmup = 0.2 if a.quick else 0.5
    return a


def abba(rows, flip, switch, measure):
    """Measures two configurations, rows = ((value, row name), (value, row name)), in the order
    A B B A (B A A B when @flip: the first measured is then rows[1], which the caller applied
    already), so that a drift of the machine during the repetition weighs on both alike.
    switch(value) applies a configuration, measure(row name) returns a rate. Returns the ratio of
    the second row's rates to the first's."""
    order = (rows[1], rows[0]) if flip else rows
    current, rates = order[0][0], {}
    for value, row in (order[0], order[1], order[1], order[0]):
        if value != current:
            switch(value)
            current = value
        rates.setdefault(value, []).append(measure(row))
    return sum(rates[rows[1][0]]) / sum(rates[rows[0][0]])


def proc_status(pid, *keys):
    """/proc/PID/status values in kB."""
    res = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in keys:
                res[k] = int(v.split()[0])
    return res


def repetitions(a, paths, tag, fn):
    """Prints the machine and the load, then runs fn(tmp, i) for each of a.runs repetitions with a
    temporary directory that is removed afterwards."""
    print("\n".join("# " + l for l in machine_info(paths)))
    print("# natgw-load: %d in flight for %g s, lan -> wan through the masquerade; medians of %d repetitions"
          % (a.concurrency, a.seconds, a.runs), flush=True)
    tmp = tempfile.mkdtemp(prefix="natgw-bench-%s." % tag)
    try:
        for i in range(a.runs):
            print("# repetition %d of %d (load average %s)" % (i + 1, a.runs, loadavg()), flush=True)
            fn(tmp, i)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def size_args(ap, quick, full, quick_sizes, full_sizes):
    """--quick, --runs and --sizes of a benchmark that measures natgwd at several numbers of forwards:
    the parsed arguments, a.runs and a.sizes (a list) filled in."""
    ap.add_argument("build", nargs="?", default=os.path.join(SRC, "build"), help="meson build dir (default build/)")
    ap.add_argument("--quick", action="store_true", help="%d runs of %s forwards: for CI" % (quick, quick_sizes))
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--sizes", default=None)
    a = ap.parse_args()
    a.runs = a.runs or (quick if a.quick else full)
    try:
        a.sizes = [int(x) for x in (a.sizes or (quick_sizes if a.quick else full_sizes)).split(",")]
    except ValueError:
        ap.error("--sizes: a list of numbers")
    if a.runs < 1 or any(n < 1 or n > 200000 for n in a.sizes):
        ap.error("--runs positive, --sizes 1-200000")
    return a


class Natgwd:
    """natgwd in namespace @ns on a control socket and a notify socket of the benchmark's own
    (in @tmp). start() returns the seconds from the start until READY=1."""

    def __init__(self, paths, ns, conf, tmp, tag="natgwd"):
        self.paths, self.ns, self.conf = paths, ns, conf
        self.ctl_sock = os.path.join(tmp, "control-%s.sock" % tag)
        self.notify = os.path.join(tmp, "notify-%s.sock" % tag)
        self.logpath = os.path.join(tmp, "%s.log" % tag)
        self.proc = None
        self.sock = None

    def start(self):
        if os.path.exists(self.notify):
            os.unlink(self.notify)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.notify)
        self.sock.settimeout(0.2)
        self.ready = threading.Event()
        self.notes = []
        self.log = open(self.logpath, "w+")
        env = dict(unit_env(), NOTIFY_SOCKET=self.notify)
        # natgwd blocks in sd_notify() once the socket's queue is full (10 datagrams): a
        # listener must read all the time, as systemd does.
        self.reader = threading.Thread(target=self._read_notify, daemon=True)
        self.reader.start()
        t0 = time.monotonic()
        # `ip netns exec` execs natgwd itself: the pid is natgwd's.
        self.proc = subprocess.Popen(self.ns.cmd(self.paths["natgwd"], "-c", self.conf, "-S", self.ctl_sock),
                                     env=env, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        self.pid = self.proc.pid
        try:
            return self.wait_ready() - t0
        except BaseException:
            self.stop(check=False)  # never leave a natgwd behind in a namespace about to go away
            raise

    def _read_notify(self):
        sock = self.sock
        while sock.fileno() >= 0:
            try:
                msg = sock.recv(65536).decode(errors="replace")
            except socket.timeout:
                continue
            except OSError:
                return
            t = time.monotonic()
            self.notes.append((t, msg))
            if "READY=1" in msg.split("\n") and not self.ready.is_set():
                self.ready_at = t
                self.ready.set()

    def wait_ready(self):
        """The time natgwd sent its first READY=1 (the start's)."""
        deadline = time.monotonic() + TIMEOUT
        while not self.ready.wait(0.1):
            if self.proc.poll() is not None:
                raise Fail("natgwd exited (status %s) before READY=1: %s" % (self.proc.returncode, self.tail()))
            if time.monotonic() > deadline:
                raise Fail("natgwd sent no READY=1 within %d s: %s" % (TIMEOUT, self.tail()))
        return self.ready_at

    def ctl(self, *args):
        """natgwctl -S SOCK -j ARGS...: (seconds, exit status, the reply). natgwctl talks to a
        socket path and needs no namespace: run directly, its time is natgwctl's and natgwd's."""
        t = time.monotonic()
        r = subprocess.run([self.paths["natgwctl"], "-S", self.ctl_sock, "-j"] + list(args), capture_output=True,
                           text=True, timeout=TIMEOUT)
        dt = time.monotonic() - t
        try:
            reply = json.loads(r.stdout)
        except ValueError:
            reply = {}
        return dt, r.returncode, reply

    def reload(self):
        """natgwctl reload, timed; (seconds, reply). Fails unless applied."""
        dt, rc, reply = self.ctl("reload")
        if rc != 0 or not reply.get("ok"):
            raise Fail("natgwctl reload failed (exit %d): %s" % (rc, reply or self.tail()))
        # A reload updates the table in place; "replaced" means the update was rejected.
        if reply.get("table") != "updated":
            raise Fail("natgwctl reload replaced the table instead of updating it: %s" % reply)
        return dt, reply

    def status(self, *keys):
        """/proc/PID/status values in kB."""
        return proc_status(self.pid, *keys)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def logtext(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def tail(self, n=20):
        return "\n".join(self.logtext().splitlines()[-n:])

    def stop(self, check=True):
        """SIGTERM; a natgwd that does not exit 0 within 10 s is a failure (with @check)."""
        rc = 0
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=TIMEOUT)
                rc = "killed"
        if self.sock:
            self.sock.close()
            self.reader.join(timeout=5)
            self.sock = None
            if os.path.exists(self.notify):
                os.unlink(self.notify)
        if rc != 0 and check:
            raise Fail("natgwd exited with %s on SIGTERM: %s" % (rc, self.tail()))


# ---------------------------------------------------------------- main

def cleanup(*steps):
    """Runs every step (None: skipped) even when one fails: a failed stop never leaves a
    namespace behind. The first error is reported on stderr, not raised over the one that
    brought us here."""
    for step in steps:
        if step is None:
            continue
        try:
            step()
        except BaseException as e:  # noqa: B902 -- cleanup goes on whatever happened
            print("cleanup: %s" % e, file=sys.stderr)

def run_main(name, fn):
    """Runs fn() -> exit status with the benchmarks' conventions; SIGTERM still cleans up."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return fn()
    except Skip as e:
        if os.environ.get("CI") == "true":
            print("%s: FAIL: cannot run under CI=true: %s" % (name, e), file=sys.stderr)
            return 1
        print("%s: SKIP: %s" % (name, e), file=sys.stderr)
        return 77
    except (Fail, subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError, ValueError, KeyError) as e:
        msg = str(e)
        if isinstance(e, subprocess.CalledProcessError) and e.stderr:
            msg += ": " + (e.stderr if isinstance(e.stderr, str) else e.stderr.decode()).strip()
        print("%s: FAIL: %s" % (name, msg), file=sys.stderr)
        return 1

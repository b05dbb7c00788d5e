#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""metrics.hosts (issue 16): what per-host accounting costs the datapath and memory.

The lab of bench-egress.py (tests/bench/benchlib.py; nothing outside its namespaces is touched):
natgw-load `serve` on the wan host (198.51.100.7), `connect` on the lan host (192.168.1.10)
through the gateway's masquerade, C in flight (--concurrency, 64) for S seconds (--seconds, 4)
after a warm-up. Every packet of every connection (handshake, the server's byte, the RST)
passes natgwd's chain account: the entry's traffic counter always, and with metrics.hosts also
the update of the host's element in hosts4_out or hosts4_in. Rows run A B B A per repetition
(hosts off, hosts on), switched by `natgwctl reload`, the order flipped every other
repetition; the goal (hosts on at least 0.95x the rate of hosts off) is judged on the median of
the repetitions' A-B-B-A ratios.

The same A B B A for the cost per packet, which a busy machine's noise hides in the rates:
the CPU time natgw-spray takes to send P packets (--packets, 200,000) from 256 lan sources
through the masquerade (established flows: the host elements exist, each packet updates one);
a veth forwards in the sender's context, so that is mostly the gateway's datapath.

Then memory at H hosts (--hosts, 10,000): H distinct sources (10.200.0.0/16, one UDP packet
each, sent through the gateway by natgw-spray, tests/lab/spray.c) make H elements in each of
hosts4_out; natgwd's resident memory before and after `natgwctl hosts` reads them all, and the
time that read takes. The kernel's share is measured apart, on a scratch table of the gateway's
namespace with the same set (dynamic, timeout, counter, size 65,536) filled with H elements by
nft: the growth of Slab + Percpu in /proc/meminfo (machine-wide: the median of 3 fills).

--quick: 1 repetition, 1 s runs, 2,000 hosts, for CI (no timing asserted). Exit 0 when it all
worked, 1 when something did not, 77 when it cannot run (a failure under CI=true). Usage (root):
  tests/bench/bench-hosts.py [BUILD_DIR] [--quick] [--runs N] [--hosts H] [--seconds S]
"""
import argparse
import ipaddress
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True
import benchlib as B  # noqa: E402

TARGET = "198.51.100.7"


def write_config(path, hosts):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write('version = 1;\non_exit = "remove";\nmasquerade = (\n  { name = "lan"; source = [ "192.168.1.0/24", '
                '"10.200.0.0/16" ]; out_interface = "eth0"; }\n);\nmetrics = { hosts = %s; };\n'
                % ("true" if hosts else "false"))
    os.rename(tmp, path)


def packet_cpu(topo, paths, a):
    """CPU µs per packet of natgw-spray: P packets (--packets) from 256 lan sources in turn through
    the masquerade. A veth hands what it sends to the receiving side in the sender's context, so
    this is mostly the gateway's forwarding path, and CPU time, unlike a rate, does not count the
    time other processes of a busy machine take."""
    r = subprocess.run(topo.lan.cmd(paths["spray"], TARGET, "9", "--net", "10.200.0.0", "--count", a.packets,
                                    "--sources", 256), capture_output=True, text=True, timeout=120)
    rep = B.parse_kv(r.stdout)
    if r.returncode != 0:
        raise B.Fail("natgw-spray failed: %s %s" % (r.stdout.strip(), r.stderr.strip()))
    return rep["cpu"] * 1e6 / a.packets


def meminfo_kb():
    v = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, _, rest = line.partition(":")
            v[k] = int(rest.split()[0])
    return v["Slab"] + v.get("Percpu", 0)


def kernel_set_memory(topo, tmp, n):
    """kB the kernel's memory grows by for @n elements of a set like hosts4_out (median of 3)."""
    grow = []
    elems = os.path.join(tmp, "elems.nft")
    with open(elems, "w") as f:
        f.write("add element inet membench h { %s }\n"
                % ", ".join(str(ipaddress.IPv4Address(0x0AC80001 + i)) for i in range(n)))
    for _ in range(3):
        topo.gw.run("nft", "add table inet membench")
        topo.gw.run("nft", "add set inet membench h { type ipv4_addr; flags dynamic,timeout; size 65536; "
                    "timeout 5m; counter; }")
        before = meminfo_kb()
        topo.gw.run("nft", "-f", elems)
        grow.append(meminfo_kb() - before)
        topo.gw.run("nft", "delete table inet membench")
    return B.median(grow)


def memory(paths, a, tmp, topo, d):
    topo.gw.sysctl(net__ipv4__conf__all__rp_filter=0, net__ipv4__conf__eth1__rp_filter=0)
    r = subprocess.run(topo.lan.cmd(paths["spray"], TARGET, "9", "--net", "10.200.0.0", "--count", a.hosts),
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise B.Fail("spray failed: %s" % r.stderr.strip())
    rss0 = d.status("VmRSS")["VmRSS"]
    dt, rc, reply = d.ctl("hosts")
    if rc != 0 or not reply.get("ok"):
        raise B.Fail("natgwctl hosts failed: %s" % reply)
    rss1 = d.status("VmRSS")["VmRSS"]
    n = len(reply["hosts"])
    if n < a.hosts:
        raise B.Fail("%d hosts in the sets after %d sources" % (n, a.hosts))
    kern = kernel_set_memory(topo, tmp, a.hosts)
    print("# memory at %d hosts: natgwd VmRSS %d kB before `natgwctl hosts`, %d kB after (read in %.0f ms); "
          "kernel, one set of %d elements: %d kB (%.0f bytes per element)"
          % (n, rss0, rss1, dt * 1000, a.hosts, kern, kern * 1024.0 / a.hosts), flush=True)
    # The exposition at these hosts: natgwd's own time to gather and render it (the scrape).
    t = time.monotonic()
    r = subprocess.run([paths["natgwctl"], "-S", d.ctl_sock, "metrics"], capture_output=True, text=True,
                       timeout=B.TIMEOUT)
    wall = time.monotonic() - t
    m = re.search(r"^natgw_scrape_duration_seconds (\S+)$", r.stdout, re.M)
    rows = len(re.findall(r"^natgw_host_bytes_total\{", r.stdout, re.M))
    if r.returncode != 0 or not m or rows < 2 * a.hosts:
        raise B.Fail("natgwctl metrics at %d hosts: exit %d, %d host samples: %s" % (
            a.hosts, r.returncode, rows, (r.stderr or r.stdout)[:300]))
    print("# /metrics at %d hosts: natgwd renders it in %.0f ms (natgwctl metrics %.0f ms), %d KiB"
          % (n, float(m.group(1)) * 1e3, wall * 1e3, len(r.stdout) // 1024), flush=True)


def repetition(paths, a, tmp, res, flip, pairs, cpu_pairs, last):
    topo = B.Topology("ho")
    d = srv = None
    try:
        topo.lan.sysctl(net__ipv4__ip_local_port_range="1024 65535")
        srv = B.Proc(topo.wan.cmd(paths["load"], "serve", "--port", B.TARGET_PORT, "--bind", TARGET,
                                  "--seconds", 3600), tmp, "serve", ready="listening")
        conf = os.path.join(tmp, "natgwd.conf")
        rows = ((False, "hosts off"), (True, "hosts on"))
        write_config(conf, flip)
        d = B.Natgwd(paths, topo.gw, conf, tmp)
        d.start()
        pairs.append(B.abba(rows, flip, lambda on: (write_config(conf, on), d.reload()),
                            lambda row: B.lan_rate(topo, paths, a, res, row, TARGET, width=12)))
        # Per packet: CPU time of packets through established flows, A B B A again.
        topo.gw.sysctl(net__ipv4__conf__all__rp_filter=0, net__ipv4__conf__eth1__rp_filter=0)

        def cpu_row(row):
            us = packet_cpu(topo, paths, a)
            res.setdefault("cpu " + row, []).append(us)
            print("#   %-12s %8.2f µs CPU per packet" % (row, us), flush=True)
            return us

        cpu_pairs.append(B.abba(rows, flip, lambda on: (write_config(conf, on), d.reload()), cpu_row))
        # The alternative to the host sets: conntrack's own accounting (bytes per connection,
        # both directions), measured once per repetition with hosts off.
        write_config(conf, False)
        d.reload()
        topo.gw.sysctl(net__netfilter__nf_conntrack_acct=1)
        B.lan_rate(topo, paths, a, res, "ct acct", TARGET, width=12)
        topo.gw.sysctl(net__netfilter__nf_conntrack_acct=0)
        if last:
            write_config(conf, True)
            d.reload()
            memory(paths, a, tmp, topo, d)
        d.stop()
        d = None
        B.stop_server(srv)
        srv = None
    finally:
        B.cleanup(d and (lambda: d.stop(check=False)), srv and srv.stop, topo.close)


def run(a):
    paths = B.build_paths(a.build)
    paths["spray"] = os.path.join(a.build, "tests", "lab", "natgw-spray")
    B.need(paths, "natgwd", "natgwctl", "load", "spray", tools=("conntrack", "nft"))
    res, pairs, cpu_pairs = {}, [], []
    B.repetitions(a, paths, "ho",
                  lambda tmp, i: repetition(paths, a, tmp, res, i % 2 == 1, pairs, cpu_pairs, i == a.runs - 1))
    base = B.median(res["hosts off"])
    print("\n| metrics.hosts | new connections/s | vs off |")
    print("|---|---:|---:|")
    for row in ("hosts off", "hosts on", "ct acct"):
        print("| %s | %.0f | %.2f× |" % (row, B.median(res[row]), B.median(res[row]) / base))
    print("\nCPU per forwarded packet (natgw-spray, 256 sources): hosts off %.2f µs, hosts on %.2f µs: %.2f× "
          "(the median of the A-B-B-A ratios %s)" % (B.median(res["cpu hosts off"]), B.median(res["cpu hosts on"]),
                                                     B.median(cpu_pairs), ", ".join("%.2f" % p for p in cpu_pairs)))
    print("\nhosts on: %.2f× the rate of hosts off (goal: at least 0.95×), the median of the %d repetitions' "
          "A-B-B-A ratios (%s)" % (B.median(pairs), len(pairs), ", ".join("%.2f" % p for p in pairs)))
    return 0


def main():
    ap = argparse.ArgumentParser(description="metrics.hosts benchmark (root; see the top of the file)")
    B.rate_args(ap, "1 repetition, 1 s runs, 2,000 hosts: for CI")
    ap.add_argument("--hosts", type=int, default=None)
    ap.add_argument("--packets", type=int, default=None)
    a = B.rate_defaults(ap.parse_args())
    a.hosts = a.hosts or (2000 if a.quick else 10000)
    a.packets = a.packets or (20000 if a.quick else 200000)
    if a.runs < 1 or not 1 <= a.hosts <= 60000:
        ap.error("--runs positive; --hosts 1-60000")
    return B.run_main("bench-hosts", lambda: run(a))


sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Long-lived flows for lab-ha.sh: a server that answers every line or datagram with the
address it came from, and a client that sends one every INTERVAL and times the answers.

  ha-flow.py serve --tcp PORT --udp PORT --seconds S
  ha-flow.py stream tcp|udp ADDR PORT --interval SEC --seconds S --stop FILE --out FILE
  ha-flow.py verdict DIR NAME=EPOCH...

verdict reads DIR/egress.json, DIR/forward.json (TCP) and DIR/udp.json and says, one "ok:" or
"FAIL:" line each, whether the TCP streams kept one translated peer, had no reset and still
answered after the last event, and whether the UDP flow had 70% of its datagrams answered, and
prints the gap of each around each event (NAME=EPOCH: "failover=1764660000.5", in order).
Exit 1 on a FAIL.

The client stops at --seconds or as soon as FILE exists, and writes one JSON object to --out:
sent, answered, the longest time without an answer (max_gap_ms, and when it began, gap_start,
in seconds since the epoch), every gap of 250 ms or more as [start, ms], every peer address the server saw ("peers": the translated
source; one for a connection that survived), and "error" ("reset", "refused", ...) or null.
Everything is bounded by --seconds.
"""
import errno
import json
import os
import select
import socket
import sys
import threading
import time


def serve(args):
    tcp_port, udp_port, seconds = int(args["--tcp"]), int(args["--udp"]), float(args["--seconds"])
    end = time.monotonic() + seconds

    def tcp_conn(c, peer):
        c.settimeout(0.5)
        buf = b""
        try:
            while time.monotonic() < end:
                try:
                    data = c.recv(4096)
                except socket.timeout:
                    continue
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    _, buf = buf.split(b"\n", 1)
                    c.sendall(b"peer=%s:%d\n" % (peer[0].encode(), peer[1]))
        except OSError:
            return
        finally:
            c.close()

    def tcp_accept(s):
        while time.monotonic() < end:
            try:
                c, peer = s.accept()
            except socket.timeout:
                continue
            threading.Thread(target=tcp_conn, args=(c, peer), daemon=True).start()

    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("0.0.0.0", tcp_port))
    t.listen(16)
    t.settimeout(0.5)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("0.0.0.0", udp_port))
    u.settimeout(0.5)
    threading.Thread(target=tcp_accept, args=(t,), daemon=True).start()
    print("serving", flush=True)
    while time.monotonic() < end:
        try:
            _, peer = u.recvfrom(2048)
        except socket.timeout:
            continue
        u.sendto(b"peer=%s:%d\n" % (peer[0].encode(), peer[1]), peer)


def stream(proto, addr, port, args):
    interval, seconds = float(args["--interval"]), float(args["--seconds"])
    stop, out = args["--stop"], args["--out"]
    res = {"sent": 0, "answered": 0, "max_gap_ms": 0, "gap_start": None, "gaps": [], "peers": [], "error": None,
           "last_answer": None}
    end = time.monotonic() + seconds
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.connect((addr, port))
    except OSError as e:
        res["error"] = "connect: " + e.strerror
        json.dump(res, open(out, "w"))
        return 1
    s.setblocking(False)
    def failed(e):
        """A TCP stream ends on an error (ECONNRESET, EPIPE: "reset"); for UDP it is the ICMP
        error of an earlier datagram, and the flow goes on."""
        if proto != "tcp":
            return False
        res["error"] = "reset" if e.errno in (errno.ECONNRESET, errno.EPIPE) else e.strerror
        return True

    last = time.time()
    nxt = time.monotonic()
    buf = b""
    peers = set()
    while time.monotonic() < end and not os.path.exists(stop):
        now = time.monotonic()
        if now >= nxt:
            try:
                s.send(b"seq %d\n" % res["sent"])
                res["sent"] += 1
            except BlockingIOError:
                pass
            except OSError as e:
                if failed(e):
                    break
            nxt += interval
        r, _, _ = select.select([s], [], [], max(0.0, min(nxt - time.monotonic(), 0.05)))
        if not r:
            continue
        try:
            data = s.recv(65536)
        except BlockingIOError:
            continue
        except OSError as e:
            if failed(e):
                break
            continue
        if proto == "tcp" and not data:
            res["error"] = "closed"
            break
        t = time.time()
        lines = (buf + data).split(b"\n") if proto == "tcp" else [data.rstrip(b"\n"), b""]
        buf = lines.pop() if proto == "tcp" else b""
        for line in lines:
            if line.startswith(b"peer="):
                res["answered"] += 1
                peers.add(line[5:].decode())
        gap = (t - last) * 1000
        if gap >= 250:
            res["gaps"].append([round(last, 3), round(gap, 1)])
        if gap > res["max_gap_ms"]:
            res["max_gap_ms"], res["gap_start"] = round(gap, 1), last
        last = t
    res["peers"] = sorted(peers)
    res["last_answer"] = last if res["answered"] else None
    s.close()
    json.dump(res, open(out, "w"))
    return 0


def verdict(d, events):
    """@events: [(name, epoch)] in order; the gap of each is the longest one that began in the
    second before it or later, and before the next event."""
    def gap(r, a, b):
        return max([g[1] for g in r["gaps"] if a - 1 <= g[0] < b - 1] or [0])

    ok = True

    def check(cond, msg):
        nonlocal ok
        print("# %s: %s" % ("ok" if cond else "FAIL", msg), flush=True)
        ok = ok and cond

    last = events[-1][1]
    bounds = [t for _, t in events[1:]] + [1e12]
    for name in ("egress", "forward", "udp"):
        r = json.load(open(os.path.join(d, name + ".json")))
        kind = "UDP flow" if name == "udp" else name + " TCP stream"
        if name == "udp":
            # Not asserted: with 1 s adverts (3.4 s outage) its translated port changed in one run
            # of three (docs/HA.md); a UDP flow has no state that a new port breaks for this test.
            print("# %s: translated to %s" % (kind, r["peers"]), flush=True)
            check(r["answered"] * 10 >= r["sent"] * 7, "%s: %d of %d answered" % (kind, r["answered"], r["sent"]))
        else:
            check(len(r["peers"]) == 1, "%s: one translated address and port all along (%s)" % (kind, r["peers"]))
            check(r["error"] is None, "%s: no reset across every failover and failback (%s)" % (kind, r["error"]))
            # That it went on through all of them, not how fast (no timing thresholds in a test):
            # the gap is printed below, measured in docs/PERFORMANCE.md.
            check(r["last_answer"] is not None and r["last_answer"] > last,
                  "%s: still answered after the last event (longest gap %s ms)" % (kind, r["max_gap_ms"]))
        print("# %s: %s (%d answers)" % (name, ", ".join("%s gap %s ms" % (ev, gap(r, t, b))
                                                          for (ev, t), b in zip(events, bounds)), r["answered"]),
              flush=True)
    return 0 if ok else 1


def main(argv):
    def opts(rest):
        return dict(zip(rest[0::2], rest[1::2]))

    if len(argv) >= 2 and argv[1] == "serve":
        serve(opts(argv[2:]))
        return 0
    if len(argv) >= 4 and argv[1] == "verdict":
        return verdict(argv[2], [(a.split("=")[0], float(a.split("=")[1])) for a in argv[3:]])
    if len(argv) >= 5 and argv[1] == "stream":
        return stream(argv[2], argv[3], int(argv[4]), opts(argv[5:]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Traffic of known size for tests/lab/lab-hosts.sh, every loop bounded in count and time.

  hosts-traffic.py echo PORT --reply BYTES --seconds S
      a UDP server (IPv4 and IPv6) that answers each datagram with BYTES bytes, for S seconds
  hosts-traffic.py send ADDR PORT --from ADDR --count N --size BYTES [--interval MS]
      N datagrams of BYTES bytes, each waiting (at most 1 s) for its answer; prints
      "sent=N answered=M"
"""

import argparse
import socket
import sys
import time


def echo(a):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", a.port))
    reply = b"r" * a.reply
    end = time.monotonic() + a.seconds
    print("listening", flush=True)
    while time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            _, peer = s.recvfrom(65535)
        except socket.timeout:
            break
        s.sendto(reply, peer)


def send(a):
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((a.source, 0))
    s.connect((a.addr, a.port))
    s.settimeout(1.0)
    data, answered = b"s" * a.size, 0
    for _ in range(a.count):
        s.send(data)
        try:
            s.recv(65535)
            answered += 1
        except socket.timeout:
            pass
        if a.interval:
            time.sleep(a.interval / 1000)
    print(f"sent={a.count} answered={answered}")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("echo")
    e.add_argument("port", type=int)
    e.add_argument("--reply", type=int, required=True)
    e.add_argument("--seconds", type=float, default=30)
    s = sub.add_parser("send")
    s.add_argument("addr")
    s.add_argument("port", type=int)
    s.add_argument("--from", dest="source", required=True)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--size", type=int, required=True)
    s.add_argument("--interval", type=float, default=0)
    a = p.parse_args()
    if getattr(a, "count", 0) > 200000:
        sys.exit("at most 200000")
    {"echo": echo, "send": send}[a.cmd](a)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Traffic of known size for tests/lab/lab-hosts.sh, every loop bounded in count and time.

  hosts-traffic.py echo PORT --reply BYTES --seconds S
      a UDP server (IPv4 and IPv6) that answers each datagram with BYTES bytes, for S seconds
  hosts-traffic.py send ADDR PORT --from ADDR --count N --size BYTES [--interval MS]
      N datagrams of BYTES bytes, each waiting (at most 1 s) for its answer; prints
      "sent=N answered=M"
  hosts-traffic.py spray ADDR PORT --net A.B.0.0 --count N
      N UDP datagrams through a raw socket, each from another source address of the /16 or wider
      net starting at --net (A.B.0.1, A.B.0.2, ...); prints "sprayed=N seconds=S"
"""

import argparse
import ipaddress
import socket
import struct
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


def spray(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    base = int(ipaddress.IPv4Address(a.net))
    dst = socket.inet_aton(a.addr)
    udp = struct.pack("!HHHH", 40000, a.port, 8, 0)
    head = struct.pack("!BBHHHBBH", 0x45, 0, 28, 0, 0, 64, 17, 0)
    tail = dst + udp
    start = time.monotonic()
    n = 0
    for i in range(1, a.count + 1):
        if time.monotonic() - start > 30:
            break
        src = (base + i).to_bytes(4, "big")
        # The kernel fills in the IP checksum of a raw IPPROTO_RAW packet; UDP's may be 0.
        s.sendto(head + src + tail, (a.addr, 0))
        n += 1
    print(f"sprayed={n} seconds={time.monotonic() - start:.2f}")


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
    r = sub.add_parser("spray")
    r.add_argument("addr")
    r.add_argument("port", type=int)
    r.add_argument("--net", required=True)
    r.add_argument("--count", type=int, required=True)
    a = p.parse_args()
    if getattr(a, "count", 0) > 200000:
        sys.exit("at most 200000")
    {"echo": echo, "send": send, "spray": spray}[a.cmd](a)


if __name__ == "__main__":
    main()

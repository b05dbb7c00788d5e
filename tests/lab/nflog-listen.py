#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Print the prefix of every packet logged to NFLOG group GROUP of this network namespace, one
per line with its time, for SECONDS seconds; "listening" on stderr once bound.

The lab's way to see natgwd's log_denied lines: the kernel log drops the log lines of every
network namespace but the first unless net.netfilter.nf_log_all_netns (a sysctl of the root
namespace, which the lab never touches) is set, and nft's log statement always goes to the
syslog logger. natgwd sends the same line to an NFLOG group too; this reads it there.

usage: nflog-listen.py GROUP SECONDS
"""
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_ULOG = 4
NFULNL_MSG_PACKET, NFULNL_MSG_CONFIG = 0, 1
NFULA_CFG_CMD, NFULA_CFG_MODE = 1, 2
NFULNL_CFG_CMD_BIND = 1
NFULNL_COPY_META = 1
NFULA_PREFIX = 10
NLM_F_REQUEST, NLM_F_ACK = 1, 4


def attr(kind, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * ((4 - n % 4) % 4)


def config(sock, seq, group, attrs):
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(group)) + attrs
    hdr = struct.pack("=IHHII", 16 + len(body), NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_CONFIG,
                      NLM_F_REQUEST | NLM_F_ACK, seq, 0)
    sock.send(hdr + body)
    data = sock.recv(65536)
    err = struct.unpack_from("=i", data, 16)[0]
    if err != 0:
        sys.exit("nflog-listen: config %d refused: %s" % (seq, -err))


def main():
    group, seconds = int(sys.argv[1]), float(sys.argv[2])
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.bind((0, 0))
    config(sock, 1, group, attr(NFULA_CFG_CMD, struct.pack("=B", NFULNL_CFG_CMD_BIND)))
    config(sock, 2, group, attr(NFULA_CFG_MODE, struct.pack(">IBB", 0, NFULNL_COPY_META, 0)))
    print("listening", file=sys.stderr, flush=True)
    end = time.time() + seconds
    while time.time() < end:
        sock.settimeout(max(0.01, end - time.time()))
        try:
            data = sock.recv(1 << 16)
        except socket.timeout:
            break
        off = 0
        while off + 16 <= len(data):
            length, kind = struct.unpack_from("=IH", data, off)
            if length < 16:
                break
            if kind == (NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_PACKET):
                a = off + 20
                while a + 4 <= off + length:
                    alen, atype = struct.unpack_from("=HH", data, a)
                    if alen < 4:
                        break
                    if atype & 0x7fff == NFULA_PREFIX:
                        prefix = data[a + 4:a + alen].split(b"\0")[0].decode(errors="replace")
                        print("%.3f %s" % (time.time(), prefix), flush=True)
                    a += (alen + 3) & ~3
            off += (length + 3) & ~3


main()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Print the nftables ruleset generation of this network namespace (NFT_MSG_GETGEN): the number
the kernel raises with every committed transaction, and only then. Independent of natgwd and of
nft(8), which has no command that prints it."""
import socket
import struct
import sys

NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_GETGEN = 16
NFTA_GEN_ID = 1
NLM_F_REQUEST = 1
NLMSG_ERROR = 2


def main():
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.settimeout(5)
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, 0)
    hdr = struct.pack("=LHHLL", 16 + len(body), (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN,
                      NLM_F_REQUEST, 1, 0)
    s.send(hdr + body)
    data = s.recv(65536)
    length, typ, _, seq, _ = struct.unpack_from("=LHHLL", data)
    if typ == NLMSG_ERROR or seq != 1:
        sys.exit("GETGEN failed")
    off = 16 + 4
    while off + 4 <= length:
        alen, atype = struct.unpack_from("=HH", data, off)
        if atype & 0x3fff == NFTA_GEN_ID:
            print(struct.unpack_from(">L", data, off + 4)[0])
            return
        off += (alen + 3) & ~3
    sys.exit("no NFTA_GEN_ID in the answer")


main()

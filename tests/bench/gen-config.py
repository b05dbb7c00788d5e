#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write a natgwd config with N forwards and E egress entries, and the equivalent linear
iptables-restore rules (one DNAT rule per forward, one SNAT/MASQUERADE rule per egress
source, most specific first), for the apply benchmark; with a fifth argument also the nft file
someone would write by hand for the same translation: one map for the forwards, one set for the
egress sources, a rule each, no counters (deleted and recreated in the file, as nft -f replaces)."""
import sys


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit("usage: gen-config.py N_FORWARDS N_EGRESS NATGWD_CONF IPTABLES_RULES [NFT_MAP_FILE]")
    n, e, conf, ipt = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    eg, fw, rules = [], [], ["*nat", ":PREROUTING ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]"]
    hand_src, hand_fw = [], []
    for i in range(e):
        src = "10.%d.%d.0/24" % (i // 250, i % 250)
        eg.append('  { name = "eg%d"; source = "%s"; out_interface = "eth0"; }' % (i, src))
        rules.append("-A POSTROUTING -s %s -o eth0 -j MASQUERADE" % src)
        hand_src.append('"eth0" . %s' % src)
    for i in range(n):
        port = 1024 + i % 60000
        iif = "eth0" if i < 60000 else "eth%d" % (1 + i // 60000)
        to = "192.168.%d.%d" % ((i // 250) % 256, i % 250 + 1)
        fw.append('  { name = "f%d"; in_interface = "%s"; proto = "tcp"; port = %d; to = "%s:80"; reflection = false; }'
                  % (i, iif, port, to))
        rules.append("-A PREROUTING -i %s -p tcp --dport %d -j DNAT --to-destination %s:80"
                     % (iif, port, to))
        hand_fw.append('"%s" . %d : %s . 80' % (iif, port, to))
    rules.append("COMMIT")
    with open(conf, "w") as f:
        f.write("version = 1;\n")
        if eg:
            f.write("masquerade = (\n" + ",\n".join(eg) + "\n);\n")
        if fw:
            f.write("forward = (\n" + ",\n".join(fw) + "\n);\n")
    with open(ipt, "w") as f:
        f.write("\n".join(rules) + "\n")
    if len(sys.argv) == 6:
        with open(sys.argv[5], "w") as f:
            f.write("table inet hand\ndelete table inet hand\ntable inet hand {\n")
            if hand_fw:
                f.write("\tmap forwards {\n\t\ttype ifname . inet_service : ipv4_addr . inet_service\n"
                        "\t\telements = { %s }\n\t}\n" % ",\n\t\t\t".join(hand_fw))
            if hand_src:
                f.write("\tset sources {\n\t\ttype ifname . ipv4_addr\n\t\tflags interval\n"
                        "\t\telements = { %s }\n\t}\n" % ",\n\t\t\t".join(hand_src))
            f.write("\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat;\n")
            if hand_fw:
                f.write("\t\tmeta nfproto ipv4 fib daddr type local dnat ip to iifname . tcp dport map @forwards\n")
            f.write("\t}\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat;\n")
            if hand_src:
                f.write("\t\toifname . ip saddr @sources masquerade\n")
            f.write("\t}\n}\n")


main()

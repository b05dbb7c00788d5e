#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write a natgwd config with N forwards and E egress entries, and the equivalent linear
iptables-restore rules (one DNAT rule per forward, one SNAT/MASQUERADE rule per egress
source, most specific first), for the apply benchmark."""
import sys


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: gen-config.py N_FORWARDS N_EGRESS NATGWD_CONF IPTABLES_RULES")
    n, e, conf, ipt = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    eg, fw, rules = [], [], ["*nat", ":PREROUTING ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]"]
    for i in range(e):
        src = "10.%d.%d.0/24" % (i // 250, i % 250)
        eg.append('  { name = "eg%d"; source = "%s"; out_interface = "eth0"; }' % (i, src))
        rules.append("-A POSTROUTING -s %s -o eth0 -j MASQUERADE" % src)
    for i in range(n):
        port = 1024 + i % 60000
        iif = "eth0" if i < 60000 else "eth%d" % (1 + i // 60000)
        to = "192.168.%d.%d" % ((i // 250) % 256, i % 250 + 1)
        fw.append('  { name = "f%d"; in_interface = "%s"; proto = "tcp"; port = %d; to = "%s:80"; }'
                  % (i, iif, port, to))
        rules.append("-A PREROUTING -i %s -p tcp --dport %d -j DNAT --to-destination %s:80"
                     % (iif, port, to))
    rules.append("COMMIT")
    with open(conf, "w") as f:
        f.write("version = 1;\n")
        if eg:
            f.write("masquerade = (\n" + ",\n".join(eg) + "\n);\n")
        if fw:
            f.write("forward = (\n" + ",\n".join(fw) + "\n);\n")
    with open(ipt, "w") as f:
        f.write("\n".join(rules) + "\n")


main()

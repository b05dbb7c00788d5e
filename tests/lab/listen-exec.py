#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""listen-exec.py ADDR PORT NAME PROGRAM [ARGS...]: what systemd does for a socket unit with
FileDescriptorName=NAME, for the lab: listen on ADDR:PORT (TCP), put the socket at fd 3, set
LISTEN_FDS=1, LISTEN_PID (this process, which PROGRAM replaces) and LISTEN_FDNAMES, exec."""

import os
import socket
import sys


def main():
    if len(sys.argv) < 5:
        sys.stderr.write(__doc__)
        return 2
    addr, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)
    if s.fileno() != 3:
        os.dup2(s.fileno(), 3)
        s.close()
    os.set_inheritable(3, True)
    os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES=name)
    os.execvp(sys.argv[4], sys.argv[4:])
    return 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Bad clients of natgwd's control socket, for tests/lab/lab-ctl.sh and lab-limits.sh.

    ctl-abuse.py SOCKET CASE

Each case talks to the socket the way a broken or hostile client would and checks what natgwd
does about it (an error reply, or a closed connection), within a bounded time. Exit 0 when
natgwd behaved, 1 (with the reason on stderr) when not. Every socket operation has a timeout.
"""

import json
import os
import resource
import socket
import sys
import time

TIMEOUT = 10.0
CLIENT_DEADLINE = 5.0  # natgwd's per-connection deadline (NATGW_CTL_CLIENT_TIMEOUT_USEC)
REQUEST_MAX = 64 * 1024
CLIENTS_MAX = 64  # natgwd's connections at once (NATGW_CTL_CLIENTS_MAX)


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect(path)
    return s


def send_quietly(s, data):
    """Send what natgwd takes; it may stop reading and close (EPIPE/ECONNRESET): that is allowed."""
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def read_reply(s):
    """Everything until natgwd closes the connection."""
    chunks = []
    while True:
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            break
        if not b:
            break
        chunks.append(b)
    return b"".join(chunks)


def expect_error(raw, needle):
    text = raw.decode("utf-8", "replace")
    if not text.endswith("\n") or text.count("\n") != 1:
        fail(f"reply is not one line: {text!r}")
    reply = json.loads(text)
    if reply.get("ok") is not False:
        fail(f"want an error reply, got {text!r}")
    if needle not in reply.get("error", ""):
        fail(f"want an error containing {needle!r}, got {reply.get('error')!r}")
    print(f"ok: error reply: {reply['error']}")


def case_garbage(path):
    s = connect(path)
    send_quietly(s, os.urandom(4096).replace(b"\n", b"x") + b"\n")
    expect_error(read_reply(s), "malformed request")


def case_binary_nul(path):
    s = connect(path)
    send_quietly(s, b'{"command":"status"}\x00\x00\x00\n')
    expect_error(read_reply(s), "malformed request")


def case_not_json(path):
    s = connect(path)
    send_quietly(s, b"reload\n")
    expect_error(read_reply(s), "malformed request")


def case_unknown_command(path):
    s = connect(path)
    send_quietly(s, b'{"command":"shutdown"}\n')
    expect_error(read_reply(s), 'unknown command "shutdown"')


def case_deep(path):
    s = connect(path)
    send_quietly(s, b"[" * 20000 + b"]" * 20000 + b"\n")
    expect_error(read_reply(s), "malformed request")


def case_pipelined(path):
    # Two requests in one write: one connection carries one request; the second is ignored.
    s = connect(path)
    send_quietly(s, b'{"command":"status"}\n{"command":"reload"}\n')
    raw = read_reply(s)
    if raw.count(b"\n") != 1:
        fail(f"want one reply line, got {raw!r}")
    reply = json.loads(raw)
    if reply.get("ok") is not True or "version" not in reply:
        fail(f"want the status reply, got {raw!r}")
    print("ok: one reply, to the first request; the second was ignored")


def case_truncated(path):
    # Half a request, then the client's end of writing: natgwd must not wait for the rest.
    s = connect(path)
    send_quietly(s, b'{"command":"rel')
    s.shutdown(socket.SHUT_WR)
    expect_error(read_reply(s), "malformed request")


def case_oversized(path):
    # 16 MiB without a newline: natgwd stops reading after 64 KiB, answers and closes.
    s = connect(path)
    s.settimeout(2.0)
    chunk = b"A" * 65536
    sent = 0
    try:
        while sent < 16 * 1024 * 1024:
            s.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    s.settimeout(TIMEOUT)
    if sent >= 16 * 1024 * 1024:
        print("note: the whole 16 MiB fitted in the socket buffers")
    expect_error(read_reply(s), "request too large")


def case_slow(path):
    # A client that connects and says nothing is dropped after natgwd's deadline; other
    # clients are answered meanwhile.
    s = connect(path)
    time.sleep(0.2)
    t = connect(path)
    send_quietly(t, b'{"command":"status"}\n')
    reply = json.loads(read_reply(t))
    if reply.get("ok") is not True:
        fail(f"status while a slow client waits: {reply}")
    print("ok: status answered while a silent client holds a connection")
    start = time.monotonic()
    raw = read_reply(s)
    took = time.monotonic() - start
    if raw:
        fail(f"a silent client got a reply: {raw!r}")
    if took > CLIENT_DEADLINE + 3:
        fail(f"silent client dropped only after {took:.1f} s")
    print(f"ok: silent client dropped after {took:.1f} s")


def case_trickle(path):
    # One byte at a time, slower than the deadline allows in total: dropped, not served forever.
    s = connect(path)
    start = time.monotonic()
    req = b'{"command":"status"}' + b" " * 200 + b"\n"
    dropped = False
    for b in req:
        try:
            s.send(bytes([b]))
        except (BrokenPipeError, ConnectionResetError):
            dropped = True
            break
        time.sleep(0.05)
        if time.monotonic() - start > CLIENT_DEADLINE + 3:
            break
    took = time.monotonic() - start
    raw = read_reply(s) if not dropped else b""
    if raw and took < CLIENT_DEADLINE:
        fail(f"trickling client answered before the deadline?! {raw!r}")
    if raw:
        fail(f"trickling client past the deadline was answered: {raw!r}")
    print(f"ok: trickling client dropped at the deadline ({took:.1f} s)")


def case_flood(path):
    # More clients at once than natgwd serves: the extra ones get "busy" at once; the daemon
    # recovers as soon as they go.
    held, busy = [], 0
    for _ in range(200):
        s = connect(path)
        held.append(s)
    time.sleep(0.3)
    for s in held:
        s.setblocking(False)
        try:
            b = s.recv(4096)
        except BlockingIOError:
            continue
        if b"busy" in b:
            busy += 1
    if busy < 200 - 64:
        fail(f"want at least {200 - 64} busy replies, got {busy}")
    print(f"ok: {busy} of 200 simultaneous clients told natgwd is busy")
    for s in held:
        s.close()
    time.sleep(0.2)
    t = connect(path)
    send_quietly(t, b'{"command":"status"}\n')
    reply = json.loads(read_reply(t))
    if reply.get("ok") is not True:
        fail(f"status after the flood: {reply}")
    print("ok: status answered after the flood")


def raise_nofile(need):
    """Room for @need sockets of our own: the soft limit is often 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        fail(f"RLIMIT_NOFILE hard limit {hard} is below the {need} descriptors this case needs")
    if soft == resource.RLIM_INFINITY or soft >= need:
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def case_flood1000(path):
    # 1,000 clients connect at once and stay: natgwd holds its 64 and tells every other one it
    # is busy at once, answers a request on one it holds, and serves again when they are gone.
    n = 1000
    raise_nofile(n + 64)
    held = []
    start = time.monotonic()
    for _ in range(n):
        held.append(connect(path))
    print(f"note: {n} connections made in {time.monotonic() - start:.2f} s")
    busy, waiting = set(), set(range(n))
    deadline = time.monotonic() + TIMEOUT
    # natgwd accepts in bursts: wait (bounded) until everything it refuses has been refused.
    while time.monotonic() < deadline and len(waiting) > CLIENTS_MAX:
        for i in list(waiting):
            s = held[i]
            s.setblocking(False)
            try:
                b = s.recv(4096)
            except BlockingIOError:
                continue
            waiting.discard(i)
            if b"busy" in b:
                busy.add(i)
            else:
                fail(f"a refused client got {b!r}, not a busy reply")
        time.sleep(0.05)
    if len(busy) < n - CLIENTS_MAX:
        fail(f"want at least {n - CLIENTS_MAX} busy replies, got {len(busy)}")
    print(f"ok: {len(busy)} of {n} simultaneous clients told natgwd is busy, {len(waiting)} held")
    # A client natgwd holds is a real client: its request is answered.
    s = held[min(waiting)]
    s.settimeout(TIMEOUT)
    send_quietly(s, b'{"command":"status"}\n')
    reply = json.loads(read_reply(s))
    if reply.get("ok") is not True:
        fail(f"status on a held connection during the flood: {reply}")
    print("ok: a held client's status request answered during the flood")
    for s in held:
        s.close()
    time.sleep(0.3)
    t = connect(path)
    send_quietly(t, b'{"command":"status"}\n')
    reply = json.loads(read_reply(t))
    if reply.get("ok") is not True:
        fail(f"status after the flood: {reply}")
    print(f"ok: status answered after the flood of {n} (refused_busy {reply['control']['refused_busy']})")


def case_noread(path):
    # A client asks for a reply larger than the socket buffers and never reads it: natgwd's
    # write deadline drops it, other clients are served meanwhile. (Use with a big config:
    # a small reply fits the buffers and is simply gone.)
    s = connect(path)
    send_quietly(s, b'{"command":"show"}\n')
    time.sleep(0.5)
    t = connect(path)
    # Handled after the show, which takes seconds for a big config (many under a sanitizer).
    t.settimeout(300)
    send_quietly(t, b'{"command":"status"}\n')
    reply = json.loads(read_reply(t))
    if reply.get("ok") is not True:
        fail(f"status while a client does not read its reply: {reply}")
    print("ok: status answered while a client does not read its reply")
    time.sleep(CLIENT_DEADLINE + 1.5)
    raw = read_reply(s)
    if raw.endswith(b"\n"):
        fail(f"the whole reply ({len(raw)} bytes) fitted the socket buffers: this case needs a bigger one")
    print(f"ok: the reply was cut off after {len(raw)} bytes: natgwd dropped the client at its deadline")


def cpu_seconds(pid):
    """utime + stime of @pid (fields 14 and 15 of /proc/PID/stat), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_when_served(path, deadline):
    """A status reply, asked again (bounded) until natgwd has a descriptor for it."""
    while True:
        try:
            t = connect(path)
            send_quietly(t, b'{"command":"status"}\n')
            reply = json.loads(read_reply(t))
            if reply.get("ok") is True:
                return reply
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            fail("natgwd does not answer status after its clients went")
        time.sleep(0.1)


def case_nofds(path):
    # natgwd runs with few spare descriptors (the test lowers its RLIMIT_NOFILE; NATGWD_PID names
    # it). 40 silent clients: it accepts some, then accept() fails with EMFILE while the rest
    # wait in the backlog. natgwd must not spin on the readable listening socket (a functional
    # bound, not a benchmark: under half a core over a second), and must serve once they go.
    pid = int(os.environ["NATGWD_PID"])
    held = [connect(path) for _ in range(40)]
    time.sleep(0.3)
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(1.0)
    c1, t1 = cpu_seconds(pid), time.monotonic()
    share = (c1 - c0) / (t1 - t0)
    for s in held:
        s.close()
    if share > 0.5:
        fail(f"natgwd used {share:.0%} of a core while out of descriptors: it spins")
    print(f"ok: natgwd out of descriptors used {share:.0%} of a core over {t1 - t0:.1f} s")
    reply = status_when_served(path, time.monotonic() + TIMEOUT)
    paused = reply["control"]["accept_paused"]
    if not paused >= 1:
        fail(f"status control.accept_paused is {paused}, want at least 1")
    print(f"ok: status answered after the clients went; accept_paused {paused}")


def case_hangup(path):
    # Connect and vanish, and send a request then vanish before the reply: nothing to crash.
    for _ in range(20):
        connect(path).close()
    for _ in range(20):
        s = connect(path)
        send_quietly(s, b'{"command":"show"}\n')
        s.close()
    print("ok: 40 clients hung up early")


CASES = {
    "garbage": case_garbage,
    "nul": case_binary_nul,
    "not-json": case_not_json,
    "unknown-command": case_unknown_command,
    "pipelined": case_pipelined,
    "deep": case_deep,
    "truncated": case_truncated,
    "oversized": case_oversized,
    "slow": case_slow,
    "trickle": case_trickle,
    "flood": case_flood,
    "flood1000": case_flood1000,
    "noread": case_noread,
    "hangup": case_hangup,
    "nofds": case_nofds,
}


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        print(f"usage: ctl-abuse.py SOCKET {{{'|'.join(CASES)}}}", file=sys.stderr)
        return 2
    CASES[sys.argv[2]](sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())

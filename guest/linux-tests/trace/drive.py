#!/usr/bin/env python3
"""drive.py REQUESTS COMMAND...: runs COMMAND with one end of a socketpair as fd 3 and plays the VMM's side of
the invocation channel (guest/python/README.md): sends each request of REQUESTS, a JSON list of strings (or
@FILE holding one), as a frame (the first with
FIRST_IN_VM), prints each answer's status and first bytes on stderr, then closes the channel and waits."""
import json
import os
import socket
import struct
import subprocess
import sys

requests = json.loads(open(sys.argv[1][1:]).read() if sys.argv[1].startswith("@") else sys.argv[1])
placeholder = os.open("/dev/null", os.O_RDONLY)  # keeps fd 3 taken, so that neither end of the pair is 3
host, guest = socket.socketpair()
os.dup2(guest.fileno(), 3, inheritable=True)
process = subprocess.Popen(sys.argv[2:], pass_fds=(3,))
os.close(3)
guest.close()


def read_exact(n):
    data = b""
    while len(data) < n:
        chunk = host.recv(n - len(data))
        if not chunk:
            raise SystemExit(f"the channel closed after {len(data)} of {n} bytes")
        data += chunk
    return data


for i, request in enumerate(requests):
    body = request.encode()
    host.sendall(struct.pack("<II", len(body), 1 if i == 0 else 0) + body)
    status, length = struct.unpack("<II", read_exact(8))
    print(f"answer {status}: {read_exact(length)[:80]!r}", file=sys.stderr)
host.shutdown(socket.SHUT_WR)
sys.exit(process.wait())

#!/usr/bin/env python3
"""The HOWTO's select() example, written for CPython 3.13's os.timerfd_* API.

`import tfd.backport` is the only line added to the 3.13 code: on CPython 3.8-3.12 it adds
os.timerfd_create() and friends (implemented by tfd), on 3.13 it changes nothing.

Three timers, timer i firing every i/4 s, and a TCP control port: connect with
`telnet 127.0.0.1 1234` and type `stop`.  Unlike the HOWTO's version: only readability is
selected (a timer never signals anything else), any number of clients, line framing,
non-UTF-8 input survives, CLOCK_MONOTONIC, and --port (0: any free port, printed on stderr).
select() cannot watch descriptors numbered FD_SETSIZE (1024) or above; epoll_server.py can.
"""

import argparse
import os
import select
import socket
import sys
import time

import tfd.backport  # noqa: F401  (the one-liner: os.timerfd_* on Python 3.8+)

MAX_LINE = 4096


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1234)
    parser.add_argument("--timeout", type=float, default=3, help="select timeout in seconds")
    return parser.parse_args()


def split_lines(buffer, data, final):
    """Append `data` to `buffer`; return the complete lines (all of it when `final`)."""
    buffer += data
    *lines, rest = bytes(buffer).split(b"\n")
    if final or len(rest) > MAX_LINE:
        lines.append(rest)
        rest = b""
    buffer[:] = rest
    return [line.decode("utf-8", errors="replace").strip() for line in lines if line.strip()]


def main():
    args = parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.setblocking(False)
    sock.listen()
    print("Listening on {}:{}".format(*sock.getsockname()), file=sys.stderr, flush=True)

    num = 3
    fds = [os.timerfd_create(time.CLOCK_MONOTONIC, flags=os.TFD_NONBLOCK) for _ in range(num)]
    for i, fd in enumerate(fds, start=1):
        os.timerfd_settime(fd, initial=i / 4, interval=i / 4)

    clients = {}  # socket -> bytearray of a partial line
    try:
        is_active = True
        while is_active:
            readable, _, _ = select.select(fds + [sock] + list(clients), [], [], args.timeout)
            for fd in readable:
                if fd is sock:
                    print(f"Accepting connection {fd}")
                    conn, addr = sock.accept()
                    conn.setblocking(False)
                    print(f"Accepted connection {conn} from {addr}")
                    clients[conn] = bytearray()
                elif fd in clients:
                    print(f"Reading data {fd}")
                    data = fd.recv(1024)
                    for cmd in split_lines(clients[fd], data, final=not data):
                        if cmd.startswith("stop"):
                            print("Stopping server")
                            is_active = False
                        else:
                            print(f"Unknown command: {cmd}")
                    if not data:
                        print(f"Closing connection {fd}")
                        del clients[fd]
                        fd.close()
                elif fd in fds:
                    print(f"Reading timer {fd}")
                    count = int.from_bytes(os.read(fd, 8), byteorder=sys.byteorder)
                    print(f"Timer {fds.index(fd) + 1} expired {count} times")
                else:
                    print(f"Unknown file descriptor {fd}")
    finally:
        for fd in fds:
            os.close(fd)
        for conn in clients:
            conn.close()
        sock.close()


if __name__ == "__main__":
    main()

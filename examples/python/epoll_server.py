#!/usr/bin/env python3
"""The HOWTO's epoll example on tfd: three periodic timers and a TCP control port.

Timer i (1, 2, 3) fires every i * 0.25 s.  Connect with `telnet 127.0.0.1 1234` and type
`stop` to end the server; other lines print "Unknown command: ...".

Unlike the HOWTO's version, any number of clients may connect at once, commands are lines
(a command split across reads, or several in one read, are handled), bytes that are not
UTF-8 do not crash the server, the timers run on CLOCK_MONOTONIC, and --port picks the port
(0: any free port; the address actually bound is printed on stderr).
"""

import argparse
import select
import socket
import sys

import tfd

ONE_SECOND_NS = 10**9
MAX_LINE = 4096


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1234)
    parser.add_argument("--timeout", type=float, default=3, help="epoll timeout in seconds")
    return parser.parse_args()


def listen(host, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.setblocking(False)
    sock.listen()
    print("Listening on {}:{}".format(*sock.getsockname()), file=sys.stderr, flush=True)
    return sock


def split_lines(buffer, data, final):
    """Append `data` to `buffer`; return the complete lines (all of it when `final`)."""
    buffer += data
    *lines, rest = bytes(buffer).split(b"\n")
    if final or len(rest) > MAX_LINE:  # at EOF, or a client that never ends its line
        lines.append(rest)
        rest = b""
    buffer[:] = rest
    return [line.decode("utf-8", errors="replace").strip() for line in lines if line.strip()]


def run_command(cmd):
    """Return False when the command stops the server."""
    if cmd.startswith("stop"):
        print("Stopping server")
        return False
    print(f"Unknown command: {cmd}")
    return True


def main():
    args = parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    ep = select.epoll()
    sock = listen(args.host, args.port)
    ep.register(sock, select.EPOLLIN)

    timers = [tfd.Timer("monotonic", nonblocking=True) for _ in range(3)]
    by_fd = {timer.fileno(): number for number, timer in enumerate(timers, start=1)}
    for number, timer in enumerate(timers, start=1):
        ep.register(timer, select.EPOLLIN)
        timer.start_ns(number * ONE_SECOND_NS // 4, number * ONE_SECOND_NS // 4)

    clients = {}  # fd -> (socket, bytearray of a partial line)
    try:
        is_active = True
        while is_active:
            events = ep.poll(args.timeout)
            print(f"Signaled events={events}")
            for fd, event in events:
                if fd == sock.fileno():
                    print(f"Accepting connection {fd}")
                    conn, addr = sock.accept()
                    conn.setblocking(False)
                    print(f"Accepted connection {conn} from {addr}")
                    ep.register(conn, select.EPOLLIN)
                    clients[conn.fileno()] = (conn, bytearray())
                elif fd in clients:
                    print(f"Reading data {fd}")
                    conn, buffer = clients[fd]
                    data = conn.recv(1024)
                    for cmd in split_lines(buffer, data, final=not data):
                        is_active = run_command(cmd) and is_active
                    if not data:
                        print(f"Closing connection {fd}")
                        ep.unregister(conn)
                        conn.close()
                        del clients[fd]
                elif fd in by_fd and event & select.EPOLLIN:
                    print(f"Reading timer {fd}")
                    count = timers[by_fd[fd] - 1].read()
                    print(f"Timer {by_fd[fd]} expired {count} times")
                else:
                    print(f"Unknown file descriptor {fd}")
    finally:
        for timer in timers:
            ep.unregister(timer)
            timer.close()
        for conn, _ in clients.values():
            conn.close()
        sock.close()
        ep.close()


if __name__ == "__main__":
    main()

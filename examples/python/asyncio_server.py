#!/usr/bin/env python3
"""The HOWTO's epoll example again, written with asyncio on tfd.aio.

Three periodic timers (timer i fires every i * 0.25 s) and a TCP control port: connect with
`telnet 127.0.0.1 1234` and type `stop` to end the server; other lines print
"Unknown command: ...".  The hand-made epoll loop of epoll_server.py becomes one task per
timer and one per client on a tfd.aio event loop: each timer tick costs the loop's
epoll_wait and one read (timer.wait()), and asyncio's own timers would run exactly
on time too.  Any number of clients, commands as lines (split or joined across reads),
bytes that are not UTF-8 replaced, --port 0 for any free port (printed on stderr).
"""

import argparse
import asyncio
import sys

import tfd
import tfd.aio

ONE_SECOND_NS = 10**9
MAX_LINE = 4096


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1234)
    return parser.parse_args()


def split_lines(buffer, data, final):
    """Append `data` to `buffer`; return the complete lines (all of it when `final`)."""
    buffer += data
    *lines, rest = bytes(buffer).split(b"\n")
    if final or len(rest) > MAX_LINE:  # at EOF, or a client that never ends its line
        lines.append(rest)
        rest = b""
    buffer[:] = rest
    return [line.decode("utf-8", errors="replace").strip() for line in lines if line.strip()]


async def tick(number, timer):
    while True:
        count = await timer.wait()
        print(f"Timer {number} expired {count} times")


async def serve_client(reader, writer, stop):
    peer = writer.get_extra_info("peername")
    print(f"Accepted connection from {peer}")
    buffer = bytearray()
    try:
        while not stop.is_set():
            data = await reader.read(1024)
            for cmd in split_lines(buffer, data, final=not data):
                if cmd.startswith("stop"):
                    stop.set()
                    break
                print(f"Unknown command: {cmd}")
            if not data:
                break
    finally:
        print(f"Closing connection from {peer}")
        writer.close()


async def main(args):
    stop = asyncio.Event()
    server = await asyncio.start_server(
        lambda r, w: serve_client(r, w, stop), args.host, args.port
    )
    print("Listening on {}:{}".format(*server.sockets[0].getsockname()), file=sys.stderr,
          flush=True)
    timers = [tfd.Timer("monotonic") for _ in range(3)]
    tasks = []
    for number, timer in enumerate(timers, start=1):
        timer.start_ns(number * ONE_SECOND_NS // 4, number * ONE_SECOND_NS // 4)
        tasks.append(asyncio.ensure_future(tick(number, timer)))
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for timer in timers:
            timer.close()
        server.close()
        await server.wait_closed()
    print("Stopping server")


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)
    tfd.aio.run(main(parse_args()))

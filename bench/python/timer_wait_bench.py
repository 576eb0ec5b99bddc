#!/usr/bin/env python3
"""Many periodic tfd.Timers awaited concurrently on asyncio's stock loop, against the same
program written with asyncio.sleep.

    PYTHONPATH=build/python/3.11 python3 bench/python/timer_wait_bench.py

Both contenders run TIMERS tasks (default 1000) ticking at HZ (default 50) on one
asyncio.SelectorEventLoop (epoll), all on the same schedule:

* tfd: each task owns a Timer armed at one shared absolute first deadline with the period as
  interval, and loops on ``count = await timer.wait()``;
* asyncio.sleep: each task loops on ``await asyncio.sleep(next_deadline - loop.time())``,
  next_deadline = first + k * period, skipping the periods it missed.

A round runs one contender in a fresh loop for SECONDS after a warm-up, and measures the
process's CPU time (time.process_time) and the wake-ups in that window.  Rounds alternate
the contenders (tfd first in even rounds, sleep first in odd ones).  Printed per contender:
the median CPU per wake-up, the median wake-ups per second, and "missed", the number of
wake-ups that came a period or more late (tfd: a count > 1; sleep: woken a period or more
after its deadline), summed over all rounds; then the ratio of the medians, tfd / sleep
(goal <= 1.0).  The machine's load changes the figures from run to run: only the ratio of
one run means something.
"""

import argparse
import asyncio
import statistics
import sys
import time

import tfd


class Counters:
    __slots__ = ("wakeups", "missed", "running")

    def __init__(self):
        self.wakeups = 0
        self.missed = 0
        self.running = True


async def tfd_ticker(timer, counters):
    wait = timer.wait
    while counters.running:
        try:
            count = await wait()
        except tfd.TimerDisarmed:
            return
        counters.wakeups += 1
        if count > 1:
            counters.missed += 1


async def sleep_ticker(first, period, counters):
    loop = asyncio.get_running_loop()
    deadline = first
    while counters.running:
        await asyncio.sleep(deadline - loop.time())
        counters.wakeups += 1
        late = loop.time() - deadline
        if late >= period:
            counters.missed += 1
            deadline += period * int(late // period)  # skip the missed periods, as a timer does
        deadline += period


async def measure(kind, timers, period, warmup, seconds):
    loop = asyncio.get_running_loop()
    counters = Counters()
    owned = []
    if kind == "tfd":
        first = time.clock_gettime(time.CLOCK_MONOTONIC) + 0.1
        for _ in range(timers):
            timer = tfd.Timer()
            timer.start(first, interval=period, absolute=True)
            owned.append(timer)
        tasks = [asyncio.ensure_future(tfd_ticker(t, counters)) for t in owned]
    else:
        first = loop.time() + 0.1
        tasks = [asyncio.ensure_future(sleep_ticker(first, period, counters)) for _ in range(timers)]
    await asyncio.sleep(0.1 + warmup)
    cpu, wakeups, missed, wall = time.process_time(), counters.wakeups, counters.missed, time.monotonic()
    await asyncio.sleep(seconds)
    cpu = time.process_time() - cpu
    wall = time.monotonic() - wall
    wakeups, missed = counters.wakeups - wakeups, counters.missed - missed
    counters.running = False
    for timer in owned:
        timer.stop()  # wakes every waiter with TimerDisarmed
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for timer in owned:
        timer.close()
    return cpu / max(wakeups, 1), wakeups / wall, missed


def run_round(kind, args):
    loop = asyncio.SelectorEventLoop()
    try:
        return loop.run_until_complete(
            measure(kind, args.timers, 1.0 / args.hz, args.warmup, args.seconds)
        )
    finally:
        loop.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timers", type=int, default=1000)
    parser.add_argument("--hz", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=2.0, help="measured time per round")
    parser.add_argument("--warmup", type=float, default=0.3)
    parser.add_argument("--rounds", type=int, default=5, help="rounds per contender")
    args = parser.parse_args()

    results = {"tfd": [], "sleep": []}
    for index in range(args.rounds):
        order = ("tfd", "sleep") if index % 2 == 0 else ("sleep", "tfd")
        for kind in order:
            results[kind].append(run_round(kind, args))

    print(f"Python {sys.version.split()[0]}, {args.timers} timers at {args.hz:g} Hz, "
          f"{args.rounds} rounds x {args.seconds:g} s per contender, alternating; medians")
    print(f"{'contender':<16}{'CPU/wake-up':>14}{'wake-ups/s':>14}{'missed':>10}")
    medians = {}
    for kind, label in (("tfd", "Timer.wait"), ("sleep", "asyncio.sleep")):
        cpu = statistics.median(r[0] for r in results[kind])
        rate = statistics.median(r[1] for r in results[kind])
        missed = sum(r[2] for r in results[kind])
        medians[kind] = cpu
        print(f"{label:<16}{cpu * 1e6:>11.2f} us{rate:>14.0f}{missed:>10}")
    print(f"ratio Timer.wait / asyncio.sleep, CPU per wake-up: {medians['tfd'] / medians['sleep']:.2f}x"
          " (goal <= 1.0x)")


if __name__ == "__main__":
    main()

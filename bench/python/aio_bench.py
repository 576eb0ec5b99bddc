#!/usr/bin/env python3
"""tfd.aio against asyncio's selector loop and uvloop: timer precision, timer cost, streams.

One invocation, one interpreter, every contender side by side in rounds that alternate
their order; medians over the rounds, and ratios.  uvloop is Debian's python3-uvloop, which
imports on Debian's /usr/bin/python3 (3.11):

    PYTHONPATH=build/python/3.11 /usr/bin/python3 bench/python/aio_bench.py

(without uvloop its column is left out).  Measured:

  grid      1 ms periodic grid re-armed with call_at, --periods periods: lateness p50/p99/max,
            missed periods and early wake-ups, against a raw timerfd read loop (a periodic
            TFD_TIMER_ABSTIME timer read with os.read) in the same run;
  sleep     asyncio.sleep(d) for d in 50 us, 200 us, 1 ms, 10 ms: median lateness, early
            count and CPU (user + system) per sleep, against a raw timerfd (relative arm, blocking read) of the same d;
            grid and sleep also run tfd.aio with spin_margin=50us (--margin), which wakes
            that much early and spins to each deadline, and report the CPU it spends;
  cost      200k call_later (delays uniform in 1..100 s) then cancel each: ns per call;
  fire      50k timers due uniformly over 1 s: CPU (user + system) per fired timer and
            blocking waits (voluntary context switches) per fired timer, tfd.aio
            exact, exact with timed waits (timer_slack=1e-9: deadlines up to 100 us ahead
            waited for with epoll_pwait2's timeout) and with 1 ms of timer coalescing;
  soon      a callback re-queuing itself with call_soon: CPU per pass of the loop;
  streams   asyncio streams echo: 1 client ping-pong and 100 clients, messages per second.

--svg PATH writes the grid's lateness distributions (CDF) of asyncio, uvloop and tfd.aio as
an SVG (docs/asyncio-lateness.svg in the docs).  The machine's other load shows up in every
figure: only the ratios of one run mean anything.
"""

import argparse
import asyncio
import gc
import json
import os
import random
import resource
import statistics
import sys
import time

import tfd
import tfd.aio

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aio_plot import write_cdf_svg  # noqa: E402

try:
    sys.path.append("/usr/lib/python3/dist-packages")
    import uvloop
except ImportError:  # pragma: no cover - depends on the machine
    uvloop = None
finally:
    sys.path.remove("/usr/lib/python3/dist-packages")


def loop_factories():
    factories = {"asyncio": asyncio.SelectorEventLoop}
    if uvloop is not None:
        factories["uvloop"] = uvloop.new_event_loop
    factories["tfd.aio"] = tfd.aio.new_event_loop
    return factories


def quantile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


# --- grid -----------------------------------------------------------------------------------


def grid_loop(factory, period_ns, periods):
    """Lateness (ns, negative = early) of each tick of a call_at grid; missed = ticks that ran
    more than a period late."""
    loop = factory()
    lateness = []
    done = loop.create_future()
    start_ns = time.monotonic_ns() + 20 * period_ns

    def tick(k):
        now = time.monotonic_ns()
        lateness.append(now - (start_ns + k * period_ns))
        if k == periods:
            done.set_result(None)
            return
        schedule(k + 1)

    def schedule(k):
        # `when` on the loop's own clock for the grid point k on CLOCK_MONOTONIC: the
        # monotonic clock is read first, so `when` is never before the grid point.
        delay = (start_ns + k * period_ns - time.monotonic_ns()) / 1e9
        loop.call_at(loop.time() + delay, tick, k)

    schedule(1)
    loop.run_until_complete(done)
    loop.close()
    return lateness


def grid_raw(period_ns, periods):
    """The floor: a periodic absolute timerfd, read with a blocking os.read per tick."""
    fd = tfd.timerfd_create(tfd.CLOCK_MONOTONIC)
    start_ns = time.monotonic_ns() + 20 * period_ns
    tfd.timerfd_settime_ns(fd, flags=tfd.TFD_TIMER_ABSTIME, initial=start_ns + period_ns,
                           interval=period_ns)
    lateness = []
    k = 0
    try:
        while k < periods:
            count = int.from_bytes(os.read(fd, 8), "little")
            now = time.monotonic_ns()
            # Every grid point this read covers, as a loop handling them one by one now
            # would see them (so that missed periods count the same way).
            for j in range(k + 1, k + count + 1):
                lateness.append(now - (start_ns + j * period_ns))
            k += count
    finally:
        os.close(fd)
    return lateness


def summarize_grid(lateness, period_ns):
    ordered = sorted(lateness)
    return {
        "p50_us": quantile(ordered, 0.5) / 1e3,
        "p99_us": quantile(ordered, 0.99) / 1e3,
        "max_us": ordered[-1] / 1e3,
        "missed": sum(1 for x in lateness if x >= period_ns),
        "early": sum(1 for x in lateness if x < 0),
        "min_us": ordered[0] / 1e3,
    }


# --- sleep ----------------------------------------------------------------------------------


def sleep_loop(factory, delay, samples):
    loop = factory()

    async def main():
        out = []
        cpu0 = time.process_time_ns()
        for _ in range(samples):
            start = time.monotonic_ns()
            await asyncio.sleep(delay)
            out.append(time.monotonic_ns() - start - round(delay * 1e9))
        return out, (time.process_time_ns() - cpu0) / samples

    result = loop.run_until_complete(main())
    loop.close()
    return result


def sleep_raw(delay, samples):
    fd = tfd.timerfd_create(tfd.CLOCK_MONOTONIC)
    out = []
    try:
        cpu0 = time.process_time_ns()
        for _ in range(samples):
            start = time.monotonic_ns()
            tfd.timerfd_settime_ns(fd, initial=round(delay * 1e9))
            os.read(fd, 8)
            out.append(time.monotonic_ns() - start - round(delay * 1e9))
        cpu = (time.process_time_ns() - cpu0) / samples
    finally:
        os.close(fd)
    return out, cpu


# --- cost and fire --------------------------------------------------------------------------


def timer_cost(factory, count):
    """ns per call_later and per cancel() call, the bare Python loop around them subtracted
    (timed over the same lists), with the garbage collector off so that it does not land in
    one side."""
    loop = factory()
    rng = random.Random(5)
    delays = [rng.uniform(1, 100) for _ in range(count)]
    noop = lambda: None  # noqa: E731
    call_later = loop.call_later
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter_ns()
        handles = [call_later(d, noop) for d in delays]
        t1 = time.perf_counter_ns()
        for h in handles:
            h.cancel()
        t2 = time.perf_counter_ns()
        empty = [noop for d in delays]
        t3 = time.perf_counter_ns()
        for h in handles:
            pass
        t4 = time.perf_counter_ns()
    finally:
        gc.enable()
    del empty
    loop.close()
    base_start = t3 - t2
    base_cancel = t4 - t3
    return (t1 - t0 - base_start) / count, (t2 - t1 - base_cancel) / count


def cpu_per_fired(factory, count, span):
    loop = factory()
    fired = [0]
    done = loop.create_future()

    def cb():
        fired[0] += 1
        if fired[0] == count:
            done.set_result(None)

    rng = random.Random(9)
    offsets = [rng.uniform(0, span) for _ in range(count)]
    start = loop.time() + 0.05
    for off in offsets:
        loop.call_at(start + off, cb)
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    loop.run_until_complete(done)
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    loop.close()
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    # Voluntary context switches: the times the loop blocked, hence was woken.
    return {"cpu_ns": cpu / count * 1e9, "sleeps": (ru1.ru_nvcsw - ru0.ru_nvcsw) / count}


def soon_chain(factory, count):
    """CPU ns per pass of a callback that re-queues itself with call_soon: the loop's own
    overhead per pass (wait, dispatch, run), with no timer and no descriptor ready."""
    loop = factory()
    n = [0]

    def cb():
        n[0] += 1
        if n[0] < count:
            loop.call_soon(cb)
        else:
            loop.stop()

    loop.call_soon(cb)
    t0 = time.process_time()
    loop.run_forever()
    elapsed = time.process_time() - t0
    loop.close()
    return elapsed / count * 1e9


# --- streams --------------------------------------------------------------------------------


def streams_echo(factory, clients, messages):
    loop = factory()

    handlers = []

    async def handler(reader, writer):
        handlers.append(asyncio.current_task())
        while True:
            line = await reader.readline()
            if not line:
                break
            writer.write(line)
            await writer.drain()
        writer.close()

    async def client(port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        payload = b"x" * 100 + b"\n"
        for _ in range(messages):
            writer.write(payload)
            await writer.drain()
            await reader.readline()
        writer.close()

    async def main():
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        t0 = time.perf_counter()
        await asyncio.gather(*(client(port) for _ in range(clients)))
        elapsed = time.perf_counter() - t0
        await asyncio.gather(*handlers)
        server.close()
        await server.wait_closed()
        return clients * messages / elapsed

    rate = loop.run_until_complete(main())
    loop.close()
    return rate


# --- driver ---------------------------------------------------------------------------------


def rotate(items, r):
    items = list(items)
    r %= len(items)
    return items[r:] + items[:r]


def fmt(x, digits=1):
    return f"{x:.{digits}f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--periods", type=int, default=3000)
    parser.add_argument("--svg", help="write the grid lateness CDF here")
    parser.add_argument("--json", help="write every figure here")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--margin", type=float, default=50e-6,
                        help="spin_margin (seconds) of the precision contender (default 50e-6)")
    args = parser.parse_args()
    quick = args.quick
    periods = 300 if quick else args.periods
    period_ns = 1_000_000
    factories = loop_factories()
    names = list(factories)
    # The precision sections (grid, sleep) also run tfd.aio waking early and spinning.
    margin_name = f"tfd.aio margin {args.margin * 1e6:g}us"
    precise = dict(factories)
    precise[margin_name] = lambda: tfd.aio.new_event_loop(spin_margin=args.margin)
    precise_names = list(precise)
    print(f"Python {sys.version.split()[0]} ({sys.executable}); uvloop "
          f"{uvloop.__version__ if uvloop else 'not installed'}; {args.rounds} rounds, "
          f"contenders alternating; load average {os.getloadavg()[0]:.2f}")
    results = {"grid": {}, "sleep": {}, "cost": {}, "fire": {}, "soon": {}, "streams": {}}
    grid_samples = {name: [] for name in precise_names + ["raw timerfd"]}
    sleep_delays = (50e-6, 200e-6, 1e-3, 10e-3)
    sleep_samples = {50e-6: 400, 200e-6: 400, 1e-3: 200, 10e-3: 50}
    if quick:
        sleep_samples = {d: 20 for d in sleep_delays}
    cost_count = 20_000 if quick else 200_000
    fire_count = 5_000 if quick else 50_000
    fire_variants = dict(factories)
    fire_variants["tfd.aio timed"] = lambda: tfd.aio.new_event_loop(timer_slack=1e-9)
    fire_variants["tfd.aio coalesce 1ms"] = lambda: tfd.aio.new_event_loop(timer_coalescing=0.001)
    echo_cases = {"1 client": (1, 2000 if quick else 30000), "100 clients": (100, 20 if quick else 600)}
    echo_variants = {k: v for k, v in factories.items()}

    for r in range(args.rounds):
        for name in rotate(precise_names + ["raw timerfd"], r):
            cpu0 = time.process_time_ns()
            lat = grid_raw(period_ns, periods) if name == "raw timerfd" else grid_loop(precise[name], period_ns, periods)
            cpu = (time.process_time_ns() - cpu0) / periods / 1e3
            grid_samples[name].append(lat)
            results["grid"].setdefault(name, []).append(dict(summarize_grid(lat, period_ns), cpu_us=cpu))
        for delay in sleep_delays:
            for name in rotate(precise_names + ["raw timerfd"], r):
                n = sleep_samples[delay]
                lat, cpu = sleep_raw(delay, n) if name == "raw timerfd" else sleep_loop(precise[name], delay, n)
                cpu /= 1e3
                entry = results["sleep"].setdefault(f"{delay * 1e6:g}us", {}).setdefault(name, [])
                entry.append({"median_us": statistics.median(lat) / 1e3, "early": sum(1 for x in lat if x < 0),
                              "cpu_us": cpu})
        for name in rotate(names, r):
            start, cancel = timer_cost(factories[name], cost_count)
            results["cost"].setdefault(name, []).append({"call_later_ns": start, "cancel_ns": cancel})
        for name in rotate(list(fire_variants), r):
            results["fire"].setdefault(name, []).append(cpu_per_fired(fire_variants[name], fire_count, 1.0))
        for name in rotate(names, r):
            results["soon"].setdefault(name, []).append(soon_chain(factories[name], cost_count))
        for case, (clients, messages) in echo_cases.items():
            for name in rotate(list(echo_variants), r):
                rate = streams_echo(echo_variants[name], clients, messages)
                results["streams"].setdefault(case, {}).setdefault(name, []).append(rate)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    med = statistics.median
    print("\n## 1 ms periodic grid, call_at re-arm, %d periods (medians of %d rounds)\n" % (periods, args.rounds))
    print("| loop | p50 late (us) | p99 late (us) | max late (us) | missed | early | p50 / raw | p99 / raw "
          "| CPU per period (us) |")
    print("|---|---|---|---|---|---|---|---|---|")
    raw = results["grid"]["raw timerfd"]
    raw50, raw99 = med(x["p50_us"] for x in raw), med(x["p99_us"] for x in raw)
    for name in ["raw timerfd"] + precise_names:
        rows = results["grid"][name]
        p50, p99 = med(x["p50_us"] for x in rows), med(x["p99_us"] for x in rows)
        print(f"| {name} | {fmt(p50)} | {fmt(p99)} | {fmt(med(x['max_us'] for x in rows))} | "
              f"{med(x['missed'] for x in rows):g} | {med(x['early'] for x in rows):g} | "
              f"{p50 / raw50:.2f} | {p99 / raw99:.2f} | {fmt(med(x['cpu_us'] for x in rows))} |")

    print("\n## asyncio.sleep(d): median lateness (us), early wake-ups (sum over rounds), "
          "CPU per sleep (us)\n")
    print("| d | " + " | ".join(["raw timerfd"] + precise_names) + f" | tfd.aio / raw | margin / raw |")
    print("|---|" + "---|" * (len(precise_names) + 3))
    for d, per in results["sleep"].items():
        cells = []
        for name in ["raw timerfd"] + precise_names:
            rows = per[name]
            cells.append(f"{fmt(med(x['median_us'] for x in rows))} ({sum(x['early'] for x in rows)} early, "
                         f"{fmt(med(x['cpu_us'] for x in rows))} CPU)")
        raw_median = med(x["median_us"] for x in per["raw timerfd"])
        ratios = [med(x["median_us"] for x in per[name]) / raw_median for name in ("tfd.aio", margin_name)]
        print(f"| {d} | " + " | ".join(cells) + "".join(f" | {q:.2f}" for q in ratios) + " |")

    print(f"\n## {cost_count} call_later (1..100 s) then cancel: ns per call\n")
    print("| loop | call_later | cancel |" + (" call_later / uvloop | cancel / uvloop |" if uvloop else ""))
    print("|---|---|---|" + ("---|---|" if uvloop else ""))
    for name in names:
        rows = results["cost"][name]
        s, c = med(x["call_later_ns"] for x in rows), med(x["cancel_ns"] for x in rows)
        line = f"| {name} | {fmt(s, 0)} | {fmt(c, 0)} |"
        if uvloop:
            us = med(x["call_later_ns"] for x in results["cost"]["uvloop"])
            uc = med(x["cancel_ns"] for x in results["cost"]["uvloop"])
            line += f" {s / us:.2f} | {c / uc:.2f} |"
        print(line)

    print(f"\n## {fire_count} timers due over 1 s: CPU ns per fired timer\n")
    print("| loop | CPU per timer (ns) | sleeps per timer |" + (" CPU / uvloop |" if uvloop else ""))
    print("|---|---|---|" + ("---|" if uvloop else ""))
    for name, rows in results["fire"].items():
        cpu = med(x["cpu_ns"] for x in rows)
        line = f"| {name} | {fmt(cpu, 0)} | {med(x['sleeps'] for x in rows):.3f} |"
        if uvloop:
            line += f" {cpu / med(x['cpu_ns'] for x in results['fire']['uvloop']):.2f} |"
        print(line)
    print("\n(A sleep is a voluntary context switch: the loop blocked and was woken again.)")

    print(f"\n## call_soon chain ({cost_count} passes): CPU ns per pass\n")
    print("| loop | ns per pass | / asyncio |")
    print("|---|---|---|")
    for name in names:
        rows = results["soon"][name]
        print(f"| {name} | {fmt(med(rows), 0)} | {med(rows) / med(results['soon']['asyncio']):.2f} |")

    print("\n## asyncio streams echo: messages per second\n")
    print("| case | " + " | ".join(echo_variants) + " | tfd.aio / asyncio |")
    print("|---|" + "---|" * (len(echo_variants) + 1))
    for case, per in results["streams"].items():
        cells = [fmt(med(per[name]), 0) for name in echo_variants]
        print(f"| {case} | " + " | ".join(cells) + f" | {med(per['tfd.aio']) / med(per['asyncio']):.2f} |")

    if args.svg:
        series = {name: [x / 1e3 for run in grid_samples[name] for x in run]
                  for name in precise_names + ["raw timerfd"]}
        write_cdf_svg(args.svg, series, f"1 ms grid, {periods} periods x {args.rounds} rounds, "
                      f"Python {sys.version.split()[0]}")
        print(f"\nwrote {args.svg}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=1)


if __name__ == "__main__":
    main()

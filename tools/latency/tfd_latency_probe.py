"""The python mode of tfd-latency: periodic wake-ups through tfd.Timer, measured in Python.

Driven over stdin by tfd-latency.  Each command ``run <clock> <period_ns> <periods>`` arms a
periodic timer at an absolute first deadline one period ahead, blocks in ``Timer.read()``
for each wake-up and answers one line ``<lateness_ns> <periods_covered>`` per wake-up, then
``end``.  The first wake-up of a chunk is a warm-up and is not reported, as in every mode.
Lines are written after the chunk so that no I/O happens while measuring.
"""

import sys
import time

import tfd

# The alarm clocks count in the time of their base clock.
_BASE_CLOCK = {8: 0, 9: 7}


def run_chunk(clock, period, periods):
    base = _BASE_CLOCK.get(clock, clock)
    now = time.clock_gettime_ns
    samples = []
    with tfd.Timer(clock) as timer:
        deadline = now(base) + period
        timer.start_ns(deadline, period, absolute=True)
        warm_up = True
        done = 0
        while done < periods:
            count = timer.read()
            lateness = now(base) - deadline
            if warm_up:
                warm_up = False
            else:
                samples.append((lateness, count))
                done += count
            deadline += count * period
    return samples


def main():
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        if words[0] != "run":
            print(f"error unknown command {words[0]!r}", flush=True)
            continue
        clock, period, periods = (int(word) for word in words[1:4])
        samples = run_chunk(clock, period, periods)
        sys.stdout.write("".join(f"{late} {count}\n" for late, count in samples))
        print("end", flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The HOWTO's first example on tfd: a blocking timer, first after 1 s, then every 0.5 s.

Prints "Timer expired" four times.  The timer runs on CLOCK_MONOTONIC, which setting the
wall clock cannot disturb, and the `with` block closes it whatever happens.
"""

import tfd


def main():
    with tfd.Timer("monotonic") as timer:
        timer.start(1, interval=0.5)
        for _ in range(4):
            timer.read()  # blocks until the timer expires
            print("Timer expired")


if __name__ == "__main__":
    main()

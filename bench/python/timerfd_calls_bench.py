#!/usr/bin/env python3
"""Per-call cost of tfd's timerfd functions against CPython 3.13's os.timerfd_* and ctypes.

Run with CPython 3.13 (the only version whose os has the functions) and tfd importable:

    PYTHONPATH=build/python/3.13 PYENV_VERSION=3.13.0 python3 bench/python/timerfd_calls_bench.py

Every contender makes the same calls on the same interpreter, in rounds that alternate the
order of the contenders; each round times a batch of calls per contender.  Printed: the
median nanoseconds per call (loop included, identical for all) and the ratios
tfd/os (goal <= 1.05) and ctypes/tfd (goal >= 2.5).  Without os.timerfd_* (3.8-3.12) the os
column is left out.
"""

import argparse
import ctypes
import math
import os
import statistics
import sys
import time
from itertools import repeat

import tfd


# --- the ctypes implementation a user of CPython 3.8-3.12 writes today ----------------------


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class CtypesTimerfd:
    """os.timerfd_* written with ctypes, keeping the same signatures and results."""

    TFD_NONBLOCK = os.O_NONBLOCK
    TFD_CLOEXEC = os.O_CLOEXEC

    def __init__(self):
        libc = ctypes.CDLL(None, use_errno=True)
        self._create = libc.timerfd_create
        self._create.argtypes = [ctypes.c_int, ctypes.c_int]
        self._create.restype = ctypes.c_int
        self._settime = libc.timerfd_settime
        self._settime.argtypes = [
            ctypes.c_int, ctypes.c_int, ctypes.POINTER(_Itimerspec), ctypes.POINTER(_Itimerspec)
        ]
        self._settime.restype = ctypes.c_int
        self._gettime = libc.timerfd_gettime
        self._gettime.argtypes = [ctypes.c_int, ctypes.POINTER(_Itimerspec)]
        self._gettime.restype = ctypes.c_int

    @staticmethod
    def _raise():
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))

    def timerfd_create(self, clockid, *, flags=0):
        fd = self._create(clockid, flags | os.O_CLOEXEC)
        if fd < 0:
            self._raise()
        return fd

    def timerfd_settime_ns(self, fd, *, flags=0, initial=0, interval=0):
        new, old = _Itimerspec(), _Itimerspec()
        new.it_value.tv_sec, new.it_value.tv_nsec = divmod(initial, 10**9)
        new.it_interval.tv_sec, new.it_interval.tv_nsec = divmod(interval, 10**9)
        if self._settime(fd, flags, ctypes.byref(new), ctypes.byref(old)) < 0:
            self._raise()
        return (
            old.it_value.tv_sec * 10**9 + old.it_value.tv_nsec,
            old.it_interval.tv_sec * 10**9 + old.it_interval.tv_nsec,
        )

    def timerfd_settime(self, fd, *, flags=0, initial=0.0, interval=0.0):
        new, old = _Itimerspec(), _Itimerspec()
        new.it_value.tv_sec, new.it_value.tv_nsec = divmod(math.floor(initial * 1e9), 10**9)
        new.it_interval.tv_sec, new.it_interval.tv_nsec = divmod(
            math.floor(interval * 1e9), 10**9
        )
        if self._settime(fd, flags, ctypes.byref(new), ctypes.byref(old)) < 0:
            self._raise()
        return (
            old.it_value.tv_sec + old.it_value.tv_nsec * 1e-9,
            old.it_interval.tv_sec + old.it_interval.tv_nsec * 1e-9,
        )

    def timerfd_gettime_ns(self, fd):
        spec = _Itimerspec()
        if self._gettime(fd, ctypes.byref(spec)) < 0:
            self._raise()
        return (
            spec.it_value.tv_sec * 10**9 + spec.it_value.tv_nsec,
            spec.it_interval.tv_sec * 10**9 + spec.it_interval.tv_nsec,
        )

    def timerfd_gettime(self, fd):
        spec = _Itimerspec()
        if self._gettime(fd, ctypes.byref(spec)) < 0:
            self._raise()
        return (
            spec.it_value.tv_sec + spec.it_value.tv_nsec * 1e-9,
            spec.it_interval.tv_sec + spec.it_interval.tv_nsec * 1e-9,
        )


# --- the harness --------------------------------------------------------------------------

# Operation -> the call made in the timed loop (`f` is the contender's function).
OPERATIONS = {
    "timerfd_gettime_ns": "f(fd)",
    "timerfd_gettime": "f(fd)",
    "timerfd_settime_ns": "f(fd, initial=1000000000000, interval=1000000000)",
    "timerfd_settime": "f(fd, initial=1000.0, interval=1.0)",
    "timerfd_create+close": "close(f(1))",
    "timerfd_create": None,  # creation alone: see CREATE_LOOP
}

# Times creation alone: descriptors are created in batches and closed outside the timing.
CREATE_BATCH = 1000
CREATE_LOOP = """
def loop(calls):
    elapsed = 0
    while calls > 0:
        batch = min(calls, BATCH)
        fds = [None] * batch
        start = perf_counter_ns()
        for i in range(batch):
            fds[i] = f(1)
        elapsed += perf_counter_ns() - start
        for fd in fds:
            close(fd)
        calls -= batch
    return elapsed
"""


def make_loop(operation, function, fd):
    """A function running `calls` calls of the operation, the call spelled out in the loop
    body so nothing but the call itself differs between contenders."""
    call = OPERATIONS[operation]
    if call is None:
        source = CREATE_LOOP
    else:
        source = (
            "def loop(calls):\n    start = perf_counter_ns()\n"
            f"    for _ in repeat(None, calls):\n        {call}\n"
            "    return perf_counter_ns() - start\n"
        )
    scope = {
        "repeat": repeat, "f": function, "fd": fd, "close": os.close,
        "perf_counter_ns": time.perf_counter_ns, "BATCH": CREATE_BATCH,
    }
    exec(source, scope)
    return scope["loop"]


def contenders():
    found = {"tfd": tfd}
    if hasattr(os, "timerfd_create"):
        found["os"] = os
    found["ctypes"] = CtypesTimerfd()
    return found


def bench(operation, modules, fd, rounds, calls):
    loops = {
        name: make_loop(operation, getattr(m, operation.split("+")[0]), fd)
        for name, m in modules.items()
    }
    samples = {name: [] for name in loops}
    names = list(loops)
    for loop in loops.values():
        loop(calls // 10)  # warm-up
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:  # alternate who goes first
            samples[name].append(loops[name](calls) / calls)
    return {name: statistics.median(values) for name, values in samples.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()

    modules = contenders()
    fd = tfd.timerfd_create(tfd.CLOCK_MONOTONIC, flags=tfd.TFD_NONBLOCK)
    print(f"Python {sys.version.split()[0]}, tfd from {os.path.dirname(tfd.__file__)}")
    print(f"{args.rounds} rounds x {args.calls} calls, contenders alternating; median ns/call")
    header = f"{'operation':<22}" + "".join(f"{name:>10}" for name in modules)
    if "os" in modules:
        header += f"{'tfd/os':>9}"
    header += f"{'ctypes/tfd':>12}"
    print(header)
    try:
        for operation in OPERATIONS:
            medians = bench(operation, modules, fd, args.rounds, args.calls)
            line = f"{operation:<22}" + "".join(f"{medians[n]:>10.0f}" for n in modules)
            if "os" in modules:
                line += f"{medians['tfd'] / medians['os']:>8.3f}x"
            line += f"{medians['ctypes'] / medians['tfd']:>11.2f}x"
            print(line, flush=True)
    finally:
        os.close(fd)


if __name__ == "__main__":
    main()

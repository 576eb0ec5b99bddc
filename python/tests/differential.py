"""Differential cases: every call here is made on CPython 3.13's ``os`` and on ``tfd``, and the
outcomes (result shape and exact values where they are deterministic, or exception type and
message, plus warnings) must be identical.

Run as a script (``python3.13 differential.py os``) it prints the outcomes as JSON; the test
suite runs it under the reference interpreter and compares with the tfd outcomes in-process.
"""

import inspect
import json
import sys
import time
import warnings

FUNCTIONS = (
    "timerfd_create",
    "timerfd_settime",
    "timerfd_settime_ns",
    "timerfd_gettime",
    "timerfd_gettime_ns",
)
CONSTANTS = ("TFD_NONBLOCK", "TFD_CLOEXEC", "TFD_TIMER_ABSTIME", "TFD_TIMER_CANCEL_ON_SET")


class State:
    """The fresh timer descriptor each case runs against (set per case)."""

    fd = -1


class Index:
    def __init__(self, value):
        self.value = value

    def __index__(self):
        return self.value


class Float:
    def __init__(self, value):
        self.value = value

    def __float__(self):
        return self.value


class IntSub(int):
    pass


class FloatSub(float):
    pass


class IndexAndFloat:
    def __index__(self):
        return 7

    def __float__(self):
        return 0.25


class Raising:
    def __index__(self):
        raise ZeroDivisionError("from __index__")

    def __float__(self):
        raise KeyError("from __float__")


class FileNo:
    def __init__(self, value=None):
        self.value = value

    def fileno(self):
        return State.fd if self.value is None else self.value


class FileNoRaises:
    def fileno(self):
        raise RuntimeError("fileno failed")


class GetattrRaises:
    def __getattr__(self, name):
        raise RuntimeError(f"no {name} today")


class IntFd(int):
    def __index__(self):
        raise AssertionError("__index__ must not be used for an int fd")


NAN = float("nan")
INF = float("inf")
NONE = None

# Each case is an expression over `f` (os or tfd), `T` (a fresh CLOCK_MONOTONIC timer) and the
# helpers above.  Names that would leak process-specific numbers go through `fd_result`.
CASES = [
    # --- timerfd_create: argument binding ---
    "f.timerfd_create()",
    "f.timerfd_create(1, 2)",
    "f.timerfd_create(1, 2, 3)",
    "f.timerfd_create(clockid=1)",
    "f.timerfd_create(clockid=1, flags=0)",
    "f.timerfd_create(1, foo=1)",
    "f.timerfd_create(1, flags=0, foo=1)",
    "f.timerfd_create(1, **{'flags': 0, 'x': 2})",
    "f.timerfd_create(**{'flags': 0, 'x': 2, 'y': 3})",
    "f.timerfd_create(1, **{'clockid': 1})",
    # --- timerfd_create: conversions ---
    "fd_result(f.timerfd_create(1))",
    "fd_result(f.timerfd_create(True))",
    "fd_result(f.timerfd_create(Index(1)))",
    "fd_result(f.timerfd_create(IntSub(1)))",
    "fd_result(f.timerfd_create(1, flags=f.TFD_NONBLOCK))",
    "fd_result(f.timerfd_create(1, flags=f.TFD_CLOEXEC))",
    "fd_result(f.timerfd_create(1, flags=Index(0)))",
    "f.timerfd_create(1.0)",
    "f.timerfd_create('a')",
    "f.timerfd_create(None)",
    "f.timerfd_create(Float(1.0))",
    "fd_result(f.timerfd_create(IndexAndFloat()))",
    "f.timerfd_create(Raising())",
    "f.timerfd_create(Index(1.5))",
    "fd_result(f.timerfd_create(Index(IntSub(1))))",
    "f.timerfd_create(2**31)",
    "f.timerfd_create(2**31 - 1)",
    "f.timerfd_create(-2**31 - 1)",
    "f.timerfd_create(-2**31)",
    "f.timerfd_create(2**64)",
    "f.timerfd_create(Index(2**40))",
    "f.timerfd_create(99)",
    "f.timerfd_create(-1)",
    "f.timerfd_create(2)",
    "f.timerfd_create(1, flags=1.0)",
    "f.timerfd_create(1, flags=-1)",
    "f.timerfd_create(1, flags=1)",
    "f.timerfd_create(1, flags=2**40)",
    "f.timerfd_create(1, flags=None)",
    "f.timerfd_create(1.5, flags='x')",
    "f.timerfd_create(99, flags='x')",
    # --- timerfd_settime: argument binding ---
    "f.timerfd_settime()",
    "f.timerfd_settime(T, 0)",
    "f.timerfd_settime(T, 0, 1.0, 2.0)",
    "f.timerfd_settime(T, 0, 1.0, 2.0, 3.0)",
    "f.timerfd_settime(fd=T)",
    "f.timerfd_settime(T, fd=T)",
    "f.timerfd_settime(T, flags=0, bar=2)",
    "f.timerfd_settime(T, initial=1, fd=2)",
    "f.timerfd_settime(T, **{'bar': 1, 'initial': 2, 'interval': 3, 'flags': 0})",
    "f.timerfd_settime(**{'bar': 1, 'initial': 2, 'interval': 3, 'flags': 0})",
    "f.timerfd_settime(T, 1, bar=2)",
    # --- timerfd_settime: fd conversion ---
    "f.timerfd_settime(-1)",
    "f.timerfd_settime(-5, initial=-1)",
    "f.timerfd_settime(-2**31 - 1)",
    "f.timerfd_settime(2**31)",
    "f.timerfd_settime(2**100)",
    "f.timerfd_settime(1.5)",
    "f.timerfd_settime('x')",
    "f.timerfd_settime(None, initial='x')",
    "f.timerfd_settime(Index(3))",
    "f.timerfd_settime(FileNo())",
    "f.timerfd_settime(FileNo(-3))",
    "f.timerfd_settime(FileNo('3'))",
    "f.timerfd_settime(FileNo(2**40))",
    "f.timerfd_settime(FileNo(True))",
    "f.timerfd_settime(FileNoRaises())",
    "f.timerfd_settime(GetattrRaises())",
    "f.timerfd_settime(IntFd(0))",
    "f.timerfd_settime(1000000)",
    "f.timerfd_settime(0)",
    "f.timerfd_settime(False)",
    # --- timerfd_settime: flags and times ---
    "f.timerfd_settime(T, flags=True)",
    "f.timerfd_settime(T, flags=1.0)",
    "f.timerfd_settime(T, flags='x', initial='y')",
    "f.timerfd_settime(T, flags=-1)",
    "f.timerfd_settime(T, flags=4)",
    "f.timerfd_settime(T, flags=2**31)",
    "f.timerfd_settime(T, flags=f.TFD_TIMER_CANCEL_ON_SET, initial=1)",
    "f.timerfd_settime(T, flags=f.TFD_TIMER_ABSTIME, initial=1)",
    "f.timerfd_settime(T, initial=5)",
    "f.timerfd_settime(T, initial=5, interval=0.3)",
    "(f.timerfd_settime(T, initial=5, interval=0.3), f.timerfd_gettime(T))",
    "(f.timerfd_settime(T, initial=5, interval=0.3), f.timerfd_settime(T))",
    "(f.timerfd_settime(T, initial=1e-10, interval=1e-10), f.timerfd_gettime_ns(T))",
    "(f.timerfd_settime(T, initial=0, interval=7), f.timerfd_gettime(T))",
    "(f.timerfd_settime(T, initial=100, interval=1.000000001), f.timerfd_gettime_ns(T))",
    "(f.timerfd_settime(T, initial=100, interval=2.5e-9), f.timerfd_gettime_ns(T))",
    "(f.timerfd_settime(T, initial=100, interval=123456.789), f.timerfd_gettime(T))",
    "f.timerfd_settime(T, initial=-1e-10)",
    "f.timerfd_settime(T, initial=-1.0)",
    "f.timerfd_settime(T, interval=-1.0)",
    "f.timerfd_settime(T, initial='a')",
    "f.timerfd_settime(T, initial=b'1')",
    "f.timerfd_settime(T, initial=None)",
    "f.timerfd_settime(T, initial=1j)",
    "f.timerfd_settime(T, initial=Index(3))",
    "f.timerfd_settime(T, initial=Index(2**1100))",
    "f.timerfd_settime(T, initial=Index(1.0))",
    "f.timerfd_settime(T, initial=Float(2.5))",
    "f.timerfd_settime(T, initial=Float(2))",
    "f.timerfd_settime(T, initial=Float(FloatSub(2.5)))",
    "f.timerfd_settime(T, initial=FloatSub(2.5))",
    "f.timerfd_settime(T, initial=IntSub(2))",
    "f.timerfd_settime(T, initial=IndexAndFloat())",
    "f.timerfd_settime(T, initial=Raising())",
    "f.timerfd_settime(T, initial=True)",
    "f.timerfd_settime(T, initial=NAN)",
    "f.timerfd_settime(T, initial=INF)",
    "f.timerfd_settime(T, initial=-INF)",
    "f.timerfd_settime(T, interval=NAN)",
    "f.timerfd_settime(T, initial=1e10)",
    "f.timerfd_settime(T, initial=9.2e9)",
    "f.timerfd_settime(T, initial=9.3e9)",
    "f.timerfd_settime(T, initial=-9.3e9)",
    "f.timerfd_settime(T, initial=2**1100)",
    "f.timerfd_settime(T, initial=NAN, interval='x')",
    "f.timerfd_settime(T, initial='x', interval=NAN)",
    "f.timerfd_settime(T, initial=-1.0, interval=NAN)",
    "f.timerfd_settime(1000000, initial=-1.0)",
    "f.timerfd_settime(1000000, initial=NAN)",
    "f.timerfd_settime(1000000, initial=Float(1.0))",
    "f.timerfd_settime(1000000, flags=-1)",
    "f.timerfd_settime(0, initial=1)",
    # --- timerfd_settime_ns ---
    "f.timerfd_settime_ns()",
    "f.timerfd_settime_ns(T, 1)",
    "f.timerfd_settime_ns(T, foo=1)",
    # A misspelt keyword: 3.13 adds "Did you mean 'initial'?"; tfd does on every version.
    "f.timerfd_settime(T, inital=1)",
    "f.timerfd_settime(T, Flags=1)",
    "f.timerfd_settime(T, flags2=1)",
    "f.timerfd_settime_ns(T, intervl=1)",
    "f.timerfd_create(1, flag=1)",
    "f.timerfd_create(1, clockid=1)",
    "f.timerfd_settime_ns(T, initial=1.0)",
    "f.timerfd_settime_ns(T, interval=1.5)",
    "f.timerfd_settime_ns(T, initial='a')",
    "f.timerfd_settime_ns(T, initial=None)",
    "f.timerfd_settime_ns(T, initial=Float(1.0))",
    "f.timerfd_settime_ns(T, initial=Index(10**9))",
    "f.timerfd_settime_ns(T, initial=Index(IntSub(10**9)))",
    "f.timerfd_settime_ns(T, initial=Raising())",
    "f.timerfd_settime_ns(T, initial=IntSub(10**9))",
    "f.timerfd_settime_ns(T, initial=True, interval=True)",
    "f.timerfd_settime_ns(T, initial=2**63)",
    "f.timerfd_settime_ns(T, initial=2**63 - 1)",
    "f.timerfd_settime_ns(T, initial=2**64)",
    "f.timerfd_settime_ns(T, initial=-2**63)",
    "f.timerfd_settime_ns(T, initial=-2**63 - 1)",
    "f.timerfd_settime_ns(T, initial=Index(2**70))",
    "f.timerfd_settime_ns(T, initial=-1)",
    "f.timerfd_settime_ns(T, interval=-1)",
    "f.timerfd_settime_ns(T, flags=1.0, initial=2**64)",
    "f.timerfd_settime_ns(T, initial=2**64, interval=1.0)",
    "f.timerfd_settime_ns(T, initial='x', flags=2**40)",
    "(f.timerfd_settime_ns(T, initial=10**12, interval=333), f.timerfd_gettime_ns(T))",
    "(f.timerfd_settime_ns(T, initial=10**12, interval=333), f.timerfd_gettime(T))",
    "(f.timerfd_settime_ns(T, initial=10**12, interval=300000000), f.timerfd_settime(T))",
    "(f.timerfd_settime_ns(T, initial=10**12, interval=1), f.timerfd_settime_ns(T))",
    "(f.timerfd_settime_ns(T, interval=5), f.timerfd_gettime_ns(T))",
    "f.timerfd_settime_ns(1000000, initial=-1)",
    "f.timerfd_settime_ns(-1, initial=2**64)",
    "f.timerfd_settime_ns(FileNo())",
    "f.timerfd_settime_ns(FileNo(None.__class__))",
    # --- timerfd_gettime / timerfd_gettime_ns ---
    "f.timerfd_gettime()",
    "f.timerfd_gettime(T, 2)",
    "f.timerfd_gettime(fd=T)",
    "f.timerfd_gettime(T, fd=T)",
    "f.timerfd_gettime(*[], **{})",
    "f.timerfd_gettime(T)",
    "f.timerfd_gettime(1000000)",
    "f.timerfd_gettime(0)",
    "f.timerfd_gettime(-1)",
    "f.timerfd_gettime(2**40)",
    "f.timerfd_gettime(None)",
    "f.timerfd_gettime(1.0)",
    "f.timerfd_gettime(FileNo())",
    "f.timerfd_gettime(FileNo(-1))",
    "f.timerfd_gettime(FileNoRaises())",
    "f.timerfd_gettime_ns()",
    "f.timerfd_gettime_ns(T, T)",
    "f.timerfd_gettime_ns(fd=T)",
    "f.timerfd_gettime_ns(T)",
    "f.timerfd_gettime_ns(None)",
    "f.timerfd_gettime_ns(-7)",
    "f.timerfd_gettime_ns(1000000)",
    "f.timerfd_gettime_ns(FileNo())",
    "f.timerfd_gettime_ns(FileNo(1.0))",
    # --- constants ---
    "(f.TFD_NONBLOCK, f.TFD_CLOEXEC, f.TFD_TIMER_ABSTIME, f.TFD_TIMER_CANCEL_ON_SET)",
]


class LeakedDescriptor(BaseException):
    """A case returned a new descriptor unwrapped (BaseException: not recorded as an outcome)."""


def fd_result(fd):
    """Replaces a new descriptor (a process-specific number) with facts about it."""
    import os

    try:
        return ("fd", type(fd).__name__, os.get_inheritable(fd), os.get_blocking(fd))
    finally:
        os.close(fd)


def normalize(value):
    """Turns a result into JSON-able facts, dropping what depends on timing.

    A (next_expiration, interval) pair keeps the interval exactly and, for the time left,
    only its type and whether it is zero: the rest depends on when the call ran.
    """
    if isinstance(value, tuple) and len(value) == 2 and all(
        type(v) in (int, float) for v in value
    ):
        left, interval = value
        return ["pair", type(left).__name__, left == 0, type(interval).__name__, repr(interval)]
    if isinstance(value, tuple):
        return ["tuple"] + [normalize(v) for v in value]
    return [type(value).__name__, repr(value)]


def run_case(module, expression):
    import os
    import time

    fd = os.timerfd_create(time.CLOCK_MONOTONIC) if hasattr(os, "timerfd_create") else None
    if fd is None:
        fd = module.timerfd_create(time.CLOCK_MONOTONIC)
    State.fd = fd
    scope = dict(globals(), f=module, T=fd)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = eval(expression, scope)
            if expression.startswith("f.timerfd_create") and type(result) is int:
                raise LeakedDescriptor(f"case {expression!r} leaks a descriptor: use fd_result")
            outcome = ["ok", normalize(result)]
        except Exception as error:  # every outcome is data here
            outcome = ["raise", type(error).__name__, str(error)]
        finally:
            os.close(fd)
    outcome.append([[w.category.__name__, str(w.message)] for w in caught])
    return outcome


def signatures(module):
    return {name: str(inspect.signature(getattr(module, name))) for name in FUNCTIONS}


def evaluate(module):
    return {
        "cases": [run_case(module, case) for case in CASES],
        "signatures": signatures(module),
        "constants": {name: getattr(module, name) for name in CONSTANTS},
    }


def main():
    import importlib

    module = importlib.import_module(sys.argv[1])
    json.dump(evaluate(module), sys.stdout)


if __name__ == "__main__":
    main()

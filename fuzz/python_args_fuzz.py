"""Random differential test of the tfd timerfd functions' argument handling against CPython 3.13.

Generates random calls of timerfd_create, timerfd_settime(_ns) and timerfd_gettime(_ns):
random positional and keyword shapes, and values drawn from ints at and beyond every C
boundary, bools, floats (NaN, infinities, huge, tiny, negative zero), objects with __index__,
__float__ or fileno() (some raising, some returning the wrong type), int and float
subclasses, and plain wrong types.  Each call is made on ``os`` and on ``tfd`` in the same
CPython 3.13 process, each against its own fresh timer descriptor, and the outcomes must
match exactly: the result (shape, types and the values that do not depend on timing), or
the exception type and message, plus any warnings.  Descriptors must not leak.

    PYENV_VERSION=3.13.0 python3 fuzz/python_args_fuzz.py --path BUILD/python/3.13
        [--cases N | --seconds S] [--seed K]

Exit status: 0 when every case matched, 1 on a mismatch or leak, 77 when the interpreter
is not 3.13+ (os.timerfd_* missing) or tfd cannot be imported.
"""

import argparse
import fractions
import decimal
import math
import os
import random
import re
import sys
import time
import warnings

SKIP = 77


class Index:
    def __init__(self, value):
        self.value = value

    def __index__(self):
        return self.value

    def __repr__(self):
        return f"Index({self.value!r})"


class Float:
    def __init__(self, value):
        self.value = value

    def __float__(self):
        return self.value

    def __repr__(self):
        return f"Float({self.value!r})"


class Raising:
    def __index__(self):
        raise ZeroDivisionError("from __index__")

    def __float__(self):
        raise ZeroDivisionError("from __float__")

    def __repr__(self):
        return "Raising()"


class IntSub(int):
    def __repr__(self):
        return f"IntSub({int(self)})"


class FloatSub(float):
    def __repr__(self):
        return f"FloatSub({float(self)})"


class FileNo:
    """fileno() returns the value it was given (FD stands for the call's fresh timer)."""

    def __init__(self, value):
        self.value = value

    def fileno(self):
        if isinstance(self.value, BaseException):
            raise self.value
        return self.value

    def __repr__(self):
        return f"FileNo({self.value!r})"


FD = object()  # placeholder: the fresh timer descriptor of this call

INTS = [0, 1, -1, 2, 7, 8, 9, 11, 255, 256, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1,
        2**32, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, 10**30, -(10**30),
        999_999_999, 1_000_000_000, 9_223_372_036, 9_223_372_037]
FLOATS = [0.0, -0.0, 0.5, 1e-9, 5e-10, 1e-10, 1.0, -1.0, 1.5, math.nan, math.inf, -math.inf,
          1e300, -1e300, 9.2e9, 9.3e9, 9_223_372_036.854775, 2.0**63 / 1e9, 1e-320]


def random_value(rng, depth=0):
    kind = rng.randrange(16)
    if kind <= 3:
        return rng.choice(INTS) + (rng.choice([0, 0, 1, -1]) if rng.random() < 0.3 else 0)
    if kind <= 5:
        return rng.choice(FLOATS)
    if kind == 6:
        return rng.choice([True, False])
    if kind == 7:
        return Index(rng.choice(INTS + [1.5, "3", None, True]))
    if kind == 8:
        return Float(rng.choice(FLOATS + [1, "x", None]))
    if kind == 9:
        return rng.choice([IntSub(rng.choice(INTS[:12])), FloatSub(rng.choice(FLOATS))])
    if kind == 10:
        return Raising()
    if kind == 11:
        return rng.choice([None, "1", b"1", [1], (1,), {}, 1j, object()])
    if kind == 12:
        return rng.choice([decimal.Decimal("1.5"), fractions.Fraction(1, 3),
                           decimal.Decimal("NaN")])
    if kind == 13:
        return FD
    if kind == 14:
        inner = rng.choice([FD, -1, 2**31, "3", None, 1.5, ValueError("from fileno")])
        return FileNo(inner)
    return rng.random() * rng.choice([1, 1e9, 1e-9, -1])


# Each function's keyword-only parameters (the first parameter is positional-only).
FUNCTIONS = {
    "timerfd_create": ["flags"],
    "timerfd_settime": ["flags", "initial", "interval"],
    "timerfd_settime_ns": ["flags", "initial", "interval"],
    "timerfd_gettime": [],
    "timerfd_gettime_ns": [],
}
KEYWORDS = ["flags", "initial", "interval", "clockid", "fd", "bogus"]


def random_case(rng):
    name = rng.choice(list(FUNCTIONS))
    positional = []
    count = 1 if rng.random() < 0.85 else rng.choice([0, 2, 3])
    for i in range(count):
        if i == 0 and rng.random() < 0.6:
            if name == "timerfd_create":
                positional.append(rng.choice([time.CLOCK_MONOTONIC, time.CLOCK_REALTIME,
                                              time.CLOCK_BOOTTIME, 8, 9, 2, 3, -1, 12]))
            else:
                positional.append(rng.choice([FD, FD, FileNo(FD), -1, 10**6]))
        else:
            positional.append(random_value(rng))
    keywords = {}
    valid = FUNCTIONS[name]
    pool = valid if valid and rng.random() < 0.85 else KEYWORDS
    for key in rng.sample(pool, rng.randint(0, len(pool))):
        if key == "flags" and rng.random() < 0.6:
            keywords[key] = rng.choice([0, os.TFD_NONBLOCK, os.TFD_CLOEXEC,
                                        os.TFD_NONBLOCK | os.TFD_CLOEXEC,
                                        os.TFD_TIMER_ABSTIME, os.TFD_TIMER_CANCEL_ON_SET,
                                        os.TFD_TIMER_ABSTIME | os.TFD_TIMER_CANCEL_ON_SET, 1,
                                        -1])
        else:
            keywords[key] = random_value(rng)
    return name, positional, keywords


def substitute(value, fd):
    if value is FD:
        return fd
    if isinstance(value, FileNo) and value.value is FD:
        return FileNo(fd)
    return value


def normalize(name, result):
    if name == "timerfd_create" and type(result) is int:
        try:
            return ("fd", os.get_inheritable(result), os.get_blocking(result))
        finally:
            os.close(result)
    if isinstance(result, tuple) and len(result) == 2:
        left, interval = result
        # The time left depends on when the call ran: keep its type and whether it is zero.
        return ("pair", type(left).__name__, left == 0, type(interval).__name__, repr(interval))
    return (type(result).__name__, repr(result))


ADDRESS = re.compile(r"0x[0-9a-f]+")


def outcome(module, name, positional, keywords):
    fd = os.timerfd_create(time.CLOCK_MONOTONIC)
    try:
        args = [substitute(v, fd) for v in positional]
        kwargs = {k: substitute(v, fd) for k, v in keywords.items()}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = ("ok", normalize(name, getattr(module, name)(*args, **kwargs)))
            except Exception as error:  # every outcome is data here
                result = ("raise", type(error).__name__, ADDRESS.sub("0x?", str(error)))
        warned = tuple((w.category.__name__, ADDRESS.sub("0x?", str(w.message))) for w in caught)
        return result + (warned,)
    finally:
        os.close(fd)


def open_descriptors():
    return len(os.listdir("/proc/self/fd"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", default=os.environ.get("TFD_PYTHON_PATH"),
                        help="directory holding the tfd package built for this interpreter")
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=None,
                        help="run for this long instead of a number of cases")
    parser.add_argument("--seed", type=int, default=None)
    options = parser.parse_args()
    if not hasattr(os, "timerfd_create"):
        print(f"SKIPPED: Python {sys.version.split()[0]} has no os.timerfd_create (needs 3.13)")
        return SKIP
    if options.path:
        sys.path.insert(0, options.path)
    try:
        import tfd
    except ImportError as error:
        print(f"SKIPPED: cannot import tfd ({error}); pass --path BUILD/python/3.13")
        return SKIP
    seed = options.seed if options.seed is not None else int(time.time())
    rng = random.Random(seed)
    before = open_descriptors()
    end = time.monotonic() + options.seconds if options.seconds else None
    cases = mismatches = 0
    raised = {}
    while (cases < options.cases) if end is None else (time.monotonic() < end):
        name, positional, keywords = random_case(rng)
        want = outcome(os, name, positional, keywords)
        got = outcome(tfd, name, positional, keywords)
        cases += 1
        kind = want[1] if want[0] == "raise" else "ok"
        raised[kind] = raised.get(kind, 0) + 1
        if got != want:
            mismatches += 1
            if mismatches <= 20:
                shown = ", ".join([repr(v) if v is not FD else "FD" for v in positional] +
                                  [f"{k}={'FD' if v is FD else repr(v)}"
                                   for k, v in keywords.items()])
                print(f"MISMATCH {name}({shown})\n  os:  {want}\n  tfd: {got}")
    leaked = open_descriptors() - before
    summary = ", ".join(f"{k} {v}" for k, v in sorted(raised.items(), key=lambda kv: -kv[1]))
    print(f"python_args_fuzz: seed {seed}, {cases} cases, {mismatches} mismatches, "
          f"{leaked} descriptors leaked; outcomes: {summary}")
    return 1 if mismatches or leaked else 0


if __name__ == "__main__":
    sys.exit(main())

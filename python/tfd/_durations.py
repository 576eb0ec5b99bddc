"""Argument checks of the Pythonic layer: times in seconds or nanoseconds, and flags.

The os-compatible functions (``tfd.timerfd_*``) keep CPython 3.13's rules and messages; these
are ``Timer``'s own, stricter ones: every error names the method, the argument and its value.

Seconds become nanoseconds the way CPython's functions convert them (multiply by 1e9, floor),
so ``Timer.start(x)`` arms the same timer as ``timerfd_settime(fd, initial=x)`` for every x
they both accept, with one difference: a positive time shorter than 1 ns becomes 1 ns instead
of 0, because 0 would disarm the timer and "fire in a moment" must fire.
"""

import math
import operator

# The kernel's timespec holds a signed 64-bit nanosecond count at most.
_LIMIT_NS = 2**63


def _type_name(value):
    return type(value).__name__


def flag(where, name, value):
    """``value`` itself when it is a bool; TypeError naming it otherwise."""
    if value is True or value is False:
        return value
    raise TypeError(f"{where}: {name} must be True or False, not {_type_name(value)} ({value!r})")


def seconds_to_ns(where, name, value):
    """Non-negative seconds (int, float, or anything with ``__index__`` or ``__float__``) as
    integer nanoseconds: floored, except that 0 < value < 1 ns gives 1 ns."""
    if value is True or value is False or isinstance(value, (str, bytes)):
        raise TypeError(f"{where}: {name} must be a number of seconds, not {_type_name(value)}")
    if isinstance(value, int):
        seconds = operator.index(value)
        if seconds < 0:
            raise ValueError(f"{where}: {name}={float(seconds)!r} s is negative")
        ns = seconds * 1_000_000_000
        if ns >= _LIMIT_NS:
            raise OverflowError(f"{where}: {name}={seconds} s is too large (at most 2**63 ns)")
        return ns
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"{where}: {name} must be a number of seconds, not {_type_name(value)}"
        ) from None
    if math.isnan(seconds):
        raise ValueError(f"{where}: {name}={seconds!r} s is not a number")
    if seconds < 0:
        raise ValueError(f"{where}: {name}={seconds!r} s is negative")
    scaled = seconds * 1e9
    if scaled >= _LIMIT_NS:  # +inf included
        raise OverflowError(f"{where}: {name}={seconds!r} s is too large (at most 2**63 ns)")
    ns = math.floor(scaled)
    return ns if ns or not seconds else 1


def ns_value(where, name, value):
    """Non-negative integer nanoseconds (``__index__`` accepted, floats and bools refused)."""
    if value is True or value is False:
        raise TypeError(f"{where}: {name} must be an integer number of nanoseconds, not bool")
    try:
        ns = operator.index(value)
    except TypeError:
        raise TypeError(
            f"{where}: {name} must be an integer number of nanoseconds, not {_type_name(value)}"
        ) from None
    if ns < 0:
        raise ValueError(f"{where}: {name}={ns} ns is negative")
    if ns >= _LIMIT_NS:
        raise OverflowError(f"{where}: {name}={ns} ns is too large (at most 2**63 - 1)")
    return ns


def ns_to_seconds(ns):
    """Nanoseconds as float seconds, computed as CPython's timerfd_gettime() does."""
    seconds, rest = divmod(ns, 1_000_000_000)
    return seconds + rest * 1e-9

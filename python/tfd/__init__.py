"""Linux timer file descriptors for CPython 3.8+.

Two layers:

* ``timerfd_create``, ``timerfd_settime``, ``timerfd_settime_ns``, ``timerfd_gettime``,
  ``timerfd_gettime_ns`` and the ``TFD_*`` constants: exactly CPython 3.13's ``os`` functions
  (same signatures, results and exceptions), on every CPython from 3.8.  ``import tfd.backport``
  installs them into ``os`` where ``os`` lacks them.
* ``Timer``: a timer object (context manager, ``fileno()``, seconds or nanoseconds, relative or
  absolute, iteration over ticks, ``await timer.wait()`` and ``async for`` in asyncio,
  ``trio_wait`` and ``trio_ticks`` in trio).
"""

from tfd._tfd import (
    CLOCK_BOOTTIME,
    CLOCK_BOOTTIME_ALARM,
    CLOCK_MONOTONIC,
    CLOCK_REALTIME,
    CLOCK_REALTIME_ALARM,
    TFD_CLOEXEC,
    TFD_NONBLOCK,
    TFD_TIMER_ABSTIME,
    TFD_TIMER_CANCEL_ON_SET,
    ClockChanged,
    timerfd_create,
    timerfd_gettime,
    timerfd_gettime_ns,
    timerfd_settime,
    timerfd_settime_ns,
)
from tfd._tfd import __version__
from tfd._timer import Timer, TimerDisarmed, clock_id
from tfd._trio import trio_ticks, trio_wait
from tfd._backport import install

__all__ = [
    "CLOCK_BOOTTIME",
    "CLOCK_BOOTTIME_ALARM",
    "CLOCK_MONOTONIC",
    "CLOCK_REALTIME",
    "CLOCK_REALTIME_ALARM",
    "TFD_CLOEXEC",
    "TFD_NONBLOCK",
    "TFD_TIMER_ABSTIME",
    "TFD_TIMER_CANCEL_ON_SET",
    "ClockChanged",
    "Timer",
    "TimerDisarmed",
    "clock_id",
    "install",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime_ns",
    "timerfd_settime",
    "timerfd_settime_ns",
    "trio_ticks",
    "trio_wait",
]

from typing import Tuple

from tfd import ClockChanged as ClockChanged
from tfd import _FD

TFD_NONBLOCK: int
TFD_CLOEXEC: int
TFD_TIMER_ABSTIME: int
TFD_TIMER_CANCEL_ON_SET: int
CLOCK_REALTIME: int
CLOCK_MONOTONIC: int
CLOCK_BOOTTIME: int
CLOCK_REALTIME_ALARM: int
CLOCK_BOOTTIME_ALARM: int

def timerfd_create(clockid: int, /, *, flags: int = 0) -> int: ...
def timerfd_settime(
    fd: _FD, /, *, flags: int = 0, initial: float = 0.0, interval: float = 0.0
) -> Tuple[float, float]: ...
def timerfd_settime_ns(
    fd: _FD, /, *, flags: int = 0, initial: int = 0, interval: int = 0
) -> Tuple[int, int]: ...
def timerfd_gettime(fd: _FD, /) -> Tuple[float, float]: ...
def timerfd_gettime_ns(fd: _FD, /) -> Tuple[int, int]: ...
def read_expirations(fd: _FD, /) -> int: ...

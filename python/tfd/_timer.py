"""tfd.Timer: a timer file descriptor as a Python object.

A Timer owns one descriptor (always close-on-exec).  Times are float seconds (``start``) or
integer nanoseconds (``start_ns``), relative or absolute; ``read()`` returns the number of
expirations since the last read, so a slow reader never loses a tick, it sees a count above 1.
"""

import operator
import select

from tfd import _tfd

_CLOCKS = {
    "realtime": _tfd.CLOCK_REALTIME,
    "monotonic": _tfd.CLOCK_MONOTONIC,
    "boottime": _tfd.CLOCK_BOOTTIME,
    "realtime_alarm": _tfd.CLOCK_REALTIME_ALARM,
    "boottime_alarm": _tfd.CLOCK_BOOTTIME_ALARM,
}
_CLOCK_NAMES = {number: name for name, number in _CLOCKS.items()}

# "Due now": a relative or absolute time of 0 would disarm the timer, 1 ns fires at once.
_DUE_NOW_NS = 1


def clock_id(clock):
    """Return the kernel clock id for ``clock``: an int (``time.CLOCK_MONOTONIC``,
    ``tfd.CLOCK_BOOTTIME_ALARM``...) or a name, case-insensitive, with or without the
    ``CLOCK_`` prefix (``"monotonic"``, ``"CLOCK_REALTIME"``)."""
    if isinstance(clock, str):
        key = clock.lower()
        if key.startswith("clock_"):
            key = key[len("clock_"):]
        try:
            return _CLOCKS[key]
        except KeyError:
            known = ", ".join(sorted(_CLOCKS))
            raise ValueError(f"unknown clock name {clock!r} (known: {known})") from None
    return operator.index(clock)


def _set_flags(absolute, cancel_on_set):
    flags = _tfd.TFD_TIMER_ABSTIME if absolute else 0
    if cancel_on_set:
        flags |= _tfd.TFD_TIMER_CANCEL_ON_SET
    return flags


def _wake(future):
    if not future.done():
        future.set_result(None)


class Timer(_tfd.TimerBase):
    """A timer file descriptor.

    ``Timer(clock="monotonic", *, nonblocking=False)`` creates a disarmed timer on ``clock``
    (a name or a ``CLOCK_*`` id).  Use it as a context manager or call ``close()``; pass it
    to ``select``, ``poll``, ``epoll`` or ``selectors``, which call ``fileno()``.

    From the C++ base (``_tfd.TimerBase``): ``fileno()``, ``close()`` (idempotent),
    ``detach()``, ``read()``, ``closed``, ``clock``, ``nonblocking``, the context manager,
    and closing with a ResourceWarning when an open timer is garbage collected.
    """

    __slots__ = ()

    def __init__(self, clock="monotonic", *, nonblocking=False):
        super().__init__(clock_id(clock), nonblocking)

    def __repr__(self):
        clock = _CLOCK_NAMES.get(self.clock, str(self.clock))
        if self.closed:
            return f"<tfd.Timer closed clock={clock}>"
        try:
            value, interval = _tfd.timerfd_gettime_ns(self.fileno())
        except OSError as error:
            state = f"error={error.strerror}"
        else:
            state = "disarmed" if value == 0 else f"next={value / 1e9:g}s"
            if interval:
                state += f" interval={interval / 1e9:g}s"
        mode = " nonblocking" if self.nonblocking else ""
        return f"<tfd.Timer fd={self.fileno()} clock={clock}{mode} {state}>"

    # -- arming ------------------------------------------------------------------------------

    def start(self, initial, interval=0.0, *, absolute=False, cancel_on_set=False):
        """Arm the timer: first expiry after ``initial`` seconds (or, with ``absolute``, at
        ``initial`` on the timer's clock, e.g. ``time.clock_gettime(time.CLOCK_MONOTONIC) + 1``),
        then every ``interval`` seconds (0: once).  An ``initial`` of 0 fires at once instead
        of disarming; use ``stop()`` to disarm.  ``cancel_on_set`` (absolute realtime timers
        only) makes ``read()`` raise ClockChanged when the wall clock is set.

        Returns the previous setting as ``(next_expiration, interval)`` in seconds.
        """
        flags = _set_flags(absolute, cancel_on_set)
        if initial == 0:
            initial = _DUE_NOW_NS * 1e-9  # floors back to exactly 1 ns
        return _tfd.timerfd_settime(self.fileno(), flags=flags, initial=initial, interval=interval)

    def start_ns(self, initial, interval=0, *, absolute=False, cancel_on_set=False):
        """``start()`` in integer nanoseconds; returns the previous setting in nanoseconds."""
        flags = _set_flags(absolute, cancel_on_set)
        initial = operator.index(initial)
        return _tfd.timerfd_settime_ns(
            self.fileno(), flags=flags, initial=initial or _DUE_NOW_NS, interval=interval
        )

    def stop(self):
        """Disarm; pending expirations are dropped.  Returns the previous setting (seconds)."""
        return _tfd.timerfd_settime(self.fileno())

    # -- state -------------------------------------------------------------------------------

    def setting(self):
        """``(next_expiration, interval)`` in seconds; next_expiration is relative, 0.0 when
        disarmed (or when a one-shot timer has fired)."""
        return _tfd.timerfd_gettime(self.fileno())

    def setting_ns(self):
        """``setting()`` in integer nanoseconds."""
        return _tfd.timerfd_gettime_ns(self.fileno())

    @property
    def armed(self):
        """True while another expiry is due."""
        return _tfd.timerfd_gettime_ns(self.fileno())[0] != 0

    # -- waiting -----------------------------------------------------------------------------

    def _ready(self, timeout_ms):
        poller = select.poll()
        poller.register(self.fileno(), select.POLLIN)
        return bool(poller.poll(timeout_ms))

    def _read_if_ready(self):
        """The pending count, 0 when none; never blocks, whatever the descriptor's mode."""
        if self.nonblocking:
            return self.read()
        return self.read() if self._ready(0) else 0

    def __iter__(self):
        """Yield the expiration count at each expiry, blocking in between.  Ends when the
        timer is disarmed and nothing is pending (a one-shot timer yields once)."""
        while True:
            if not self.armed and not self._ready(0):
                return
            if self.nonblocking:
                self._ready(-1)
            count = self.read()
            if count:
                yield count

    async def wait(self):
        """Wait in the running asyncio loop for the next expiry; return the count.

        The descriptor is watched with ``loop.add_reader``; nothing is read until it is
        readable, so cancelling the wait never loses an expiry: the next ``wait()`` or
        ``read()`` reports it.
        """
        import asyncio

        loop = asyncio.get_running_loop()
        fd = self.fileno()
        while True:
            count = self._read_if_ready()
            if count:
                return count
            ready = loop.create_future()
            loop.add_reader(fd, _wake, ready)
            try:
                await ready
            finally:
                loop.remove_reader(fd)


async def trio_wait(timer):
    """Wait under trio for the next expiry of ``timer`` and return the count.

    Cancellation-safe in the same way as ``Timer.wait()``.  Needs trio to be importable.
    """
    import trio

    while True:
        count = timer._read_if_ready()
        if count:
            return count
        await trio.lowlevel.wait_readable(timer.fileno())

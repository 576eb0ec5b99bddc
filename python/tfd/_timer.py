"""tfd.Timer: a timer file descriptor as a Python object.

A Timer owns one descriptor (always close-on-exec).  Times are float seconds (``start``) or
integer nanoseconds (``start_ns``), relative or absolute; ``read()`` returns the number of
expirations since the last read, so a slow reader never loses a tick, it sees a count above 1.
"""

import operator
import select

from tfd import _asyncio_waiters as _waiters
from tfd import _durations, _tfd

_CLOCKS = {
    "realtime": _tfd.CLOCK_REALTIME,
    "monotonic": _tfd.CLOCK_MONOTONIC,
    "boottime": _tfd.CLOCK_BOOTTIME,
    "realtime_alarm": _tfd.CLOCK_REALTIME_ALARM,
    "boottime_alarm": _tfd.CLOCK_BOOTTIME_ALARM,
}
_CLOCK_NAMES = {number: name for name, number in _CLOCKS.items()}
# The kernel honours TFD_TIMER_CANCEL_ON_SET only on these clocks, and only with ABSTIME.
_WALL_CLOCKS = (_tfd.CLOCK_REALTIME, _tfd.CLOCK_REALTIME_ALARM)

_UNKNOWN, _ONCE, _PERIODIC, _DISARMED = (
    _waiters.UNKNOWN,
    _waiters.ONCE,
    _waiters.PERIODIC,
    _waiters.DISARMED,
)
_base_close = _tfd.TimerBase.close
_base_detach = _tfd.TimerBase.detach


class TimerDisarmed(RuntimeError):
    """``Timer.wait()`` (or ``trio_wait``) on a timer that will never expire: it is disarmed
    (never started, stopped, or a one-shot timer that already fired and was read) and nothing
    is pending.  Raised at once, and in every waiter when ``stop()`` disarms the timer."""


def clock_id(clock):
    """Return the kernel clock id for ``clock``: an int (``time.CLOCK_MONOTONIC``,
    ``tfd.CLOCK_BOOTTIME_ALARM``...) or a name, case-insensitive, with or without the
    ``CLOCK_`` prefix (``"monotonic"``, ``"CLOCK_REALTIME"``)."""
    return _clock_id(clock, "clock_id")


def _clock_id(clock, what):
    # clock_id() for `what` (the caller named in errors).
    if isinstance(clock, str):
        key = clock.lower()
        if key.startswith("clock_"):
            key = key[len("clock_"):]
        try:
            return _CLOCKS[key]
        except KeyError:
            known = ", ".join(sorted(_CLOCKS))
            raise ValueError(f"{what}: unknown clock name {clock!r} (known: {known})") from None
    if clock is True or clock is False:
        raise TypeError(f"{what}: a clock is a name or a CLOCK_* id, not bool ({clock!r})")
    try:
        return operator.index(clock)
    except TypeError:
        raise TypeError(f"{what}: a clock is a name or a CLOCK_* id, not "
                        f"{type(clock).__name__} ({clock!r})") from None


def _pending(fd):
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def _running_loop():
    import asyncio

    global _CancelledError
    _CancelledError = asyncio.CancelledError
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise _no_loop_error() from None


_CancelledError = None  # asyncio.CancelledError, once asyncio is in use


def _no_loop_error():
    return RuntimeError(
        "Timer.wait() needs a running asyncio event loop; under trio use "
        "`await tfd.trio_wait(timer)` or `async for count in tfd.trio_ticks(timer)`"
    )


class Timer(_tfd.TimerBase):
    """A timer file descriptor.

    ``Timer(clock="monotonic", *, nonblocking=False)`` creates a disarmed timer on ``clock``
    (a name or a ``CLOCK_*`` id).  Use it as a context manager or call ``close()``; pass it
    to ``select``, ``poll``, ``epoll`` or ``selectors``, which call ``fileno()``; iterate
    over it (blocking), ``await timer.wait()`` or ``async for count in timer`` in asyncio,
    ``tfd.trio_wait(timer)`` or ``tfd.trio_ticks(timer)`` in trio.

    From the C++ base (``_tfd.TimerBase``): ``fileno()``, ``read()``, ``closed``, ``clock``,
    ``nonblocking``, and closing with a ResourceWarning when an open timer is garbage
    collected.
    """

    # _aio: the asyncio waiters (LoopWaiters) or None.  _trio_waiting: trio tasks in
    # trio_wait().  The base keeps the rest of the bookkeeping (_schedule, _disturbed,
    # _unclaimed; see python/src/timer_base.cpp), so that read() stays one C call.
    __slots__ = ("_aio", "_trio_waiting")

    def __init__(self, clock="monotonic", *, nonblocking=False):
        """Create a disarmed timer descriptor (close-on-exec) on ``clock``.

        ``clock`` is a name (``"monotonic"``, ``"realtime"``, ``"boottime"``,
        ``"realtime_alarm"``, ``"boottime_alarm"``, any case, ``CLOCK_`` prefix optional) or a
        clock id (``time.CLOCK_MONOTONIC``, ``tfd.CLOCK_BOOTTIME_ALARM``).  With
        ``nonblocking=True``, ``read()`` returns 0 instead of waiting.  The alarm clocks need
        the CAP_WAKE_ALARM capability (PermissionError otherwise).
        """
        if self.closed:  # not on a second __init__ of an open timer (the base refuses it)
            self._aio = None
            self._trio_waiting = 0
        _durations.flag("Timer", "nonblocking", nonblocking)
        number = _clock_id(clock, "Timer")
        if number not in _CLOCK_NAMES:
            known = ", ".join(_CLOCK_NAMES[n] for n in sorted(_CLOCK_NAMES))
            raise ValueError(f"Timer: clock={clock!r} is not a timerfd clock (known: {known})")
        try:
            super().__init__(number, nonblocking)
        except OSError as error:
            hint = " (alarm clocks need CAP_WAKE_ALARM)" if "alarm" in _CLOCK_NAMES[number] else ""
            raise type(error)(
                error.errno, f"Timer: clock {_CLOCK_NAMES[number]}: {error.strerror}{hint}"
            ) from None

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

    # -- lifetime ----------------------------------------------------------------------------

    def close(self):
        """Close the descriptor (idempotent).  Tasks in ``wait()`` raise ValueError; a trio
        task in ``trio_wait()`` too.  Call it from the thread running the waiters' loop."""
        if not self.closed:
            self._release("closed")
        _base_close(self)

    def detach(self):
        """Give up ownership: return the descriptor and leave the timer closed (waiters raise
        ValueError as for ``close()``)."""
        if not self.closed:
            self._release("detached")
        return _base_detach(self)

    def __enter__(self):
        """Return the timer itself; ValueError when it is closed."""
        self.fileno()
        return self

    def __exit__(self, *exc_info):
        """Close the timer."""
        self.close()

    def _release(self, how):
        error = ValueError(f"Timer.wait: the timer was {how} while waiting")
        if self._aio is not None:
            self._aio.fail(error)  # removes the reader before the descriptor goes
        if self._trio_waiting:
            import trio

            trio.lowlevel.notify_closing(self.fileno())

    # -- arming ------------------------------------------------------------------------------

    def start(self, initial, interval=0.0, *, absolute=False, cancel_on_set=False):
        """Arm the timer: first expiry after ``initial`` seconds (or, with ``absolute``, at
        ``initial`` on the timer's clock, e.g. ``time.clock_gettime(time.CLOCK_MONOTONIC) + 1``),
        then every ``interval`` seconds (0: once).  An ``initial`` of 0 fires at once instead
        of disarming (use ``stop()`` to disarm), and a positive time below 1 ns counts as 1 ns.
        ``cancel_on_set`` (absolute timers on a realtime clock only) makes ``read()`` raise
        ClockChanged when the wall clock is set.  Re-arming drops pending expirations.

        Returns the previous setting as ``(next_expiration, interval)`` in seconds.
        """
        initial_ns = _durations.seconds_to_ns("Timer.start", "initial", initial)
        interval_ns = _durations.seconds_to_ns("Timer.start", "interval", interval)
        flags = self._set_flags("Timer.start", absolute, cancel_on_set)
        old_value, old_interval = self._arm(flags, initial_ns, interval_ns)
        return _durations.ns_to_seconds(old_value), _durations.ns_to_seconds(old_interval)

    def start_ns(self, initial, interval=0, *, absolute=False, cancel_on_set=False):
        """``start()`` in integer nanoseconds; returns the previous setting in nanoseconds."""
        initial_ns = _durations.ns_value("Timer.start_ns", "initial", initial)
        interval_ns = _durations.ns_value("Timer.start_ns", "interval", interval)
        flags = self._set_flags("Timer.start_ns", absolute, cancel_on_set)
        return self._arm(flags, initial_ns, interval_ns)

    def _set_flags(self, where, absolute, cancel_on_set):
        flags = _tfd.TFD_TIMER_ABSTIME if _durations.flag(where, "absolute", absolute) else 0
        if _durations.flag(where, "cancel_on_set", cancel_on_set):
            if not absolute or self.clock not in _WALL_CLOCKS:
                clock = _CLOCK_NAMES.get(self.clock, str(self.clock))
                kind = "absolute" if absolute else "relative"
                raise ValueError(
                    f"{where}: cancel_on_set needs absolute=True on a realtime clock; the "
                    f"kernel ignores it on this {kind} {clock} timer"
                )
            flags |= _tfd.TFD_TIMER_CANCEL_ON_SET
        return flags

    def _arm(self, flags, initial_ns, interval_ns):
        # 0 would disarm: "due now" is 1 ns (relative), or 1 ns after the clock's epoch
        # (absolute, long past), which fires at once as well.
        previous = _tfd.timerfd_settime_ns(
            self.fileno(), flags=flags, initial=initial_ns or 1, interval=interval_ns
        )
        self._schedule = _PERIODIC if interval_ns else _ONCE
        self._disturbed = True
        self._unclaimed = 0  # re-arming drops pending expirations, these too
        return previous

    def stop(self):
        """Disarm; pending expirations are dropped.  Tasks in ``wait()`` raise TimerDisarmed
        (and so does a trio task in ``trio_wait()``).  Returns the previous setting
        (seconds)."""
        previous = _tfd.timerfd_settime(self.fileno())
        self._schedule = _DISARMED
        self._disturbed = True
        self._unclaimed = 0
        if self._aio is not None:
            self._aio.fail(TimerDisarmed("Timer.wait: the timer was stopped while waiting"))
        if self._trio_waiting:
            import trio

            trio.lowlevel.notify_closing(self.fileno())
        return previous

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

    # -- reading -----------------------------------------------------------------------------

    def _read_if_ready(self):
        """The pending count, 0 when none; never blocks, whatever the descriptor's mode."""
        if self.nonblocking or self._unclaimed:
            return self.read()
        return self.read() if _pending(self.fileno()) else 0

    def _check_waitable(self, where):
        """ValueError when closed, TimerDisarmed when no expiry can ever come; learns the
        schedule from the kernel (the timer may have been armed through its descriptor)."""
        if self.closed:
            raise ValueError(f"{where}: I/O operation on closed timer")
        value, interval = _tfd.timerfd_gettime_ns(self.fileno())
        if value:
            self._schedule = _PERIODIC if interval else _ONCE
        elif not self._unclaimed and not _pending(self.fileno()):
            self._schedule = _DISARMED
            raise TimerDisarmed(
                f"{where}: the timer is disarmed and nothing is pending (start() it first)"
            )

    def __iter__(self):
        """Yield the expiration count at each expiry, blocking in between.  Ends when the
        timer is disarmed and nothing is pending (a one-shot timer yields once)."""
        while True:
            if not self.armed and not self._unclaimed and not _pending(self.fileno()):
                return
            if self.nonblocking and not self._unclaimed:
                poller = select.poll()
                poller.register(self.fileno(), select.POLLIN)
                poller.poll()
            count = self.read()
            if count:
                yield count

    # -- asyncio -----------------------------------------------------------------------------

    async def wait(self):
        """Wait in the running asyncio loop for the next expiry; return the count.

        Any number of tasks may wait at once: each one gets the count of the expiry that woke
        them all.  Cancelling a wait never loses an expiry (if the count was read for waiters
        that were all cancelled, the next ``wait()`` or ``read()`` returns it).  Raises
        TimerDisarmed at once on a disarmed timer with nothing pending, and in every waiter
        when ``stop()`` disarms it; ValueError when the timer is (or gets) closed or detached.
        A wake-up costs the loop's wait and one read: the loop's reader stays registered
        between waits.  Works for blocking and non-blocking timers alike.
        """
        waiters = self._aio
        if waiters is not None and waiters.registered and self._schedule == _PERIODIC:
            # The steady state of a periodic timer: no system call at all.  Which loop runs
            # this task is not asked (get_running_loop() costs a getpid() on 3.8-3.11): a task
            # of another loop cannot await this loop's future, asyncio refuses it (below).
            loop = waiters.loop
        else:
            loop = _running_loop()
            waiters = self._prepare_wait(loop)
        if self._unclaimed:
            count, self._unclaimed = self._unclaimed, 0
            return count
        future = loop.create_future()
        waiters.waiters.append(future)
        if not waiters.registered:
            waiters.register()
        try:
            delivery = await future
        except _CancelledError:
            waiters.abandon(future)
            raise
        except RuntimeError:
            if future.done():
                raise
            # asyncio's "Task got Future attached to a different loop": this task runs in
            # another loop than the reader's.  Take the timer over if that loop has no waiter
            # left (_prepare_wait refuses otherwise), and wait there.
            waiters.abandon(future)
            self._prepare_wait(_running_loop())
            return await self.wait()
        delivery[1] -= 1
        delivery[2] = True
        return delivery[0]

    def _prepare_wait(self, loop):
        waiters = self._aio
        if waiters is not None and waiters.loop is not loop:
            if waiters.live() and not waiters.loop.is_closed():
                raise RuntimeError(
                    f"Timer.wait: the timer is already awaited in another event loop "
                    f"({waiters.loop!r}); one loop at a time"
                )
            waiters.waiters = []
            waiters.unregister()
            waiters = None
        self._check_waitable("Timer.wait")
        if waiters is None:
            waiters = self._aio = _waiters.LoopWaiters(self, loop, self.fileno())
        return waiters

    def __aiter__(self):
        """``async for count in timer:`` awaits ``wait()`` until the timer is disarmed (a
        one-shot timer yields once), stopped, closed or detached.  ValueError if it is
        closed already."""
        if self.closed:
            raise ValueError("Timer.__aiter__: I/O operation on closed timer")
        return _Ticks(self, Timer.wait)


class _Ticks:
    """The asynchronous iterator of ``async for count in timer`` (wait: Timer.wait) and of
    ``tfd.trio_ticks(timer)`` (wait: tfd.trio_wait).  An iterator object rather than an async
    generator: breaking out of the loop then needs no aclosing() to finalise anything."""

    __slots__ = ("_timer", "_wait")

    def __init__(self, timer, wait):
        self._timer = timer
        self._wait = wait

    def __aiter__(self):
        return self

    async def __anext__(self):
        timer = self._timer
        try:
            return await self._wait(timer)
        except TimerDisarmed:
            raise StopAsyncIteration from None
        except ValueError:
            if timer.closed:
                raise StopAsyncIteration from None
            raise

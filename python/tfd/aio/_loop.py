"""tfd.aio.EventLoop: CPython's selector event loop on tfd's scheduling core."""

import asyncio
import selectors

from .. import _tfd
from . import _support  # noqa: F401  (attaches the helpers the core needs)
from ._timer_wait import TimerWatch


class EventLoop(_tfd.AioLoopCore, asyncio.SelectorEventLoop):
    """An asyncio event loop whose timers are exact to the nanosecond and never early.

    Transports, servers, subprocesses, signal handlers, executors and sock_* are CPython's
    own (this class derives from asyncio.SelectorEventLoop); time(), call_soon, call_at,
    call_later, call_soon_threadsafe, their handles and each pass of the loop run in C++ on
    tfd's timer queue, waking through one timer_fd armed at the earliest deadline.

    selector: an EpollSelector by default; any other selector works too, but then waits
    through selector.select() with its millisecond rounding (timers still never run early).
    timer_coalescing: seconds (default 0) by which a wake-up may be delayed so that timers
    due close together run in one pass; never early, at most that much late.
    """

    def __init__(self, selector=None, *, timer_coalescing=0.0):
        try:
            self.set_timer_coalescing(timer_coalescing)  # first: it validates
        except BaseException:
            self._closed = True  # nothing to close: no warning from __del__
            raise
        if selector is None:
            selector = selectors.EpollSelector()
        self._timer_watches = None
        super().__init__(selector)

    def run_forever(self):
        self._tfd_fresh_run()  # its first pass always polls the descriptors
        return super().run_forever()

    def close(self):
        super().close()
        self._tfd_clear()
        self._timer_watches = None  # the selector is closed: nothing left to unregister

    async def wait_timer(self, timer):
        """Waits for the next expiry of the tfd.Timer `timer` and returns the count, like
        ``await timer.wait()`` but in two system calls a tick (the loop's epoll_wait and one
        read) instead of about six: the descriptor stays registered between waits.  Only one
        task may wait for a timer at a time."""
        if timer.closed:
            raise ValueError("I/O operation on closed timer")
        watches = self._timer_watches
        if watches is None:
            watches = self._timer_watches = {}
        fd = timer.fileno()
        watch = watches.get(fd)
        if watch is None or watch.timer is not timer:
            if watch is not None:
                watch.stop()  # a closed timer's number, reused
            watch = watches[fd] = TimerWatch(self, timer)
        return await watch.wait()

    def set_timer_coalescing(self, seconds):
        """Lets each wake-up wait up to `seconds` (0 to 3600) longer, so timers due within
        that window run together; 0 (the default) wakes exactly at each deadline."""
        self._tfd_set_coalescing(seconds)
        self._timer_coalescing = float(seconds)

    def get_timer_coalescing(self):
        return self._timer_coalescing

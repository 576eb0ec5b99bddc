"""tfd.aio.EventLoop: CPython's selector event loop on tfd's scheduling core."""

import asyncio
import numbers
import os
import select
import selectors
import warnings
import weakref

from .. import _tfd
from . import _support  # also attaches the helpers the core needs
from ._timer_wait import wait_timer as _wait_timer


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
    spin_below: seconds (default 3e-6, at most 1e-3): a deadline at most this far ahead when the
    loop is about to sleep is busy-waited for instead, since sleeping and waking costs more
    CPU than so short a wait and lands later; 0 never spins.  Off while coalescing.
    spin_margin: seconds (default 0, at most 1e-3): wake this much before each deadline and
    busy-wait the rest, so timers run within a fraction of a microsecond of their deadline
    instead of the kernel's few microseconds after it, for up to that much CPU per
    wake-up.  Never early.  Not together with timer_coalescing (ValueError), not with
    another selector than the default (ValueError: its select() rounds to milliseconds),
    and not for call_at_clock timers on CLOCK_REALTIME, whose timer_fd must stay armed.
    Descriptors ready during a spin wait for its end.
    timer_slack: seconds (default 0, at most 1): the timer slack (prctl PR_SET_TIMERSLACK)
    the loop sets on the thread that runs it; 0 leaves the thread's slack alone.  From 1e-9
    to 1e-7 it also turns on timed waits: a deadline at most 100 us ahead is waited for with
    the epoll wait's own nanosecond timeout instead of the timer_fd, one system call per
    wake-up instead of two, at most 100 ns later than the timer_fd would wake and never
    early.  Needs the default selector and epoll_pwait2 (Linux 5.11).
    virtual_time: run every timer on a virtual clock that starts at virtual_start (seconds,
    default 0) and jumps to the next deadline whenever nothing else can happen (no callback
    ready, no descriptor ready, no hold: see hold_time and run_in_executor); advance() moves
    it by hand.  Timers fire in the same order and see the same time() as on a real clock.
    """

    def __init__(self, selector=None, *, timer_coalescing=0.0, spin_below=3e-6,
                 spin_margin=0.0, timer_slack=0.0, virtual_time=False, virtual_start=0.0):
        self._timer_coalescing = 0.0
        self._spin_margin = 0.0
        self._timer_slack = 0.0
        created = None
        try:
            if not isinstance(virtual_time, bool):
                raise TypeError(f"virtual_time={virtual_time!r} must be True or False, not "
                                f"{type(virtual_time).__name__}")
            if virtual_start != 0.0 and not virtual_time:
                raise ValueError(f"virtual_start={virtual_start!r} needs virtual_time=True")
            self.set_timer_coalescing(timer_coalescing)  # first: they validate
            self.set_spin_below(spin_below)
            self.set_spin_margin(spin_margin)
            self.set_timer_slack(timer_slack)
            if virtual_time:
                self._tfd_make_virtual(virtual_start)
            if selector is None:
                selector = created = selectors.EpollSelector()
            # Against the selector the loop will have, and the subclass's overrides.
            _refuse_margin_without_epoll(self, selector, spin_margin)
        except BaseException:
            if created is not None:
                created.close()
            self._closed = True  # nothing else to close: no warning from __del__
            raise
        super().__init__(selector)
        _live_loops.add(self)

    def _tfd_after_fork_in_child(self):
        # The epoll set and the timer_fds are open files the child shares with the parent:
        # the child arming a timer_fd would move the parent's wake-up, and an expiry in the
        # shared epoll set would wake whichever process waited first, so a loop run in both
        # lost timers.  The child's loop gets its own of each; its descriptors stay
        # registered (the stock loop, whose timers need no descriptor, shares the set).
        selector = self._selector
        if (not self.is_closed() and isinstance(selector, selectors.EpollSelector)
                and isinstance(getattr(selector, "_selector", None), select.epoll)):
            fresh = select.epoll()
            for fd, key in selector._fd_to_key.items():
                mask = 0
                if key.events & selectors.EVENT_READ:
                    mask |= select.EPOLLIN
                if key.events & selectors.EVENT_WRITE:
                    mask |= select.EPOLLOUT
                fresh.register(fd, mask)
            inherited, selector._selector = selector._selector, fresh
            inherited.close()
        self._tfd_after_fork()

    def run_forever(self):
        self._tfd_fresh_run()  # its first pass always polls the descriptors
        return super().run_forever()

    def advance(self, seconds):
        """Moves a virtual clock forward by `seconds` (>= 0) and, when the loop is not
        running, runs everything that became due (and what that queues) before returning.
        Called from inside the running loop, the loop runs it on its next pass."""
        if not self.virtual_time:
            raise RuntimeError("advance() needs a loop on virtual time (virtual_time=True)")
        if isinstance(seconds, bool) or not isinstance(seconds, numbers.Real):
            raise TypeError(f"advance(): seconds={seconds!r} must be a number of seconds, "
                            f"not {type(seconds).__name__}")
        if not seconds >= 0:  # also NaN
            raise ValueError(f"advance(): seconds={seconds!r} must be a number >= 0")
        self._check_thread()  # debug mode: only the loop's thread moves its clock
        self._tfd_advance(seconds)  # OverflowError past 2**63 ns
        if self.is_running():
            return
        self._tfd_idle_stop = True
        try:
            self.run_forever()
        finally:
            self._tfd_idle_stop = False

    def hold_time(self):
        """A context manager that keeps a virtual clock from jumping while work outside the
        loop (a thread that will call call_soon_threadsafe, another process) is under way;
        the loop then waits for descriptors as a real one would.  Executors hold it by
        themselves (run_in_executor).  Usable on any loop (a no-op on real time)."""
        return _TimeHold(self)

    def run_in_executor(self, executor, func, *args):
        future = super().run_in_executor(executor, func, *args)
        if self.virtual_time:
            # The executor's result comes back through call_soon_threadsafe: until then the
            # clock must not jump past what the job would have taken in real time.
            self._tfd_hold(1)
            future.add_done_callback(self._release_hold)
        return future

    def _release_hold(self, _future):
        self._tfd_hold(-1)

    if hasattr(asyncio.AbstractEventLoop, "shutdown_default_executor"):

        async def shutdown_default_executor(self, *args, **kwargs):
            # Joining the executor's threads happens outside the loop: hold a virtual clock,
            # or the join's timeout (asyncio.run's 300 s) would expire at once.
            with self.hold_time():
                return await super().shutdown_default_executor(*args, **kwargs)

    def close(self):
        super().close()
        self._tfd_clear()
        self._tfd_close_timer_fds()

    async def wait_timer(self, timer):
        """``await timer.wait()`` for the tfd.Timer `timer`: its next expiration count, in two
        system calls a tick on this loop (its epoll_wait and one read)."""
        return await _wait_timer(timer)

    def set_timer_coalescing(self, seconds):
        """Lets each wake-up wait up to `seconds` (0 to 3600) longer, so timers due within
        that window run together; 0 (the default) wakes exactly at each deadline."""
        _refuse_both(seconds, self._spin_margin)
        self._timer_coalescing = self._tfd_set_coalescing(seconds) / 1e9  # in effect, whole nanoseconds

    def get_timer_coalescing(self):
        return self._timer_coalescing

    def set_spin_below(self, seconds):
        """Busy-waits for a deadline closer than `seconds` (0 to 0.001) instead of sleeping
        for it; 0 always sleeps.  Never early either way."""
        self._spin_below = self._tfd_set_spin_below(seconds) / 1e9  # in effect, whole nanoseconds

    def get_spin_below(self):
        return self._spin_below

    def set_spin_margin(self, seconds):
        """Wakes `seconds` (0 to 0.001) before each deadline and busy-waits the rest, for
        wake-ups within a fraction of a microsecond at up to that much CPU each; 0 (the
        default) sleeps up to the deadline itself.  Never early either way."""
        _refuse_both(self._timer_coalescing, seconds)
        selector = getattr(self, "_selector", None)  # None while __init__ runs
        if selector is not None:
            _refuse_margin_without_epoll(self, selector, seconds)
        self._spin_margin = self._tfd_set_spin_margin(seconds) / 1e9  # in effect, whole nanoseconds

    def get_spin_margin(self):
        return self._spin_margin

    def set_timer_slack(self, seconds):
        """Sets the timer slack of the thread that runs the loop to `seconds` (0 to 1) from
        its next pass on; 0 (the default) leaves the thread's slack alone.  1e-9 to 1e-7
        also makes waits for deadlines at most 100 us ahead timed waits (one system call
        per wake-up).  Slack is per thread and stays after the loop stops."""
        self._timer_slack = self._tfd_set_timer_slack(seconds) / 1e9  # in effect, whole nanoseconds

    def get_timer_slack(self):
        return self._timer_slack


def _refuse_both(coalescing, margin):
    # Coalescing wakes after deadlines to batch them, the margin before them to be exact:
    # the loop takes one trade or the other.  Values the setters would refuse anyway (not
    # numbers, out of range) are left to them, for their own messages.
    try:
        both = coalescing > 0 and margin > 0
    except TypeError:
        return
    if both:
        raise ValueError(f"timer_coalescing={coalescing!r} and spin_margin={margin!r} cannot "
                         "both be set: coalescing wakes after deadlines, the margin before them")


def _refuse_margin_without_epoll(loop, selector, margin):
    # The margin needs the loop's own epoll wait, whose timeouts are nanoseconds: a selector's
    # select() rounds to milliseconds, past any margin, so the option would do nothing.
    try:
        wanted = margin > 0
    except TypeError:
        return  # the setter names the bad value
    why = _support.why_not_native(loop, selector) if wanted else None
    if why is not None:
        raise ValueError(f"spin_margin={margin!r} needs the loop's own epoll wait (the default "
                         f"selector, its select() and _process_events() not overridden); {why}")


class _TimeHold:
    __slots__ = ("loop", "held")

    def __init__(self, loop):
        self.loop = loop
        self.held = False

    def __enter__(self):
        if self.loop.virtual_time:
            self.loop._tfd_hold(1)
            self.held = True
        return self

    def __exit__(self, *exc):
        if self.held:
            self.held = False
            self.loop._tfd_hold(-1)
            self.loop._write_to_self()  # a waiting loop re-evaluates: it may jump now


# Every tfd.aio loop alive in this process, for the at-fork hook.
_live_loops = weakref.WeakSet()


def _after_fork_in_child():
    for loop in list(_live_loops):
        try:
            loop._tfd_after_fork_in_child()
        except OSError as exc:  # out of descriptors, say: a loop sharing them must not run
            loop.close()
            warnings.warn(f"tfd.aio: after fork(), {loop!r} could not get descriptors of its "
                          f"own ({exc}), so it was closed", RuntimeWarning)


os.register_at_fork(after_in_child=_after_fork_in_child)

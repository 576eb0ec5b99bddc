"""The tasks awaiting ``Timer.wait()`` in one asyncio event loop, and the loop's reader.

Why a shared reader: ``loop.add_reader`` keeps one callback per descriptor, so waiters that
each registered their own would replace and remove one another's.  Here the first waiter
registers one reader for the timer, every later waiter only adds its future, and the reader's
callback reads the expiration count once and hands it to every waiter.

Why the reader stays registered with no waiter left: a task woken by an expiry usually waits
again a moment later; removing and re-adding the reader each time would cost two epoll_ctl
calls per expiry.  So a wake-up costs the loop's wait and one ``read``, nothing more.  The
reader goes away when an expiry finds nobody waiting (that expiry is left in the kernel for
the next reader), when the timer is stopped, closed or detached, after a one-shot timer's
expiry, after a failed read, and when another loop takes the timer over.

Invariants:
* ``registered`` is True exactly while ``loop`` has a reader on ``fd`` whose callback is
  ``_on_readable``;
* ``waiters`` holds futures of tasks awaiting the next expiry, in arrival order; a cancelled
  one stays until its task runs again and removes it, so the callback skips done futures;
* every future in ``waiters`` is pending or cancelled: the callback empties the list before
  completing any of them.

A delivery is ``[count, recipients not yet resumed, claimed]``: the waiters woken by one read
share it, and when each of them is cancelled before it could return the count, the count goes
back to the timer (``TimerBase._unclaimed``) for the next ``wait()`` or ``read()``: a
cancelled wait never loses an expiry.
"""

import select

from tfd import _tfd

_read = _tfd.TimerBase._read_now


def _pending(fd):
    """True when the descriptor is readable now (one poll(2) with a zero timeout)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def _copy(error):
    # Each waiter raises its own exception object, so tracebacks of different tasks do not
    # pile up on one instance.
    try:
        return type(error)(*error.args)
    except Exception:
        return error


class LoopWaiters:
    __slots__ = ("timer", "loop", "fd", "blocking", "waiters", "registered")

    def __init__(self, timer, loop, fd):
        self.timer = timer
        self.loop = loop
        self.fd = fd
        self.blocking = not timer.nonblocking
        self.waiters = []
        self.registered = False

    def live(self):
        return any(not future.done() for future in self.waiters)

    def register(self):
        self.loop.add_reader(self.fd, self._on_readable)
        self.registered = True

    def unregister(self):
        """Remove the reader (if any), and forget this state when nobody waits any more."""
        if self.registered:
            self.registered = False
            if not self.loop.is_closed():
                self.loop.remove_reader(self.fd)
        if not self.waiters and self.timer._aio is self:
            self.timer._aio = None

    def fail(self, error):
        """Every waiter raises (a copy of) ``error``; the reader is removed first."""
        waiters, self.waiters = self.waiters, []
        self.unregister()
        for future in waiters:
            if not future.done():
                future.set_exception(_copy(error))

    def abandon(self, future):
        """The task awaiting ``future`` was cancelled: drop it, or give its count back."""
        if future.done() and not future.cancelled() and future.exception() is None:
            delivery = future.result()
            delivery[1] -= 1
            if delivery[1] == 0 and not delivery[2]:
                self.timer._unclaimed += delivery[0]
            return
        try:
            self.waiters.remove(future)
        except ValueError:
            pass

    def _on_readable(self):
        live = [future for future in self.waiters if not future.done()]
        if not live:
            self.waiters = []
            self.unregister()  # the expiry stays in the kernel for whoever reads next
            return
        timer = self.timer
        try:
            if self.blocking and timer._disturbed:
                # The timer was read or re-armed since this callback last ran, possibly after
                # the loop saw it readable: a blocking read could then block the loop.
                timer._disturbed = False
                if not _pending(self.fd):
                    return
            count = _read(timer)
        except Exception as error:
            self.fail(error)
            return
        if not count:
            return  # a clock jump undid the expiry
        self.waiters = []
        delivery = [count, len(live), False]
        for future in live:
            future.set_result(delivery)
        if timer._schedule == ONCE:
            timer._schedule = DISARMED
            self.unregister()


# What the Timer knows of its own schedule (TimerBase._schedule; see timer_base.hpp).
UNKNOWN = _tfd._SCHEDULE_UNKNOWN
ONCE = _tfd._SCHEDULE_ONCE
PERIODIC = _tfd._SCHEDULE_PERIODIC
DISARMED = _tfd._SCHEDULE_DISARMED

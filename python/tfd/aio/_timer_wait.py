"""Waiting for a tfd.Timer's expiry on a tfd.aio loop in two system calls a tick.

EventLoop.wait_timer(timer) keeps one TimerWatch per timer: the descriptor stays registered
between waits, so a tick costs the loop's own epoll_wait and one read().  (tfd.Timer.wait()
costs the same on this loop and takes any number of waiters; a TimerWatch serves one.)
Cancelling a wait still never loses an expiry: an expiry with no one waiting is left unread
(the watch stops watching), so the next wait or read() reports it.
"""


class TimerWatch:
    """One timer's registration in one loop (EventLoop.wait_timer keeps one per timer).

    Invariant: `registered` is true exactly while the loop's selector watches the timer's
    descriptor with on_readable; `waiter` is the future of the wait in progress, or None.
    """

    __slots__ = ("loop", "timer", "fd", "waiter", "registered")

    def __init__(self, loop, timer):
        self.loop = loop
        self.timer = timer
        self.fd = timer.fileno()
        self.waiter = None
        self.registered = False

    def stop(self):
        if self.registered:
            self.registered = False
            if not self.loop.is_closed():
                self.loop.remove_reader(self.fd)

    def on_readable(self):
        timer = self.timer
        waiter = self.waiter
        if timer.closed or waiter is None or waiter.done():
            # Nobody waits (or nothing to wait on): stop watching and leave the expiry unread.
            self.stop()
            if timer.closed:
                self.loop._timer_watches.pop(self.fd, None)
            return
        try:
            count = timer.read()
        except BlockingIOError:
            return
        except BaseException as exc:  # ClockChanged, a closed descriptor: the waiter's
            self.waiter = None
            waiter.set_exception(exc)
            return
        if count:
            self.waiter = None
            waiter.set_result(count)
            # Once the waiting task has run, stop watching a timer it closed.
            self.loop.call_soon(self._after_tick)

    def _after_tick(self):
        if self.timer.closed:
            self.stop()
            self.loop._timer_watches.pop(self.fd, None)

    async def wait(self):
        timer = self.timer
        if not self.registered:
            count = timer._read_if_ready()  # what expired while nobody watched
            if count:
                return count
            self.loop.add_reader(self.fd, self.on_readable)
            self.registered = True
        if self.waiter is not None and not self.waiter.done():
            raise RuntimeError("another task is already waiting for this timer")
        waiter = self.loop.create_future()
        self.waiter = waiter
        try:
            return await waiter
        finally:
            if self.waiter is waiter:
                self.waiter = None

"""Waiting for a Timer under trio.

trio watches a descriptor for one task at a time (a second ``wait_readable`` on the same
descriptor raises ``trio.BusyResourceError``), so under trio a timer has one waiting task;
share the counts with a ``trio`` memory channel when several tasks need them.
``Timer.stop()``, ``close()`` and ``detach()`` wake that task through
``trio.lowlevel.notify_closing``.
"""

from tfd._timer import _Ticks


async def trio_wait(timer):
    """Wait under trio for the next expiry of ``timer`` and return the count.

    Cancellation-safe like ``Timer.wait()``: nothing is read until the descriptor is
    readable.  Raises TimerDisarmed at once on a disarmed timer with nothing pending, and when
    ``timer.stop()`` disarms it during the wait; ValueError when it is (or gets) closed.
    Needs trio to be importable.
    """
    import trio

    timer._check_waitable("trio_wait")
    if timer._trio_waiting:
        raise trio.BusyResourceError(
            "trio_wait: another task is already waiting on this timer; under trio one task "
            "waits per timer (hand the counts to others through a trio memory channel)"
        )
    while True:
        count = timer._read_if_ready()
        if count:
            return count
        timer._trio_waiting += 1
        try:
            await trio.lowlevel.wait_readable(timer.fileno())
        except trio.ClosedResourceError:
            # notify_closing() from stop(), close() or detach(): say which.
            timer._check_waitable("trio_wait")
        finally:
            timer._trio_waiting -= 1


def trio_ticks(timer):
    """``async for count in tfd.trio_ticks(timer):`` the trio form of ``async for count in
    timer``: yields each expiry's count until the timer is disarmed (a one-shot timer yields
    once), stopped, closed or detached.  ValueError if it is closed already."""
    if timer.closed:
        raise ValueError("trio_ticks: I/O operation on closed timer")
    return _Ticks(timer, trio_wait)

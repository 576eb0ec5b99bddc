"""wait_timer: ``await timer.wait()`` under the name tfd.aio programs have used for it.

On a tfd.aio loop ``Timer.wait()`` costs two system calls a tick (the loop's epoll_wait and
one read), keeps its reader registered between waits and takes any number of waiters, so
wait_timer is that call with its argument checked, and the same outcomes: TimerDisarmed for
a timer that is not running, ValueError for a closed one, an expiry a cancelled wait left
behind reported by the next wait or read().
"""

from .._timer import Timer


async def wait_timer(timer):
    """The next expiration count of the tfd.Timer `timer`, as ``await timer.wait()``."""
    if not isinstance(timer, Timer):
        raise TypeError(f"wait_timer(): timer={timer!r} is not a tfd.Timer")
    return await timer.wait()

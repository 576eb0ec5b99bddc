"""tfd.aio: an asyncio event loop on tfd, with timers exact to the nanosecond, never early.

Switch a program over in one line::

    tfd.aio.run(main())                  # or asyncio.run(main(), loop_factory=tfd.aio.new_event_loop)

The entry points are uvloop's: EventLoop (also named Loop, as uvloop names its class),
new_event_loop(), EventLoopPolicy, install() and run().  See docs/asyncio.md.
"""

import asyncio
import inspect
import sys

from .. import _tfd
from ._loop import EventLoop
from ._timer_wait import wait_timer

__all__ = [
    "EventLoop",
    "EventLoopPolicy",
    "Handle",
    "Loop",
    "TimerHandle",
    "install",
    "new_event_loop",
    "run",
    "wait_timer",
]

Handle = _tfd.AioHandle
TimerHandle = _tfd.AioTimerHandle
Loop = EventLoop  # uvloop's name for its class, for `import tfd.aio as uvloop`


def new_event_loop(*, timer_coalescing=0.0, spin_below=3e-6, spin_margin=0.0,
                   timer_slack=0.0, virtual_time=False, virtual_start=0.0):
    """A new tfd.aio.EventLoop (a loop_factory for asyncio.run and asyncio.Runner)."""
    return EventLoop(timer_coalescing=timer_coalescing, spin_below=spin_below,
                     spin_margin=spin_margin, timer_slack=timer_slack,
                     virtual_time=virtual_time, virtual_start=virtual_start)


def _check_option_names(caller, loop_options):
    """A TypeError naming `caller` (not new_event_loop, where the options go) for a keyword
    that is no loop option."""
    known = inspect.signature(new_event_loop).parameters
    for name in loop_options:
        if name not in known:
            raise TypeError(f"{caller}() got an unexpected keyword argument {name!r} (loop "
                            f"options: {', '.join(known)})")


class EventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """asyncio's default policy (child watchers included) making tfd.aio loops; keyword
    arguments go to new_event_loop (e.g. virtual_time=True)."""

    def __init__(self, **loop_options):
        _check_option_names("EventLoopPolicy", loop_options)
        super().__init__()
        new_event_loop(**loop_options).close()  # a bad option fails here, not at first use
        self._tfd_loop_options = loop_options

    def _loop_factory(self):
        return new_event_loop(**self._tfd_loop_options)


def install(**loop_options):
    """Makes tfd.aio the loop asyncio creates from now on (asyncio.set_event_loop_policy)."""
    _check_option_names("install", loop_options)
    asyncio.set_event_loop_policy(EventLoopPolicy(**loop_options))


def run(main, *, debug=None, **loop_options):
    """asyncio.run(main) on a new tfd.aio loop; `loop_options` go to new_event_loop()."""
    if asyncio.events._get_running_loop() is not None:
        raise RuntimeError("tfd.aio.run() cannot be called from a running event loop")
    if not asyncio.iscoroutine(main):
        raise ValueError("a coroutine was expected, got {!r}".format(main))
    # The loop is made first, so that a bad option fails before anything runs (and the
    # coroutine, which will never run, is closed rather than warned about).
    try:
        _check_option_names("run", loop_options)
        made = [new_event_loop(**loop_options)]
    except BaseException:
        if asyncio.iscoroutine(main):
            main.close()
        raise

    def factory():
        return made.pop() if made else new_event_loop(**loop_options)

    try:
        if sys.version_info >= (3, 12):
            return asyncio.run(main, debug=debug, loop_factory=factory)
        if sys.version_info >= (3, 11):
            with asyncio.Runner(debug=debug, loop_factory=factory) as runner:
                return runner.run(main)
        return _run_before_311(main, debug, factory)
    finally:
        for unused in made:  # asyncio gave up before asking for it
            unused.close()


def _run_before_311(main, debug, factory):
    # What asyncio.run does on 3.8-3.10 (run() has checked `main`), with the loop made by
    # `factory`.
    loop = factory()
    try:
        asyncio.set_event_loop(loop)
        if debug is not None:
            loop.set_debug(debug)
        return loop.run_until_complete(main)
    finally:
        try:
            _cancel_all_tasks(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            if hasattr(loop, "shutdown_default_executor"):
                loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _cancel_all_tasks(loop):
    to_cancel = asyncio.all_tasks(loop)
    if not to_cancel:
        return
    for task in to_cancel:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*to_cancel, return_exceptions=True))
    for task in to_cancel:
        if task.cancelled():
            continue
        if task.exception() is not None:
            loop.call_exception_handler(
                {
                    "message": "unhandled exception during asyncio.run() shutdown",
                    "exception": task.exception(),
                    "task": task,
                }
            )

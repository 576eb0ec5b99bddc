"""What tfd.aio's C++ core calls back into Python for: the stock loop's own code paths that
are rare (an exception in a callback, debug mode) or decided once per selector (how to
wait), so that they behave exactly as CPython's do on every version."""

import inspect
import selectors
import sys
import time
from asyncio import base_events, events, format_helpers, selector_events

from .. import _tfd

_FORMAT_TAKES_DEBUG = "debug" in inspect.signature(format_helpers._format_callback_source).parameters


def wait_plan(loop, selector):
    """(epoll fd, selector._fd_to_key) when the pass may wait on the epoll set itself and
    replace EpollSelector.select and _process_events; (-1, None) to call them as they are
    (any other selector, or a subclass that overrides either)."""
    if why_not_native(loop, selector) is None:
        return selector._selector.fileno(), selector._fd_to_key
    return -1, None


def why_not_native(loop, selector):
    """None when the pass may wait on the selector's epoll set itself, else why it must call
    the selector's select() (whose timeouts are whole milliseconds)."""
    kind = type(selector).__name__
    if not isinstance(selector, selectors.EpollSelector):
        return f"a loop on {kind} waits through its select(), in whole milliseconds"
    if type(selector).select is not selectors.EpollSelector.select:
        return f"{kind} overrides select(), which the loop must call (in whole milliseconds)"
    if type(loop)._process_events is not selector_events.BaseSelectorEventLoop._process_events:
        return (f"{type(loop).__name__} overrides _process_events(), so the loop waits through "
                "the selector's select(), in whole milliseconds")
    if not isinstance(getattr(selector, "_fd_to_key", None), dict):
        return f"{kind} keeps no _fd_to_key dict, so the loop waits through its select()"
    return None


def report(handle, exc):
    """Handle._run's except block: the exception goes to the loop's exception handler."""
    if _FORMAT_TAKES_DEBUG:
        cb = format_helpers._format_callback_source(
            handle._callback, handle._args, debug=handle._loop.get_debug()
        )
    else:
        cb = format_helpers._format_callback_source(handle._callback, handle._args)
    context = {
        "message": f"Exception in callback {cb}",
        "exception": exc,
        "handle": handle,
    }
    if handle._source_traceback:
        context["source_traceback"] = handle._source_traceback
    handle._loop.call_exception_handler(context)


def run_debug(loop, handle):
    """The stock _run_once's debug branch for one handle."""
    try:
        loop._current_handle = handle
        # Real time: a virtual clock moved by advance() inside the callback is not slowness.
        clock = time.monotonic if loop.virtual_time else loop.time
        t0 = clock()
        handle._run()
        dt = clock() - t0
        if dt >= loop.slow_callback_duration:
            base_events.logger.warning(
                "Executing %s took %.3f seconds", base_events._format_handle(handle), dt
            )
    finally:
        loop._current_handle = None


def source_traceback():
    """Where a handle was created (debug mode): the stack down to the caller of call_*,
    which has the frame right above this one (the C++ method has none)."""
    return format_helpers.extract_stack(sys._getframe(1))


# The handles' repr and comparisons are asyncio's own, so they read the same.
def _timer_repr_info(self):
    info = events.Handle._repr_info(self)
    pos = 2 if self._cancelled else 1
    info.insert(pos, f"when={self._when}")
    return info


def _timer_hash(self):
    return hash(self._when)


def _timer_compare(op):
    def compare(self, other):
        if isinstance(other, _tfd.AioTimerHandle):
            return op(self._when, other._when)
        return NotImplemented

    return compare


def _timer_eq(self, other):
    if isinstance(other, _tfd.AioTimerHandle):
        return (
            self._when == other._when
            and self._callback == other._callback
            and self._args == other._args
            and self._cancelled == other._cancelled
        )
    return NotImplemented


def _attach():
    import operator

    handle, timer = _tfd.AioHandle, _tfd.AioTimerHandle
    handle.__repr__ = events.Handle.__repr__
    handle._repr_info = events.Handle._repr_info
    timer.__repr__ = events.Handle.__repr__
    timer._repr_info = _timer_repr_info
    timer.__hash__ = _timer_hash
    timer.__eq__ = _timer_eq
    for name, op in (("__lt__", operator.lt), ("__le__", operator.le),
                     ("__gt__", operator.gt), ("__ge__", operator.ge)):
        setattr(timer, name, _timer_compare(op))
    _tfd.AioLoopCore._tfd_helpers = sys.modules[__name__]


_attach()

"""Testing asyncio code on virtual time: VirtualTimeTestCase, an IsolatedAsyncioTestCase
whose loop is a tfd.aio loop with virtual_time=True, so timeouts, retries and periodic tasks
run instantly and deterministically.  See docs/asyncio.md ("Virtual time")."""

import asyncio
import sys
import unittest

from . import EventLoopPolicy, new_event_loop

__all__ = ["VirtualTimeTestCase"]


class VirtualTimeTestCase(unittest.IsolatedAsyncioTestCase):
    """Each test runs on a fresh tfd.aio loop on virtual time starting at virtual_start
    (a class attribute, 0 by default): ``await asyncio.sleep(3600)`` returns at once with
    ``loop.time()`` an hour later.  ``self.loop`` is the loop inside the test."""

    virtual_start = 0.0

    def _tfd_new_loop(self):
        return new_event_loop(virtual_time=True, virtual_start=self.virtual_start)

    @property
    def loop(self):
        """The test's loop: the running one inside async code; in a synchronous test method
        or setUp (which the test case calls outside the loop) the one it runs them next to."""
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            runner = getattr(self, "_asyncioRunner", None)  # 3.11+
            loop = runner.get_loop() if runner is not None else getattr(
                self, "_asyncioTestLoop", None)  # 3.8-3.10
            if loop is None:
                raise RuntimeError("VirtualTimeTestCase.loop: no loop yet (it exists from "
                                   "setUp on, until tearDown has run)") from None
            return loop

    if sys.version_info >= (3, 11):

        def _setupAsyncioRunner(self):
            assert self._asyncioRunner is None, "asyncio runner is already initialized"
            self._asyncioRunner = asyncio.Runner(debug=True, loop_factory=self._tfd_new_loop)

    else:

        def _setupAsyncioLoop(self):
            # 3.8-3.10 make the loop with asyncio.new_event_loop(): through a policy.
            previous = asyncio.get_event_loop_policy()
            asyncio.set_event_loop_policy(
                EventLoopPolicy(virtual_time=True, virtual_start=self.virtual_start)
            )
            try:
                super()._setupAsyncioLoop()
            finally:
                asyncio.set_event_loop_policy(previous)

"""tfd.aio: the event loop's entry points and the asyncio semantics its C++ core keeps."""

import asyncio
import contextvars
import functools
import gc
import inspect
import math
import os
import resource
import selectors
import sys
import threading
import time
import unittest
import weakref
from fractions import Fraction

import tfd
import tfd.aio


def ceil_ns(when):
    """The exact ceiling of when * 1e9 (when is a float)."""
    return math.ceil(Fraction(when) * 10**9)


class LoopTestCase(unittest.TestCase):
    def setUp(self):
        self.loop = tfd.aio.new_event_loop()
        self.addCleanup(self.loop.close)

    def run_soon_and_stop(self, timeout=5.0):
        self.loop.call_later(timeout, self.fail, "the loop did not stop in time")
        self.loop.run_forever()


class EntryPointTest(unittest.TestCase):
    def test_uvloop_names(self):
        self.assertIs(tfd.aio.Loop, tfd.aio.EventLoop)
        self.assertIn("Loop", tfd.aio.__all__)

    def test_getters_report_the_value_in_effect(self):
        # Options are whole nanoseconds, to the nearest: the getters say what the loop uses.
        loop = tfd.aio.new_event_loop(spin_margin=1e-5, timer_slack=1e-10, spin_below=-0.0)
        self.addCleanup(loop.close)
        self.assertEqual(loop.get_spin_margin(), 1e-5)
        self.assertEqual(loop.get_timer_slack(), 1e-9)  # positive stays positive: 1 ns
        self.assertEqual(math.copysign(1, loop.get_spin_below()), 1.0)  # 0.0, not -0.0
        loop.set_spin_margin(0)
        loop.set_timer_coalescing(0.0015000000004)
        self.assertEqual(loop.get_timer_coalescing(), 0.0015)

    def test_a_bad_option_name_names_the_entry_point(self):
        async def main():
            pass

        coro = main()
        with self.assertRaisesRegex(TypeError, r"^run\(\) got an unexpected keyword argument "
                                               r"'bogus' \(loop options: timer_coalescing, "):
            tfd.aio.run(coro, bogus=1)
        self.assertIsNone(coro.cr_frame)  # closed, never to warn that it was not awaited
        for entry, call in (("EventLoopPolicy", tfd.aio.EventLoopPolicy),
                            ("install", tfd.aio.install)):
            with self.subTest(entry=entry):
                with self.assertRaisesRegex(TypeError, rf"^{entry}\(\) got an unexpected "
                                                       r"keyword argument 'coalescing'"):
                    call(coalescing=0.001)

    def test_run(self):
        async def main():
            loop = asyncio.get_running_loop()
            await asyncio.sleep(0.001)
            return type(loop)

        self.assertIs(tfd.aio.run(main()), tfd.aio.EventLoop)

    def test_run_debug(self):
        async def main():
            return asyncio.get_running_loop().get_debug()

        self.assertTrue(tfd.aio.run(main(), debug=True))

    def test_policy_and_install(self):
        old = asyncio.get_event_loop_policy()
        self.addCleanup(asyncio.set_event_loop_policy, old)
        tfd.aio.install()
        self.assertIsInstance(asyncio.get_event_loop_policy(), tfd.aio.EventLoopPolicy)
        loop = asyncio.new_event_loop()
        self.addCleanup(loop.close)
        self.assertIsInstance(loop, tfd.aio.EventLoop)

    @unittest.skipIf(sys.version_info < (3, 12), "loop_factory is new in 3.12")
    def test_asyncio_run_loop_factory(self):
        async def main():
            return type(asyncio.get_running_loop())

        got = asyncio.run(main(), loop_factory=tfd.aio.new_event_loop)
        self.assertIs(got, tfd.aio.EventLoop)

    @unittest.skipIf(sys.version_info < (3, 11), "asyncio.Runner is new in 3.11")
    def test_runner_loop_factory(self):
        async def main():
            return type(asyncio.get_running_loop())

        with asyncio.Runner(loop_factory=tfd.aio.new_event_loop) as runner:
            self.assertIs(runner.run(main()), tfd.aio.EventLoop)

    def test_is_a_selector_event_loop(self):
        loop = tfd.aio.EventLoop()
        self.addCleanup(loop.close)
        self.assertIsInstance(loop, asyncio.SelectorEventLoop)
        self.assertIsInstance(loop._selector, selectors.EpollSelector)
        self.assertEqual(loop.get_timer_coalescing(), 0.0)
        self.assertEqual(loop.get_spin_below(), 3e-6)

    def test_run_checks_before_running(self):
        async def main():
            return 1

        coroutine = main()
        with self.assertRaisesRegex(ValueError, r"spin_margin=-1 must be a number of seconds"):
            tfd.aio.run(coroutine, spin_margin=-1)
        # Closed, not left to warn that it was never awaited.
        self.assertIsNone(coroutine.cr_frame)
        with self.assertRaisesRegex(ValueError, "a coroutine was expected"):
            tfd.aio.run(main)

        async def nested():
            inner = main()
            try:
                tfd.aio.run(inner)
            finally:
                inner.close()

        with self.assertRaisesRegex(RuntimeError,
                                    r"tfd\.aio\.run\(\) cannot be called from a running"):
            tfd.aio.run(nested())

    def test_policy_checks_its_options_at_once(self):
        with self.assertRaisesRegex(ValueError, r"spin_margin=-1"):
            tfd.aio.EventLoopPolicy(spin_margin=-1)
        with self.assertRaisesRegex(TypeError, "bogus"):
            tfd.aio.install(bogus=1)

    def test_option_types(self):
        for name in ("timer_coalescing", "spin_below", "spin_margin"):
            for bad in ("0.001", True, None):
                with self.subTest(name=name, value=bad):
                    with self.assertRaisesRegex(TypeError, rf"{name}=.* must be a number of "
                                                           r"seconds, not"):
                        tfd.aio.new_event_loop(**{name: bad})

    def test_signatures(self):
        # inspect.signature reads the C methods' text signatures; the parameter names are the
        # stock loop's.
        loop = tfd.aio.new_event_loop()
        self.addCleanup(loop.close)
        stock = asyncio.SelectorEventLoop()
        self.addCleanup(stock.close)
        for name in ("time", "call_soon", "call_soon_threadsafe", "call_at", "call_later"):
            with self.subTest(method=name):
                ours = list(inspect.signature(getattr(loop, name)).parameters)
                theirs = list(inspect.signature(getattr(stock, name)).parameters)
                self.assertEqual(ours, theirs)
        self.assertEqual(list(inspect.signature(loop.call_at_clock).parameters),
                         ["clock", "when", "callback", "args", "context"])
        handle = loop.call_later(1, print)
        for method in (handle.when, handle.cancel, handle.cancelled, handle.get_context):
            self.assertEqual(list(inspect.signature(method).parameters), [])

    def test_time_is_monotonic_clock(self):
        loop = tfd.aio.EventLoop()
        self.addCleanup(loop.close)
        before = time.monotonic()
        now = loop.time()
        after = time.monotonic()
        self.assertLessEqual(before, now)
        self.assertLessEqual(now, after)


class OrderTest(LoopTestCase):
    def test_call_soon_fifo(self):
        seen = []
        for i in range(1000):
            self.loop.call_soon(seen.append, i)
        self.loop.call_soon(self.loop.stop)
        self.run_soon_and_stop()
        self.assertEqual(seen, list(range(1000)))

    def test_pass_runs_only_what_was_ready(self):
        seen = []

        def first():
            seen.append(("first", self.loop._tfd_stats()["passes"]))
            self.loop.call_soon(second)

        def second():
            seen.append(("second", self.loop._tfd_stats()["passes"]))
            self.loop.stop()

        self.loop.call_soon(first)
        self.run_soon_and_stop()
        self.assertEqual(seen[0][0], "first")
        self.assertEqual(seen[1][1], seen[0][1] + 1)  # queued by a callback: the next pass

    def test_due_timers_in_deadline_then_start_order(self):
        seen = []
        base = self.loop.time() + 0.02
        for i, offset in enumerate([3, 1, 2, 1, 3, 0, 2]):
            self.loop.call_at(base + offset * 0.001, seen.append, (offset, i))
        self.loop.call_at(base + 0.01, self.loop.stop)
        self.run_soon_and_stop()
        self.assertEqual(seen, sorted(seen))

    def test_equal_deadlines_fire_in_start_order(self):
        seen = []
        when = self.loop.time() + 0.01
        for i in range(100):
            self.loop.call_at(when, seen.append, i)
        self.loop.call_at(when, self.loop.stop)
        self.run_soon_and_stop()
        self.assertEqual(seen, list(range(100)))


class TimerTest(LoopTestCase):
    def test_never_before_when(self):
        lateness = []

        def check(when):
            now = self.loop.time()
            self.assertGreaterEqual(now, when)
            lateness.append(now - when)

        start = self.loop.time()
        for i in range(200):
            self.loop.call_at(start + i * 0.0001 + 1e-7 * (i % 7), check, start + i * 0.0001 + 1e-7 * (i % 7))
        self.loop.call_at(start + 0.05, self.loop.stop)
        self.run_soon_and_stop()
        self.assertEqual(len(lateness), 200)

    def test_when_rounds_up_to_nanoseconds(self):
        for when in (1.0, 1.1, 0.3, 1e-10, 123.456789123, 1e6 + 1e-9, 4e9 + 0.1, -0.5, 9.2e9, 2.0**52 + 0.5):
            with self.subTest(when=when):
                h = self.loop.call_at(when, lambda: None)
                self.assertEqual(h._deadline_ns, min(ceil_ns(when), 2**63 - 1))
                self.assertEqual(h.when(), when)
                h.cancel()

    def test_far_and_infinite_deadlines_saturate(self):
        # An int beyond a float's range too, which the stock call_at accepts (call_later,
        # which adds it to time(), raises OverflowError on both loops).
        for when in (1e30, float("inf"), 10**400):
            h = self.loop.call_at(when, self.fail)
            self.assertEqual(h._deadline_ns, 2**63 - 1)
        seen = []
        for when in (float("-inf"), -10**400):
            h = self.loop.call_at(when, seen.append, when)
            self.assertEqual(h._deadline_ns, -(2**63))
        h = self.loop.call_at_clock(tfd.CLOCK_REALTIME, 10**400, self.fail)
        self.assertEqual(h._deadline_ns, 2**63 - 1)
        with self.assertRaisesRegex(OverflowError, "int too large to convert to float"):
            self.loop.call_later(10**400, self.fail)
        self.loop.call_later(0.01, self.loop.stop)
        self.run_soon_and_stop()
        self.assertEqual(seen, [float("-inf"), -10**400])

    def test_call_later_is_call_at_time_plus_delay(self):
        before = self.loop.time()
        h = self.loop.call_later(0.5, lambda: None)
        after = self.loop.time()
        self.assertTrue(before + 0.5 <= h.when() <= after + 0.5)
        self.assertIsInstance(h, tfd.aio.TimerHandle)
        h.cancel()

    def test_call_later_with_fraction_delay(self):
        h = self.loop.call_later(Fraction(1, 3), lambda: None)
        self.assertIsInstance(h.when(), float)
        h.cancel()

    def test_cancel_unqueues_at_once(self):
        handles = [self.loop.call_later(10 + i, lambda: None) for i in range(100)]
        self.assertEqual(self.loop._tfd_stats()["timers"], 100)
        for h in handles:
            self.assertTrue(h._scheduled)
            h.cancel()
            self.assertFalse(h._scheduled)
            self.assertTrue(h.cancelled())
        self.assertEqual(self.loop._tfd_stats()["timers"], 0)
        ref = weakref.ref(handles[0])
        del handles, h
        gc.collect()
        self.assertIsNone(ref())

    def test_cancel_in_ready_queue_skips(self):
        seen = []
        h = self.loop.call_soon(seen.append, 1)
        h.cancel()
        h.cancel()  # idempotent
        self.loop.call_soon(self.loop.stop)
        self.run_soon_and_stop()
        self.assertEqual(seen, [])
        self.assertIsNone(h._callback)
        self.assertIsNone(h._args)

    def test_a_timer_cancelling_a_due_timer(self):
        seen = []
        when = self.loop.time() + 0.005
        second = None

        def first():
            seen.append("first")
            second.cancel()

        self.loop.call_at(when, first)
        second = self.loop.call_at(when, seen.append, "second")
        self.loop.call_at(when + 0.005, self.loop.stop)
        self.run_soon_and_stop()
        self.assertEqual(seen, ["first"])

    def test_two_syscalls_a_tick_at_most(self):
        # A periodic grid re-armed with call_at: one timerfd_settime per tick.
        ticks = []
        start = self.loop.time()

        def tick(n):
            ticks.append(self.loop.time())
            if n == 50:
                self.loop.stop()
            else:
                self.loop.call_at(start + (n + 1) * 0.002, tick, n + 1)

        self.loop.call_at(start + 0.002, tick, 1)
        before = self.loop._tfd_stats()["settime_calls"]
        self.run_soon_and_stop()
        self.assertLessEqual(self.loop._tfd_stats()["settime_calls"] - before, 51)

    def test_close_drops_pending_work(self):
        loop = tfd.aio.new_event_loop()
        seen = []
        h = loop.call_later(100, seen.append, 1)
        loop.call_soon(seen.append, 2)
        ref = weakref.ref(h)
        del h
        loop.close()
        self.assertEqual(loop._tfd_stats()["timers"], 0)
        self.assertEqual(loop._tfd_stats()["ready"], 0)
        gc.collect()
        self.assertIsNone(ref())
        self.assertEqual(seen, [])

    def test_close_releases_every_descriptor(self):
        # The timer_fds of all three clocks go with close(), not with the object: a closed
        # loop kept alive (a fixture, a reference cycle) holds no descriptor.
        def open_fds():
            return len(os.listdir("/proc/self/fd"))

        before = open_fds()
        loop = tfd.aio.new_event_loop()
        keep = loop  # noqa: F841 (alive after close)
        for clock in (tfd.CLOCK_MONOTONIC, tfd.CLOCK_REALTIME, tfd.CLOCK_BOOTTIME):
            loop.call_at_clock(clock, 1e12, print)
        loop.call_soon(loop.stop)
        loop.run_forever()
        self.assertGreaterEqual(open_fds() - before, 3)
        loop.close()
        self.assertEqual(open_fds(), before)
        self.assertGreater(loop.time(), 0)  # the clock still answers, as the stock loop's
        with self.assertRaisesRegex(RuntimeError, "Event loop is closed"):
            loop.call_later(1, print)

    def test_clock_time_on_a_closed_loop_opens_nothing(self):
        def open_fds():
            return len(os.listdir("/proc/self/fd"))

        loop = tfd.aio.new_event_loop()
        loop.close()
        before = open_fds()
        for clock in (tfd.CLOCK_MONOTONIC, tfd.CLOCK_REALTIME, tfd.CLOCK_BOOTTIME):
            self.assertAlmostEqual(loop.clock_time(clock), time.clock_gettime(clock), delta=1.0)
        self.assertEqual(open_fds(), before)

    @unittest.skipUnless(hasattr(os, "fork"), "needs fork()")
    def test_a_loop_run_in_parent_and_forked_child_keeps_both_timers(self):
        # The child's copies of the epoll set and timer_fds are the parent's open files: a
        # child that armed them moved the parent's wake-up, and the parent's 0.3 s timer
        # never fired.  Each side must see its own timers on time.  Threads bound each
        # side's wait (their wake-ups need no timer), so a regression fails, not hangs.
        loop = tfd.aio.new_event_loop()
        self.addCleanup(loop.close)
        fut = loop.create_future()
        t0 = time.monotonic()
        loop.call_later(0.3, lambda: fut.set_result(time.monotonic() - t0))
        loop.run_until_complete(asyncio.sleep(0.01))
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report how long a 0.5 s sleep took, and leave at once
            code = 1
            try:
                threading.Timer(5, os._exit, args=(3,)).start()
                start = time.monotonic()
                loop.run_until_complete(asyncio.sleep(0.5))
                os.write(w, b"%.3f" % (time.monotonic() - start))
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        self.addCleanup(os.close, r)
        stopper = threading.Timer(5, loop.call_soon_threadsafe, args=(loop.stop,))
        stopper.start()
        fut.add_done_callback(lambda _: loop.stop())
        loop.run_forever()
        stopper.cancel()
        _, status = os.waitpid(pid, 0)
        self.assertTrue(fut.done(), "the parent's 0.3 s timer did not fire within 5 s")
        self.assertEqual(status, 0, "the child's 0.5 s sleep did not end within 5 s")
        took = fut.result()
        child_took = float(os.read(r, 64))
        self.assertGreaterEqual(took, 0.3)
        self.assertLess(took, 2.0)  # generous: on time would be 0.3 s
        self.assertGreaterEqual(child_took, 0.5)
        self.assertLess(child_took, 2.5)

    def test_unclosed_loop_with_timers_is_collected(self):
        loop = tfd.aio.new_event_loop()
        loop.call_later(100, loop.stop)
        ref = weakref.ref(loop)
        with self.assertWarns(ResourceWarning):
            del loop
            gc.collect()
        self.assertIsNone(ref())


class HandleTest(LoopTestCase):
    def test_repr_like_asyncio(self):
        def noop():
            pass

        h = self.loop.call_soon(noop)
        self.assertRegex(repr(h), r"^<Handle .*noop\(\) at .*test_aio.py:\d+>$")
        h.cancel()
        self.assertEqual(repr(h), "<Handle cancelled>")
        t = self.loop.call_at(123.5, noop)
        self.assertRegex(repr(t), r"^<TimerHandle when=123.5 .*noop\(\) at .*>$")
        t.cancel()
        self.assertEqual(repr(t), "<TimerHandle cancelled when=123.5>")

    def test_context(self):
        var = contextvars.ContextVar("var", default="unset")
        seen = []
        var.set("outer")
        ctx = contextvars.copy_context()
        var.set("changed")
        h = self.loop.call_soon(lambda: seen.append(var.get()), context=ctx)
        self.assertIs(h.get_context(), ctx)
        self.loop.call_soon(lambda: seen.append(var.get()))
        self.loop.call_soon(self.loop.stop)
        self.run_soon_and_stop()
        self.assertEqual(seen, ["outer", "changed"])

    def test_comparisons(self):
        a = self.loop.call_at(10, lambda: None)
        b = self.loop.call_at(20, lambda: None)
        self.assertLess(a, b)
        self.assertGreater(b, a)
        self.assertEqual(hash(a), hash(10.0))
        self.assertNotEqual(a, b)
        a.cancel()
        b.cancel()

    def test_not_constructible(self):
        with self.assertRaises(TypeError):
            tfd.aio.Handle()
        with self.assertRaises(TypeError):
            tfd.aio.TimerHandle()


class ExceptionTest(LoopTestCase):
    def test_exception_goes_to_handler(self):
        contexts = []
        self.loop.set_exception_handler(lambda loop, context: contexts.append(context))

        def boom():
            raise ZeroDivisionError("boom")

        h = self.loop.call_soon(boom)
        self.loop.call_soon(self.loop.stop)
        self.run_soon_and_stop()
        self.assertEqual(len(contexts), 1)
        self.assertIsInstance(contexts[0]["exception"], ZeroDivisionError)
        self.assertIs(contexts[0]["handle"], h)
        self.assertRegex(contexts[0]["message"], r"^Exception in callback .*boom\(\)")

    def test_argument_errors_read_as_the_stock_loops(self):
        # The same TypeError text as the stock loop on every version: 3.10+ names the class
        # that defines the method ("BaseEventLoop.call_soon() got an unexpected keyword
        # argument 'when'"), earlier versions the function alone, and 3.13+ adds "Did you
        # mean 'callback'?" for a name close to a parameter's.
        stock = asyncio.SelectorEventLoop()
        self.addCleanup(stock.close)
        calls = [
            ("call_soon", (print,), {"when": 1}),
            ("call_soon", (print,), {"callbak": 1}),
            ("call_soon", (print,), {"args": 1}),
            ("call_soon_threadsafe", (print,), {"delay": 1}),
            ("call_soon_threadsafe", (print,), {"contxt": None}),
            ("call_later", (1, print), {"later": print}),
            ("call_later", (1, print), {"delai": 1}),
            ("call_later", (1, print), {"slf": 1}),
            ("call_at", (1, print), {"ctx": None}),
            ("call_at", (1, print), {"wen": 1}),
            ("call_soon", (), {}),
            ("call_later", (1,), {}),
            ("call_at", (), {}),
            ("call_at", (), {"callback": print}),
            # A parameter given twice, or self by keyword.
            ("call_soon", (print,), {"callback": print}),
            ("call_later", (1, print, 2), {"callback": print}),
            ("call_at", (1,), {"when": 2, "callback": print}),
            ("call_later", (1, print), {"self": None}),
        ]
        for method, args, kwargs in calls:
            with self.subTest(method=method, args=args, kwargs=kwargs):
                messages = []
                for loop in (stock, self.loop):
                    with self.assertRaises(TypeError) as caught:
                        getattr(loop, method)(*args, **kwargs)
                    messages.append(str(caught.exception))
                self.assertEqual(messages[1], messages[0])

    def test_parameters_by_keyword_as_on_the_stock_loop(self):
        # callback, delay, when (and call_at_clock's clock) are ordinary parameters, as in
        # the stock loop's methods, so a program may pass them by name.
        seen = []

        def mark(name):
            return functools.partial(seen.append, name)

        now = self.loop.time()
        self.loop.call_soon(callback=mark("soon"), context=None)
        self.loop.call_soon_threadsafe(callback=mark("threadsafe"))
        self.loop.call_later(delay=0.01, callback=mark("later"))
        self.loop.call_later(0.01, callback=mark("later, delay by position"))
        at = self.loop.call_at(when=now + 0.05, callback=mark("at"))
        self.loop.call_at_clock(clock=tfd.CLOCK_MONOTONIC, when=now + 0.1, callback=mark("clock"))
        self.assertEqual(at.when(), now + 0.05)
        self.loop.call_at(now + 0.15, self.loop.stop)
        self.run_soon_and_stop()
        self.assertEqual(seen, ["soon", "threadsafe", "later", "later, delay by position", "at",
                                "clock"])

    def test_keyboard_interrupt_propagates(self):
        def interrupt():
            raise KeyboardInterrupt

        seen = []
        self.loop.call_soon(interrupt)
        self.loop.call_soon(seen.append, 1)
        with self.assertRaises(KeyboardInterrupt):
            self.loop.run_forever()
        # What was not run yet stays queued, as in the stock loop.
        self.loop.call_soon(self.loop.stop)
        self.run_soon_and_stop()
        self.assertEqual(seen, [1])

    def test_debug_mode_source_traceback_and_slow_callback(self):
        self.loop.set_debug(True)
        self.loop.slow_callback_duration = 0.001
        h = self.loop.call_soon(time.sleep, 0.01)
        self.assertIsNotNone(h._source_traceback)
        self.assertEqual(h._source_traceback[-1].name, "test_debug_mode_source_traceback_and_slow_callback")
        t = self.loop.call_later(0.001, lambda: None)
        self.assertEqual(t._source_traceback[-1].name, "test_debug_mode_source_traceback_and_slow_callback")
        self.loop.call_later(0.01, self.loop.stop)
        with self.assertLogs("asyncio", level="WARNING") as logs:
            self.run_soon_and_stop()
        self.assertTrue(any("took" in line for line in logs.output), logs.output)


class ThreadTest(LoopTestCase):
    def test_call_soon_threadsafe_wakes_a_blocked_loop(self):
        seen = []

        def other():
            time.sleep(0.05)
            self.loop.call_soon_threadsafe(seen.append, threading.get_ident())
            self.loop.call_soon_threadsafe(self.loop.stop)

        thread = threading.Thread(target=other)
        thread.start()
        self.run_soon_and_stop()
        thread.join()
        self.assertEqual(seen, [thread.ident])

    def test_run_in_executor(self):
        async def main():
            return await asyncio.get_running_loop().run_in_executor(None, sum, [1, 2, 3])

        self.assertEqual(self.loop.run_until_complete(main()), 6)


class OtherSelectorTest(unittest.TestCase):
    def test_select_selector_works_too(self):
        loop = tfd.aio.EventLoop(selectors.SelectSelector())
        self.addCleanup(loop.close)
        start = loop.time()
        fired = []
        loop.call_later(0.01, lambda: (fired.append(loop.time()), loop.stop()))
        loop.run_forever()
        self.assertFalse(loop._tfd_stats()["native_wait"])
        self.assertGreaterEqual(fired[0], start + 0.01)


class ClockTest(LoopTestCase):
    def test_wall_clock_timer(self):
        when = self.loop.clock_time(tfd.CLOCK_REALTIME) + 0.01
        fired = []
        self.loop.call_at_clock(tfd.CLOCK_REALTIME, when,
                                lambda: (fired.append(time.time()), self.loop.stop()))
        self.run_soon_and_stop()
        self.assertGreaterEqual(fired[0], when - 1e-6)  # time.time() is coarser

    def test_boottime_timer(self):
        when = self.loop.clock_time(tfd.CLOCK_BOOTTIME) + 0.01
        fired = []
        self.loop.call_at_clock(tfd.CLOCK_BOOTTIME, when,
                                lambda: (fired.append(self.loop.clock_time(tfd.CLOCK_BOOTTIME)),
                                         self.loop.stop()))
        self.run_soon_and_stop()
        self.assertGreaterEqual(fired[0], when)

    def test_wall_clock_change_wakes_the_loop(self):
        # Setting CLOCK_REALTIME (to its own reading: still a discontinuous change for the
        # kernel) cancels the loop's TFD_TIMER_CANCEL_ON_SET timer_fd, which wakes the loop;
        # it re-arms and its wall-clock timers keep their deadlines.  Needs CAP_SYS_TIME.
        def set_realtime_to_itself():
            time.clock_settime_ns(time.CLOCK_REALTIME, time.clock_gettime_ns(time.CLOCK_REALTIME))

        try:
            set_realtime_to_itself()
        except PermissionError as error:
            self.skipTest(f"cannot set CLOCK_REALTIME here: {error}")
        now = self.loop.clock_time(tfd.CLOCK_REALTIME)
        far = self.loop.call_at_clock(tfd.CLOCK_REALTIME, now + 3600, self.fail, "fired early")
        fired = []
        self.loop.call_at_clock(tfd.CLOCK_REALTIME, now + 0.3,
                                lambda: fired.append(self.loop.clock_time(tfd.CLOCK_REALTIME)))
        changes_before = []
        self.loop.call_soon(lambda: changes_before.append(self.loop._tfd_stats()["clock_changes"]))
        setter = threading.Timer(0.1, set_realtime_to_itself)
        setter.start()
        self.addCleanup(setter.cancel)
        self.loop.call_later(0.6, self.loop.stop)
        self.run_soon_and_stop()
        self.assertGreater(self.loop._tfd_stats()["clock_changes"], changes_before[0])
        self.assertEqual(len(fired), 1)
        self.assertGreaterEqual(fired[0], now + 0.3)
        self.assertTrue(far._scheduled)
        far.cancel()

    def test_clock_types(self):
        for bad in ("realtime", None, True, 1.0):
            with self.subTest(clock=bad):
                with self.assertRaisesRegex(TypeError, r"clock=.* must be a clock id"):
                    self.loop.call_at_clock(bad, 1.0, lambda: None)
                with self.assertRaisesRegex(TypeError, r"clock_time\(\): clock=.* must be a "
                                                       r"clock id"):
                    self.loop.clock_time(bad)
        with self.assertRaisesRegex(ValueError, r"clock=1267650600228229401496703205376 is not"):
            self.loop.clock_time(2**100)

    def test_bad_clock(self):
        with self.assertRaisesRegex(ValueError, r"clock=12345 is not CLOCK_MONOTONIC"):
            self.loop.call_at_clock(12345, 1.0, lambda: None)
        with self.assertRaisesRegex(ValueError, r"clock=12345"):
            self.loop.clock_time(12345)


class CoalescingTest(unittest.TestCase):
    def test_coalesced_timers_never_early_and_batched(self):
        loop = tfd.aio.new_event_loop(timer_coalescing=0.005)
        self.addCleanup(loop.close)
        fired = []
        start = loop.time() + 0.01
        for i in range(50):
            when = start + i * 0.0001
            loop.call_at(when, lambda w=when: fired.append((w, loop.time(), loop._tfd_stats()["passes"])))
        loop.call_at(start + 0.05, loop.stop)
        loop.run_forever()
        self.assertEqual(len(fired), 50)
        for when, now, _ in fired:
            self.assertGreaterEqual(now, when)
        self.assertLess(len({p for _, _, p in fired}), 10)  # a few passes ran all 50

    def test_bad_coalescing(self):
        for bad in (-1, float("nan"), 1e9):
            with self.assertRaisesRegex(ValueError, "timer_coalescing="):
                tfd.aio.new_event_loop(timer_coalescing=bad)



def voluntary_switches():
    return resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw


def timer_fds():
    """The descriptor numbers of the timer_fds this process has open."""
    found = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}") == "anon_inode:[timerfd]":
                found.add(int(name))
        except OSError:
            continue
    return found


def timer_fd_time_left_ns(fd):
    """The time left (ns) on timer_fd `fd`, from /proc's fdinfo."""
    with open(f"/proc/self/fdinfo/{fd}") as info:
        for line in info:
            if line.startswith("it_value:"):
                seconds, nanoseconds = line.split("(")[1].rstrip(")\n").split(",")
                return int(seconds) * 1_000_000_000 + int(nanoseconds)
    raise AssertionError("no it_value in the timer_fd's fdinfo")


def run_one_timer(test, delay, clock=tfd.CLOCK_MONOTONIC, **options):
    """Runs a loop made with `options` until one timer `delay` seconds ahead on `clock` has
    fired, checks that it ran once and not early, and returns (voluntary context switches
    meanwhile, spun waits)."""
    loop = tfd.aio.new_event_loop(**options)
    test.addCleanup(loop.close)
    ran = []
    when = loop.clock_time(clock) + delay
    loop.call_at_clock(clock, when, lambda: (ran.append(loop.clock_time(clock)), loop.stop()))
    before = voluntary_switches()
    loop.run_forever()
    switches = voluntary_switches() - before
    test.assertEqual(len(ran), 1)
    test.assertGreaterEqual(ran[0], when)
    return switches, loop._tfd_stats()["spins"]


class SpinBelowTest(unittest.TestCase):
    """A deadline closer than spin_below is busy-waited for: the thread never blocks (no
    voluntary context switch) and the timer is not early; farther ones are slept for."""

    def run_timer(self, delay, **options):
        return run_one_timer(self, delay, **options)

    def test_short_wait_spins(self):
        # A deadline already passed when the loop first looks (a slow build: ASan, valgrind)
        # needs no spin at all, so a few tries are allowed; the one that spun never slept.
        for _ in range(10):
            switches, spins = self.run_timer(0.0009, spin_below=0.001)
            if spins:
                break
        self.assertGreaterEqual(spins, 1)
        self.assertEqual(switches, 0)

    def test_another_selector_spins_too(self):
        # The loop waits through PollSelector.select() then, whose timeout is whole
        # milliseconds: the spin is what keeps a 0.9 ms deadline from costing a 1 ms sleep.
        for _ in range(10):
            loop = tfd.aio.EventLoop(selectors.PollSelector(), spin_below=0.001)
            self.addCleanup(loop.close)
            ran = []
            when = loop.time() + 0.0009
            loop.call_at(when, lambda: (ran.append(loop.time()), loop.stop()))
            before = voluntary_switches()
            loop.run_forever()
            switches = voluntary_switches() - before
            self.assertEqual(len(ran), 1)
            self.assertGreaterEqual(ran[0], when)
            spins = loop._tfd_stats()["spins"]
            if spins:
                break
        self.assertGreaterEqual(spins, 1)
        self.assertEqual(switches, 0)

    def test_zero_and_coalescing_never_spin(self):
        # 20 ms: long enough that even a slow build reaches the wait before the deadline.
        for options in ({"spin_below": 0}, {"timer_coalescing": 1e-6, "spin_below": 0.001}):
            switches, spins = self.run_timer(0.02, **options)
            self.assertGreaterEqual(switches, 1, options)
            self.assertEqual(spins, 0, options)

    def test_set_and_get(self):
        loop = tfd.aio.new_event_loop(spin_below=0)
        self.addCleanup(loop.close)
        self.assertEqual(loop.get_spin_below(), 0.0)
        loop.set_spin_below(1e-5)
        self.assertEqual(loop.get_spin_below(), 1e-5)

    def test_bad_spin_below(self):
        for bad in (-1e-6, float("nan"), 0.5):
            with self.assertRaisesRegex(ValueError, r"spin_below=.* from 0 to 0\.001"):
                tfd.aio.new_event_loop(spin_below=bad)
        with self.assertRaises(TypeError):
            tfd.aio.new_event_loop(spin_below="fast")


class SpinMarginTest(unittest.TestCase):
    """spin_margin arms the timer_fd that much before the earliest deadline and busy-waits the
    rest: the loop still sleeps for a long wait, then spins to the deadline; never early."""

    def run_timer(self, delay, **options):
        return run_one_timer(self, delay, **options)

    def test_sleeps_then_spins_the_margin(self):
        # 20 ms is far beyond spin_below: without the margin the loop sleeps to the deadline
        # and the kernel wakes it after it, with nothing left to spin for.  A wake-up more
        # than the margin late (a loaded machine) finds the deadline passed and does not
        # spin either, so a few tries are allowed.
        spun = 0
        for _ in range(10):
            switches, spins = self.run_timer(0.02, spin_margin=0.001)
            self.assertGreaterEqual(switches, 1)
            spun += spins
            if spun:
                break
        self.assertGreaterEqual(spun, 1)

    def test_arms_the_margin_early(self):
        # What the loop's timer_fd is set to, read back from the kernel (its fdinfo gives
        # the time left): the deadline minus the margin, to the nanosecond, however loaded
        # the machine is.
        for margin in (0.0, 0.001):
            with self.subTest(margin=margin):
                others = timer_fds()
                loop = tfd.aio.new_event_loop(spin_margin=margin)
                self.addCleanup(loop.close)
                (fd,) = timer_fds() - others  # the loop's monotonic timer_fd
                when = loop.time() + 0.5
                loop.call_at(when, lambda: None)
                seen = []

                def look():  # woken from outside while the loop sleeps for `when`
                    before = time.monotonic_ns()
                    left = timer_fd_time_left_ns(fd)
                    seen.append((before, left, time.monotonic_ns()))
                    loop.stop()

                waker = threading.Timer(0.02, loop.call_soon_threadsafe, (look,))
                waker.start()
                loop.run_forever()
                waker.join()
                before, left, after = seen[0]
                # `when` in ns rounded up, exactly, as the loop converts it.
                expected = math.ceil(Fraction(when) * 10**9) - round(margin * 1e9)
                self.assertLessEqual(before + left, expected)
                self.assertGreaterEqual(after + left, expected)

    def test_zero_margin_sleeps_to_the_deadline(self):
        switches, spins = self.run_timer(0.02, spin_margin=0)
        self.assertGreaterEqual(switches, 1)
        self.assertEqual(spins, 0)

    def test_wall_clock_timers_do_not_spin(self):
        # Their timer_fd is armed cancel-on-set and must stay armed: no early wake-up.
        switches, spins = self.run_timer(0.02, clock=tfd.CLOCK_REALTIME, spin_margin=0.001)
        self.assertGreaterEqual(switches, 1)
        self.assertEqual(spins, 0)

    def test_set_and_get(self):
        loop = tfd.aio.new_event_loop()
        self.addCleanup(loop.close)
        self.assertEqual(loop.get_spin_margin(), 0.0)
        loop.set_spin_margin(2e-5)
        self.assertEqual(loop.get_spin_margin(), 2e-5)

    def test_not_with_coalescing(self):
        both = r"timer_coalescing=0\.001 and spin_margin=1e-05 cannot both be set"
        with self.assertRaisesRegex(ValueError, both):
            tfd.aio.new_event_loop(timer_coalescing=0.001, spin_margin=1e-5)
        loop = tfd.aio.new_event_loop(spin_margin=1e-5)
        self.addCleanup(loop.close)
        with self.assertRaisesRegex(ValueError, both):
            loop.set_timer_coalescing(0.001)
        self.assertEqual(loop.get_timer_coalescing(), 0.0)
        loop.set_spin_margin(0)
        loop.set_timer_coalescing(0.001)
        with self.assertRaisesRegex(ValueError, both):
            loop.set_spin_margin(1e-5)
        self.assertEqual(loop.get_spin_margin(), 0.0)

    def test_not_with_another_selector(self):
        # select() of any other selector rounds its timeout to milliseconds, far past the
        # margin: refused rather than silently doing nothing.
        needs = r"spin_margin=1e-05 needs the loop's own epoll wait .* PollSelector"
        with self.assertRaisesRegex(ValueError, needs):
            tfd.aio.EventLoop(selectors.PollSelector(), spin_margin=1e-5)
        loop = tfd.aio.EventLoop(selectors.PollSelector())
        self.addCleanup(loop.close)
        with self.assertRaisesRegex(ValueError, needs):
            loop.set_spin_margin(1e-5)
        self.assertEqual(loop.get_spin_margin(), 0.0)
        loop.set_spin_margin(0)  # 0 asks for nothing
        epoll = tfd.aio.EventLoop(selectors.EpollSelector(), spin_margin=1e-5)
        self.addCleanup(epoll.close)
        self.assertEqual(epoll.get_spin_margin(), 1e-5)

    def test_not_when_a_subclass_makes_the_loop_call_select(self):
        # The same with the default selector, when an override makes the loop wait through
        # select(): the message says which.
        class OwnEvents(tfd.aio.EventLoop):
            def _process_events(self, event_list):
                super()._process_events(event_list)

        class OwnSelect(selectors.EpollSelector):
            def select(self, timeout=None):
                return super().select(timeout)

        with self.assertRaisesRegex(ValueError, r"needs the loop's own epoll wait .*; OwnEvents "
                                                r"overrides _process_events\(\)"):
            OwnEvents(spin_margin=1e-5)
        loop = OwnEvents()
        self.addCleanup(loop.close)
        with self.assertRaisesRegex(ValueError, "OwnEvents overrides _process_events"):
            loop.set_spin_margin(1e-5)
        with self.assertRaisesRegex(ValueError, r"OwnSelect overrides select\(\)"):
            tfd.aio.EventLoop(OwnSelect(), spin_margin=1e-5)

    def test_bad_spin_margin(self):
        for bad in (-1e-6, float("nan"), 0.5):
            with self.assertRaisesRegex(ValueError, r"spin_margin=.* from 0 to 0\.001"):
                tfd.aio.new_event_loop(spin_margin=bad)
        with self.assertRaises(TypeError):
            tfd.aio.new_event_loop(spin_margin="fast")


def thread_timer_slack_ns():
    """The calling thread's timer slack (prctl PR_GET_TIMERSLACK), in ns."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.restype = ctypes.c_long
    return libc.prctl(30, 0, 0, 0, 0)  # PR_GET_TIMERSLACK


def chain_of_timers(test, gap, count, **options):
    """Runs `count` timers one after another, each `gap` seconds after the previous one ran,
    on a loop made with `options`; checks that none ran early and returns the loop's
    counters."""
    loop = tfd.aio.new_event_loop(**options)
    test.addCleanup(loop.close)
    early = []
    ran = [0]

    def tick(when):
        if loop.time() < when:
            early.append(when - loop.time())
        ran[0] += 1
        if ran[0] < count:
            nxt = loop.time() + gap
            loop.call_at(nxt, tick, nxt)
        else:
            loop.stop()

    first = loop.time() + gap
    loop.call_at(first, tick, first)
    loop.run_forever()
    test.assertEqual(ran[0], count)
    test.assertEqual(early, [])
    return loop._tfd_stats()


class TimerSlackTest(unittest.TestCase):
    """timer_slack is set on the thread that runs the loop; from 1 to 100 ns it also makes
    deadlines at most 100 us ahead timed waits (the epoll wait's own timeout, no settime).
    Never early either way."""

    def skip_if_never_ahead(self, stats):
        # A build slow enough (ASan) that every 90 us deadline had passed, or was within
        # spin_below, by the time the loop looked had nothing to arm or time.
        if stats["settime_calls"] == 0 and stats["timed_waits"] == 0:
            self.skipTest("this build never reached the loop's wait 90 us before a deadline")

    def test_timed_waits_need_no_settime(self):
        stats = chain_of_timers(self, 90e-6, 100, timer_slack=1e-9)
        self.assertEqual(stats["settime_calls"], 0)  # however slow the build
        self.skip_if_never_ahead(stats)
        self.assertGreaterEqual(stats["timed_waits"], 1)

    def test_the_default_arms_the_timer_fd(self):
        stats = chain_of_timers(self, 90e-6, 40)
        self.assertEqual(stats["timed_waits"], 0)
        self.skip_if_never_ahead(stats)
        self.assertGreaterEqual(stats["settime_calls"], 1)

    def test_a_larger_slack_or_a_far_deadline_arms_the_timer_fd(self):
        stats = chain_of_timers(self, 90e-6, 40, timer_slack=50e-6)
        self.assertEqual(stats["timed_waits"], 0)
        stats = chain_of_timers(self, 0.002, 5, timer_slack=1e-9)
        self.assertEqual(stats["timed_waits"], 0)
        self.assertGreaterEqual(stats["settime_calls"], 5)

    def test_another_selector_keeps_the_timer_fd(self):
        loop = tfd.aio.EventLoop(selectors.PollSelector(), timer_slack=1e-9)
        self.addCleanup(loop.close)
        ran = []
        loop.call_later(50e-6, lambda: (ran.append(1), loop.stop()))
        loop.run_forever()
        self.assertEqual(ran, [1])
        self.assertEqual(loop._tfd_stats()["timed_waits"], 0)

    def test_set_on_the_thread_that_runs_the_loop(self):
        if os.sched_getscheduler(0) != os.SCHED_OTHER:
            self.skipTest("a realtime thread has no timer slack to set")
        seen = {}

        def runner():
            seen["before"] = thread_timer_slack_ns()
            loop = tfd.aio.new_event_loop(timer_slack=2e-9)
            seen["built"] = thread_timer_slack_ns()  # set by running, not by construction
            loop.call_soon(lambda: (seen.update(inside=thread_timer_slack_ns()), loop.stop()))
            loop.run_forever()
            loop.close()
            plain = tfd.aio.new_event_loop()
            thread_slack = thread_timer_slack_ns()
            plain.run_until_complete(asyncio.sleep(0))
            seen["plain"] = (thread_slack, thread_timer_slack_ns())
            plain.close()

        worker = threading.Thread(target=runner)
        worker.start()
        worker.join()
        self.assertEqual(seen["built"], seen["before"])
        self.assertEqual(seen["inside"], 2)
        before, after = seen["plain"]
        self.assertEqual(after, before)  # the default leaves it alone

    def test_set_and_get(self):
        loop = tfd.aio.new_event_loop()
        self.addCleanup(loop.close)
        self.assertEqual(loop.get_timer_slack(), 0.0)
        loop.set_timer_slack(1e-9)
        self.assertEqual(loop.get_timer_slack(), 1e-9)

    def test_bad_timer_slack(self):
        for bad in (-1e-9, float("nan"), 2.0):
            with self.assertRaisesRegex(ValueError, r"timer_slack=.* from 0 to 1"):
                tfd.aio.new_event_loop(timer_slack=bad)
        for bad in ("fine", True, None):
            with self.assertRaisesRegex(TypeError, "timer_slack"):
                tfd.aio.new_event_loop(timer_slack=bad)


if __name__ == "__main__":
    unittest.main()

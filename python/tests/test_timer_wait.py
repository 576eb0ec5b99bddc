"""Timer.wait() and `async for count in timer` on asyncio's stock event loop: any number of
waiters, cancellation, stop/close/detach/disarm outcomes, and what a wake-up costs."""

import asyncio
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest

import support
import tfd
from tfd import _asyncio_waiters

TICK = 0.02


def run(coroutine, timeout=20):
    """Runs `coroutine` on a fresh loop; a hang fails the test instead of stalling the suite."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


def registered(loop, timer):
    try:
        key = loop._selector.get_key(timer.fileno())
    except KeyError:
        return False
    return key.data[0] is not None  # (reader handle, writer handle)


class ConcurrentWaitersTest(unittest.TestCase):
    def test_gather_of_many_waiters_all_get_the_count(self):
        async def main():
            with tfd.Timer() as timer:
                timer.start(3 * TICK, interval=3 * TICK)
                counts = await asyncio.gather(*(timer.wait() for _ in range(5)))
                self.assertEqual(len(counts), 5)
                self.assertEqual(len(set(counts)), 1)  # one expiry, one count for all
                self.assertGreaterEqual(counts[0], 1)
                # And again: the shared reader still works for a second round.
                more = await asyncio.gather(timer.wait(), timer.wait())
                self.assertEqual(more[0], more[1])

        run(main())

    def test_patient_waiter_beside_one_that_timed_out(self):
        async def main():
            with tfd.Timer() as timer:
                # The first tick comes long after the short wait timed out, even when this
                # process is descheduled for a while.
                timer.start(0.5, interval=0.5)
                patient = asyncio.ensure_future(timer.wait())
                with self.assertRaises(asyncio.TimeoutError):
                    await asyncio.wait_for(timer.wait(), TICK / 4)
                started = time.monotonic()
                self.assertGreaterEqual(await asyncio.wait_for(patient, 5), 1)
                self.assertLess(time.monotonic() - started, 2)  # woken by the first tick

        run(main())

    def test_waiters_in_separate_tasks_keep_ticking(self):
        async def ticker(timer, ticks):
            counts = []
            for _ in range(ticks):
                counts.append(await timer.wait())
            return counts

        async def main():
            with tfd.Timer(nonblocking=True) as timer:
                timer.start(TICK, interval=TICK)
                a, b = await asyncio.gather(ticker(timer, 5), ticker(timer, 3))
                self.assertEqual(len(a), 5)
                self.assertEqual(len(b), 3)
                self.assertTrue(all(c >= 1 for c in a + b))

        run(main())

    def test_two_timers_do_not_disturb_each_other(self):
        async def main():
            with tfd.Timer() as fast, tfd.Timer() as slow:
                fast.start(TICK, interval=TICK)
                slow.start(0.6)
                slow_waiter = asyncio.ensure_future(slow.wait())
                for _ in range(3):
                    await fast.wait()
                self.assertFalse(slow_waiter.done())
                self.assertEqual(await slow_waiter, 1)

        run(main())


class CancellationTest(unittest.TestCase):
    def test_cancelled_waiter_leaves_the_expiry_for_the_next(self):
        async def main():
            with tfd.Timer() as timer:
                timer.start(0.3)
                waiter = asyncio.ensure_future(timer.wait())
                await asyncio.sleep(0)
                waiter.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await waiter
                time.sleep(0.35)  # the expiry happens with nobody waiting
                self.assertEqual(await timer.wait(), 1)

        run(main())

    def test_cancel_after_the_count_was_read_gives_it_back(self):
        async def main():
            with tfd.Timer(nonblocking=True) as timer:
                timer.start(TICK)
                waiter = asyncio.ensure_future(timer.wait())
                await asyncio.sleep(0)  # the waiter is registered
                time.sleep(3 * TICK)  # the expiry is ready before the loop looks again
                loop = asyncio.get_running_loop()
                # Let the loop run exactly its reader callback, then cancel the task before
                # it resumes with the count it was handed.
                read = asyncio.Event()
                loop.call_soon(read.set)
                await read.wait()
                self.assertTrue(waiter._fut_waiter is None or waiter._fut_waiter.done())
                waiter.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await waiter
                self.assertEqual(timer.read(), 1)  # the count came back, not lost
                self.assertEqual(timer.read(), 0)

        run(main())

    def test_cancelled_waiter_does_not_wake_the_others_early_or_remove_the_reader(self):
        async def main():
            with tfd.Timer() as timer:
                timer.start(0.5, interval=0.5)
                waiters = [asyncio.ensure_future(timer.wait()) for _ in range(3)]
                await asyncio.sleep(0)
                waiters[1].cancel()
                await asyncio.sleep(0)
                self.assertTrue(registered(asyncio.get_running_loop(), timer))
                results = await asyncio.gather(*waiters, return_exceptions=True)
                self.assertIsInstance(results[1], asyncio.CancelledError)
                self.assertEqual(results[0], results[2])

        run(main())

    def test_many_timed_out_waits_do_not_accumulate(self):
        async def main():
            with tfd.Timer() as timer:
                timer.start(100)
                for _ in range(200):
                    with self.assertRaises(asyncio.TimeoutError):
                        await asyncio.wait_for(timer.wait(), 0.0005)
                self.assertLessEqual(len(timer._aio.waiters), 1)

        run(main())


class OutcomeTest(unittest.TestCase):
    """What a waiter sees when the timer is stopped, closed, detached or disarmed."""

    def test_wait_on_a_disarmed_timer_raises_at_once(self):
        async def main():
            with tfd.Timer() as timer:
                with self.assertRaisesRegex(tfd.TimerDisarmed, "disarmed and nothing is pending"):
                    await timer.wait()  # never started
                timer.start(TICK)
                self.assertEqual(await timer.wait(), 1)
                with self.assertRaises(tfd.TimerDisarmed):
                    await timer.wait()  # a one-shot that fired and was read
                timer.start(100)
                timer.stop()
                with self.assertRaises(tfd.TimerDisarmed):
                    await timer.wait()  # stopped

        run(main(), timeout=5)

    def test_fired_but_unread_one_shot_is_returned(self):
        async def main():
            with tfd.Timer() as timer:
                timer.start(TICK)
                time.sleep(3 * TICK)  # fired (the kernel disarmed it), not read yet
                self.assertEqual(await timer.wait(), 1)

        run(main(), timeout=5)

    def test_timer_armed_through_its_descriptor_is_waitable(self):
        async def main():
            with tfd.Timer() as timer:
                tfd.timerfd_settime(timer, initial=TICK)
                self.assertEqual(await timer.wait(), 1)

        run(main(), timeout=5)

    def check_woken(self, end, exception, pattern):
        async def main():
            with tfd.Timer() as timer:
                timer.start(100, interval=100)
                waiters = [asyncio.ensure_future(timer.wait()) for _ in range(3)]
                await asyncio.sleep(0)
                loop, fd = asyncio.get_running_loop(), timer.fileno()
                self.assertIn(fd, loop._selector.get_map())
                end(timer)
                self.assertNotIn(fd, loop._selector.get_map())  # the reader went first
                for waiter in waiters:
                    with self.assertRaisesRegex(exception, pattern):
                        await waiter

        run(main(), timeout=5)

    def test_stop_wakes_every_waiter(self):
        self.check_woken(lambda t: t.stop(), tfd.TimerDisarmed, "stopped while waiting")

    def test_close_wakes_every_waiter(self):
        self.check_woken(lambda t: t.close(), ValueError, "closed while waiting")

    def test_detach_wakes_every_waiter(self):
        fds = []
        self.check_woken(lambda t: fds.append(t.detach()), ValueError, "detached while waiting")
        os.close(fds[0])

    def test_close_removes_the_reader_before_the_descriptor(self):
        async def main():
            loop = asyncio.get_running_loop()
            timer = tfd.Timer()
            timer.start(TICK, interval=TICK)
            await timer.wait()  # the reader stays registered after the wake-up
            fd = timer.fileno()
            self.assertTrue(registered(loop, timer))
            timer.close()
            self.assertNotIn(fd, loop._selector.get_map())
            # The descriptor number is free for others, and the loop can watch it again.
            r, w = os.pipe()
            try:
                loop.add_reader(r, lambda: None)
                loop.remove_reader(r)
            finally:
                os.close(r)
                os.close(w)

        run(main(), timeout=5)

    def test_wait_on_closed_timer(self):
        timer = tfd.Timer()
        timer.close()
        with self.assertRaisesRegex(ValueError, "closed timer"):
            run(timer.wait(), timeout=5)

    def test_restart_while_waiting_keeps_waiting_for_the_new_schedule(self):
        async def main():
            with tfd.Timer() as timer:
                timer.start(100)
                waiter = asyncio.ensure_future(timer.wait())
                await asyncio.sleep(TICK)
                timer.start(TICK)
                self.assertEqual(await waiter, 1)

        run(main(), timeout=5)

    def test_read_beside_a_waiter_never_blocks_the_loop(self):
        async def main():
            with tfd.Timer() as timer:  # blocking descriptor
                timer.start(TICK, interval=3.0)
                waiter = asyncio.ensure_future(timer.wait())
                await asyncio.sleep(0)
                time.sleep(2 * TICK)  # readable now
                # Another callback consumes the expiry before the reader runs.
                asyncio.get_running_loop().call_soon(timer.read)
                started = time.monotonic()
                await asyncio.sleep(TICK)
                self.assertLess(time.monotonic() - started, 2.5)  # not blocked until 3 s
                self.assertFalse(waiter.done())
                timer.start(TICK)
                self.assertEqual(await waiter, 1)  # then the next expiry

        run(main(), timeout=5)

    def test_under_no_loop_points_at_trio_wait(self):
        with tfd.Timer() as timer:
            coroutine = timer.wait()
            with self.assertRaisesRegex(RuntimeError, r"asyncio event loop.*tfd\.trio_wait"):
                coroutine.send(None)

    def test_other_loop_is_refused_while_waiters_exist(self):
        async def main():
            with tfd.Timer() as timer:
                timer.start(100, interval=100)
                waiter = asyncio.ensure_future(timer.wait())
                await asyncio.sleep(0)
                errors = []

                def other_thread():
                    try:
                        asyncio.run(asyncio.wait_for(timer.wait(), 5))
                    except Exception as error:
                        errors.append(error)

                thread = threading.Thread(target=other_thread)
                thread.start()
                thread.join()
                self.assertEqual(len(errors), 1)
                self.assertIsInstance(errors[0], RuntimeError)
                self.assertIn("another event loop", str(errors[0]))
                self.assertFalse(waiter.done())
                waiter.cancel()

        run(main(), timeout=5)

    def test_timer_moves_to_a_new_loop(self):
        with tfd.Timer() as timer:
            timer.start(TICK, interval=TICK)
            for _ in range(3):  # asyncio.run closes its loop each time
                self.assertGreaterEqual(run(timer.wait(), timeout=5), 1)
            # Two open loops taking turns (the reader lingers in the first between waits).
            first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
            try:
                for loop in (first, second, first):
                    self.assertGreaterEqual(
                        loop.run_until_complete(asyncio.wait_for(timer.wait(), 5)), 1
                    )
            finally:
                first.close()
                second.close()

    def test_clock_changed_reaches_every_waiter(self):
        if not hasattr(tfd._tfd, "_inject_fault"):
            self.skipTest("this build of _tfd has no fault injection (a production build)")

        async def main():
            with tfd.Timer(nonblocking=True) as timer:
                timer.start(TICK, interval=TICK)
                waiters = [asyncio.ensure_future(timer.wait()) for _ in range(2)]
                await asyncio.sleep(0)
                tfd._tfd._inject_fault("read", __import__("errno").ECANCELED)
                try:
                    for waiter in waiters:
                        with self.assertRaises(tfd.ClockChanged):
                            await waiter
                finally:
                    tfd._tfd._inject_fault("read", 0, 0)
                self.assertGreaterEqual(await timer.wait(), 1)  # then waits go on

        run(main(), timeout=5)


class AsyncIterationTest(unittest.TestCase):
    def test_periodic(self):
        async def main():
            with tfd.Timer() as timer:
                timer.start(TICK, interval=TICK)
                counts = []
                async for count in timer:
                    counts.append(count)
                    if len(counts) == 3:
                        break
                self.assertTrue(all(c >= 1 for c in counts))

        run(main())

    def test_one_shot_yields_once(self):
        async def main():
            with tfd.Timer() as timer:
                timer.start(TICK)
                self.assertEqual([c async for c in timer], [1])
                self.assertEqual([c async for c in timer], [])

        run(main())

    def test_ends_when_closed_or_stopped(self):
        async def consume(timer):
            return [c async for c in timer]

        async def main():
            for end in (tfd.Timer.close, tfd.Timer.stop):
                with tfd.Timer() as timer:
                    timer.start(TICK, interval=TICK)
                    consumer = asyncio.ensure_future(consume(timer))
                    await asyncio.sleep(5 * TICK)
                    end(timer)
                    counts = await consumer
                    self.assertGreaterEqual(len(counts), 1)

        run(main())

    def test_closed_timer_refuses_iteration(self):
        timer = tfd.Timer()
        timer.close()
        with self.assertRaisesRegex(ValueError, "closed timer"):
            timer.__aiter__()


class CountingSelector(selectors.DefaultSelector):
    """The stock selector, counting its waits and its registrations."""

    def __init__(self):
        super().__init__()
        self.selects = self.changes = 0

    def select(self, timeout=None):
        self.selects += 1
        return super().select(timeout)

    def register(self, *args, **kwargs):
        self.changes += 1
        return super().register(*args, **kwargs)

    def modify(self, *args, **kwargs):
        self.changes += 1
        return super().modify(*args, **kwargs)

    def unregister(self, *args, **kwargs):
        self.changes += 1
        return super().unregister(*args, **kwargs)


class WakeUpCostTest(unittest.TestCase):
    """A wake-up costs the loop's wait and one read (counted here through the selector and
    the reader; counted as system calls under strace in SystemCallTest)."""

    def test_periodic_waits_cost_no_registration_and_one_read(self):
        selector = CountingSelector()
        loop = asyncio.SelectorEventLoop(selector)
        reads = []
        original = _asyncio_waiters._read

        def counting_read(timer):
            reads.append(1)
            return original(timer)

        async def main():
            with tfd.Timer(nonblocking=True) as timer:
                timer.start(TICK, interval=TICK)
                await timer.wait()  # registers
                changes, selects, before = selector.changes, selector.selects, len(reads)
                for _ in range(10):
                    await timer.wait()
                return selector.changes - changes, selector.selects - selects, len(reads) - before

        _asyncio_waiters._read = counting_read
        try:
            changes, selects, count = loop.run_until_complete(asyncio.wait_for(main(), 10))
        finally:
            _asyncio_waiters._read = original
            loop.close()
        self.assertEqual(changes, 0)
        self.assertEqual(count, 10)
        # asyncio runs its selector twice per task wake-up, whatever woke the task (a second,
        # zero-timeout pass runs the woken task); asyncio.sleep costs the same.
        self.assertLessEqual(selects, 2 * 10 + 2)


STRACE_PROGRAM = textwrap.dedent(
    """
    import asyncio, os, sys, time
    import tfd
    import tfd.aio

    KIND, TIMERS, TICKS, PERIOD = sys.argv[1], int(sys.argv[2]), 20, 0.02
    LOOP = sys.argv[3]
    ended = []

    def end():
        # The window ends with the first task done: a timer whose task is done is removed
        # from the loop at its next expiry, which is not a wake-up.
        if not ended:
            ended.append(True)
            os.write(1, b"@@END@@")

    async def timers():
        first = time.clock_gettime(time.CLOCK_MONOTONIC) + 2 * PERIOD
        timers = [tfd.Timer(nonblocking=True) for _ in range(TIMERS)]
        for timer in timers:
            timer.start(first, interval=PERIOD, absolute=True)

        async def one(timer):
            await timer.wait()
            await timer.wait()
            if timer is timers[0]:
                os.write(1, b"@@BEGIN@@")
            for _ in range(TICKS):
                await timer.wait()
            end()

        await asyncio.gather(*(one(t) for t in timers))

    async def sleeps():
        loop = asyncio.get_running_loop()
        first = loop.time() + 2 * PERIOD

        async def one(index):
            for tick in range(TICKS + 2):
                if tick == 2 and index == 0:
                    os.write(1, b"@@BEGIN@@")
                await asyncio.sleep(first + tick * PERIOD - loop.time())
            end()

        await asyncio.gather(*(one(i) for i in range(TIMERS)))

    run = tfd.aio.run if LOOP == "tfd.aio" else asyncio.run
    run(timers() if KIND == "timer" else sleeps())
    """
)


@unittest.skipIf(support.SANITIZED, "strace of a sanitized interpreter counts the runtime's calls")
class SystemCallTest(unittest.TestCase):
    """The system calls of 20 wake-ups of periodic timers, counted by strace, for Timer.wait()
    and for the same program with asyncio.sleep."""

    def calls(self, kind, timers, loop="asyncio"):
        with tempfile.TemporaryDirectory() as scratch:
            program = os.path.join(scratch, "program.py")
            trace = os.path.join(scratch, "trace")
            with open(program, "w") as out:
                out.write(STRACE_PROGRAM)
            result = subprocess.run(
                ["strace", "-f", "-qq", "-o", trace, sys.executable, program, kind, str(timers),
                 loop],
                capture_output=True, text=True, timeout=60,
            )
            if result.returncode != 0 and "ptrace" in result.stderr:
                self.skipTest(f"strace cannot trace here: {result.stderr.strip()}")
            self.assertEqual(result.returncode, 0, result.stderr)
            with open(trace) as lines:
                text = lines.read()
        begin, end = text.index('write(1, "@@BEGIN@@"'), text.index('write(1, "@@END@@"')
        window = text[text.index("\n", begin) + 1:text.rindex("\n", 0, end)]
        calls = {}
        for line in window.splitlines():
            fields = line.split(None, 1)
            if len(fields) == 2 and "(" in fields[1] and not fields[1].startswith(("+++", "---")):
                name = fields[1].split("(", 1)[0]
                calls[name] = calls.get(name, 0) + 1
        return {name: calls.get(name, 0) for name in
                ("epoll_wait", "epoll_ctl", "read", "poll", "timerfd_gettime", "getpid")}

    def setUp(self):
        if shutil.which("strace") is None:
            self.skipTest("strace is not installed (Debian: apt-get install strace)")

    def test_one_timer(self):
        timer = self.calls("timer", 1)
        sleep = self.calls("sleep", 1)
        self.assertEqual(timer["epoll_ctl"], 0, timer)
        self.assertEqual(timer["poll"] + timer["timerfd_gettime"] + timer["getpid"], 0, timer)
        self.assertEqual(timer["read"], 20, timer)  # one per wake-up
        # The loop's waits: what asyncio.sleep's wake-ups cost too.
        self.assertLessEqual(timer["epoll_wait"], sleep["epoll_wait"] + 2, (timer, sleep))
        print(f"\n  20 wake-ups of one timer: {timer}; asyncio.sleep: {sleep}", file=sys.stderr)

    def test_one_timer_on_tfd_aio(self):
        # tfd.aio runs a woken task without a second wait, so a tick is its one epoll_wait
        # and the timer's read: two system calls.
        timer = self.calls("timer", 1, "tfd.aio")
        self.assertEqual(timer["epoll_ctl"], 0, timer)
        self.assertEqual(timer["poll"] + timer["timerfd_gettime"] + timer["getpid"], 0, timer)
        self.assertEqual(timer["read"], 20, timer)
        self.assertLessEqual(timer["epoll_wait"], 20 + 3, timer)  # the stock loop: 40
        print(f"\n  20 wake-ups of one timer on tfd.aio: {timer}", file=sys.stderr)

    def test_hundred_timers(self):
        timers = 100
        timer = self.calls("timer", timers)
        wakeups = timers * 20
        self.assertEqual(timer["epoll_ctl"], 0, timer)
        self.assertEqual(timer["poll"] + timer["timerfd_gettime"] + timer["getpid"], 0, timer)
        # The window opens when the first timer's task has seen two ticks; on a loaded machine
        # another timer's second tick can be read just after that (its expiry came after the
        # wait that woke the first), so each timer may add one read to the window.
        self.assertLessEqual(timer["read"], wakeups + timers, timer)
        # Timers expiring together share the loop's waits.
        self.assertLessEqual(timer["epoll_wait"] + timer["read"], 2 * wakeups + timers, timer)


if __name__ == "__main__":
    unittest.main()

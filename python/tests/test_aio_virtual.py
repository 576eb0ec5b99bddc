"""tfd.aio on virtual time: an hour of asyncio timers in a moment, the same every run; real
I/O beside it; executors and held threads keep the clock still; advance()."""

import asyncio
import logging
import math
import sys
import threading
import time
import unittest
from fractions import Fraction

import tfd.aio
from tfd.aio.testing import VirtualTimeTestCase


def ceil_ns(when):
    return math.ceil(Fraction(when) * 10**9)


async def an_hour():
    """Sleeps, wait_for, asyncio.timeout and periodic tasks over one virtual hour; returns
    what happened when, in loop time."""
    loop = asyncio.get_running_loop()
    log = []

    async def periodic(name, period, count):
        for i in range(count):
            await asyncio.sleep(period)
            log.append((round(loop.time(), 9), name, i))

    async def slow():
        await asyncio.sleep(600)
        return "slow"

    async def timeouts():
        for limit in (1, 59.5, 300):
            try:
                await asyncio.wait_for(slow(), limit)
            except asyncio.TimeoutError:
                log.append((round(loop.time(), 9), "wait_for timed out", limit))
        log.append((round(loop.time(), 9), "wait_for", await asyncio.wait_for(slow(), 700)))
        if hasattr(asyncio, "timeout"):
            try:
                async with asyncio.timeout(42):
                    await asyncio.sleep(100)
            except TimeoutError:
                log.append((round(loop.time(), 9), "timeout", 42))

    await asyncio.gather(
        periodic("heartbeat", 1.0, 3600),
        periodic("minute", 60, 60),
        periodic("odd", 0.7, 100),
        timeouts(),
    )
    return loop.time(), log


class VirtualHourTest(unittest.TestCase):
    def test_an_hour_in_a_moment_and_identical_every_run(self):
        runs = []
        walls = []
        for _ in range(3):
            start = time.perf_counter()
            runs.append(tfd.aio.run(an_hour(), virtual_time=True))
            walls.append(time.perf_counter() - start)
        end, log = runs[0]
        self.assertEqual(runs[1], runs[0])
        self.assertEqual(runs[2], runs[0])
        self.assertGreaterEqual(end, 3600)
        self.assertEqual(sum(1 for e in log if e[1] == "heartbeat"), 3600)
        self.assertIn((1.0, "wait_for timed out", 1), log)
        self.assertIn((60.5, "wait_for timed out", 59.5), log)
        self.assertIn((360.5, "wait_for timed out", 300), log)
        # Not a speed assertion: an hour of real sleeping is what this rules out.
        self.assertLess(min(walls), 30.0)
        print(f"\n  one virtual hour ({len(log)} events): {min(walls) * 1e3:.0f} ms of wall time",
              file=sys.stderr)

    def test_callbacks_see_their_deadline(self):
        loop = tfd.aio.new_event_loop(virtual_time=True)
        self.addCleanup(loop.close)
        self.assertEqual(loop.time(), 0.0)
        seen = []
        for when in (1.1, 0.3, 2.0, 1e-9, 1234.5678):
            loop.call_at(when, lambda w=when: seen.append((w, loop.time())))
        loop.call_at(1e4, loop.stop)
        loop.run_forever()
        self.assertEqual([w for w, _ in seen], sorted(w for w, _ in seen))
        for when, now in seen:
            self.assertEqual(now, ceil_ns(when) / 1e9)
            self.assertGreaterEqual(now, when)

    def test_a_crowded_wheel_slot_fires_in_order(self):
        # 30,000 timers within 0.3 s, 20 s ahead: thousands share a wheel slot, which the
        # loop re-files in steps between passes.  All still run in order, none early.
        loop = tfd.aio.new_event_loop(virtual_time=True, virtual_start=5.0)
        self.addCleanup(loop.close)
        n = 30_000
        seen = []
        for i in range(n):
            when = 25.0 + (i * 7919 % n) * 1e-5
            loop.call_at(when, lambda w=when: seen.append((w, loop.time())))
        loop.call_at(60.0, loop.stop)
        loop.run_forever()
        self.assertEqual(len(seen), n)
        self.assertEqual([w for w, _ in seen], sorted(w for w, _ in seen))
        self.assertTrue(all(now >= when for when, now in seen))

    def test_a_start_near_the_end_of_the_clocks_range_is_refused(self):
        # A deadline past 2**63 ns never comes; a clock started near that end would turn a
        # sleep(1) into a wait for ever.  A start leaves at least 2**62 ns.
        for start in (9223372036.0, -9223372036.0, 4611686019.0):
            with self.assertRaisesRegex(OverflowError, r"virtual_start=.* too close to the end"):
                tfd.aio.new_event_loop(virtual_time=True, virtual_start=start)
        loop = tfd.aio.new_event_loop(virtual_time=True, virtual_start=4611686017.0)
        self.addCleanup(loop.close)
        loop.run_until_complete(asyncio.sleep(100 * 365 * 86400))  # a century still comes
        self.assertAlmostEqual(loop.time(), 4611686017.0 + 100 * 365 * 86400, places=5)

    def test_virtual_start(self):
        loop = tfd.aio.new_event_loop(virtual_time=True, virtual_start=1000.0)
        self.addCleanup(loop.close)
        self.assertTrue(loop.virtual_time)
        self.assertEqual(loop.time(), 1000.0)
        loop.run_until_complete(asyncio.sleep(5))
        self.assertEqual(loop.time(), 1005.0)


class AdvanceTest(unittest.TestCase):
    def test_advance_runs_what_became_due(self):
        loop = tfd.aio.new_event_loop(virtual_time=True)
        self.addCleanup(loop.close)
        seen = []
        loop.call_later(10, seen.append, "10")
        loop.call_later(20, seen.append, "20")
        loop.call_later(15, lambda: loop.call_later(1, seen.append, "16"))
        loop.advance(15)
        self.assertEqual(seen, ["10"])
        self.assertEqual(loop.time(), 15.0)
        loop.advance(5)
        self.assertEqual(seen, ["10", "16", "20"])
        self.assertEqual(loop.time(), 20.0)
        loop.advance(0)
        self.assertEqual(loop.time(), 20.0)

    def test_advance_errors(self):
        loop = tfd.aio.new_event_loop(virtual_time=True)
        self.addCleanup(loop.close)
        with self.assertRaisesRegex(ValueError, r"advance\(\): seconds=-1 must be a number >= 0"):
            loop.advance(-1)
        with self.assertRaisesRegex(ValueError, r"seconds=nan must be a number >= 0"):
            loop.advance(float("nan"))
        for bad in ("1", None, True):
            with self.assertRaisesRegex(TypeError, r"advance\(\): seconds=.* must be a number "
                                                   r"of seconds, not"):
                loop.advance(bad)
        # Past 2**63 ns the clock would stand still while deadlines saturate.
        for too_far in (float("inf"), 1e300, 9.3e9):
            with self.assertRaisesRegex(OverflowError, r"past 2\*\*63 ns"):
                loop.advance(too_far)
        self.assertEqual(loop.time(), 0.0)
        # From a negative reading too: the step itself does not fit in 64-bit nanoseconds.
        for start, step in ((-5, 1e12), (-1e9, 1e30)):
            early = tfd.aio.new_event_loop(virtual_time=True, virtual_start=start)
            self.addCleanup(early.close)
            with self.assertRaisesRegex(OverflowError, r"past 2\*\*63 ns"):
                early.advance(step)
            self.assertEqual(early.time(), float(start))
        real = tfd.aio.new_event_loop()
        self.addCleanup(real.close)
        with self.assertRaisesRegex(RuntimeError, "virtual time"):
            real.advance(1)
        with self.assertRaisesRegex(ValueError, "virtual_start="):
            tfd.aio.new_event_loop(virtual_time=True, virtual_start=float("inf"))
        for outside in (1e12, -1e12):
            with self.assertRaisesRegex(OverflowError, r"virtual_start=.* too close to the end "
                                                       r"of the virtual clock's range"):
                tfd.aio.new_event_loop(virtual_time=True, virtual_start=outside)
        with self.assertRaisesRegex(TypeError, r"virtual_start='5' must be a number of seconds"):
            tfd.aio.new_event_loop(virtual_time=True, virtual_start="5")
        with self.assertRaisesRegex(ValueError, r"virtual_start=5 needs virtual_time=True"):
            tfd.aio.new_event_loop(virtual_start=5)
        for not_bool in ("no", 1, None):
            with self.assertRaisesRegex(TypeError, r"virtual_time=.* must be True or False"):
                tfd.aio.new_event_loop(virtual_time=not_bool)

    def test_a_time_past_the_range_never_fires(self):
        # inf, 1e300 or 2**64 s lie past the int64 range of nanoseconds: never due, as on the
        # real clock, so the clock does not jump to them either.
        loop = tfd.aio.new_event_loop(virtual_time=True)
        self.addCleanup(loop.close)
        fired = []
        loop.call_later(math.inf, fired.append, "inf")
        loop.call_at(1e300, fired.append, "1e300")
        loop.call_at(2**64, fired.append, "2**64")
        loop.call_later(5, loop.stop)
        loop.run_forever()
        self.assertEqual(loop.time(), 5.0)
        # Nothing reachable is left: the loop waits (until another thread stops it).
        stopper = threading.Timer(0.1, loop.call_soon_threadsafe, (loop.stop,))
        stopper.start()
        loop.run_forever()
        stopper.join()
        self.assertEqual(loop.time(), 5.0)
        self.assertEqual(fired, [])

    def test_sleep_forever_waits_without_spinning(self):
        # Only a timer that never fires is left: the loop waits as a real one would (here
        # until another thread stops it), instead of polling in a loop.
        loop = tfd.aio.new_event_loop(virtual_time=True)
        self.addCleanup(loop.close)

        async def forever():
            await asyncio.sleep(math.inf)

        task = loop.create_task(forever())
        stopper = threading.Timer(0.3, loop.call_soon_threadsafe, (loop.stop,))
        cpu0 = time.process_time()
        stopper.start()
        loop.run_forever()
        cpu = time.process_time() - cpu0
        stopper.join()
        self.assertFalse(task.done())
        self.assertEqual(loop.time(), 0.0)
        self.assertLess(cpu, 0.2, "the loop spun instead of waiting")
        task.cancel()
        loop.run_until_complete(asyncio.gather(task, return_exceptions=True))

    def test_advance_from_another_thread_in_debug_mode(self):
        loop = tfd.aio.new_event_loop(virtual_time=True)
        self.addCleanup(loop.close)
        loop.set_debug(True)
        errors = []

        def elsewhere():
            try:
                loop.advance(1)
            except RuntimeError as exc:
                errors.append(exc)
            loop.call_soon_threadsafe(loop.stop)

        loop.call_soon(threading.Thread(target=elsewhere).start)
        with loop.hold_time():  # the clock must not jump while the thread runs
            loop.run_forever()
        self.assertEqual(len(errors), 1)
        self.assertIn("other than the current one", str(errors[0]))
        self.assertEqual(loop.time(), 0.0)

    def test_advance_in_a_callback_is_not_slow_in_debug_mode(self):
        loop = tfd.aio.new_event_loop(virtual_time=True)
        self.addCleanup(loop.close)
        loop.set_debug(True)
        loop.call_soon(loop.advance, 100)
        loop.call_later(100, loop.stop)
        warnings = []
        handler = logging.Handler(logging.WARNING)
        handler.emit = warnings.append
        logger = logging.getLogger("asyncio")
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        loop.run_forever()
        self.assertEqual(loop.time(), 100.0)
        self.assertEqual([r.getMessage() for r in warnings if "Executing" in r.getMessage()], [])

    def test_advance_inside_the_running_loop(self):
        async def main():
            loop = asyncio.get_running_loop()
            fired = loop.create_future()
            loop.call_later(30, fired.set_result, None)
            with loop.hold_time():  # keep the loop from jumping by itself
                loop.advance(30)
                await fired
            return loop.time()

        self.assertEqual(tfd.aio.run(main(), virtual_time=True), 30.0)


class RealWorkTest(unittest.TestCase):
    def test_socket_data_before_a_30s_timeout(self):
        async def main():
            loop = asyncio.get_running_loop()

            async def handler(reader, writer):
                line = await asyncio.wait_for(reader.readline(), 30)
                writer.write(line.upper())
                await writer.drain()
                writer.close()

            server = await asyncio.start_server(handler, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            await asyncio.sleep(10)  # virtual: the client is slow
            writer.write(b"hello\n")
            reply = await asyncio.wait_for(reader.readline(), 30)
            at = loop.time()
            writer.close()
            # No data at all: the 30 s timeout jumps.
            reader2, writer2 = await asyncio.open_connection("127.0.0.1", port)
            start = loop.time()
            try:
                await asyncio.wait_for(reader2.readline(), 30)
                timed_out = False
            except asyncio.TimeoutError:
                timed_out = True
            waited = loop.time() - start
            writer2.close()
            server.close()
            await server.wait_closed()
            return reply, at, timed_out, waited

        reply, at, timed_out, waited = tfd.aio.run(main(), virtual_time=True)
        self.assertEqual(reply, b"HELLO\n")
        self.assertEqual(at, 10.0)
        self.assertTrue(timed_out)
        self.assertEqual(waited, 30.0)

    def test_executor_holds_the_clock(self):
        async def main():
            loop = asyncio.get_running_loop()
            order = []

            async def sleeper():
                await asyncio.sleep(1)
                order.append(("sleep", loop.time()))

            async def worker():
                await loop.run_in_executor(None, time.sleep, 0.05)
                order.append(("executor", loop.time()))

            await asyncio.gather(sleeper(), worker())
            return order

        order = tfd.aio.run(main(), virtual_time=True)
        self.assertEqual(order, [("executor", 0.0), ("sleep", 1.0)])

    def test_thread_with_hold_time(self):
        async def main():
            loop = asyncio.get_running_loop()
            got = loop.create_future()
            hold = loop.hold_time()
            hold.__enter__()

            def thread():
                time.sleep(0.05)
                loop.call_soon_threadsafe(got.set_result, loop.time())
                loop.call_soon_threadsafe(hold.__exit__, None, None, None)

            threading.Thread(target=thread).start()
            sleeper = asyncio.ensure_future(asyncio.sleep(5))
            at = await got
            await sleeper
            return at, loop.time()

        self.assertEqual(tfd.aio.run(main(), virtual_time=True), (0.0, 5.0))


class PolicyTest(unittest.TestCase):
    def test_policy_keyword(self):
        policy = tfd.aio.EventLoopPolicy(virtual_time=True)
        loop = policy.new_event_loop()
        self.addCleanup(loop.close)
        self.assertTrue(loop.virtual_time)
        self.assertEqual(loop.time(), 0.0)


class TestCaseBaseTest(VirtualTimeTestCase):
    async def test_sleeps_are_instant(self):
        start = time.perf_counter()
        await asyncio.sleep(86400)
        self.assertEqual(self.loop.time(), 86400.0)
        self.assertIsInstance(self.loop, tfd.aio.EventLoop)
        self.assertLess(time.perf_counter() - start, 30)

    async def test_wait_for_times_out_on_virtual_time(self):
        with self.assertRaises(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.sleep(100), 7)
        self.assertEqual(self.loop.time(), 7.0)

    def test_the_loop_in_a_synchronous_test(self):
        # Outside the running loop too: the loop the case runs its async parts on.
        self.assertIsInstance(self.loop, tfd.aio.EventLoop)
        self.assertTrue(self.loop.virtual_time)
        self.assertEqual(self.loop.time(), 0.0)


if __name__ == "__main__":
    unittest.main()

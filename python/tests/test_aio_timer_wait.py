"""EventLoop.wait_timer / tfd.aio.wait_timer: ``await timer.wait()`` for a tfd.Timer on a
tfd.aio loop, in two system calls a tick, with Timer.wait()'s outcomes (never a hang), and
without losing an expiry to a cancelled wait or leaving the descriptor watched."""

import asyncio
import os
import socket
import unittest

import tfd
import tfd._asyncio_waiters
import tfd.aio

# Every wait that must not hang is bounded by this (seconds); they end in milliseconds.
BOUND = 5


def wait_both_ways():
    """The two spellings the tests run each case with."""
    return (("loop.wait_timer", lambda t: asyncio.get_running_loop().wait_timer(t)),
            ("tfd.aio.wait_timer", tfd.aio.wait_timer))


class WaitTimerTest(unittest.TestCase):
    def test_counts_and_cancel_keeps_the_expiry(self):
        async def main():
            loop = asyncio.get_running_loop()
            with tfd.Timer() as timer:
                timer.start(0.005, interval=0.005)
                first = await loop.wait_timer(timer)
                # A wait cancelled before the next expiry...
                task = asyncio.ensure_future(loop.wait_timer(timer))
                await asyncio.sleep(0)
                task.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await task
                await asyncio.sleep(0.012)  # ...two expiries happen unwatched...
                later = await loop.wait_timer(timer)  # ...and are reported, not lost
                return first, later

        first, later = tfd.aio.run(main())
        self.assertGreaterEqual(first, 1)
        self.assertGreaterEqual(later, 2)

    def test_outcomes_are_timer_wait_s(self):
        # Each of these once hung: wait_timer kept a watch of its own that only expiries
        # woke.  They must end as Timer.wait() ends, at once.
        async def never_started(wait, t):
            return await wait(t)

        async def stopped_during(wait, t):
            t.start(10)
            asyncio.get_running_loop().call_later(0.01, t.stop)
            return await wait(t)

        async def closed_during(wait, t):
            t.start(10)
            asyncio.get_running_loop().call_later(0.01, t.close)
            return await wait(t)

        async def one_shot_twice(wait, t):
            t.start(0.001)
            self.assertEqual(await wait(t), 1)
            return await wait(t)

        async def closed_before(wait, t):
            t.close()
            return await wait(t)

        cases = {never_started: tfd.TimerDisarmed, stopped_during: tfd.TimerDisarmed,
                 closed_during: ValueError, one_shot_twice: tfd.TimerDisarmed,
                 closed_before: ValueError}

        async def main():
            for spelling, wait in wait_both_ways():
                for case, error in cases.items():
                    with self.subTest(spelling=spelling, case=case.__name__):
                        with tfd.Timer() as t:
                            with self.assertRaises(error):
                                await asyncio.wait_for(case(wait, t), BOUND)

        tfd.aio.run(main())

    def test_not_a_timer(self):
        async def main():
            for spelling, wait in wait_both_ways():
                with self.subTest(spelling=spelling):
                    with self.assertRaisesRegex(TypeError, r"timer=3 is not a tfd\.Timer"):
                        await wait(3)

        tfd.aio.run(main())

    def test_closed_timer_leaves_its_number_unwatched(self):
        # The descriptor number of a closed timer goes to the next socket; the loop must
        # watch that socket, not a registration left over from the timer.
        async def main():
            loop = asyncio.get_running_loop()
            with tfd.Timer() as t:
                t.start(0.001)
                await loop.wait_timer(t)
                await asyncio.sleep(0.001)
                number = t.fileno()
            a, b = socket.socketpair()
            try:
                a.setblocking(False)
                loop.call_later(0.01, b.send, b"hi")
                got = await asyncio.wait_for(loop.sock_recv(a, 10), BOUND)
                return number, a.fileno(), got
            finally:
                a.close()
                b.close()

        number, reused, got = tfd.aio.run(main())
        self.assertEqual(got, b"hi")
        if number != reused:
            self.skipTest("the socket did not get the timer's descriptor number")

    def test_cancelled_wait_then_close_then_new_timer(self):
        async def main():
            t = tfd.Timer()
            t.start(10)
            with self.assertRaises(asyncio.TimeoutError):
                await asyncio.wait_for(tfd.aio.wait_timer(t), 0.01)
            t.close()
            with tfd.Timer() as t2:  # very likely the same descriptor number
                t2.start(0.005)
                return await asyncio.wait_for(t2.wait(), BOUND)

        self.assertEqual(tfd.aio.run(main()), 1)

    def test_mixed_with_timer_wait(self):
        async def main():
            with tfd.Timer() as t:
                t.start(0.005, interval=0.005)
                counts = [await t.wait(), await tfd.aio.wait_timer(t),
                          await asyncio.wait_for(t.wait(), BOUND)]
                return counts

        self.assertTrue(all(c >= 1 for c in tfd.aio.run(main())))

    def test_two_waiters(self):
        async def main():
            with tfd.Timer() as t:
                t.start(0.005)
                return await asyncio.wait_for(
                    asyncio.gather(tfd.aio.wait_timer(t), tfd.aio.wait_timer(t)), BOUND)

        self.assertEqual(tfd.aio.run(main()), [1, 1])

    def test_other_loops_fall_back_to_timer_wait(self):
        async def main():
            with tfd.Timer() as timer:
                timer.start(0.001)
                return await tfd.aio.wait_timer(timer)

        self.assertEqual(asyncio.run(main()), 1)

    def test_two_system_calls_a_tick(self):
        # Counted where they are made: the loop's epoll_wait calls are its passes minus the
        # polls it skipped, the reads are the timer reads of Timer.wait()'s shared reader,
        # registrations add/remove_reader.  (test_timer_wait.py counts the same with strace.)
        reads = [0]
        original_read = tfd._asyncio_waiters._read

        def counted_read(timer):
            reads[0] += 1
            return original_read(timer)

        tfd._asyncio_waiters._read = counted_read
        self.addCleanup(setattr, tfd._asyncio_waiters, "_read", original_read)

        async def main():
            loop = asyncio.get_running_loop()
            calls = {"add_reader": 0, "remove_reader": 0}
            for name in calls:
                original = getattr(loop, name)

                def counted(*args, _original=original, _name=name):
                    calls[_name] += 1
                    return _original(*args)

                setattr(loop, name, counted)
            with tfd.Timer() as timer:
                timer.start(0.002, interval=0.002)
                await loop.wait_timer(timer)  # registers
                before = loop._tfd_stats()
                reads_before = reads[0]
                waits = 0
                while waits < 200:
                    await loop.wait_timer(timer)
                    waits += 1
                after = loop._tfd_stats()
            epoll_waits = (after["passes"] - before["passes"]) - (
                after["polls_skipped"] - before["polls_skipped"])
            return waits, epoll_waits, reads[0] - reads_before, calls

        waits, epoll_waits, reads_made, calls = tfd.aio.run(main())
        self.assertLessEqual(reads_made, waits + 5)
        self.assertGreaterEqual(reads_made, waits)
        self.assertEqual(calls["add_reader"], 1)
        # The pass after a wait runs the resumed task without polling, however late it is;
        # a few spare waits for wake-ups with nothing to read (a late expiry's readiness).
        self.assertLessEqual(epoll_waits + reads_made, 2 * waits + 5,
                             f"{epoll_waits} epoll_wait + {reads_made} read for {waits} ticks")


if __name__ == "__main__":
    unittest.main()

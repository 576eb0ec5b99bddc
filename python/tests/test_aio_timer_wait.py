"""EventLoop.wait_timer / tfd.aio.wait_timer: tfd.Timer expiries on a tfd.aio loop, in two
system calls a tick, without losing an expiry to a cancelled wait."""

import asyncio
import os
import unittest

import tfd
import tfd.aio



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

    def test_closed_timer(self):
        async def main():
            timer = tfd.Timer()
            timer.close()
            with self.assertRaisesRegex(ValueError, "closed"):
                await tfd.aio.wait_timer(timer)

        tfd.aio.run(main())

    def test_closing_after_waiting_unregisters(self):
        async def main():
            loop = asyncio.get_running_loop()
            with tfd.Timer() as timer:
                timer.start(0.001)
                await loop.wait_timer(timer)
                fd = timer.fileno()
            await asyncio.sleep(0)  # the watch notices the closed timer
            await asyncio.sleep(0)
            r, w = os.pipe()  # very likely the same descriptor number
            try:
                got = loop.create_future()
                loop.add_reader(r, got.set_result, "read")
                os.write(w, b"x")
                self.assertEqual(await asyncio.wait_for(got, 5), "read")
                loop.remove_reader(r)
            finally:
                os.close(r)
                os.close(w)
            return fd

        tfd.aio.run(main())

    def test_other_loops_fall_back_to_timer_wait(self):
        async def main():
            with tfd.Timer() as timer:
                timer.start(0.001)
                return await tfd.aio.wait_timer(timer)

        self.assertEqual(asyncio.run(main()), 1)

    def test_two_system_calls_a_tick(self):
        # Counted where they are made: the loop's epoll_wait calls are its passes minus the
        # polls it skipped, the reads are Timer.read calls, registrations add/remove_reader.
        class CountingTimer(tfd.Timer):
            reads = 0

            def read(self):
                CountingTimer.reads += 1
                return super().read()

        async def main():
            loop = asyncio.get_running_loop()
            calls = {"add_reader": 0, "remove_reader": 0}
            for name in calls:
                original = getattr(loop, name)

                def counted(*args, _original=original, _name=name):
                    calls[_name] += 1
                    return _original(*args)

                setattr(loop, name, counted)
            with CountingTimer() as timer:
                timer.start(0.002, interval=0.002)
                await loop.wait_timer(timer)  # registers
                before = loop._tfd_stats()
                reads_before = CountingTimer.reads
                waits = 0
                while waits < 200:
                    await loop.wait_timer(timer)
                    waits += 1
                after = loop._tfd_stats()
            epoll_waits = (after["passes"] - before["passes"]) - (
                after["polls_skipped"] - before["polls_skipped"])
            return waits, epoll_waits, CountingTimer.reads - reads_before, calls

        waits, epoll_waits, reads, calls = tfd.aio.run(main())
        self.assertEqual(reads, waits)
        self.assertEqual(calls["add_reader"], 1)
        # The pass after a wait runs the resumed task without polling, however late it is;
        # a few spare waits for wake-ups with nothing to read (a late expiry's readiness).
        self.assertLessEqual(epoll_waits + reads, 2 * waits + 5,
                             f"{epoll_waits} epoll_wait + {reads} read for {waits} ticks")

if __name__ == "__main__":
    unittest.main()

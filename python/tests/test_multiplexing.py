"""A Timer (and a bare timer fd) in select, poll, epoll, selectors and asyncio."""

import asyncio
import os
import select
import selectors
import time
import unittest

import tfd

TICK = 0.02


class ReadinessTest(unittest.TestCase):
    def setUp(self):
        self.timer = tfd.Timer(nonblocking=True)
        self.addCleanup(self.timer.close)

    def test_select(self):
        self.assertEqual(select.select([self.timer], [], [], 0)[0], [])
        self.timer.start(TICK)
        readable, _, _ = select.select([self.timer], [], [], 5)
        self.assertEqual(readable, [self.timer])
        self.assertEqual(self.timer.read(), 1)

    def test_poll(self):
        poller = select.poll()
        poller.register(self.timer, select.POLLIN)
        self.assertEqual(poller.poll(0), [])
        self.timer.start(TICK)
        self.assertEqual(poller.poll(5000), [(self.timer.fileno(), select.POLLIN)])

    def test_epoll(self):
        with select.epoll() as ep:
            ep.register(self.timer, select.EPOLLIN)
            self.timer.start(TICK, interval=TICK)
            for _ in range(3):
                self.assertEqual(ep.poll(5), [(self.timer.fileno(), select.EPOLLIN)])
                self.assertGreaterEqual(self.timer.read(), 1)

    def test_selectors(self):
        with selectors.DefaultSelector() as selector:
            selector.register(self.timer, selectors.EVENT_READ, data="tick")
            self.timer.start(TICK)
            events = selector.select(5)
            self.assertEqual([(key.fileobj, key.data) for key, _ in events], [(self.timer, "tick")])

    def test_bare_fd_with_functions(self):
        fd = tfd.timerfd_create(tfd.CLOCK_MONOTONIC, flags=tfd.TFD_NONBLOCK)
        try:
            tfd.timerfd_settime(fd, initial=TICK)
            self.assertEqual(select.select([fd], [], [], 5)[0], [fd])
            self.assertEqual(int.from_bytes(os.read(fd, 8), "little"), 1)
        finally:
            os.close(fd)


class AsyncioTest(unittest.TestCase):
    def run_async(self, coroutine):
        return asyncio.run(asyncio.wait_for(coroutine, 10))

    def test_wait_returns_count(self):
        async def main():
            for nonblocking in (False, True):
                with tfd.Timer(nonblocking=nonblocking) as timer:
                    timer.start(TICK, interval=TICK)
                    counts = [await timer.wait() for _ in range(3)]
                    self.assertTrue(all(c >= 1 for c in counts))

        self.run_async(main())

    def test_wait_does_not_block_the_loop(self):
        async def main():
            with tfd.Timer() as timer:
                timer.start(5 * TICK)
                waiter = asyncio.ensure_future(timer.wait())
                other = 0
                while not waiter.done():
                    other += 1
                    await asyncio.sleep(TICK / 4)
                self.assertEqual(waiter.result(), 1)
                self.assertGreater(other, 2)

        self.run_async(main())

    def test_cancellation_loses_nothing(self):
        async def main():
            with tfd.Timer() as timer:
                timer.start(0.3)  # long enough that the waiter is surely waiting
                waiter = asyncio.ensure_future(timer.wait())
                await asyncio.sleep(0)
                waiter.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await waiter
                # The expiry that happens afterwards is still there for the next wait.
                time.sleep(0.35)
                self.assertEqual(await timer.wait(), 1)
                loop = asyncio.get_running_loop()
                # The reader was removed: registering again must work.
                loop.add_reader(timer.fileno(), lambda: None)
                loop.remove_reader(timer.fileno())

        self.run_async(main())

    def test_cancel_after_ready(self):
        async def main():
            with tfd.Timer(nonblocking=True) as timer:
                timer.start(TICK)
                waiter = asyncio.ensure_future(timer.wait())
                time.sleep(3 * TICK)  # expiry happens while the loop is blocked
                waiter.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await waiter
                self.assertEqual(timer.read(), 1)  # cancelled wait did not consume it

        self.run_async(main())


class TrioTest(unittest.TestCase):
    """tfd.trio_wait and tfd.trio_ticks (run by CTest's python_trio on Debian's python3 with
    Debian's python3-trio; skipped where trio is not importable)."""

    def setUp(self):
        try:
            import trio
        except ImportError:
            self.skipTest("trio is not installed (Debian: apt-get install python3-trio)")
        self.trio = trio

    def run_trio(self, main):
        trio = self.trio

        async def bounded():
            with trio.fail_after(10):  # a hang fails the test
                return await main()

        return trio.run(bounded)

    def test_trio_wait(self):
        async def main():
            with tfd.Timer() as timer:
                timer.start(TICK)
                return await tfd.trio_wait(timer)

        self.assertEqual(self.run_trio(main), 1)

    def test_trio_ticks(self):
        async def main():
            with tfd.Timer(nonblocking=True) as timer:
                timer.start(TICK, interval=TICK)
                counts = []
                async for count in tfd.trio_ticks(timer):
                    counts.append(count)
                    if len(counts) == 3:
                        break
                timer.start(TICK)  # one-shot: the iteration ends after one tick
                counts.append([c async for c in tfd.trio_ticks(timer)])
                return counts

        counts = self.run_trio(main)
        self.assertTrue(all(c >= 1 for c in counts[:3]))
        self.assertEqual(counts[3], [1])

    def test_disarmed_raises_at_once(self):
        async def main():
            with tfd.Timer() as timer:
                with self.assertRaisesRegex(tfd.TimerDisarmed, "trio_wait: the timer is disarmed"):
                    await tfd.trio_wait(timer)

        self.run_trio(main)

    def test_stop_and_close_wake_the_waiter(self):
        trio = self.trio

        async def main():
            for end, exception in ((tfd.Timer.stop, tfd.TimerDisarmed), (tfd.Timer.close, ValueError)):
                with tfd.Timer() as timer:
                    timer.start(100)
                    outcome = []

                    async def waiter():
                        try:
                            await tfd.trio_wait(timer)
                        except Exception as error:
                            outcome.append(error)

                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(waiter)
                        await trio.sleep(TICK)
                        end(timer)
                    self.assertEqual(len(outcome), 1)
                    self.assertIsInstance(outcome[0], exception)

        self.run_trio(main)

    def test_second_waiter_is_told_why(self):
        trio = self.trio

        async def main():
            with tfd.Timer() as timer:
                timer.start(0.3)
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(tfd.trio_wait, timer)
                    await trio.sleep(TICK)
                    with self.assertRaisesRegex(trio.BusyResourceError, "one task waits per timer"):
                        await tfd.trio_wait(timer)
                    # The first waiter is undisturbed and gets its expiry.

        self.run_trio(main)

    def test_ticks_end_when_closed(self):
        trio = self.trio

        async def main():
            timer = tfd.Timer()
            timer.start(TICK, interval=TICK)
            counts = []

            async def consume():
                async for count in tfd.trio_ticks(timer):
                    counts.append(count)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(consume)
                await trio.sleep(5 * TICK)
                timer.close()
            self.assertGreaterEqual(len(counts), 1)

        self.run_trio(main)

    def test_cancellation_loses_nothing(self):
        trio = self.trio

        async def main():
            with tfd.Timer() as timer:
                timer.start(0.2)
                with trio.move_on_after(TICK):
                    await tfd.trio_wait(timer)
                time.sleep(0.25)
                return await tfd.trio_wait(timer)

        self.assertEqual(self.run_trio(main), 1)

    def test_asyncio_wait_under_trio_points_at_trio_wait(self):
        async def main():
            with tfd.Timer() as timer:
                timer.start(TICK)
                with self.assertRaisesRegex(RuntimeError, r"tfd\.trio_wait"):
                    await timer.wait()

        self.run_trio(main)


if __name__ == "__main__":
    unittest.main()

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
    def test_trio_wait(self):
        try:
            import trio
        except ImportError:
            self.skipTest("trio is not installed")

        async def main():
            with tfd.Timer() as timer:
                timer.start(TICK)
                return await tfd.trio_wait(timer)

        self.assertEqual(trio.run(main), 1)


if __name__ == "__main__":
    unittest.main()

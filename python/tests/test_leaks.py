"""No descriptor, reference or memory grows over 100k calls, on success and error paths."""

import gc
import os
import sys
import tracemalloc
import unittest

import support
import tfd

CALLS = 100_000


class Probe:
    """An argument whose reference count must come back to where it started."""

    def __index__(self):
        return 5

    def __float__(self):
        return 5.0

    def fileno(self):
        return self.fd


class LeakTest(unittest.TestCase):
    def setUp(self):
        self.fd = tfd.timerfd_create(tfd.CLOCK_MONOTONIC, flags=tfd.TFD_NONBLOCK)
        self.addCleanup(os.close, self.fd)

    def assert_no_growth(self, call, *objects):
        for _ in range(1000):  # warm caches (free lists, method caches) first
            call()
        gc.collect()
        fds = support.open_fds()
        refs = [sys.getrefcount(o) for o in objects]
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(CALLS):
                call()
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        self.assertEqual(support.open_fds(), fds)
        self.assertEqual([sys.getrefcount(o) for o in objects], refs)
        # One leaked tuple per call would be several MB; allow for interpreter noise.
        self.assertLess(grown, 64 * 1024)

    def test_success_paths(self):
        probe = Probe()
        probe.fd = self.fd
        fd = self.fd

        def calls():
            tfd.timerfd_settime(probe, flags=0, initial=probe, interval=0.5)
            tfd.timerfd_settime_ns(fd, initial=probe, interval=10**9)
            tfd.timerfd_gettime(probe)
            tfd.timerfd_gettime_ns(fd)
            tfd._tfd.read_expirations(fd)

        self.assert_no_growth(calls, probe)

    def test_create_and_close(self):
        def calls():
            os.close(tfd.timerfd_create(tfd.CLOCK_MONOTONIC, flags=tfd.TFD_NONBLOCK))

        self.assert_no_growth(calls)

    def test_timer_objects(self):
        def calls():
            with tfd.Timer(nonblocking=True) as timer:
                timer.start_ns(10**12, 10**9)
                timer.read()
                timer.setting()

        global CALLS
        saved, CALLS = CALLS, CALLS // 10  # each round is five calls and a close
        try:
            # The type's own count too: each instance of a heap type holds a reference.
            self.assert_no_growth(calls, tfd.Timer, tfd._tfd.TimerBase)
        finally:
            CALLS = saved

    def test_error_paths(self):
        probe = Probe()
        probe.fd = -1
        bad = "x"
        fd = self.fd

        def calls():
            for call in (
                lambda: tfd.timerfd_settime(probe),
                lambda: tfd.timerfd_settime(fd, initial=bad),
                lambda: tfd.timerfd_settime(fd, initial=float("nan")),
                lambda: tfd.timerfd_settime_ns(fd, initial=-1),
                lambda: tfd.timerfd_settime_ns(fd, initial=2**64),
                lambda: tfd.timerfd_gettime(fd, bad),
                lambda: tfd.timerfd_create(1, bad=1),
                lambda: tfd.timerfd_create(bad),
            ):
                try:
                    call()
                except (OSError, ValueError, TypeError, OverflowError):
                    pass

        global CALLS
        saved, CALLS = CALLS, CALLS // 8  # eight failing calls per round: 100k in total
        try:
            self.assert_no_growth(calls, probe, bad)
        finally:
            CALLS = saved


if __name__ == "__main__":
    unittest.main()

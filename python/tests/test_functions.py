"""The os.timerfd_* API on its own terms: signatures, results, rounding, errors, GIL release.

These hold on every interpreter, with or without a reference 3.13 to compare against.
"""

import errno
import inspect
import os
import threading
import time
import unittest

import tfd

SIGNATURES = {
    "timerfd_create": "(clockid, /, *, flags=0)",
    "timerfd_settime": "(fd, /, *, flags=0, initial=0.0, interval=0.0)",
    "timerfd_settime_ns": "(fd, /, *, flags=0, initial=0, interval=0)",
    "timerfd_gettime": "(fd, /)",
    "timerfd_gettime_ns": "(fd, /)",
}


class TimerFdCase(unittest.TestCase):
    def setUp(self):
        self.fd = tfd.timerfd_create(tfd.CLOCK_MONOTONIC)
        self.addCleanup(os.close, self.fd)


class SignatureTest(unittest.TestCase):
    def test_signatures(self):
        for name, expected in SIGNATURES.items():
            with self.subTest(name=name):
                self.assertEqual(str(inspect.signature(getattr(tfd, name))), expected)

    def test_constants(self):
        self.assertEqual(tfd.TFD_NONBLOCK, os.O_NONBLOCK)
        self.assertEqual(tfd.TFD_CLOEXEC, os.O_CLOEXEC)
        self.assertEqual(tfd.TFD_TIMER_ABSTIME, 1)
        self.assertEqual(tfd.TFD_TIMER_CANCEL_ON_SET, 2)

    def test_clock_constants(self):
        self.assertEqual(tfd.CLOCK_REALTIME, time.CLOCK_REALTIME)
        self.assertEqual(tfd.CLOCK_MONOTONIC, time.CLOCK_MONOTONIC)
        self.assertEqual(tfd.CLOCK_BOOTTIME, time.CLOCK_BOOTTIME)
        self.assertEqual(tfd.CLOCK_REALTIME_ALARM, 8)
        self.assertEqual(tfd.CLOCK_BOOTTIME_ALARM, 9)


class CreateTest(unittest.TestCase):
    def test_always_close_on_exec(self):
        for flags in (0, tfd.TFD_NONBLOCK, tfd.TFD_CLOEXEC):
            fd = tfd.timerfd_create(time.CLOCK_MONOTONIC, flags=flags)
            try:
                self.assertFalse(os.get_inheritable(fd))
                self.assertEqual(os.get_blocking(fd), not flags & tfd.TFD_NONBLOCK)
            finally:
                os.close(fd)

    def test_every_clock(self):
        for clock in (tfd.CLOCK_REALTIME, tfd.CLOCK_MONOTONIC, tfd.CLOCK_BOOTTIME):
            os.close(tfd.timerfd_create(clock))

    def test_alarm_clocks_need_cap_wake_alarm(self):
        for clock in (tfd.CLOCK_REALTIME_ALARM, tfd.CLOCK_BOOTTIME_ALARM):
            try:
                fd = tfd.timerfd_create(clock)
            except OSError as error:  # no CAP_WAKE_ALARM, or no RTC that can wake the system
                self.assertIn(error.errno, (errno.EPERM, errno.EINVAL, errno.ENODEV))
            else:
                os.close(fd)

    def test_bad_clock_is_einval(self):
        with self.assertRaises(OSError) as caught:
            tfd.timerfd_create(12345)
        self.assertEqual(caught.exception.errno, errno.EINVAL)


class SetGetTest(TimerFdCase):
    def test_settime_returns_previous_setting(self):
        self.assertEqual(tfd.timerfd_settime(self.fd, initial=10, interval=0.5), (0.0, 0.0))
        value, interval = tfd.timerfd_settime(self.fd)
        self.assertEqual(interval, 0.5)
        self.assertTrue(9.0 < value <= 10.0)
        self.assertEqual(tfd.timerfd_gettime(self.fd), (0.0, 0.0))

    def test_floats_come_back_as_sec_plus_nsec(self):
        tfd.timerfd_settime(self.fd, initial=100, interval=0.3)
        self.assertEqual(tfd.timerfd_gettime(self.fd)[1], 0.30000000000000004)
        self.assertEqual(tfd.timerfd_gettime_ns(self.fd)[1], 300_000_000)

    def test_seconds_are_floored_to_nanoseconds(self):
        tfd.timerfd_settime(self.fd, initial=100, interval=1.9e-9)
        self.assertEqual(tfd.timerfd_gettime_ns(self.fd)[1], 1)
        # 1e-10 s floors to 0 ns: the timer is disarmed.
        tfd.timerfd_settime(self.fd, initial=1e-10)
        self.assertEqual(tfd.timerfd_gettime_ns(self.fd), (0, 0))

    def test_negative_reaches_the_kernel(self):
        for kwargs in ({"initial": -1e-10}, {"interval": -1.0}):
            with self.subTest(**kwargs), self.assertRaises(OSError) as caught:
                tfd.timerfd_settime(self.fd, **kwargs)
            self.assertEqual(caught.exception.errno, errno.EINVAL)
        with self.assertRaises(OSError) as caught:
            tfd.timerfd_settime_ns(self.fd, initial=-1)
        self.assertEqual(caught.exception.errno, errno.EINVAL)

    def test_out_of_range_is_overflow(self):
        for value in (float("nan"), float("inf"), -float("inf"), 9.3e9, -9.3e9):
            with self.subTest(value=value), self.assertRaises(OverflowError):
                tfd.timerfd_settime(self.fd, initial=value)
        with self.assertRaises(OverflowError):
            tfd.timerfd_settime_ns(self.fd, initial=2**63)

    def test_zero_initial_disarms_but_keeps_interval(self):
        tfd.timerfd_settime_ns(self.fd, initial=0, interval=5)
        self.assertEqual(tfd.timerfd_gettime_ns(self.fd), (0, 5))

    def test_absolute_deadline(self):
        now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        tfd.timerfd_settime_ns(self.fd, flags=tfd.TFD_TIMER_ABSTIME, initial=now + 10**9)
        value, _ = tfd.timerfd_gettime_ns(self.fd)
        self.assertTrue(0 < value <= 10**9)

    def test_fileno_objects(self):
        class Holder:
            def __init__(self, fd):
                self.fd = fd

            def fileno(self):
                return self.fd

        tfd.timerfd_settime_ns(Holder(self.fd), initial=10**12, interval=7)
        self.assertEqual(tfd.timerfd_gettime_ns(Holder(self.fd))[1], 7)

    def test_negative_fd_is_value_error(self):
        for function in (tfd.timerfd_settime, tfd.timerfd_settime_ns):
            with self.assertRaisesRegex(ValueError, r"negative integer \(-1\)"):
                function(-1)
        with self.assertRaises(ValueError):
            tfd.timerfd_gettime(-1)

    def test_conversion_order(self):
        # fd first, then flags, then initial, then interval; range checks only afterwards.
        with self.assertRaisesRegex(TypeError, "fileno"):
            tfd.timerfd_settime(None, flags="x", initial="y")
        with self.assertRaisesRegex(TypeError, "'str' object cannot be interpreted"):
            tfd.timerfd_settime(self.fd, flags="x", initial="y")
        with self.assertRaisesRegex(TypeError, "must be real number, not str"):
            tfd.timerfd_settime(self.fd, initial=float("nan"), interval="y")

    def test_blocking_read_releases_the_gil(self):
        tfd.timerfd_settime(self.fd, initial=0.3)
        ticks = []
        stop = threading.Event()

        def spin():
            while not stop.is_set():
                ticks.append(1)
                time.sleep(0.001)

        spinner = threading.Thread(target=spin)
        spinner.start()
        try:
            start = len(ticks)
            self.assertEqual(tfd._tfd.read_expirations(self.fd), 1)
            progressed = len(ticks) - start
        finally:
            stop.set()
            spinner.join()
        self.assertGreater(progressed, 3)  # the other thread ran while read() waited


if __name__ == "__main__":
    unittest.main()

"""tfd.Timer: the Pythonic layer."""

import errno
import gc
import os
import time
import unittest
import warnings

import tfd

TICK = 0.02  # short enough to keep the suite fast, long enough to be scheduled reliably


class LifecycleTest(unittest.TestCase):
    def test_context_manager_closes(self):
        with tfd.Timer() as timer:
            fd = timer.fileno()
            self.assertFalse(timer.closed)
        self.assertTrue(timer.closed)
        with self.assertRaises(OSError):
            os.fstat(fd)
        with self.assertRaisesRegex(ValueError, "closed"):
            timer.fileno()
        timer.close()  # idempotent

    def test_clock_by_name_or_constant(self):
        for clock, expected in (
            ("monotonic", tfd.CLOCK_MONOTONIC),
            ("CLOCK_REALTIME", tfd.CLOCK_REALTIME),
            ("BootTime", tfd.CLOCK_BOOTTIME),
            (time.CLOCK_MONOTONIC, tfd.CLOCK_MONOTONIC),
        ):
            with self.subTest(clock=clock), tfd.Timer(clock) as timer:
                self.assertEqual(timer.clock, expected)
        self.assertEqual(tfd.clock_id("realtime_alarm"), tfd.CLOCK_REALTIME_ALARM)
        with self.assertRaisesRegex(ValueError, "^Timer: unknown clock name 'sundial'"):
            tfd.Timer("sundial")
        with self.assertRaisesRegex(ValueError, "^clock_id: unknown clock name 'sundial'"):
            tfd.clock_id("sundial")
        for bad, kind in ((1.5, "float"), (None, "NoneType"), (True, "bool")):
            with self.assertRaisesRegex(TypeError, rf"^Timer: a clock is a name or a CLOCK_\* "
                                                   rf"id, not {kind} \({bad!r}\)"):
                tfd.Timer(bad)

    def test_close_on_exec_and_blocking_mode(self):
        with tfd.Timer() as blocking, tfd.Timer(nonblocking=True) as nonblocking:
            self.assertFalse(os.get_inheritable(blocking.fileno()))
            self.assertTrue(os.get_blocking(blocking.fileno()))
            self.assertFalse(os.get_blocking(nonblocking.fileno()))
            self.assertTrue(nonblocking.nonblocking)

    def test_repr(self):
        with tfd.Timer(nonblocking=True) as timer:
            self.assertRegex(repr(timer), r"^<tfd.Timer fd=\d+ clock=monotonic nonblocking disarmed>$")
            timer.start(100, interval=0.5)
            self.assertRegex(repr(timer), r"next=\d+(\.\d+)?s interval=0.5s>$")
        self.assertEqual(repr(timer), "<tfd.Timer closed clock=monotonic>")

    def test_unclosed_timer_warns_and_closes(self):
        timer = tfd.Timer()
        fd = timer.fileno()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            del timer
            gc.collect()
        self.assertTrue(any(w.category is ResourceWarning for w in caught))
        with self.assertRaises(OSError):
            os.fstat(fd)

    def test_garbage_collected_timer_closes_without_close(self):
        fds = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            for _ in range(50):
                fds.append(tfd.Timer().fileno())
        gc.collect()
        for fd in fds:
            with self.assertRaises(OSError):
                os.fstat(fd)

    def test_base_type_is_a_heap_type(self):
        self.assertTrue(issubclass(tfd.Timer, tfd._tfd.TimerBase))
        self.assertEqual(tfd._tfd.TimerBase.__module__, "tfd._tfd")
        self.assertIs(tfd._tfd.TimerBase.ClockChanged, tfd.ClockChanged)
        with self.assertRaises(ValueError):
            tfd._tfd.TimerBase.__new__(tfd._tfd.TimerBase).fileno()  # never opened

    def test_detach(self):
        timer = tfd.Timer()
        fd = timer.detach()
        self.assertTrue(timer.closed)
        os.close(fd)


class ArmingTest(unittest.TestCase):
    def setUp(self):
        self.timer = tfd.Timer(nonblocking=True)
        self.addCleanup(self.timer.close)

    def test_start_seconds_and_ns(self):
        self.assertEqual(self.timer.start(100, interval=0.25), (0.0, 0.0))
        self.assertEqual(self.timer.setting()[1], 0.25)
        previous = self.timer.start_ns(10**12, 7)
        self.assertEqual(previous[1], 250_000_000)
        self.assertEqual(self.timer.setting_ns()[1], 7)
        self.assertTrue(self.timer.armed)
        self.timer.stop()
        self.assertFalse(self.timer.armed)

    def test_zero_start_fires_at_once(self):
        self.timer.start(0)
        time.sleep(TICK)
        self.assertEqual(self.timer.read(), 1)
        self.timer.start_ns(0)
        time.sleep(TICK)
        self.assertEqual(self.timer.read(), 1)

    def test_absolute(self):
        deadline = time.clock_gettime(time.CLOCK_MONOTONIC) + 0.2
        self.timer.start(deadline, absolute=True)
        self.assertLessEqual(self.timer.setting()[0], 0.2)  # reported relative to now
        early = self.timer.read()  # 0 unless this process stalled for 0.2 s
        time.sleep(0.3)
        self.assertEqual(early + self.timer.read(), 1)

    def test_nonblocking_read_counts_every_expiry(self):
        self.assertEqual(self.timer.read(), 0)
        self.timer.start(TICK, interval=TICK)
        time.sleep(6 * TICK)
        self.assertGreaterEqual(self.timer.read(), 3)  # overruns are counted, not lost
        self.assertEqual(self.timer.read(), 0)

    def test_clock_changed_is_distinct(self):
        self.assertTrue(issubclass(tfd.ClockChanged, OSError))
        # The shape of the exception; test_clock_change.py provokes it by setting the clock.
        error = tfd.ClockChanged(errno.ECANCELED, os.strerror(errno.ECANCELED))
        self.assertEqual(error.errno, errno.ECANCELED)
        self.assertEqual(tfd.ClockChanged.__module__, "tfd")

    def test_cancel_on_set_arms(self):
        with tfd.Timer("realtime", nonblocking=True) as timer:
            deadline = time.clock_gettime(time.CLOCK_REALTIME) + 100
            timer.start(deadline, absolute=True, cancel_on_set=True)
            self.assertTrue(timer.armed)
            self.assertEqual(timer.read(), 0)


class IterationTest(unittest.TestCase):
    def test_periodic_ticks(self):
        with tfd.Timer() as timer:
            timer.start(TICK, interval=TICK)
            counts = []
            for count in timer:
                counts.append(count)
                if len(counts) == 3:
                    break
            self.assertEqual(len(counts), 3)
            self.assertTrue(all(c >= 1 for c in counts))

    def test_one_shot_yields_once(self):
        for nonblocking in (False, True):
            with self.subTest(nonblocking=nonblocking), tfd.Timer(nonblocking=nonblocking) as t:
                t.start(TICK)
                self.assertEqual(list(t), [1])
                self.assertEqual(list(t), [])  # disarmed: nothing to wait for


if __name__ == "__main__":
    unittest.main()

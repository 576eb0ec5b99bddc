"""A real change of the wall clock, not an injected one: setting CLOCK_REALTIME (to its own
reading, which the kernel still counts as a discontinuous change) cancels absolute realtime
timers armed with TFD_TIMER_CANCEL_ON_SET.  Needs CAP_SYS_TIME; skipped with the reason
otherwise (test_outcomes.py covers the same outcome through fault injection)."""

import errno
import os
import time
import unittest

import tfd


def set_realtime_to_itself():
    """Sets CLOCK_REALTIME to its current reading; raises unittest.SkipTest when not allowed."""
    try:
        time.clock_settime_ns(time.CLOCK_REALTIME, time.clock_gettime_ns(time.CLOCK_REALTIME))
    except PermissionError as error:
        raise unittest.SkipTest("cannot set CLOCK_REALTIME here: %s" % error)


class RealClockChangeTest(unittest.TestCase):
    def test_timer_read_raises_clock_changed(self):
        with tfd.Timer("realtime", nonblocking=True) as timer:
            deadline = time.clock_gettime(time.CLOCK_REALTIME) + 3600
            timer.start(deadline, absolute=True, cancel_on_set=True)
            self.assertEqual(timer.read(), 0)  # nothing yet
            set_realtime_to_itself()
            with self.assertRaises(tfd.ClockChanged) as caught:
                timer.read()
            self.assertEqual(caught.exception.errno, errno.ECANCELED)
            # The cancellation is reported once; the timer stays armed for its deadline.
            self.assertEqual(timer.read(), 0)
            self.assertTrue(timer.armed)

    def test_without_cancel_on_set_nothing_happens(self):
        with tfd.Timer("realtime", nonblocking=True) as timer:
            timer.start(time.clock_gettime(time.CLOCK_REALTIME) + 3600, absolute=True)
            set_realtime_to_itself()
            self.assertEqual(timer.read(), 0)

    def test_functional_api_reports_ecanceled_through_os_read(self):
        # As with CPython 3.13's os.timerfd_*: the flag goes through timerfd_settime and the
        # change surfaces as OSError(ECANCELED) from os.read.
        fd = tfd.timerfd_create(tfd.CLOCK_REALTIME, flags=tfd.TFD_NONBLOCK)
        self.addCleanup(os.close, fd)
        tfd.timerfd_settime(
            fd,
            flags=tfd.TFD_TIMER_ABSTIME | tfd.TFD_TIMER_CANCEL_ON_SET,
            initial=time.clock_gettime(time.CLOCK_REALTIME) + 3600,
        )
        set_realtime_to_itself()
        with self.assertRaises(OSError) as caught:
            os.read(fd, 8)
        self.assertEqual(caught.exception.errno, errno.ECANCELED)


if __name__ == "__main__":
    unittest.main()

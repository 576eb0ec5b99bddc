"""Outcomes a test cannot provoke for real on a shared machine, through the C++ library's
system-call seam (_tfd._inject_fault), and signals interrupting a blocking read for real."""

import errno
import os
import signal
import time
import unittest

import tfd
from tfd import _tfd


# CMake's per-interpreter builds, which the suite runs on, are test builds with the seam; the
# module pip installs is not (python_pip_install runs this suite on it with
# TFD_EXPECT_PRODUCTION=1).
HAS_SEAM = hasattr(_tfd, "_inject_fault")
PRODUCTION = os.environ.get("TFD_EXPECT_PRODUCTION") == "1"


class BuildKindTest(unittest.TestCase):
    def test_seam_only_in_test_builds(self):
        if PRODUCTION:
            self.assertFalse(HAS_SEAM, "the installed module carries the test seam")
        else:
            self.assertTrue(HAS_SEAM, "a test build without _inject_fault: the seam's tests would not run")


@unittest.skipUnless(HAS_SEAM, "a production build of _tfd (pip's): no _inject_fault")
class InjectedTest(unittest.TestCase):
    def setUp(self):
        self.timer = tfd.Timer(nonblocking=True)
        self.addCleanup(self.timer.close)
        self.addCleanup(_tfd._inject_fault, "read", 0, 0)

    def test_ecanceled_is_clock_changed(self):
        _tfd._inject_fault("read", errno.ECANCELED)
        with self.assertRaises(tfd.ClockChanged) as caught:
            self.timer.read()
        self.assertIsInstance(caught.exception, OSError)
        self.assertEqual(caught.exception.errno, errno.ECANCELED)
        self.assertEqual(self.timer.read(), 0)  # one fault only

    def test_zero_byte_read_is_no_expiration(self):
        _tfd._inject_fault("read", 0)
        self.assertEqual(self.timer.read(), 0)

    def test_eintr_is_retried(self):
        self.timer.start(0.01)
        time.sleep(0.03)
        _tfd._inject_fault("read", errno.EINTR, 3)
        self.assertEqual(self.timer.read(), 1)

    def test_other_errors_are_oserror(self):
        _tfd._inject_fault("read", errno.EIO)
        with self.assertRaises(OSError) as caught:
            self.timer.read()
        self.assertNotIsInstance(caught.exception, tfd.ClockChanged)
        self.assertEqual(caught.exception.errno, errno.EIO)

    def test_create_failure(self):
        _tfd._inject_fault("timerfd_create", errno.EMFILE)
        with self.assertRaises(OSError) as caught:
            tfd.timerfd_create(tfd.CLOCK_MONOTONIC)
        self.assertEqual(caught.exception.errno, errno.EMFILE)

    def test_unknown_call(self):
        with self.assertRaisesRegex(ValueError, "cannot inject faults into nope"):
            _tfd._inject_fault("nope", 1)


class SignalTest(unittest.TestCase):
    """A signal arriving during a blocking read runs its Python handler (PEP 475)."""

    def setUp(self):
        self.timer = tfd.Timer()
        self.addCleanup(self.timer.close)
        previous = signal.signal(signal.SIGALRM, self.handler)
        self.addCleanup(signal.signal, signal.SIGALRM, previous)
        self.addCleanup(signal.setitimer, signal.ITIMER_REAL, 0)
        self.calls = 0
        self.raise_from_handler = False

    def handler(self, signum, frame):
        self.calls += 1
        if self.raise_from_handler:
            raise InterruptedError("from the handler")

    def test_handler_runs_and_read_resumes(self):
        self.timer.start(0.5)  # the alarm (0.02 s) comes first even on a loaded machine
        signal.setitimer(signal.ITIMER_REAL, 0.02)
        self.assertEqual(self.timer.read(), 1)
        self.assertEqual(self.calls, 1)

    def test_handler_exception_ends_the_read(self):
        self.raise_from_handler = True
        self.timer.start(5)
        signal.setitimer(signal.ITIMER_REAL, 0.02)
        started = time.monotonic()
        with self.assertRaisesRegex(InterruptedError, "from the handler"):
            self.timer.read()
        self.assertLess(time.monotonic() - started, 4)
        self.assertTrue(self.timer.armed)


if __name__ == "__main__":
    unittest.main()

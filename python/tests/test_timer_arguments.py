"""Timer's own argument checks (each error names the value), its rounding of sub-nanosecond
times, and introspection (signatures, docstrings) of every public callable."""

import fractions
import inspect
import time
import unittest

import tfd

TICK = 0.02


class StartArgumentsTest(unittest.TestCase):
    def setUp(self):
        self.timer = tfd.Timer(nonblocking=True)
        self.addCleanup(self.timer.close)

    def test_negative_times_are_named(self):
        cases = (
            (lambda: self.timer.start(-1), "Timer.start: initial=-1.0 s is negative"),
            (lambda: self.timer.start(-0.5), "Timer.start: initial=-0.5 s is negative"),
            (lambda: self.timer.start(1, -2), "Timer.start: interval=-2.0 s is negative"),
            (lambda: self.timer.start(-1, absolute=True), "initial=-1.0 s is negative"),
            (lambda: self.timer.start_ns(-1), "Timer.start_ns: initial=-1 ns is negative"),
            (lambda: self.timer.start_ns(1, -7), "Timer.start_ns: interval=-7 ns is negative"),
        )
        for call, message in cases:
            with self.subTest(message=message):
                with self.assertRaises(ValueError) as caught:
                    call()
                self.assertIn(message, str(caught.exception))
        self.assertFalse(self.timer.armed)  # nothing was armed by a refused call

    def test_not_a_number(self):
        with self.assertRaisesRegex(ValueError, r"Timer.start: initial=nan s is not a number"):
            self.timer.start(float("nan"))
        for value, pattern in (
            (float("inf"), r"initial=inf s is too large"),
            (1e10, r"initial=10000000000.0 s is too large"),
            (10**10, r"initial=10000000000 s is too large"),
        ):
            with self.subTest(value=value), self.assertRaisesRegex(OverflowError, pattern):
                self.timer.start(value)
        with self.assertRaisesRegex(OverflowError, r"initial=9223372036854775808 ns is too large"):
            self.timer.start_ns(2**63)

    def test_wrong_types(self):
        for call, pattern in (
            (lambda: self.timer.start("1"), r"Timer.start: initial must be a number of seconds, not str"),
            (lambda: self.timer.start(None), r"initial must be a number of seconds, not NoneType"),
            (lambda: self.timer.start(True), r"initial must be a number of seconds, not bool"),
            (lambda: self.timer.start(1, interval=[1]), r"interval must be a number of seconds, not list"),
            (lambda: self.timer.start_ns(1.5), r"Timer.start_ns: initial must be an integer number of nanoseconds, not float"),
            (lambda: self.timer.start_ns(False), r"not bool"),
        ):
            with self.subTest(pattern=pattern), self.assertRaisesRegex(TypeError, pattern):
                call()

    def test_other_numbers_are_seconds(self):
        self.timer.start(fractions.Fraction(1, 4), interval=fractions.Fraction(1, 2))
        self.assertEqual(self.timer.setting_ns()[1], 500_000_000)

    def test_flags_must_be_bools(self):
        for keyword in ("absolute", "cancel_on_set"):
            for value in ("no", 1, None):
                with self.subTest(keyword=keyword, value=value):
                    with self.assertRaisesRegex(
                        TypeError, rf"Timer.start: {keyword} must be True or False, not"
                    ):
                        self.timer.start(1, **{keyword: value})
                    with self.assertRaisesRegex(TypeError, rf"Timer.start_ns: {keyword} must"):
                        self.timer.start_ns(1, **{keyword: value})
        self.assertFalse(self.timer.armed)

    def test_cancel_on_set_needs_an_absolute_realtime_timer(self):
        with self.assertRaisesRegex(ValueError, r"cancel_on_set needs absolute=True .* relative monotonic"):
            self.timer.start(1, cancel_on_set=True)
        with self.assertRaisesRegex(ValueError, r"absolute monotonic"):
            self.timer.start(time.clock_gettime(time.CLOCK_MONOTONIC) + 1, absolute=True,
                             cancel_on_set=True)
        with tfd.Timer("realtime", nonblocking=True) as wall:
            with self.assertRaisesRegex(ValueError, r"relative realtime"):
                wall.start(1, cancel_on_set=True)
            wall.start(time.time() + 100, absolute=True, cancel_on_set=True)
            self.assertTrue(wall.armed)

    def test_sub_nanosecond_delay_fires(self):
        for delay in (5e-10, 1e-300):
            with self.subTest(delay=delay):
                self.timer.start(delay)
                self.assertEqual(self.timer.setting_ns()[1], 0)
                time.sleep(TICK)
                self.assertEqual(self.timer.read(), 1)
        with tfd.Timer() as blocking:  # the issue: a later blocking read must not hang
            blocking.start(5e-10)
            self.assertEqual(blocking.read(), 1)

    def test_sub_nanosecond_interval_is_periodic(self):
        self.timer.start(100, interval=5e-10)
        self.assertEqual(self.timer.setting_ns()[1], 1)

    def test_seconds_floor_like_cpython(self):
        # Above 1 ns, seconds convert exactly as timerfd_settime converts them.
        for value in (0.3, 1.1, 2.5e-9, 123.456789123):
            with self.subTest(value=value), tfd.Timer() as other:
                self.timer.start(100, interval=value)
                tfd.timerfd_settime(other, initial=100, interval=value)
                self.assertEqual(self.timer.setting_ns()[1], other.setting_ns()[1])

    def test_previous_setting_in_seconds(self):
        self.timer.start(100, interval=0.3)
        self.assertEqual(self.timer.start(100)[1], 0.30000000000000004)  # as timerfd_settime

    def test_functional_api_keeps_cpythons_flooring(self):
        fd = tfd.timerfd_create(tfd.CLOCK_MONOTONIC)
        try:
            tfd.timerfd_settime(fd, initial=5e-10)  # floors to 0: disarms, as 3.13 does
            self.assertEqual(tfd.timerfd_gettime_ns(fd), (0, 0))
            with self.assertRaises(OSError) as caught:  # and the kernel's EINVAL, unnamed
                tfd.timerfd_settime(fd, initial=-1)
            self.assertEqual(str(caught.exception), "[Errno 22] Invalid argument")
        finally:
            import os

            os.close(fd)


class ConstructorArgumentsTest(unittest.TestCase):
    def test_nonblocking_must_be_a_bool(self):
        for value in ("yes", 1, None):
            with self.subTest(value=value), self.assertRaisesRegex(
                TypeError, r"Timer: nonblocking must be True or False, not"
            ):
                tfd.Timer(nonblocking=value)

    def test_clock_ids_are_checked(self):
        with self.assertRaisesRegex(ValueError, r"Timer: clock=99 is not a timerfd clock"):
            tfd.Timer(99)
        with self.assertRaisesRegex(ValueError, r"Timer: clock=-1 is not a timerfd clock"):
            tfd.Timer(-1)
        with self.assertRaisesRegex(TypeError, "not bool"):
            tfd.Timer(True)

    def test_alarm_clock_error_names_the_clock(self):
        try:
            tfd.Timer("realtime_alarm").close()
        except PermissionError as error:
            self.assertIn("Timer: clock realtime_alarm", str(error))
            self.assertIn("CAP_WAKE_ALARM", str(error))
        else:
            self.skipTest("this process has CAP_WAKE_ALARM: the alarm clock works")


def public_callables():
    """(name, callable) for every public function, class and method of tfd."""
    for name in tfd.__all__:
        value = getattr(tfd, name)
        if callable(value) and not isinstance(value, int):
            yield name, value
    for name, value in vars(tfd.Timer).items():
        if callable(value) and (not name.startswith("_") or name in ("__init__", "__aiter__", "__enter__", "__exit__", "__iter__")):
            yield f"Timer.{name}", value
    for name in ("fileno", "read", "close", "detach", "__enter__", "__exit__"):
        yield f"Timer.{name} (inherited)", getattr(tfd.Timer, name)


class IntrospectionTest(unittest.TestCase):
    def test_every_public_callable_has_a_signature_and_a_docstring(self):
        for name, value in public_callables():
            with self.subTest(name=name):
                if isinstance(value, type) and issubclass(value, BaseException):
                    self.assertTrue(value.__doc__)
                    continue
                inspect.signature(value)  # raises ValueError when there is none
                doc = inspect.getdoc(value)
                self.assertTrue(doc, f"{name} has no docstring")
                self.assertNotIn("Initialize self", doc)

    def test_method_signatures(self):
        self.assertEqual(str(inspect.signature(tfd.Timer.read)), "(self, /)")
        self.assertEqual(str(inspect.signature(tfd.Timer.fileno)), "(self, /)")
        self.assertEqual(str(inspect.signature(tfd.Timer.close)), "(self)")
        self.assertEqual(str(inspect.signature(tfd.Timer.detach)), "(self)")
        self.assertEqual(
            str(inspect.signature(tfd.Timer)), "(clock='monotonic', *, nonblocking=False)"
        )
        self.assertIn("Create a disarmed timer", tfd.Timer.__init__.__doc__)
        self.assertEqual(str(inspect.signature(tfd._tfd.TimerBase.read)), "(self, /)")

    def test_version(self):
        self.assertRegex(tfd.__version__, r"^\d+\.\d+\.\d+")
        self.assertEqual(tfd.__version__, tfd._tfd.__version__)


if __name__ == "__main__":
    unittest.main()

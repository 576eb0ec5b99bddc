"""`import tfd.backport`: code written for CPython 3.13's os.timerfd_* runs unchanged."""

import os
import sys
import unittest

import support
import tfd

# The HOWTO's first example, as written for 3.13, plus the one-liner; 0.05 s ticks.
PROGRAM_313 = """
import tfd.backport
import os, time

fd = os.timerfd_create(time.CLOCK_REALTIME)
os.timerfd_settime(fd, initial=0.05, interval=0.05)
try:
    for _ in range(4):
        _ = os.read(fd, 8)
        print("Timer expired")
    print(os.timerfd_gettime_ns(fd)[1], os.timerfd_settime_ns(fd)[1])
    print(os.TFD_NONBLOCK, os.TFD_CLOEXEC, os.TFD_TIMER_ABSTIME, os.TFD_TIMER_CANCEL_ON_SET)
finally:
    os.close(fd)
print("added", len(tfd.backport.ADDED))
"""


class BackportTest(unittest.TestCase):
    def test_program_for_313_runs(self):
        result = support.run_python(PROGRAM_313)
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(lines[:4], ["Timer expired"] * 4)
        self.assertEqual(lines[4], "50000000 50000000")
        self.assertEqual(lines[5], "2048 524288 1 2")
        expected_added = 0 if sys.version_info >= (3, 13) else 9
        self.assertEqual(lines[6], f"added {expected_added}")

    def test_install_is_a_no_op_where_os_has_the_functions(self):
        code = (
            "import os, sys\n"
            "before = {n: getattr(os, n, None) for n in dir(os) if 'timerfd' in n or n.startswith('TFD_')}\n"
            "import tfd.backport, tfd\n"
            "after = {n: getattr(os, n) for n in before}\n"
            "assert before == after, (before, after)\n"
            "print(sorted(tfd.install()))\n"
            "native = os.timerfd_create.__module__\n"
            "print(native)\n"
        )
        result = support.run_python(code)
        self.assertEqual(result.returncode, 0, result.stderr)
        installed, module = result.stdout.splitlines()
        self.assertEqual(installed, "[]")  # a second install adds nothing anywhere
        if sys.version_info >= (3, 13):
            self.assertEqual(module, "posix")  # 3.13's own functions are kept

    def test_os_functions_are_tfd_before_313(self):
        if sys.version_info >= (3, 13):
            self.skipTest("os has its own timerfd functions from 3.13")
        result = support.run_python(
            "import os, tfd.backport, tfd; print(os.timerfd_create is tfd.timerfd_create, "
            "'timerfd_create' in os.__all__)"
        )
        self.assertEqual(result.stdout.strip(), "True True", result.stderr)


if __name__ == "__main__":
    unittest.main()

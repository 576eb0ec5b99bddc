"""tfd's functions against CPython 3.13's os.timerfd_*, call for call (see differential.py)."""

import json
import os
import subprocess
import sys
import unittest

import differential
import support
import tfd


class DifferentialTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        python, reason = support.reference_python()
        if python is None:
            raise unittest.SkipTest(reason)
        script = os.path.join(support.HERE, "differential.py")
        # -I: the reference must run the real os module, not anything on our PYTHONPATH.
        output = subprocess.run(
            [python, "-I", script, "os"], capture_output=True, text=True, timeout=120
        )
        if output.returncode != 0:
            raise AssertionError(f"reference run failed:\n{output.stderr}")
        cls.reference = json.loads(output.stdout)
        cls.ours = differential.evaluate(tfd)

    def test_every_case_matches(self):
        self.assertEqual(len(self.reference["cases"]), len(differential.CASES))
        for case, expected, actual in zip(
            differential.CASES, self.reference["cases"], self.ours["cases"]
        ):
            with self.subTest(case=case):
                self.assertEqual(actual, expected)

    def test_signatures_match(self):
        self.assertEqual(self.ours["signatures"], self.reference["signatures"])

    def test_constants_match(self):
        self.assertEqual(self.ours["constants"], self.reference["constants"])

    def test_cases_cover_every_function(self):
        for name in differential.FUNCTIONS:
            with self.subTest(name=name):
                self.assertTrue(any(f"f.{name}(" in case for case in differential.CASES))


@unittest.skipUnless(sys.version_info >= (3, 13), "os.timerfd_* exists from CPython 3.13")
class SameInterpreterTest(unittest.TestCase):
    """On 3.13 itself the comparison also runs in one process, with no JSON in between."""

    def test_in_process(self):
        ours = differential.evaluate(tfd)
        native = differential.evaluate(os)
        for case, expected, actual in zip(differential.CASES, native["cases"], ours["cases"]):
            with self.subTest(case=case):
                self.assertEqual(actual, expected)


if __name__ == "__main__":
    unittest.main()

"""The typed import pattern docs/python.md gives for the backport, checked with mypy (when
installed: Debian's mypy) as the interpreter under test's version."""

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

import tfd

# The pattern from docs/python.md, "Type checking": the names come from os on 3.13+ and
# from tfd before, so the checker sees real declarations on every version.
PATTERN = textwrap.dedent(
    """
    import sys
    import time

    if sys.version_info >= (3, 13):
        from os import TFD_NONBLOCK, timerfd_create, timerfd_settime
    else:
        from tfd import TFD_NONBLOCK, timerfd_create, timerfd_settime

    fd: int = timerfd_create(time.CLOCK_MONOTONIC, flags=TFD_NONBLOCK)
    previous = timerfd_settime(fd, initial=1.0, interval=0.5)
    seconds: float = previous[0]
    """
)

# What the pattern avoids: the checker reads os from its own stubs, where 3.8-3.12 have no
# timerfd_*, whatever tfd.backport adds at run time.
NAIVE = textwrap.dedent(
    """
    import os
    import time
    import tfd.backport

    fd = os.timerfd_create(time.CLOCK_MONOTONIC)
    """
)

# And Timer's annotations are visible.
TIMER = textwrap.dedent(
    """
    import tfd

    async def main() -> int:
        with tfd.Timer("monotonic", nonblocking=True) as timer:
            timer.start(0.5, interval=0.5)
            total = 0
            async for count in timer:
                total += count
            return total + await timer.wait()
    """
)

# tfd.aio's stubs: wait_timer takes the public tfd.Timer, and hold_time() does not swallow
# exceptions (a `with` block that returns needs no return after it).
AIO = textwrap.dedent(
    """
    import tfd
    import tfd.aio

    async def tick(timer: tfd.Timer) -> int:
        return await tfd.aio.wait_timer(timer)

    def held(loop: tfd.aio.EventLoop) -> int:
        with loop.hold_time():
            return 1
    """
)


@unittest.skipIf(shutil.which("mypy") is None, "mypy is not installed (Debian: apt-get install mypy)")
@unittest.skipIf(
    sys.version_info >= (3, 13),
    "Debian 12's mypy (1.0.1) ships stubs from before os.timerfd_* existed",
)
class TypedImportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # One mypy cache for the three runs: the standard library's stubs are analysed once.
        cls.scratch = tempfile.mkdtemp(prefix="tfd-typing-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.scratch, ignore_errors=True)

    def mypy(self, source):
        version = f"{sys.version_info[0]}.{sys.version_info[1]}"
        path = os.path.join(self.scratch, f"{self.id().rsplit('.', 1)[-1]}.py")
        with open(path, "w") as out:
            out.write(source)
        env = dict(os.environ, MYPYPATH=os.path.dirname(os.path.dirname(tfd.__file__)))
        return subprocess.run(
            ["mypy", "--python-version", version, "--cache-dir",
             os.path.join(self.scratch, "cache"), "--strict", path],
            capture_output=True, text=True, env=env, timeout=120,
        )

    def test_pattern_type_checks(self):
        result = self.mypy(PATTERN)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_naive_os_spelling_does_not(self):
        result = self.mypy(NAIVE)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('has no attribute "timerfd_create"', result.stdout)

    def test_timer_is_typed(self):
        result = self.mypy(TIMER)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_aio_is_typed(self):
        result = self.mypy(AIO)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_stubs_check_themselves(self):
        # The stubs must type-check as written (an override that does not fit its asyncio
        # base, a name they import that does not exist), not only the code that uses them.
        root = os.path.dirname(os.path.dirname(tfd.__file__))
        stubs = [os.path.join("tfd", name) for name in ("__init__.pyi", "_tfd.pyi", "backport.pyi")]
        stubs += [os.path.join("tfd", "aio", name) for name in ("__init__.pyi", "testing.pyi")]
        version = f"{sys.version_info[0]}.{sys.version_info[1]}"
        result = subprocess.run(
            ["mypy", "--python-version", version, "--cache-dir",
             os.path.join(self.scratch, "cache"), "--strict", *stubs],
            capture_output=True, text=True, cwd=root, timeout=120,
        )
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)


if __name__ == "__main__":
    unittest.main()

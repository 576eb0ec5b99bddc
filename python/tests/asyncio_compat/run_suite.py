"""Runs one of CPython's own asyncio test modules against tfd.aio.EventLoop.

    python run_suite.py MODULE|all [-v]

MODULE is test_events, test_sock_lowlevel, test_sendfile, test_server or test_buffered_proto
(from the interpreter's own `test.test_asyncio`).  Each test class CPython runs on its epoll
selector loop (or its default selector loop) is subclassed here so that it creates a
tfd.aio.EventLoop instead, exactly as CPython's EPollEventLoopTests creates its loop; classes
built on IsolatedAsyncioTestCase run with tfd.aio installed as the event loop policy.  Every
test whose name is in skips.SKIPS is skipped with the reason given there (docs/asyncio.md
lists them); everything else must pass.
"""

import asyncio
import importlib
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tfd.aio  # noqa: E402
from skips import SKIPS  # noqa: E402

# The classes of each module that CPython runs on the selector loop with epoll, and the
# method that makes their loop.
LOOP_CLASSES = {
    "test_events": {"EPollEventLoopTests": "create_event_loop"},
    "test_sock_lowlevel": {"EPollEventLoopTests": "create_event_loop"},
    "test_sendfile": {"EPollEventLoopTests": "create_event_loop"},
    "test_server": {"SelectorStartServerTests": "new_loop"},
    "test_buffered_proto": {"BufferedProtocolSelectorTests": "new_loop"},
}
# Classes that get their loop from the policy (IsolatedAsyncioTestCase).
POLICY_CLASSES = {
    "test_server": ("TestServer2", "UnixServerCleanupTests"),
}


def make_loop():
    return tfd.aio.EventLoop()


def derive(module_name, base, maker):
    def create(self):
        return make_loop()

    namespace = {maker: create, "__module__": __name__}
    return type("Tfd" + base.__name__, (base,), namespace)


def derive_policy(base):
    async def check_loop(self):
        loop = asyncio.get_running_loop()
        assert isinstance(loop, tfd.aio.EventLoop), f"running on {type(loop)!r}"
        await base.asyncSetUp(self)

    return type("Tfd" + base.__name__, (base,), {"asyncSetUp": check_loop, "__module__": __name__})


def apply_skips(module_name, cls):
    version = sys.version_info[:2]
    for (module, test, versions), reason in SKIPS.items():
        if module != module_name or not hasattr(cls, test):
            continue
        if versions is not None and version not in versions:
            continue
        setattr(cls, test, unittest.skip(reason)(getattr(cls, test)))


def suite_for(module_name):
    module = importlib.import_module("test.test_asyncio." + module_name)
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for name, maker in LOOP_CLASSES[module_name].items():
        cls = derive(module_name, getattr(module, name), maker)
        apply_skips(module_name, cls)
        suite.addTests(loader.loadTestsFromTestCase(cls))
    for name in POLICY_CLASSES.get(module_name, ()):
        base = getattr(module, name, None)
        if base is None:
            continue  # not in this version
        cls = derive_policy(base)
        apply_skips(module_name, cls)
        suite.addTests(loader.loadTestsFromTestCase(cls))
    return module, suite


def run_all(options):
    """Each module in its own interpreter (they install policies and watchers)."""
    import subprocess

    failed = []
    for module_name in LOOP_CLASSES:
        rc = subprocess.call([sys.executable, os.path.abspath(__file__), module_name, *options])
        if rc != 0:
            failed.append(module_name)
    if failed:
        print("FAILED on tfd.aio: " + ", ".join(failed))
    return 1 if failed else 0


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "all":
        sys.exit(run_all(sys.argv[2:]))
    if len(sys.argv) < 2 or sys.argv[1] not in LOOP_CLASSES:
        sys.exit(f"usage: {sys.argv[0]} {{all,{','.join(LOOP_CLASSES)}}} [-v]")
    module_name = sys.argv[1]
    verbosity = 2 if "-v" in sys.argv[2:] else 1
    if POLICY_CLASSES.get(module_name):
        tfd.aio.install()
    module, suite = suite_for(module_name)
    result = unittest.TextTestRunner(verbosity=verbosity).run(suite)
    teardown = getattr(module, "tearDownModule", None)
    if teardown is not None:
        teardown()
    print(f"{module_name} on tfd.aio, Python {sys.version.split()[0]}: {result.testsRun} run, "
          f"{len(result.skipped)} skipped, {len(result.failures)} failed, "
          f"{len(result.errors)} errors")
    for test, reason in result.skipped:
        print(f"  skipped {test.id().rsplit('.', 1)[-1]}: {reason}")
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)


if __name__ == "__main__":
    main()

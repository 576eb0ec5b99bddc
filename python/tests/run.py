"""Runs the tfd Python test suite on the interpreter that runs this file.

CTest starts it once per CPython version with PYTHONPATH pointing at that version's build of
the package.  It prints which interpreter and which tfd it tests, so a log says what ran.
"""

import os
import sys
import unittest


def main() -> int:
    import tfd

    here = os.path.dirname(os.path.abspath(__file__))
    print(f"Python {sys.version.split()[0]} ({sys.executable})")
    print(f"tfd from {os.path.dirname(tfd.__file__)}")
    suite = unittest.defaultTestLoader.discover(here, pattern="test_*.py", top_level_dir=here)
    result = unittest.TextTestRunner(verbosity=1 if len(sys.argv) < 2 else 2).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())

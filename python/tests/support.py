"""Helpers shared by the tfd test modules."""

import os
import subprocess
import sys

SOURCE_DIR = os.environ.get(
    "TFD_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
)
EXAMPLES_DIR = os.path.join(SOURCE_DIR, "examples", "python")
HERE = os.path.dirname(os.path.abspath(__file__))
SANITIZED = bool(os.environ.get("TFD_SANITIZED"))


def reference_python():
    """CPython 3.13 (the reference implementation), or None with the reason it is missing."""
    path = os.environ.get("TFD_REFERENCE_PYTHON")
    if not path:
        if sys.version_info[:2] == (3, 13):
            return sys.executable, None
        return None, "TFD_REFERENCE_PYTHON is not set (no CPython 3.13 found at configure time)"
    if not os.path.exists(path):
        return None, f"reference interpreter {path} does not exist"
    return path, None


def open_fds():
    return set(os.listdir("/proc/self/fd"))


def run_python(code, *args, env=None, timeout=60):
    """Runs `code` in a fresh interpreter (this one) with the same tfd on the path."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )

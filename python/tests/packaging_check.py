"""The install as docs/python.md documents it, tried as a new user would, offline.

Run by CTest once per interpreter (python_install_3.X, and python_install_system for
Debian's /usr/bin/python3), not by run.py (it creates virtual environments and compiles the
extension: seconds per interpreter, too slow to repeat inside every suite run):

* the source distribution holds exactly what MANIFEST.in selects of the tracked files, and
  everything the build needs;
* a venv, `pip install --no-index <unpacked sdist>`, then tfd imports with one version
  everywhere (VERSION, the metadata, ``tfd.__version__``), has no test seam, and waits;
* with no C++ compiler, pip shows tfd's one-line explanation, not a traceback;
* with TFD_PACKAGING_SYSTEM=1 (Debian's python3): also a venv with
  --system-site-packages and `pip install -e`, where Debian's python3-trio is importable and
  an edit of the sources is seen at once.

A missing tool (the venv module's ensurepip, git) skips the checks that need it, with the
reason printed.
"""

import fnmatch
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest

SOURCE_DIR = os.environ.get(
    "TFD_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
)
SYSTEM = os.environ.get("TFD_PACKAGING_SYSTEM") == "1"
PIP = ["-m", "pip", "--disable-pip-version-check", "--no-input"]
OFFLINE = ["--no-index", "--no-deps", "--quiet"]

sys.path.insert(0, os.path.join(SOURCE_DIR, "python", "build_backend"))
import tfd_build  # noqa: E402

SMOKE = """
import asyncio, importlib.metadata, sys, tfd
assert tfd.__version__ == importlib.metadata.version("tfd") == sys.argv[1], tfd.__version__
assert not hasattr(tfd._tfd, "_inject_fault"), "the test seam is in the installed module"
async def main():
    with tfd.Timer() as timer:
        timer.start(0.01, interval=0.01)
        counts = await asyncio.gather(timer.wait(), timer.wait())
        assert counts[0] == counts[1] >= 1, counts
asyncio.run(asyncio.wait_for(main(), 10))
print(tfd.__file__)
"""


def run(command, **kwargs):
    # -O0: these builds are checked for working, not for speed, and compile twice as fast.
    env = dict(os.environ, PIP_ROOT_USER_ACTION="ignore", PYTHONDONTWRITEBYTECODE="1",
               TFD_CXXFLAGS="-O0")
    env.pop("PYTHONPATH", None)
    env.update(kwargs.pop("env", {}))
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, **kwargs)


def package_files(top):
    """The package's files below `top`, relative, without compiled modules and caches."""
    found = set()
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if not name.endswith((".so", ".pyc")):
                found.add(os.path.relpath(os.path.join(folder, name), top))
    return sorted(found)


def manifest_rules():
    """MANIFEST.in as (directive, arguments) pairs, read here independently of the backend."""
    with open(os.path.join(SOURCE_DIR, "MANIFEST.in")) as manifest:
        for line in manifest:
            words = line.split("#", 1)[0].split()
            if words:
                yield words[0], words[1:]


def selected_by_manifest(paths):
    """The subset of `paths` (relative, '/'-separated) that MANIFEST.in's rules select."""
    chosen = set()
    for directive, arguments in manifest_rules():
        if directive == "include":
            chosen |= {p for p in paths if any(fnmatch.fnmatchcase(p, a) for a in arguments)}
        elif directive == "recursive-include":
            top, patterns = arguments[0].rstrip("/") + "/", arguments[1:]
            chosen |= {
                p for p in paths
                if p.startswith(top) and any(fnmatch.fnmatchcase(p.rsplit("/", 1)[-1], a) for a in patterns)
            }
        elif directive == "global-exclude":
            chosen = {p for p in chosen if not any(fnmatch.fnmatchcase(p.rsplit("/", 1)[-1], a) for a in arguments)}
        elif directive == "prune":
            chosen = {p for p in chosen if not p.startswith(arguments[0].rstrip("/") + "/")}
    return chosen


def tracked_files():
    """The repository's files git knows or would add (tracked, and untracked but not
    ignored: a new source not committed yet), or None without git or outside a checkout."""
    if shutil.which("git") is None:
        return None
    result = run(["git", "-C", SOURCE_DIR, "ls-files", "-z", "--cached", "--others",
                  "--exclude-standard"])
    if result.returncode != 0:
        return None
    return {p for p in result.stdout.split("\0") if p and os.path.isfile(os.path.join(SOURCE_DIR, p))}


class Scratch(unittest.TestCase):
    """A scratch directory with the sdist built and unpacked in it, shared by every test of
    this run (as are the venvs, made once per name)."""

    scratch = None

    @classmethod
    def setUpClass(cls):
        if Scratch.scratch is not None:
            return
        Scratch.scratch = tempfile.mkdtemp(prefix="tfd-packaging-")
        name = tfd_build.build_sdist(Scratch.scratch)
        Scratch.sdist = os.path.join(Scratch.scratch, name)
        with tarfile.open(Scratch.sdist) as archive:
            Scratch.members = [m.name for m in archive.getmembers() if m.isfile()]
            extract = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            archive.extractall(Scratch.scratch, **extract)
        Scratch.unpacked = os.path.join(Scratch.scratch, f"tfd-{tfd_build.VERSION}")

    def venv(self, name, *options):
        """A venv from this interpreter (made once per class and name); its python, or a skip
        saying what is missing."""
        path = os.path.join(self.scratch, name)
        python = os.path.join(path, "bin", "python")
        if os.path.exists(python):
            return python
        result = run([sys.executable, "-m", "venv", *options, path])
        if result.returncode != 0:
            reason = (result.stdout + result.stderr).strip().splitlines()
            hint = " (Debian: apt-get install python3-venv)" if "ensurepip" in result.stdout + result.stderr else ""
            self.skipTest(f"{sys.executable} -m venv failed{hint}: {reason[-1] if reason else ''}")
        return os.path.join(path, "bin", "python")

    def assert_ok(self, result, what):
        self.assertEqual(result.returncode, 0, f"{what} failed:\n{result.stdout}\n{result.stderr}")


class SdistTest(Scratch):
    def test_contents_are_what_manifest_in_selects(self):
        base = f"tfd-{tfd_build.VERSION}/"
        inside = {m[len(base):] for m in self.members}
        self.assertIn("PKG-INFO", inside)
        inside.discard("PKG-INFO")
        tracked = tracked_files()
        if tracked is None:
            print("\n  (git or a checkout is missing: comparing with the backend's own walk)")
            tracked = set(tfd_build.manifest_files())
        # Exactly the files MANIFEST.in selects of those git knows: nothing missing, nothing
        # extra (build products, editable-install modules, caches are ignored by git).
        self.assertEqual(sorted(inside - selected_by_manifest(tracked)), [])
        self.assertEqual(sorted(selected_by_manifest(tracked) - inside), [])

    def test_holds_what_the_build_reads(self):
        base = f"tfd-{tfd_build.VERSION}/"
        inside = {m[len(base):] for m in self.members}
        needed = {"pyproject.toml", "VERSION", "MANIFEST.in", "python/library_sources.txt",
                  "python/build_backend/tfd_build.py", "docs/python.md", "python/tfd/py.typed"}
        with open(os.path.join(SOURCE_DIR, "python", "library_sources.txt")) as listing:
            needed |= {l.strip() for l in listing if l.strip() and not l.startswith("#")}
        self.assertEqual(sorted(needed - inside), [])
        self.assertFalse([m for m in inside if m.endswith((".so", ".pyc", ".o"))])

    def test_metadata_version_is_the_version_file(self):
        with open(os.path.join(SOURCE_DIR, "VERSION")) as file:
            version = file.read().strip()
        with open(os.path.join(self.unpacked, "PKG-INFO")) as info:
            self.assertIn(f"\nVersion: {version}\n", info.read())


class VenvInstallTest(Scratch):
    def test_install_into_a_venv(self):
        python = self.venv("plain")
        self.assert_ok(run([python, *PIP, "install", *OFFLINE, self.unpacked]), "pip install")
        result = run([python, "-c", SMOKE, tfd_build.VERSION], cwd=self.scratch)
        self.assert_ok(result, "the installed tfd")
        installed = os.path.dirname(result.stdout.strip())
        self.assertTrue(installed.startswith(os.path.join(self.scratch, "plain")), installed)
        # Every file of the package, subpackages included, was installed.
        self.assertEqual(package_files(installed), package_files(os.path.join(SOURCE_DIR, "python", "tfd")))

    def test_no_compiler_is_one_clear_sentence(self):
        python = self.venv("plain")
        result = run([python, *PIP, "install", *OFFLINE, "--force-reinstall", self.unpacked],
                     env={"CXX": "/nonexistent/g++"})
        self.assertNotEqual(result.returncode, 0)
        output = result.stdout + result.stderr
        self.assertIn("tfd: no C++ compiler: '/nonexistent/g++' does not exist or is not "
                      "executable", output)
        self.assertNotIn("Traceback", output)
        self.assertNotIn("FileNotFoundError", output)


@unittest.skipUnless(SYSTEM, "set TFD_PACKAGING_SYSTEM=1 (CTest does for Debian's python3)")
class SystemPythonTest(Scratch):
    """Debian's python3: PEP 668 forbids installing into it, so a venv; Debian's python3-trio
    is visible only with --system-site-packages."""

    def test_editable_install_with_system_site_packages(self):
        python = self.venv("editable", "--system-site-packages")
        self.assert_ok(run([python, *PIP, "install", *OFFLINE, "-e", self.unpacked]),
                       "pip install -e")
        package = os.path.join(self.unpacked, "python", "tfd")
        result = run([python, "-c", SMOKE, tfd_build.VERSION], cwd=self.scratch)
        self.assert_ok(result, "the editable tfd")
        self.assertEqual(result.stdout.strip(), os.path.join(package, "__init__.py"))
        # An edit of the Python sources applies without reinstalling.
        edited = os.path.join(package, "_edited.py")
        with open(edited, "w") as edit:
            edit.write("VALUE = 42\n")
        try:
            result = run([python, "-c", "import tfd._edited; print(tfd._edited.VALUE)"],
                         cwd=self.scratch)
        finally:
            os.remove(edited)  # the unpacked sdist is shared with the other tests
        self.assert_ok(result, "importing an edited module")
        self.assertEqual(result.stdout.strip(), "42")
        # trio from Debian's packages, through the system site-packages.
        probe = run([python, "-c", "import trio"])
        if probe.returncode != 0:
            print("\n  (python3-trio is not installed: the trio check is skipped)")
            return
        trio_check = (
            "import tfd, trio\n"
            "async def main():\n"
            "    with tfd.Timer() as t:\n"
            "        t.start(0.01)\n"
            "        return [c async for c in tfd.trio_ticks(t)]\n"
            "assert trio.run(main) == [1]\n"
        )
        self.assert_ok(run([python, "-c", trio_check], cwd=self.scratch), "trio in the venv")

    def test_without_system_site_packages_trio_is_not_visible(self):
        python = self.venv("plain")
        self.assertNotEqual(run([python, "-c", "import trio"]).returncode, 0)


def tearDownModule():
    if Scratch.scratch is not None:
        shutil.rmtree(Scratch.scratch, ignore_errors=True)


if __name__ == "__main__":
    print(f"Python {sys.version.split()[0]} ({sys.executable}), sources in {SOURCE_DIR}")
    unittest.main(verbosity=2)

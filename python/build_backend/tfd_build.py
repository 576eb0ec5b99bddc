"""A PEP 517 build backend for tfd that needs nothing but the interpreter and a C++ compiler.

Why not setuptools: this machine is offline, `pip install .` would need setuptools and wheel
in an isolated build environment, and several interpreters here (3.12, 3.13) have neither.
The package is one C++ extension plus pure-Python files, so building it is a few compiler
invocations and a zip file: this module does exactly that, with the interpreter's own
sysconfig (include directory, extension suffix, platform tag).

Environment: CXX picks the compiler (default g++), TFD_CXXFLAGS adds flags.

What it reads, each written once for the whole project: the version (VERSION), the sources
(every python/src/*.cpp plus python/library_sources.txt), the sdist's contents (MANIFEST.in).
"""

import base64
import fnmatch
import io
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile

NAME = "tfd"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE_DIR = os.path.join(ROOT, "python", "tfd")
SUMMARY = "Linux timer file descriptors: CPython 3.13's os.timerfd_* on 3.8+, and a Timer"
INCLUDE_DIRS = ("python/src", "src", "include")


def _version():
    """The project's version, written once in the top-level VERSION file (CMake reads it too)."""
    with open(os.path.join(ROOT, "VERSION"), encoding="utf-8") as file:
        return file.readline().strip()


VERSION = _version()


def _binding_sources():
    """Every python/src/*.cpp, then the library sources listed in python/library_sources.txt:
    the same files CMake compiles (python/CMakeLists.txt), minus its test-only ones."""
    folder = os.path.join(ROOT, "python", "src")
    names = sorted(n for n in os.listdir(folder) if n.endswith(".cpp"))
    sources = [os.path.join("python", "src", n) for n in names]
    with open(os.path.join(ROOT, "python", "library_sources.txt"), encoding="utf-8") as listing:
        for line in listing:
            line = line.strip()
            if line and not line.startswith("#"):
                sources.append(line)
    return sources


def _tag():
    interpreter = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    abi = interpreter + getattr(sys, "abiflags", "")
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"{interpreter}-{abi}-{platform}"


def _metadata():
    readme_path = os.path.join(ROOT, "docs", "python.md")
    with open(readme_path, encoding="utf-8") as readme:
        description = readme.read()
    return (
        "Metadata-Version: 2.1\n"
        f"Name: {NAME}\nVersion: {VERSION}\nSummary: {SUMMARY}\n"
        "Requires-Python: >=3.8\n"
        "Classifier: Operating System :: POSIX :: Linux\n"
        "Classifier: Programming Language :: Python :: Implementation :: CPython\n"
        "Description-Content-Type: text/markdown\n\n" + description
    )


def _wheel_file():
    return (
        f"Wheel-Version: 1.0\nGenerator: tfd_build {VERSION}\n"
        f"Root-Is-Purelib: false\nTag: {_tag()}\n"
    )


class BuildError(Exception):
    """A build that cannot work here, with what to do about it."""


def _fail(message):
    # pip prints a backend's traceback in full; a missing compiler deserves a sentence, so
    # the message goes to stderr and the hook exits without a traceback.
    sys.stderr.write(f"\ntfd: {message}\n\n")
    sys.stderr.flush()
    raise SystemExit(1)


_PROBE = "#include <concepts>\ntemplate <std::integral T> T twice(T x) { return 2 * x; }\nint main() { return twice(0); }\n"


def _compiler():
    """The C++ compiler command (CXX, default g++), checked to exist and to speak C++20."""
    cxx = shlex.split(os.environ.get("CXX", "g++"))
    if not cxx or shutil.which(cxx[0]) is None:
        name = cxx[0] if cxx else "(empty CXX)"
        where = "does not exist or is not executable" if os.sep in name else "is not on PATH"
        raise BuildError(
            f"no C++ compiler: {name!r} {where}.  Building tfd needs a C++20 compiler, "
            "g++ 10 or later (Debian: apt-get install g++), or set CXX to one."
        )
    probe = subprocess.run(
        cxx + ["-std=c++20", "-x", "c++", "-fsyntax-only", "-"],
        input=_PROBE, capture_output=True, text=True,
    )
    if probe.returncode != 0:
        detail = (probe.stderr.strip().splitlines() or ["no output"])[0]
        raise BuildError(
            f"{' '.join(cxx)} cannot compile C++20 ({detail}).  Building tfd needs g++ 10 or "
            "later, or set CXX to a C++20 compiler."
        )
    include = sysconfig.get_paths()["include"]
    if not os.path.exists(os.path.join(include, "Python.h")):
        raise BuildError(
            f"Python.h is missing from {include}: install this interpreter's headers "
            f"(Debian: apt-get install python3-dev)."
        )
    return cxx


def _parallel_jobs():
    """How many compilers run at once: $JOBS (as for make), else one per processor this
    process may use.  Each takes a few hundred MB at -O2."""
    jobs = os.environ.get("JOBS", "")
    if jobs.isdigit() and int(jobs) > 0:
        return int(jobs)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _run_all(commands, limit):
    """Runs `commands`, at most `limit` at a time; True when every one succeeded.  Each
    started process is waited for, also after a failure."""
    running, ok = [], True
    for command in commands:
        if len(running) >= limit:
            ok = running.pop(0).wait() == 0 and ok
        running.append(subprocess.Popen(command))
    for job in running:
        ok = job.wait() == 0 and ok
    return ok


def _compile(build_dir, testing=False):
    """Compiles the extension into build_dir and returns its path."""
    cxx = _compiler()
    flags = ["-std=c++20", "-O2", "-g0", "-fPIC", "-fvisibility=hidden", "-DNDEBUG"]
    flags.append(f'-DTFD_VERSION="{VERSION}"')
    flags += shlex.split(os.environ.get("TFD_CXXFLAGS", ""))
    includes = ["-isystem", sysconfig.get_paths()["include"]]
    includes += [f"-I{os.path.join(ROOT, d)}" for d in INCLUDE_DIRS]
    commands, objects = [], []
    for index, source in enumerate(_binding_sources()):
        obj = os.path.join(build_dir, f"{index}.o")
        commands.append(cxx + flags + includes + ["-c", os.path.join(ROOT, source), "-o", obj])
        objects.append(obj)
    if not _run_all(commands, _parallel_jobs()):
        raise BuildError("compiling the tfd extension failed (see the compiler output above)")
    output = os.path.join(build_dir, "_tfd" + sysconfig.get_config_var("EXT_SUFFIX"))
    if subprocess.run(cxx + ["-shared", "-o", output] + objects).returncode != 0:
        raise BuildError("linking the tfd extension failed (see the linker output above)")
    return output


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def _package_files():
    """(path, name in the wheel) of every file of the tfd package, subpackages included;
    compiled modules (an editable install's) and caches are left out."""
    for folder, dirs, files in os.walk(PACKAGE_DIR):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        relative = os.path.relpath(folder, PACKAGE_DIR)
        for name in sorted(files):
            if not name.endswith((".so", ".pyc")):
                inside = name if relative == "." else f"{relative}/{name}"
                yield os.path.join(folder, name), f"{NAME}/{inside}"


def manifest_files(root=ROOT):
    """The repository files MANIFEST.in selects, as sorted relative paths: the contents of
    the source distribution.  Understands the directives MANIFEST.in uses here: include,
    recursive-include, global-exclude and prune."""
    selected = set()
    with open(os.path.join(root, "MANIFEST.in"), encoding="utf-8") as manifest:
        lines = [line.split("#", 1)[0].split() for line in manifest]
    # Only the top-level entries the directives name are walked (not build trees).
    tops = {a.split("/", 1)[0] for w in lines if w and w[0] in ("include", "recursive-include")
            for a in (w[1:2] if w[0] == "recursive-include" else w[1:])}
    everything = []
    for folder, dirs, files in os.walk(root):
        relative = os.path.relpath(folder, root)
        dirs[:] = sorted(
            d for d in dirs
            if not d.startswith(".") and d != "__pycache__" and (relative != "." or d in tops)
        )
        for name in files:
            everything.append(os.path.normpath(os.path.join(relative, name)))
    for words in lines:
        if not words:
            continue
        directive, arguments = words[0], words[1:]
        if directive == "include":
            selected.update(p for p in everything if any(fnmatch.fnmatchcase(p, a) for a in arguments))
        elif directive == "recursive-include":
            prefix = arguments[0].rstrip("/") + "/"
            selected.update(
                p for p in everything
                if p.startswith(prefix)
                and any(fnmatch.fnmatchcase(os.path.basename(p), a) for a in arguments[1:])
            )
        elif directive == "global-exclude":
            selected = {
                p for p in selected
                if not any(fnmatch.fnmatchcase(os.path.basename(p), a) for a in arguments)
            }
        elif directive == "prune":
            prefix = arguments[0].rstrip("/") + "/"
            selected = {p for p in selected if not p.startswith(prefix)}
        else:
            raise BuildError(f"MANIFEST.in: unsupported directive {directive!r}")
    return sorted(selected)


def _dist_info(archive_add, tag_line=None):
    """Writes METADATA and WHEEL through archive_add(arcname, bytes); returns RECORD lines."""
    dist_info = f"{NAME}-{VERSION}.dist-info"
    record = []
    for name, text in (("METADATA", _metadata()), ("WHEEL", _wheel_file())):
        data = text.encode("utf-8")
        archive_add(f"{dist_info}/{name}", data)
        record.append(_record_line(f"{dist_info}/{name}", data))
    return dist_info, record


def _write_wheel(wheel_directory, entries):
    """A wheel of `entries` ((arcname, bytes) pairs) plus the dist-info; returns its name."""
    wheel_name = f"{NAME}-{VERSION}-{_tag()}.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w", zipfile.ZIP_DEFLATED) as wheel:
        record = []
        for arcname, data in entries:
            wheel.writestr(arcname, data)
            record.append(_record_line(arcname, data))
        dist_info, more = _dist_info(wheel.writestr)
        record += more
        record.append(f"{dist_info}/RECORD,,")
        wheel.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return wheel_name


def _reported(hook):
    """Runs a hook; a BuildError becomes a plain message (see _fail) instead of a traceback."""

    def run(*args, **kwargs):
        try:
            return hook(*args, **kwargs)
        except BuildError as error:
            _fail(str(error))

    run.__name__ = hook.__name__
    run.__doc__ = hook.__doc__
    return run


# --- PEP 517 and PEP 660 hooks ----------------------------------------------------------


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    def add(arcname, data):
        path = os.path.join(metadata_directory, arcname)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as out:
            out.write(data)

    dist_info, _ = _dist_info(add)
    return dist_info


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


@_reported
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with tempfile.TemporaryDirectory(prefix="tfd-build-") as build_dir:
        extension = _compile(build_dir)
        entries = []
        for path, arcname in _package_files():
            with open(path, "rb") as source:
                entries.append((arcname, source.read()))
        with open(extension, "rb") as source:
            entries.append((f"{NAME}/{os.path.basename(extension)}", source.read()))
        return _write_wheel(wheel_directory, entries)


@_reported
def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """An editable install: the extension is compiled into python/tfd/ (beside the sources),
    and the wheel holds only a .pth file putting python/ on sys.path.  Edits to the .py files
    apply at once; after a change to the C++ sources, run `pip install -e .` again."""
    with tempfile.TemporaryDirectory(prefix="tfd-build-") as build_dir:
        extension = _compile(build_dir)
        shutil.copy2(extension, os.path.join(PACKAGE_DIR, os.path.basename(extension)))
    pth = (os.path.join(ROOT, "python") + "\n").encode("utf-8")
    return _write_wheel(wheel_directory, [(f"__editable__.{NAME}.pth", pth)])


@_reported
def build_sdist(sdist_directory, config_settings=None):
    base = f"{NAME}-{VERSION}"
    name = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as sdist:
        for path in manifest_files():
            sdist.add(os.path.join(ROOT, path), f"{base}/{path}", recursive=False)
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = _metadata().encode("utf-8")
        info.size = len(data)
        sdist.addfile(info, io.BytesIO(data))
    return name

"""A PEP 517 build backend for tfd that needs nothing but the interpreter and a C++ compiler.

Why not setuptools: this machine is offline, `pip install .` would need setuptools and wheel
in an isolated build environment, and several interpreters here (3.12, 3.13) have neither.
The package is one C++ extension plus pure-Python files, so building it is a few compiler
invocations and a zip file: this module does exactly that, with the interpreter's own
sysconfig (include directory, extension suffix, platform tag).

Environment: CXX picks the compiler (default g++), TFD_CXXFLAGS adds flags.
"""

import base64
import io
import hashlib
import os
import shlex
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile

NAME = "tfd"
VERSION = "0.1.0"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE_DIR = os.path.join(ROOT, "python", "tfd")
SUMMARY = "Linux timer file descriptors: CPython 3.13's os.timerfd_* on 3.8+, and a Timer"

# The binding and the C++ library sources it uses: the same files CMake compiles into it.
CORE_SOURCES = (
    "src/time_convert.cpp",
    "src/sys/sys.cpp",
    "src/clock.cpp",
    "src/unique_fd.cpp",
    "src/timer_fd.cpp",
    "src/timer_queue.cpp",
)
INCLUDE_DIRS = ("python/src", "src", "include")
SDIST_DIRS = ("python", "src", "include", "examples/python", "bench/python", "docs")


def _binding_sources():
    folder = os.path.join(ROOT, "python", "src")
    names = sorted(n for n in os.listdir(folder) if n.endswith(".cpp"))
    return [os.path.join("python", "src", n) for n in names] + list(CORE_SOURCES)


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


def _compile(build_dir):
    """Compiles the extension into build_dir and returns its path."""
    cxx = shlex.split(os.environ.get("CXX", "g++"))
    flags = ["-std=c++20", "-O2", "-g0", "-fPIC", "-fvisibility=hidden", "-DNDEBUG"]
    flags += shlex.split(os.environ.get("TFD_CXXFLAGS", ""))
    includes = ["-isystem", sysconfig.get_paths()["include"]]
    includes += [f"-I{os.path.join(ROOT, d)}" for d in INCLUDE_DIRS]
    jobs, objects = [], []
    for index, source in enumerate(_binding_sources()):
        obj = os.path.join(build_dir, f"{index}.o")
        command = cxx + flags + includes + ["-c", os.path.join(ROOT, source), "-o", obj]
        jobs.append(subprocess.Popen(command))
        objects.append(obj)
    if any(job.wait() != 0 for job in jobs):
        raise RuntimeError("compiling the tfd extension failed (see the compiler output above)")
    output = os.path.join(build_dir, "_tfd" + sysconfig.get_config_var("EXT_SUFFIX"))
    subprocess.run(cxx + ["-shared", "-o", output] + objects, check=True)
    return output


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def _package_files():
    for folder, dirs, names in os.walk(PACKAGE_DIR):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        relative = os.path.relpath(folder, PACKAGE_DIR)
        prefix = NAME if relative == "." else f"{NAME}/{relative}"
        for name in sorted(names):
            if not name.endswith((".so", ".pyc")):
                yield os.path.join(folder, name), f"{prefix}/{name}"


# --- PEP 517 hooks ------------------------------------------------------------------------


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist_info = f"{NAME}-{VERSION}.dist-info"
    target = os.path.join(metadata_directory, dist_info)
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(target, "METADATA"), "w", encoding="utf-8") as out:
        out.write(_metadata())
    with open(os.path.join(target, "WHEEL"), "w", encoding="utf-8") as out:
        out.write(_wheel_file())
    return dist_info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    wheel_name = f"{NAME}-{VERSION}-{_tag()}.whl"
    dist_info = f"{NAME}-{VERSION}.dist-info"
    with tempfile.TemporaryDirectory(prefix="tfd-build-") as build_dir:
        extension = _compile(build_dir)
        entries = list(_package_files())
        entries.append((extension, f"{NAME}/{os.path.basename(extension)}"))
        record = []
        with zipfile.ZipFile(
            os.path.join(wheel_directory, wheel_name), "w", zipfile.ZIP_DEFLATED
        ) as wheel:
            for path, arcname in entries:
                with open(path, "rb") as source:
                    data = source.read()
                wheel.writestr(arcname, data)
                record.append(_record_line(arcname, data))
            for name, text in (("METADATA", _metadata()), ("WHEEL", _wheel_file())):
                data = text.encode("utf-8")
                wheel.writestr(f"{dist_info}/{name}", data)
                record.append(_record_line(f"{dist_info}/{name}", data))
            record.append(f"{dist_info}/RECORD,,")
            wheel.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return wheel_name


def build_sdist(sdist_directory, config_settings=None):
    base = f"{NAME}-{VERSION}"
    name = f"{base}.tar.gz"

    def skip_generated(info):
        return None if "__pycache__" in info.name or info.name.endswith(".pyc") else info

    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as sdist:
        for file in ("pyproject.toml", "MANIFEST.in"):
            sdist.add(os.path.join(ROOT, file), f"{base}/{file}")
        for folder in SDIST_DIRS:
            path = os.path.join(ROOT, folder)
            if os.path.isdir(path):
                sdist.add(path, f"{base}/{folder}", filter=skip_generated)
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = _metadata().encode("utf-8")
        info.size = len(data)


        sdist.addfile(info, io.BytesIO(data))
    return name

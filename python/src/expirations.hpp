// Reading a timer's expiration count, shared by _tfd.read_expirations and TimerBase.read.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>

namespace tfd::python {

// Reads the 8-byte count with the GIL released.  Returns true with `count` set (0 when a
// non-blocking timer has nothing pending, EAGAIN, or the kernel returned 0 bytes: a clock
// jump undid the pending expiry).  A read interrupted by a signal runs the Python signal
// handlers and reads again (PEP 475).  Returns false either with a Python exception set
// (a handler raised; `error` is 0) or with `error` holding the errno to report.
bool read_expiration_count(int fd, std::uint64_t& count, int& error);

// Raises the error of a failed read_expiration_count(): `clock_changed` for ECANCELED,
// OSError otherwise.  Always returns nullptr.
PyObject* raise_read_error(int error, PyObject* clock_changed);

}  // namespace tfd::python

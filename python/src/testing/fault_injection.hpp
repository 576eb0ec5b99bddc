// Test support: failing chosen system calls of _tfd on demand (see fault_injection.cpp).
// Compiled only into test builds of the extension (TFD_PYTHON_TESTING, set by CMake for the
// per-interpreter builds the test suite runs on); the installed module has none of it.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

namespace tfd::python {

// _inject_fault(call, errno, count=1, /): the next `count` calls of `call` ("read",
// "timerfd_create", "timerfd_settime", "timerfd_gettime") fail with `errno` (0: succeed
// with a result of 0).  A count of 0 removes the fault.
PyObject* inject_fault(PyObject* module, PyObject* args);

// Adds _inject_fault to the module.  Returns -1 with an exception set on failure.
int add_testing_functions(PyObject* module);

}  // namespace tfd::python

// Test support: failing chosen system calls of _tfd on demand (see fault_injection.cpp).
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

namespace tfd::python {

// _inject_fault(call, errno, count=1, /): the next `count` calls of `call` ("read",
// "timerfd_create", "timerfd_settime", "timerfd_gettime") fail with `errno` (0: succeed
// with a result of 0).  A count of 0 removes the fault.
PyObject* inject_fault(PyObject* module, PyObject* args);

}  // namespace tfd::python

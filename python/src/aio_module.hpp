// tfd.aio's types in _tfd: AioLoopCore, AioHandle, AioTimerHandle (aio_loop.hpp,
// aio_handle.hpp).
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

namespace tfd::python {

// Adds the three types to `module`; -1 with an exception on failure.
int add_aio_types(PyObject* module);

}  // namespace tfd::python

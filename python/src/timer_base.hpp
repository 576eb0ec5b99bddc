// _tfd.TimerBase, the heap type that owns a timer descriptor (see timer_base.cpp).
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

namespace tfd::python {

// Creates the TimerBase type for `module` (a new reference, or nullptr with an exception).
PyObject* create_timer_type(PyObject* module);

}  // namespace tfd::python

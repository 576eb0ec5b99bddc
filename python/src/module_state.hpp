// Per-module state of _tfd (PEP 489 multi-phase initialisation: one instance per
// interpreter that imports the module, nothing shared through C globals).
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

namespace tfd::python {

// Invariant after a successful exec: every member is a strong, non-null reference.
struct module_state {
    // tfd.ClockChanged: the OSError subclass raised when a read reports ECANCELED.
    PyObject* clock_changed;
    // _tfd.TimerBase, the heap type tfd.Timer derives from; it carries ClockChanged as a
    // class attribute so its methods need no module state.
    PyObject* timer_type;
    // Interned parameter names in declaration order, matched against a call's kwnames.
    PyObject* create_keywords[1];   // flags
    PyObject* settime_keywords[3];  // flags, initial, interval
};

inline module_state* state_of(PyObject* module) {
    return static_cast<module_state*>(PyModule_GetState(module));
}

// The module's functions, defined in timerfd_functions.cpp.
extern PyMethodDef module_methods[];

}  // namespace tfd::python

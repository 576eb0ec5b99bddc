// _tfd.TimerBase, the heap type that owns a timer descriptor (see timer_base.cpp).
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

namespace tfd::python {

// What a Timer knows of its own schedule (TimerBase._schedule), so that waiting for a
// periodic timer needs no system call.  Set by tfd.Timer's start()/stop() and by reads; only
// `periodic` is trusted without asking the kernel (nothing but stop(), which knows, or a raw
// timerfd_settime on the descriptor ends it).  The module exports the values as
// _SCHEDULE_UNKNOWN ... _SCHEDULE_DISARMED for the Python side.
enum class schedule : int {
    unknown = 0,   // never armed through the Timer, or armed through its descriptor
    once = 1,      // a one-shot expiry is due or pending
    periodic = 2,  // armed with an interval
    disarmed = 3,  // stopped, or a one-shot whose expiry was read
};

// Creates the TimerBase type for `module` (a new reference, or nullptr with an exception).
PyObject* create_timer_type(PyObject* module);

}  // namespace tfd::python

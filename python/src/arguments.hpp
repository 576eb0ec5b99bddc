// Argument conversion with CPython 3.13's exact semantics, on every CPython from 3.8.
//
// The os.timerfd_* functions of CPython 3.13 parse their arguments with Argument Clinic and
// the converters `int`, `fildes`, `double` and `long long`.  Those converters changed between
// 3.8 and 3.13 (3.8 still honoured __int__, rejected floats with another message, formatted
// argument-count errors differently), so calling the host interpreter's own helpers would
// give each version its own errors.  The functions here re-implement the 3.13 rules on top of
// primitives whose behaviour never changed (PyLong_AsLongAndOverflow on a real int,
// PyLong_AsDouble, the nb_index / nb_float slots), so that every supported interpreter raises
// the same exception type with the same message, in the same order, as 3.13's os module.
//
// Every function returns false with a Python exception set on failure.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

namespace tfd::python {

// An integer from any object with __index__ (3.13's _PyNumber_Index): a new reference to an
// int, or nullptr with TypeError ("'T' object cannot be interpreted as an integer").
PyObject* to_index(PyObject* obj);

// The `int` converter (PyLong_AsInt): __index__, then OverflowError outside C int.
bool to_c_int(PyObject* obj, int& out);

// The `long long` converter (PyLong_AsLongLong): __index__, then OverflowError outside
// 64 bits ("int too big to convert").
bool to_long_long(PyObject* obj, long long& out);

// The `double` converter (PyFloat_AsDouble): float, __float__, or __index__.
bool to_double(PyObject* obj, double& out);

// The `fildes` converter (PyObject_AsFileDescriptor): an int or an object whose fileno()
// returns one; a negative descriptor is ValueError.
bool to_fd(PyObject* obj, int& out);

// Binds the arguments of a function shaped `name(x, /, *, k0=..., k1=..., ...)` the way
// 3.13's _PyArg_UnpackKeywords does, with its error messages.  `keywords` holds `nkeywords`
// interned names; on success `bound[i]` is the (borrowed) value passed for keywords[i], or
// nullptr when it was not passed.
bool bind_one_positional(const char* fname, PyObject* const* args, Py_ssize_t nargs,
                         PyObject* kwnames, PyObject* const* keywords, Py_ssize_t nkeywords,
                         PyObject** bound);

// Checks a call against a METH_O function named `qualified` ("posix.timerfd_gettime"), the
// shape 3.13 gives timerfd_gettime and timerfd_gettime_ns.
bool check_single_argument(const char* qualified, Py_ssize_t nargs, PyObject* kwnames);

}  // namespace tfd::python

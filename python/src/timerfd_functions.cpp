// The os.timerfd_* functions of CPython 3.13, and the read helper tfd.Timer is built on.
//
// Each function binds and converts every argument first (in declaration order, as Argument
// Clinic does), then checks ranges, then makes one system call with the GIL released.  Time
// conversions are the C++ library's (tfd/time_convert.hpp), which follow CPython's rounding,
// and the system calls go through the library's seam (src/sys/sys.hpp).
#include <cerrno>
#include <chrono>
#include <cstdint>

#include "arguments.hpp"
#include "expirations.hpp"
#include "module_state.hpp"
#include "suggestion.hpp"
#include "sys/sys.hpp"
#include "tfd/time_convert.hpp"

namespace tfd::python {
namespace {

using std::chrono::nanoseconds;

PyObject* pair(PyObject* first, PyObject* second) {
    if (first == nullptr || second == nullptr) {
        Py_XDECREF(first);
        Py_XDECREF(second);
        return nullptr;
    }
    PyObject* tuple = PyTuple_New(2);
    if (tuple == nullptr) {
        Py_DECREF(first);
        Py_DECREF(second);
        return nullptr;
    }
    PyTuple_SET_ITEM(tuple, 0, first);
    PyTuple_SET_ITEM(tuple, 1, second);
    return tuple;
}

PyObject* seconds_pair(const itimerspec& spec) {
    return pair(PyFloat_FromDouble(timespec_to_seconds(spec.it_value)),
                PyFloat_FromDouble(timespec_to_seconds(spec.it_interval)));
}

PyObject* nanoseconds_pair(const itimerspec& spec) {
    return pair(PyLong_FromLongLong(timespec_to_ns(spec.it_value).count()),
                PyLong_FromLongLong(timespec_to_ns(spec.it_interval).count()));
}

// Converts the optional `flags` argument (absent: 0).
bool optional_flags(PyObject* value, int& flags) {
    flags = 0;
    return value == nullptr || to_c_int(value, flags);
}

// timerfd_settime(2) with the GIL released; on failure raises OSError and returns false.
// errno is saved across re-acquiring the GIL, which may run code that changes it.
bool settime(int fd, int flags, nanoseconds initial, nanoseconds interval, itimerspec& old) {
    itimerspec spec{};
    spec.it_value = ns_to_timespec(initial);
    spec.it_interval = ns_to_timespec(interval);
    PyThreadState* saved = PyEval_SaveThread();
    int result = sys::timerfd_settime(fd, flags, &spec, &old);
    int error = errno;
    PyEval_RestoreThread(saved);
    if (result < 0) {
        errno = error;
        PyErr_SetFromErrno(PyExc_OSError);
        return false;
    }
    return true;
}

bool gettime(PyObject* fd_object, itimerspec& spec) {
    int fd = 0;
    if (!to_fd(fd_object, fd)) {
        return false;
    }
    PyThreadState* saved = PyEval_SaveThread();
    int result = sys::timerfd_gettime(fd, &spec);
    int error = errno;
    PyEval_RestoreThread(saved);
    if (result < 0) {
        errno = error;
        PyErr_SetFromErrno(PyExc_OSError);
        return false;
    }
    return true;
}

PyObject* timerfd_create(PyObject* module, PyObject* const* args, Py_ssize_t nargs,
                         PyObject* kwnames) {
    module_state* state = state_of(module);
    PyObject* flags_arg = nullptr;
    if (!bind_one_positional("timerfd_create", args, nargs, kwnames, state->create_keywords, 1,
                             &flags_arg)) {
        return nullptr;
    }
    int clockid = 0;
    int flags = 0;
    if (!to_c_int(args[0], clockid) || !optional_flags(flags_arg, flags)) {
        return nullptr;
    }
    // PEP 446: descriptors Python creates are never inheritable.
    PyThreadState* saved = PyEval_SaveThread();
    int fd = sys::timerfd_create(clockid, flags | TFD_CLOEXEC);
    int error = errno;
    PyEval_RestoreThread(saved);
    if (fd < 0) {
        errno = error;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return PyLong_FromLong(fd);
}

// The shared front half of both settime variants: binds fd and flags, and returns the raw
// initial/interval objects (nullptr when not passed) for the caller's own converter.
bool bind_settime(PyObject* module, const char* fname, PyObject* const* args, Py_ssize_t nargs,
                  PyObject* kwnames, int& fd, int& flags, PyObject*& initial, PyObject*& interval) {
    PyObject* bound[3];
    if (!bind_one_positional(fname, args, nargs, kwnames, state_of(module)->settime_keywords, 3,
                             bound)) {
        return false;
    }
    initial = bound[1];
    interval = bound[2];
    return to_fd(args[0], fd) && optional_flags(bound[0], flags);
}

bool optional_seconds(PyObject* value, double& seconds) {
    seconds = 0.0;
    return value == nullptr || to_double(value, seconds);
}

PyObject* timerfd_settime(PyObject* module, PyObject* const* args, Py_ssize_t nargs,
                          PyObject* kwnames) {
    int fd = 0;
    int flags = 0;
    PyObject* initial_arg = nullptr;
    PyObject* interval_arg = nullptr;
    double initial_seconds = 0.0;
    double interval_seconds = 0.0;
    if (!bind_settime(module, "timerfd_settime", args, nargs, kwnames, fd, flags, initial_arg,
                      interval_arg) ||
        !optional_seconds(initial_arg, initial_seconds) ||
        !optional_seconds(interval_arg, interval_seconds)) {
        return nullptr;
    }
    // Range checks only after every argument converted, as in 3.13.
    auto initial = seconds_to_ns(initial_seconds);
    auto interval = initial ? seconds_to_ns(interval_seconds) : std::nullopt;
    if (!initial || !interval) {
        PyErr_SetString(PyExc_OverflowError, "timestamp out of range for platform time_t");
        return nullptr;
    }
    itimerspec old{};
    if (!settime(fd, flags, *initial, *interval, old)) {
        return nullptr;
    }
    return seconds_pair(old);
}

bool optional_nanoseconds(PyObject* value, long long& ns) {
    ns = 0;
    return value == nullptr || to_long_long(value, ns);
}

PyObject* timerfd_settime_ns(PyObject* module, PyObject* const* args, Py_ssize_t nargs,
                             PyObject* kwnames) {
    int fd = 0;
    int flags = 0;
    PyObject* initial_arg = nullptr;
    PyObject* interval_arg = nullptr;
    long long initial = 0;
    long long interval = 0;
    if (!bind_settime(module, "timerfd_settime_ns", args, nargs, kwnames, fd, flags, initial_arg,
                      interval_arg) ||
        !optional_nanoseconds(initial_arg, initial) ||
        !optional_nanoseconds(interval_arg, interval)) {
        return nullptr;
    }
    itimerspec old{};
    if (!settime(fd, flags, nanoseconds(initial), nanoseconds(interval), old)) {
        return nullptr;
    }
    return nanoseconds_pair(old);
}

// 3.13 declares the gettime pair METH_O, so its argument errors name "posix.<function>".
PyObject* timerfd_gettime(PyObject*, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    itimerspec spec{};
    if (!check_single_argument("posix.timerfd_gettime", nargs, kwnames) ||
        !gettime(args[0], spec)) {
        return nullptr;
    }
    return seconds_pair(spec);
}

PyObject* timerfd_gettime_ns(PyObject*, PyObject* const* args, Py_ssize_t nargs,
                             PyObject* kwnames) {
    itimerspec spec{};
    if (!check_single_argument("posix.timerfd_gettime_ns", nargs, kwnames) ||
        !gettime(args[0], spec)) {
        return nullptr;
    }
    return nanoseconds_pair(spec);
}

// read_expirations(fd, /) -> int: the expiration count (see expirations.hpp); ECANCELED (a
// cancel-on-set timer saw the realtime clock change) raises tfd.ClockChanged.
// _suggest_name(candidates, name): the keyword hint of the argument errors, for the tests
// that compare it with the interpreter's own on 3.13.
PyObject* suggest_name_for_tests(PyObject*, PyObject* args) {
    PyObject* candidates = nullptr;
    PyObject* name = nullptr;
    if (!PyArg_ParseTuple(args, "OU:_suggest_name", &candidates, &name)) {
        return nullptr;
    }
    PyObject* found = suggest_name(candidates, name);
    if (found == nullptr) {
        Py_RETURN_NONE;
    }
    return found;
}

PyObject* read_expirations(PyObject* module, PyObject* fd_object) {
    int fd = 0;
    if (!to_fd(fd_object, fd)) {
        return nullptr;
    }
    std::uint64_t count = 0;
    int error = 0;
    if (!read_expiration_count(fd, count, error)) {
        return raise_read_error(error, state_of(module)->clock_changed);
    }
    return PyLong_FromUnsignedLongLong(count);
}

template <class Function>
PyCFunction as_cfunction(Function function) {
    // METH_FASTCALL functions have another signature; CPython calls them by the flag.
    return reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(function));
}

}  // namespace

// Docstrings start with the text signature CPython 3.13 publishes, so inspect.signature()
// reports identical signatures.
PyMethodDef module_methods[] = {
    {"timerfd_create", as_cfunction(timerfd_create), METH_FASTCALL | METH_KEYWORDS,
     "timerfd_create($module, clockid, /, *, flags=0)\n--\n\n"
     "Create a timer file descriptor on clock `clockid` and return it.\n\n"
     "`flags` may contain TFD_NONBLOCK (reads never wait); the descriptor is always\n"
     "close-on-exec, as every descriptor Python creates."},
    {"timerfd_settime", as_cfunction(timerfd_settime), METH_FASTCALL | METH_KEYWORDS,
     "timerfd_settime($module, fd, /, *, flags=0, initial=0.0, interval=0.0)\n--\n\n"
     "Arm (or, with initial=0, disarm) a timer, times in float seconds.\n\n"
     "`flags` may contain TFD_TIMER_ABSTIME and TFD_TIMER_CANCEL_ON_SET.  Returns the\n"
     "previous setting as (next_expiration, interval)."},
    {"timerfd_settime_ns", as_cfunction(timerfd_settime_ns), METH_FASTCALL | METH_KEYWORDS,
     "timerfd_settime_ns($module, fd, /, *, flags=0, initial=0, interval=0)\n--\n\n"
     "Like timerfd_settime(), with integer nanoseconds."},
    {"timerfd_gettime", as_cfunction(timerfd_gettime), METH_FASTCALL | METH_KEYWORDS,
     "timerfd_gettime($module, fd, /)\n--\n\n"
     "Return (next_expiration, interval) of a timer in float seconds; next_expiration\n"
     "is relative and 0.0 when the timer is disarmed."},
    {"timerfd_gettime_ns", as_cfunction(timerfd_gettime_ns), METH_FASTCALL | METH_KEYWORDS,
     "timerfd_gettime_ns($module, fd, /)\n--\n\n"
     "Like timerfd_gettime(), in integer nanoseconds."},
    {"_suggest_name", suggest_name_for_tests, METH_VARARGS,
     "_suggest_name($module, candidates, name, /)\n--\n\n"
     "The name the interpreter's 'Did you mean' would pick (None if none): for tests."},
    {"read_expirations", read_expirations, METH_O,
     "read_expirations($module, fd, /)\n--\n\n"
     "Read a timer's expiration count: 0 when nothing is pending on a non-blocking\n"
     "timer; raises ClockChanged on ECANCELED."},
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace tfd::python

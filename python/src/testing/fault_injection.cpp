// _tfd._inject_fault: the C++ library's system-call seam (sys::set_fault_hook), reachable
// from the Python tests.  It lets them exercise outcomes a test cannot provoke for real on a
// shared machine: ECANCELED (someone set the wall clock), EINTR in a blocking read, a 0-byte
// read, EMFILE.  Private (leading underscore), inert until called, and only in test builds:
// CMake compiles this file into the extensions it builds for the test suite
// (TFD_PYTHON_TESTING); pip's build leaves it out.
//
// The hook is process-wide, like the seam itself, so its state is a few atomics rather than
// module state: two interpreters injecting faults at once would share them.
#include <atomic>
#include <cerrno>
#include <cstring>

#include "fault_injection.hpp"
#include "sys/sys.hpp"

namespace tfd::python {
namespace {

// Which call fails (as an int, -1: none), with which errno (0: succeed with result 0, the
// "0-byte read" outcome), and how many more times.
std::atomic<int> fault_call{-1};
std::atomic<int> fault_errno{0};
std::atomic<long> fault_remaining{0};

bool injected(sys::call which, long& result) noexcept {
    if (static_cast<int>(which) != fault_call.load(std::memory_order_relaxed)) {
        return false;
    }
    if (fault_remaining.fetch_sub(1, std::memory_order_relaxed) <= 0) {
        fault_remaining.store(0, std::memory_order_relaxed);
        return false;
    }
    int error = fault_errno.load(std::memory_order_relaxed);
    result = error == 0 ? 0 : -1;
    if (error != 0) {
        errno = error;
    }
    return true;
}

struct named_call {
    const char* name;
    sys::call which;
};

constexpr named_call injectable[] = {
    {"timerfd_create", sys::call::timerfd_create},
    {"timerfd_settime", sys::call::timerfd_settime},
    {"timerfd_gettime", sys::call::timerfd_gettime},
    {"read", sys::call::read},
};

}  // namespace

PyObject* inject_fault(PyObject*, PyObject* args) {
    const char* name = nullptr;
    int error = 0;
    long count = 1;
    if (!PyArg_ParseTuple(args, "si|l:_inject_fault", &name, &error, &count)) {
        return nullptr;
    }
    for (const named_call& entry : injectable) {
        if (std::strcmp(entry.name, name) == 0) {
            fault_errno.store(error, std::memory_order_relaxed);
            fault_remaining.store(count, std::memory_order_relaxed);
            fault_call.store(static_cast<int>(entry.which), std::memory_order_relaxed);
            sys::set_fault_hook(count > 0 ? injected : nullptr);
            Py_RETURN_NONE;
        }
    }
    PyErr_Format(PyExc_ValueError, "cannot inject faults into %s()", name);
    return nullptr;
}

namespace {

PyMethodDef testing_methods[] = {
    {"_inject_fault", inject_fault, METH_VARARGS,
     "_inject_fault($module, call, errno, count=1, /)\n--\n\n"
     "Test support: make the next `count` calls of `call` fail with `errno`."},
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace

int add_testing_functions(PyObject* module) {
    return PyModule_AddFunctions(module, testing_methods);
}

}  // namespace tfd::python

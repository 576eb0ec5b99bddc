// _tfd.TimerBase: the part of tfd.Timer that owns the descriptor, as a heap type.
//
// Ownership lives in C++ so that a Timer dropped without close() still closes its descriptor
// (with a ResourceWarning, as files do), and so read(), the call made once per tick, costs
// one method call.  tfd.Timer (python/tfd/_timer.py) subclasses it and adds clock names,
// arming, iteration and the asyncio/trio helpers.
//
// Invariant: `fd` is -1 exactly when the object owns no descriptor (never opened, closed,
// or detached); otherwise it is a timer descriptor this object must close.
//
// The bookkeeping fields serve tfd.Timer's waits (python/tfd/_asyncio_waiters.py) and live
// here so that read() stays one C call: `disturbed` is set by every read() (and by the
// Timer's start()/stop()) and cleared by the asyncio reader, which then knows whether the
// readiness it saw may be stale; `unclaimed` holds a count read for waiters that were all
// cancelled before they could return it, and read() returns it first; `schedule` is
// described in timer_base.hpp.
#include "timer_base.hpp"

#include <sys/timerfd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "arguments.hpp"
#include "expirations.hpp"
#include "module_state.hpp"
#include "sys/sys.hpp"

namespace tfd::python {
namespace {

struct timer_object {
    PyObject ob_base;  // PyObject_HEAD, spelled out
    int fd;
    int clock;
    bool nonblocking;
    bool disturbed;
    schedule known_schedule;
    std::uint64_t unclaimed;
};

timer_object* as_timer(PyObject* self) {
    return reinterpret_cast<timer_object*>(self);
}

PyObject* closed_error() {
    PyErr_SetString(PyExc_ValueError, "I/O operation on closed timer");
    return nullptr;
}

PyObject* timer_new(PyTypeObject* type, PyObject*, PyObject*) {
    PyObject* self = type->tp_alloc(type, 0);
    if (self != nullptr) {
        as_timer(self)->fd = -1;
        as_timer(self)->clock = -1;
        as_timer(self)->nonblocking = false;
        as_timer(self)->disturbed = false;
        as_timer(self)->known_schedule = schedule::unknown;
        as_timer(self)->unclaimed = 0;
    }
    return self;
}

// TimerBase(clockid, nonblocking=False): creates the descriptor (always close-on-exec).
int timer_init(PyObject* self, PyObject* args, PyObject* kwargs) {
    static const char* keywords[] = {"clockid", "nonblocking", nullptr};
    PyObject* clock_arg = nullptr;
    int nonblocking = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|p:TimerBase", const_cast<char**>(keywords),
                                     &clock_arg, &nonblocking)) {
        return -1;
    }
    int clock = 0;
    if (!to_c_int(clock_arg, clock)) {
        return -1;
    }
    timer_object* timer = as_timer(self);
    if (timer->fd >= 0) {
        PyErr_SetString(PyExc_RuntimeError, "timer is already open");
        return -1;
    }
    int flags = TFD_CLOEXEC | (nonblocking != 0 ? TFD_NONBLOCK : 0);
    PyThreadState* saved = PyEval_SaveThread();
    int fd = sys::timerfd_create(clock, flags);
    int error = errno;
    PyEval_RestoreThread(saved);
    if (fd < 0) {
        errno = error;
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    timer->fd = fd;
    timer->clock = clock;
    timer->nonblocking = nonblocking != 0;
    return 0;
}

// Closes without reporting errors: for the garbage collector's path only.
void close_quietly(timer_object* timer) {
    int fd = timer->fd;
    timer->fd = -1;
    if (fd >= 0) {
        sys::close(fd);
    }
}

// Runs once before deallocation (PEP 442): an owner that forgot close() is told.
void timer_finalize(PyObject* self) {
    if (as_timer(self)->fd < 0) {
        return;
    }
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    if (PyErr_ResourceWarning(self, 1, "unclosed %R", self) < 0) {
        PyErr_WriteUnraisable(self);
    }
    close_quietly(as_timer(self));
    PyErr_Restore(type, value, traceback);
}

void timer_dealloc(PyObject* self) {
    if (PyObject_CallFinalizerFromDealloc(self) < 0) {
        return;  // resurrected by the finalizer
    }
    close_quietly(as_timer(self));
    PyTypeObject* type = Py_TYPE(self);
    type->tp_free(self);
    Py_DECREF(type);  // instances of heap types own a reference to their type
}

PyObject* timer_fileno(PyObject* self, PyObject*) {
    int fd = as_timer(self)->fd;
    return fd < 0 ? closed_error() : PyLong_FromLong(fd);
}

// close(): idempotent; close(2)'s error is raised (the descriptor is gone either way).
PyObject* timer_close(PyObject* self, PyObject*) {
    timer_object* timer = as_timer(self);
    int fd = timer->fd;
    timer->fd = -1;
    if (fd >= 0 && sys::close(fd) < 0) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_RETURN_NONE;
}

PyObject* timer_detach(PyObject* self, PyObject*) {
    timer_object* timer = as_timer(self);
    int fd = timer->fd;
    if (fd < 0) {
        return closed_error();
    }
    timer->fd = -1;
    return PyLong_FromLong(fd);
}

// read(): see expirations.hpp.  The ClockChanged class is looked up as an attribute only
// when a read reports ECANCELED (rare), which keeps the methods free of module-state
// plumbing that differs across 3.8-3.13.
//
// _read_now() is the kernel read alone, for the asyncio reader; read() also does the
// bookkeeping described at the top.
PyObject* read_now(PyObject* self) {
    int fd = as_timer(self)->fd;
    if (fd < 0) {
        return closed_error();
    }
    std::uint64_t count = 0;
    int error = 0;
    if (read_expiration_count(fd, count, error)) {
        return PyLong_FromUnsignedLongLong(count);
    }
    if (error != ECANCELED) {
        return raise_read_error(error, nullptr);
    }
    PyObject* clock_changed = PyObject_GetAttrString(self, "ClockChanged");
    if (clock_changed == nullptr) {
        return nullptr;
    }
    raise_read_error(error, clock_changed);
    Py_DECREF(clock_changed);
    return nullptr;
}

PyObject* timer_read_now(PyObject* self, PyObject*) {
    return read_now(self);
}

PyObject* timer_read(PyObject* self, PyObject*) {
    timer_object* timer = as_timer(self);
    if (timer->fd < 0) {
        return closed_error();
    }
    timer->disturbed = true;
    if (timer->unclaimed != 0) {
        std::uint64_t count = timer->unclaimed;
        timer->unclaimed = 0;
        return PyLong_FromUnsignedLongLong(count);
    }
    PyObject* count = read_now(self);
    if (count != nullptr && timer->known_schedule == schedule::once && PyObject_IsTrue(count)) {
        timer->known_schedule = schedule::disarmed;
    }
    return count;
}

PyObject* timer_enter(PyObject* self, PyObject*) {
    if (as_timer(self)->fd < 0) {
        return closed_error();
    }
    Py_INCREF(self);
    return self;
}

PyObject* timer_exit(PyObject* self, PyObject*) {
    return timer_close(self, nullptr);
}

PyObject* get_closed(PyObject* self, void*) {
    return PyBool_FromLong(as_timer(self)->fd < 0);
}

PyObject* get_clock(PyObject* self, void*) {
    return PyLong_FromLong(as_timer(self)->clock);
}

PyObject* get_nonblocking(PyObject* self, void*) {
    return PyBool_FromLong(as_timer(self)->nonblocking);
}

// Docstrings start with a text signature so inspect.signature() works on every method.
PyMethodDef timer_methods[] = {
    {"fileno", timer_fileno, METH_NOARGS,
     "fileno($self, /)\n--\n\nThe descriptor; ValueError once closed."},
    {"close", timer_close, METH_NOARGS,
     "close($self, /)\n--\n\nClose the descriptor (idempotent)."},
    {"detach", timer_detach, METH_NOARGS,
     "detach($self, /)\n--\n\n"
     "Give up ownership: return the descriptor and leave the timer closed."},
    {"read", timer_read, METH_NOARGS,
     "read($self, /)\n--\n\n"
     "Return the number of expirations since the last read or arm.\n\n"
     "A blocking timer waits for the next expiry; a non-blocking one returns 0 when\n"
     "nothing is pending.  Raises ClockChanged (errno ECANCELED) when a cancel_on_set\n"
     "timer saw the realtime clock set."},
    {"_read_now", timer_read_now, METH_NOARGS,
     "_read_now($self, /)\n--\n\n"
     "read() without its bookkeeping: for the asyncio reader of tfd.Timer.wait()."},
    {"__enter__", timer_enter, METH_NOARGS,
     "__enter__($self, /)\n--\n\nReturn the timer itself; ValueError when closed."},
    {"__exit__", timer_exit, METH_VARARGS, "__exit__($self, /, *exc_info)\n--\n\nClose the timer."},
    {nullptr, nullptr, 0, nullptr},
};

PyObject* get_disturbed(PyObject* self, void*) {
    return PyBool_FromLong(as_timer(self)->disturbed);
}

int set_disturbed(PyObject* self, PyObject* value, void*) {
    int truth = value == nullptr ? 0 : PyObject_IsTrue(value);
    if (truth < 0) {
        return -1;
    }
    as_timer(self)->disturbed = truth != 0;
    return 0;
}

PyObject* get_schedule(PyObject* self, void*) {
    return PyLong_FromLong(static_cast<long>(as_timer(self)->known_schedule));
}

int set_schedule(PyObject* self, PyObject* value, void*) {
    long number = value == nullptr ? -1 : PyLong_AsLong(value);
    if (number == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (number < static_cast<long>(schedule::unknown) ||
        number > static_cast<long>(schedule::disarmed)) {
        PyErr_Format(PyExc_ValueError, "TimerBase._schedule: %ld is not a schedule", number);
        return -1;
    }
    as_timer(self)->known_schedule = static_cast<schedule>(number);
    return 0;
}

PyObject* get_unclaimed(PyObject* self, void*) {
    return PyLong_FromUnsignedLongLong(as_timer(self)->unclaimed);
}

int set_unclaimed(PyObject* self, PyObject* value, void*) {
    unsigned long long count = value == nullptr ? 0 : PyLong_AsUnsignedLongLong(value);
    if (count == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
        return -1;
    }
    as_timer(self)->unclaimed = count;
    return 0;
}

PyGetSetDef timer_getset[] = {
    {"closed", get_closed, nullptr, "True once the descriptor is closed or detached.", nullptr},
    {"clock", get_clock, nullptr, "The kernel clock id the timer runs on.", nullptr},
    {"nonblocking", get_nonblocking, nullptr, "True when read() never waits.", nullptr},
    {"_disturbed", get_disturbed, set_disturbed,
     "Read or re-armed since the asyncio reader last ran.", nullptr},
    {"_schedule", get_schedule, set_schedule, "What the timer knows of its schedule.", nullptr},
    {"_unclaimed", get_unclaimed, set_unclaimed,
     "A count read for waiters that were all cancelled; read() returns it first.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

template <class Function>
void* slot(Function function) {
    return reinterpret_cast<void*>(function);
}

PyType_Slot timer_slots[] = {
    {Py_tp_new, slot(timer_new)},
    {Py_tp_init, slot(timer_init)},
    {Py_tp_dealloc, slot(timer_dealloc)},
    {Py_tp_finalize, slot(timer_finalize)},
    {Py_tp_methods, timer_methods},
    {Py_tp_getset, timer_getset},
    {Py_tp_doc, const_cast<char*>("TimerBase(clockid, nonblocking=False)\n--\n\n"
                                  "Owns one timer descriptor; subclassed by tfd.Timer.")},
    {0, nullptr},
};

PyType_Spec timer_spec = {
    "tfd._tfd.TimerBase", sizeof(timer_object), 0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    timer_slots,
};

}  // namespace

PyObject* create_timer_type(PyObject* module) {
#if PY_VERSION_HEX >= 0x03090000
    return PyType_FromModuleAndSpec(module, &timer_spec, nullptr);
#else
    (void)module;
    return PyType_FromSpec(&timer_spec);
#endif
}

}  // namespace tfd::python

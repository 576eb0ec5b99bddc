// _tfd.AioLoopCore: construction, the loop's flags, time() and the call_* methods (the pass
// itself is in aio_loop_pass.cpp).  Each method keeps asyncio's checks, order and messages:
// None when/delay, a closed loop, and in debug mode the thread and callback checks, which
// are the stock loop's own Python methods (_check_thread, _check_callback).
#include "aio_loop.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <system_error>

#include "aio_loop_pass.hpp"
#include "aio_scheduler.hpp"
#include "suggestion.hpp"

namespace tfd::python {
namespace {

// ---- construction ----------------------------------------------------------------------

PyObject* loop_new(PyTypeObject* type, PyObject*, PyObject*) {
    PyObject* handle_type =
        PyObject_GetAttrString(reinterpret_cast<PyObject*>(type), "_tfd_handle_type");
    PyObject* timer_type =
        handle_type == nullptr
            ? nullptr
            : PyObject_GetAttrString(reinterpret_cast<PyObject*>(type), "_tfd_timer_handle_type");
    PyObject* helpers =
        timer_type == nullptr
            ? nullptr
            : PyObject_GetAttrString(reinterpret_cast<PyObject*>(type), "_tfd_helpers");
    if (helpers == nullptr) {
        Py_XDECREF(handle_type);
        Py_XDECREF(timer_type);
        return nullptr;
    }
    PyObject* self = type->tp_alloc(type, 0);
    if (self == nullptr) {
        Py_DECREF(handle_type);
        Py_DECREF(timer_type);
        Py_DECREF(helpers);
        return nullptr;
    }
    aio_loop* loop = as_loop(self);
    new (&loop->clocks) decltype(loop->clocks)();
    new (&loop->registered_in) decltype(loop->registered_in)();
    loop->registered_in.fill(-1);
    new (&loop->ready) decltype(loop->ready)();
    new (&loop->events) decltype(loop->events)();
    new (&loop->slack_thread) std::thread::id();
    loop->handle_type = handle_type;
    loop->timer_type = timer_type;
    loop->helpers = helpers;
    loop->report = PyObject_GetAttrString(helpers, "report");
    loop->epoll_fd = -1;
    loop->spin_below = aio::default_spin_below_ns;
    loop->spin_margin = 0;
    loop->constructed = true;
    loop->str_selector = PyUnicode_InternFromString("_selector");
    loop->str_cancelled = PyUnicode_InternFromString("_cancelled");
    loop->str_run = PyUnicode_InternFromString("_run");
    if (loop->str_selector == nullptr || loop->str_cancelled == nullptr ||
        loop->str_run == nullptr || loop->report == nullptr) {
        Py_DECREF(self);
        return nullptr;
    }
    if (scheduler_for(loop, aio_clock::monotonic) == nullptr) {
        Py_DECREF(self);
        return nullptr;
    }
    return self;
}

int loop_traverse(PyObject* self, visitproc visit, void* arg) {
    aio_loop* loop = as_loop(self);
#if PY_VERSION_HEX >= 0x03090000
    Py_VISIT(Py_TYPE(self));
#endif
    if (!loop->constructed) {
        return 0;
    }
    Py_VISIT(loop->handle_type);
    Py_VISIT(loop->timer_type);
    Py_VISIT(loop->helpers);
    Py_VISIT(loop->report);
    Py_VISIT(loop->selector);
    Py_VISIT(loop->fd_to_key);
    for (std::size_t i = 0; i < loop->ready.size(); ++i) {
        Py_VISIT(loop->ready.at(i));
    }
    for (aio_timer_handle* t = loop->queued; t != nullptr; t = t->next) {
        Py_VISIT(reinterpret_cast<PyObject*>(t));
    }
    return 0;
}

int loop_clear(PyObject* self) {
    aio_loop* loop = as_loop(self);
    if (!loop->constructed) {
        return 0;
    }
    clear_work(loop);
    Py_CLEAR(loop->selector);
    Py_CLEAR(loop->fd_to_key);
    return 0;
}

void loop_dealloc(PyObject* self) {
    PyTypeObject* type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    aio_loop* loop = as_loop(self);
    if (loop->constructed) {
        loop_clear(self);
        Py_CLEAR(loop->handle_type);
        Py_CLEAR(loop->timer_type);
        Py_CLEAR(loop->helpers);
        Py_CLEAR(loop->report);
        Py_CLEAR(loop->str_selector);
        Py_CLEAR(loop->str_cancelled);
        Py_CLEAR(loop->str_run);
        using clocks_t = decltype(loop->clocks);
        using ready_t = decltype(loop->ready);
        using events_t = decltype(loop->events);
        loop->clocks.~clocks_t();
        loop->ready.~ready_t();
        loop->events.~events_t();
    }
    type->tp_free(self);
    Py_DECREF(type);
}

// ---- flags shared with the stock code (BaseEventLoop reads and writes them) -----------------

template <bool aio_loop::*Flag>
PyObject* get_flag(PyObject* self, void*) {
    return PyBool_FromLong(as_loop(self)->*Flag);
}

template <bool aio_loop::*Flag>
int set_flag(PyObject* self, PyObject* value, void*) {
    if (value == nullptr) {
        PyErr_SetString(PyExc_AttributeError, "cannot delete the loop's flag");
        return -1;
    }
    int truth = PyObject_IsTrue(value);
    if (truth < 0) {
        return -1;
    }
    as_loop(self)->*Flag = truth != 0;
    return 0;
}

// ---- scheduling ------------------------------------------------------------------------

PyObject* closed_error() {
    PyErr_SetString(PyExc_RuntimeError, "Event loop is closed");
    return nullptr;
}

// The arguments of a (fixed..., callback, *args, context=None) method, bound from a
// vectorcall the way CPython binds them for the stock loop's Python methods: the fixed
// parameters and `callback` by position or by keyword, the rest of the positional ones into
// *args, `context` by keyword only.
struct call_arguments {
    static constexpr Py_ssize_t max_fixed = 2;
    PyObject* fixed[max_fixed] = {};  // borrowed: when, delay, or clock and when
    PyObject* callback = nullptr;     // borrowed
    PyObject* args = nullptr;         // new reference
    PyObject* context = nullptr;      // borrowed
};

// The class a method's argument errors name, as CPython 3.10+ words them for the stock
// loop's Python methods (their __qualname__: "BaseEventLoop.call_soon() got an unexpected
// keyword argument"); earlier versions name the function alone.
const char* error_class_prefix(const char* method) {
#if PY_VERSION_HEX >= 0x030A0000
    return std::strcmp(method, "call_at_clock") == 0 ? "EventLoop." : "BaseEventLoop.";
#else
    (void)method;
    return "";
#endif
}

// `names` lists a method's parameters after self: its fixed ones, then "callback".
struct call_signature {
    const char* method;
    const char* const* names;
    Py_ssize_t fixed;
    [[nodiscard]] Py_ssize_t bound() const noexcept { return fixed + 1; }
};

// "got an unexpected keyword argument 'x'", and on 3.13+ the interpreter's own hint for a
// name close to one of the parameters' ("Did you mean 'callback'?"), computed by the module
// the interpreter's traceback printing uses.
void unexpected_keyword(const call_signature& sig, PyObject* name) {
    const char* prefix = error_class_prefix(sig.method);
    PyObject* suggestion = nullptr;
#if PY_VERSION_HEX >= 0x030D0000  // the stock loop's methods get the hint from 3.13 on
    PyObject* candidates = PyList_New(0);
    bool listed = candidates != nullptr;
    auto add = [&](const char* candidate) {
        PyObject* text = listed ? PyUnicode_FromString(candidate) : nullptr;
        listed = text != nullptr && PyList_Append(candidates, text) == 0;
        Py_XDECREF(text);
    };
    add("self");
    for (Py_ssize_t i = 0; i < sig.bound(); ++i) {
        add(sig.names[i]);
    }
    add("context");
    if (listed) {
        suggestion = suggest_name(candidates, name);
    } else {
        PyErr_Clear();  // no hint: the error about the keyword matters more
    }
    Py_XDECREF(candidates);
#endif
    if (suggestion != nullptr) {
        PyErr_Format(PyExc_TypeError,
                     "%s%s() got an unexpected keyword argument '%U'. Did you mean '%U'?", prefix,
                     sig.method, name, suggestion);
        Py_DECREF(suggestion);
    } else {
        PyErr_Format(PyExc_TypeError, "%s%s() got an unexpected keyword argument '%U'", prefix,
                     sig.method, name);
    }
}

// Binds one keyword argument: a parameter's name (not already given by position or an
// earlier keyword), "context", or an error as CPython words it.
int bind_keyword(const call_signature& sig, PyObject* name, PyObject* value, PyObject** slots,
                 call_arguments& out) {
    if (PyUnicode_CompareWithASCIIString(name, "context") == 0) {
        out.context = value;
        return 0;
    }
    const char* prefix = error_class_prefix(sig.method);
    if (PyUnicode_CompareWithASCIIString(name, "self") == 0) {
        PyErr_Format(PyExc_TypeError, "%s%s() got multiple values for argument 'self'", prefix,
                     sig.method);
        return -1;
    }
    for (Py_ssize_t i = 0; i < sig.bound(); ++i) {
        if (PyUnicode_CompareWithASCIIString(name, sig.names[i]) != 0) {
            continue;
        }
        if (slots[i] != nullptr) {
            PyErr_Format(PyExc_TypeError, "%s%s() got multiple values for argument '%s'", prefix,
                         sig.method, sig.names[i]);
            return -1;
        }
        slots[i] = value;
        return 0;
    }
    unexpected_keyword(sig, name);
    return -1;
}

// "missing 2 required positional arguments: 'delay' and 'callback'", CPython's wording
// ('a' and 'b'; 'a', 'b', and 'c').
void missing_arguments(const call_signature& sig, PyObject* const* slots) {
    std::string list;
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < sig.bound(); ++i) {
        count += slots[i] == nullptr ? 1 : 0;
    }
    Py_ssize_t listed = 0;
    for (Py_ssize_t i = 0; i < sig.bound(); ++i) {
        if (slots[i] != nullptr) {
            continue;
        }
        ++listed;
        if (listed > 1) {
            list += count == 2 ? " and " : listed == count ? ", and " : ", ";
        }
        list += std::string("'") + sig.names[i] + "'";
    }
    PyErr_Format(PyExc_TypeError, "%s%s() missing %zd required positional argument%s: %s",
                 error_class_prefix(sig.method), sig.method, count, count == 1 ? "" : "s",
                 list.c_str());
}

int parse_call(const char* method, const char* const* names, Py_ssize_t fixed,
               PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames, call_arguments& out) {
    const call_signature sig{method, names, fixed};
    PyObject* slots[call_arguments::max_fixed + 1] = {};
    const Py_ssize_t positional = std::min(nargs, sig.bound());
    for (Py_ssize_t i = 0; i < positional; ++i) {
        slots[i] = args[i];
    }
    if (kwnames != nullptr) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kwnames); ++i) {
            if (bind_keyword(sig, PyTuple_GET_ITEM(kwnames, i), args[nargs + i], slots, out) < 0) {
                return -1;
            }
        }
    }
    if (std::find(slots, slots + sig.bound(), nullptr) != slots + sig.bound()) {
        missing_arguments(sig, slots);
        return -1;
    }
    std::copy(slots, slots + fixed, out.fixed);
    out.callback = slots[fixed];
    Py_ssize_t extra = nargs - positional;
    out.args = PyTuple_New(extra);
    if (out.args == nullptr) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < extra; ++i) {
        PyObject* item = args[positional + i];
        Py_INCREF(item);
        PyTuple_SET_ITEM(out.args, i, item);
    }
    return 0;
}

int call_method(PyObject* self, const char* name, PyObject* a = nullptr, PyObject* b = nullptr) {
    PyObject* result = PyObject_CallMethod(self, name,
                                           a == nullptr   ? "()"
                                           : b == nullptr ? "(O)"
                                                          : "(OO)",
                                           a, b);
    if (result == nullptr) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

// The debug-mode checks of the stock call_* methods, by the stock methods themselves.
int debug_checks(PyObject* self, PyObject* callback, const char* method, bool check_thread) {
    if (check_thread && call_method(self, "_check_thread") < 0) {
        return -1;
    }
    PyObject* name = PyUnicode_FromString(method);
    if (name == nullptr) {
        return -1;
    }
    int rc = call_method(self, "_check_callback", callback, name);
    Py_DECREF(name);
    return rc;
}

// In debug mode, where the handle was created: the stack down to the caller's frame.
int add_source_traceback(aio_loop* loop, aio_handle* h) {
    if (!loop->debug) {
        return 0;
    }
    PyObject* stack = PyObject_CallMethod(loop->helpers, "source_traceback", nullptr);
    if (stack == nullptr) {
        return -1;
    }
    Py_XSETREF(h->source_traceback, stack);
    return 0;
}

PyObject* make_soon(PyObject* self, const char* method, bool check_thread, PyObject* callback,
                    PyObject* args, PyObject* context) {
    aio_loop* loop = as_loop(self);
    if (loop->closed) {
        return closed_error();
    }
    if (loop->debug && debug_checks(self, callback, method, check_thread) < 0) {
        return nullptr;
    }
    aio_handle* h = new_handle(reinterpret_cast<PyTypeObject*>(loop->handle_type), callback, args,
                               self, context);
    if (h == nullptr || add_source_traceback(loop, h) < 0) {
        Py_XDECREF(reinterpret_cast<PyObject*>(h));
        return nullptr;
    }
    try {
        loop->ready.push(reinterpret_cast<PyObject*>(h));
    } catch (const std::bad_alloc&) {
        Py_DECREF(reinterpret_cast<PyObject*>(h));
        return PyErr_NoMemory();
    }
    Py_INCREF(reinterpret_cast<PyObject*>(h));  // one for the queue, one returned
    return reinterpret_cast<PyObject*>(h);
}

PyObject* loop_call_soon(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                         PyObject* kwnames) {
    static const char* const names[] = {"callback"};
    call_arguments a;
    if (parse_call("call_soon", names, 0, args, nargs, kwnames, a) < 0) {
        return nullptr;
    }
    PyObject* h = make_soon(self, "call_soon", true, a.callback, a.args, a.context);
    Py_DECREF(a.args);
    return h;
}

PyObject* loop_call_soon_threadsafe(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                                    PyObject* kwnames) {
    static const char* const names[] = {"callback"};
    call_arguments a;
    if (parse_call("call_soon_threadsafe", names, 0, args, nargs, kwnames, a) < 0) {
        return nullptr;
    }
    // Under the GIL the ready queue is consistent for every thread; the write to the self-
    // pipe wakes the loop if it is waiting.
    PyObject* h = make_soon(self, "call_soon_threadsafe", false, a.callback, a.args, a.context);
    Py_DECREF(a.args);
    if (h != nullptr && call_method(self, "_write_to_self") < 0) {
        Py_CLEAR(h);
    }
    return h;
}

// _call_soon(callback, args, context): the stock helper, for code that calls it directly.
PyObject* loop_call_soon_internal(PyObject* self, PyObject* args) {
    PyObject *callback, *tuple, *context;
    if (!PyArg_ParseTuple(args, "OO!O:_call_soon", &callback, &PyTuple_Type, &tuple, &context)) {
        return nullptr;
    }
    aio_loop* loop = as_loop(self);
    aio_handle* h = new_handle(reinterpret_cast<PyTypeObject*>(loop->handle_type), callback, tuple,
                               self, context);
    if (h == nullptr || add_source_traceback(loop, h) < 0) {
        Py_XDECREF(reinterpret_cast<PyObject*>(h));
        return nullptr;
    }
    loop->ready.push(reinterpret_cast<PyObject*>(h));
    Py_INCREF(reinterpret_cast<PyObject*>(h));
    return reinterpret_cast<PyObject*>(h);
}

// Queues a TimerHandle at `when` seconds on `clock` (deadline_ns already rounded up).
PyObject* schedule(PyObject* self, aio_clock clock, const char* method, double when,
                   std::int64_t deadline, const call_arguments& a) {
    aio_loop* loop = as_loop(self);
    if (loop->closed) {
        return closed_error();
    }
    if (loop->debug && debug_checks(self, a.callback, method, true) < 0) {
        return nullptr;
    }
    aio::scheduler* s = scheduler_for(loop, clock);
    if (s == nullptr) {
        return nullptr;
    }
    aio_handle* h = new_handle(reinterpret_cast<PyTypeObject*>(loop->timer_type), a.callback,
                               a.args, self, a.context);
    if (h == nullptr || add_source_traceback(loop, h) < 0) {
        Py_XDECREF(reinterpret_cast<PyObject*>(h));
        return nullptr;
    }
    aio_timer_handle* t = reinterpret_cast<aio_timer_handle*>(h);
    t->when = when;
    t->deadline = deadline;
    t->clock_slot = static_cast<unsigned char>(clock);
    s->start(t->entry, deadline);
    t->scheduled = true;
    t->prev = nullptr;
    t->next = loop->queued;
    if (loop->queued != nullptr) {
        loop->queued->prev = t;
    }
    loop->queued = t;
    Py_INCREF(reinterpret_cast<PyObject*>(h));  // the scheduler's reference
    return reinterpret_cast<PyObject*>(h);
}

// `value` as a float, or an error naming the argument `name`=`shown` (the value itself, or
// the delay that `value` was computed from): NaN has no place in time, and a type with no
// float (complex, say) gets one message on every Python version rather than
// PyFloat_AsDouble's, which changed in 3.10.
int when_as_double(const char* method, const char* name, PyObject* value, PyObject* shown,
                   double& out) {
    out = PyFloat_AsDouble(value);
    if (out == -1.0 && PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "%s(): %s=%R must be a real number of seconds, not %s",
                         method, name, shown, Py_TYPE(value)->tp_name);
        }
        return -1;
    }
    if (std::isnan(out)) {
        PyErr_Format(PyExc_ValueError, "%s(): %s=%R is not a number", method, name, shown);
        return -1;
    }
    return 0;
}

// A `when` for call_at and call_at_clock: as when_as_double, but an int beyond a float's
// range is +inf or -inf (never due, or due at once), as the stock call_at accepts any int
// and orders it against the clock.
int absolute_when(const char* method, PyObject* value, double& out) {
    if (when_as_double(method, "when", value, value, out) == 0) {
        return 0;
    }
    if (!PyLong_Check(value) || !PyErr_ExceptionMatches(PyExc_OverflowError)) {
        return -1;
    }
    PyErr_Clear();
    PyObject* zero = PyLong_FromLong(0);
    int negative = zero == nullptr ? -1 : PyObject_RichCompareBool(value, zero, Py_LT);
    Py_XDECREF(zero);
    if (negative < 0) {
        return -1;
    }
    out = negative != 0 ? -HUGE_VAL : HUGE_VAL;
    return 0;
}

PyObject* loop_call_at(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    static const char* const names[] = {"when", "callback"};
    call_arguments a;
    if (parse_call("call_at", names, 1, args, nargs, kwnames, a) < 0) {
        return nullptr;
    }
    PyObject* result = nullptr;
    double when = 0;
    PyObject* when_arg = a.fixed[0];
    if (when_arg == Py_None) {
        PyErr_SetString(PyExc_TypeError, "when cannot be None");
    } else if (as_loop(self)->closed) {
        closed_error();  // before the value's own checks, in the stock loop's order
    } else if (absolute_when("call_at", when_arg, when) == 0) {
        result =
            schedule(self, aio_clock::monotonic, "call_at", when, aio::seconds_to_ns_ceil(when), a);
    }
    Py_DECREF(a.args);
    return result;
}

PyObject* loop_call_later(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                          PyObject* kwnames) {
    static const char* const names[] = {"delay", "callback"};
    call_arguments a;
    if (parse_call("call_later", names, 1, args, nargs, kwnames, a) < 0) {
        return nullptr;
    }
    PyObject* result = nullptr;
    PyObject* delay = a.fixed[0];
    aio::scheduler* s = as_loop(self)->clocks[0].get();
    std::int64_t now = 0;
    try {
        now = s->now();
    } catch (const std::system_error& e) {
        Py_DECREF(a.args);
        errno = e.code().value();
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    double now_s = aio::ns_to_seconds(now);
    double when = 0;
    double delay_s = 0;
    bool ok = false;
    if (delay == Py_None) {
        PyErr_SetString(PyExc_TypeError, "delay must not be None");
    } else if (as_loop(self)->closed) {
        closed_error();
    } else if (PyFloat_CheckExact(delay) || PyLong_CheckExact(delay)) {
        ok = when_as_double("call_later", "delay", delay, delay, delay_s) == 0;
        when = now_s + delay_s;
    } else {
        // Whatever time() + delay means for this type, as the stock loop computes it.
        PyObject* now_obj = PyFloat_FromDouble(now_s);
        PyObject* sum = now_obj == nullptr ? nullptr : PyNumber_Add(now_obj, delay);
        Py_XDECREF(now_obj);
        if (sum != nullptr) {
            ok = when_as_double("call_later", "delay", sum, delay, when) == 0;
            delay_s = when - now_s;
            Py_DECREF(sum);
        }
    }
    if (ok) {
        // The deadline honours both when (what the callback sees as time() >= when) and
        // now + delay (what a caller timing the sleep sees), whichever is later.
        std::int64_t deadline = aio::seconds_to_ns_ceil(when);
        std::int64_t by_delay = 0;
        if (!__builtin_add_overflow(now, aio::seconds_to_ns_ceil(delay_s), &by_delay) &&
            by_delay > deadline) {
            deadline = by_delay;
        }
        // "call_at" in the debug checks' messages, as the stock call_later calls call_at.
        result = schedule(self, aio_clock::monotonic, "call_at", when, deadline, a);
    }
    Py_DECREF(a.args);
    return result;
}

// The clock argument of `function`: one of the three clock ids, or nullopt with a TypeError
// (not an int, or a bool) or ValueError (another number) naming the value.
std::optional<aio_clock> clock_arg(const char* function, PyObject* arg) {
    if (!PyLong_Check(arg) || PyBool_Check(arg)) {
        PyErr_Format(PyExc_TypeError,
                     "%s(): clock=%R must be a clock id (tfd.CLOCK_MONOTONIC, CLOCK_REALTIME or "
                     "CLOCK_BOOTTIME), not %s",
                     function, arg, Py_TYPE(arg)->tp_name);
        return std::nullopt;
    }
    long id = PyLong_AsLong(arg);
    if (id == -1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            return std::nullopt;
        }
        PyErr_Clear();  // beyond a long: no clock either
    } else if (std::optional<aio_clock> clock = clock_from_id(id)) {
        return clock;
    }
    PyErr_Format(PyExc_ValueError,
                 "%s(): clock=%R is not CLOCK_MONOTONIC, CLOCK_REALTIME or CLOCK_BOOTTIME",
                 function, arg);
    return std::nullopt;
}

// call_at_clock(clock, when, callback, *args, context=None): a timer on CLOCK_MONOTONIC,
// CLOCK_REALTIME or CLOCK_BOOTTIME, `when` in that clock's seconds.
PyObject* loop_call_at_clock(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                             PyObject* kwnames) {
    static const char* const names[] = {"clock", "when", "callback"};
    call_arguments a;
    if (parse_call("call_at_clock", names, 2, args, nargs, kwnames, a) < 0) {
        return nullptr;
    }
    PyObject* result = nullptr;
    double when = 0;
    PyObject* when_arg = a.fixed[1];
    std::optional<aio_clock> clock = clock_arg("call_at_clock", a.fixed[0]);
    if (!clock) {
    } else if (when_arg == Py_None) {
        PyErr_SetString(PyExc_TypeError, "when cannot be None");
    } else if (as_loop(self)->closed) {
        closed_error();
    } else if (absolute_when("call_at_clock", when_arg, when) == 0) {
        result = schedule(self, *clock, "call_at_clock", when, aio::seconds_to_ns_ceil(when), a);
    }
    Py_DECREF(a.args);
    return result;
}

PyObject* loop_time(PyObject* self, PyObject*) {
    try {
        return PyFloat_FromDouble(aio::ns_to_seconds(as_loop(self)->clocks[0]->now()));
    } catch (const std::system_error& e) {
        errno = e.code().value();
        return PyErr_SetFromErrno(PyExc_OSError);
    }
}

// clock_time(clock): that clock's reading in float seconds (virtual on a virtual loop).
PyObject* loop_clock_time(PyObject* self, PyObject* arg) {
    std::optional<aio_clock> clock = clock_arg("clock_time", arg);
    if (!clock) {
        return nullptr;
    }
    aio_loop* loop = as_loop(self);
    aio::scheduler* s = loop->clocks[static_cast<std::size_t>(*clock)].get();
    if (s == nullptr && (loop->closed || !loop->clocks[0]->time().is_virtual())) {
        // Nothing to make for a reading: a closed loop holds no timer_fd, and an open one
        // makes its clock's when a timer needs it.
        try {
            return PyFloat_FromDouble(aio::ns_to_seconds(clock_now(kernel_clock(*clock)).count()));
        } catch (const std::system_error& e) {
            errno = e.code().value();
            return PyErr_SetFromErrno(PyExc_OSError);
        }
    }
    if (s == nullptr && (s = scheduler_for(loop, *clock)) == nullptr) {
        return nullptr;
    }
    return PyFloat_FromDouble(aio::ns_to_seconds(s->now()));
}

PyObject* loop_add_callback(PyObject* self, PyObject* handle) {
    int cancelled = handle_is_cancelled(as_loop(self), handle);
    if (cancelled < 0) {
        return nullptr;
    }
    if (!cancelled) {
        Py_INCREF(handle);
        as_loop(self)->ready.push(handle);
    }
    Py_RETURN_NONE;
}

PyObject* loop_timer_handle_cancelled(PyObject*, PyObject*) {
    Py_RETURN_NONE;  // our TimerHandles unqueue themselves; nothing to count
}

PyObject* loop_clear_work(PyObject* self, PyObject*) {
    clear_work(as_loop(self));
    Py_RETURN_NONE;
}

// _tfd_close_timer_fds(): for close(), after _tfd_clear: a closed loop keeps no descriptor
// of its own, as the stock loop keeps none once its selector and self-pipe are closed.
PyObject* loop_close_timer_fds(PyObject* self, PyObject*) {
    for (auto& s : as_loop(self)->clocks) {
        if (s) {
            s->close_fd();
        }
    }
    Py_RETURN_NONE;
}

// _tfd_after_fork(): in a child after fork(), before the loop runs there (tfd/aio/_loop.py's
// at-fork hook has given the selector an epoll set of its own).  The child's timer_fds are
// the parent's open files: arming one would move the parent's wake-up, and an expiry would
// wake whichever process waited first.  Each clock gets a new one, registered in the new
// epoll set at the next pass; the queued timers stay.
PyObject* loop_after_fork(PyObject* self, PyObject*) {
    aio_loop* loop = as_loop(self);
    for (std::size_t slot = 0; slot < aio_clock_count; ++slot) {
        if (auto& s = loop->clocks[slot]) {
            if (loop->closed) {
                s->close_fd();
                continue;
            }
            try {
                s->renew_fd();
            } catch (const std::system_error& e) {
                errno = e.code().value();
                return PyErr_SetFromErrno(PyExc_OSError);
            }
            loop->registered_in[slot] = -1;
        }
    }
    Py_CLEAR(loop->selector);  // the next pass attaches the selector (and its new epoll set)
    Py_RETURN_NONE;
}

// `arg` as float seconds for the option or argument `name`: 0, or -1 with a TypeError naming
// both for a bool (True is not "1 second") or anything that is not a real number.
int seconds_arg(PyObject* arg, const char* name, double& seconds) {
    if (!PyBool_Check(arg)) {
        seconds = PyFloat_AsDouble(arg);
        if (!(seconds == -1.0 && PyErr_Occurred())) {
            return 0;
        }
        if (!PyErr_ExceptionMatches(PyExc_TypeError)) {
            return -1;
        }
        PyErr_Clear();
    }
    PyErr_Format(PyExc_TypeError, "%s=%R must be a number of seconds, not %s", name, arg,
                 Py_TYPE(arg)->tp_name);
    return -1;
}

// A loop option in float seconds, from 0 to `max` (written `max_text` in the message): the
// nearest nanoseconds (1e-5 is 10 us, not the 10,001 ns a deadline's rounding up would make
// of the double), and a positive value never 0; or -1 with ValueError naming the option and
// the value.
std::int64_t seconds_option(PyObject* arg, const char* name, double max, const char* max_text) {
    double seconds = 0;
    if (seconds_arg(arg, name, seconds) < 0) {
        return -1;
    }
    if (!(seconds >= 0) || seconds > max) {
        PyErr_Format(PyExc_ValueError, "%s=%R must be a number of seconds from 0 to %s", name, arg,
                     max_text);
        return -1;
    }
    const std::int64_t ns = std::llround(seconds * 1e9);
    return seconds > 0 && ns == 0 ? 1 : ns;
}

// Sets `field` of the loop and the same setting on every clock's scheduler.
template <std::int64_t aio_loop::*Field, void (aio::scheduler::*Set)(std::chrono::nanoseconds)>
PyObject* set_loop_option(PyObject* self, std::int64_t ns) {
    if (ns < 0) {
        return nullptr;
    }
    aio_loop* loop = as_loop(self);
    loop->*Field = ns;
    for (auto& s : loop->clocks) {
        if (s) {
            (s.get()->*Set)(std::chrono::nanoseconds(ns));
        }
    }
    return PyLong_FromLongLong(ns);  // what the getter reports: the value in effect
}

PyObject* loop_set_coalescing(PyObject* self, PyObject* arg) {
    return set_loop_option<&aio_loop::coalescing, &aio::scheduler::set_coalescing>(
        self, seconds_option(arg, "timer_coalescing", 3600, "3600"));
}

PyObject* loop_set_spin_below(PyObject* self, PyObject* arg) {
    return set_loop_option<&aio_loop::spin_below, &aio::scheduler::set_spin_below>(
        self, seconds_option(arg, "spin_below", 0.001, "0.001"));
}

PyObject* loop_set_spin_margin(PyObject* self, PyObject* arg) {
    return set_loop_option<&aio_loop::spin_margin, &aio::scheduler::set_spin_margin>(
        self, seconds_option(arg, "spin_margin", 0.001, "0.001"));
}

// _tfd_set_timer_slack(seconds): the timer slack the loop sets on the thread that runs it
// (0: leave the thread's slack alone), applied by the next pass; 1 to 100 ns also turns on
// timed waits (aio::scheduler::set_timed_waits).
PyObject* loop_set_timer_slack(PyObject* self, PyObject* arg) {
    // A positive slack never becomes 0, which means "leave the thread's alone".
    const std::int64_t ns = seconds_option(arg, "timer_slack", 1, "1");
    if (ns < 0) {
        return nullptr;
    }
    aio_loop* loop = as_loop(self);
    loop->timer_slack = ns;
    loop->slack_thread = std::thread::id();
    for (auto& s : loop->clocks) {
        if (s) {
            s->set_timed_waits(timed_waits_wanted(loop));
        }
    }
    return PyLong_FromLongLong(ns);  // what the getter reports: the value in effect
}

// _tfd_make_virtual(start): the loop's clocks become virtual; time() starts at `start`
// seconds, the other clocks at their current readings.  Only before any timer is started.
PyObject* loop_make_virtual(PyObject* self, PyObject* arg) {
    double start = 0;
    if (seconds_arg(arg, "virtual_start", start) < 0) {
        return nullptr;
    }
    if (!std::isfinite(start)) {
        PyErr_Format(PyExc_ValueError, "virtual_start=%R must be a finite number of seconds", arg);
        return nullptr;
    }
    // The clock counts int64 nanoseconds, and a deadline past 2**63 ns means "never" (as on
    // the real clocks, for which that is the year 2262).  A start near that end would turn
    // ordinary sleeps into waits for ever, so a start leaves at least 2**62 ns (146 years).
    if (!(std::fabs(start) < aio::max_clock_seconds / 2)) {
        PyErr_Format(PyExc_OverflowError,
                     "virtual_start=%R is too close to the end of the virtual clock's range "
                     "(2**63 ns): a start must lie within 2**62 ns (about 146 years) of 0, so "
                     "that timers up to 146 years after it can run",
                     arg);
        return nullptr;
    }
    aio_loop* loop = as_loop(self);
    for (std::size_t slot = 0; slot < aio_clock_count; ++slot) {
        if (auto& s = loop->clocks[slot]) {
            if (s->size() != 0) {
                PyErr_SetString(PyExc_RuntimeError,
                                "a loop with timers cannot switch to virtual time");
                return nullptr;
            }
            s->make_virtual(slot == 0 ? aio::seconds_to_ns_ceil(start) : s->now());
        }
    }
    Py_RETURN_NONE;
}

// _tfd_advance(seconds >= 0, checked by the caller): moves every virtual clock forward.
// A move that would take any clock to 2**63 ns is refused (OverflowError): past it the clock
// would stand still while deadlines saturate, and timers would run before their when().
PyObject* loop_advance(PyObject* self, PyObject* arg) {
    double seconds = PyFloat_AsDouble(arg);
    if (seconds == -1.0 && PyErr_Occurred()) {
        return nullptr;
    }
    aio_loop* loop = as_loop(self);
    // A step that does not fit in 64-bit nanoseconds saturates here: refused whatever the
    // clock reads (from a negative reading, adding the saturated step would not overflow).
    const std::int64_t delta = aio::seconds_to_ns_ceil(seconds);
    const bool saturated = delta == std::numeric_limits<std::int64_t>::max();
    for (auto& s : loop->clocks) {
        std::int64_t after = 0;
        if (s && (saturated || __builtin_add_overflow(s->now(), delta, &after) ||
                  after == std::numeric_limits<std::int64_t>::max())) {
            PyObject* now = PyFloat_FromDouble(aio::ns_to_seconds(loop->clocks[0]->now()));
            if (now != nullptr) {
                PyErr_Format(PyExc_OverflowError,
                             "advance(): seconds=%R would move the virtual clock past 2**63 ns "
                             "(time() is %R)",
                             arg, now);
                Py_DECREF(now);
            }
            return nullptr;
        }
    }
    advance_clocks(loop, delta);
    Py_RETURN_NONE;
}

// _tfd_hold(delta): takes (+1) or releases (-1) a hold on the virtual clock.
PyObject* loop_hold(PyObject* self, PyObject* arg) {
    long delta = PyLong_AsLong(arg);
    if (delta == -1 && PyErr_Occurred()) {
        return nullptr;
    }
    aio_loop* loop = as_loop(self);
    if (loop->holds + delta < 0) {
        PyErr_SetString(PyExc_RuntimeError, "the virtual clock was released more often than held");
        return nullptr;
    }
    loop->holds += delta;
    Py_RETURN_NONE;
}

PyObject* loop_fresh_run(PyObject* self, PyObject*) {
    as_loop(self)->first_pass = true;
    Py_RETURN_NONE;
}

PyObject* loop_is_virtual(PyObject* self, void*) {
    return PyBool_FromLong(as_loop(self)->clocks[0]->time().is_virtual());
}

PyObject* loop_stats(PyObject* self, PyObject*) {
    aio_loop* loop = as_loop(self);
    unsigned long long timers = 0, settimes = 0, changes = 0, spins = 0, timed = 0;
    for (auto& s : loop->clocks) {
        if (s) {
            timers += s->size();
            settimes += s->settime_calls();
            spins += s->spins();
            timed += s->timed_waits();
            changes += s->clock_changes();
        }
    }
    return Py_BuildValue("{sKsnsKsKsKsKsKsKsO}", "timers", timers, "ready",
                         static_cast<Py_ssize_t>(loop->ready.size()), "settime_calls", settimes,
                         "spins", spins, "timed_waits", timed, "clock_changes", changes, "passes",
                         static_cast<unsigned long long>(loop->passes), "polls_skipped",
                         static_cast<unsigned long long>(loop->polls_skipped), "native_wait",
                         loop->native ? Py_True : Py_False);
}

PyMethodDef loop_methods[] = {
    // Each public docstring starts with a text signature ("name(...)\n--\n\n"), which
    // inspect.signature reads, as for the stock loop's Python methods.
    {"time", loop_time, METH_NOARGS,
     "time($self, /)\n--\n\nThe loop's time: CLOCK_MONOTONIC in float seconds, as "
     "time.monotonic()."},
    {"clock_time", loop_clock_time, METH_O,
     "clock_time($self, clock, /)\n--\n\nCLOCK_MONOTONIC, CLOCK_REALTIME or CLOCK_BOOTTIME in "
     "float seconds."},
    {"call_soon", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(loop_call_soon)),
     METH_FASTCALL | METH_KEYWORDS,
     "call_soon($self, callback, /, *args, context=None)\n--\n\nAs asyncio's."},
    {"call_soon_threadsafe",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(loop_call_soon_threadsafe)),
     METH_FASTCALL | METH_KEYWORDS,
     "call_soon_threadsafe($self, callback, /, *args, context=None)\n--\n\nLike call_soon(), "
     "callable from any thread."},
    {"call_at", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(loop_call_at)),
     METH_FASTCALL | METH_KEYWORDS,
     "call_at($self, when, callback, /, *args, context=None)\n--\n\nRuns once time() >= when, "
     "never earlier."},
    {"call_later", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(loop_call_later)),
     METH_FASTCALL | METH_KEYWORDS,
     "call_later($self, delay, callback, /, *args, context=None)\n--\n\ncall_at(time() + delay, "
     "...)."},
    {"call_at_clock",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(loop_call_at_clock)),
     METH_FASTCALL | METH_KEYWORDS,
     "call_at_clock($self, clock, when, callback, /, *args, context=None)\n--\n\nA timer on "
     "CLOCK_MONOTONIC,\nCLOCK_REALTIME (follows changes of the system time) or CLOCK_BOOTTIME "
     "(counts suspend)."},
    {"_call_soon", loop_call_soon_internal, METH_VARARGS, nullptr},
    {"_add_callback", loop_add_callback, METH_O, nullptr},
    {"_timer_handle_cancelled", loop_timer_handle_cancelled, METH_O, nullptr},
    {"_run_once", loop_run_once, METH_NOARGS, "One pass of the loop."},
    {"_tfd_clear", loop_clear_work, METH_NOARGS, "Drops every pending callback and timer."},
    {"_tfd_close_timer_fds", loop_close_timer_fds, METH_NOARGS,
     "Closes the clocks' timer_fds (for close())."},
    {"_tfd_after_fork", loop_after_fork, METH_NOARGS,
     "In a child after fork(): new timer_fds, not shared with the parent."},
    {"_tfd_set_coalescing", loop_set_coalescing, METH_O, nullptr},
    {"_tfd_set_spin_below", loop_set_spin_below, METH_O, nullptr},
    {"_tfd_set_spin_margin", loop_set_spin_margin, METH_O, nullptr},
    {"_tfd_set_timer_slack", loop_set_timer_slack, METH_O, nullptr},
    {"_tfd_make_virtual", loop_make_virtual, METH_O, nullptr},
    {"_tfd_advance", loop_advance, METH_O, nullptr},
    {"_tfd_hold", loop_hold, METH_O, nullptr},
    {"_tfd_fresh_run", loop_fresh_run, METH_NOARGS,
     "Marks the next pass as the first of a run_forever (it always polls)."},
    {"_tfd_stats", loop_stats, METH_NOARGS,
     "Counters: timers pending, ready callbacks, timerfd_settime calls, waits spun,\n"
     "timed waits, wall-clock changes, "
     "passes, polls skipped, whether the pass waits on the epoll set itself."},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef loop_getset[] = {
    {"_closed", get_flag<&aio_loop::closed>, set_flag<&aio_loop::closed>, nullptr, nullptr},
    {"_stopping", get_flag<&aio_loop::stopping>, set_flag<&aio_loop::stopping>, nullptr, nullptr},
    {"_debug", get_flag<&aio_loop::debug>, set_flag<&aio_loop::debug>, nullptr, nullptr},
    {"virtual_time", loop_is_virtual, nullptr,
     "True when the loop runs on virtual time (tfd.aio.new_event_loop(virtual_time=True)).",
     nullptr},
    {"_tfd_idle_stop", get_flag<&aio_loop::idle_stop>, set_flag<&aio_loop::idle_stop>, nullptr,
     nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot loop_slots[] = {
    {Py_tp_new, reinterpret_cast<void*>(loop_new)},
    {Py_tp_dealloc, reinterpret_cast<void*>(loop_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(loop_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(loop_clear)},
    {Py_tp_methods, loop_methods},
    {Py_tp_getset, loop_getset},
    {Py_tp_doc, const_cast<char*>("The scheduling core of tfd.aio.EventLoop.")},
    {0, nullptr},
};

PyType_Spec loop_spec = {
    "tfd._tfd.AioLoopCore",
    sizeof(aio_loop),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    loop_slots,
};

}  // namespace

PyObject* create_loop_type(PyObject*, PyObject* handle_type, PyObject* timer_type) {
    PyObject* type = PyType_FromSpec(&loop_spec);
    if (type == nullptr) {
        return nullptr;
    }
    if (PyObject_SetAttrString(type, "_tfd_handle_type", handle_type) < 0 ||
        PyObject_SetAttrString(type, "_tfd_timer_handle_type", timer_type) < 0) {
        Py_DECREF(type);
        return nullptr;
    }
    return type;
}

void unschedule(aio_timer_handle* t) {
    if (!t->scheduled) {
        return;
    }
    aio_loop* loop = as_loop(t->base.loop);
    loop->clocks[t->clock_slot]->cancel(t->entry);
    unlink_queued(loop, t);
    t->scheduled = false;
    Py_DECREF(reinterpret_cast<PyObject*>(t));
}

}  // namespace tfd::python

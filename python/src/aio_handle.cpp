// tfd.aio's Handle and TimerHandle (see aio_handle.hpp).  Their repr, _repr_info and
// comparisons are asyncio's own Python code, attached by tfd/aio/_support.py, so they read
// exactly as the stock loop's handles do.
#include "aio_handle.hpp"

#include <structmember.h>

#include <new>

#include "aio_loop.hpp"

namespace tfd::python {
namespace {

PyObject* refuse_new(PyTypeObject* type, PyObject*, PyObject*) {
    PyErr_Format(PyExc_TypeError, "cannot create '%s' instances: the loop's call_* methods do",
                 type->tp_name);
    return nullptr;
}

int handle_traverse_fields(aio_handle* h, visitproc visit, void* arg) {
    Py_VISIT(h->callback);
    Py_VISIT(h->args);
    Py_VISIT(h->context);
    Py_VISIT(h->loop);
    Py_VISIT(h->source_traceback);
    Py_VISIT(h->repr);
    return 0;
}

int handle_traverse(PyObject* self, visitproc visit, void* arg) {
#if PY_VERSION_HEX >= 0x03090000
    Py_VISIT(Py_TYPE(self));
#endif
    return handle_traverse_fields(as_handle(self), visit, arg);
}

int handle_clear(PyObject* self) {
    aio_handle* h = as_handle(self);
    Py_CLEAR(h->callback);
    Py_CLEAR(h->args);
    Py_CLEAR(h->source_traceback);
    Py_CLEAR(h->repr);
    // context and loop stay: the invariant says they are never null.
    return 0;
}

void handle_dealloc_fields(aio_handle* h) {
    if (h->weakrefs != nullptr) {
        PyObject_ClearWeakRefs(reinterpret_cast<PyObject*>(h));
    }
    Py_CLEAR(h->callback);
    Py_CLEAR(h->args);
    Py_CLEAR(h->context);
    Py_CLEAR(h->loop);
    Py_CLEAR(h->source_traceback);
    Py_CLEAR(h->repr);
}

void handle_dealloc(PyObject* self) {
    PyTypeObject* type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    handle_dealloc_fields(as_handle(self));
    type->tp_free(self);
    Py_DECREF(type);
}

void timer_dealloc(PyObject* self) {
    PyTypeObject* type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    aio_timer_handle* t = as_timer_handle(self);
    // A scheduled handle is referenced by its loop, so it is never deallocated queued.
    t->entry.~timer_entry();
    handle_dealloc_fields(&t->base);
    type->tp_free(self);
    Py_DECREF(type);
}

PyObject* handle_cancel(PyObject* self, PyObject*) {
    aio_handle* h = as_handle(self);
    if (!h->cancelled) {
        bool debug = as_loop(h->loop)->debug;
        if (mark_cancelled(h, debug) < 0) {
            return nullptr;
        }
    }
    Py_RETURN_NONE;
}

PyObject* timer_cancel(PyObject* self, PyObject*) {
    aio_timer_handle* t = as_timer_handle(self);
    if (!t->base.cancelled) {
        // Unqueued at once (O(1)), so cancelled timers never pile up in the queue.
        Py_INCREF(self);  // the loop's reference may be the last one
        unschedule(t);
        int rc = mark_cancelled(&t->base, as_loop(t->base.loop)->debug);
        Py_DECREF(self);
        if (rc < 0) {
            return nullptr;
        }
    }
    Py_RETURN_NONE;
}

PyObject* handle_cancelled(PyObject* self, PyObject*) {
    return PyBool_FromLong(as_handle(self)->cancelled);
}

PyObject* handle_get_context(PyObject* self, PyObject*) {
    PyObject* context = as_handle(self)->context;
    Py_INCREF(context);
    return context;
}

PyObject* handle_run(PyObject* self, PyObject*) {
    if (run_handle(as_handle(self), as_loop(as_handle(self)->loop)->report) < 0) {
        return nullptr;
    }
    Py_RETURN_NONE;
}

PyObject* timer_when(PyObject* self, PyObject*) {
    return PyFloat_FromDouble(as_timer_handle(self)->when);
}

PyObject* timer_scheduled(PyObject* self, void*) {
    return PyBool_FromLong(as_timer_handle(self)->scheduled);
}

PyObject* timer_deadline_ns(PyObject* self, void*) {
    return PyLong_FromLongLong(as_timer_handle(self)->deadline);
}

PyMethodDef handle_methods[] = {
    {"cancel", handle_cancel, METH_NOARGS,
     "cancel($self, /)\n--\n\nCancels the call; a no-op when already cancelled."},
    {"cancelled", handle_cancelled, METH_NOARGS,
     "cancelled($self, /)\n--\n\nTrue once cancel() was called."},
    {"get_context", handle_get_context, METH_NOARGS,
     "get_context($self, /)\n--\n\nThe contextvars.Context it runs in."},
    {"_run", handle_run, METH_NOARGS, "Runs the callback now, as the loop does."},
    {nullptr, nullptr, 0, nullptr},
};

PyMethodDef timer_methods[] = {
    {"cancel", timer_cancel, METH_NOARGS,
     "cancel($self, /)\n--\n\nCancels the call and removes it from the loop's timers at once."},
    {"cancelled", handle_cancelled, METH_NOARGS,
     "cancelled($self, /)\n--\n\nTrue once cancel() was called."},
    {"get_context", handle_get_context, METH_NOARGS,
     "get_context($self, /)\n--\n\nThe contextvars.Context it runs in."},
    {"_run", handle_run, METH_NOARGS, "Runs the callback now, as the loop does."},
    {"when", timer_when, METH_NOARGS,
     "when($self, /)\n--\n\nThe loop time (float seconds) it is due at."},
    {nullptr, nullptr, 0, nullptr},
};

#define TFD_HANDLE_MEMBERS(base)                                                          \
    {"_callback", T_OBJECT, base + offsetof(aio_handle, callback), READONLY, nullptr},    \
        {"_args", T_OBJECT, base + offsetof(aio_handle, args), READONLY, nullptr},        \
        {"_context", T_OBJECT, base + offsetof(aio_handle, context), READONLY, nullptr},  \
        {"_loop", T_OBJECT, base + offsetof(aio_handle, loop), READONLY, nullptr},        \
        {"_source_traceback", T_OBJECT, base + offsetof(aio_handle, source_traceback), 0, \
         nullptr},                                                                        \
        {"_repr", T_OBJECT, base + offsetof(aio_handle, repr), 0, nullptr}, {             \
        "_cancelled", T_BOOL, base + offsetof(aio_handle, cancelled), READONLY, nullptr   \
    }

PyMemberDef handle_members[] = {
    TFD_HANDLE_MEMBERS(0),
    {nullptr, 0, 0, 0, nullptr},
};

PyMemberDef timer_members[] = {
    TFD_HANDLE_MEMBERS(offsetof(aio_timer_handle, base)),
    {"_when", T_DOUBLE, offsetof(aio_timer_handle, when), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

PyGetSetDef timer_getset[] = {
    {"_scheduled", timer_scheduled, nullptr, "True while queued in the loop's timers.", nullptr},
    {"_deadline_ns", timer_deadline_ns, nullptr,
     "The integer-nanosecond deadline on the loop's clock (when rounded up).", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot handle_slots[] = {
    {Py_tp_new, reinterpret_cast<void*>(refuse_new)},
    {Py_tp_dealloc, reinterpret_cast<void*>(handle_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(handle_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(handle_clear)},
    {Py_tp_methods, handle_methods},
    {Py_tp_members, handle_members},
    {Py_tp_doc, const_cast<char*>("A callback scheduled by call_soon, as asyncio.Handle.")},
    {0, nullptr},
};

PyType_Slot timer_slots[] = {
    {Py_tp_new, reinterpret_cast<void*>(refuse_new)},
    {Py_tp_dealloc, reinterpret_cast<void*>(timer_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(handle_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(handle_clear)},
    {Py_tp_methods, timer_methods},
    {Py_tp_members, timer_members},
    {Py_tp_getset, timer_getset},
    {Py_tp_doc, const_cast<char*>("A callback scheduled by call_at or call_later, as "
                                  "asyncio.TimerHandle.")},
    {0, nullptr},
};

PyType_Spec handle_spec = {
    "tfd.aio.Handle", sizeof(aio_handle), 0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, handle_slots,
};

PyType_Spec timer_spec = {
    "tfd.aio.TimerHandle", sizeof(aio_timer_handle), 0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    timer_slots,
};

// Calls report(handle, exc) for the exception being raised, as Handle._run's except block.
int report_exception(aio_handle* handle, PyObject* report) {
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (traceback != nullptr && value != nullptr) {
        PyException_SetTraceback(value, traceback);
    }
    PyObject* result = PyObject_CallFunctionObjArgs(report, reinterpret_cast<PyObject*>(handle),
                                                    value != nullptr ? value : Py_None, nullptr);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(traceback);
    if (result == nullptr) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

}  // namespace

int create_handle_types(PyObject* module, PyObject** handle_type, PyObject** timer_type) {
    *handle_type = PyType_FromSpec(&handle_spec);
    if (*handle_type == nullptr) {
        return -1;
    }
    *timer_type = PyType_FromSpec(&timer_spec);
    if (*timer_type == nullptr) {
        Py_CLEAR(*handle_type);
        return -1;
    }
    // Set directly rather than through a __weaklistoffset__ member, which 3.8 ignores.
    reinterpret_cast<PyTypeObject*>(*handle_type)->tp_weaklistoffset =
        offsetof(aio_handle, weakrefs);
    reinterpret_cast<PyTypeObject*>(*timer_type)->tp_weaklistoffset =
        offsetof(aio_timer_handle, base) + offsetof(aio_handle, weakrefs);
    (void)module;
    return 0;
}

aio_handle* new_handle(PyTypeObject* type, PyObject* callback, PyObject* args, PyObject* loop,
                       PyObject* context) {
    PyObject* self = PyType_GenericAlloc(type, 0);
    if (self == nullptr) {
        return nullptr;
    }
    aio_handle* h;
    if (type->tp_basicsize == static_cast<Py_ssize_t>(sizeof(aio_timer_handle))) {
        aio_timer_handle* t = as_timer_handle(self);
        new (&t->entry) timer_entry();
        h = &t->base;
    } else {
        h = as_handle(self);
    }
    if (context == nullptr || context == Py_None) {
        context = PyContext_CopyCurrent();
        if (context == nullptr) {
            Py_DECREF(self);
            return nullptr;
        }
    } else {
        Py_INCREF(context);
    }
    Py_INCREF(callback);
    Py_INCREF(args);
    Py_INCREF(loop);
    h->callback = callback;
    h->args = args;
    h->context = context;
    h->loop = loop;
    return h;
}

int run_handle(aio_handle* handle, PyObject* report) {
    if (handle->callback == nullptr) {
        return 0;  // cancelled
    }
    // Own what the call needs: the callback may cancel its own handle.
    PyObject* callback = handle->callback;
    PyObject* args = handle->args;
    PyObject* context = handle->context;
    Py_INCREF(callback);
    Py_INCREF(args);
    PyObject* result = nullptr;
    if (PyContext_CheckExact(context)) {
        if (PyContext_Enter(context) == 0) {
            result = PyObject_Call(callback, args, nullptr);
            if (PyContext_Exit(context) < 0) {
                Py_CLEAR(result);
            }
        }
    } else {
        // Not a contextvars.Context: do what Handle._run does, context.run(callback, *args).
        PyObject* run = PyObject_GetAttrString(context, "run");
        if (run != nullptr) {
            PyObject* full = PyTuple_New(PyTuple_GET_SIZE(args) + 1);
            if (full != nullptr) {
                Py_INCREF(callback);
                PyTuple_SET_ITEM(full, 0, callback);
                for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(args); ++i) {
                    PyObject* item = PyTuple_GET_ITEM(args, i);
                    Py_INCREF(item);
                    PyTuple_SET_ITEM(full, i + 1, item);
                }
                result = PyObject_Call(run, full, nullptr);
                Py_DECREF(full);
            }
            Py_DECREF(run);
        }
    }
    Py_DECREF(callback);
    Py_DECREF(args);
    if (result != nullptr) {
        Py_DECREF(result);
        return 0;
    }
    if (PyErr_ExceptionMatches(PyExc_SystemExit) ||
        PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) {
        return -1;
    }
    return report_exception(handle, report);
}

int mark_cancelled(aio_handle* handle, bool debug) {
    handle->cancelled = true;
    if (debug) {
        // As asyncio does: keep the callback and its arguments in the repr, for the
        // "Executing <Handle ...> took 2.5 seconds" warning.
        PyObject* repr = PyObject_Repr(reinterpret_cast<PyObject*>(handle));
        if (repr == nullptr) {
            return -1;
        }
        Py_XSETREF(handle->repr, repr);
    }
    Py_CLEAR(handle->callback);
    Py_CLEAR(handle->args);
    return 0;
}

}  // namespace tfd::python

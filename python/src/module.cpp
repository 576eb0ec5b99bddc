// _tfd: module definition, per-interpreter state and constants (PEP 489 multi-phase init).
#include <sys/timerfd.h>
#include <time.h>

#include <string>

#include "module_state.hpp"
#include "tfd/clock.hpp"
#include "timer_base.hpp"

namespace tfd::python {
namespace {

int add_int(PyObject* module, const char* name, long value) {
    return PyModule_AddIntConstant(module, name, value);
}

int add_constants(PyObject* module) {
    if (add_int(module, "TFD_NONBLOCK", TFD_NONBLOCK) < 0 ||
        add_int(module, "TFD_CLOEXEC", TFD_CLOEXEC) < 0 ||
        add_int(module, "TFD_TIMER_ABSTIME", TFD_TIMER_ABSTIME) < 0 ||
        add_int(module, "TFD_TIMER_CANCEL_ON_SET", TFD_TIMER_CANCEL_ON_SET) < 0) {
        return -1;
    }
    // The kernel's clock ids, from the C++ library's table of clocks so both faces agree; the
    // two alarm clocks are missing from the time module.
    for (const tfd::clock_info& clock : tfd::clocks) {
        const std::string name(clock.kernel_name);
        if (add_int(module, name.c_str(), static_cast<long>(clock.id)) < 0) {
            return -1;
        }
    }
    return 0;
}

int add_clock_changed(PyObject* module, module_state* state) {
    state->clock_changed = PyErr_NewExceptionWithDoc(
        "tfd.ClockChanged",
        "The realtime clock was set while a TFD_TIMER_CANCEL_ON_SET timer was armed\n"
        "(the read failed with ECANCELED).  Re-evaluate the deadline and re-arm.",
        PyExc_OSError, nullptr);
    if (state->clock_changed == nullptr) {
        return -1;
    }
    Py_INCREF(state->clock_changed);
    if (PyModule_AddObject(module, "ClockChanged", state->clock_changed) < 0) {
        Py_DECREF(state->clock_changed);
        return -1;
    }
    return 0;
}

int intern_keywords(module_state* state) {
    const char* create[] = {"flags"};
    const char* settime[] = {"flags", "initial", "interval"};
    for (int i = 0; i < 1; ++i) {
        if ((state->create_keywords[i] = PyUnicode_InternFromString(create[i])) == nullptr) {
            return -1;
        }
    }
    for (int i = 0; i < 3; ++i) {
        if ((state->settime_keywords[i] = PyUnicode_InternFromString(settime[i])) == nullptr) {
            return -1;
        }
    }
    return 0;
}

int add_timer_type(PyObject* module, module_state* state) {
    state->timer_type = create_timer_type(module);
    if (state->timer_type == nullptr ||
        PyObject_SetAttrString(state->timer_type, "ClockChanged", state->clock_changed) < 0) {
        return -1;
    }
    Py_INCREF(state->timer_type);
    if (PyModule_AddObject(module, "TimerBase", state->timer_type) < 0) {
        Py_DECREF(state->timer_type);
        return -1;
    }
    return 0;
}

int exec_module(PyObject* module) {
    module_state* state = state_of(module);
    if (intern_keywords(state) < 0 || add_clock_changed(module, state) < 0 ||
        add_timer_type(module, state) < 0 || add_constants(module) < 0) {
        return -1;
    }
    return 0;
}

int traverse_module(PyObject* module, visitproc visit, void* arg) {
    module_state* state = state_of(module);
    if (state != nullptr) {
        Py_VISIT(state->clock_changed);
        Py_VISIT(state->timer_type);
    }
    return 0;
}

int clear_module(PyObject* module) {
    module_state* state = state_of(module);
    if (state != nullptr) {
        Py_CLEAR(state->clock_changed);
        Py_CLEAR(state->timer_type);
        for (PyObject*& name : state->create_keywords) {
            Py_CLEAR(name);
        }
        for (PyObject*& name : state->settime_keywords) {
            Py_CLEAR(name);
        }
    }
    return 0;
}

void free_module(void* module) {
    clear_module(static_cast<PyObject*>(module));
}

PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, reinterpret_cast<void*>(exec_module)},
#if PY_VERSION_HEX >= 0x030C0000
    // No C globals: each interpreter gets its own state, so a per-interpreter GIL is fine.
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    // No Py_mod_gil: free-threaded builds are untested (and TimerBase's close() racing a
    // read() in another thread would need a lock there), so they keep the GIL on import.
    {0, nullptr},
};

PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "_tfd",
    "Linux timer file descriptors: CPython 3.13's os.timerfd_* for every CPython 3.8+.\n"
    "Use the tfd package, not this module.",
    sizeof(module_state),
    module_methods,
    module_slots,
    traverse_module,
    clear_module,
    free_module,
};

}  // namespace
}  // namespace tfd::python

// Exported explicitly: the module is built with hidden visibility, and before 3.9
// PyMODINIT_FUNC did not mark the init function visible.
extern "C" [[gnu::visibility("default")]] PyObject* PyInit__tfd();

PyMODINIT_FUNC PyInit__tfd() {
    return PyModuleDef_Init(&tfd::python::module_def);
}

#include "aio_module.hpp"

#include "aio_handle.hpp"
#include "aio_loop.hpp"

namespace tfd::python {
namespace {

int add_type(PyObject* module, const char* name, PyObject* type) {
    // PyModule_AddObject steals a reference only on success.
    if (PyModule_AddObject(module, name, type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    return 0;
}

}  // namespace

int add_aio_types(PyObject* module) {
    PyObject* handle_type = nullptr;
    PyObject* timer_type = nullptr;
    if (create_handle_types(module, &handle_type, &timer_type) < 0) {
        return -1;
    }
    PyObject* loop_type = create_loop_type(module, handle_type, timer_type);
    if (loop_type == nullptr) {
        Py_DECREF(handle_type);
        Py_DECREF(timer_type);
        return -1;
    }
    if (add_type(module, "AioHandle", handle_type) < 0) {
        Py_DECREF(timer_type);
        Py_DECREF(loop_type);
        return -1;
    }
    if (add_type(module, "AioTimerHandle", timer_type) < 0) {
        Py_DECREF(loop_type);
        return -1;
    }
    return add_type(module, "AioLoopCore", loop_type);
}

}  // namespace tfd::python

// tfd.aio's Handle and TimerHandle: the objects call_soon / call_at / call_later return, as
// heap types of _tfd (CPython glue; the scheduling itself is aio_scheduler's).
//
// Invariants:
//  * `callback` and `args` are non-null until cancel() (then null, read as None); `args` is
//    a tuple; `context` and `loop` are non-null for the handle's whole life.
//  * a TimerHandle is `scheduled` exactly while its entry is queued in its loop's scheduler;
//    the loop then holds one strong reference to it and links it in its list of queued
//    handles (prev/next), which is how the garbage collector and close() find them.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>

#include "tfd/timer_queue.hpp"

namespace tfd::python {

struct aio_loop;

struct aio_handle {
    PyObject ob_base;  // PyObject_HEAD, spelled out
    PyObject* callback;
    PyObject* args;
    PyObject* context;
    PyObject* loop;
    PyObject* source_traceback;  // null for None
    PyObject* repr;              // null for None
    PyObject* weakrefs;
    bool cancelled;
};

// Standard layout (the base is a member, not a base class), so timer_of() may use offsetof.
struct aio_timer_handle {
    aio_handle base;
    timer_entry entry;  // queued in the loop's scheduler while scheduled
    double when;
    std::int64_t deadline;  // ns on the scheduler's clock, when rounded up
    aio_timer_handle* prev;
    aio_timer_handle* next;
    unsigned char clock_slot;  // which of the loop's schedulers
    bool scheduled;
};

inline aio_timer_handle* timer_of(timer_entry* entry) {
    return reinterpret_cast<aio_timer_handle*>(reinterpret_cast<char*>(entry) -
                                               offsetof(aio_timer_handle, entry));
}

inline aio_handle* as_handle(PyObject* o) {
    return reinterpret_cast<aio_handle*>(o);
}
inline aio_timer_handle* as_timer_handle(PyObject* o) {
    return reinterpret_cast<aio_timer_handle*>(o);
}

// Creates the two types (new references) into `handle_type` / `timer_type`; -1 on error.
int create_handle_types(PyObject* module, PyObject** handle_type, PyObject** timer_type);

// A new handle of `type` (Handle or TimerHandle) with its fields set; `args` must be a tuple.
// Steals nothing.  In debug mode the caller adds the source traceback.
aio_handle* new_handle(PyTypeObject* type, PyObject* callback, PyObject* args, PyObject* loop,
                       PyObject* context);

// Runs the handle's callback in its context, as asyncio's Handle._run does: exceptions other
// than SystemExit and KeyboardInterrupt go to the loop's exception handler through
// `report` (report(handle, exc)); 0, or -1 with the exception set.
int run_handle(aio_handle* handle, PyObject* report);

// Drops the callback and arguments of a cancelled handle (and keeps its repr in debug mode).
// The loop unqueues a scheduled TimerHandle before calling it.
int mark_cancelled(aio_handle* handle, bool debug);

}  // namespace tfd::python

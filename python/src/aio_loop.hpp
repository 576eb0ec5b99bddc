// _tfd.AioLoopCore: the scheduling core of tfd.aio.EventLoop (CPython glue over
// aio_scheduler and aio_ready_queue).  tfd.aio.EventLoop derives from it and from CPython's
// selector event loop, so its methods (time, call_soon, call_at, call_later,
// call_soon_threadsafe, _add_callback, _run_once) replace the stock ones while transports,
// servers, subprocesses and signals stay CPython's.
//
// The pass (_run_once), numbered as in docs/asyncio.md:
//  1. timeout: 0 when callbacks are ready or the loop is stopping; otherwise the scheduler
//     arms its timer_fd for the earliest deadline (0 if one is due already), else infinite;
//  2. wait: epoll_wait on the selector's own epoll set, in which the timer_fd is registered
//     edge-triggered (any other selector: selector.select() with a timeout rounded up).  A
//     pass that would only poll (timeout 0) skips the system call when the previous pass
//     waited, or when the previous wait returned less than poll_skip_ns ago, unless it is
//     the first pass of a run_forever or the loop is stopping: the task that a wake-up
//     resumed runs without a second system call, a chain of callbacks queued by callbacks
//     costs none per pass, and descriptors are still polled at least every other pass or
//     every poll_skip_ns, whichever is later, while work keeps the loop busy;
//  3. descriptors: ready readers and writers are queued, as _process_events does;
//  4. timers: every handle due by the clock (read once) is queued, in (deadline, start order);
//  5. run: exactly the callbacks queued before this step, in order; the rest wait a pass.
//
// On virtual time no timer_fd is armed: a pass with timers pending and nothing ready polls,
// and when the poll brought nothing (no callback ready, no hold taken by work outside the
// loop: executors, hold_time()), phase 4 first moves every clock forward to the earliest
// deadline.  With holds, the pass blocks on the descriptors as a real loop does without
// timers.
//
// Invariants: `ready` holds strong references to handles (ours or any asyncio.Handle);
// `queued` lists every scheduled TimerHandle (each held by one strong reference);
// `clocks[i]` is null or a scheduler whose timer_fd is registered in `epoll_fd` when
// `native` (registered_in == epoll_fd).
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <sys/epoll.h>

#include <array>
#include <memory>
#include <thread>
#include <vector>

#include "aio_handle.hpp"
#include "aio_ready_queue.hpp"
#include "aio_scheduler.hpp"

namespace tfd::python {

// The clocks a loop keeps timers on; slot 0 is the loop's own time() (monotonic).
enum class aio_clock : unsigned char { monotonic = 0, realtime = 1, boottime = 2 };
constexpr std::size_t aio_clock_count = 3;
// How long after a wait a pass with work ready may skip polling the descriptors.
constexpr std::int64_t poll_skip_ns = 100'000;

struct aio_loop {
    PyObject ob_base;
    std::array<std::unique_ptr<aio::scheduler>, aio_clock_count> clocks;
    std::array<int, aio_clock_count> registered_in;  // the epoll fd each timer_fd is in, or -1
    aio::ready_queue<PyObject*> ready;
    aio_timer_handle* queued;  // head of the list of scheduled TimerHandles
    std::vector<epoll_event> events;
    PyObject* handle_type;
    PyObject* timer_type;
    PyObject* helpers;       // tfd.aio._support: report, run_debug, source_traceback
    PyObject* report;        // helpers.report, looked up once: it runs for every failed callback
    PyObject* selector;      // the selector the wait state below was computed for
    PyObject* fd_to_key;     // selector._fd_to_key when native
    PyObject* str_selector;  // interned attribute names of the hot paths
    PyObject* str_cancelled;
    PyObject* str_run;
    int epoll_fd;
    std::int64_t coalescing;   // ns
    std::int64_t spin_below;   // ns: waits shorter than this spin (aio::scheduler::spin_below)
    std::int64_t spin_margin;  // ns: wake-ups this much early, then spin (scheduler::spin_margin)
    std::int64_t timer_slack;  // ns set on the thread that runs the loop; 0: left alone
    std::thread::id slack_thread;  // the thread timer_slack was last set on (none: id())
    std::uint64_t passes;
    std::int64_t last_wait_end;  // CLOCK_MONOTONIC ns when the last epoll_wait returned
    bool last_pass_waited;       // the previous pass called epoll_wait (it did not skip)
    std::uint64_t polls_skipped;
    std::int64_t holds;  // virtual time: work outside the loop that keeps the clock still
    bool first_pass;     // the next pass is the first of a run_forever: it always waits
    bool idle_stop;      // virtual time: stop when nothing is ready or due instead of jumping
    bool constructed;    // the C++ members above exist (tp_new got that far)
    bool native;
    bool closed;
    bool stopping;
    bool debug;
};

inline aio_loop* as_loop(PyObject* o) {
    return reinterpret_cast<aio_loop*>(o);
}

// Creates AioLoopCore (a new reference); `handle_type` and `timer_type` are the handle
// types its methods create.
PyObject* create_loop_type(PyObject* module, PyObject* handle_type, PyObject* timer_type);

// Unqueues a scheduled TimerHandle (dropping the loop's reference to it); no-op otherwise.
void unschedule(aio_timer_handle* handle);

}  // namespace tfd::python

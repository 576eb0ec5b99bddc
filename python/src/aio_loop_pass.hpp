// The pass of _tfd.AioLoopCore (_run_once) and the loop state it shares with the call_*
// methods (see aio_loop.hpp for the numbered phases).
#pragma once

#include <optional>

#include "aio_loop.hpp"

namespace tfd::python {

// The loop's scheduler for `clock`, created (and registered in the epoll set) on first use;
// nullptr with an exception set when its timer_fd cannot be created.
aio::scheduler* scheduler_for(aio_loop* loop, aio_clock clock);
// The kernel clock an aio_clock reads.
clock_id kernel_clock(aio_clock clock);
// The aio_clock of a kernel clock id, for the three a loop keeps timers on.
std::optional<aio_clock> clock_from_id(long id);
// Removes a scheduled handle from the loop's list (the scheduler is the caller's).
void unlink_queued(aio_loop* loop, aio_timer_handle* t);
// Drops every queued timer and ready callback and closes the timer_fds (loop.close()).
void clear_work(aio_loop* loop);
// handle._cancelled, fast for our own handles; -1 on error.
int handle_is_cancelled(aio_loop* loop, PyObject* handle);

// Whether the loop's schedulers should make timed waits: a timer_slack of 1 to 100 ns and
// a kernel with epoll_pwait2.
bool timed_waits_wanted(aio_loop* loop);

// Moves every clock of a virtual loop forward by `delta` ns.
void advance_clocks(aio_loop* loop, std::int64_t delta);

PyObject* loop_run_once(PyObject* self, PyObject*);

}  // namespace tfd::python

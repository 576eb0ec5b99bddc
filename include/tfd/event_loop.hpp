// tfd::event_loop: descriptors, timers on any clock, signals and cross-thread work, dispatched
// from one thread.
//
// Phases of one pass (run_once() is exactly one; run() and run_for() repeat it):
//
//   1. compute the timeout: zero when posted work or due timers are already waiting, else
//      until the caller's limit (forever for run());
//   2. arm timers: for each clock with timers, arm the loop's timer_fd for that clock with
//      the earliest deadline, TFD_TIMER_ABSTIME, unless it is already armed for exactly that
//      deadline ("due now" is armed as 1 ns absolute, since 0 would disarm);
//   3. wait on the backend (epoll, poll or select) for readiness or the timeout;
//   4. dispatch ready descriptors in the order the backend reports them; a ready timer_fd,
//      signalfd or wake eventfd is consumed here;
//   5. run due timers: every due timer of every clock that fired is collected first (so a
//      timer started or re-armed by a callback never runs in the same pass), then run in
//      (deadline, start order) order, clock by clock;
//   6. run posted work in the order it was posted.
//
// Signals are delivered in phase 4, when the signalfd is dispatched.
//
// Threads: a loop belongs to the thread that runs it.  Only post() and stop() may be called
// from other threads; everything else, handles included, from the loop's thread only.
//
// Re-entrancy: any callback may start, stop or change any watcher, its own included, close
// descriptors (after stopping their watchers) and create watchers.  Events already collected
// for a watcher stopped during a pass are never delivered, and a watcher created during a
// pass gets no event from that pass's wait.  run(), run_once() and run_for() called from a
// callback throw std::system_error (EDEADLK).  An exception thrown by a callback propagates
// out of run(); due timers and posted work not yet run are kept for the next pass, and the
// loop can be run again.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "tfd/backend_kind.hpp"
#include "tfd/clock.hpp"
#include "tfd/fd_watcher.hpp"
#include "tfd/io_events.hpp"
#include "tfd/signal_watcher.hpp"
#include "tfd/timer_watcher.hpp"

namespace tfd {

namespace detail {
class loop_impl;
}  // namespace detail

// Options of a periodic timer.
struct periodic_options {
    clock_id clock = clock_id::monotonic;
    missed_ticks policy = missed_ticks::skip;
};

class event_loop {
  public:
    // Creates the backend and the wake-up eventfd; throws std::system_error.
    explicit event_loop(backend_kind backend = backend_kind::epoll);
    // Every handle must have been destroyed before the loop.
    ~event_loop();
    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;

    // --- Watchers ------------------------------------------------------------------------
    // Watches `fd` for `interest`.  One watcher per descriptor: a second fails with EEXIST.
    // The select backend refuses fd >= FD_SETSIZE with EINVAL.
    [[nodiscard]] fd_watcher watch(int fd, io_events interest, fd_callback callback);

    // One-shot timer `delay` from now on `clock` (a negative delay is "due now").
    [[nodiscard]] timer_watcher after(std::chrono::nanoseconds delay, timer_callback callback,
                                      clock_id clock = clock_id::monotonic);
    // One-shot timer at `deadline`, ns since the epoch of `clock`.
    [[nodiscard]] timer_watcher at(clock_id clock, std::chrono::nanoseconds deadline,
                                   timer_callback callback);
    // One-shot timer at a time point of a clock tfd knows (steady_clock, system_clock,
    // monotonic_clock, ...).
    template <class Clock, class Duration>
    [[nodiscard]] timer_watcher at(std::chrono::time_point<Clock, Duration> deadline,
                                   timer_callback callback) {
        return at(clock_of<Clock>::value,
                  std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()),
                  std::move(callback));
    }
    // Periodic timer: first fires one `period` from now, then every `period` after that
    // scheduled time.  The period must be positive (EINVAL otherwise).
    [[nodiscard]] timer_watcher every(std::chrono::nanoseconds period, timer_callback callback,
                                      periodic_options options = {});
    // Periodic timer whose first deadline is `first` (absolute ns on options.clock).
    [[nodiscard]] timer_watcher every_from(std::chrono::nanoseconds first,
                                           std::chrono::nanoseconds period, timer_callback callback,
                                           periodic_options options = {});

    // Delivers `signo` to `callback` through a signalfd.  The loop blocks the signal in the
    // calling thread (which must be the loop's thread) so that it reaches the signalfd, and
    // unblocks it when the watcher stops, unless it was already blocked before; an instance
    // still pending at that moment is then delivered by its ordinary disposition.  Other
    // threads must block the signal themselves (block it before creating them), or the kernel
    // may deliver it to one of them instead.  One watcher per signal (EEXIST otherwise).
    [[nodiscard]] signal_watcher on_signal(int signo, signal_callback callback);

    // --- Any thread ------------------------------------------------------------------------
    // Runs `work` on the loop's thread in phase 6 of a pass, waking the loop if it waits.
    void post(std::function<void()> work);
    // Makes the running run()/run_for() return after the current pass; if none is running,
    // the next one returns after its first check.  Wakes the loop if it waits.
    void stop() noexcept;

    // --- Running ---------------------------------------------------------------------------
    // Runs passes until stop() or until nothing is left to wait for (no active watcher, no
    // pending timer, no posted work).
    void run();
    // One pass that waits as long as needed for something to happen (or not at all when
    // nothing is active).  Returns whether anything is still active.
    bool run_once();
    // Runs passes for `duration` (measured on CLOCK_MONOTONIC) or until stop(); it waits out
    // the whole duration even when nothing is active.
    void run_for(std::chrono::nanoseconds duration);

    // The current time on `clock`, read now (not cached per pass).
    [[nodiscard]] std::chrono::nanoseconds now(clock_id clock = clock_id::monotonic) const;
    [[nodiscard]] backend_kind backend() const noexcept;
    // Active watchers of all kinds (internal ones excluded): for tests and introspection.
    [[nodiscard]] std::size_t active_watchers() const noexcept;

  private:
    std::unique_ptr<detail::loop_impl> impl_;
};

}  // namespace tfd

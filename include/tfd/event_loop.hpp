// tfd::event_loop: descriptors, timers on any clock, signals and cross-thread work, dispatched
// from one thread.
//
// Architecture: event_loop is a façade over the subsystems it owns (in src/): the fd
// registry, the timer scheduler (clocks, pool, due list, virtual time, lateness), the signal
// set and the post queue.  Timers are owned two ways: by a handle (timer_watcher, whose node
// the loop allocates) or embedded in the user's object (embedded_timer, no allocation).
//
// Phases of one pass (run_once() is exactly one; run() and run_for() repeat it):
//
//   1. compute the timeout: zero when posted work or due timers are already waiting (checked
//      after phase 2's arming, which can find that the wall clock was set), else until the
//      caller's limit (forever for run());
//   2. arm timers: for each clock with timers, arm the loop's timer_fd for that clock,
//      TFD_TIMER_ABSTIME, with its target: the earliest deadline, moved earlier by
//      spin_margin or later by timer_coalescing (see "Precision" below), unless it is
//      already armed for exactly that target ("due now" is armed as 1 ns absolute, since 0
//      would disarm); a timer_fd that fired is always re-armed or disarmed here, which also
//      clears its readiness; a target the clock has reached, or reaches within spin_below
//      (any clock but the realtime ones, which stay armed for CANCEL_ON_SET), is not armed
//      at all: the pass polls instead of waiting and phase 5 spins to it and collects it;
//      with timed waits (loop_options::timer_slack of 1 to 100 ns, a backend with
//      nanosecond timeouts) a monotonic target at most 100 us ahead is not armed either,
//      unless the timer_fd is armed for an earlier time: phase 3's timeout ends there;
//      with timer_coalescing, a pass awake anyway (after phase 4) also collects what is due;
//   3. wait on the backend (epoll, poll or select) for readiness or the timeout;
//   4. dispatch ready descriptors in the order the backend reports them; a ready signalfd or
//      wake eventfd is consumed here, a ready realtime timer_fd is read (for
//      TFD_TIMER_CANCEL_ON_SET's ECANCELED), other timer_fds are left to phase 2's settime
//      (a wake-up costs two system calls: the wait and the settime; one for a timed wait);
//   5. run due timers: every due timer of every clock that fired is collected first (so a
//      timer started or re-armed by a callback never runs in the same pass), then run in
//      (deadline, start order) order, clock by clock;
//   6. run posted work in the order it was posted.
//
// Signals are delivered in phase 4, when the signalfd is dispatched.
//
// Threads: a loop belongs to the thread that runs it.  Only post(), stop() and releasing a
// work_guard may be called from other threads; everything else, handles included, from the
// loop's thread only.
//
// Re-entrancy: any callback may start, stop or change any watcher, its own included, close
// descriptors (after stopping their watchers) and create watchers.  Events already collected
// for a watcher stopped during a pass are never delivered, and a watcher created during a
// pass gets no event from that pass's wait.  run(), run_once() and run_for() called from a
// callback throw std::system_error (EDEADLK).  An exception thrown by a callback propagates
// out of run(); due timers and posted work not yet run are kept for the next pass, and the
// loop can be run again.
//
// Virtual time (loop_options::virtual_time, for tests): the loop's clocks are its own and
// move only when it moves them, so code with timers is tested instantly and
// deterministically.  Every clock read by the loop (now(), after(), every(), restart_after,
// collection in phase 5, periodic re-arms) is the virtual one; timer_fds are never armed.
// Phase 1 marks a clock whose earliest deadline the virtual time has reached as its timer_fd
// would have, so the pass does not wait and phase 5 collects it.  When a pass would
// block and a timer is pending, phase 3 polls the backend with a zero timeout and, if
// nothing is ready and nothing was posted, jumps the clock to the earliest deadline (never
// past run_for's end), so run() and run_for() step through deadlines one by one, each timer
// seeing now() == its deadline.  advance(d) instead jumps once, by d, then runs what became
// due: periodic timers see the whole jump and report overruns by their policy.  Descriptors
// and post() work as usual; with no timer pending the loop blocks on them as usual.  While a
// work_guard exists the loop never jumps: it waits for real, for the work another thread
// does for it.
//
// Precision (loop_options): spin_margin wakes each clock's earliest deadline early by the
// margin and busy-waits to it; spin_below (3 us by default) busy-waits instead of sleeping for
// a deadline closer than that; timer_coalescing wakes up to that much late so that timers
// due close together run in one wake-up; timer_slack sets the loop thread's slack.  Realtime timers
// are armed with TFD_TIMER_CANCEL_ON_SET, so a change of the wall clock (settimeofday,
// clock_settime, NTP steps, resume) wakes the loop, which re-collects due realtime timers
// and re-arms, with no periodic polling; on_clock_change() also reports it.  lateness()
// counts, for every timer run, how late the loop noticed it.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include "tfd/backend_kind.hpp"
#include "tfd/clock.hpp"
#include "tfd/embedded_timer.hpp"
#include "tfd/fd_watcher.hpp"
#include "tfd/handle.hpp"
#include "tfd/io_events.hpp"
#include "tfd/latency_histogram.hpp"
#include "tfd/loop_options.hpp"
#include "tfd/signal_watcher.hpp"
#include "tfd/small_function.hpp"
#include "tfd/time_convert.hpp"
#include "tfd/timer_watcher.hpp"
#include "tfd/work_guard.hpp"

namespace tfd {

class event_loop;
namespace detail {
class loop_impl;
struct event_loop_access;
class coroutine_state;  // coroutines: src/coroutine_state.hpp
coroutine_state& coroutine_state_of(event_loop& loop);
}  // namespace detail
template <class T>
class task;  // coroutines: tfd/task.hpp

// Work for post(): move-only, so it may own what it captures (a unique_ptr, a promise).
// Captures up to 24 bytes are stored in place.
using posted_work = small_function<void(), 24>;
// The callback of on_clock_change(), move-only likewise.
using clock_change_callback = small_function<void(), 16>;
// The handler of on_task_exception(), move-only likewise.
using task_exception_handler = small_function<void(std::exception_ptr), 16>;

// Options of a periodic timer.
struct periodic_options {
    clock_id clock = clock_id::monotonic;
    missed_ticks policy = missed_ticks::skip;
};

// Every call that takes a time takes it first, then the callback, then where it runs: a
// duration (std::chrono, any representation) is relative to the loop's now() on the clock
// given last (monotonic by default); a time point (steady_clock, system_clock,
// monotonic_clock, boottime_clock, ...) carries its clock; bare nanoseconds since a clock's
// epoch take the clock last.  Fractions of a nanosecond round up, so a timer never fires
// before the time given; a value past the 64-bit range of nanoseconds saturates (a delay
// of hours::max() never fires, run_for(hours::max()) runs until stopped); a NaN is EINVAL
// (to_nanoseconds_ceil).
class event_loop {
  public:
    // Creates the backend and the wake-up eventfd; throws std::system_error.
    explicit event_loop(backend_kind backend = backend_kind::epoll, loop_options options = {});
    // Every handle, active embedded timer and work guard must be gone before the loop.  Every
    // build stops the program with a message naming what is left of the handles and guards;
    // an active embedded timer stops it in a debug build and is left idle in a release one.
    ~event_loop();
    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;

    // --- Watchers ------------------------------------------------------------------------
    // Watches `fd` for `interest`.  One watcher per descriptor: a second fails with EEXIST,
    // and so does replacing a watcher by assignment, `w = loop.watch(fd, ...)`, since the new
    // watcher is made before the old one in `w` goes: w.reset() first (or use
    // set_interest()).  EINVAL for an interest bit io_events does not name.  The select
    // backend refuses fd >= FD_SETSIZE with EINVAL.
    [[nodiscard]] fd_watcher watch(int fd, io_events interest, fd_callback callback);

    // One-shot timer `delay` from now (a negative delay is "due now").  The callback takes
    // no argument or the overrun count (always 0 for a one-shot timer).
    template <class Rep, class Period, class F>
    [[nodiscard]] timer_watcher after(std::chrono::duration<Rep, Period> delay, F&& callback,
                                      clock_id clock = clock_id::monotonic) {
        return start_one_shot("event_loop::after", clock,
                              deadline_after(detail::loop_ns(delay, "event_loop::after"), clock),
                              std::forward<F>(callback));
    }
    // One-shot timer at `deadline`: a time point of a clock tfd knows, or ns since the epoch
    // of `clock`.
    template <class Clock, class Duration, class F>
    [[nodiscard]] timer_watcher at(std::chrono::time_point<Clock, Duration> deadline,
                                   F&& callback) {
        return at(detail::loop_ns(deadline.time_since_epoch(), "event_loop::at"),
                  std::forward<F>(callback), clock_of<Clock>::value);
    }
    template <class F>
    [[nodiscard]] timer_watcher at(std::chrono::nanoseconds deadline, F&& callback,
                                   clock_id clock = clock_id::monotonic) {
        return start_one_shot("event_loop::at", clock, deadline.count(), std::forward<F>(callback));
    }
    // Periodic timer: first fires one `period` from now, then every `period` after that
    // scheduled time.  The period must be positive (EINVAL otherwise).  The callback is
    // called as f(overruns) (the ticks the policy folded into this run) or as f().
    template <class Rep, class Period, class F>
    [[nodiscard]] timer_watcher every(std::chrono::duration<Rep, Period> period, F&& callback,
                                      periodic_options options = {}) {
        constexpr const char* operation = "event_loop::every";
        auto ns = detail::loop_ns(period, operation);
        return start_periodic(operation, deadline_after(ns, options.clock), ns,
                              timer_callback(taking_overruns(operation, std::forward<F>(callback))),
                              options);
    }
    // Periodic timer whose first deadline is `first` (a time point, or ns since the epoch of
    // options.clock).
    template <class Rep, class Period, class F>
    [[nodiscard]] timer_watcher every_from(std::chrono::nanoseconds first,
                                           std::chrono::duration<Rep, Period> period, F&& callback,
                                           periodic_options options = {}) {
        constexpr const char* operation = "event_loop::every_from";
        return start_periodic(operation, first.count(), detail::loop_ns(period, operation),
                              timer_callback(taking_overruns(operation, std::forward<F>(callback))),
                              options);
    }
    template <class Clock, class Duration, class Rep, class Period, class F>
    [[nodiscard]] timer_watcher every_from(std::chrono::time_point<Clock, Duration> first,
                                           std::chrono::duration<Rep, Period> period, F&& callback,
                                           periodic_options options = {}) {
        options.clock = clock_of<Clock>::value;
        return every_from(detail::loop_ns(first.time_since_epoch(), "event_loop::every_from"),
                          period, std::forward<F>(callback), options);
    }
    // Makes room for `count` more one-shot timers than are alive now, so that starting them
    // allocates nothing: their nodes come from a pool the loop grows in chunks, and a server
    // that knows its connection limit can pay for (and fault in) that memory at startup
    // instead of on its first burst.  The memory stays with the loop until it is destroyed.
    // The reservation is of 56-byte nodes, for callables of up to 8 bytes; callables of 9 to
    // 24 bytes take 72-byte nodes from a second pool that grows as they start.  (An
    // embedded_timer needs no reservation: it lives in your object.)  A count that cannot be
    // met throws std::system_error naming it, and reserves nothing: EINVAL for more timers
    // than an address space holds, ENOMEM for more than the machine's memory or when the
    // allocation fails.
    void reserve_timers(std::size_t count);

    // Delivers `signo` to `callback` through a signalfd.  The loop blocks the signal in the
    // calling thread (which must be the loop's thread) so that it reaches the signalfd, and
    // unblocks it when the watcher stops, unless it was already blocked before; an instance
    // still pending at that moment is then delivered by its ordinary disposition.  Other
    // threads must block the signal themselves (block it before creating them), or the kernel
    // may deliver it to one of them instead.  One watcher per signal, and one loop per
    // signal on a thread, since the mask is the thread's (EEXIST otherwise; so replacing a
    // watcher by assignment, `s = loop.on_signal(signo, ...)`, needs s.reset() first).  SIGKILL and
    // SIGSTOP, and the fault signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, which the kernel
    // delivers to the faulting thread blocked or not), are EINVAL.
    [[nodiscard]] signal_watcher on_signal(int signo, signal_callback callback);

    // --- Any thread ------------------------------------------------------------------------
    // Runs `work` on the loop's thread in phase 6 of a pass, waking the loop if it waits.
    void post(posted_work work);
    // Makes the running run() or run_for() return after the current pass (run_until_idle()
    // and advance() after it too; run_once() ends after its one pass anyway).  A stop
    // requested while one of them runs ends that call only.  If none is running, the next
    // run() or run_for() returns at its first check.  Wakes the loop if it waits.
    void stop() noexcept;

    // --- Running ---------------------------------------------------------------------------
    // Runs passes until stop() or until nothing is left to wait for (no active watcher, no
    // pending timer, no posted work, no work_guard).
    void run();
    // One pass that waits as long as needed for something to happen (or not at all when
    // nothing is active).  Returns whether anything is still active.
    bool run_once();
    // Runs passes for `duration` (measured on CLOCK_MONOTONIC) or until stop(); it waits out
    // the whole duration even when nothing is active.  On virtual time the duration is
    // virtual: the loop steps through the deadlines up to its end and returns at once.
    template <class Rep, class Period>
    void run_for(std::chrono::duration<Rep, Period> duration) {
        run_for_ns(detail::loop_ns(duration, "event_loop::run_for"));
    }
    // Runs passes that never wait (zero timeout) until no timer is due, nothing is posted
    // and no collected timer is left to run.  Never moves a clock.  A callback that posts
    // work every time it runs keeps it from returning.
    void run_until_idle();

    // --- Virtual time (loop_options::virtual_time) ----------------------------------------
    // Jumps every virtual clock forward by `delta` (>= 0; nanoseconds::max() goes to the end
    // of time) at once, then run_until_idle(): the timers it passed run in (deadline, start
    // order), each seeing the new now(); a periodic timer reports the periods it missed
    // according to its policy (burst runs them one per pass).  EINVAL on a real-time loop or
    // for a negative delta; EDEADLK from a callback.
    template <class Rep, class Period>
    void advance(std::chrono::duration<Rep, Period> delta) {
        advance_ns(detail::loop_ns(delta, "event_loop::advance"));
    }
    [[nodiscard]] bool virtual_time() const noexcept;

    // --- Precision -------------------------------------------------------------------------
    // Calls `callback` (on the loop's thread, in phase 5, just before the realtime timers are
    // collected against the new time) when the realtime clock was set discontinuously.  One per
    // loop; an empty function removes it.  While set, the realtime timer_fd stays armed
    // (far in the future when no realtime timer is pending), so no polling is needed.  It
    // does not keep run() alive.
    void on_clock_change(clock_change_callback callback);
    // How late each timer was noticed: the clock reading taken when the pass collected it
    // (once per clock per pass, after any spin) minus its deadline.  Counts every run of
    // every timer, periodic catch-ups and embedded timers included; on virtual time, virtual
    // lateness.
    [[nodiscard]] const latency_histogram& lateness() const noexcept;

    // The current time on `clock`, read now (not cached per pass); virtual on virtual time.
    [[nodiscard]] std::chrono::nanoseconds now(clock_id clock = clock_id::monotonic) const;
    // The same as a time point of a clock tfd knows: loop.now<std::chrono::steady_clock>().
    template <class Clock>
    [[nodiscard]] std::chrono::time_point<Clock, std::chrono::nanoseconds> now() const {
        return std::chrono::time_point<Clock, std::chrono::nanoseconds>(
            now(clock_of<Clock>::value));
    }
    [[nodiscard]] backend_kind backend() const noexcept;
    // Active watchers of all kinds (registered watchers, pending timers, handles' and embedded
    // ones; internal ones excluded): for tests and introspection.
    [[nodiscard]] std::size_t active_watchers() const noexcept;

    // --- Coroutines (tfd/task.hpp, docs/coroutines.md) -----------------------------------
    // Runs `work` detached: starts it at once, up to its first suspension, and owns its frame
    // until it finishes (or until the loop is destroyed, which destroys it).  An exception
    // that escapes it goes to the handler set by on_task_exception(); by default it is
    // rethrown from run() (posted, so it leaves in phase 6); if the loop is destroyed before
    // a run() gets to it, a line naming it goes to stderr instead.  EINVAL for an empty task.
    void spawn(task<void> work);
    // Sets (or, with an empty handler, clears) what receives the exceptions that escape
    // spawned tasks.  Move-only, so it may own what it captures.
    void on_task_exception(task_exception_handler handler);
    // Detached tasks not finished yet.
    [[nodiscard]] std::size_t spawned() const noexcept;

  private:
    friend struct detail::event_loop_access;
    friend detail::coroutine_state& detail::coroutine_state_of(event_loop& loop);  // coroutines

    // A timer's callback may ignore the overrun count (a one-shot timer's is always 0).
    template <class F>
    static auto taking_overruns(const char* operation, F&& callback) {
        static_assert(std::is_invocable_v<std::decay_t<F>&> ||
                          std::is_invocable_v<std::decay_t<F>&, std::uint64_t>,
                      "tfd: a timer callback is called as f() or f(std::uint64_t overruns)");
        if constexpr (std::is_invocable_v<std::decay_t<F>&> &&
                      !std::is_invocable_v<std::decay_t<F>&, std::uint64_t>) {
            // Checked before wrapping: the wrapper is never empty, whatever it holds.
            if (detail::is_empty_callable<std::decay_t<F>>(callback)) {
                detail::usage_error(operation, "empty callback");
            }
            return [f = std::forward<F>(callback)](std::uint64_t) mutable { f(); };
        } else {
            return std::decay_t<F>(std::forward<F>(callback));
        }
    }
    // A callable that timer_callback stores in place takes a 56-byte node; one up to 24 bytes
    // a 72-byte node (wide_timer_callback); anything else is moved to the heap.
    // `operation` names the call in error messages (an empty callback, a bad period).
    template <class F>
    timer_watcher start_one_shot(const char* operation, clock_id clock, std::int64_t deadline,
                                 F&& callback) {
        auto callable = taking_overruns(operation, std::forward<F>(callback));
        using C = decltype(callable);
        if constexpr (!std::is_same_v<C, timer_callback> && !timer_callback::fits_inline<C>() &&
                      wide_timer_callback::fits_inline<C>()) {
            return start_wide_timer(operation, clock, deadline,
                                    wide_timer_callback(std::move(callable)));
        } else {
            return start_timer(operation, clock, deadline, 0, missed_ticks::skip,
                               timer_callback(std::move(callable)));
        }
    }
    timer_watcher start_wide_timer(const char* operation, clock_id clock, std::int64_t deadline,
                                   wide_timer_callback callback);
    [[nodiscard]] std::int64_t deadline_after(std::chrono::nanoseconds delay, clock_id clock) const;
    timer_watcher start_timer(const char* operation, clock_id clock, std::int64_t deadline,
                              std::int64_t period, missed_ticks policy, timer_callback callback);
    timer_watcher start_periodic(const char* operation, std::int64_t first,
                                 std::chrono::nanoseconds period, timer_callback callback,
                                 periodic_options options);
    void run_for_ns(std::chrono::nanoseconds duration);
    void advance_ns(std::chrono::nanoseconds delta);

    std::unique_ptr<detail::loop_impl> impl_;
    // Detached tasks and descriptor waits of coroutines, made at first use.  Declared after
    // impl_, so they are destroyed first, while the loop can still take back what they hold.
    std::unique_ptr<detail::coroutine_state, void (*)(detail::coroutine_state*)> coroutines_{
        nullptr, nullptr};
};

}  // namespace tfd

// The event loop's state: the subsystems event_loop owns, and the pass that runs them
// (private to the library).
//
// Each subsystem keeps its own invariants, at the top of its file: fd_registry.hpp (dispatch
// hygiene), timer_scheduler.hpp (timers, clocks, pool, due list, virtual time, lateness),
// signal_set.hpp, post_queue.hpp.  What this file adds:
//  * owner_ is the thread inside run(), run_once(), run_for(), run_until_idle() or
//    advance(), or an empty id; they claim it atomically and so refuse to nest or to run on
//    a second thread at once (EDEADLK); stop() from the owner needs no wake-up, since the
//    flag is checked after every pass;
//  * members are declared so that the registry outlives every subsystem that registered a
//    descriptor with it.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>

#include "fd_registry.hpp"
#include "post_queue.hpp"
#include "signal_set.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/loop_options.hpp"
#include "timer_scheduler.hpp"

namespace tfd::detail {

class loop_impl {
  public:
    loop_impl(backend_kind kind, loop_options options);
    ~loop_impl();
    loop_impl(const loop_impl&) = delete;
    loop_impl& operator=(const loop_impl&) = delete;

    // Any thread.
    void stop() noexcept;

    // Running.
    void run();
    bool run_once();
    void run_for(std::chrono::nanoseconds duration);
    void run_until_idle();
    void advance(std::chrono::nanoseconds delta);

    [[nodiscard]] std::size_t active_watchers() const noexcept;

    const loop_options options;
    fd_registry fds;
    timer_scheduler timers;
    signal_set signals;
    post_queue posts;

  private:
    class running_guard;

    void pass(std::chrono::nanoseconds timeout);
    void wait(std::chrono::nanoseconds timeout);
    void idle_passes();
    void apply_timer_slack();
    [[nodiscard]] bool alive() const noexcept;
    [[nodiscard]] bool work_waiting() const noexcept;
    void check_nothing_refers_to_me() const noexcept;

    std::thread::id slack_thread_{};  // the thread whose slack options.timer_slack set
    std::atomic<bool> stop_requested_{false};
    std::atomic<std::thread::id> owner_{};
};

// The library's way from the public façade to its state.
struct event_loop_access {
    static loop_impl& impl(event_loop& loop) noexcept { return *loop.impl_; }
};

}  // namespace tfd::detail

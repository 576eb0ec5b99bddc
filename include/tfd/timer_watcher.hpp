// tfd::timer_watcher: the handle of a one-shot or periodic timer registered with an event_loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <utility>

#include "tfd/clock.hpp"
#include "tfd/small_function.hpp"

namespace tfd {

namespace detail {
class loop_impl;
struct timer_node;
}  // namespace detail

// Called when the timer fires.  `overruns` is the number of whole periods of a periodic timer
// that also elapsed between its scheduled deadline and the moment the callback ran (0 when
// on time, always 0 for a one-shot timer).  Only 8 bytes of captures (one pointer or
// reference) are stored in place, to keep a timer within 64 bytes; larger callables are moved
// to the heap.
using timer_callback = small_function<void(std::uint64_t overruns), 8>;

// What a periodic timer does when it runs late by one period or more.
//   skip   one call reports the overrun count; the next deadline is the first scheduled one
//          still in the future, so the schedule stays anchored (never drifts).
//   burst  one call per scheduled deadline, missed ones included, run back to back (one per
//          loop pass) until the timer has caught up; the schedule stays anchored.
//   delay  one call reports the overrun count; the schedule restarts one period after the
//          call (it drifts by the lateness, like a timer re-armed from its callback).
enum class missed_ticks : unsigned char { skip, burst, delay };

// Owns one timer (made by event_loop::after/at/every).  Move-only; destroying the handle stops
// and frees the timer.  stop() only cancels it, so it can be restarted.  The handle must not
// outlive its loop.
class timer_watcher {
  public:
    timer_watcher() noexcept = default;
    timer_watcher(timer_watcher&& other) noexcept : node_(std::exchange(other.node_, nullptr)) {}
    timer_watcher& operator=(timer_watcher&& other) noexcept {
        if (this != &other) {
            reset();
            node_ = std::exchange(other.node_, nullptr);
        }
        return *this;
    }
    timer_watcher(const timer_watcher&) = delete;
    timer_watcher& operator=(const timer_watcher&) = delete;
    ~timer_watcher() { reset(); }

    // Cancels the timer; a no-op when it is not pending.  A timer collected as due in the
    // current pass but not run yet will not run.  Safe from any callback, its own included.
    void stop() noexcept;
    // Stops the timer and frees it; the handle becomes empty.
    void reset() noexcept;

    // (Re)starts the timer `delay` from now on its clock, or at the absolute `deadline` (ns
    // since the clock's epoch).  A periodic timer keeps its period and anchors it here.
    void restart_after(std::chrono::nanoseconds delay);
    void restart_at(std::chrono::nanoseconds deadline);

    // True while the timer will fire (pending, or collected as due and not yet run).
    [[nodiscard]] bool pending() const noexcept;
    // The deadline it was last (re)started with, ns since its clock's epoch.
    [[nodiscard]] std::chrono::nanoseconds deadline() const noexcept;
    [[nodiscard]] clock_id clock() const noexcept;

    explicit operator bool() const noexcept { return node_ != nullptr; }

  private:
    friend class detail::loop_impl;
    explicit timer_watcher(detail::timer_node* node) noexcept : node_(node) {}

    detail::timer_node* node_ = nullptr;  // its binding leads to the loop
};

}  // namespace tfd

// tfd::detail::wait_timer: the one-shot timer a timed awaiter keeps inside itself (and so
// inside the coroutine frame).
//
// All timed awaiters start, stop and test their timer through this one type, so what backs
// it is decided here only.  Today it is the loop's handle API: the node comes from the
// loop's timer pool (no malloc once the pool has a free block, see
// event_loop::reserve_timers), and the callback, one pointer, is stored in place.
#pragma once

#include <chrono>
#include <cstdint>

#include "tfd/clock.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/timer_watcher.hpp"

namespace tfd::detail {

class wait_timer {
  public:
    // Calls owner->on_timer() when the timer fires.
    template <class Owner>
    void start_at(event_loop& loop, clock_id clock, std::chrono::nanoseconds deadline,
                  Owner* owner) {
        watcher_ = loop.at(clock, deadline, [owner](std::uint64_t) { owner->on_timer(); });
    }
    template <class Owner>
    void start_after(event_loop& loop, std::chrono::nanoseconds delay, Owner* owner) {
        watcher_ = loop.after(delay, [owner](std::uint64_t) { owner->on_timer(); });
    }
    // Safe from the timer's own callback.
    void stop() noexcept { watcher_.reset(); }
    [[nodiscard]] bool active() const noexcept { return watcher_.pending(); }

  private:
    timer_watcher watcher_;
};

}  // namespace tfd::detail

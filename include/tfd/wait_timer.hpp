// tfd::detail::wait_timer: the one-shot timer a timed awaiter keeps inside itself (and so
// inside the coroutine frame).
//
// All timed awaiters start, stop and test their timer through this one type, so what backs
// it is decided here only: an embedded_timer (tfd/embedded_timer.hpp), whose queue hook and
// callback live in the awaiter.  Starting and stopping it allocate nothing; the callback is
// one pointer, to the awaiter.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <chrono>

#include "tfd/clock.hpp"
#include "tfd/embedded_timer.hpp"
#include "tfd/event_loop.hpp"

namespace tfd::detail {

class wait_timer {
  public:
    // Calls owner->on_timer() when the timer fires.
    template <class Owner>
    void start_at(event_loop& loop, clock_id clock, std::chrono::nanoseconds deadline,
                  Owner* owner) {
        timer_.set_callback([owner] { owner->on_timer(); });
        timer_.start_at(loop, deadline, clock);
    }
    template <class Owner>
    void start_after(event_loop& loop, std::chrono::nanoseconds delay, Owner* owner) {
        timer_.set_callback([owner] { owner->on_timer(); });
        timer_.start_after(loop, delay);
    }
    // Safe from the timer's own callback.
    void stop() noexcept { timer_.stop(); }
    [[nodiscard]] bool active() const noexcept { return timer_.active(); }

  private:
    embedded_timer timer_;
};

}  // namespace tfd::detail

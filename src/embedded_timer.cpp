// Embedded timers: the scheduler's entry points behind tfd::embedded_timer.
#include "tfd/embedded_timer.hpp"

#include "loop_impl.hpp"
#include "saturating.hpp"

namespace tfd {
namespace detail {

void start_embedded(event_loop& loop, timer_base& timer, clock_id clock, std::int64_t deadline) {
    if (timer.binding == nullptr) {
        usage_error("embedded_timer::start", "the timer has no callback");
    }
    timer_scheduler& timers = event_loop_access::impl(loop).timers;
    timers.start(timer, timers.timers_for(clock), deadline);
}

void stop_embedded(timer_base& timer) noexcept {
    timer_scheduler::stop(timer);
    timer.binding = timer.binding->unbound;
}

}  // namespace detail

void embedded_timer::start_after_ns(event_loop& loop, std::chrono::nanoseconds delay,
                                    clock_id clock) {
    if (binding == nullptr) {
        detail::usage_error("embedded_timer::start_after", "the timer has no callback");
    }
    detail::timer_scheduler& timers = detail::event_loop_access::impl(loop).timers;
    detail::clock_timers& on = timers.timers_for(clock);
    timers.start(*this, on, detail::saturating_add(timers.read_clock(clock), delay.count()));
}

}  // namespace tfd

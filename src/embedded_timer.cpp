// Embedded timers: the scheduler's entry points behind tfd::embedded_timer.
#include "tfd/embedded_timer.hpp"

#include <string>
#include <system_error>

#include "loop_impl.hpp"
#include "tfd/event_loop.hpp"

namespace tfd {
namespace detail {

void start_embedded(event_loop& loop, timer_base& timer, clock_id clock, std::int64_t deadline) {
    if (timer.binding == nullptr) {
        embedded_timer_misuse("embedded_timer::start", "the timer has no callback");
    }
    loop_impl& impl = event_loop_access::impl(loop);
    impl.start(timer, impl.timers_for(clock), deadline);
}

void stop_embedded(timer_base& timer) noexcept {
    loop_impl::stop(timer);
    timer.binding = timer.binding->unbound;
}

void embedded_timer_misuse(const char* operation, const char* why) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            std::string(operation) + ": " + why);
}

std::chrono::nanoseconds checked_delay(std::optional<std::chrono::nanoseconds> ns,
                                       const char* operation) {
    if (!ns) {
        throw std::system_error(
            std::make_error_code(std::errc::invalid_argument),
            std::string(operation) + ": the time does not fit in 64-bit nanoseconds");
    }
    return *ns;
}

}  // namespace detail

void embedded_timer::start_after_ns(event_loop& loop, std::chrono::nanoseconds delay,
                                    clock_id clock) {
    if (binding == nullptr) {
        detail::embedded_timer_misuse("embedded_timer::start_after", "the timer has no callback");
    }
    detail::loop_impl& impl = detail::event_loop_access::impl(loop);
    detail::clock_timers& timers = impl.timers_for(clock);
    std::int64_t deadline = 0;
    if (__builtin_add_overflow(impl.read_clock(clock), delay.count(), &deadline)) {
        deadline = delay.count() > 0 ? INT64_MAX : INT64_MIN;
    }
    impl.start(*this, timers, deadline);
}

}  // namespace tfd

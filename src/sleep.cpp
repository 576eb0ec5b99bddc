// Sleeps: the deadline arithmetic that is not a template.
#include "tfd/sleep.hpp"

#include "saturating.hpp"

namespace tfd::detail {

std::chrono::nanoseconds deadline_after(event_loop& loop, clock_id clock,
                                        std::chrono::nanoseconds delay) {
    // Saturated: a sleep "forever" stays in the future instead of wrapping into the past.
    return std::chrono::nanoseconds(saturating_add(loop.now(clock).count(), delay.count()));
}

}  // namespace tfd::detail

// The timer_watcher handle: its verbs, on the loop's timer scheduler.
#include "tfd/timer_watcher.hpp"

#include <string>

#include "saturating.hpp"
#include "timer_node.hpp"
#include "timer_scheduler.hpp"

namespace tfd {
namespace detail {

void nan_time(std::string_view operation) {
    usage_error(operation, "the time is NaN");
}

}  // namespace detail

void timer_watcher::stop() noexcept {
    if (node_ != nullptr && !node_->idle()) {
        detail::timer_scheduler::stop(*node_);
    }
}

void timer_watcher::reset() noexcept {
    if (node_ != nullptr) {
        detail::timer_node* node = std::exchange(node_, nullptr);
        node->binding->clock->owner->release(node);
    }
}

void timer_watcher::restart_after_ns(std::chrono::nanoseconds delay) {
    if (node_ == nullptr) {
        detail::usage_error("timer_watcher::restart_after", "empty handle");
    }
    detail::clock_timers& clock = *node_->binding->clock;
    std::int64_t deadline =
        detail::saturating_add(clock.owner->read_clock(clock.clock), delay.count());
    clock.owner->start(*node_, clock, deadline);
}

void timer_watcher::restart_at(std::chrono::nanoseconds deadline) {
    if (node_ == nullptr) {
        detail::usage_error("timer_watcher::restart_at", "empty handle");
    }
    detail::clock_timers& clock = *node_->binding->clock;
    clock.owner->start(*node_, clock, deadline.count());
}

void timer_watcher::check_clock(clock_id wanted, std::string_view operation) const {
    if (node_ != nullptr && clock() != wanted) {
        detail::usage_error(operation, "a time point of the " + std::string(to_string(wanted)) +
                                           " clock for a timer on the " +
                                           std::string(to_string(clock())) + " clock");
    }
}

bool timer_watcher::active() const noexcept {
    return node_ != nullptr && !node_->idle();
}

std::chrono::nanoseconds timer_watcher::deadline() const noexcept {
    return node_ != nullptr ? node_->deadline() : std::chrono::nanoseconds(0);
}

clock_id timer_watcher::clock() const noexcept {
    return node_ != nullptr ? detail::timer_scheduler::clock_of(*node_) : clock_id::monotonic;
}

}  // namespace tfd

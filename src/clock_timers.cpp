#include "clock_timers.hpp"

#include <string>
#include <system_error>

namespace tfd::detail {

clock_timers::clock_timers(clock_id id, timer_scheduler* scheduler)
    : clock(id),
      fd(id, open_flags::nonblocking),
      reads_on_fire(base_clock(id) == clock_id::realtime),
      owner(scheduler) {
    queue.set_cascade_budget(timer_queue::loop_cascade_budget);
}

bool clock_timers::set_for(std::optional<std::int64_t> target) const noexcept {
    switch (state) {
        case fd_state::disarmed:
            return !target;
        case fd_state::armed:
            return target && *target == armed_at;
        case fd_state::expired:
        case fd_state::cancelled:
            break;
    }
    return false;
}

// timerfd_settime(2), which also answers ECANCELED when the wall clock was set since the
// last cancel_on_set arm and no read saw it: the new setting is in place all the same (see
// the NOTES of timerfd_create(2)), so that is a clock change, not a failure.  On any other
// failure the state is left as it was, so the next pass tries again.
void clock_timers::arm(std::optional<std::int64_t> target) {
    std::error_code ec;
    if (target) {
        // A realtime timer_fd also wakes the loop when the wall clock is set, so realtime
        // deadlines are re-evaluated without polling.
        set_flags flags = base_clock(clock) == clock_id::realtime
                              ? set_flags::absolute | set_flags::cancel_on_set
                              : set_flags::absolute;
        fd.settime(std::chrono::nanoseconds(*target), std::chrono::nanoseconds(0), flags, ec);
    } else {
        fd.settime(std::chrono::nanoseconds(0), std::chrono::nanoseconds(0), set_flags::none, ec);
    }
    if (ec == std::errc::operation_canceled) {
        collect = true;
        clock_set = true;
    } else if (ec) {
        throw std::system_error(ec, "event_loop: arming the " + std::string(to_string(clock)) +
                                        " timer_fd at " +
                                        (target ? std::to_string(*target) + " ns" : "0 (disarm)"));
    }
    state = target ? fd_state::armed : fd_state::disarmed;
    armed_at = target.value_or(0);
}

// Expirations are not counted, the queue knows what is due.  Only a cancel_on_set timer_fd is
// read, for the ECANCELED that tells of a wall-clock change; the others are left readable,
// since the settime that phase 2 makes after every fire (to re-arm or disarm) clears them for
// one system call less per wake-up.
void clock_timers::ready() {
    collect = true;
    if (!reads_on_fire) {
        state = fd_state::expired;
        return;
    }
    read_result result = fd.read();
    if (result.status == read_status::cancelled) {
        state = fd_state::cancelled;
        clock_set = true;
    } else {
        state = fd_state::disarmed;
    }
}

const timer_binding* clock_timers::bind_slow(const timer_binding* unbound) {
    for (const auto& bound : bindings_) {
        if (bound->unbound == unbound) {
            return last_bound_ = bound.get();
        }
    }
    bindings_.push_back(
        std::make_unique<timer_binding>(timer_binding{unbound->invoke, unbound, this}));
    return last_bound_ = bindings_.back().get();
}

}  // namespace tfd::detail

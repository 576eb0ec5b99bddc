#include "aio_scheduler.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <limits>

namespace tfd::aio {

std::int64_t time_source::now() const {
    return virtual_ ? virtual_now_ : clock_now(clock_).count();
}

void time_source::make_virtual(std::int64_t start) noexcept {
    virtual_ = true;
    virtual_now_ = start;
}

void time_source::advance_to(std::int64_t when) noexcept {
    if (when > virtual_now_) {
        virtual_now_ = when;
    }
}

void time_source::advance_by(std::int64_t delta) noexcept {
    if (delta > 0 && __builtin_add_overflow(virtual_now_, delta, &virtual_now_)) {
        virtual_now_ = std::numeric_limits<std::int64_t>::max();
    }
}

scheduler::scheduler(clock_id clock, std::chrono::nanoseconds coalescing)
    : time_(clock),
      fd_(clock, open_flags::nonblocking),
      cancel_on_set_(base_clock(clock) == clock_id::realtime) {
    queue_.set_cascade_budget(timer_queue::loop_cascade_budget);
    set_coalescing(coalescing);
    queue_.set_origin(std::chrono::nanoseconds(time_.now()));
}

void scheduler::renew_fd() {
    timer_fd fresh(time_.clock(), open_flags::nonblocking);
    std::error_code ignored;  // the child's copy only: the parent's stays open and armed
    fd_.close(ignored);
    fd_ = std::move(fresh);
    state_ = fd_state::idle;
}

void scheduler::make_virtual(std::int64_t start) {
    time_.make_virtual(start);
    queue_.set_origin(std::chrono::nanoseconds(start));
}

void scheduler::set_coalescing(std::chrono::nanoseconds coalescing) noexcept {
    coalescing_ = coalescing.count() > 0 ? coalescing.count() : 0;
}

void scheduler::set_spin_below(std::chrono::nanoseconds spin_below) noexcept {
    spin_below_ = spin_below.count() > 0 ? spin_below.count() : 0;
}

void scheduler::set_spin_margin(std::chrono::nanoseconds spin_margin) noexcept {
    spin_margin_ = spin_margin.count() > 0 ? spin_margin.count() : 0;
}

std::optional<std::int64_t> scheduler::next_deadline() {
    std::optional<std::chrono::nanoseconds> next = queue_.next_deadline();
    if (!next) {
        return std::nullopt;
    }
    return next->count();
}

scheduler::wait_kind scheduler::arm(std::error_code& ec) {
    std::optional<std::chrono::nanoseconds> next = queue_.next_deadline();
    if (!next) {
        // Nothing to wake for.  A timer_fd still armed wakes the loop once more for nothing,
        // which is cheaper than disarming it on every cancellation.
        return wait_kind::block;
    }
    if (time_.is_virtual()) {
        return wait_kind::poll;
    }
    std::int64_t deadline = next->count();
    std::int64_t now = time_.now();
    if (deadline <= now) {
        // Due already: arming in the past would only buy a timer interrupt and a wake-up.
        // Coalescing does not delay it: the loop is awake anyway.
        return wait_kind::poll;
    }
    const bool may_spin = spins_allowed();
    const std::int64_t margin = may_spin ? spin_margin_ : 0;
    // While the queue re-files a large slot in steps, `deadline` is a lower bound: wake for
    // it as it is, so that the steps follow each other.
    const std::int64_t delay = queue_.cascading() ? 0 : coalescing_ - margin;
    std::int64_t target = deadline;
    if (__builtin_add_overflow(deadline, delay, &target)) {
        // Only coalescing can overflow: deadline > now, and the margin is at most 1 ms.
        target = std::numeric_limits<std::int64_t>::max();
    }
    if (may_spin && spin_if_close(deadline, now, std::max(spin_below_, margin))) {
        // Closer than a sleep is worth, or inside the margin the timer_fd woke the loop for.
        return wait_kind::poll;
    }
    if (state_ == fd_state::armed && armed_at_ <= target) {
        return wait_kind::block;  // an expiry no later than needed is coming
    }
    if (timed_waits_ && time_.clock() == clock_id::monotonic &&
        target - now <= timed_wait_window_ns) {
        // The timer_fd is idle, fired (edge-triggered: it stays quiet), or armed for later:
        // none can wake the loop before the target, so no settime is needed.
        timed_left_ = target - now;
        ++timed_count_;
        return wait_kind::timed;
    }
    // 0 would disarm: a deadline at or before the clock's epoch is "due now", 1 ns.
    if (target < 1) {
        target = 1;
    }
    set_flags flags =
        cancel_on_set_ ? set_flags::absolute | set_flags::cancel_on_set : set_flags::absolute;
    ++settime_calls_;
    fd_.settime(std::chrono::nanoseconds(target), std::chrono::nanoseconds(0), flags, ec);
    if (ec == std::errc::operation_canceled) {
        // The wall clock was set since the last arm; the new setting is in place all the
        // same (timerfd_create(2), NOTES).
        ec.clear();
        ++clock_changes_;
    }
    if (ec) {
        state_ = fd_state::idle;
        return wait_kind::poll;
    }
    state_ = fd_state::armed;
    armed_at_ = target;
    return wait_kind::block;
}

bool scheduler::spin_if_close(std::int64_t deadline, std::int64_t now, std::int64_t window) {
    if (deadline <= now || deadline - now > window) {
        return false;
    }
    while (now < deadline) {
        now = time_.now();
    }
    ++spins_;
    return true;
}

bool scheduler::spin_below_deadline() {
    std::optional<std::chrono::nanoseconds> next = queue_.next_deadline();
    if (!next || time_.is_virtual() || !spins_allowed()) {
        return false;
    }
    return spin_if_close(next->count(), time_.now(), spin_below_);
}

void scheduler::fired() noexcept {
    state_ = fd_state::fired;
    if (cancel_on_set_) {
        // Only a read reports a clock change (ECANCELED); it also empties the descriptor.
        std::error_code ec;
        read_result r = fd_.read(ec);
        if (r.status == read_status::cancelled) {
            ++clock_changes_;
        }
    }
}

std::int64_t seconds_to_ns_ceil(double when) noexcept {
    constexpr double limit = 9223372036854775807.0;  // 2^63, as a double
    double product = when * 1e9;
    if (!(product < limit)) {
        return std::numeric_limits<std::int64_t>::max();
    }
    if (product < -limit) {
        return std::numeric_limits<std::int64_t>::min();
    }
    // product is when * 1e9 rounded to nearest; the fused multiply-add gives the exact
    // rounding error, so product + error == when * 1e9 exactly.  When product is not an
    // integer (only below 2^52), the error is smaller than its distance to either
    // neighbouring integer, so its ceiling is the answer; when it is one, the true value's
    // ceiling is product + ceil(error).
    double error = std::fma(when, 1e9, -product);
    double up = std::ceil(product);
    auto ns = static_cast<std::int64_t>(up);
    if (up == product && error != 0) {
        auto extra = static_cast<std::int64_t>(std::ceil(error));
        if (__builtin_add_overflow(ns, extra, &ns)) {
            ns = std::numeric_limits<std::int64_t>::max();
        }
    }
    return ns;
}

}  // namespace tfd::aio

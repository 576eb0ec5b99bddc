// tfd::sleep_for / tfd::sleep_until: suspend a coroutine until a time on a loop's clock.
//
//   co_await tfd::sleep_for(loop, 250ms);                       // monotonic clock
//   co_await tfd::sleep_until(loop, std::chrono::system_clock::now() + 1h);
//   co_await tfd::sleep_for(loop, 1s, stop_token);              // stop: operation_cancelled
//
// Never early: a duration or time point finer than a nanosecond (duration<double>, ...) is
// rounded up to the next nanosecond, and the loop never runs a timer before its clock reads
// the deadline.  A wall-clock sleep (system_clock, realtime_clock) ends when the wall clock
// reads the deadline, even if the clock is set meanwhile: the loop arms its realtime
// timer_fd with TFD_TIMER_CANCEL_ON_SET and re-collects after every change.  A sleep whose
// deadline has passed still goes through the loop (it resumes in the next pass's phase 5),
// so `co_await sleep_for(loop, 0s)` lets the rest of the loop run.  On virtual time the
// sleep ends when the loop's virtual clock reaches the deadline, instantly.
//
// The timer lives in the awaiter, inside the coroutine frame: no allocation per sleep once
// the loop's timer pool has room (see tfd/wait_timer.hpp).  Destroying the frame while it
// sleeps stops the timer.  Each awaiter is cancellable (with_timeout, when_any).
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <chrono>
#include <coroutine>
#include <ratio>
#include <stop_token>
#include <string>
#include <system_error>
#include <type_traits>

#include "tfd/cancellation.hpp"
#include "tfd/clock.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/wait_timer.hpp"

namespace tfd {

namespace detail {

template <class Stop>
class sleep_awaiter {
  public:
    sleep_awaiter(event_loop& loop, clock_id clock, std::chrono::nanoseconds deadline,
                  Stop stop) noexcept
        : loop_(&loop), deadline_(deadline), clock_(clock), stop_(std::move(stop)) {}
    sleep_awaiter(sleep_awaiter&&) noexcept = default;

    bool await_ready() const noexcept { return stop_.requested(); }
    [[nodiscard]] event_loop& awaited_loop() const noexcept { return *loop_; }
    bool await_suspend(std::coroutine_handle<> awaiting) {
        timer_.start_at(*loop_, clock_, deadline_, this);
        if (!stop_.bind(*loop_, &on_stop, this)) {
            timer_.stop();
            return false;
        }
        awaiting_ = awaiting;
        return true;
    }
    void await_resume() const {
        if (stop_.requested() && !fired_) {
            throw_cancelled(cancelled_operation::sleep);
        }
    }
    void cancel() noexcept {
        if (awaiting_) {
            timer_.stop();
            stop_.unbind();
            std::exchange(awaiting_, nullptr).resume();
        }
    }

  private:
    friend class wait_timer;
    template <class>
    friend class sleep_awaiter;
    void on_timer() noexcept {
        fired_ = true;
        stop_.unbind();
        std::exchange(awaiting_, nullptr).resume();
    }
    static void on_stop(void* self) noexcept { static_cast<sleep_awaiter*>(self)->cancel(); }

    event_loop* loop_;
    std::chrono::nanoseconds deadline_;
    clock_id clock_;
    bool fired_ = false;
    std::coroutine_handle<> awaiting_;
    wait_timer timer_;
    [[no_unique_address]] Stop stop_;
};

// `delay` from now on `clock`, saturated.
std::chrono::nanoseconds deadline_after(event_loop& loop, clock_id clock,
                                        std::chrono::nanoseconds delay);

}  // namespace detail

// Sleeps `delay` on the loop's monotonic clock (a negative delay: until the next pass).
template <class Rep, class Period>
[[nodiscard]] detail::sleep_awaiter<detail::no_stop> sleep_for(
    event_loop& loop, std::chrono::duration<Rep, Period> delay) {
    return {loop, clock_id::monotonic,
            detail::deadline_after(loop, clock_id::monotonic, detail::loop_ns(delay, "sleep_for")),
            detail::no_stop{}};
}
// Same; a stop request on `token` ends it: co_await throws operation_cancelled (the
// coroutine resumes in the loop's posted work, never inside request_stop(); see
// tfd/cancellation.hpp).  A sleep whose timer fires before that delivery ends normally.
template <class Rep, class Period>
[[nodiscard]] detail::sleep_awaiter<detail::stop_binding> sleep_for(
    event_loop& loop, std::chrono::duration<Rep, Period> delay, std::stop_token token) {
    return {loop, clock_id::monotonic,
            detail::deadline_after(loop, clock_id::monotonic, detail::loop_ns(delay, "sleep_for")),
            detail::stop_binding(std::move(token))};
}

// Sleeps until `deadline` on its clock: std::chrono::steady_clock, system_clock, or
// tfd::monotonic_clock, realtime_clock, boottime_clock (clock_of names the kernel clock).
template <class Clock, class Duration>
[[nodiscard]] detail::sleep_awaiter<detail::no_stop> sleep_until(
    event_loop& loop, std::chrono::time_point<Clock, Duration> deadline) {
    return {loop, clock_of<Clock>::value,
            detail::loop_ns(deadline.time_since_epoch(), "sleep_until"), detail::no_stop{}};
}
template <class Clock, class Duration>
[[nodiscard]] detail::sleep_awaiter<detail::stop_binding> sleep_until(
    event_loop& loop, std::chrono::time_point<Clock, Duration> deadline, std::stop_token token) {
    return {loop, clock_of<Clock>::value,
            detail::loop_ns(deadline.time_since_epoch(), "sleep_until"),
            detail::stop_binding(std::move(token))};
}

}  // namespace tfd

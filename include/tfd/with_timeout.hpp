// tfd::with_timeout: an operation with a time limit that is cancelled when the limit wins.
//
//   std::optional<std::size_t> n = co_await tfd::with_timeout(loop, io.read_some(buf, size), 5s);
//   if (!n) { /* 5 s without data: the read was cancelled, nothing of it is left */ }
//   bool slept = co_await tfd::with_timeout(loop, tfd::sleep_for(loop, 1h), 1s);  // false
//
// The operation is any cancellable awaiter (tfd/cancellation.hpp): sleep_for, sleep_until,
// readable, writable, ticker::next, async_fd's waits and reads, the TCP awaiters, and
// with_timeout itself.  co_await returns std::optional of the operation's result (bool for
// an operation that returns nothing): empty when the time limit came first.  Then the
// operation was cancelled before the coroutine resumed: its timer, watch and stop callback
// are gone, no byte was read or written by it, and it never completes later.
//
// An operation that is ready at once (a read on a descriptor with data waiting) completes
// without starting the timer.  Otherwise the timer lives in the awaiter (no allocation,
// see tfd/wait_timer.hpp) and is stopped when the operation completes.  When both are due
// in the same pass, descriptors win (phase 4 comes before phase 5); a timer operation due
// at the same deadline as the limit loses to it (equal deadlines fire in start order, and
// the limit's timer starts first).  The limit is rounded up to whole nanoseconds and a
// negative one is "due now".  Exceptions from the operation propagate.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <chrono>
#include <coroutine>
#include <optional>
#include <type_traits>
#include <utility>

#include "tfd/cancellation.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/sleep.hpp"
#include "tfd/wait_timer.hpp"

namespace tfd {

namespace detail {

template <class Inner>
class timeout_awaiter {
  public:
    using inner_result = decltype(std::declval<Inner&>().await_resume());
    using result_type = std::conditional_t<std::is_void_v<inner_result>, bool,
                                           std::optional<std::remove_cvref_t<inner_result>>>;

    timeout_awaiter(event_loop& loop, Inner&& inner, std::chrono::nanoseconds limit) noexcept
        : loop_(&loop), limit_(limit), inner_(std::move(inner)) {}
    timeout_awaiter(timeout_awaiter&&) noexcept = default;

    bool await_ready() { return inner_.await_ready(); }
    bool await_suspend(std::coroutine_handle<> awaiting) {
        timer_.start_after(*loop_, limit_, this);
        bool suspended = true;
        using suspend_result = decltype(inner_.await_suspend(awaiting));
        if constexpr (std::is_void_v<suspend_result>) {
            inner_.await_suspend(awaiting);
        } else {
            static_assert(std::is_same_v<suspend_result, bool>,
                          "with_timeout: the operation's await_suspend must return void or bool");
            suspended = inner_.await_suspend(awaiting);
        }
        if (!suspended) {
            timer_.stop();
        }
        return suspended;
    }
    result_type await_resume() {
        timer_.stop();
        if (timed_out_) {
            return result_type{};
        }
        if constexpr (std::is_void_v<inner_result>) {
            inner_.await_resume();
            return true;
        } else {
            return result_type(inner_.await_resume());
        }
    }
    // Cancellable itself, so time limits nest.
    void cancel() noexcept {
        timer_.stop();
        inner_.cancel();
    }

  private:
    friend class wait_timer;
    void on_timer() noexcept {
        timed_out_ = true;
        inner_.cancel();  // resumes the coroutine, in await_resume above
    }

    event_loop* loop_;
    std::chrono::nanoseconds limit_;
    bool timed_out_ = false;
    wait_timer timer_;
    Inner inner_;
};

}  // namespace detail

template <cancellable_awaiter Inner, class Rep, class Period>
[[nodiscard]] detail::timeout_awaiter<std::remove_cvref_t<Inner>> with_timeout(
    event_loop& loop, Inner&& operation, std::chrono::duration<Rep, Period> limit) {
    static_assert(!std::is_lvalue_reference_v<Inner>,
                  "with_timeout takes the operation itself: with_timeout(loop, io.read_some(...), "
                  "5s)");
    return {loop, std::move(operation), detail::ceil_ns(limit, "with_timeout")};
}

}  // namespace tfd

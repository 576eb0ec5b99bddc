// tfd::with_stop: an operation that a stop request cancels, reported as a value instead of
// an exception.
//
//   std::optional<std::size_t> n = co_await tfd::with_stop(loop, io.read_some(buf, size), token);
//   if (!n) { /* stop requested: the read was cancelled, nothing of it is left */ }
//   bool slept = co_await tfd::with_stop(loop, tfd::sleep_for(loop, 1h), token);
//
// The operation is any cancellable awaiter, as for with_timeout (the two nest either way).
// co_await returns std::optional of its result (bool for an operation that returns
// nothing): empty when the stop came first, already requested included.  The stop is
// handled as every tfd stop is (tfd/cancellation.hpp): at once on the loop's thread, posted
// to the loop from any other.  Where a stop should unwind a whole coroutine, pass the token
// to the operation itself instead, which then throws operation_cancelled; with_stop is for
// code that carries on, and costs no exception.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <coroutine>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

#include "tfd/cancellation.hpp"
#include "tfd/event_loop.hpp"

namespace tfd {

namespace detail {

template <class Inner>
class stop_awaiter {
  public:
    using inner_result = decltype(std::declval<Inner&>().await_resume());
    using result_type = std::conditional_t<std::is_void_v<inner_result>, bool,
                                           std::optional<std::remove_cvref_t<inner_result>>>;

    stop_awaiter(event_loop& loop, Inner&& inner, std::stop_token token) noexcept
        : loop_(&loop), inner_(std::move(inner)), stop_(std::move(token)) {}
    stop_awaiter(stop_awaiter&&) noexcept = default;

    bool await_ready() {
        if (stop_.requested()) {
            stopped_ = true;
            return true;
        }
        return inner_.await_ready();
    }
    bool await_suspend(std::coroutine_handle<> awaiting) {
        // Listen first: a stop from this thread cannot come before the operation suspends
        // (no other code runs in between), and one from another thread is posted.
        if (!stop_.bind(*loop_, &on_stop, this)) {
            stopped_ = true;
            return false;
        }
        bool suspended = true;
        using suspend_result = decltype(inner_.await_suspend(awaiting));
        if constexpr (std::is_void_v<suspend_result>) {
            inner_.await_suspend(awaiting);
        } else {
            static_assert(std::is_same_v<suspend_result, bool>,
                          "with_stop: the operation's await_suspend must return void or bool");
            suspended = inner_.await_suspend(awaiting);
        }
        if (!suspended) {
            stop_.unbind();
        }
        return suspended;
    }
    result_type await_resume() {
        stop_.unbind();
        if (stopped_) {
            return result_type{};
        }
        if constexpr (std::is_void_v<inner_result>) {
            inner_.await_resume();
            return true;
        } else {
            return result_type(inner_.await_resume());
        }
    }
    void cancel() noexcept {
        stop_.unbind();
        inner_.cancel();
    }

  private:
    static void on_stop(void* self) noexcept {
        auto& me = *static_cast<stop_awaiter*>(self);
        me.stopped_ = true;
        me.inner_.cancel();  // resumes the coroutine, in await_resume above
    }

    event_loop* loop_;
    bool stopped_ = false;
    Inner inner_;
    stop_binding stop_;
};

}  // namespace detail

template <cancellable_awaiter Inner>
[[nodiscard]] detail::stop_awaiter<std::remove_cvref_t<Inner>> with_stop(event_loop& loop,
                                                                         Inner&& operation,
                                                                         std::stop_token token) {
    static_assert(!std::is_lvalue_reference_v<Inner>,
                  "with_stop takes the operation itself: with_stop(loop, io.read_some(...), t)");
    return {loop, std::move(operation), std::move(token)};
}

}  // namespace tfd

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
// handled as every tfd stop is (tfd/cancellation.hpp): posted to the loop from any thread,
// the loop's included, so the coroutine resumes in the loop's phase 6, never inside
// request_stop(); an operation that completes before that delivery wins the race.  `loop`
// must be the loop the operation waits on (the delivery is posted there): co_await throws
// EINVAL, naming both loops, when a tfd operation waits on another one.  Where a stop
// should unwind a whole coroutine, pass the token to the operation itself instead, which then
// throws operation_cancelled; with_stop is for code that carries on, and costs no exception.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <coroutine>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

#include "tfd/cancellation.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/race_awaiter.hpp"

namespace tfd {

namespace detail {

// The race against a stop request (tfd/race_awaiter.hpp).
template <class Inner>
class stop_awaiter : public race_awaiter<stop_awaiter<Inner>, Inner> {
  public:
    stop_awaiter(event_loop& loop, Inner&& inner, std::stop_token token) noexcept
        : race_awaiter<stop_awaiter, Inner>(loop, std::move(inner)), stop_(std::move(token)) {}

  private:
    friend race_awaiter<stop_awaiter, Inner>;
    static constexpr const char* name = "with_stop";
    [[nodiscard]] bool rival_already_won() const noexcept { return stop_.requested(); }
    [[nodiscard]] bool arm(event_loop& loop) { return stop_.bind(loop, &on_stop, this); }
    void disarm() noexcept { stop_.unbind(); }
    static void on_stop(void* self) noexcept { static_cast<stop_awaiter*>(self)->rival_won(); }

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

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
// in the same pass, descriptors win (phase 4 comes before phase 5).  Equal deadlines fire
// in start order: a sleep_for or sleep_until due at the limit's deadline loses to it (its
// timer starts at the co_await, after the limit's), while a ticker::next() due then wins
// (the ticker's timer started when it was made, or at its last tick).  The limit is
// rounded up to whole nanoseconds and a negative one is "due now".  Exceptions from the
// operation propagate.  `loop` must be the loop the operation waits on (the limit's timer
// runs there): co_await throws EINVAL, naming both loops, when a tfd operation waits on
// another one (tfd/race_awaiter.hpp).
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <chrono>
#include <coroutine>
#include <optional>
#include <type_traits>
#include <utility>

#include "tfd/cancellation.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/race_awaiter.hpp"
#include "tfd/sleep.hpp"
#include "tfd/wait_timer.hpp"

namespace tfd {

namespace detail {

// The race against a time limit (tfd/race_awaiter.hpp), whose timer lives in the awaiter.
template <class Inner>
class timeout_awaiter : public race_awaiter<timeout_awaiter<Inner>, Inner> {
  public:
    timeout_awaiter(event_loop& loop, Inner&& inner, std::chrono::nanoseconds limit) noexcept
        : race_awaiter<timeout_awaiter, Inner>(loop, std::move(inner)), limit_(limit) {}

  private:
    friend race_awaiter<timeout_awaiter, Inner>;
    friend class wait_timer;
    static constexpr const char* name = "with_timeout";
    [[nodiscard]] static constexpr bool rival_already_won() noexcept { return false; }
    [[nodiscard]] bool arm(event_loop& loop) {
        timer_.start_after(loop, limit_, this);
        return true;
    }
    void disarm() noexcept { timer_.stop(); }
    void on_timer() noexcept { this->rival_won(); }

    std::chrono::nanoseconds limit_;
    wait_timer timer_;
};

}  // namespace detail

template <cancellable_awaiter Inner, class Rep, class Period>
[[nodiscard]] detail::timeout_awaiter<std::remove_cvref_t<Inner>> with_timeout(
    event_loop& loop, Inner&& operation, std::chrono::duration<Rep, Period> limit) {
    static_assert(!std::is_lvalue_reference_v<Inner>,
                  "with_timeout takes the operation itself: with_timeout(loop, io.read_some(...), "
                  "5s)");
    return {loop, std::move(operation), detail::loop_ns(limit, "with_timeout")};
}

}  // namespace tfd

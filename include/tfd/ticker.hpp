// tfd::ticker: a periodic timer a coroutine awaits tick by tick.
//
//   tfd::ticker tick(loop, 250ms);
//   for (;;) {
//       std::uint64_t missed = co_await tick.next();   // periods missed since the last tick
//   }
//
// The schedule is the loop's periodic timer (event_loop::every): anchored at construction,
// never drifting, late ticks handled by periodic_options::policy.  Ticks keep coming while
// the coroutine is busy elsewhere: the next next() then returns at once, and what it returns
// counts every period since the previous next() returned, less the one it reports (so 0
// means "exactly one period went by").  One waiter at a time (EBUSY otherwise).  The ticker
// must outlive its waits (declare it before them) and not outlive its loop; destroying it
// stops the timer.  next() is cancellable (with_timeout) and, given a stop token, ends with
// operation_cancelled on a stop request.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <stop_token>
#include <utility>

#include "tfd/cancellation.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/sleep.hpp"
#include "tfd/timer_watcher.hpp"
#include "tfd/waiter_slot.hpp"

namespace tfd {

class ticker {
    struct tick_wait;

  public:
    // What next() returns: a detail::slot_awaiter (include/tfd/waiter_slot.hpp).
    template <class Stop>
    using tick_awaiter = detail::slot_awaiter<tick_wait, Stop>;

    // EINVAL for a period that is not positive ("ticker: period=0s must be positive").
    template <class Rep, class Period>
    ticker(event_loop& loop, std::chrono::duration<Rep, Period> period,
           periodic_options options = {})
        : ticker(loop, detail::loop_ns(period, "ticker"), options, 0) {}
    ticker(const ticker&) = delete;
    ticker& operator=(const ticker&) = delete;
    ~ticker() = default;

    [[nodiscard]] tick_awaiter<detail::no_stop> next() noexcept;
    [[nodiscard]] tick_awaiter<detail::stop_binding> next(std::stop_token token) noexcept;
    // Stops ticking for good: a pending next() ends with operation_cancelled, and so does
    // every later one.  Not the handles' stop() (handle.hpp), which pauses and keeps
    // everything for a later start(): a ticker has no start(), its timer is released here,
    // and ticking again takes a new ticker (whose schedule is anchored at its construction).
    void stop() noexcept;

    [[nodiscard]] event_loop& loop() const noexcept { return *loop_; }

  private:
    ticker(event_loop& loop, std::chrono::nanoseconds period, periodic_options options, int);
    void on_tick(std::uint64_t overruns) noexcept;
    // A tick (ticked_) or the stop (no timer_) ends the wait.
    [[nodiscard]] std::uint64_t take_tick();

    event_loop* loop_;
    detail::waiter_slot waiting_;
    std::uint64_t missed_ = 0;  // periods missed since the previous next() returned
    bool ticked_ = false;       // a tick came that no next() has returned yet
    timer_watcher timer_;
};

struct ticker::tick_wait {
    using owner = ticker;
    static constexpr detail::cancelled_operation operation = detail::cancelled_operation::tick;
    static constexpr const char* busy =
        "ticker::next: another coroutine already waits for the tick";
    static detail::waiter_slot& slot(ticker& t) noexcept { return t.waiting_; }
    static bool ready(const ticker& t) noexcept { return t.ticked_ || !t.timer_; }
    static std::uint64_t take(ticker& t) { return t.take_tick(); }
};

inline ticker::tick_awaiter<detail::no_stop> ticker::next() noexcept {
    return {*this, detail::no_stop{}};
}
inline ticker::tick_awaiter<detail::stop_binding> ticker::next(std::stop_token token) noexcept {
    return {*this, detail::stop_binding(std::move(token))};
}

}  // namespace tfd

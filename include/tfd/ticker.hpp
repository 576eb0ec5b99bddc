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

namespace tfd {

class ticker {
  public:
    template <class Stop>
    class tick_awaiter;

    // EINVAL for a period that is not positive.
    template <class Rep, class Period>
    ticker(event_loop& loop, std::chrono::duration<Rep, Period> period,
           periodic_options options = {})
        : ticker(loop, detail::ceil_ns(period, "ticker"), options, 0) {}
    ticker(const ticker&) = delete;
    ticker& operator=(const ticker&) = delete;
    ~ticker() = default;

    [[nodiscard]] tick_awaiter<detail::no_stop> next() noexcept;
    [[nodiscard]] tick_awaiter<detail::stop_binding> next(std::stop_token token) noexcept;
    // Stops ticking for good: a pending next() ends with operation_cancelled, and so does
    // every later one.
    void stop() noexcept;
    [[nodiscard]] event_loop& loop() const noexcept { return *loop_; }

  private:
    // One waiting next(): complete() is called with the overrun count, or with stopped set
    // when stop() ended the wait.
    struct waiter {
        void (*complete)(waiter& self, std::uint64_t overruns, bool stopped) noexcept;
    };
    ticker(event_loop& loop, std::chrono::nanoseconds period, periodic_options options, int);
    void on_tick(std::uint64_t overruns) noexcept;
    void wait(waiter& w);

    event_loop* loop_;
    waiter* waiting_ = nullptr;
    std::uint64_t missed_ = 0;  // periods missed by ticks nobody waited for
    bool ticked_ = false;       // a tick came while nobody waited
    timer_watcher timer_;
};

template <class Stop>
class ticker::tick_awaiter : ticker::waiter {
  public:
    tick_awaiter(ticker& owner, Stop stop) noexcept
        : waiter{&complete}, owner_(&owner), stop_(std::move(stop)) {}
    tick_awaiter(tick_awaiter&&) noexcept = default;
    ~tick_awaiter() { cancel_quietly(); }

    bool await_ready() noexcept {
        if (stop_.requested()) {
            return true;
        }
        if (owner_->ticked_) {
            owner_->ticked_ = false;
            overruns_ = std::exchange(owner_->missed_, 0);
            ticked_ = true;
            return true;
        }
        if (!owner_->timer_) {
            stopped_ = true;
            return true;
        }
        return false;
    }
    bool await_suspend(std::coroutine_handle<> h) {
        owner_->wait(*this);
        if (!stop_.bind(owner_->loop(), &on_stop, this)) {
            owner_->waiting_ = nullptr;
            return false;
        }
        awaiting_ = h;
        return true;
    }
    std::uint64_t await_resume() const {
        if (!ticked_ && (stopped_ || stop_.requested())) {
            detail::throw_cancelled(detail::cancelled_operation::tick);
        }
        return overruns_;
    }
    void cancel() noexcept {
        if (awaiting_) {
            cancel_quietly();
            std::exchange(awaiting_, nullptr).resume();
        }
    }

  private:
    void cancel_quietly() noexcept {
        if (awaiting_) {
            owner_->waiting_ = nullptr;
            stop_.unbind();
        }
    }
    static void complete(waiter& w, std::uint64_t overruns, bool stopped) noexcept {
        auto& self = static_cast<tick_awaiter&>(w);
        self.overruns_ = overruns;
        self.ticked_ = !stopped;
        self.stopped_ = stopped;
        self.stop_.unbind();
        std::exchange(self.awaiting_, nullptr).resume();
    }
    static void on_stop(void* self) noexcept { static_cast<tick_awaiter*>(self)->cancel(); }

    ticker* owner_;
    std::uint64_t overruns_ = 0;
    bool ticked_ = false;
    bool stopped_ = false;
    std::coroutine_handle<> awaiting_;
    [[no_unique_address]] Stop stop_;
};

inline ticker::tick_awaiter<detail::no_stop> ticker::next() noexcept {
    return {*this, detail::no_stop{}};
}
inline ticker::tick_awaiter<detail::stop_binding> ticker::next(std::stop_token token) noexcept {
    return {*this, detail::stop_binding(std::move(token))};
}

}  // namespace tfd

// tfd::detail::race_awaiter: a cancellable operation raced against a rival event that
// cancels it when it comes first: with_timeout's time limit, with_stop's stop request.
//
// Both wrappers are the same race and differ only in the rival, so the race is written
// here once and each wrapper derives from it (CRTP, befriending it), supplying its rival:
//   bool rival_already_won()   the rival won before the race began (a stop already
//                              requested): co_await returns the empty result at once;
//   bool arm(event_loop&)      starts listening for the rival just before the operation
//                              suspends; false when the rival won during the call;
//   void disarm() noexcept     stops listening; safe when not armed, and from inside the
//                              rival's own notification;
// and calling rival_won() when the rival comes.
//
// States: unstarted, armed (the rival listened to, the operation suspended), finished.
// The operation is suspended only while armed, and the rival is disarmed before the
// coroutine runs again, whichever way the race ends:
//   the operation completes  it resumes the coroutine, await_resume disarms the rival and
//                            returns the operation's result;
//   the rival wins           rival_won() sets rival_won_ and cancels the operation, which
//                            resumes the coroutine inline; await_resume disarms (the
//                            rival's notification is over) and returns the empty result;
//   cancel() from outside    (a race nested in another) disarms, then cancels the
//                            operation; await_resume is not called.
// An operation ready at once (await_ready) or that declines to suspend (await_suspend
// returns false) finishes without the rival ever being armed past the call.
//
// The rival is armed on the loop given to the wrapper, the operation waits on its own; when
// the two differ the rival would never reach the operation (a limit on a loop nobody runs),
// so await_ready refuses the pair with EINVAL, naming both, for every operation that says
// which loop it waits on (awaited_loop(): all of tfd's; an awaiter of your own without it
// is trusted to use the wrapper's loop).
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <concepts>
#include <coroutine>
#include <optional>
#include <type_traits>
#include <utility>

#include "tfd/event_loop.hpp"

namespace tfd::detail {

// EINVAL: `wrapper` was given `given`, and its operation waits on `operation`.
[[noreturn]] void throw_loop_mismatch(const char* wrapper, const event_loop& operation,
                                      const event_loop& given);

template <class Derived, class Inner>
class race_awaiter {
  public:
    using inner_result = decltype(std::declval<Inner&>().await_resume());
    // What co_await returns: the operation's result, empty when the rival won (bool, false
    // when the rival won, for an operation that returns nothing).
    using result_type = std::conditional_t<std::is_void_v<inner_result>, bool,
                                           std::optional<std::remove_cvref_t<inner_result>>>;

    race_awaiter(event_loop& loop, Inner&& inner) noexcept
        : loop_(&loop), inner_(std::move(inner)) {}
    // Only before it suspends (lifetime rule 4 of docs/coroutines.md).
    race_awaiter(race_awaiter&&) noexcept = default;
    race_awaiter& operator=(race_awaiter&&) = delete;

    bool await_ready() {
        if constexpr (requires(const Inner& i) {
                          { i.awaited_loop() } -> std::same_as<event_loop&>;
                      }) {
            if (&inner_.awaited_loop() != loop_) {
                throw_loop_mismatch(Derived::name, inner_.awaited_loop(), *loop_);
            }
        }
        if (derived().rival_already_won()) {
            rival_won_ = true;
            return true;
        }
        return inner_.await_ready();
    }
    bool await_suspend(std::coroutine_handle<> awaiting) {
        // Armed first: a rival cannot come before the operation suspends (no other code runs
        // in between on this thread, and a stop is always posted to the loop).
        if (!derived().arm(*loop_)) {
            rival_won_ = true;
            return false;
        }
        bool suspended = true;
        using suspend_result = decltype(inner_.await_suspend(awaiting));
        if constexpr (std::is_void_v<suspend_result>) {
            inner_.await_suspend(awaiting);
        } else {
            static_assert(std::is_same_v<suspend_result, bool>,
                          "with_timeout and with_stop: the operation's await_suspend must "
                          "return void or bool");
            suspended = inner_.await_suspend(awaiting);
        }
        if (!suspended) {
            derived().disarm();
        }
        return suspended;
    }
    result_type await_resume() {
        derived().disarm();
        if (rival_won_) {
            return result_type{};
        }
        if constexpr (std::is_void_v<inner_result>) {
            inner_.await_resume();
            return true;
        } else {
            return result_type(inner_.await_resume());
        }
    }
    [[nodiscard]] event_loop& awaited_loop() const noexcept { return *loop_; }
    // Cancellable itself, so races nest.
    void cancel() noexcept {
        derived().disarm();
        inner_.cancel();
    }

  protected:
    // The rival came first: cancels the operation, which resumes the coroutine inline (in
    // await_resume above).
    void rival_won() noexcept {
        rival_won_ = true;
        inner_.cancel();
    }

  private:
    [[nodiscard]] Derived& derived() noexcept { return static_cast<Derived&>(*this); }

    event_loop* loop_;
    bool rival_won_ = false;
    Inner inner_;
};

}  // namespace tfd::detail

// Cancellation of tfd's awaitables: the outcome a stop request gives, the protocol
// with_timeout uses to cancel an operation, and the stop_token listener every stoppable
// awaiter embeds.
//
// Two ways end a wait early:
//  * a stop request on the std::stop_token the awaitable was given: co_await throws
//    tfd::operation_cancelled.  The coroutine never resumes inside request_stop(), on any
//    thread: the request is posted to the loop, and the coroutine resumes in phase 6 of
//    the pass under way (a stop requested in phases 1-5 of a callback on the loop's
//    thread) or of the next one (requested in phase 6, outside run(), or on another
//    thread, which wakes the loop).  So the code that called request_stop() may go on using
//    the stop_source and whatever the cancelled coroutine owns, and a coroutine that owns
//    the stop_source it is cancelled through may destroy it.  A wait that completes in the
//    meantime (its timer fires, its descriptor is ready) completes normally, and the
//    delivery that follows finds nothing to cancel.
//  * cancel(), the protocol of cancellable awaiters (with_timeout uses it when the timeout
//    wins): a suspended awaiter unregisters what it waits on and resumes its coroutine at
//    once, inline; the caller that cancelled decides what co_await then returns.
//
// Either way the awaiter unregisters its timer and descriptor watch before the coroutine
// runs again, so nothing of the wait outlives it.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <coroutine>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <system_error>
#include <thread>
#include <utility>

#include "tfd/event_loop.hpp"

namespace tfd {

// What co_await throws when a stop request ended the wait.  code() is
// std::errc::operation_canceled; what() names the operation ("sleep: Operation canceled").
class operation_cancelled : public std::system_error {
  public:
    explicit operation_cancelled(const char* operation)
        : std::system_error(std::make_error_code(std::errc::operation_canceled), operation) {}
};

// A cancellable awaiter: an awaiter whose suspended wait cancel() ends at once, on the
// loop's thread, by unregistering and resuming the awaiting coroutine inline.  cancel() on
// an awaiter that is not suspended does nothing.
template <class A>
concept cancellable_awaiter = requires(A& a) {
    { a.await_ready() } -> std::convertible_to<bool>;
    a.await_resume();
    { a.cancel() }
    noexcept;
};

namespace detail {

// The operations that end with operation_cancelled.
enum class cancelled_operation : unsigned char {
    sleep,
    readable,
    writable,
    read_some,
    write_some,
    tick,
    accept,
    read_line,
    close,
};
// Throws operation_cancelled for `operation`.  Each operation's exception is built once (its
// message costs a strerror and two strings) and copies of it are thrown, which share the
// message, so a stop costs the throw itself and no allocation beyond it.
[[noreturn]] void throw_cancelled(cancelled_operation operation);

// The stop-token listener of a stoppable awaiter.  bind() starts listening when the awaiter
// suspends, unbind() stops (the awaiter calls it before it resumes its coroutine, and its
// destructor calls it too).
//
// Threads: the std::stop_callback runs on the thread that requested the stop, inside
// request_stop(), which goes on walking the stop state's callbacks afterwards.  So the
// callback resumes nothing, on any thread: it records the binding, with a ticket, in a
// process-wide table of pending stops (under a mutex) and posts a delivery to the loop
// (phase 6); the delivery cancels the wait only if the table still holds the binding with
// that ticket.  unbind() first destroys the stop_callback, which waits for a callback
// running on another thread to finish, and then removes the binding from the table, so a
// delivery never reaches a
// finished wait (one that completed, or was cancelled otherwise, before the delivery ran).
// The one stop handled inline is one requested during bind() itself, on the binding
// thread: bind() returns false and the awaiter does not suspend.
//
// Invariants: callback_ engaged exactly while bound; pending_ (changed under the table's
// mutex) exactly while the table holds the binding; both only while bound.
class stop_binding {
  public:
    explicit stop_binding(std::stop_token token) noexcept : token_(std::move(token)) {}
    // Only an unbound listener moves (awaiters move before they suspend, never after).
    stop_binding(stop_binding&& other) noexcept : token_(std::move(other.token_)) {}
    stop_binding& operator=(stop_binding&&) = delete;
    ~stop_binding() { unbind(); }

    [[nodiscard]] bool requested() const noexcept { return token_.stop_requested(); }
    // Listens for a stop request, which will call cancel(target) on the loop's thread, from
    // the loop's posted work.  Returns false, listening to nothing, when the stop was requested
    // during the call.
    [[nodiscard]] bool bind(event_loop& loop, void (*cancel)(void*) noexcept, void* target);
    void unbind() noexcept {
        if (callback_) {
            callback_.reset();
            if (pending_) {
                forget_pending();
            }
        }
    }

  private:
    struct forward {
        stop_binding* self;
        void operator()() const noexcept { self->on_stop(); }
    };
    void on_stop() noexcept;
    void forget_pending() noexcept;
    static void deliver(stop_binding* self, std::uint64_t ticket) noexcept;

    std::stop_token token_;
    std::optional<std::stop_callback<forward>> callback_;
    event_loop* loop_ = nullptr;
    void (*cancel_)(void*) noexcept = nullptr;
    void* target_ = nullptr;
    std::thread::id thread_;
    bool binding_ = false;
    bool stopped_while_binding_ = false;
    bool pending_ = false;
};

// The listener of an awaiter made without a stop token: nothing to listen to, no bytes.
struct no_stop {
    [[nodiscard]] static constexpr bool requested() noexcept { return false; }
    [[nodiscard]] static constexpr bool bind(event_loop&, void (*)(void*) noexcept,
                                             void*) noexcept {
        return true;
    }
    static constexpr void unbind() noexcept {}
};

}  // namespace detail

}  // namespace tfd

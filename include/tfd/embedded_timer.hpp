// tfd::embedded_timer: a one-shot timer that lives inside the user's own object (a connection,
// a coroutine frame), like libev's ev_timer or libuv's uv_timer_t.
//
// Starting, refreshing and stopping one allocate nothing and touch one cache line, the timer
// itself: it is the timer queue's 32-byte hook, one pointer that says which loop and clock it
// is registered with and how to call its callback, and 8 bytes of callback state.  48 bytes.
//
// Callbacks.  A timer calls either
//   * a callable of at most 8 bytes (one pointer of captures: `[this] { ... }`, a function
//     pointer, a std::coroutine_handle<>) that is trivially copyable, called as `f()` or
//     `f(timer)`; or
//   * a member function of an object, `set_callback<&connection::on_timeout>(this)`, with the
//     signature `void()` or `void(embedded_timer&)`.
// Larger state belongs in the embedding object: capture a pointer to it.  The callback runs on
// the loop's thread, in the timer phase of a pass (see event_loop.hpp), once per start.
//
// Lifetime rules.
//   * A timer is idle (default-constructed, stopped, or fired) or active (started and not yet
//     run or stopped).  While active it is registered with one loop, at its address: it
//     cannot be copied, and moving it (construction or assignment) requires both timers to be
//     idle (std::system_error, EINVAL, otherwise).
//   * Destroying an active timer stops it.  A timer may be destroyed, stopped or restarted
//     from any callback, its own included: the callback is copied out of the timer before it
//     runs, and the loop touches the timer no more once it has called it.
//   * An active timer must be stopped (or destroyed) before its loop is destroyed.  A debug
//     build (NDEBUG undefined) stops the program with a message naming the loop when one is
//     left; a release build leaves the timer idle, safe to destroy or start again.
//   * Every operation belongs to the loop's thread (as every handle does).
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <chrono>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include "tfd/clock.hpp"
#include "tfd/handle.hpp"
#include "tfd/small_function.hpp"
#include "tfd/time_convert.hpp"
#include "tfd/timer_queue.hpp"
#include "tfd/timer_watcher.hpp"

namespace tfd {

class event_loop;
class embedded_timer;

namespace detail {

struct clock_timers;
struct timer_base;

// How the loop calls a timer and where the timer is registered.  A callback type has one
// unbound record (a constant, clock == nullptr); each clock of each loop makes one bound
// record per callback type started on it, kept until the loop is destroyed.
struct timer_binding {
    void (*invoke)(timer_base& timer);
    const timer_binding* unbound;  // the unbound record of the same callback (itself if unbound)
    clock_timers* clock;           // nullptr: unbound
};

struct timer_binding_slot {
    const timer_binding* binding = nullptr;
};

// What the loop's timer scheduler knows of any timer, embedded or made by a handle: the
// binding, then the queue hook.  40 bytes.  The binding comes first so that it shares the
// first 32 bytes with the hook words a stop reads and writes (timer_entry keeps its deadline
// last): in an array of 48-byte timers that span straddles a cache line half as often.
struct timer_base : timer_binding_slot, timer_entry {};

// The scheduler's entry points for embedded timers (src/embedded_timer.cpp).
void start_embedded(event_loop& loop, timer_base& timer, clock_id clock, std::int64_t deadline);
void stop_embedded(timer_base& timer) noexcept;

}  // namespace detail

class embedded_timer : private detail::timer_base {
  public:
    static constexpr std::size_t state_bytes = 8;

    embedded_timer() noexcept = default;
    // EINVAL for a callable that holds nothing to call (a null function pointer).
    template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, embedded_timer>>>
    explicit embedded_timer(F callback) {
        store_callback("embedded_timer(callback)", callback);
    }
    embedded_timer(const embedded_timer&) = delete;
    embedded_timer& operator=(const embedded_timer&) = delete;
    // Takes `other`'s callback; both must be idle.
    embedded_timer(embedded_timer&& other) {
        if (!other.idle()) {
            detail::usage_error("embedded_timer(embedded_timer&&)", "the source timer is active");
        }
        take_callback(other);
    }
    embedded_timer& operator=(embedded_timer&& other) {
        if (!idle() || !other.idle()) {
            detail::usage_error("embedded_timer::operator=", idle() ? "the source timer is active"
                                                                    : "the target timer is active");
        }
        if (this != &other) {
            take_callback(other);
        }
        return *this;
    }
    ~embedded_timer() {
        if (!idle()) {
            detail::stop_embedded(*this);
        }
    }

    // Sets the callable the timer calls.  The timer must be idle, and the callable must hold
    // something to call: EINVAL for a null function pointer (it would crash when the timer
    // fires).
    template <class F>
    void set_callback(F callback) {
        store_callback("embedded_timer::set_callback", callback);
    }
    // Calls `(object->*Method)()` or `(object->*Method)(timer)`.
    template <auto Method, class T>
    void set_callback(T* object) {
        if constexpr (std::is_invocable_v<decltype(Method), T*, embedded_timer&>) {
            set_callback([object](embedded_timer& timer) { (object->*Method)(timer); });
        } else {
            set_callback([object] { (object->*Method)(); });
        }
    }
    [[nodiscard]] bool has_callback() const noexcept { return binding != nullptr; }

    // Starts the timer at `deadline`, ns since the epoch of `clock`, on `loop`; an active timer
    // is moved to the new deadline (and to the new loop or clock).  Equal deadlines run in
    // start order.  A deadline already reached runs in the next pass.  Needs a callback.
    void start_at(event_loop& loop, std::chrono::nanoseconds deadline,
                  clock_id clock = clock_id::monotonic) {
        detail::start_embedded(loop, *this, clock, deadline.count());
    }
    // At a time point of a clock tfd knows (steady_clock, system_clock, monotonic_clock, ...).
    template <class Clock, class Duration>
    void start_at(event_loop& loop, std::chrono::time_point<Clock, Duration> deadline) {
        start_at(loop, detail::loop_ns(deadline.time_since_epoch(), "embedded_timer::start_at"),
                 clock_of<Clock>::value);
    }
    // `delay` from the loop's now() on `clock` (a negative delay is due now).  Durations of
    // any representation; fractions of a nanosecond round up and a time past the range
    // saturates, as in every loop call (to_nanoseconds_ceil).
    template <class Rep, class Period>
    void start_after(event_loop& loop, std::chrono::duration<Rep, Period> delay,
                     clock_id clock = clock_id::monotonic) {
        start_after_ns(loop, detail::loop_ns(delay, "embedded_timer::start_after"), clock);
    }

    // Cancels the timer; a no-op when it is idle.  Safe from any callback.
    void stop() noexcept {
        if (!idle()) {
            detail::stop_embedded(*this);
        }
    }
    // True from a start until the timer runs or is stopped.
    [[nodiscard]] bool active() const noexcept { return !idle(); }
    // The deadline of the last start (ns since its clock's epoch); 0 before the first.
    [[nodiscard]] std::chrono::nanoseconds deadline() const noexcept {
        return timer_entry::deadline();
    }

  private:
    template <class F>
    void store_callback(const char* operation, const F& callback) {
        static_assert(std::is_invocable_v<F&, embedded_timer&> || std::is_invocable_v<F&>,
                      "an embedded_timer callback is called as f() or f(embedded_timer&)");
        static_assert(sizeof(F) <= state_bytes && alignof(F) <= alignof(void*),
                      "an embedded_timer callback holds at most 8 bytes (one pointer): keep "
                      "larger state in the embedding object and capture a pointer to it");
        static_assert(std::is_trivially_copyable_v<F> && std::is_trivially_destructible_v<F>,
                      "an embedded_timer callback must be trivially copyable (capture "
                      "pointers, not owning objects)");
        if (!idle()) {
            detail::usage_error(operation, "the timer is active");
        }
        // Checked before storing: the loop calls the timer through invoke<F>, never empty.
        if (detail::is_empty_callable(callback)) {
            detail::usage_error(operation, "empty callback");
        }
        ::new (static_cast<void*>(state_)) F(callback);
        binding = &unbound_record<F>::value;
    }
    void start_after_ns(event_loop& loop, std::chrono::nanoseconds delay, clock_id clock);

    template <class F>
    static void invoke(detail::timer_base& base) {
        auto& self = static_cast<embedded_timer&>(base);
        self.binding = self.binding->unbound;  // idle now: the loop may be gone by its next start
        // A copy, so the callback may destroy the timer (and the object around it).
        F callback = *std::launder(reinterpret_cast<F*>(self.state_));
        if constexpr (std::is_invocable_v<F&, embedded_timer&>) {
            callback(self);
        } else {
            callback();
        }
    }
    // One per callback type; its own `unbound`.
    template <class F>
    struct unbound_record {
        static const detail::timer_binding value;
    };

    void take_callback(embedded_timer& other) noexcept {
        binding = other.binding;
        for (std::size_t i = 0; i < state_bytes; ++i) {
            state_[i] = other.state_[i];
        }
    }

    alignas(void*) unsigned char state_[state_bytes]{};
};

template <class F>
const detail::timer_binding embedded_timer::unbound_record<F>::value{
    &embedded_timer::invoke<F>, &embedded_timer::unbound_record<F>::value, nullptr};

static_assert(sizeof(embedded_timer) == 48, "an embedded timer is a hook, a binding and 8 bytes");

}  // namespace tfd

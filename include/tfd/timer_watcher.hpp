// tfd::timer_watcher: the handle of a one-shot or periodic timer registered with an event_loop.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <chrono>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "tfd/clock.hpp"
#include "tfd/handle.hpp"
#include "tfd/small_function.hpp"
#include "tfd/time_convert.hpp"

namespace tfd {

class event_loop;
namespace detail {
struct timer_node;
}  // namespace detail

// Called when the timer fires.  `overruns` is the number of whole periods of a periodic timer
// that also elapsed between its scheduled deadline and the moment the callback ran (0 when
// on time, always 0 for a one-shot timer).  event_loop::after/at also take callables with no
// argument.  8 bytes of captures (one pointer or reference) are stored in place, which keeps
// a timer within 64 bytes with its handle.
using timer_callback = small_function<void(std::uint64_t overruns), 8>;
// What event_loop::after/at store instead when a one-shot callable does not fit
// timer_callback in place but fits 24 bytes (up to three pointers of captures): the timer
// comes from a second pool of 72-byte nodes, still without an allocation of its own.  Larger
// callables, and periodic callbacks over 8 bytes, are moved to the heap (an embedded_timer,
// or a pointer to your own state, avoids that).
using wide_timer_callback = small_function<void(std::uint64_t overruns), 24>;

// What a periodic timer does when it runs late by one period or more.
//   skip   one call reports the overrun count; the next deadline is the first scheduled one
//          still in the future, so the schedule stays anchored (never drifts).
//   burst  one call per scheduled deadline, missed ones included, run back to back (one per
//          loop pass) until the timer has caught up; the schedule stays anchored.
//   delay  one call reports the overrun count; the schedule restarts one period after the
//          call (it drifts by the lateness, like a timer re-armed from its callback).
// A schedule whose next deadline lies past the end of the clock's range (year 2262, or a
// virtual clock advanced by nanoseconds::max()) ends: the timer runs one last time and
// becomes inactive.
enum class missed_ticks : unsigned char { skip, burst, delay };

namespace detail {
// A NaN time is a precondition error naming the operation.
[[noreturn]] void nan_time(std::string_view operation);
// A duration or time given to the loop, as the nanoseconds it means there: rounded up (a
// timer never fires before the time given) and saturated (past the 64-bit range: never, or
// long ago); see to_nanoseconds_ceil.
template <class Rep, class Period>
[[nodiscard]] std::chrono::nanoseconds loop_ns(std::chrono::duration<Rep, Period> d,
                                               std::string_view operation) {
    std::optional<std::chrono::nanoseconds> ns = to_nanoseconds_ceil(d);
    if (!ns) {
        nan_time(operation);
    }
    return *ns;
}
}  // namespace detail

// Owns one timer (made by event_loop::after/at/every/every_from); the verbs mean what they
// mean on every handle (see handle.hpp).  8 bytes: the loop-side node knows the rest.
class timer_watcher : public detail::basic_handle<timer_watcher, detail::timer_node> {
  public:
    timer_watcher() noexcept = default;
    timer_watcher(timer_watcher&&) noexcept = default;
    timer_watcher& operator=(timer_watcher&&) noexcept = default;
    ~timer_watcher() { reset(); }

    // Cancels the timer; a no-op when it is not pending.  A timer collected as due in the
    // current pass but not run yet will not run.
    void stop() noexcept;
    // Stops the timer and frees it; the handle becomes empty.
    void reset() noexcept;

    // (Re)starts the timer `delay` from the loop's now() on its clock, or at the absolute
    // `deadline`: ns since its clock's epoch, or a time point of its clock (EINVAL for
    // another clock).  A periodic timer keeps its period and anchors it here.
    template <class Rep, class Period>
    void restart_after(std::chrono::duration<Rep, Period> delay) {
        restart_after_ns(detail::loop_ns(delay, "timer_watcher::restart_after"));
    }
    void restart_at(std::chrono::nanoseconds deadline);
    template <class Clock, class Duration>
    void restart_at(std::chrono::time_point<Clock, Duration> deadline) {
        check_clock(clock_of<Clock>::value, "timer_watcher::restart_at");
        restart_at(detail::loop_ns(deadline.time_since_epoch(), "timer_watcher::restart_at"));
    }

    // True while the timer will fire (pending, or collected as due and not yet run).
    [[nodiscard]] bool active() const noexcept;
    // The deadline it was last (re)started with, ns since its clock's epoch (0 when empty),
    // or as a time point of `Clock` (EINVAL unless that is the timer's clock).
    [[nodiscard]] std::chrono::nanoseconds deadline() const noexcept;
    template <class Clock>
    [[nodiscard]] std::chrono::time_point<Clock, std::chrono::nanoseconds> deadline() const {
        check_clock(clock_of<Clock>::value, "timer_watcher::deadline");
        return std::chrono::time_point<Clock, std::chrono::nanoseconds>(deadline());
    }
    [[nodiscard]] clock_id clock() const noexcept;  // monotonic for an empty handle

  private:
    friend class event_loop;
    using basic_handle::basic_handle;
    void restart_after_ns(std::chrono::nanoseconds delay);
    void check_clock(clock_id wanted, std::string_view operation) const;
};

}  // namespace tfd

// tfd::aio::scheduler: the timers of one clock for tfd.aio's event loop, and the timer_fd
// that wakes the loop for the earliest of them.  Plain C++ (no Python): the binding embeds a
// timer_entry in each timer handle and hands the entries over.
//
// Theory of operation
// -------------------
// Deadlines are absolute integer nanoseconds of one clock in a tfd::timer_queue, so due
// timers come out exact and in (deadline, start order).  Before the loop waits, arm() programs
// the timer_fd (TFD_TIMER_ABSTIME, no slack) with the earliest deadline plus the opt-in
// coalescing delay; the loop registers fd() in its epoll set edge-triggered, so an expiry is
// reported once and the descriptor never needs reading: one timerfd_settime and one
// epoll_wait per timer wake-up.  A timer_fd already armed no later than the earliest
// deadline is left alone (the early wake-up re-arms it), so a timeout that is pushed back or
// cancelled costs no system call; an earlier deadline re-arms at once.  A deadline the clock
// has already reached is not armed at all: arm() answers `poll` and the loop does not block.
//
// Time comes from time_source: the kernel clock, or a virtual clock that moves only when
// told (advance_to), for which nothing is ever armed and the loop jumps to next_deadline().
//
// Wall-clock timers (clock_id::realtime) are armed with TFD_TIMER_CANCEL_ON_SET, so a change
// of the system time wakes the loop; fired() then reads the descriptor to learn of it
// (ECANCELED) and counts it in clock_changes().
//
// Not thread-safe: one scheduler belongs to one loop thread (the binding holds the GIL).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <system_error>

#include "tfd/clock.hpp"
#include "tfd/timer_fd.hpp"
#include "tfd/timer_queue.hpp"

namespace tfd::aio {

// Where a scheduler reads its time.  Invariant: a virtual source never goes backwards.
class time_source {
  public:
    explicit time_source(clock_id clock) noexcept : clock_(clock) {}

    [[nodiscard]] clock_id clock() const noexcept { return clock_; }
    [[nodiscard]] bool is_virtual() const noexcept { return virtual_; }
    // The current reading in nanoseconds of the clock's epoch.
    [[nodiscard]] std::int64_t now() const;
    // Switches to a virtual clock reading `start` ns.
    void make_virtual(std::int64_t start) noexcept;
    // Moves a virtual clock forward to `when` (no-op when `when` is not later).
    void advance_to(std::int64_t when) noexcept;
    // Moves a virtual clock forward by `delta` >= 0 ns (saturating).
    void advance_by(std::int64_t delta) noexcept;

  private:
    clock_id clock_;
    bool virtual_ = false;
    std::int64_t virtual_now_ = 0;
};

// tfd::loop_options::spin_below's default, in ns.
inline constexpr std::int64_t default_spin_below_ns = 3000;

class scheduler {
  public:
    // What the loop's next wait may do: block until a descriptor (the timer_fd among them)
    // is ready, poll, or block at most timed_left() ns (a timed wait).
    enum class wait_kind { block, poll, timed };

    // Creates the timer_fd (non-blocking, close-on-exec) on `clock`; throws
    // std::system_error on failure.  `coalescing` (>= 0) delays each wake-up so that timers
    // due within it fire together: never earlier than their deadline, at most that much later.
    scheduler(clock_id clock, std::chrono::nanoseconds coalescing);

    [[nodiscard]] int fd() const noexcept { return fd_.native_handle(); }
    [[nodiscard]] clock_id clock() const noexcept { return time_.clock(); }
    [[nodiscard]] std::int64_t now() const { return time_.now(); }
    [[nodiscard]] time_source& time() noexcept { return time_; }
    [[nodiscard]] std::int64_t coalescing() const noexcept { return coalescing_; }
    void set_coalescing(std::chrono::nanoseconds coalescing) noexcept;
    // A deadline closer than this (>= 0) when the loop is about to wait is busy-waited for
    // instead of armed and slept for: a sleep this short costs more CPU than the wait (see
    // tfd::loop_options::spin_below).  Not with coalescing, nor on a cancel-on-set clock.
    [[nodiscard]] std::int64_t spin_below() const noexcept { return spin_below_; }
    void set_spin_below(std::chrono::nanoseconds spin_below) noexcept;
    // Spin-finish (>= 0; see tfd::loop_options::spin_margin): the timer_fd is armed this much
    // before the earliest deadline, and the rest of the wait is busy-waited, so the loop
    // wakes within a fraction of a microsecond of the deadline instead of the kernel's few
    // microseconds after it, for up to this much CPU per wake-up.  Not with coalescing (the
    // loop refuses both), nor on a cancel-on-set clock.
    [[nodiscard]] std::int64_t spin_margin() const noexcept { return spin_margin_; }
    void set_spin_margin(std::chrono::nanoseconds spin_margin) noexcept;

    // Timed waits (see tfd::loop_options::timer_slack): with the loop thread's timer slack
    // known to be at most timed_wait_slack_ns, a deadline at most timed_wait_window_ns ahead
    // on the monotonic clock is waited for with the loop's epoll timeout instead of the
    // timer_fd: one system call per wake-up instead of two.  The kernel ends such a wait no
    // earlier than asked and at most the larger of the slack and a thousandth of the wait
    // later.
    void set_timed_waits(bool on) noexcept { timed_waits_ = on; }
    [[nodiscard]] std::int64_t timed_left() const noexcept { return timed_left_; }

    void start(timer_entry& e, std::int64_t deadline) {
        queue_.start(e, std::chrono::nanoseconds(deadline));
    }
    void cancel(timer_entry& e) noexcept { queue_.cancel(e); }
    [[nodiscard]] std::size_t size() const noexcept { return queue_.size(); }
    // Switches to a virtual clock reading `start` ns (time_source::make_virtual); only while
    // no timer is queued, so the queue's wheel starts there too.
    void make_virtual(std::int64_t start);
    // The queue is re-filing a large wheel slot in steps (timer_queue::set_cascade_budget):
    // next_deadline() is a lower bound meanwhile, to wake for without coalescing.
    [[nodiscard]] bool cascading() const noexcept { return queue_.cascading(); }
    [[nodiscard]] std::optional<std::int64_t> next_deadline();
    // The deadline of a `when` past the int64 range (or inf): never due, not even on a
    // virtual clock that has been advanced to the end of its range.
    static constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();
    // The earliest deadline that can come due: next_deadline() unless that is `never`.
    [[nodiscard]] std::optional<std::int64_t> next_reachable_deadline() {
        std::optional<std::int64_t> next = next_deadline();
        return next && *next != never ? next : std::nullopt;
    }

    // Before a wait: makes sure the timer_fd will wake the loop by the earliest deadline
    // (plus coalescing).  `poll` when a timer is due already (or on a virtual clock with a
    // timer pending: the loop must not block for it), or after spinning up to a deadline
    // closer than spin_below() (or spin_margin()).  `timed` when the wait should end after
    // timed_left() ns instead (timed waits).  On a failed timerfd_settime `ec` is set and
    // the loop should report it; the state stays "needs arming".
    wait_kind arm(std::error_code& ec);
    // For a loop that waits through another selector (no timer_fd in its wait): busy-waits
    // up to the earliest deadline when it is less than spin_below() ahead, as arm() would;
    // true when it did (the loop then polls).
    bool spin_below_deadline();
    // The loop saw fd() readable.
    void fired() noexcept;
    // Closes the timer_fd (the loop is closed: nothing will be armed again); fd() is then
    // -1.  The clock itself keeps working (a closed loop's time() still answers).
    void close_fd() noexcept {
        std::error_code ignored;  // close(2) releases the descriptor even when it fails
        fd_.close(ignored);
        state_ = fd_state::idle;
    }
    // In a child after fork(): the timer_fd is the parent's too (one open file, shared), so
    // arming it would move the parent's wake-up.  Replaces it with a new one, unarmed; the
    // queued timers stay and are armed for at the next pass.  Throws std::system_error.
    void renew_fd();
    // Unqueues the next entry due at `now` (deadline <= now, and not `never`), or nullptr.
    [[nodiscard]] timer_entry* pop_due(std::int64_t now) {
        return queue_.pop_due(std::chrono::nanoseconds(std::min(now, never - 1)));
    }

    // Wall-clock changes seen through TFD_TIMER_CANCEL_ON_SET.
    [[nodiscard]] std::uint64_t clock_changes() const noexcept { return clock_changes_; }
    // timerfd_settime calls made so far (tests check the arming discipline with it).
    [[nodiscard]] std::uint64_t settime_calls() const noexcept { return settime_calls_; }
    // Waits spun instead of slept.
    [[nodiscard]] std::uint64_t spins() const noexcept { return spins_; }
    // Timed waits planned.
    [[nodiscard]] std::uint64_t timed_waits() const noexcept { return timed_count_; }

  private:
    // The timer_fd's state.  idle: never armed or its expiry was consumed and not re-armed;
    // armed: an expiry at armed_at_ will be reported; fired: the expiry was reported.
    // Transitions: arm() idle|fired -> armed, armed -> armed (earlier target); fired() armed ->
    // fired.  A reported expiry of an old setting (the kernel filters most) only makes the
    // next arm() re-arm: never a missed wake-up.
    enum class fd_state { idle, armed, fired };

    // Spinning needs an exact wake-up (no coalescing) and a timer_fd that may go unarmed
    // (a cancel-on-set one must stay armed to hear of clock changes).
    [[nodiscard]] bool spins_allowed() const noexcept {
        return coalescing_ == 0 && !cancel_on_set_;
    }
    // Busy-waits from `now` up to `deadline` when that is at most `window` ahead.
    bool spin_if_close(std::int64_t deadline, std::int64_t now, std::int64_t window);

    time_source time_;
    timer_fd fd_;
    timer_queue queue_;
    fd_state state_ = fd_state::idle;
    std::int64_t armed_at_ = 0;
    std::int64_t coalescing_ = 0;
    std::int64_t spin_below_ = default_spin_below_ns;
    std::int64_t spin_margin_ = 0;
    bool cancel_on_set_;
    bool timed_waits_ = false;
    std::int64_t timed_left_ = 0;  // the last `timed` answer's wait, ns
    std::uint64_t timed_count_ = 0;
    std::uint64_t clock_changes_ = 0;
    std::uint64_t settime_calls_ = 0;
    std::uint64_t spins_ = 0;
};

// Timed waits' limits (tfd::loop_options::timer_slack has the same): the thread's slack at
// most 100 ns, the deadline at most 100 us ahead.
inline constexpr std::int64_t timed_wait_slack_ns = 100;
inline constexpr std::int64_t timed_wait_window_ns = 100'000;

// The largest reading a clock of int64 nanoseconds reaches, in float seconds (2**63 ns, as
// the double nearest to it).  Times at or beyond it saturate.
inline constexpr double max_clock_seconds = 9223372036.854775807;

// A float of seconds as integer nanoseconds, rounded up (towards +inf) exactly: the result
// is the least integer n with n >= when * 1e9 in real arithmetic, so that a timer due at n
// never runs while the loop's time() is below `when`.  Saturates at the int64 range; NaN is
// the caller's to reject.
[[nodiscard]] std::int64_t seconds_to_ns_ceil(double when) noexcept;
// Nanoseconds as float seconds, the way time.monotonic() converts them.
[[nodiscard]] inline double ns_to_seconds(std::int64_t ns) noexcept {
    return static_cast<double>(ns) / 1e9;
}

}  // namespace tfd::aio

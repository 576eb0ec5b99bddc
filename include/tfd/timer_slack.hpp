// Timer slack: how late the kernel may let the calling thread's sleeps end, so that nearby
// wake-ups can be coalesced (prctl(2) PR_SET_TIMERSLACK / PR_GET_TIMERSLACK).
//
// Kernel facts (checked on Linux 6.x; see docs/precision.md for measurements):
//
//  * Slack is per thread.  A new thread or a forked child starts with its creator's value;
//    the thread's "default" slack is the value it inherited (50 us for a normal process).
//  * It delays clock_nanosleep(2), nanosleep(2), poll(2), select(2) and epoll_wait(2)
//    timeouts.  A timerfd's own expiry is armed without slack, so a thread blocked on a
//    timer descriptor (read, or poll/epoll with no timeout) is not delayed by it.
//  * Setting zero restores the thread's default; the smallest explicit slack is 1 ns.
//  * Realtime threads (SCHED_FIFO, SCHED_RR) sleep with no slack at all: recent kernels
//    (6.x) report zero for them, accept PR_SET_TIMERSLACK without effect, and give the
//    thread its default slack back when it returns to SCHED_OTHER.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <chrono>
#include <system_error>

namespace tfd {

// The calling thread's current timer slack.
[[nodiscard]] std::chrono::nanoseconds timer_slack();
[[nodiscard]] std::chrono::nanoseconds timer_slack(std::error_code& ec) noexcept;

// Sets the calling thread's timer slack to `slack` (> 0), or restores its default when
// `slack` is zero.  A negative value fails with EINVAL and names the value.
void set_timer_slack(std::chrono::nanoseconds slack);
void set_timer_slack(std::chrono::nanoseconds slack, std::error_code& ec) noexcept;

// Sets the calling thread's timer slack for a scope and puts the previous value back when
// the scope ends.  Slack is per thread, so the object must be destroyed on the thread that
// created it.  Not copyable or movable, for the same reason.
class scoped_timer_slack {
  public:
    explicit scoped_timer_slack(std::chrono::nanoseconds slack);
    ~scoped_timer_slack();
    scoped_timer_slack(const scoped_timer_slack&) = delete;
    scoped_timer_slack& operator=(const scoped_timer_slack&) = delete;

    // The slack that was in force before this scope began, restored by the destructor.
    [[nodiscard]] std::chrono::nanoseconds previous() const noexcept { return previous_; }

  private:
    std::chrono::nanoseconds previous_;
};

}  // namespace tfd

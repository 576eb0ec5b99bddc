// tfd::loop_options: how an event_loop keeps time (real or virtual clocks) and how precisely it
// wakes up.  `loop_options{}` is the default loop: the kernel's clocks, each timer woken at its
// exact deadline, and waits shorter than spin_below spun rather than slept.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <chrono>

namespace tfd {

struct loop_options {
    // Run on a virtual clock: every clock the loop reads (now(), after(), every(), due-timer
    // collection, periodic re-arms, restart_after) is a per-loop clock that starts at the real
    // reading of each clock when the loop is made and moves only when the loop moves it:
    // advance(), or an automatic jump to the next deadline when the loop would otherwise
    // block with timers pending.  The loop's timer_fds are never armed.  For tests.
    bool virtual_time = false;

    // Spin-finish: arm each clock's timer_fd this much before its earliest deadline, then
    // busy-wait (reading the clock) up to the deadline, for sub-microsecond wake-ups at the
    // price of up to this much CPU per wake-up.  Zero (the default) never spins.  Ignored on
    // virtual time.  Descriptors and posted work ready during the spin wait for its end.
    std::chrono::nanoseconds spin_margin{0};

    // Short waits spin: when the earliest deadline of a clock is at most this far ahead as
    // the loop is about to block, the pass polls its descriptors without blocking and then
    // busy-waits on the clock up to the deadline, instead of arming the timer_fd and sleeping.
    // Sleeping and being woken costs the thread more CPU than a wait this short (about 5 us
    // of CPU per wake-up on a virtual machine, 1-2 us on bare metal; docs/precision.md,
    // "Short waits spin"), and lands later.  Spinning never runs a timer early, and at most
    // this much CPU is spent per wait, and run_for() may end up to this much after its limit.
    // Zero never spins; values outside 0..1 ms are refused (EINVAL).  Ignored on virtual time and
    // while timer_coalescing is set (which trades the other way: fewer wake-ups, later timers), and
    // for the wall clocks armed with cancel-on-set, which must stay armed.  Descriptors and posted
    // work that become ready during a spin wait for its end.
    std::chrono::nanoseconds spin_below{std::chrono::microseconds(3)};

    // Timer coalescing: arm each clock's timer_fd this much after its earliest deadline, so
    // that every timer due within that window runs in the same wake-up.  Like the kernel's
    // timer slack, it trades bounded lateness for fewer wake-ups (and less CPU per fired
    // timer) when many timers fire close together: a timer runs at most this much late
    // (plus the system's own wake-up latency), never early, and due timers still run in
    // deadline order, equal deadlines in start order.  While it is set, every pass also
    // runs the timers already due when it wakes for another reason (a descriptor, posted
    // work, run_for's limit), so run_for(d) runs the timers due by its end.  Zero (the
    // default) arms each exact deadline.  Negative values, and setting both this and
    // spin_margin (which wakes before deadlines to be exact, the opposite trade), are
    // refused at construction with std::system_error (EINVAL).  Ignored on virtual time,
    // whose jumps land on each deadline exactly.
    std::chrono::nanoseconds timer_coalescing{0};

    // Timer slack (prctl PR_SET_TIMERSLACK) for the thread that runs the loop, set when a
    // thread first enters run(), run_once() or run_for() and left in place afterwards (slack
    // is per thread).  Zero (the default) leaves the thread's slack alone.  Slack delays the
    // backend's own timeouts (run_for's limit), never a timer_fd's expiry.
    //
    // Timed waits: from 1 to 100 ns, the slack is small enough for the backend's timeout to
    // be as exact as a timer_fd, and the loop waits for a monotonic deadline at most 100 us
    // ahead with that timeout (epoll_pwait2, ppoll, pselect) instead of arming its timer_fd:
    // a wake-up then costs one system call instead of two (the wait and a settime).  The
    // kernel ends such a wait no earlier than asked, and at most 100 ns later than a
    // timer_fd would.  Changing the thread's slack behind the loop's back (prctl) afterwards
    // makes these waits later by up to the new slack, never early.  Not with epoll where the
    // kernel lacks epoll_pwait2 (before 5.11, or under valgrind).
    std::chrono::nanoseconds timer_slack{0};
};

}  // namespace tfd

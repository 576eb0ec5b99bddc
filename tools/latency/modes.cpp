#include <memory>
#include <string>

#include "cyclictest_mode.hpp"
#include "loop_modes.hpp"
#include "mode.hpp"
#include "python_mode.hpp"
#include "wakeup_modes.hpp"

namespace tfd::latency {
namespace {

std::string always_available(const run_config&) {
    return {};
}

std::string monotonic_only(const run_config& config) {
    return config.clock == clock_id::monotonic ? "" : "epoll timeouts run on CLOCK_MONOTONIC";
}

}  // namespace

const std::vector<mode_info>& all_modes() {
    static const std::vector<mode_info> modes{
        {"cyclictest", mode_role::reference,
         "cyclictest from rt-tests (clock_nanosleep), run per chunk", "", cyclictest_unavailable,
         make_cyclictest_mode},
        {"nanosleep", mode_role::baseline,
         "raw clock_nanosleep(TIMER_ABSTIME) to each deadline (baseline)", "", always_available,
         make_nanosleep_mode},
        {"timerfd", mode_role::baseline, "raw periodic timerfd, blocking read (baseline)", "",
         always_available, make_timerfd_mode},
        {"timerfd-oneshot", mode_role::baseline,
         "raw timerfd re-armed one-shot (ABSTIME) per deadline, read (baseline)", "",
         always_available, make_timerfd_oneshot_mode},
        {"timerfd-epoll", mode_role::baseline,
         "raw timerfd re-armed one-shot per deadline, epoll_wait, read (baseline)", "",
         always_available, make_timerfd_epoll_mode},
        {"epoll-noread", mode_role::baseline,
         "as timerfd-epoll without the read (the re-arm clears the timerfd): the loop's calls "
         "(baseline)",
         "", always_available, make_timerfd_epoll_noread_mode},
        {"epoll-timeout", mode_role::baseline,
         "epoll_pwait2 with the time left as timeout, no timerfd (monotonic only) (baseline)", "",
         monotonic_only, make_epoll_timeout_mode},
        {"timer_fd", mode_role::tfd, "tfd::timer_fd, blocking read", "timerfd", always_available,
         make_timer_fd_mode},
        {"loop-epoll", mode_role::tfd, "tfd::event_loop (epoll backend), periodic timer",
         "epoll-noread", loop_unavailable, make_loop_epoll_mode},
        {"loop-poll", mode_role::tfd, "tfd::event_loop (poll backend), periodic timer",
         "epoll-noread", loop_unavailable, make_loop_poll_mode},
        {"loop-select", mode_role::tfd, "tfd::event_loop (select backend), periodic timer",
         "epoll-noread", loop_unavailable, make_loop_select_mode},
        {"python", mode_role::tfd, "Python tfd.Timer in a child process, blocking read", "timerfd",
         python_unavailable, make_python_mode},
        {"timerfd-spin", mode_role::technique,
         "raw timerfd woken --spin-margin early, then busy-waits (spin-finish)", "",
         always_available, make_timerfd_spin_mode},
        {"loop-spin", mode_role::technique,
         "tfd::event_loop (epoll) with loop_options::spin_margin = --spin-margin", "timerfd-spin",
         loop_unavailable, make_loop_spin_mode},
    };
    return modes;
}

}  // namespace tfd::latency

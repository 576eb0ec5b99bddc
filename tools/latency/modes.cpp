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

}  // namespace

const std::vector<mode_info>& all_modes() {
    static const std::vector<mode_info> modes{
        {"cyclictest", "cyclictest from rt-tests (clock_nanosleep), run per chunk",
         cyclictest_unavailable, make_cyclictest_mode},
        {"nanosleep", "raw clock_nanosleep(TIMER_ABSTIME) to each deadline (baseline)",
         always_available, make_nanosleep_mode},
        {"timerfd", "raw periodic timerfd, blocking read (baseline)", always_available,
         make_timerfd_mode},
        {"timerfd-epoll", "raw periodic timerfd, epoll_wait then read (baseline)", always_available,
         make_timerfd_epoll_mode},
        {"timer_fd", "tfd::timer_fd, blocking read", always_available, make_timer_fd_mode},
        {"loop-epoll", "tfd::event_loop (epoll backend), periodic timer", loop_unavailable,
         make_loop_epoll_mode},
        {"loop-poll", "tfd::event_loop (poll backend), periodic timer", loop_unavailable,
         make_loop_poll_mode},
        {"loop-select", "tfd::event_loop (select backend), periodic timer", loop_unavailable,
         make_loop_select_mode},
        {"python", "Python tfd.Timer in a child process, blocking read", python_unavailable,
         make_python_mode},
        {"timerfd-spin", "raw timerfd woken --spin-margin early, then busy-waits (spin-finish)",
         always_available, make_timerfd_spin_mode},
    };
    return modes;
}

}  // namespace tfd::latency

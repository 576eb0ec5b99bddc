#include <memory>
#include <string>

#include "cyclictest_mode.hpp"
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
        {"python", "Python tfd.Timer in a child process, blocking read", python_unavailable,
         make_python_mode},
    };
    return modes;
}

}  // namespace tfd::latency

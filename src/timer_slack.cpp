#include "tfd/timer_slack.hpp"

#include <sys/prctl.h>

#include <cerrno>
#include <string>

#include "sys/sys.hpp"
#include "tfd/time_convert.hpp"

namespace tfd {

std::chrono::nanoseconds timer_slack(std::error_code& ec) noexcept {
    ec.clear();
    long slack = sys::prctl(PR_GET_TIMERSLACK, 0);
    if (slack < 0) {
        ec.assign(errno, std::system_category());
        return {};
    }
    return std::chrono::nanoseconds(slack);
}

std::chrono::nanoseconds timer_slack() {
    std::error_code ec;
    std::chrono::nanoseconds slack = timer_slack(ec);
    if (ec) {
        throw std::system_error(ec, "timer_slack: prctl(PR_GET_TIMERSLACK)");
    }
    return slack;
}

void set_timer_slack(std::chrono::nanoseconds slack, std::error_code& ec) noexcept {
    ec.clear();
    // prctl takes an unsigned long: a negative value would wrap to an enormous slack, so it
    // is refused here rather than passed on.
    if (slack.count() < 0) {
        ec.assign(EINVAL, std::system_category());
        return;
    }
    if (sys::prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(slack.count())) != 0) {
        ec.assign(errno, std::system_category());
    }
}

void set_timer_slack(std::chrono::nanoseconds slack) {
    std::error_code ec;
    set_timer_slack(slack, ec);
    if (ec) {
        throw std::system_error(ec, "set_timer_slack: slack=" + format_duration(slack));
    }
}

scoped_timer_slack::scoped_timer_slack(std::chrono::nanoseconds slack) : previous_(timer_slack()) {
    set_timer_slack(slack);
}

scoped_timer_slack::~scoped_timer_slack() {
    // A realtime thread reads back zero, and zero restores the default: either way the
    // thread ends up where it started.  A destructor cannot report, and the only failure
    // prctl has here (EINVAL) cannot happen for a value the kernel itself reported.
    std::error_code ignored;
    set_timer_slack(previous_, ignored);
}

}  // namespace tfd

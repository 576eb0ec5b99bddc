#include "tfd/timer_fd.hpp"

#include <sys/timerfd.h>

#include <cerrno>
#include <cmath>
#include <sstream>
#include <string>

#include "sys/sys.hpp"

namespace tfd {
namespace {

std::error_code last_error() noexcept {
    return {errno, std::system_category()};
}

int kernel_open_flags(open_flags flags) noexcept {
    int result = has(flags, open_flags::inheritable) ? 0 : TFD_CLOEXEC;
    if (has(flags, open_flags::nonblocking)) {
        result |= TFD_NONBLOCK;
    }
    return result;
}

int kernel_set_flags(set_flags flags) noexcept {
    // Bits outside the two known flags pass through so the kernel rejects them (EINVAL)
    // rather than tfd silently dropping them.
    unsigned bits = static_cast<unsigned>(flags);
    unsigned known = static_cast<unsigned>(set_flags::absolute | set_flags::cancel_on_set);
    int result = static_cast<int>(bits & ~known);
    if (has(flags, set_flags::absolute)) {
        result |= TFD_TIMER_ABSTIME;
    }
    if (has(flags, set_flags::cancel_on_set)) {
        result |= TFD_TIMER_CANCEL_ON_SET;
    }
    return result;
}

timer_setting from_itimerspec(const itimerspec& spec) noexcept {
    return {timespec_to_ns(spec.it_value), timespec_to_ns(spec.it_interval)};
}

std::string flags_text(set_flags flags) {
    std::string text;
    auto add = [&text](const char* name) {
        if (!text.empty()) {
            text += '|';
        }
        text += name;
    };
    if (has(flags, set_flags::absolute)) {
        add("absolute");
    }
    if (has(flags, set_flags::cancel_on_set)) {
        add("cancel_on_set");
    }
    unsigned unknown = static_cast<unsigned>(flags) &
                       ~static_cast<unsigned>(set_flags::absolute | set_flags::cancel_on_set);
    if (unknown != 0) {
        std::ostringstream hex;
        hex << "0x" << std::hex << unknown;
        add(hex.str().c_str());
    }
    return text.empty() ? "none" : text;
}

// Builds "timer_fd::<operation>: <what failed>" for a failed timerfd_settime, naming the
// value the kernel objected to when it can be told apart.
std::string describe_settime_failure(const char* operation, int fd,
                                     std::chrono::nanoseconds initial,
                                     std::chrono::nanoseconds interval, set_flags flags,
                                     int error) {
    std::string prefix = std::string("timer_fd::") + operation + ": ";
    const char* initial_name = has(flags, set_flags::absolute) ? "deadline=" : "initial=";
    if (error == EINVAL && initial.count() < 0) {
        return prefix + initial_name + format_duration(initial);
    }
    if (error == EINVAL && interval.count() < 0) {
        return prefix + "interval=" + format_duration(interval);
    }
    if (error == EBADF) {
        return prefix + "fd=" + std::to_string(fd);
    }
    return prefix + "fd=" + std::to_string(fd) + " " + initial_name + format_duration(initial) +
           " interval=" + format_duration(interval) + " flags=" + flags_text(flags);
}

// The system-call parts of settime, gettime and read, shared by the throwing and the
// error_code overloads.  Inlined into each so a call through timer_fd costs one function
// call more than the bare libc call: on this class of virtual machine every extra call and
// return level costs several nanoseconds next to a 200 ns system call.  Each returns 0 or
// an errno value.
[[gnu::always_inline]] inline int settime_once(int fd, std::chrono::nanoseconds initial,
                                               std::chrono::nanoseconds interval, set_flags flags,
                                               timer_setting& previous) noexcept {
    itimerspec next{ns_to_timespec(interval), ns_to_timespec(initial)};
    itimerspec old{};
    if (sys::timerfd_settime(fd, kernel_set_flags(flags), &next, &old) != 0) {
        return errno;
    }
    previous = from_itimerspec(old);
    return 0;
}

[[gnu::always_inline]] inline int gettime_once(int fd, timer_setting& current) noexcept {
    itimerspec spec{};
    if (sys::timerfd_gettime(fd, &spec) != 0) {
        return errno;
    }
    current = from_itimerspec(spec);
    return 0;
}

[[gnu::always_inline]] inline int read_once(int fd, read_result& result) noexcept {
    std::uint64_t count = 0;
    for (;;) {
        ssize_t n = sys::read(fd, &count, sizeof count);
        if (n == static_cast<ssize_t>(sizeof count)) [[likely]] {
            result = {read_status::expired, count};
            return 0;
        }
        if (n == 0) {
            result = {read_status::no_expiration, 0};
            return 0;
        }
        if (n > 0) {
            return EIO;  // The kernel only ever transfers all eight bytes or none.
        }
        switch (errno) {
            case EINTR:
                continue;
            case EAGAIN:
                result = {read_status::would_block, 0};
                return 0;
            case ECANCELED:
                result = {read_status::cancelled, 0};
                return 0;
            default:
                return errno;
        }
    }
}

// Why a refused create was refused, when the error number alone does not say it.
std::string create_failure_hint(clock_id clock, std::error_code ec) {
    bool alarm = clock == clock_id::realtime_alarm || clock == clock_id::boottime_alarm;
    if (alarm && ec == std::errc::operation_not_permitted) {
        return " needs the CAP_WAKE_ALARM capability (an alarm clock can wake a suspended "
               "system): grant it (e.g. setcap cap_wake_alarm+ep on the program), or use the "
               "realtime or boottime clock, which do not wake the system";
    }
    return "";
}

}  // namespace

timer_fd::timer_fd(clock_id clock, open_flags flags) : clock_(clock) {
    std::error_code ec;
    *this = create(clock, flags, ec);
    if (ec) {
        throw std::system_error(
            ec, "timer_fd::create: " + describe_clock(clock) + create_failure_hint(clock, ec));
    }
}

timer_fd timer_fd::create(clock_id clock, open_flags flags, std::error_code& ec) noexcept {
    ec.clear();
    int fd = sys::timerfd_create(static_cast<int>(clock), kernel_open_flags(flags));
    if (fd < 0) {
        ec = last_error();
        return timer_fd(unique_fd(), clock);
    }
    return timer_fd(unique_fd(fd), clock);
}

timer_fd timer_fd::adopt(int fd, clock_id clock) noexcept {
    return timer_fd(unique_fd(fd), clock);
}

timer_setting timer_fd::settime(std::chrono::nanoseconds initial, std::chrono::nanoseconds interval,
                                set_flags flags, std::error_code& ec) noexcept {
    ec.clear();
    timer_setting previous;
    if (int error = settime_once(fd_.get(), initial, interval, flags, previous); error != 0) {
        ec.assign(error, std::system_category());
    }
    return previous;
}

timer_setting timer_fd::arm(const char* operation, std::chrono::nanoseconds initial,
                            std::chrono::nanoseconds interval, set_flags flags) {
    timer_setting previous;
    if (int error = settime_once(fd_.get(), initial, interval, flags, previous); error != 0)
        [[unlikely]] {
        throw std::system_error(
            error, std::system_category(),
            describe_settime_failure(operation, fd_.get(), initial, interval, flags, error));
    }
    return previous;
}

timer_setting timer_fd::settime(std::chrono::nanoseconds initial, std::chrono::nanoseconds interval,
                                set_flags flags) {
    return arm("settime", initial, interval, flags);
}

timer_setting timer_fd::disarm(std::error_code& ec) noexcept {
    return settime(std::chrono::nanoseconds(0), std::chrono::nanoseconds(0), set_flags::none, ec);
}

timer_setting timer_fd::disarm() {
    return arm("disarm", std::chrono::nanoseconds(0), std::chrono::nanoseconds(0), set_flags::none);
}

timer_setting timer_fd::get(std::error_code& ec) const noexcept {
    ec.clear();
    timer_setting current;
    if (int error = gettime_once(fd_.get(), current); error != 0) {
        ec.assign(error, std::system_category());
    }
    return current;
}

timer_setting timer_fd::get() const {
    timer_setting current;
    if (int error = gettime_once(fd_.get(), current); error != 0) [[unlikely]] {
        throw std::system_error(error, std::system_category(),
                                "timer_fd::get: fd=" + std::to_string(fd_.get()));
    }
    return current;
}

read_result timer_fd::read(std::error_code& ec) noexcept {
    ec.clear();
    read_result result;
    if (int error = read_once(fd_.get(), result); error != 0) {
        ec.assign(error, std::system_category());
    }
    return result;
}

read_result timer_fd::read() {
    read_result result;
    if (int error = read_once(fd_.get(), result); error != 0) [[unlikely]] {
        throw std::system_error(error, std::system_category(),
                                "timer_fd::read: fd=" + std::to_string(fd_.get()));
    }
    return result;
}

void timer_fd::set_ticks(std::uint64_t ticks, std::error_code& ec) noexcept {
    ec.clear();
    if (sys::ioctl_set_ticks(fd_.get(), &ticks) != 0) {
        ec = last_error();
    }
}

void timer_fd::set_ticks(std::uint64_t ticks) {
    std::error_code ec;
    set_ticks(ticks, ec);
    if (ec) {
        throw std::system_error(ec, "timer_fd::set_ticks: fd=" + std::to_string(fd_.get()) +
                                        " ticks=" + std::to_string(ticks));
    }
}

void timer_fd::close(std::error_code& ec) noexcept {
    fd_.close(ec);
}

void timer_fd::close() {
    int fd = fd_.get();
    std::error_code ec;
    fd_.close(ec);
    if (ec) {
        throw std::system_error(ec, "timer_fd::close: fd=" + std::to_string(fd));
    }
}

void timer_fd::throw_out_of_range(const char* operation, const char* what, long double count,
                                  long double unit_seconds) {
    std::ostringstream text;
    text << "timer_fd::" << operation << ": " << what << '=';
    if (std::isnan(count) || std::isinf(count)) {
        text << count;
    } else {
        text.precision(17);
        text << count * unit_seconds;
    }
    text << "s does not fit in 64-bit nanoseconds";
    throw std::system_error(std::make_error_code(std::errc::value_too_large), text.str());
}

void timer_fd::check_clock(const char* operation, clock_id point_clock) const {
    if (point_clock != base_clock(clock_)) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                std::string("timer_fd::") + operation + ": deadline is on the " +
                                    std::string(to_string(point_clock)) + " clock, timer is on " +
                                    std::string(to_string(clock_)));
    }
}

}  // namespace tfd

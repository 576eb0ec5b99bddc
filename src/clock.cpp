#include "tfd/clock.hpp"

#include <time.h>

#include <array>
#include <cerrno>
#include <string>

#include "sys/sys.hpp"
#include "tfd/time_convert.hpp"

namespace tfd {
std::string_view to_string(clock_id id) noexcept {
    std::size_t i = clock_index(id);
    return i < clocks.size() ? clocks[i].name : "clock(unknown)";
}

std::string describe_clock(clock_id id) {
    const std::string number = std::to_string(static_cast<int>(id));
    if (clock_index(id) == clocks.size()) {
        return "clock=" + number + " (unknown)";
    }
    return "clock=" + std::string(to_string(id)) + " (" + number + ")";
}

std::optional<clock_id> parse_clock_id(std::string_view name) noexcept {
    for (const clock_info& entry : clocks) {
        if (name == entry.name || name == entry.kernel_name) {
            return entry.id;
        }
    }
    return std::nullopt;
}

std::chrono::nanoseconds clock_now(clock_id id, std::error_code& ec) noexcept {
    ec.clear();
    timespec now{};
    if (sys::clock_gettime(static_cast<int>(id), &now) != 0) {
        ec.assign(errno, std::system_category());
        return {};
    }
    return timespec_to_ns(now);
}

std::chrono::nanoseconds clock_now(clock_id id) {
    std::error_code ec;
    std::chrono::nanoseconds now = clock_now(id, ec);
    if (ec) {
        throw std::system_error(ec, "clock_now: " + describe_clock(id));
    }
    return now;
}

}  // namespace tfd

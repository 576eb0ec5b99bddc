// Clocks a timer file descriptor can run on, and std::chrono clocks to name their time points.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

namespace tfd {

// The clocks timerfd_create(2) accepts, with the kernel's numeric ids.
//
// realtime         wall-clock time; jumps when the system time is set.
// monotonic        never jumps, stops while the system is suspended.
// boottime         like monotonic, but keeps counting during suspend.
// realtime_alarm   realtime that also wakes a suspended system (needs CAP_WAKE_ALARM).
// boottime_alarm   boottime that also wakes a suspended system (needs CAP_WAKE_ALARM).
enum class clock_id : int {
    realtime = 0,
    monotonic = 1,
    boottime = 7,
    realtime_alarm = 8,
    boottime_alarm = 9,
};

// Everything tfd knows about each clock, in one table that the rest of the library and the
// Python binding iterate: names, the clock a timer's readings come from, and the loop's slot.
struct clock_info {
    clock_id id;
    std::string_view name;         // to_string()
    std::string_view kernel_name;  // CLOCK_...
    // The clock whose readings a timer on `id` is compared against: the alarm clocks count in
    // the time of their non-alarm base.
    clock_id base;
    bool needs_wake_alarm;  // CAP_WAKE_ALARM, to create a timer on it
};

inline constexpr std::array<clock_info, 5> clocks{{
    {clock_id::realtime, "realtime", "CLOCK_REALTIME", clock_id::realtime, false},
    {clock_id::monotonic, "monotonic", "CLOCK_MONOTONIC", clock_id::monotonic, false},
    {clock_id::boottime, "boottime", "CLOCK_BOOTTIME", clock_id::boottime, false},
    {clock_id::realtime_alarm, "realtime_alarm", "CLOCK_REALTIME_ALARM", clock_id::realtime, true},
    {clock_id::boottime_alarm, "boottime_alarm", "CLOCK_BOOTTIME_ALARM", clock_id::boottime, true},
}};

// The position of `id` in `clocks`, or clocks.size() for an id outside the enumeration.
[[nodiscard]] constexpr std::size_t clock_index(clock_id id) noexcept {
    for (std::size_t i = 0; i < clocks.size(); ++i) {
        if (clocks[i].id == id) {
            return i;
        }
    }
    return clocks.size();
}

// The clock whose readings a timer on `id` is compared against (clock_info::base); an unknown
// id is its own base.
[[nodiscard]] constexpr clock_id base_clock(clock_id id) noexcept {
    std::size_t i = clock_index(id);
    return i < clocks.size() ? clocks[i].base : id;
}

// "realtime", "monotonic", ...; "clock(unknown)" for an id outside the enumeration.
[[nodiscard]] std::string_view to_string(clock_id id) noexcept;

// How errors name a clock: "clock=monotonic (1)", or "clock=12345 (unknown)".
[[nodiscard]] std::string describe_clock(clock_id id);

// Parses the names to_string() produces, plus the kernel's spellings ("CLOCK_MONOTONIC").
[[nodiscard]] std::optional<clock_id> parse_clock_id(std::string_view name) noexcept;

// Reads `id` with clock_gettime(2), in nanoseconds since that clock's epoch.
[[nodiscard]] std::chrono::nanoseconds clock_now(clock_id id);
[[nodiscard]] std::chrono::nanoseconds clock_now(clock_id id, std::error_code& ec) noexcept;

// A std::chrono clock over one kernel clock, in integer nanoseconds.  Time points of these
// clocks (and of std::chrono::system_clock / steady_clock, see clock_of) can arm a timer_fd
// with an absolute deadline.
template <clock_id Id>
struct kernel_clock {
    using rep = std::int64_t;
    using period = std::nano;
    using duration = std::chrono::nanoseconds;
    using time_point = std::chrono::time_point<kernel_clock>;
    static constexpr bool is_steady = Id != clock_id::realtime;
    static constexpr clock_id id = Id;

    static time_point now() { return time_point(clock_now(Id)); }
};

using realtime_clock = kernel_clock<clock_id::realtime>;
using monotonic_clock = kernel_clock<clock_id::monotonic>;
using boottime_clock = kernel_clock<clock_id::boottime>;

// Which kernel clock a std::chrono clock reads.  libstdc++ on Linux implements system_clock
// with CLOCK_REALTIME and steady_clock with CLOCK_MONOTONIC.
template <class Clock>
struct clock_of;
template <clock_id Id>
struct clock_of<kernel_clock<Id>> {
    static constexpr clock_id value = Id;
};
template <>
struct clock_of<std::chrono::system_clock> {
    static constexpr clock_id value = clock_id::realtime;
};
template <>
struct clock_of<std::chrono::steady_clock> {
    static constexpr clock_id value = clock_id::monotonic;
};

}  // namespace tfd

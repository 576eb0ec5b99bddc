// Conversions between the time representations tfd meets at its edges.
//
// Inside, tfd keeps one time type: std::chrono::nanoseconds (a signed 64-bit count, about
// +-292 years).  These functions are the only places values enter or leave it, and the
// Python module uses the same ones so both faces round identically.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <ratio>
#include <string>
#include <type_traits>

namespace tfd {

// Float seconds -> nanoseconds with CPython's rule (_PyTime_FromSecondsDouble with
// _PyTime_ROUND_FLOOR): multiply by 1e9 in double precision, round toward negative
// infinity, then reject NaN, +-inf and anything outside [-2^63, 2^63) ns.  So 1e-10 becomes
// 0 ns and -1e-10 becomes -1 ns.  Returns nullopt for every rejected value.
[[nodiscard]] std::optional<std::chrono::nanoseconds> seconds_to_ns(double seconds) noexcept;

// Nanoseconds -> timespec by floor division: tv_nsec always lands in [0, 1e9), so -1 ns is
// {-1 s, 999999999 ns}, the representation the kernel validates (and rejects as negative).
[[nodiscard]] constexpr timespec ns_to_timespec(std::chrono::nanoseconds ns) noexcept {
    constexpr std::int64_t billion = 1'000'000'000;
    std::int64_t count = ns.count();
    std::int64_t sec = count / billion;
    std::int64_t nsec = count % billion;
    if (nsec < 0) {
        nsec += billion;
        sec -= 1;
    }
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(sec);
    ts.tv_nsec = static_cast<long>(nsec);
    return ts;
}

// timespec -> nanoseconds, saturating at the ends of the range (the kernel never reports a
// time outside it: its own ktime_t is the same signed 64-bit nanosecond count).
[[nodiscard]] std::chrono::nanoseconds timespec_to_ns(const timespec& ts) noexcept;

// timespec -> float seconds, computed as CPython does: sec + nsec * 1e-9.  Thus 0.3 s reads
// back as 0.30000000000000004, the same value os.timerfd_gettime() returns.
[[nodiscard]] constexpr double timespec_to_seconds(const timespec& ts) noexcept {
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Formats a duration exactly, in the largest unit that divides it: "1s", "-1s", "250ms",
// "1500us", "7ns", "0s".
[[nodiscard]] std::string format_duration(std::chrono::nanoseconds ns);

namespace detail {
// floor(value) as nanoseconds when it lies in [-2^63, 2^63), else nullopt (NaN included).
[[nodiscard]] std::optional<std::chrono::nanoseconds> floor_double_ns(double value) noexcept;
}  // namespace detail

// Any std::chrono::duration -> nanoseconds.  Integer representations convert exactly when
// the unit is a whole number of nanoseconds, and round toward negative infinity otherwise
// (picoseconds, thirds of a second...); floating-point ones use the same floor rule as
// seconds_to_ns.  Returns nullopt when the result would not fit in 64 bits, or for NaN/inf.
template <class Rep, class Period>
[[nodiscard]] constexpr std::optional<std::chrono::nanoseconds> to_nanoseconds(
    std::chrono::duration<Rep, Period> d) noexcept {
    using per_ns = std::ratio_divide<Period, std::nano>;  // nanoseconds in one unit
    if constexpr (std::chrono::treat_as_floating_point_v<Rep>) {
        if constexpr (per_ns::num == per_ns::den) {
            return detail::floor_double_ns(static_cast<double>(d.count()));
        } else {
            constexpr double scale =
                static_cast<double>(per_ns::num) / static_cast<double>(per_ns::den);
            return detail::floor_double_ns(static_cast<double>(d.count()) * scale);
        }
    } else {
        // 128-bit intermediate: count (< 2^64) times num (< 2^63) cannot overflow it.
        __extension__ using wide = __int128;
        wide scaled = static_cast<wide>(d.count()) * static_cast<wide>(per_ns::num);
        wide quotient = scaled / per_ns::den;
        if (scaled % per_ns::den != 0 && scaled < 0) {
            quotient -= 1;
        }
        if (quotient < static_cast<wide>(INT64_MIN) || quotient > static_cast<wide>(INT64_MAX)) {
            return std::nullopt;
        }
        return std::chrono::nanoseconds(static_cast<std::int64_t>(quotient));
    }
}

// Any std::chrono::duration -> nanoseconds for a wait or a deadline: rounded up (toward
// positive infinity), so that nothing given this time comes early, and saturated at the ends
// of the 64-bit range (beyond them means "never" or "long ago").  nullopt only for NaN.
template <class Rep, class Period>
[[nodiscard]] constexpr std::optional<std::chrono::nanoseconds> to_nanoseconds_ceil(
    std::chrono::duration<Rep, Period> d) noexcept {
    using std::chrono::nanoseconds;
    if constexpr (std::chrono::treat_as_floating_point_v<Rep>) {
        if (d.count() != d.count()) {
            return std::nullopt;
        }
        const std::chrono::duration<long double> value = d;
        const std::chrono::duration<long double> limit = nanoseconds::max();
        if (value >= limit) {
            return nanoseconds::max();
        }
        if (value <= -limit) {
            return nanoseconds::min();
        }
    } else if constexpr (std::ratio_greater_v<Period, std::nano>) {
        using given = std::chrono::duration<Rep, Period>;
        if (d > std::chrono::duration_cast<given>(nanoseconds::max())) {
            return nanoseconds::max();
        }
        if (d < std::chrono::duration_cast<given>(nanoseconds::min())) {
            return nanoseconds::min();
        }
    }
    return std::chrono::ceil<nanoseconds>(d);
}

}  // namespace tfd

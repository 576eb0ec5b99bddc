#include "tfd/time_convert.hpp"

#include <array>
#include <limits>

namespace tfd {
namespace detail {

std::optional<std::chrono::nanoseconds> floor_double_ns(double value) noexcept {
    // volatile keeps the compiler from fusing or reordering the rounding steps, so the
    // result is bit-for-bit what CPython computes.
    volatile double d = std::floor(value);
    constexpr double lowest = -9223372036854775808.0;  // -2^63, exactly representable
    // The upper bound is exclusive: 2^63 itself does not fit.  NaN fails both comparisons.
    if (!(lowest <= d && d < -lowest)) {
        return std::nullopt;
    }
    return std::chrono::nanoseconds(static_cast<std::int64_t>(d));
}

}  // namespace detail

std::optional<std::chrono::nanoseconds> seconds_to_ns(double seconds) noexcept {
    volatile double scaled = seconds;
    scaled = scaled * 1e9;
    return detail::floor_double_ns(scaled);
}

std::chrono::nanoseconds timespec_to_ns(const timespec& ts) noexcept {
    // 128 bits: near the bottom of the range sec * 1e9 alone overflows 64 bits even though
    // adding the (positive) nsec brings the sum back in (found by fuzz/time_convert_fuzz).
    __extension__ using wide = __int128;
    wide total = static_cast<wide>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    if (total < static_cast<wide>(INT64_MIN)) {
        return std::chrono::nanoseconds::min();
    }
    if (total > static_cast<wide>(INT64_MAX)) {
        return std::chrono::nanoseconds::max();
    }
    return std::chrono::nanoseconds(static_cast<std::int64_t>(total));
}

std::string format_duration(std::chrono::nanoseconds ns) {
    struct unit {
        std::int64_t size;
        const char* suffix;
    };
    constexpr std::array<unit, 3> units{{{1'000'000'000, "s"}, {1'000'000, "ms"}, {1'000, "us"}}};
    std::int64_t count = ns.count();
    if (count == 0) {
        return "0s";
    }
    for (const unit& u : units) {
        if (count % u.size == 0) {
            return std::to_string(count / u.size) + u.suffix;
        }
    }
    return std::to_string(count) + "ns";
}

}  // namespace tfd

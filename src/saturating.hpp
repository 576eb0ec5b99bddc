// Saturating arithmetic on nanosecond counts.
//
// Deadlines are 64-bit nanosecond counts; a deadline "now + period" or a lateness
// "now - deadline" near the ends of the range must clamp instead of wrapping, so a timer
// years away never becomes a timer in the past.
#pragma once

#include <cstdint>

namespace tfd::detail {

[[nodiscard]] inline std::int64_t saturating_add(std::int64_t a, std::int64_t b) noexcept {
    std::int64_t sum = 0;
    if (__builtin_add_overflow(a, b, &sum)) {
        return b > 0 ? INT64_MAX : INT64_MIN;
    }
    return sum;
}

[[nodiscard]] inline std::int64_t saturating_sub(std::int64_t a, std::int64_t b) noexcept {
    std::int64_t difference = 0;
    if (__builtin_sub_overflow(a, b, &difference)) {
        return b < 0 ? INT64_MAX : INT64_MIN;
    }
    return difference;
}

}  // namespace tfd::detail

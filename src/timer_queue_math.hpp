// Index math of tfd::timer_queue's wheel, as pure functions so that every boundary can be
// tested exhaustively (tests/unit/timer_queue_math_test.cpp).
//
// Time in the wheel is counted in ticks of 2^tick_shift ns.  Only non-negative deadlines
// reach the wheel (negative ones are always before the horizon), so a tick fits in
// 63 - tick_shift bits and every level computed here is below wheel_levels.
#pragma once

#include <bit>
#include <cstdint>
#include <limits>

#include "tfd/timer_queue.hpp"

namespace tfd::timer_math {

using q = timer_queue;
constexpr std::uint64_t slot_mask = q::wheel_slots - 1;

// The tick a non-negative deadline falls in (floor).
constexpr std::uint64_t tick_of(std::int64_t deadline_ns) noexcept {
    return static_cast<std::uint64_t>(deadline_ns) >> q::tick_shift;
}

// The first nanosecond of `tick`, saturated to INT64_MAX (the tick after the last one a
// deadline can fall in starts at 2^63 ns, one past the int64 range).
constexpr std::int64_t tick_start_ns(std::uint64_t tick) noexcept {
    constexpr std::uint64_t last_tick = tick_of(std::numeric_limits<std::int64_t>::max());
    if (tick > last_tick) {
        return std::numeric_limits<std::int64_t>::max();
    }
    return static_cast<std::int64_t>(tick << q::tick_shift);
}

// The level a timer at `tick` is filed at while the wheel stands at `elapsed` (tick >=
// elapsed): the highest 6-bit group in which the two differ, 0 when they differ in none.
constexpr unsigned level_of(std::uint64_t tick, std::uint64_t elapsed) noexcept {
    const std::uint64_t masked = (tick ^ elapsed) | slot_mask;
    const unsigned significant = 63u - static_cast<unsigned>(std::countl_zero(masked));
    return significant / q::slot_bits;
}

// The slot of `tick` at `level`: its 6-bit group number `level`.
constexpr unsigned slot_of(std::uint64_t tick, unsigned level) noexcept {
    return static_cast<unsigned>((tick >> (level * q::slot_bits)) & slot_mask);
}

// The first tick of slot `slot` of `level` while the wheel stands at `elapsed`: `elapsed`
// with its groups 0..level cleared, plus `slot` in group `level`.
constexpr std::uint64_t slot_start(std::uint64_t elapsed, unsigned level, unsigned slot) noexcept {
    const unsigned shift = level * q::slot_bits;
    const unsigned above = shift + q::slot_bits;  // <= 48, so the shifts below are defined
    const std::uint64_t block = (elapsed >> above) << above;
    return block + (static_cast<std::uint64_t>(slot) << shift);
}

}  // namespace tfd::timer_math

// Exhaustive boundary tests of the wheel's index math (src/timer_queue_math.hpp), each
// checked against a slow, obviously correct restatement.
#include "timer_queue_math.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <set>
#include <vector>

namespace tfd::timer_math {
namespace {

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
constexpr unsigned bits = q::slot_bits;
constexpr std::uint64_t last_tick = tick_of(int64_max);

// Slow restatement: the highest 6-bit group in which a and b differ, by walking the groups.
unsigned slow_level(std::uint64_t tick, std::uint64_t elapsed) {
    for (unsigned level = q::wheel_levels; level-- > 0;) {
        const std::uint64_t a = (tick >> (level * bits)) & 63;
        const std::uint64_t b = (elapsed >> (level * bits)) & 63;
        if (a != b) {
            return level;
        }
    }
    return 0;
}

// Every power of two (and its neighbours) up to the last tick: where carries happen.
std::vector<std::uint64_t> boundary_ticks() {
    std::set<std::uint64_t> values{0, 1, 2, last_tick - 1, last_tick, last_tick + 1};
    for (unsigned b = 1; b < 48; ++b) {
        const std::uint64_t p = std::uint64_t{1} << b;
        for (std::uint64_t v : {p - 1, p, p + 1, p + 63, p + 64}) {
            if (v <= last_tick + 1) {
                values.insert(v);
            }
        }
    }
    return {values.begin(), values.end()};
}

TEST(TimerQueueMath, GeometrySpansEveryNonNegativeDeadline) {
    EXPECT_EQ(last_tick, (std::uint64_t{1} << (63 - q::tick_shift)) - 1);
    EXPECT_LT(level_of(last_tick, 0), q::wheel_levels);
    EXPECT_EQ(level_of(last_tick, 0), q::wheel_levels - 1);
    EXPECT_EQ(q::wheel_slots, 64u);
}

TEST(TimerQueueMath, TickOfAndTickStartAreInverseAtBoundaries) {
    const std::int64_t tick_ns = std::int64_t{1} << q::tick_shift;
    EXPECT_EQ(tick_of(0), 0u);
    EXPECT_EQ(tick_of(tick_ns - 1), 0u);
    EXPECT_EQ(tick_of(tick_ns), 1u);
    EXPECT_EQ(tick_of(int64_max), last_tick);
    EXPECT_EQ(tick_start_ns(0), 0);
    EXPECT_EQ(tick_start_ns(1), tick_ns);
    EXPECT_EQ(tick_start_ns(last_tick), int64_max - (tick_ns - 1));
    EXPECT_EQ(tick_start_ns(last_tick + 1), int64_max);  // saturates, never wraps
    EXPECT_EQ(tick_start_ns(std::numeric_limits<std::uint64_t>::max()), int64_max);
    for (std::uint64_t t : boundary_ticks()) {
        if (t <= last_tick) {
            EXPECT_EQ(tick_of(tick_start_ns(t)), t) << t;
            EXPECT_EQ(tick_of(tick_start_ns(t) + (tick_ns - 1)), t) << t;
        }
    }
}

TEST(TimerQueueMath, LevelOfMatchesTheSlowDefinitionExhaustivelyOnSmallTicks) {
    // Every (elapsed, tick) pair in [0, 2^11)^2 with tick >= elapsed: levels 0 and 1 and the
    // carry into level 1 from every starting point.
    for (std::uint64_t elapsed = 0; elapsed < 2048; ++elapsed) {
        for (std::uint64_t tick = elapsed; tick < 2048; ++tick) {
            ASSERT_EQ(level_of(tick, elapsed), slow_level(tick, elapsed))
                << "tick " << tick << " elapsed " << elapsed;
        }
    }
}

TEST(TimerQueueMath, LevelOfMatchesTheSlowDefinitionAtEveryCarry) {
    const std::vector<std::uint64_t> ticks = boundary_ticks();
    for (std::uint64_t elapsed : ticks) {
        for (std::uint64_t tick : ticks) {
            if (tick < elapsed || tick > last_tick) {
                continue;
            }
            const unsigned level = level_of(tick, elapsed);
            ASSERT_EQ(level, slow_level(tick, elapsed)) << tick << " " << elapsed;
            ASSERT_LT(level, q::wheel_levels);
            // The timer's slot at its level is never the wheel's own slot there (level >= 1),
            // and its span contains the tick.
            const unsigned slot = slot_of(tick, level);
            if (level > 0) {
                ASSERT_GT(slot, slot_of(elapsed, level)) << tick << " " << elapsed;
            }
            const std::uint64_t start = slot_start(elapsed, level, slot);
            const std::uint64_t span = std::uint64_t{1} << (level * bits);
            ASSERT_LE(start, tick) << tick << " " << elapsed;
            ASSERT_LT(tick - start, span) << tick << " " << elapsed;
        }
    }
}

TEST(TimerQueueMath, SlotOfReadsOneGroup) {
    for (unsigned level = 0; level < q::wheel_levels; ++level) {
        for (unsigned slot = 0; slot < q::wheel_slots; ++slot) {
            const std::uint64_t tick = std::uint64_t{slot} << (level * bits);
            EXPECT_EQ(slot_of(tick, level), slot);
            EXPECT_EQ(slot_of(tick | ~(std::uint64_t{63} << (level * bits)), level), slot);
            EXPECT_EQ(slot_start(0, level, slot), tick);
        }
    }
}

TEST(TimerQueueMath, SlotStartKeepsTheGroupsAboveTheLevel) {
    const std::uint64_t elapsed = 0x0000'7abc'def0'1234u & last_tick;
    for (unsigned level = 0; level < q::wheel_levels; ++level) {
        for (unsigned slot = 0; slot < q::wheel_slots; ++slot) {
            const std::uint64_t start = slot_start(elapsed, level, slot);
            const unsigned above = (level + 1) * bits;
            EXPECT_EQ(start >> above, elapsed >> above) << level << " " << slot;
            EXPECT_EQ(slot_of(start, level), slot);
            EXPECT_EQ(start & ((std::uint64_t{1} << (level * bits)) - 1), 0u);
        }
    }
}

}  // namespace
}  // namespace tfd::timer_math

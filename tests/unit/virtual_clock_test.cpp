// The loop's virtual clock (src/virtual_clock.hpp).
#include "virtual_clock.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace tfd::detail {
namespace {

TEST(VirtualClock, EveryClockMovesTogetherAndAlarmClocksReadTheirBase) {
    virtual_clock c;
    c.start();
    const std::int64_t mono = c.read(clock_id::monotonic);
    const std::int64_t real = c.read(clock_id::realtime);
    EXPECT_EQ(c.read(clock_id::realtime_alarm), real);
    EXPECT_EQ(c.read(clock_id::boottime_alarm), c.read(clock_id::boottime));
    c.advance(1'000);
    EXPECT_EQ(c.read(clock_id::monotonic), mono + 1'000);
    EXPECT_EQ(c.read(clock_id::realtime), real + 1'000);
    EXPECT_EQ(c.elapsed_at(clock_id::monotonic, mono + 5'000), 5'000);
}

TEST(VirtualClock, NeverGoesBackAndSaturatesAtTheEnd) {
    virtual_clock c;
    c.start();
    c.move_to(10);
    c.move_to(5);  // the past: ignored
    EXPECT_EQ(c.elapsed(), 10);
    c.advance(INT64_MAX);
    EXPECT_EQ(c.elapsed(), INT64_MAX);
    EXPECT_EQ(c.read(clock_id::monotonic), INT64_MAX);
    c.advance(1);
    EXPECT_EQ(c.read(clock_id::monotonic), INT64_MAX);
}

}  // namespace
}  // namespace tfd::detail

// The per-clock timer_fd state machine (src/clock_timers.hpp).
#include "clock_timers.hpp"

#include <gtest/gtest.h>

#include "tfd/timer_fd.hpp"

namespace tfd::detail {
namespace {

TEST(ClockTimers, SettimeIsSkippedOnlyForTheDeadlineAlreadyArmed) {
    clock_timers c(clock_id::monotonic, nullptr);
    EXPECT_EQ(c.state, clock_timers::fd_state::disarmed);
    EXPECT_TRUE(c.set_for(std::nullopt));
    EXPECT_FALSE(c.set_for(5));
    const std::int64_t far = clock_now(clock_id::monotonic).count() + 3'600'000'000'000;
    c.arm(far);
    EXPECT_EQ(c.state, clock_timers::fd_state::armed);
    EXPECT_TRUE(c.set_for(far));
    EXPECT_FALSE(c.set_for(far + 1));
    EXPECT_FALSE(c.set_for(std::nullopt));
    EXPECT_GT(c.fd.get().initial.count(), 0);  // really armed in the kernel
    c.arm(std::nullopt);
    EXPECT_EQ(c.state, clock_timers::fd_state::disarmed);
    EXPECT_EQ(c.fd.get().initial.count(), 0);
}

TEST(ClockTimers, AnExpiryThatIsNotReadForcesTheNextSettime) {
    clock_timers c(clock_id::monotonic, nullptr);
    EXPECT_FALSE(c.reads_on_fire);
    c.arm(1);  // long past: expires at once
    c.ready();
    EXPECT_EQ(c.state, clock_timers::fd_state::expired);
    EXPECT_TRUE(c.collect);
    EXPECT_FALSE(c.set_for(1));  // even the same deadline: the settime clears the readiness
    EXPECT_FALSE(c.set_for(std::nullopt));
    c.arm(std::nullopt);
    EXPECT_EQ(c.fd.read().status, read_status::would_block);  // readiness cleared
}

TEST(ClockTimers, TheRealtimeTimerFdIsReadWhenItFires) {
    clock_timers c(clock_id::realtime, nullptr);
    EXPECT_TRUE(c.reads_on_fire);
    c.arm(1);
    c.ready();
    EXPECT_EQ(c.state, clock_timers::fd_state::disarmed);  // the read consumed the expiry
    EXPECT_FALSE(c.clock_set);
}

}  // namespace
}  // namespace tfd::detail

#include "tfd/clock.hpp"

#include <gtest/gtest.h>
#include <time.h>

#include <string>
#include <system_error>

#include "tfd/time_convert.hpp"

namespace tfd {
namespace {

TEST(ClockId, MatchesTheKernelIds) {
    EXPECT_EQ(static_cast<int>(clock_id::realtime), CLOCK_REALTIME);
    EXPECT_EQ(static_cast<int>(clock_id::monotonic), CLOCK_MONOTONIC);
    EXPECT_EQ(static_cast<int>(clock_id::boottime), CLOCK_BOOTTIME);
    EXPECT_EQ(static_cast<int>(clock_id::realtime_alarm), CLOCK_REALTIME_ALARM);
    EXPECT_EQ(static_cast<int>(clock_id::boottime_alarm), CLOCK_BOOTTIME_ALARM);
}

TEST(ClockId, AlarmClocksCountInTheirBaseClock) {
    EXPECT_EQ(base_clock(clock_id::realtime_alarm), clock_id::realtime);
    EXPECT_EQ(base_clock(clock_id::boottime_alarm), clock_id::boottime);
    EXPECT_EQ(base_clock(clock_id::monotonic), clock_id::monotonic);
}

TEST(ClockId, NamesRoundTrip) {
    for (clock_id id : {clock_id::realtime, clock_id::monotonic, clock_id::boottime,
                        clock_id::realtime_alarm, clock_id::boottime_alarm}) {
        EXPECT_EQ(parse_clock_id(to_string(id)), id);
    }
    EXPECT_EQ(parse_clock_id("CLOCK_BOOTTIME"), clock_id::boottime);
    EXPECT_EQ(parse_clock_id("sundial"), std::nullopt);
    EXPECT_EQ(to_string(static_cast<clock_id>(12345)), "clock(unknown)");
}

TEST(ClockNow, AgreesWithClockGettime) {
    timespec before{};
    ::clock_gettime(CLOCK_MONOTONIC, &before);
    std::chrono::nanoseconds now = clock_now(clock_id::monotonic);
    timespec after{};
    ::clock_gettime(CLOCK_MONOTONIC, &after);
    EXPECT_LE(timespec_to_ns(before), now);
    EXPECT_LE(now, timespec_to_ns(after));
}

TEST(ClockNow, BadClockIsAnError) {
    std::error_code ec;
    (void)clock_now(static_cast<clock_id>(12345), ec);
    EXPECT_EQ(ec, std::errc::invalid_argument);
    EXPECT_THROW((void)clock_now(static_cast<clock_id>(12345)), std::system_error);
}

TEST(KernelClock, ChronoClocksAreMonotonicWhereTheKernelsAre) {
    static_assert(monotonic_clock::is_steady);
    static_assert(!realtime_clock::is_steady);
    static_assert(clock_of<std::chrono::steady_clock>::value == clock_id::monotonic);
    static_assert(clock_of<std::chrono::system_clock>::value == clock_id::realtime);
    auto a = boottime_clock::now();
    auto b = boottime_clock::now();
    EXPECT_LE(a, b);
}

TEST(Clock, ErrorsNameAClockOneWay) {
    EXPECT_EQ(describe_clock(clock_id::monotonic), "clock=monotonic (1)");
    EXPECT_EQ(describe_clock(static_cast<clock_id>(99)), "clock=99 (unknown)");
    try {
        (void)clock_now(static_cast<clock_id>(99));
        FAIL() << "read an unknown clock";
    } catch (const std::system_error& e) {
        EXPECT_EQ(std::string(e.what()), "clock_now: clock=99 (unknown): Invalid argument");
    }
}

}  // namespace
}  // namespace tfd

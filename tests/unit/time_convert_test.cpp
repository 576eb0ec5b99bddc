#include "tfd/time_convert.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace tfd {
namespace {

using std::chrono::nanoseconds;

TEST(SecondsToNs, WholeAndFractionalSeconds) {
    EXPECT_EQ(seconds_to_ns(0.0), nanoseconds(0));
    EXPECT_EQ(seconds_to_ns(1.0), nanoseconds(1'000'000'000));
    EXPECT_EQ(seconds_to_ns(0.5), nanoseconds(500'000'000));
    EXPECT_EQ(seconds_to_ns(-2.0), nanoseconds(-2'000'000'000));
}

TEST(SecondsToNs, RoundsTowardNegativeInfinity) {
    // CPython's _PyTime_ROUND_FLOOR: a tenth of a nanosecond disarms, minus a tenth is -1 ns.
    EXPECT_EQ(seconds_to_ns(1e-10), nanoseconds(0));
    EXPECT_EQ(seconds_to_ns(-1e-10), nanoseconds(-1));
    EXPECT_EQ(seconds_to_ns(1.9e-9), nanoseconds(1));
    EXPECT_EQ(seconds_to_ns(-1.9e-9), nanoseconds(-2));
    // 1.005e-6 * 1e9 is 1004.9999999999999 in double precision: floor, not round.
    EXPECT_EQ(seconds_to_ns(1.005e-6), nanoseconds(1004));
    EXPECT_EQ(seconds_to_ns(2.675e-7), nanoseconds(267));
}

TEST(SecondsToNs, RejectsNanInfinityAndOutOfRange) {
    EXPECT_FALSE(seconds_to_ns(std::numeric_limits<double>::quiet_NaN()));
    EXPECT_FALSE(seconds_to_ns(std::numeric_limits<double>::infinity()));
    EXPECT_FALSE(seconds_to_ns(-std::numeric_limits<double>::infinity()));
    EXPECT_FALSE(seconds_to_ns(9.3e9));
    EXPECT_FALSE(seconds_to_ns(-9.3e9));
    EXPECT_FALSE(seconds_to_ns(9223372036.854775808));  // exactly 2^63 ns
    EXPECT_TRUE(seconds_to_ns(9.22e9));
    // -2^63 ns is the smallest value that fits.
    EXPECT_EQ(seconds_to_ns(-9223372036.854775808), nanoseconds::min());
}

TEST(NsToTimespec, FloorDivisionKeepsNsecInRange) {
    timespec ts = ns_to_timespec(nanoseconds(1'500'000'000));
    EXPECT_EQ(ts.tv_sec, 1);
    EXPECT_EQ(ts.tv_nsec, 500'000'000);
    ts = ns_to_timespec(nanoseconds(-1));
    EXPECT_EQ(ts.tv_sec, -1);
    EXPECT_EQ(ts.tv_nsec, 999'999'999);
    ts = ns_to_timespec(nanoseconds(-1'000'000'000));
    EXPECT_EQ(ts.tv_sec, -1);
    EXPECT_EQ(ts.tv_nsec, 0);
    ts = ns_to_timespec(nanoseconds::min());
    EXPECT_EQ(ts.tv_sec, -9223372037);
    EXPECT_EQ(ts.tv_nsec, 145'224'192);
    ts = ns_to_timespec(nanoseconds::max());
    EXPECT_EQ(ts.tv_sec, 9223372036);
    EXPECT_EQ(ts.tv_nsec, 854'775'807);
}

TEST(TimespecToNs, RoundTripsAndSaturates) {
    for (std::int64_t value :
         {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{999'999'999},
          std::int64_t{-1'000'000'001}, INT64_MAX, INT64_MIN}) {
        EXPECT_EQ(timespec_to_ns(ns_to_timespec(nanoseconds(value))), nanoseconds(value)) << value;
    }
    timespec huge{};
    huge.tv_sec = std::numeric_limits<time_t>::max();
    EXPECT_EQ(timespec_to_ns(huge), nanoseconds::max());
    huge.tv_sec = std::numeric_limits<time_t>::min();
    EXPECT_EQ(timespec_to_ns(huge), nanoseconds::min());
}

TEST(TimespecToSeconds, ComputedAsCPythonDoes) {
    timespec ts{};
    ts.tv_sec = 0;
    ts.tv_nsec = 300'000'000;
    // sec + nsec * 1e-9, not nsec / 1e9: the two differ in the last bit for 0.3.
    EXPECT_EQ(timespec_to_seconds(ts), 0.30000000000000004);
    ts.tv_sec = 9219999999;
    ts.tv_nsec = 999'983'000;
    EXPECT_EQ(timespec_to_seconds(ts), 9219999999.0 + 999'983'000 * 1e-9);
}

TEST(ToNanoseconds, IntegerUnitsConvertExactly) {
    using namespace std::chrono_literals;
    EXPECT_EQ(to_nanoseconds(1s), nanoseconds(1'000'000'000));
    EXPECT_EQ(to_nanoseconds(-3ms), nanoseconds(-3'000'000));
    EXPECT_EQ(to_nanoseconds(2h), nanoseconds(7'200'000'000'000));
    EXPECT_EQ(to_nanoseconds(std::chrono::duration<unsigned, std::micro>(5)), nanoseconds(5000));
}

TEST(ToNanoseconds, FinerUnitsRoundDown) {
    using picoseconds = std::chrono::duration<std::int64_t, std::pico>;
    EXPECT_EQ(to_nanoseconds(picoseconds(1999)), nanoseconds(1));
    EXPECT_EQ(to_nanoseconds(picoseconds(-1)), nanoseconds(-1));
    using thirds = std::chrono::duration<std::int64_t, std::ratio<1, 3>>;
    EXPECT_EQ(to_nanoseconds(thirds(1)), nanoseconds(333'333'333));
    EXPECT_EQ(to_nanoseconds(thirds(-1)), nanoseconds(-333'333'334));
}

TEST(ToNanoseconds, OverflowIsRejected) {
    EXPECT_FALSE(to_nanoseconds(std::chrono::hours(3'000'000)));
    EXPECT_FALSE(to_nanoseconds(std::chrono::seconds(INT64_MAX)));
    EXPECT_TRUE(to_nanoseconds(std::chrono::seconds(9'223'372'036)));
    EXPECT_FALSE(to_nanoseconds(std::chrono::seconds(9'223'372'037)));
    EXPECT_FALSE(to_nanoseconds(std::chrono::duration<std::uint64_t, std::nano>(UINT64_MAX)));
}

TEST(ToNanoseconds, FloatingPointFollowsTheSecondsRule) {
    EXPECT_EQ(to_nanoseconds(std::chrono::duration<double>(0.3)), seconds_to_ns(0.3));
    EXPECT_EQ(to_nanoseconds(std::chrono::duration<double, std::milli>(1.5)),
              nanoseconds(1'500'000));
    EXPECT_EQ(to_nanoseconds(std::chrono::duration<double, std::nano>(-0.5)), nanoseconds(-1));
    EXPECT_FALSE(to_nanoseconds(std::chrono::duration<double>(std::nan(""))));
    EXPECT_FALSE(to_nanoseconds(std::chrono::duration<float>(1e10f)));
}

TEST(FormatDuration, UsesTheLargestExactUnit) {
    EXPECT_EQ(format_duration(nanoseconds(0)), "0s");
    EXPECT_EQ(format_duration(nanoseconds(-1'000'000'000)), "-1s");
    EXPECT_EQ(format_duration(nanoseconds(1'500'000'000)), "1500ms");
    EXPECT_EQ(format_duration(nanoseconds(250'000'000)), "250ms");
    EXPECT_EQ(format_duration(nanoseconds(1'500)), "1500ns");
    EXPECT_EQ(format_duration(nanoseconds(2'000)), "2us");
    EXPECT_EQ(format_duration(nanoseconds(-7)), "-7ns");
}

}  // namespace
}  // namespace tfd

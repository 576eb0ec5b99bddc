// Unit tests of tfd-latency's pure parts: the period accounting, cyclictest's output format,
// and the command line.
#include <gtest/gtest.h>

#include "cyclictest_mode.hpp"
#include "mode.hpp"
#include "options.hpp"

namespace tfd::latency {
namespace {

using namespace std::chrono_literals;

TEST(PeriodsCovered, CountsEveryDeadlineStrictlyBeforeTheWakeUp) {
    EXPECT_EQ(periods_covered(-5ns, 1ms), 1u);  // early (never expected): still one period
    EXPECT_EQ(periods_covered(0ns, 1ms), 1u);
    EXPECT_EQ(periods_covered(999'999ns, 1ms), 1u);
    // A wake-up exactly one period late: the next deadline is "now", not missed.
    EXPECT_EQ(periods_covered(1ms, 1ms), 1u);
    EXPECT_EQ(periods_covered(1ms + 1ns, 1ms), 2u);
    EXPECT_EQ(periods_covered(5ms + 1ns, 1ms), 6u);
}

TEST(ModeStats, SamplesPlusOverrunsArePeriods) {
    mode_stats stats;
    stats.add(70us, 1);
    stats.add(3500us, 4);  // served one deadline, three more passed: overruns
    EXPECT_EQ(stats.samples(), 2u);
    EXPECT_EQ(stats.overruns, 3u);
    EXPECT_EQ(stats.periods, 5u);
    mode_stats other;
    other.add(10us, 1);
    other.cpu = 2us;
    stats.merge(other);
    EXPECT_EQ(stats.samples() + stats.overruns, stats.periods);
    EXPECT_EQ(stats.cpu, 2us);
}

TEST(CyclictestOutput, ParsesVerboseSampleLines) {
    EXPECT_EQ(parse_cyclictest_sample("       0:      12:   70123"), 70123ns);
    EXPECT_EQ(parse_cyclictest_sample("0:0:5"), 5ns);
    EXPECT_FALSE(parse_cyclictest_sample("Thread 0 Interval: 1500"));
    EXPECT_FALSE(parse_cyclictest_sample("T: 0 (16122) P: 0 I:1000 C:   1000 Min:  45543"));
    EXPECT_FALSE(parse_cyclictest_sample("# /dev/cpu_dma_latency set to 0us"));
    EXPECT_FALSE(parse_cyclictest_sample("       0:      12:   70123 extra"));
    EXPECT_FALSE(parse_cyclictest_sample(""));
}

TEST(Durations, UnitsAndBareMicroseconds) {
    EXPECT_EQ(parse_duration("1ms", "x"), 1ms);
    EXPECT_EQ(parse_duration("250us", "x"), 250us);
    EXPECT_EQ(parse_duration("250", "x"), 250us);  // as cyclictest's -i
    EXPECT_EQ(parse_duration("1.5ms", "x"), 1500us);
    EXPECT_EQ(parse_duration("500ns", "x"), 500ns);
    EXPECT_EQ(parse_duration("2s", "x"), 2s);
    for (const char* bad : {"", "0", "-1ms", "1h", "ms", "1e3us", "0.1ns", "2 ms", "7200s"}) {
        EXPECT_THROW(parse_duration(bad, "--period"), usage_error) << bad;
    }
}

options parse(std::vector<std::string> args) {
    args.insert(args.begin(), "tfd-latency");
    std::vector<char*> argv;
    for (std::string& a : args) {
        argv.push_back(a.data());
    }
    return parse_options(static_cast<int>(argv.size()), argv.data());
}

TEST(CommandLine, OptionsAndTheirErrors) {
    options o = parse({"--period", "500us", "--count=200", "--clock", "boottime", "--cpu", "0,2-3",
                       "--priority", "80", "--modes", "timerfd,nanosleep", "--slack", "1ns"});
    EXPECT_EQ(o.period, 500us);
    EXPECT_EQ(o.count, 200u);
    EXPECT_EQ(o.clock, clock_id::boottime);
    EXPECT_EQ(o.cpus, (std::vector<int>{0, 2, 3}));
    EXPECT_EQ(o.priority, 80);
    EXPECT_EQ(o.modes, (std::vector<std::string>{"timerfd", "nanosleep"}));
    EXPECT_EQ(o.slack, 1ns);
    EXPECT_EQ(parse({"--period", "2ms", "--duration", "1s"}).count, 500u);
    EXPECT_THROW(parse({"--count", "5", "--duration", "1s"}), usage_error);
    EXPECT_THROW(parse({"--count", "0"}), usage_error);
    EXPECT_THROW(parse({"--priority", "100"}), usage_error);
    EXPECT_THROW(parse({"--clock", "sundial"}), usage_error);
    EXPECT_THROW(parse({"--cpu", "3-1"}), usage_error);
    EXPECT_THROW(parse({"--period"}), usage_error);
    EXPECT_THROW(parse({"--frobnicate"}), usage_error);
}

}  // namespace
}  // namespace tfd::latency

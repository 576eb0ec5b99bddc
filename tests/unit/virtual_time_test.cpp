// event_loop on virtual time (loop_options::virtual_time): instant and deterministic.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ostream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "support/watchdog.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/unique_fd.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

event_loop make_virtual(backend_kind kind = backend_kind::epoll) {
    return event_loop(kind, loop_options{.virtual_time = true});
}

TEST(VirtualTime, AnHourlyTimerStepsThroughADayAtItsDeadlines) {
    event_loop loop(backend_kind::epoll, loop_options{.virtual_time = true});
    ASSERT_TRUE(loop.virtual_time());
    const nanoseconds start = loop.now();
    std::vector<nanoseconds> seen;
    std::vector<std::uint64_t> overruns;
    timer_watcher hourly = loop.every(1h, [&](std::uint64_t missed) {
        seen.push_back(loop.now() - start);
        overruns.push_back(missed);
    });
    loop.run_for(24h);
    ASSERT_EQ(seen.size(), 24u);
    for (std::size_t i = 0; i < seen.size(); ++i) {
        EXPECT_EQ(seen[i], nanoseconds(1h) * static_cast<long>(i + 1));
        EXPECT_EQ(overruns[i], 0u);
    }
    EXPECT_EQ(loop.now() - start, nanoseconds(24h));
    EXPECT_EQ(hourly.deadline() - start, nanoseconds(25h));
}

TEST(VirtualTime, AdvanceByStepsRunsEachTickOnce) {
    event_loop loop = make_virtual();
    int ticks = 0;
    timer_watcher hourly = loop.every(1h, [&](std::uint64_t missed) {
        EXPECT_EQ(missed, 0u);
        ++ticks;
    });
    for (int hour = 1; hour <= 24; ++hour) {
        loop.advance(1h);
        EXPECT_EQ(ticks, hour);
    }
}

TEST(VirtualTime, NeverEarlyAndSeesItsDeadline) {
    event_loop loop = make_virtual();
    nanoseconds fired_at{-1};
    timer_watcher timer = loop.after(10s, [&](std::uint64_t) { fired_at = loop.now(); });
    const nanoseconds deadline = timer.deadline();
    loop.advance(10s - 1ns);
    EXPECT_EQ(fired_at, nanoseconds(-1));
    EXPECT_TRUE(timer.active());
    loop.advance(1ns);
    EXPECT_EQ(fired_at, deadline);
    EXPECT_FALSE(timer.active());
}

TEST(VirtualTime, RealTimeDoesNotLeakIn) {
    event_loop loop = make_virtual();
    bool fired = false;
    timer_watcher timer = loop.after(1ms, [&](std::uint64_t) { fired = true; });
    const nanoseconds before = loop.now();
    std::this_thread::sleep_for(5ms);
    loop.run_until_idle();
    EXPECT_FALSE(fired);
    EXPECT_EQ(loop.now(), before);
}

TEST(VirtualTime, EqualDeadlinesRunInStartOrderAfterEarlierOnes) {
    event_loop loop = make_virtual();
    std::vector<int> order;
    std::vector<timer_watcher> timers;
    for (int i = 0; i < 5; ++i) {
        timers.push_back(loop.after(2s, [&order, i](std::uint64_t) { order.push_back(i); }));
    }
    timers.push_back(loop.after(1s, [&order](std::uint64_t) { order.push_back(-1); }));
    loop.advance(5s);  // one jump: every timer is due in the same pass
    EXPECT_EQ(order, (std::vector<int>{-1, 0, 1, 2, 3, 4}));
}

TEST(VirtualTime, RunReturnsAfterJumpingToEachDeadline) {
    event_loop loop = make_virtual();
    const nanoseconds start = loop.now();
    std::vector<nanoseconds> seen;
    timer_watcher late = loop.after(5s, [&](std::uint64_t) { seen.push_back(loop.now() - start); });
    timer_watcher early =
        loop.after(2s, [&](std::uint64_t) { seen.push_back(loop.now() - start); });
    loop.run();
    EXPECT_EQ(seen, (std::vector<nanoseconds>{2s, 5s}));
    EXPECT_EQ(loop.now() - start, nanoseconds(5s));
}

TEST(VirtualTime, CallbacksStartAndCancelTimersDuringAdvance) {
    event_loop loop = make_virtual();
    const nanoseconds start = loop.now();
    std::vector<std::string> log;
    timer_watcher cancelled;
    timer_watcher started;
    timer_watcher due_now;
    timer_watcher first = loop.after(1s, [&](std::uint64_t) {
        log.push_back("first");
        cancelled.stop();  // due in the same pass, so it must not run
        started = loop.after(500ms, [&](std::uint64_t) {
            log.push_back("started@" + std::to_string((loop.now() - start) / 1ms));
        });
        // Due at once, but armed during dispatch: runs in a later pass, after this pass's
        // posted work.
        due_now = loop.after(0ns, [&](std::uint64_t) { log.push_back("due_now"); });
        loop.post([&] { log.push_back("posted"); });
    });
    cancelled = loop.after(2s, [&](std::uint64_t) { log.push_back("cancelled"); });
    loop.advance(3s);
    EXPECT_EQ(log, (std::vector<std::string>{"first", "posted", "due_now"}));
    EXPECT_TRUE(started.active());  // 3 s + 500 ms: the callback ran at the jump's time
    loop.advance(499ms);
    EXPECT_EQ(log.size(), 3u);
    loop.advance(1ms);
    ASSERT_EQ(log.size(), 4u);
    EXPECT_EQ(log.back(), "started@3500");
}

TEST(VirtualTime, RestartAfterUsesTheVirtualClock) {
    event_loop loop = make_virtual();
    int fired = 0;
    timer_watcher timer = loop.after(1s, [&](std::uint64_t) { ++fired; });
    loop.advance(900ms);
    timer.restart_after(1s);
    EXPECT_EQ(timer.deadline(), loop.now() + nanoseconds(1s));
    loop.advance(999ms);
    EXPECT_EQ(fired, 0);
    loop.advance(1ms);
    EXPECT_EQ(fired, 1);
}

TEST(VirtualTime, EveryClockMovesTogether) {
    event_loop loop = make_virtual();
    const nanoseconds wall = loop.now(clock_id::realtime);
    const nanoseconds mono = loop.now(clock_id::monotonic);
    const nanoseconds boot = loop.now(clock_id::boottime);
    loop.advance(90min);
    EXPECT_EQ(loop.now(clock_id::realtime) - wall, nanoseconds(90min));
    EXPECT_EQ(loop.now(clock_id::monotonic) - mono, nanoseconds(90min));
    EXPECT_EQ(loop.now(clock_id::boottime) - boot, nanoseconds(90min));
    bool fired = false;
    timer_watcher wall_timer = loop.at(
        loop.now(clock_id::realtime) + 1s, [&](std::uint64_t) { fired = true; },
        clock_id::realtime);
    loop.run();
    EXPECT_TRUE(fired);
}

struct policy_case {
    missed_ticks policy;
    std::vector<std::uint64_t> overruns;  // one entry per call
    nanoseconds next;                     // the deadline after the jump, from the start
};

// Without this GoogleTest prints the case byte by byte, padding included, which valgrind
// reports as a use of uninitialised memory.
void PrintTo(const policy_case& c, std::ostream* out) {
    *out << "policy " << static_cast<int>(c.policy) << ", " << c.overruns.size() << " calls";
}

class VirtualTimePolicy : public ::testing::TestWithParam<policy_case> {};

TEST_P(VirtualTimePolicy, BigJumpsReportMissedPeriods) {
    event_loop loop = make_virtual();
    const nanoseconds start = loop.now();
    std::vector<std::uint64_t> overruns;
    timer_watcher hourly = loop.every(
        1h, [&](std::uint64_t missed) { overruns.push_back(missed); },
        periodic_options{.policy = GetParam().policy});
    loop.advance(10h + 30min);
    EXPECT_EQ(overruns, GetParam().overruns);
    EXPECT_EQ(hourly.deadline() - start, GetParam().next);
    EXPECT_EQ(loop.lateness().count(), overruns.size());
}

INSTANTIATE_TEST_SUITE_P(
    Policies, VirtualTimePolicy,
    ::testing::Values(policy_case{missed_ticks::skip, {9}, 11h},
                      policy_case{missed_ticks::burst, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, 11h},
                      policy_case{missed_ticks::delay, {9}, 11h + 30min}),
    [](const ::testing::TestParamInfo<policy_case>& info) {
        switch (info.param.policy) {
            case missed_ticks::skip:
                return std::string("skip");
            case missed_ticks::burst:
                return std::string("burst");
            case missed_ticks::delay:
                return std::string("delay");
        }
        return std::string("unknown");
    });

class VirtualTimeBackends : public ::testing::TestWithParam<backend_kind> {};

TEST_P(VirtualTimeBackends, ReadyDescriptorsRunBeforeAnyJump) {
    event_loop loop = make_virtual(GetParam());
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    unique_fd a(fds[0]);
    unique_fd b(fds[1]);
    std::vector<std::string> log;
    fd_watcher reader = loop.watch(a.get(), io_events::readable, [&](io_events) {
        char byte = 0;
        ASSERT_EQ(::read(a.get(), &byte, 1), 1);
        log.push_back("fd");
    });
    timer_watcher timer = loop.after(1h, [&](std::uint64_t) { log.push_back("timer"); });
    const nanoseconds before = loop.now();
    char byte = 'x';
    ASSERT_EQ(::write(b.get(), &byte, 1), 1);
    loop.run_once();
    EXPECT_EQ(log, (std::vector<std::string>{"fd"}));
    EXPECT_EQ(loop.now(), before);  // something was ready: no jump
    loop.run_once();
    EXPECT_EQ(log, (std::vector<std::string>{"fd", "timer"}));
    EXPECT_EQ(loop.now() - before, nanoseconds(1h));
}

TEST_P(VirtualTimeBackends, BlocksOnDescriptorsAndPostWhenNoTimerIsPending) {
    event_loop loop = make_virtual(GetParam());
    bool posted = false;
    const nanoseconds before = loop.now();
    std::thread poster([&loop, &posted] {
        std::this_thread::sleep_for(20ms);
        loop.post([&loop, &posted] {
            posted = true;
            loop.stop();
        });
    });
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    unique_fd a(fds[0]);
    unique_fd b(fds[1]);
    fd_watcher idle = loop.watch(a.get(), io_events::readable, [](io_events) {});
    loop.run();  // blocks: only a descriptor, no timer to jump to
    poster.join();
    EXPECT_TRUE(posted);
    EXPECT_EQ(loop.now(), before);
}

TEST_P(VirtualTimeBackends, RunForWaitsOutVirtualTimeWithNothingActive) {
    event_loop loop = make_virtual(GetParam());
    const nanoseconds before = loop.now();
    loop.run_for(1h);
    EXPECT_EQ(loop.now() - before, nanoseconds(1h));
}

INSTANTIATE_TEST_SUITE_P(AllBackends, VirtualTimeBackends,
                         ::testing::Values(backend_kind::epoll, backend_kind::poll,
                                           backend_kind::select),
                         [](const ::testing::TestParamInfo<backend_kind>& info) {
                             return std::string(to_string(info.param));
                         });

TEST(VirtualTime, AdvanceRefusesRealLoopsNegativeDeltasAndNesting) {
    event_loop real;
    EXPECT_FALSE(real.virtual_time());
    try {
        real.advance(1s);
        ADD_FAILURE() << "advance on a real-time loop";
    } catch (const std::system_error& error) {
        EXPECT_EQ(error.code(), std::errc::invalid_argument);
    }
    event_loop loop = make_virtual();
    EXPECT_THROW(loop.advance(-1ns), std::system_error);
    const nanoseconds before = loop.now();
    int nested_errno = 0;
    timer_watcher timer = loop.after(1s, [&](std::uint64_t) {
        try {
            loop.advance(1s);
        } catch (const std::system_error& error) {
            nested_errno = error.code().value();
        }
    });
    loop.advance(1s);
    EXPECT_EQ(nested_errno, EDEADLK);
    EXPECT_EQ(loop.now() - before, nanoseconds(1s));  // the refused advance did not move it
}

TEST(VirtualTime, RunUntilIdleRunsDueWorkWithoutMovingTheClock) {
    event_loop loop = make_virtual();
    int runs = 0;
    timer_watcher past = loop.after(-1s, [&](std::uint64_t) { ++runs; });
    timer_watcher future = loop.after(1s, [&](std::uint64_t) { ++runs; });
    loop.post([&] { ++runs; });
    const nanoseconds before = loop.now();
    loop.run_until_idle();
    EXPECT_EQ(runs, 2);
    EXPECT_EQ(loop.now(), before);
    EXPECT_TRUE(future.active());
}

// advance(nanoseconds::max()) moves the clock to the last representable instant; a periodic
// timer's next tick lies past it, so the timer runs once more and ends instead of falling due
// again forever.
class VirtualTimeEndOfTime : public ::testing::TestWithParam<missed_ticks> {};
INSTANTIATE_TEST_SUITE_P(Policies, VirtualTimeEndOfTime,
                         ::testing::Values(missed_ticks::skip, missed_ticks::burst,
                                           missed_ticks::delay));

TEST_P(VirtualTimeEndOfTime, AdvanceToTheEndReturnsWithAPeriodicTimerPending) {
    test::watchdog dog(30s);
    event_loop loop = make_virtual();
    // Long enough that burst, which runs every missed period, needs only a few passes.
    const auto period = std::chrono::hours(24 * 365 * 40);
    int runs = 0;
    timer_watcher tick = loop.every(
        period, [&](std::uint64_t) { ++runs; }, periodic_options{.policy = GetParam()});
    // Burst would run every missed hour, one per pass, by design: only the others get one.
    timer_watcher hourly;
    if (GetParam() != missed_ticks::burst) {
        hourly = loop.every(
            1h, [](std::uint64_t) {}, periodic_options{.policy = GetParam()});
    }
    loop.advance(nanoseconds::max());
    EXPECT_EQ(loop.now(), nanoseconds::max());
    EXPECT_GE(runs, 1);
    EXPECT_FALSE(tick.active());
    EXPECT_FALSE(hourly.active());
    EXPECT_EQ(loop.active_watchers(), 0u);
    loop.advance(1s);  // still the end: nothing runs, nothing hangs
    loop.run();        // nothing left: returns at once
}

// A stop() from a callback that advance(), run_until_idle() or run_once() ran belongs to that
// call: the next run() still runs.
TEST(VirtualTime, AStopDuringAdvanceDoesNotEndTheNextRun) {
    event_loop loop = make_virtual();
    timer_watcher stopper = loop.after(2500ms, [&] { loop.stop(); });
    loop.advance(3s);
    int ticks = 0;
    timer_watcher later = loop.after(5s, [&] { ++ticks; });
    loop.run();
    EXPECT_EQ(ticks, 1);
}

TEST(VirtualTime, AStopDuringRunUntilIdleOrRunOnceDoesNotEndTheNextRun) {
    event_loop loop = make_virtual();
    loop.post([&] { loop.stop(); });
    loop.run_until_idle();
    timer_watcher stopper = loop.after(1s, [&] { loop.stop(); });
    loop.run_once();
    int ticks = 0;
    timer_watcher later = loop.after(5s, [&] { ++ticks; });
    loop.run();
    EXPECT_EQ(ticks, 1);
}

// A stop() with nothing running still ends the next run() at its first check.
TEST(VirtualTime, AStopWithNothingRunningEndsTheNextRun) {
    event_loop loop = make_virtual();
    int ticks = 0;
    timer_watcher later = loop.after(5s, [&] { ++ticks; });
    loop.stop();
    loop.run();
    EXPECT_EQ(ticks, 0);
    loop.run();
    EXPECT_EQ(ticks, 1);
}

// Every time the loop takes rounds up (a timer never fires before the time given) and
// saturates past the 64-bit range (never; run_for and advance to the end of time).
TEST(VirtualTime, TimesRoundUpAndSaturateEverywhere) {
    event_loop loop = make_virtual();
    const nanoseconds start = loop.now();
    using half_ns = std::chrono::duration<double, std::nano>;
    timer_watcher once = loop.after(half_ns(1.5), [] {});
    EXPECT_EQ(once.deadline(), start + 2ns);
    once.restart_after(half_ns(0.25));
    EXPECT_EQ(once.deadline(), start + 1ns);
    std::uint64_t ticks = 0;
    timer_watcher tick = loop.every(half_ns(0.5), [&](std::uint64_t) { ++ticks; });
    EXPECT_EQ(tick.deadline(), start + 1ns);  // a 1 ns period, not a refused 0
    tick.reset();
    timer_watcher never = loop.after(std::chrono::hours::max(), [] { FAIL() << "fired"; });
    EXPECT_EQ(never.deadline(), nanoseconds::max());
    timer_watcher past = loop.after(std::chrono::hours::min(), [] {});
    EXPECT_EQ(past.deadline(), start + nanoseconds::min());  // due at once
    loop.run_for(std::chrono::hours(1));
    EXPECT_EQ(loop.now(), start + std::chrono::hours(1));
    EXPECT_TRUE(never.active());
    EXPECT_THROW(loop.after(std::chrono::duration<double>(std::nan("")), [] {}), std::system_error);
    never.stop();
    loop.advance(std::chrono::hours::max());  // the end of time, like nanoseconds::max()
    EXPECT_EQ(loop.now(), nanoseconds::max());
}

// A periodic callback may ignore the overrun count, as a one-shot one may.
TEST(VirtualTime, APeriodicCallbackMayTakeNoArgument) {
    event_loop loop = make_virtual();
    int ticks = 0;
    timer_watcher tick = loop.every(1s, [&] { ++ticks; });
    timer_watcher from = loop.every_from(loop.now() + 500ms, 1s, [&] { ++ticks; });
    loop.run_for(std::chrono::milliseconds(3200));
    EXPECT_EQ(ticks, 6);  // 1, 2, 3 s and 0.5, 1.5, 2.5 s
}

}  // namespace
}  // namespace tfd

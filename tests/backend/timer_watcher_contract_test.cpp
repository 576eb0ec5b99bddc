// Contract: timers, the same on every backend.
#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "backend/contract.hpp"
#include "support/fd_utils.hpp"
#include "sys/sys.hpp"

namespace tfd::test {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

class TimerContract : public loop_contract {};
TFD_ALL_BACKENDS(TimerContract);

TEST_P(TimerContract, OneShotNeverFiresEarly) {
    for (clock_id clock : {clock_id::monotonic, clock_id::realtime, clock_id::boottime}) {
        nanoseconds deadline{0};
        nanoseconds fired_at{0};
        int calls = 0;
        timer_watcher t = loop.after(
            15ms,
            [&](std::uint64_t overruns) {
                ++calls;
                fired_at = loop.now(clock);
                EXPECT_EQ(overruns, 0u);
            },
            clock);
        deadline = t.deadline();
        loop.run();
        EXPECT_EQ(calls, 1) << to_string(clock);
        EXPECT_GE(fired_at, deadline) << to_string(clock);
        EXPECT_LT(fired_at - deadline, 1s) << to_string(clock);
        EXPECT_FALSE(t.active());
    }
}

TEST_P(TimerContract, AtTimePointsOfChronoClocks) {
    int calls = 0;
    auto steady_deadline = std::chrono::steady_clock::now() + 10ms;
    auto system_deadline = std::chrono::system_clock::now() + 10ms;
    timer_watcher a = loop.at(steady_deadline, [&](std::uint64_t) {
        ++calls;
        EXPECT_GE(std::chrono::steady_clock::now(), steady_deadline);
    });
    timer_watcher b = loop.at(system_deadline, [&](std::uint64_t) {
        ++calls;
        EXPECT_GE(std::chrono::system_clock::now(), system_deadline);
    });
    EXPECT_EQ(b.clock(), clock_id::realtime);
    loop.run();
    EXPECT_EQ(calls, 2);
}

TEST_P(TimerContract, DeadlinesInThePastAndAtZeroAreDueNow) {
    int calls = 0;
    timer_watcher zero = loop.at(
        0ns, [&](std::uint64_t) { ++calls; }, clock_id::monotonic);
    timer_watcher negative = loop.at(
        -5s, [&](std::uint64_t) { ++calls; }, clock_id::monotonic);
    timer_watcher late = loop.after(-1s, [&](std::uint64_t) { ++calls; });
    loop.run_once();
    EXPECT_EQ(calls, 3);
}

TEST_P(TimerContract, EqualDeadlinesFireInStartOrder) {
    std::vector<int> order;
    nanoseconds deadline = loop.now() + 10ms;
    std::vector<timer_watcher> timers;
    for (int i : {3, 1, 4, 0, 2}) {
        timers.push_back(loop.at(
            deadline, [&order, i](std::uint64_t) { order.push_back(i); }, clock_id::monotonic));
    }
    loop.run();
    EXPECT_EQ(order, (std::vector<int>{3, 1, 4, 0, 2}));
}

TEST_P(TimerContract, PeriodicStaysAnchoredAndReportsOverruns) {
    constexpr nanoseconds period = 10ms;
    std::vector<std::uint64_t> overruns;
    std::vector<nanoseconds> deadlines;
    timer_watcher t;
    nanoseconds first = loop.now() + period;
    t = loop.every_from(first, period, [&](std::uint64_t missed) {
        overruns.push_back(missed);
        if (overruns.size() == 1) {
            std::this_thread::sleep_for(35ms);  // miss about three periods
        }
        deadlines.push_back(t.deadline());
        if (overruns.size() == 3) {
            t.stop();
        }
    });
    loop.run();
    ASSERT_EQ(overruns.size(), 3u);
    EXPECT_GE(overruns[1], 2u) << "the 35 ms stall spans at least two whole periods";
    for (nanoseconds d : deadlines) {
        EXPECT_EQ((d - first) % period, 0ns) << "the schedule drifted";
    }
}

TEST_P(TimerContract, BurstPolicyRunsEveryMissedTick) {
    constexpr nanoseconds period = 5ms;
    std::vector<nanoseconds> next_deadlines;
    std::vector<std::uint64_t> overruns;
    timer_watcher t;
    t = loop.every(period,
                   [&](std::uint64_t missed) {
                       overruns.push_back(missed);
                       next_deadlines.push_back(t.deadline());
                       if (overruns.size() == 1) {
                           std::this_thread::sleep_for(30ms);  // about six ticks fall due meanwhile
                       }
                       if (overruns.size() == 8) {
                           t.stop();
                       }
                   },
                   {clock_id::monotonic, missed_ticks::burst});
    loop.run();
    ASSERT_EQ(overruns.size(), 8u);
    EXPECT_GE(overruns[1], 1u) << "the first late call reports how far behind it is";
    for (std::size_t i = 1; i < next_deadlines.size(); ++i) {
        // Every scheduled tick gets its own call: no deadline is skipped.
        EXPECT_EQ(next_deadlines[i] - next_deadlines[i - 1], period) << "call " << i;
    }
}

TEST_P(TimerContract, DelayPolicyRestartsOnePeriodAfterTheLateTick) {
    constexpr nanoseconds period = 10ms;
    int calls = 0;
    nanoseconds second_deadline{0};
    nanoseconds third_deadline{0};
    nanoseconds second_called_at{0};
    timer_watcher t;
    t = loop.every(period,
                   [&](std::uint64_t missed) {
                       if (++calls == 1) {
                           second_deadline = t.deadline();
                           std::this_thread::sleep_for(25ms);  // the second tick is >= 15 ms late
                           return;
                       }
                       EXPECT_GE(missed, 1u);
                       second_called_at = loop.now();
                       third_deadline = t.deadline();
                       t.stop();
                   },
                   {clock_id::monotonic, missed_ticks::delay});
    loop.run();
    ASSERT_EQ(calls, 2);
    // Re-anchored on the moment the late tick was handled: more than one period after the
    // missed deadline (skip would have kept to the grid), at most one after the call.
    EXPECT_GE(third_deadline - second_deadline, 25ms);
    EXPECT_LE(third_deadline, second_called_at + period);
}

TEST_P(TimerContract, TimerArmedDuringDispatchDoesNotRunInThatPass) {
    int inner = 0;
    timer_watcher second;
    timer_watcher first = loop.after(0ns, [&](std::uint64_t) {
        second = loop.after(-1s, [&](std::uint64_t) { ++inner; });  // already due
    });
    loop.run_once();
    EXPECT_FALSE(first.active());
    EXPECT_EQ(inner, 0);
    EXPECT_TRUE(second.active());
    loop.run_once();
    EXPECT_EQ(inner, 1);
}

TEST_P(TimerContract, DueTimerStoppedByAnEarlierCallbackDoesNotRun) {
    std::vector<int> ran;
    nanoseconds deadline = loop.now() + 5ms;
    timer_watcher b;
    timer_watcher a = loop.at(
        deadline,
        [&](std::uint64_t) {
            ran.push_back(1);
            b.reset();  // collected as due, not run yet: freed and dropped
        },
        clock_id::monotonic);
    b = loop.at(
        deadline, [&](std::uint64_t) { ran.push_back(2); }, clock_id::monotonic);
    loop.run();
    EXPECT_EQ(ran, std::vector<int>{1});
}

TEST_P(TimerContract, CallbackMayResetItsOwnHandleAndRestartOthers) {
    int calls = 0;
    timer_watcher t;
    timer_watcher later = loop.after(1h, [&](std::uint64_t) { calls += 100; });
    t = loop.every(1ms, [&](std::uint64_t) {
        ++calls;
        later.restart_after(1ms);
        t.reset();
    });
    loop.run();
    EXPECT_EQ(calls, 101);
    EXPECT_FALSE(t);
}

TEST_P(TimerContract, RestartMovesTheDeadline) {
    int calls = 0;
    timer_watcher t = loop.after(1h, [&](std::uint64_t) { ++calls; });
    t.restart_after(5ms);
    loop.run();
    EXPECT_EQ(calls, 1);
    t.restart_at(loop.now() + 1ms);
    EXPECT_TRUE(t.active());
    loop.run();
    EXPECT_EQ(calls, 2);
}

// Counts timerfd_settime calls without changing them.
std::atomic<int> settime_calls{0};
bool count_settime(sys::call which, long&) noexcept {
    if (which == sys::call::timerfd_settime) {
        settime_calls.fetch_add(1);
    }
    return false;
}

TEST_P(TimerContract, OneTimerFdPerClockReArmedOnlyWhenTheEarliestDeadlineChanges) {
    int base = open_fd_count();
    sys::fault_hook previous = sys::set_fault_hook(&count_settime);
    settime_calls = 0;
    std::vector<timer_watcher> timers;
    timers.push_back(loop.after(1h, [](std::uint64_t) {}));
    EXPECT_EQ(open_fd_count(), base + 1) << "one timer_fd for the monotonic clock";
    loop.run_for(1ms);
    EXPECT_EQ(settime_calls.load(), 1);
    for (int i = 0; i < 50; ++i) {
        timers.push_back(loop.after(2h + i * 1s, [](std::uint64_t) {}));
    }
    loop.run_for(1ms);
    EXPECT_EQ(settime_calls.load(), 1) << "later deadlines must not re-arm";
    EXPECT_EQ(open_fd_count(), base + 1);
    timers.push_back(loop.after(30min, [](std::uint64_t) {}));
    loop.run_for(1ms);
    EXPECT_EQ(settime_calls.load(), 2) << "an earlier deadline re-arms once";
    timers.push_back(loop.after(
        3h, [](std::uint64_t) {}, clock_id::boottime));
    EXPECT_EQ(open_fd_count(), base + 2) << "a second clock gets its own timer_fd";
    sys::set_fault_hook(previous);
}

TEST_P(TimerContract, PeriodMustBePositive) {
    EXPECT_THROW((void)loop.every(0ns, [](std::uint64_t) {}), std::system_error);
    EXPECT_THROW((void)loop.every(-1ms, [](std::uint64_t) {}), std::system_error);
}

}  // namespace
}  // namespace tfd::test

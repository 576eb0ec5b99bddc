#include "tfd/sleep.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "tfd/task.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;

loop_options virtual_time() {
    return loop_options{.virtual_time = true};
}

TEST(CoroSleep, NeverEndsEarlyOnTheRealClock) {
    event_loop loop;
    std::vector<std::chrono::nanoseconds> lateness;
    loop.spawn([](event_loop& l, std::vector<std::chrono::nanoseconds>& out) -> task<> {
        for (std::chrono::nanoseconds d : {1ns, 999000ns, 2000000ns, 1500000ns}) {
            auto before = std::chrono::steady_clock::now();
            co_await sleep_for(l, d);
            out.push_back(std::chrono::steady_clock::now() - before - d);
        }
    }(loop, lateness));
    loop.run();
    ASSERT_EQ(lateness.size(), 4u);
    for (auto late : lateness) {
        EXPECT_GE(late.count(), 0);
    }
}

TEST(CoroSleep, AFractionalDurationIsRoundedUp) {
    event_loop loop(backend_kind::epoll, virtual_time());
    std::chrono::nanoseconds start = loop.now();
    std::chrono::nanoseconds woke{};
    loop.spawn([](event_loop& l, std::chrono::nanoseconds& out) -> task<> {
        co_await sleep_for(l, std::chrono::duration<double, std::micro>(1.0001));
        out = l.now();
    }(loop, woke));
    loop.run();
    EXPECT_EQ(woke - start, 1001ns);  // 1000.1 ns rounds up, never down
}

TEST(CoroSleep, VirtualTimeIsInstantAndOrdered) {
    event_loop loop(backend_kind::epoll, virtual_time());
    std::chrono::nanoseconds start = loop.now();
    std::vector<int> order;
    for (int i : {3, 1, 2, 1}) {
        loop.spawn([](event_loop& l, int id, std::vector<int>& out) -> task<> {
            co_await sleep_for(l, id * 1h);
            out.push_back(id);
        }(loop, i, order));
    }
    auto wall = std::chrono::steady_clock::now();
    loop.run();
    EXPECT_LT(std::chrono::steady_clock::now() - wall, 5s);
    EXPECT_EQ(order, (std::vector<int>{1, 1, 2, 3}));  // equal deadlines in start order
    EXPECT_EQ(loop.now() - start, 3h);
}

TEST(CoroSleep, SleepUntilOnEachClock) {
    event_loop loop(backend_kind::epoll, virtual_time());
    std::vector<std::string> woke;
    loop.spawn([](event_loop& l, std::vector<std::string>& out) -> task<> {
        auto start = std::chrono::nanoseconds(l.now(clock_id::realtime));
        co_await sleep_until(
            l, std::chrono::system_clock::time_point(
                   std::chrono::duration_cast<std::chrono::system_clock::duration>(start + 2s)));
        out.push_back("system");
        co_await sleep_until(l, boottime_clock::time_point(l.now(clock_id::boottime) + 1s));
        out.push_back("boottime");
        co_await sleep_until(
            l, std::chrono::steady_clock::time_point(l.now(clock_id::monotonic) + 1s));
        out.push_back("steady");
        EXPECT_GE(l.now(clock_id::realtime), start + 4s);
    }(loop, woke));
    loop.run();
    EXPECT_EQ(woke, (std::vector<std::string>{"system", "boottime", "steady"}));
}

TEST(CoroSleep, APastDeadlineResumesInTheNextPass) {
    event_loop loop;
    int step = 0;
    loop.spawn([](event_loop& l, int& s) -> task<> {
        co_await sleep_for(l, -5s);
        s = 1;
        co_await sleep_until(l, std::chrono::steady_clock::time_point{});
        s = 2;
    }(loop, step));
    EXPECT_EQ(step, 0);  // a sleep always goes through the loop
    loop.run();
    EXPECT_EQ(step, 2);
}

TEST(CoroSleep, HugeDelaysSaturateInsteadOfWrapping) {
    event_loop loop(backend_kind::epoll, virtual_time());
    bool woke = false;
    loop.spawn([](event_loop& l, bool& w) -> task<> {
        co_await sleep_for(l, std::chrono::hours::max());
        w = true;
    }(loop, woke));
    loop.run_for(24h);
    EXPECT_FALSE(woke);
    EXPECT_EQ(loop.active_watchers(), 1u);
}

TEST(CoroSleep, NanIsRefusedByName) {
    event_loop loop;
    try {
        (void)sleep_for(loop,
                        std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN()));
        FAIL() << "expected EINVAL";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::invalid_argument);
        EXPECT_NE(std::string(e.what()).find("sleep_for: the time is NaN"), std::string::npos);
    }
}

task<> stoppable_sleep(event_loop& loop, std::stop_token token, std::string& outcome) {
    try {
        co_await sleep_for(loop, 1h, token);
        outcome = "slept";
    } catch (const operation_cancelled& e) {
        outcome = e.what();
        EXPECT_EQ(e.code(), std::errc::operation_canceled);
    }
}

TEST(CoroSleep, AStopRequestOnTheLoopThreadResumesInThePostedWorkPhase) {
    event_loop loop;
    std::stop_source source;
    std::string outcome;
    loop.spawn(stoppable_sleep(loop, source.get_token(), outcome));
    EXPECT_EQ(loop.active_watchers(), 1u);
    source.request_stop();
    EXPECT_EQ(outcome, "");  // never resumed inside request_stop()
    EXPECT_EQ(loop.active_watchers(), 1u);
    loop.run_until_idle();  // phase 6 of this pass delivers the stop, long before the hour
    EXPECT_EQ(outcome, "sleep: Operation canceled");
    EXPECT_EQ(loop.active_watchers(), 0u);
    EXPECT_EQ(loop.spawned(), 0u);
}

TEST(CoroSleep, AStopRequestedBeforeTheWaitEndsItWithoutSuspending) {
    event_loop loop;
    std::stop_source source;
    source.request_stop();
    std::string outcome;
    loop.spawn(stoppable_sleep(loop, source.get_token(), outcome));
    EXPECT_EQ(outcome, "sleep: Operation canceled");
    EXPECT_EQ(loop.active_watchers(), 0u);
}

TEST(CoroSleep, AStopFromAnotherThreadGoesThroughTheLoop) {
    event_loop loop;
    std::stop_source source;
    std::string outcome;
    loop.spawn(stoppable_sleep(loop, source.get_token(), outcome));
    std::thread other([&] {
        std::this_thread::sleep_for(20ms);
        source.request_stop();
    });
    auto before = std::chrono::steady_clock::now();
    loop.run();  // returns once the task ended, long before the hour
    other.join();
    EXPECT_EQ(outcome, "sleep: Operation canceled");
    EXPECT_LT(std::chrono::steady_clock::now() - before, 30s);
}

TEST(CoroSleep, ManyStopsFromAnotherThreadRaceTheTimers) {
    // Each sleeper either sleeps its 0-2 ms out or is stopped from the other thread; either
    // way every one ends exactly once and nothing is left registered.
    event_loop loop;
    constexpr int count = 200;
    std::vector<std::stop_source> sources(count);
    std::vector<std::string> outcomes(count);
    for (int i = 0; i < count; ++i) {
        loop.spawn([](event_loop& l, std::stop_token t, int i, std::string& out) -> task<> {
            try {
                co_await sleep_for(l, std::chrono::microseconds(i * 10), t);
                out = "slept";
            } catch (const operation_cancelled&) {
                out = "stopped";
            }
        }(loop, sources[i].get_token(), i, outcomes[i]));
    }
    std::thread other([&] {
        for (auto& s : sources) {
            s.request_stop();
        }
    });
    loop.run();
    other.join();
    loop.run();  // deliveries posted after the last task ended find nothing to do
    for (const auto& o : outcomes) {
        EXPECT_TRUE(o == "slept" || o == "stopped") << o;
    }
    EXPECT_EQ(loop.active_watchers(), 0u);
    EXPECT_EQ(loop.spawned(), 0u);
}

TEST(CoroSleep, AHundredThousandConcurrentSleepers) {
    event_loop loop(backend_kind::epoll, virtual_time());
    constexpr int count = 100000;
    int woke = 0;
    std::chrono::nanoseconds last{};
    for (int i = 0; i < count; ++i) {
        loop.spawn([](event_loop& l, int i, int& w, std::chrono::nanoseconds& at) -> task<> {
            co_await sleep_for(l, std::chrono::seconds(1 + i % 100));
            ++w;
            at = l.now();
        }(loop, i, woke, last));
    }
    EXPECT_EQ(loop.spawned(), static_cast<std::size_t>(count));
    EXPECT_EQ(loop.active_watchers(), static_cast<std::size_t>(count));
    loop.run();
    EXPECT_EQ(woke, count);
    EXPECT_EQ(loop.spawned(), 0u);
}

}  // namespace
}  // namespace tfd

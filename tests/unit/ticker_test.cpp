#include "tfd/ticker.hpp"

#include <gtest/gtest.h>

#include <stop_token>
#include <string>
#include <vector>

#include "tfd/task.hpp"
#include "tfd/with_timeout.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;

loop_options virtual_time() {
    return loop_options{.virtual_time = true};
}

TEST(CoroTicker, TicksOnScheduleAndCountsMissedPeriods) {
    event_loop loop(backend_kind::epoll, virtual_time());
    std::chrono::nanoseconds start = loop.now();
    std::vector<std::uint64_t> overruns;
    std::vector<std::chrono::nanoseconds> at;
    loop.spawn([](event_loop& l, auto& counts, auto& times) -> task<> {
        ticker tick(l, 100ms);
        for (int i = 0; i < 4; ++i) {
            counts.push_back(co_await tick.next());
            times.push_back(l.now());
            if (i == 1) {
                co_await sleep_for(l, 350ms);  // busy for 3.5 periods
            }
        }
    }(loop, overruns, at));
    loop.run();
    ASSERT_EQ(overruns.size(), 4u);
    EXPECT_EQ(overruns[0], 0u);
    EXPECT_EQ(overruns[1], 0u);
    // Busy from 200 to 550 ms: ticks at 300, 400, 500 came meanwhile; the next next()
    // returns at once at 550 and reports the two periods beyond the one it stands for.
    EXPECT_EQ(overruns[2], 2u);
    EXPECT_EQ(at[2] - start, 550ms);
    EXPECT_EQ(overruns[3], 0u);
    EXPECT_EQ(at[3] - start, 600ms);  // the schedule stayed anchored
    EXPECT_EQ(loop.active_watchers(), 0u);
}

TEST(CoroTicker, StopEndsAPendingWaitAndLaterOnes) {
    event_loop loop(backend_kind::epoll, virtual_time());
    std::vector<std::string> outcomes;
    ticker tick(loop, 1s);
    loop.spawn([](ticker& t, std::vector<std::string>& out) -> task<> {
        for (int i = 0; i < 2; ++i) {
            try {
                co_await t.next();
                out.push_back("tick");
            } catch (const operation_cancelled& e) {
                out.push_back(e.what());
            }
        }
    }(tick, outcomes));
    tick.stop();
    EXPECT_EQ(outcomes, (std::vector<std::string>{"ticker::next: Operation canceled",
                                                  "ticker::next: Operation canceled"}));
}

TEST(CoroTicker, AStopTokenEndsTheWait) {
    event_loop loop;
    std::stop_source source;
    std::string outcome;
    loop.spawn([](event_loop& l, std::stop_token token, std::string& out) -> task<> {
        ticker tick(l, 1h);
        try {
            co_await tick.next(token);
        } catch (const operation_cancelled& e) {
            out = e.what();
        }
    }(loop, source.get_token(), outcome));
    source.request_stop();
    EXPECT_EQ(outcome, "");  // never resumed inside request_stop()
    loop.run_until_idle();   // phase 6 delivers the stop
    EXPECT_EQ(outcome, "ticker::next: Operation canceled");
    EXPECT_EQ(loop.active_watchers(), 0u);
}

TEST(CoroTicker, WithTimeoutCancelsTheWaitButNotTheSchedule) {
    event_loop loop(backend_kind::epoll, virtual_time());
    std::vector<bool> results;
    loop.spawn([](event_loop& l, std::vector<bool>& out) -> task<> {
        ticker tick(l, 1s);
        out.push_back((co_await with_timeout(l, tick.next(), 500ms)).has_value());
        out.push_back((co_await with_timeout(l, tick.next(), 800ms)).has_value());
    }(loop, results));
    loop.run();
    EXPECT_EQ(results, (std::vector<bool>{false, true}));
}

TEST(CoroTicker, OneWaiterAtATimeAndPositivePeriods) {
    event_loop loop;
    ticker tick(loop, 1h);
    int code = 0;
    loop.spawn([](ticker& t) -> task<> { co_await t.next(); }(tick));
    loop.spawn([](ticker& t, int& c) -> task<> {
        try {
            co_await t.next();
        } catch (const std::system_error& e) {
            c = e.code().value();
        }
    }(tick, code));
    EXPECT_EQ(code, EBUSY);
    tick.stop();
    EXPECT_THROW(ticker(loop, 0s), std::system_error);
}

// The message names the ticker, which the user made, not the loop's every() underneath.
TEST(CoroTicker, ANonPositivePeriodIsRefusedInTheTickersName) {
    event_loop loop;
    for (auto period : {std::chrono::nanoseconds(0), std::chrono::nanoseconds(-5)}) {
        try {
            ticker t(loop, period);
            ADD_FAILURE() << "a ticker accepted period " << period.count() << "ns";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::errc::invalid_argument);
            EXPECT_EQ(std::string(e.what()).rfind("ticker: period=", 0), 0u) << e.what();
            EXPECT_NE(std::string(e.what()).find("must be positive"), std::string::npos)
                << e.what();
        }
    }
    EXPECT_EQ(loop.active_watchers(), 0u);
}

}  // namespace
}  // namespace tfd

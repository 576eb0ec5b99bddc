#include "tfd/timer_slack.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <cerrno>
#include <thread>

#include "support/fault_injection.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

// Slack only applies to normal threads: a realtime one always reads zero.
bool realtime_thread() {
    int policy = ::sched_getscheduler(0);
    return policy == SCHED_FIFO || policy == SCHED_RR;
}

TEST(TimerSlack, SetThenGetRoundTrips) {
    if (realtime_thread()) {
        GTEST_SKIP() << "a realtime thread has no timer slack";
    }
    nanoseconds before = timer_slack();
    EXPECT_GT(before, 0ns);
    set_timer_slack(1234ns);
    EXPECT_EQ(timer_slack(), 1234ns);
    set_timer_slack(1ns);
    EXPECT_EQ(timer_slack(), 1ns);
    set_timer_slack(before);
    EXPECT_EQ(timer_slack(), before);
}

TEST(TimerSlack, ZeroRestoresTheThreadDefault) {
    if (realtime_thread()) {
        GTEST_SKIP() << "a realtime thread has no timer slack";
    }
    // A new thread's default is what it inherited; measure it in one so this test does not
    // depend on the slack the test runner's main thread happens to have.
    std::thread worker([] {
        nanoseconds inherited = timer_slack();
        set_timer_slack(777ns);
        EXPECT_EQ(timer_slack(), 777ns);
        set_timer_slack(0ns);
        EXPECT_EQ(timer_slack(), inherited);
    });
    worker.join();
}

TEST(TimerSlack, IsPerThreadAndInherited) {
    if (realtime_thread()) {
        GTEST_SKIP() << "a realtime thread has no timer slack";
    }
    nanoseconds before = timer_slack();
    set_timer_slack(4321ns);
    nanoseconds seen_by_child{};
    std::thread child([&] {
        seen_by_child = timer_slack();
        set_timer_slack(99ns);  // must not leak back into the parent
    });
    child.join();
    EXPECT_EQ(seen_by_child, 4321ns);
    EXPECT_EQ(timer_slack(), 4321ns);
    set_timer_slack(before);
}

TEST(TimerSlack, LargeValuesAreNotTruncated) {
    if (realtime_thread()) {
        GTEST_SKIP() << "a realtime thread has no timer slack";
    }
    // Above 2^31 ns glibc's int-returning prctl() would mangle the value.
    nanoseconds before = timer_slack();
    set_timer_slack(5s);
    EXPECT_EQ(timer_slack(), 5s);
    set_timer_slack(before);
}

TEST(TimerSlack, NegativeIsRefusedWithTheValue) {
    nanoseconds before = timer_slack();
    try {
        set_timer_slack(-5us);
        ADD_FAILURE() << "expected std::system_error";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), EINVAL);
        EXPECT_STREQ(e.what(), "set_timer_slack: slack=-5us: Invalid argument");
    }
    std::error_code ec;
    set_timer_slack(-1ns, ec);
    EXPECT_EQ(ec, std::errc::invalid_argument);
    EXPECT_EQ(timer_slack(), before);
}

TEST(TimerSlack, KernelErrorsAreReported) {
    {
        test::scoped_fault fault(sys::call::prctl, -1, EPERM);
        std::error_code ec;
        set_timer_slack(10us, ec);
        EXPECT_EQ(ec, std::errc::operation_not_permitted);
    }
    {
        test::scoped_fault fault(sys::call::prctl, -1, EFAULT);
        try {
            (void)timer_slack();
            ADD_FAILURE() << "expected std::system_error";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code().value(), EFAULT);
            EXPECT_NE(std::string(e.what()).find("PR_GET_TIMERSLACK"), std::string::npos);
        }
    }
}

TEST(ScopedTimerSlack, RestoresThePreviousValue) {
    if (realtime_thread()) {
        GTEST_SKIP() << "a realtime thread has no timer slack";
    }
    nanoseconds before = timer_slack();
    {
        scoped_timer_slack scope(1ns);
        EXPECT_EQ(scope.previous(), before);
        EXPECT_EQ(timer_slack(), 1ns);
        {
            scoped_timer_slack inner(2ms);
            EXPECT_EQ(timer_slack(), 2ms);
        }
        EXPECT_EQ(timer_slack(), 1ns);
    }
    EXPECT_EQ(timer_slack(), before);
}

}  // namespace
}  // namespace tfd

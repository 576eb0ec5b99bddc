// Timed waits: with loop_options::timer_slack at most 100 ns, a monotonic deadline at most
// 100 us ahead is waited for with the backend's own timeout (epoll_pwait2, ppoll, pselect)
// instead of the timer_fd, so a wake-up costs the wait alone, no settime.  System calls are
// counted through the fault hook (rules with times = 0 count, never answer); every test also
// checks that no timer ran before its deadline.  Bounds on call counts are behaviour, not
// speed.
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "support/fault_injection.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/unique_fd.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;
using test::fault_plan;

constexpr int waits = 0;
constexpr int settimes = 1;

// Valgrind, and kernels before 5.11, have no epoll_pwait2: the epoll backend then waits in
// whole milliseconds, and the loop keeps to its timer_fd.
bool nanosecond_timeouts(backend_kind backend) {
    if (backend != backend_kind::epoll) {
        return true;  // ppoll and pselect take a timespec everywhere
    }
    unique_fd epfd(::epoll_create1(EPOLL_CLOEXEC));
    epoll_event event{};
    timespec zero{};
    return ::epoll_pwait2(epfd.get(), &event, 1, &zero, nullptr) >= 0 || errno != ENOSYS;
}

class LoopTimedWait : public ::testing::TestWithParam<backend_kind> {
  protected:
    void SetUp() override {
        if (!nanosecond_timeouts(GetParam())) {
            GTEST_SKIP() << "no epoll_pwait2 here (valgrind, or a kernel before 5.11)";
        }
    }
    [[nodiscard]] fault_plan count_calls() const {
        return fault_plan({{test::wait_call_of(GetParam()), -1, 0, 1, 0},
                           {sys::call::timerfd_settime, -1, 0, 1, 0}});
    }
    [[nodiscard]] event_loop timed_loop() const {
        return event_loop(GetParam(), loop_options{.timer_slack = 1ns});
    }
};

// A one-shot timer restarted from its own callback 50 us ahead, 40 times: the timer_fd is
// never set, and each wake-up is one wait.
TEST_P(LoopTimedWait, ShortWaitsUseTheWaitsOwnTimeout) {
    event_loop loop = timed_loop();
    int runs = 0;
    int early = 0;
    timer_watcher chain;
    chain = loop.after(50us, [&] {
        if (clock_now(clock_id::monotonic) < chain.deadline()) {
            ++early;
        }
        if (++runs < 40) {
            chain.restart_after(50us);
        }
    });
    fault_plan counts = count_calls();
    loop.run();
    EXPECT_EQ(runs, 40);
    EXPECT_EQ(early, 0);
    EXPECT_EQ(loop.lateness().negatives(), 0u);
    EXPECT_EQ(counts.calls(settimes), 0);
    EXPECT_LE(counts.calls(waits), runs + 1);
}

// Without the option (the thread's slack is not known to be small) the timer_fd is armed
// for every deadline, as before.
TEST_P(LoopTimedWait, TheDefaultArmsTheTimerFd) {
    event_loop loop(GetParam());
    int runs = 0;
    timer_watcher chain;
    chain = loop.after(90us, [&] {
        if (++runs < 10) {
            chain.restart_after(90us);
        }
    });
    fault_plan counts = count_calls();
    loop.run();
    EXPECT_EQ(runs, 10);
    // One settime per deadline, but a deadline found less than spin_below ahead (a slow
    // machine: valgrind) is spun for instead: at least a few.
    EXPECT_GE(counts.calls(settimes), 3);
}

// A deadline farther than 100 us is armed on the timer_fd; when it has fired (the timer_fd
// is left readable) and the next deadline is close, one disarm quiets the timer_fd, and the
// short waits after it cost no settime.
TEST_P(LoopTimedWait, AFiredTimerFdIsDisarmedOnceThenShortWaitsAreTimed) {
    event_loop loop = timed_loop();
    int runs = 0;
    int early = 0;
    timer_watcher chain;
    chain = loop.after(5ms, [&] {
        if (clock_now(clock_id::monotonic) < chain.deadline()) {
            ++early;
        }
        if (++runs < 20) {
            chain.restart_after(40us);
        }
    });
    fault_plan counts = count_calls();
    loop.run();
    EXPECT_EQ(runs, 20);
    EXPECT_EQ(early, 0);
    EXPECT_LE(counts.calls(settimes), 2);  // the arm for 5 ms, the disarm after it fired
    EXPECT_GE(counts.calls(settimes), 1);
}

// The timer_fd armed for a later time than a close deadline is left as it is: it cannot
// wake the loop early.
TEST_P(LoopTimedWait, ATimerFdArmedLaterIsLeftAlone) {
    event_loop loop = timed_loop();
    timer_watcher far = loop.after(1s, [] {});
    {
        fault_plan counts = count_calls();
        loop.run_until_idle();  // a pass: arms the timer_fd for 1 s
        ASSERT_EQ(counts.calls(settimes), 1);
    }
    far.stop();
    bool ran = false;
    nanoseconds ran_at{};
    timer_watcher near = loop.after(90us, [&] {
        ran = true;
        ran_at = clock_now(clock_id::monotonic);
    });
    fault_plan counts = count_calls();
    loop.run_once();
    EXPECT_TRUE(ran);
    EXPECT_GE(ran_at, near.deadline());
    EXPECT_EQ(counts.calls(settimes), 0);
}

// The timer_fd armed for an earlier time than a close deadline (its timer stopped) would
// wake the loop before it: it is re-armed for the deadline, as without timed waits, so the
// one pass that follows runs the timer.  (Left as it was, the expired timer_fd would end
// that pass at once, before the deadline.)  On a slow machine the deadline may be reached
// before the pass arms anything: then it is collected without a settime.
TEST_P(LoopTimedWait, ATimerFdArmedEarlierIsReArmed) {
    event_loop loop = timed_loop();
    timer_watcher first = loop.after(10ms, [] {});
    {
        fault_plan counts = count_calls();
        loop.run_until_idle();  // a pass: arms the timer_fd for 10 ms
        ASSERT_EQ(counts.calls(settimes), 1);
    }
    first.stop();
    std::this_thread::sleep_for(20ms);  // the 10 ms setting is now in the past
    bool ran = false;
    nanoseconds ran_at{};
    timer_watcher later = loop.after(90us, [&] {
        ran = true;
        ran_at = clock_now(clock_id::monotonic);
    });
    fault_plan counts = count_calls();
    loop.run_once();
    EXPECT_TRUE(ran);
    EXPECT_GE(ran_at, later.deadline());
    EXPECT_LE(counts.calls(settimes), 1);
}

// A descriptor that wakes the loop during a timed wait: the pass finds nothing due, plans
// the wait again, and the timer still runs once, on time.
TEST_P(LoopTimedWait, AWakeUpForADescriptorKeepsTheTimer) {
    event_loop loop = timed_loop();
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    ASSERT_EQ(::write(pipe_fds[1], "x", 1), 1);
    int reads = 0;
    fd_watcher reader = loop.watch(pipe_fds[0], io_events::readable, [&](io_events) {
        char byte = 0;
        EXPECT_EQ(::read(pipe_fds[0], &byte, 1), 1);
        ++reads;
    });
    int runs = 0;
    nanoseconds ran_at{};
    timer_watcher once = loop.after(80us, [&] {
        ++runs;
        ran_at = clock_now(clock_id::monotonic);
        reader.stop();
    });
    loop.run();
    EXPECT_EQ(reads, 1);
    EXPECT_EQ(runs, 1);
    EXPECT_GE(ran_at, once.deadline());
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
}

// A slack above 100 ns would make the wait's own timeout late: the timer_fd is used.
TEST_P(LoopTimedWait, ALargerSlackKeepsTheTimerFd) {
    event_loop loop(GetParam(), loop_options{.timer_slack = 50us});
    int runs = 0;
    timer_watcher chain;
    chain = loop.after(90us, [&] {
        if (++runs < 10) {
            chain.restart_after(90us);
        }
    });
    fault_plan counts = count_calls();
    loop.run();
    EXPECT_EQ(runs, 10);
    EXPECT_GE(counts.calls(settimes), 3);
}

INSTANTIATE_TEST_SUITE_P(Backends, LoopTimedWait,
                         ::testing::Values(backend_kind::epoll, backend_kind::poll,
                                           backend_kind::select),
                         [](const ::testing::TestParamInfo<backend_kind>& info) {
                             return std::string(to_string(info.param));
                         });

}  // namespace
}  // namespace tfd

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

// Counts the backend's waits (rule 0) and timerfd_settime calls (1).  fault_plan is not
// movable: returned by guaranteed copy elision.
fault_plan count_calls_of(backend_kind backend) {
    return fault_plan(
        {{test::wait_call_of(backend), -1, 0, 1, 0}, {sys::call::timerfd_settime, -1, 0, 1, 0}});
}

class LoopTimedWait : public ::testing::TestWithParam<backend_kind> {
  protected:
    void SetUp() override {
        if (!nanosecond_timeouts(GetParam())) {
            GTEST_SKIP() << "no epoll_pwait2 here (valgrind, or a kernel before 5.11)";
        }
    }
    [[nodiscard]] fault_plan count_calls() const { return count_calls_of(GetParam()); }
    [[nodiscard]] event_loop timed_loop() const {
        return event_loop(GetParam(), loop_options{.timer_slack = 1ns});
    }
};

// A chain of `count` one-shot runs of one timer, first `first` ahead, then each restarted
// from its callback `gap` ahead, run to its end; what the run cost and whether one was early.
struct chain_result {
    int runs = 0;
    int early = 0;
    long waits = 0;
    long settimes = 0;
};
chain_result run_chain(event_loop& loop, nanoseconds first, nanoseconds gap, int count) {
    chain_result result;
    timer_watcher chain;
    chain = loop.after(first, [&] {
        if (clock_now(clock_id::monotonic) < chain.deadline()) {
            ++result.early;
        }
        if (++result.runs < count) {
            chain.restart_after(gap);
        }
    });
    fault_plan counts = count_calls_of(loop.backend());
    loop.run();
    result.waits = counts.calls(waits);
    result.settimes = counts.calls(settimes);
    EXPECT_EQ(loop.lateness().negatives(), 0u);
    return result;
}

// The wall time of one timer run restarted from its own callback, due at once: what a pass
// costs on this build.
nanoseconds pass_cost(backend_kind backend) {
    event_loop loop(backend);
    int runs = 0;
    timer_watcher chain;
    chain = loop.after(0ns, [&] {
        if (++runs < 50) {
            chain.restart_after(0ns);
        }
    });
    const nanoseconds start = clock_now(clock_id::monotonic);
    loop.run();
    return (clock_now(clock_id::monotonic) - start) / 50;
}

// The tests that need the loop to arm a deadline well inside the 100 us window: a build
// whose pass takes a good part of it (ASan, valgrind) finds every such deadline due
// already, and has nothing to arm.
#define SKIP_IF_PASSES_ARE_SLOW()                                                         \
    if (const nanoseconds cost = pass_cost(GetParam()); cost > 20us) {                    \
        GTEST_SKIP() << "a pass takes " << cost.count() << " ns on this build: too slow " \
                     << "to arm a deadline 90 us ahead";                                  \
    }

// A timer restarted 50 us ahead 40 times: the timer_fd is never set, and each wake-up is
// one wait.
TEST_P(LoopTimedWait, ShortWaitsUseTheWaitsOwnTimeout) {
    event_loop loop = timed_loop();
    chain_result chain = run_chain(loop, 50us, 50us, 40);
    EXPECT_EQ(chain.runs, 40);
    EXPECT_EQ(chain.early, 0);
    EXPECT_EQ(chain.settimes, 0);
    EXPECT_LE(chain.waits, chain.runs + 1);
}

// Without the option (the thread's slack is not known to be small) the timer_fd is armed
// for every deadline, as before: one settime per deadline, except for a deadline found less
// than spin_below ahead (a slow machine: valgrind), which is spun for instead.  At least a
// few.
TEST_P(LoopTimedWait, TheDefaultArmsTheTimerFd) {
    SKIP_IF_PASSES_ARE_SLOW();
    event_loop loop(GetParam());
    chain_result chain = run_chain(loop, 90us, 90us, 10);
    EXPECT_EQ(chain.runs, 10);
    EXPECT_GE(chain.settimes, 3);
}

// A slack above 100 ns would make the wait's own timeout late: the timer_fd is used.
TEST_P(LoopTimedWait, ALargerSlackKeepsTheTimerFd) {
    SKIP_IF_PASSES_ARE_SLOW();
    event_loop loop(GetParam(), loop_options{.timer_slack = 50us});
    chain_result chain = run_chain(loop, 90us, 90us, 10);
    EXPECT_EQ(chain.runs, 10);
    EXPECT_GE(chain.settimes, 3);
}

// A deadline farther than 100 us is armed on the timer_fd; when it has fired (the timer_fd
// is left readable) and the next deadline is close, one disarm quiets the timer_fd, and the
// short waits after it cost no settime.
TEST_P(LoopTimedWait, AFiredTimerFdIsDisarmedOnceThenShortWaitsAreTimed) {
    event_loop loop = timed_loop();
    chain_result chain = run_chain(loop, 5ms, 40us, 20);
    EXPECT_EQ(chain.runs, 20);
    EXPECT_EQ(chain.early, 0);
    EXPECT_LE(chain.settimes, 2);  // the arm for 5 ms, the disarm after it fired
    EXPECT_GE(chain.settimes, 1);
}

// Leaves the loop's timer_fd armed for `delay` from now with no timer pending: a timer
// started, armed by one pass, then stopped.
void arm_and_forget(event_loop& loop, nanoseconds delay) {
    timer_watcher first = loop.after(delay, [] {});
    fault_plan counts = count_calls_of(loop.backend());
    loop.run_until_idle();  // a pass: arms the timer_fd
    ASSERT_EQ(counts.calls(settimes), 1);
}

// Runs one pass with a timer 90 us ahead; whether it ran, not early, and the settimes of the
// pass.
struct one_pass {
    bool ran = false;
    bool early = false;
    long settimes = 0;
};
one_pass run_one_near_timer(event_loop& loop) {
    one_pass result;
    nanoseconds ran_at{};
    timer_watcher near = loop.after(90us, [&] {
        result.ran = true;
        ran_at = clock_now(clock_id::monotonic);
    });
    fault_plan counts = count_calls_of(loop.backend());
    loop.run_once();
    result.early = result.ran && ran_at < near.deadline();
    result.settimes = counts.calls(settimes);
    return result;
}

// The timer_fd armed for a later time than a close deadline is left as it is: it cannot
// wake the loop early.
TEST_P(LoopTimedWait, ATimerFdArmedLaterIsLeftAlone) {
    event_loop loop = timed_loop();
    arm_and_forget(loop, 1s);
    one_pass pass = run_one_near_timer(loop);
    EXPECT_TRUE(pass.ran);
    EXPECT_FALSE(pass.early);
    EXPECT_EQ(pass.settimes, 0);
}

// The timer_fd armed for an earlier time than a close deadline (its timer stopped) would
// wake the loop before it: it is re-armed for the deadline, as without timed waits, so the
// one pass that follows runs the timer.  (Left as it was, the expired timer_fd would end
// that pass at once, before the deadline.)  On a slow machine the deadline may be reached
// before the pass arms anything: then it is collected without a settime.
TEST_P(LoopTimedWait, ATimerFdArmedEarlierIsReArmed) {
    event_loop loop = timed_loop();
    arm_and_forget(loop, 10ms);
    std::this_thread::sleep_for(20ms);  // the 10 ms setting is now in the past
    one_pass pass = run_one_near_timer(loop);
    EXPECT_TRUE(pass.ran);
    EXPECT_FALSE(pass.early);
    EXPECT_LE(pass.settimes, 1);
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

INSTANTIATE_TEST_SUITE_P(Backends, LoopTimedWait,
                         ::testing::Values(backend_kind::epoll, backend_kind::poll,
                                           backend_kind::select),
                         [](const ::testing::TestParamInfo<backend_kind>& info) {
                             return std::string(to_string(info.param));
                         });

}  // namespace
}  // namespace tfd

// loop_options::timer_coalescing: timers due within the window after the earliest deadline
// run in one wake-up, never early, in deadline order (equal deadlines in start order).  Wake
// -ups are counted as the backend's wait calls through the fault hook (a rule with times = 0
// counts without answering).  Timing bounds are generous; nothing asserts speed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "support/fault_injection.hpp"
#include "tfd/event_loop.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;
using test::fault_plan;

TEST(LoopCoalescing, TimersWithinTheWindowRunInOneWakeUpInDeadlineOrder) {
    event_loop loop(backend_kind::epoll, loop_options{.timer_coalescing = 20ms});
    std::vector<int> order;
    std::vector<nanoseconds> ran_at(5);
    std::vector<nanoseconds> deadline(5);
    std::vector<timer_watcher> timers;
    // Started out of order; 2 and 3 share a deadline (start order decides).
    const nanoseconds base = loop.now();
    for (auto [id, delay] : {std::pair{4, 25ms}, {2, 15ms}, {1, 10ms}, {3, 15ms}}) {
        deadline[id] = base + delay;
        timers.push_back(loop.at(
            deadline[id],
            [&order, &ran_at, id = id](std::uint64_t) {
                order.push_back(id);
                ran_at[id] = clock_now(clock_id::monotonic);
            },
            clock_id::monotonic));
    }
    fault_plan waits({{sys::call::epoll_wait, -1, 0, 1, 0}});
    loop.run();
    EXPECT_EQ(waits.calls(0), 1);  // one wake-up, at the earliest deadline + 20 ms
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
    for (int id = 1; id <= 4; ++id) {
        EXPECT_GE(ran_at[id], deadline[id]) << "timer " << id << " ran early";
        EXPECT_GE(ran_at[id], deadline[1] + 20ms) << "before the timer_fd's expiry";
        // Late by at most the window, plus a generous allowance for a loaded machine.
        EXPECT_LT(ran_at[id], deadline[id] + 20ms + 2s);
    }
    EXPECT_EQ(loop.lateness().negatives(), 0u);
    EXPECT_EQ(loop.lateness().count(), 4u);
}

TEST(LoopCoalescing, TheDefaultWakesForEachDeadline) {
    event_loop loop;
    int ran = 0;
    timer_watcher first = loop.after(10ms, [&](std::uint64_t) { ++ran; });
    timer_watcher second = loop.after(300ms, [&](std::uint64_t) { ++ran; });
    fault_plan waits({{sys::call::epoll_wait, -1, 0, 1, 0}});
    loop.run();
    EXPECT_EQ(ran, 2);
    EXPECT_EQ(waits.calls(0), 2);
}

TEST(LoopCoalescing, DeadlinesFurtherApartThanTheWindowStillWakeApart) {
    event_loop loop(backend_kind::poll, loop_options{.timer_coalescing = 5ms});
    std::vector<nanoseconds> lateness;
    timer_watcher first, second;
    first = loop.after(5ms, [&](std::uint64_t) {
        lateness.push_back(clock_now(clock_id::monotonic) - first.deadline());
    });
    second = loop.after(300ms, [&](std::uint64_t) {
        lateness.push_back(clock_now(clock_id::monotonic) - second.deadline());
    });
    fault_plan waits({{sys::call::poll, -1, 0, 1, 0}});
    loop.run();
    EXPECT_EQ(waits.calls(0), 2);
    ASSERT_EQ(lateness.size(), 2u);
    for (nanoseconds late : lateness) {
        EXPECT_GE(late, 5ms);  // woken at deadline + window, never before
        EXPECT_LT(late, 5ms + 2s);
    }
}

TEST(LoopCoalescing, PeriodicTimersNeverRunEarly) {
    event_loop loop(backend_kind::select, loop_options{.timer_coalescing = 1ms});
    int ticks = 0;
    int early = 0;
    timer_watcher periodic;
    nanoseconds next_deadline{};
    periodic = loop.every(2ms, [&](std::uint64_t) {
        if (clock_now(clock_id::monotonic) < next_deadline + 1ms) {
            ++early;  // before the coalesced expiry: impossible when woken by the timer_fd
        }
        next_deadline = periodic.deadline();
        if (++ticks == 30) {
            loop.stop();
        }
    });
    next_deadline = periodic.deadline();
    loop.run();
    EXPECT_EQ(early, 0);
    EXPECT_EQ(loop.lateness().negatives(), 0u);
}

TEST(LoopCoalescing, RunForRunsTheTimersDueByItsEnd) {
    event_loop loop(backend_kind::epoll, loop_options{.timer_coalescing = 10s});
    bool ran = false;
    timer_watcher once = loop.after(10ms, [&](std::uint64_t) { ran = true; });
    const nanoseconds start = clock_now(clock_id::monotonic);
    loop.run_for(60ms);
    const nanoseconds took = clock_now(clock_id::monotonic) - start;
    EXPECT_TRUE(ran);  // due at 10 ms, collected when run_for's last wait ended
    EXPECT_GE(took, 60ms);
    EXPECT_LT(took, 5s);  // did not wait for the 10 s window
}

TEST(LoopCoalescing, AWakeUpForADescriptorRunsTheTimersAlreadyDue) {
    event_loop loop(backend_kind::epoll, loop_options{.timer_coalescing = 10s});
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    bool timer_ran = false;
    bool fd_ran = false;
    timer_watcher once = loop.after(5ms, [&](std::uint64_t) { timer_ran = true; });
    fd_watcher reader = loop.watch(pipe_fds[0], io_events::readable, [&](io_events) {
        char byte = 0;
        EXPECT_EQ(::read(pipe_fds[0], &byte, 1), 1);
        fd_ran = true;
    });
    std::thread writer([&] {
        std::this_thread::sleep_for(50ms);
        EXPECT_EQ(::write(pipe_fds[1], "x", 1), 1);
    });
    loop.run_once();  // woken by the pipe, long before 5 ms + 10 s
    writer.join();
    EXPECT_TRUE(fd_ran);
    EXPECT_TRUE(timer_ran);
    EXPECT_FALSE(once.active());
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
}

TEST(LoopCoalescing, IsIgnoredOnVirtualTime) {
    event_loop loop(backend_kind::epoll,
                    loop_options{.virtual_time = true, .timer_coalescing = 1s});
    nanoseconds ran_at{};
    timer_watcher once = loop.after(10ms, [&](std::uint64_t) { ran_at = loop.now(); });
    const nanoseconds deadline = once.deadline();
    loop.run();
    EXPECT_EQ(ran_at, deadline);  // the jump lands on the deadline, not 1 s later
}

TEST(LoopCoalescing, NegativeOrCombinedWithSpinMarginIsRefused) {
    try {
        event_loop loop(backend_kind::epoll, loop_options{.timer_coalescing = -1ns});
        ADD_FAILURE() << "negative timer_coalescing accepted";
    } catch (const std::system_error& error) {
        EXPECT_EQ(error.code(), std::errc::invalid_argument);
        EXPECT_NE(std::string(error.what()).find("timer_coalescing=-1ns"), std::string::npos)
            << error.what();
    }
    try {
        event_loop loop(backend_kind::epoll,
                        loop_options{.spin_margin = 100us, .timer_coalescing = 1ms});
        ADD_FAILURE() << "spin_margin with timer_coalescing accepted";
    } catch (const std::system_error& error) {
        EXPECT_EQ(error.code(), std::errc::invalid_argument);
        const std::string what = error.what();
        EXPECT_NE(what.find("timer_coalescing"), std::string::npos) << what;
        EXPECT_NE(what.find("spin_margin"), std::string::npos) << what;
    }
    EXPECT_NO_THROW(event_loop(backend_kind::epoll, loop_options{.timer_coalescing = 0ns}));
}

}  // namespace
}  // namespace tfd

// The loop's timer wake path: a timer_fd that is not cancel_on_set is not read when it wakes
// the loop; the settime that follows every fire clears it.  These tests count the system
// calls of that path through the fault hook (rules with times = 0 count, never answer): a
// periodic wake-up must cost two (the wait and the settime), and a timer_fd left readable
// must never make the loop spin, whatever path the pass took (queue emptied, run_once or
// stop() between collection and the next arm, an exception thrown mid-pass), on every
// backend.  A deadline already reached is collected without arming the timer_fd at all.
// Bounds on call counts are behaviour, not speed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <thread>

#include "support/fault_injection.hpp"
#include "tfd/event_loop.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;
using test::fault_plan;

class LoopWakePath : public ::testing::TestWithParam<backend_kind> {
  protected:
    [[nodiscard]] sys::call wait_call() const { return test::wait_call_of(GetParam()); }

    // Counts the backend's waits (rule 0), timer_fd reads (1) and settimes (2).
    [[nodiscard]] fault_plan count_timer_path() const {
        return fault_plan({{wait_call(), -1, 0, 1, 0},
                           {sys::call::read, -1, 0, 1, 0},
                           {sys::call::timerfd_settime, -1, 0, 1, 0}});
    }
};

// fault_plan is not movable: a helper that returns one relies on guaranteed copy elision.
constexpr int waits = 0;
constexpr int reads = 1;
constexpr int settimes = 2;

TEST_P(LoopWakePath, APeriodicWakeUpCostsTheWaitAndTheSettimeOnly) {
    event_loop loop(GetParam());
    int ticks = 0;
    timer_watcher periodic = loop.every(2ms, [&](std::uint64_t) {
        if (++ticks == 20) {
            loop.stop();
        }
    });
    fault_plan counts = count_timer_path();
    loop.run();
    EXPECT_EQ(ticks, 20);
    EXPECT_EQ(counts.calls(reads), 0);  // a monotonic timer_fd is never read
    EXPECT_LE(counts.calls(waits), ticks);
    EXPECT_LE(counts.calls(waits) + counts.calls(reads) + counts.calls(settimes), 2 * ticks);
}

TEST_P(LoopWakePath, BoottimeTimersAreNotReadEither) {
    event_loop loop(GetParam());
    int ticks = 0;
    timer_watcher periodic = loop.every(
        2ms,
        [&](std::uint64_t) {
            if (++ticks == 10) {
                loop.stop();
            }
        },
        periodic_options{.clock = clock_id::boottime});
    fault_plan counts = count_timer_path();
    loop.run();
    EXPECT_EQ(counts.calls(reads), 0);
    EXPECT_LE(counts.calls(waits) + counts.calls(settimes), 2 * ticks);
}

TEST_P(LoopWakePath, RealtimeTimersAreStillReadForCancelOnSet) {
    event_loop loop(GetParam());
    int ticks = 0;
    // Another process setting the wall clock meanwhile (a clock test run in parallel) adds
    // one wake-up per change: counted, and allowed for.
    int changes = 0;
    loop.on_clock_change([&] { ++changes; });
    timer_watcher periodic = loop.every(
        2ms,
        [&](std::uint64_t) {
            if (++ticks == 10) {
                loop.stop();
            }
        },
        periodic_options{.clock = clock_id::realtime});
    fault_plan counts = count_timer_path();
    loop.run();
    // One read per wake-up, where ECANCELED would tell of a wall-clock change.
    EXPECT_EQ(counts.calls(reads), counts.calls(waits));
    EXPECT_LE(counts.calls(waits), ticks + changes);
}

TEST_P(LoopWakePath, TheLastTimerRunIsFollowedByADisarmNotASpin) {
    event_loop loop(GetParam());
    bool fired = false;
    timer_watcher once = loop.after(1ms, [&](std::uint64_t) { fired = true; });
    long arms = 0;
    {
        fault_plan before = count_timer_path();
        while (!fired) {
            loop.run_once();
        }
        arms = before.calls(settimes);
    }
    // The queue is empty and the timer_fd was not read: only the disarm makes it quiet.  On a
    // slow host (valgrind) the deadline can pass before the loop first looks; then the timer
    // was collected without the timer_fd ever being armed, and there is nothing to disarm.
    fault_plan counts = count_timer_path();
    loop.run_for(50ms);
    EXPECT_EQ(counts.calls(settimes), arms > 0 ? 1 : 0);
    EXPECT_LE(counts.calls(waits), 3);  // a readable timer_fd would make thousands
}

TEST_P(LoopWakePath, StopBetweenCollectionAndTheNextArmDoesNotSpin) {
    event_loop loop(GetParam());
    int ticks = 0;
    timer_watcher periodic = loop.every(5ms, [&](std::uint64_t) {
        if (++ticks == 1) {
            loop.stop();  // run() returns with the timer_fd expired and not yet re-armed
        }
    });
    loop.run();
    ASSERT_EQ(ticks, 1);
    loop.run_once();  // one more pass: arms, waits for the next tick
    ASSERT_EQ(ticks, 2);

    periodic.stop();
    fault_plan counts = count_timer_path();
    loop.run_for(40ms);
    EXPECT_EQ(ticks, 2);
    EXPECT_LE(counts.calls(waits), 3);
}

TEST_P(LoopWakePath, ATimerThatThrowsLeavesTheLoopQuiet) {
    event_loop loop(GetParam());
    int later_ran = 0;
    timer_watcher boom =
        loop.after(1ms, [](std::uint64_t) { throw std::runtime_error("timer callback"); });
    timer_watcher later = loop.after(2ms, [&](std::uint64_t) { ++later_ran; });
    EXPECT_THROW(
        {
            for (;;) {
                loop.run_once();
            }
        },
        std::runtime_error);

    fault_plan counts = count_timer_path();
    loop.run_for(50ms);
    EXPECT_EQ(later_ran, 1);  // kept (or still queued) and run
    EXPECT_LE(counts.calls(waits), 4);
}

TEST_P(LoopWakePath, APeriodicTimerThatThrowsKeepsTicking) {
    event_loop loop(GetParam());
    int ticks = 0;
    timer_watcher periodic = loop.every(5ms, [&](std::uint64_t) {
        if (++ticks == 3) {
            throw std::runtime_error("third tick");
        }
    });
    EXPECT_THROW(loop.run(), std::runtime_error);
    ASSERT_EQ(ticks, 3);

    fault_plan counts = count_timer_path();
    loop.run_for(50ms);
    const long more = ticks - 3;
    EXPECT_GE(more, 1);
    EXPECT_LE(counts.calls(waits), more + 2);  // one per tick, and run_for's last one
    EXPECT_EQ(counts.calls(reads), 0);
}

TEST_P(LoopWakePath, AnFdCallbackThatThrowsBeforeCollectionDoesNotSpin) {
    event_loop loop(GetParam());
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    ASSERT_EQ(::write(pipe_fds[1], "x", 1), 1);
    bool timer_ran = false;
    timer_watcher once = loop.after(1ms, [&](std::uint64_t) { timer_ran = true; });
    fd_watcher reader;
    reader = loop.watch(pipe_fds[0], io_events::readable, [&](io_events) {
        reader.stop();
        throw std::runtime_error("fd callback");
    });
    std::this_thread::sleep_for(5ms);  // both ready in the first wait
    EXPECT_THROW(loop.run_once(), std::runtime_error);

    fault_plan counts = count_timer_path();
    loop.run_for(40ms);
    EXPECT_TRUE(timer_ran);
    EXPECT_LE(counts.calls(waits), 4);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
}

TEST_P(LoopWakePath, SpinFinishSkipsTheReadToo) {
    event_loop loop(GetParam(), loop_options{.spin_margin = 200us});
    int ticks = 0;
    timer_watcher periodic = loop.every(1ms, [&](std::uint64_t) {
        if (++ticks == 20) {
            loop.stop();
        }
    });
    fault_plan counts = count_timer_path();
    loop.run();
    EXPECT_EQ(counts.calls(reads), 0);
    EXPECT_LE(counts.calls(waits) + counts.calls(settimes), 2 * ticks);
    EXPECT_EQ(loop.lateness().negatives(), 0u);
}

TEST_P(LoopWakePath, BoottimeAlarmTimersAreNotRead) {
    event_loop loop(GetParam());
    int ticks = 0;
    timer_watcher periodic;
    try {
        periodic = loop.every(
            2ms,
            [&](std::uint64_t) {
                if (++ticks == 5) {
                    loop.stop();
                }
            },
            periodic_options{.clock = clock_id::boottime_alarm});
    } catch (const std::system_error& error) {
        GTEST_SKIP() << "no boottime_alarm timer_fd here: " << error.what();
    }
    fault_plan counts = count_timer_path();
    loop.run();
    EXPECT_EQ(counts.calls(reads), 0);
    EXPECT_LE(counts.calls(waits) + counts.calls(settimes), 2 * ticks);
}

TEST_P(LoopWakePath, OverdueTimersRunWithoutArmingTheTimerFd) {
    event_loop loop(GetParam());
    int ticks = 0;
    // A periodic timer a second behind with the burst policy: its next 1000 ticks are due.
    timer_watcher periodic = loop.every_from(
        loop.now() - 1s, 1ms,
        [&](std::uint64_t) {
            if (++ticks == 100) {
                loop.stop();
            }
        },
        periodic_options{.policy = missed_ticks::burst});
    fault_plan counts = count_timer_path();
    loop.run();
    EXPECT_EQ(ticks, 100);
    // Arming the timer_fd in the past would only buy an immediate expiry and a wake-up per
    // tick; the loop polls and collects instead.
    EXPECT_EQ(counts.calls(settimes), 0);
    EXPECT_EQ(counts.calls(reads), 0);
    EXPECT_LE(counts.calls(waits), ticks);

    // Caught up (stopped and restarted in the future), it arms and sleeps as usual.
    periodic.restart_after(20ms);  // far enough that even valgrind arms before it is due
    fault_plan later = count_timer_path();
    loop.run_once();
    EXPECT_EQ(ticks, 101);
    EXPECT_EQ(later.calls(settimes), 1);
    EXPECT_EQ(later.calls(waits), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, LoopWakePath,
                         ::testing::Values(backend_kind::epoll, backend_kind::poll,
                                           backend_kind::select),
                         [](const ::testing::TestParamInfo<backend_kind>& info) {
                             return std::string(to_string(info.param));
                         });

}  // namespace
}  // namespace tfd

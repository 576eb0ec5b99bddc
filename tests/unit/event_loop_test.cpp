// event_loop specifics that do not depend on the backend (the contract suite in
// tests/backend/ covers behaviour on each backend).
#include "tfd/event_loop.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "loop_impl.hpp"
#include "support/fault_injection.hpp"
#include "support/fd_utils.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;

TEST(EventLoop, TimerNodeFitsInOneCacheLine) {
    EXPECT_LE(sizeof(detail::timer_node), 64u);
    int counter = 0;
    auto small = [&counter](std::uint64_t) { ++counter; };
    EXPECT_TRUE(timer_callback::fits_inline<decltype(small)>());
}

TEST(EventLoop, EmptyHandlesAreHarmless) {
    fd_watcher f;
    timer_watcher t;
    signal_watcher s;
    f.stop();
    t.stop();
    t.reset();
    s.stop();
    EXPECT_FALSE(f.active());
    EXPECT_FALSE(t.active());
    EXPECT_EQ(f.fd(), -1);
    EXPECT_THROW(f.set_interest(io_events::readable), std::system_error);
    EXPECT_THROW(t.restart_after(1ms), std::system_error);
}

TEST(EventLoop, MoveAssignmentStopsTheWatcherItReplaces) {
    event_loop loop;
    std::vector<int> fired;
    timer_watcher a = loop.after(1ms, [&](std::uint64_t) { fired.push_back(1); });
    timer_watcher b = loop.after(2ms, [&](std::uint64_t) { fired.push_back(2); });
    a = std::move(b);  // timer 1 is stopped and freed
    EXPECT_FALSE(static_cast<bool>(b));
    EXPECT_TRUE(a.active());
    EXPECT_EQ(loop.active_watchers(), 1u);
    loop.run();
    EXPECT_EQ(fired, std::vector<int>{2});
}

TEST(EventLoop, ActiveWatchersCountsWhatKeepsRunAlive) {
    event_loop loop;
    EXPECT_EQ(loop.active_watchers(), 0u);
    timer_watcher t = loop.after(1h, [](std::uint64_t) {});
    EXPECT_EQ(loop.active_watchers(), 1u);
    t.stop();
    EXPECT_EQ(loop.active_watchers(), 0u);
    EXPECT_FALSE(loop.run_once()) << "nothing active: returns at once";
}

TEST(EventLoop, BackendIsTheOneAskedFor) {
    for (backend_kind kind : {backend_kind::epoll, backend_kind::poll, backend_kind::select}) {
        event_loop loop(kind);
        EXPECT_EQ(loop.backend(), kind);
        EXPECT_EQ(parse_backend_kind(to_string(kind)), kind);
    }
    EXPECT_FALSE(parse_backend_kind("kqueue"));
}

TEST(EventLoop, NowReadsTheClockAskedFor) {
    event_loop loop;
    auto steady = std::chrono::steady_clock::now().time_since_epoch();
    EXPECT_LE(std::chrono::abs(loop.now(clock_id::monotonic) - steady), 1s);
    auto wall = std::chrono::system_clock::now().time_since_epoch();
    EXPECT_LE(std::chrono::abs(loop.now(clock_id::realtime) - wall), 1s);
}

TEST(EventLoop, CreationFailuresAreReported) {
    {
        test::scoped_fault fault(sys::call::epoll_create1, -1, EMFILE);
        EXPECT_THROW(event_loop loop(backend_kind::epoll), std::system_error);
    }
    {
        test::scoped_fault fault(sys::call::eventfd, -1, EMFILE);
        EXPECT_THROW(event_loop loop(backend_kind::poll), std::system_error);
    }
}

TEST(EventLoop, TimerFdArmingFailureReachesTheCaller) {
    event_loop loop;
    int calls = 0;
    // Far enough ahead to be armed, not polled, even when valgrind slows the test down (a
    // deadline already reached is collected without a settime).
    timer_watcher t = loop.after(200ms, [&](std::uint64_t) { ++calls; });
    {
        test::scoped_fault fault(sys::call::timerfd_settime, -1, ENOMEM);
        EXPECT_THROW(loop.run_once(), std::system_error);
    }
    loop.run();  // the loop stayed consistent: arming is retried
    EXPECT_EQ(calls, 1);
}

TEST(EventLoop, DescriptorsAreReleasedWithTheLoop) {
    int before = test::open_fd_count();
    {
        event_loop loop;
        timer_watcher a = loop.after(1h, [](std::uint64_t) {});
        timer_watcher b = loop.after(
            1h, [](std::uint64_t) {}, clock_id::realtime);
        signal_watcher s = loop.on_signal(SIGUSR1, [](const signal_info&) {});
        // epoll, eventfd, two timer_fds, signalfd.
        EXPECT_EQ(test::open_fd_count(), before + 5);
    }
    EXPECT_EQ(test::open_fd_count(), before);
}

// A second thread's run call is refused, saying so, while the loop runs on another.
TEST(EventLoop, RunningOnTwoThreadsAtOnceIsRefused) {
    event_loop loop;
    std::atomic<bool> inside{false};
    std::atomic<bool> release{false};
    loop.post([&] {
        inside = true;
        while (!release) {
            std::this_thread::yield();
        }
    });
    std::thread runner([&] { loop.run_until_idle(); });
    while (!inside) {
        std::this_thread::yield();
    }
    try {
        loop.run_for(std::chrono::milliseconds(1));
        ADD_FAILURE() << "a second thread ran the loop";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::resource_deadlock_would_occur);
        EXPECT_NE(std::string(e.what()).find("event_loop::run_for: the loop is running on "
                                             "another thread"),
                  std::string::npos)
            << e.what();
    }
    release = true;
    runner.join();
    loop.run_for(std::chrono::milliseconds(1));  // free again
}

}  // namespace
}  // namespace tfd

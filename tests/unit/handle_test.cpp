// The family of handles (include/tfd/handle.hpp): one meaning of stop, start, reset and active
// on fd_watcher, signal_watcher and timer_watcher, one move logic, one precondition error.
#include "tfd/handle.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "tfd/event_loop.hpp"
#include "tfd/work_guard.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

void expect_usage_error(const std::function<void()>& f, const std::string& what) {
    try {
        f();
        ADD_FAILURE() << "no exception; expected " << what;
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::invalid_argument) << e.what();
        EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
}

struct pipe_pair {
    int r = -1;
    int w = -1;
    pipe_pair() {
        int fds[2];
        EXPECT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
        r = fds[0];
        w = fds[1];
    }
    ~pipe_pair() {
        ::close(r);
        ::close(w);
    }
};

TEST(Handle, FdWatcherStopKeepsItAndStartResumes) {
    event_loop loop;
    pipe_pair p;
    int calls = 0;
    fd_watcher w = loop.watch(p.r, io_events::readable, [&](io_events) {
        ++calls;
        char c;
        (void)::read(p.r, &c, 1);
    });
    EXPECT_TRUE(w.active());
    w.stop();
    EXPECT_FALSE(w.active());
    EXPECT_TRUE(static_cast<bool>(w));  // stopped, not empty
    EXPECT_EQ(w.fd(), p.r);
    EXPECT_EQ(loop.active_watchers(), 0u);
    ASSERT_EQ(::write(p.w, "x", 1), 1);
    loop.run_for(20ms);
    EXPECT_EQ(calls, 0);
    w.start();
    EXPECT_TRUE(w.active());
    loop.run_for(20ms);
    EXPECT_EQ(calls, 1);
    w.reset();
    EXPECT_FALSE(static_cast<bool>(w));
    EXPECT_EQ(w.fd(), -1);
}

TEST(Handle, AStoppedFdWatcherFreesItsDescriptorForAnother) {
    event_loop loop;
    pipe_pair p;
    fd_watcher first = loop.watch(p.r, io_events::readable, [](io_events) {});
    first.stop();
    fd_watcher second = loop.watch(p.r, io_events::readable, [](io_events) {});
    try {
        first.start();
        ADD_FAILURE() << "start() took a descriptor that has another watcher";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::file_exists) << e.what();
    }
    EXPECT_FALSE(first.active());
    EXPECT_TRUE(second.active());
}

TEST(Handle, SignalWatcherStopAndStart) {
    event_loop loop;
    int got = 0;
    signal_watcher s = loop.on_signal(SIGUSR2, [&](const signal_info&) {
        ++got;
        loop.stop();
    });
    s.stop();
    EXPECT_FALSE(s.active());
    EXPECT_EQ(s.signo(), SIGUSR2);
    s.start();
    EXPECT_TRUE(s.active());
    ASSERT_EQ(::kill(::getpid(), SIGUSR2), 0);
    loop.run_for(5s);
    EXPECT_EQ(got, 1);
}

TEST(Handle, TimerStopKeepsItAndRestartResumes) {
    event_loop loop(backend_kind::epoll, loop_options{.virtual_time = true});
    int calls = 0;
    timer_watcher t = loop.after(1s, [&] { ++calls; });  // a one-shot may take no argument
    EXPECT_TRUE(t.active());
    t.stop();
    EXPECT_FALSE(t.active());
    EXPECT_TRUE(static_cast<bool>(t));
    loop.advance(2s);
    EXPECT_EQ(calls, 0);
    t.restart_after(0.5s);  // a double duration
    EXPECT_TRUE(t.active());
    loop.advance(1s);
    EXPECT_EQ(calls, 1);
    t.reset();
    EXPECT_FALSE(static_cast<bool>(t));
}

// Callables of 9 to 24 bytes live in wide nodes (src/timer_node.hpp): the same verbs, the
// captures intact, a handle that frees its own timer from the callback.
TEST(Handle, WideCallbacksBehaveAsSmallOnes) {
    event_loop loop(backend_kind::epoll, loop_options{.virtual_time = true});
    int a = 0;
    int b = 0;
    auto owned = std::make_unique<int>(7);
    timer_watcher wide;
    wide = loop.after(1s, [&a, &b, p = std::move(owned)](std::uint64_t overruns) {
        a += *p;
        b += static_cast<int>(overruns) + 1;
    });
    EXPECT_TRUE(wide.active());
    EXPECT_EQ(wide.deadline(), loop.now() + 1s);
    wide.stop();
    loop.advance(2s);
    EXPECT_EQ(a, 0);
    wide.restart_after(1s);
    loop.advance(1s);
    EXPECT_EQ(a, 7);
    EXPECT_EQ(b, 1);
    EXPECT_FALSE(wide.active());

    timer_watcher self_freeing;
    int runs = 0;
    self_freeing = loop.after(1s, [&self_freeing, &runs, extra = &a] {
        ++runs;
        *extra = -1;
        self_freeing.reset();  // frees the running node after the callback
    });
    loop.advance(1s);
    EXPECT_EQ(runs, 1);
    EXPECT_EQ(a, -1);
    EXPECT_FALSE(static_cast<bool>(self_freeing));
}

TEST(Handle, EveryVerbIsSafeOnAnEmptyHandleOrAPreconditionError) {
    fd_watcher f;
    signal_watcher s;
    timer_watcher t;
    f.stop();
    f.reset();
    s.stop();
    s.reset();
    t.stop();
    t.reset();
    EXPECT_FALSE(f.active());
    EXPECT_FALSE(s.active());
    EXPECT_FALSE(t.active());
    expect_usage_error([&] { f.start(); }, "fd_watcher::start: empty handle");
    expect_usage_error([&] { f.set_interest(io_events::readable); },
                       "fd_watcher::set_interest: empty handle");
    expect_usage_error([&] { s.start(); }, "signal_watcher::start: empty handle");
    expect_usage_error([&] { t.restart_after(1s); }, "timer_watcher::restart_after: empty handle");
    expect_usage_error([&] { t.restart_at(nanoseconds(5)); },
                       "timer_watcher::restart_at: empty handle");
}

TEST(Handle, MovingLeavesTheSourceEmptyAndAssignmentResetsTheTarget) {
    event_loop loop(backend_kind::epoll, loop_options{.virtual_time = true});
    int a_calls = 0;
    int b_calls = 0;
    timer_watcher a = loop.after(1s, [&] { ++a_calls; });
    timer_watcher b = loop.after(1s, [&] { ++b_calls; });
    EXPECT_EQ(sizeof(timer_watcher), sizeof(void*));
    b = std::move(a);  // b's own timer is freed
    EXPECT_FALSE(static_cast<bool>(a));
    EXPECT_EQ(loop.active_watchers(), 1u);
    timer_watcher c(std::move(b));
    loop.run();
    EXPECT_EQ(a_calls, 1);
    EXPECT_EQ(b_calls, 0);
}

TEST(Handle, TimePointsOfTheTimersClockAndOnlyThose) {
    event_loop loop(backend_kind::epoll, loop_options{.virtual_time = true});
    const auto start = loop.now<std::chrono::steady_clock>();
    nanoseconds seen{-1};
    timer_watcher t = loop.at(start + 1s, [&] { seen = loop.now(); });
    EXPECT_EQ(t.clock(), clock_id::monotonic);
    EXPECT_EQ(t.deadline<std::chrono::steady_clock>(), start + 1s);
    t.restart_at(start + 2s);
    EXPECT_EQ(t.deadline(), (start + 2s).time_since_epoch());
    expect_usage_error([&] { t.restart_at(std::chrono::system_clock::now()); },
                       "a time point of the realtime clock for a timer on the monotonic clock");
    expect_usage_error([&] { (void)t.deadline<boottime_clock>(); }, "boottime");
    loop.run();
    EXPECT_EQ(seen, (start + 2s).time_since_epoch());
}

TEST(Handle, PostAndOnClockChangeTakeMoveOnlyCallables) {
    event_loop loop;
    auto value = std::make_unique<int>(42);
    int seen = 0;
    loop.post([v = std::move(value), &seen] { seen = *v; });
    auto flag = std::make_unique<bool>(false);
    loop.on_clock_change([f = std::move(flag)] { *f = true; });
    loop.run_until_idle();
    EXPECT_EQ(seen, 42);
    loop.on_clock_change(nullptr);
    expect_usage_error([&] { loop.post(nullptr); }, "event_loop::post: empty work");
}

// In every build: the handle would otherwise touch the freed loop when it is destroyed.
TEST(HandleDeathTest, EveryBuildStopsWhenAHandleOutlivesItsLoop) {
    EXPECT_DEATH(
        {
            timer_watcher t;
            auto loop = std::make_unique<event_loop>();
            t = loop->after(1s, [] {});
            t.stop();  // stopped, but the handle still holds the loop's node
            loop.reset();
        },
        "destroyed while still in use: 1 timer handle");
}

TEST(HandleDeathTest, EveryBuildStopsWhenAWorkGuardOutlivesItsLoop) {
    EXPECT_DEATH(
        {
            auto loop = std::make_unique<event_loop>();
            work_guard guard(*loop);
            loop.reset();
        },
        "destroyed while still in use: 0 timer handle\\(s\\), 0 fd watcher\\(s\\), 0 signal "
        "watcher\\(s\\), 1 work guard");
}

}  // namespace
}  // namespace tfd

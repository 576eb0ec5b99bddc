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

// A null function pointer or an empty std::function holds nothing to call: each call that
// takes a callback refuses it, naming itself, instead of crashing when it would run (the
// wrapper a no-argument timer callback gets is checked before it is made).
TEST(Handle, EmptyCallablesAreRefusedByTheCallThatTakesThem) {
    event_loop loop(backend_kind::epoll, loop_options{.virtual_time = true});
    pipe_pair p;
    void (*no_function)() = nullptr;
    void (*no_timer_function)(std::uint64_t) = nullptr;
    void (*no_fd_function)(io_events) = nullptr;
    void (*no_signal_function)(const signal_info&) = nullptr;
    std::function<void()> no_std_function;
    std::function<void(std::uint64_t)> no_std_timer_function;
    expect_usage_error([&] { (void)loop.after(1ms, no_function); },
                       "event_loop::after: empty callback");
    expect_usage_error([&] { (void)loop.after(1ms, no_timer_function); },
                       "event_loop::after: empty callback");
    expect_usage_error([&] { (void)loop.after(1ms, no_std_function); },
                       "event_loop::after: empty callback");
    expect_usage_error([&] { (void)loop.after(1ms, no_std_timer_function); },
                       "event_loop::after: empty callback");
    expect_usage_error([&] { (void)loop.at(loop.now() + 1ms, no_function); },
                       "event_loop::at: empty callback");
    expect_usage_error([&] { (void)loop.every(1ms, no_function); },
                       "event_loop::every: empty callback");
    expect_usage_error([&] { (void)loop.every(1ms, no_std_timer_function); },
                       "event_loop::every: empty callback");
    expect_usage_error([&] { (void)loop.every_from(loop.now(), 1ms, no_std_function); },
                       "event_loop::every_from: empty callback");
    expect_usage_error([&] { (void)loop.watch(p.r, io_events::readable, no_fd_function); },
                       "event_loop::watch: empty callback");
    expect_usage_error([&] { (void)loop.on_signal(SIGUSR1, no_signal_function); },
                       "event_loop::on_signal: empty callback");
    expect_usage_error([&] { loop.post(no_function); }, "event_loop::post: empty work");
    expect_usage_error([&] { loop.post(no_std_function); }, "event_loop::post: empty work");
    // Nothing was left behind, and the loop works as before.
    EXPECT_EQ(loop.active_watchers(), 0u);
    int runs = 0;
    timer_watcher t = loop.after(1ms, [&] { ++runs; });
    loop.advance(1ms);
    EXPECT_EQ(runs, 1);
}

// Each periodic call names itself for a bad period, as the one-shot calls do.
TEST(Handle, PeriodicTimersNameTheCallForANonPositivePeriod) {
    event_loop loop(backend_kind::epoll, loop_options{.virtual_time = true});
    expect_usage_error([&] { (void)loop.every(0s, [] {}); },
                       "event_loop::every: period=0s must be positive");
    expect_usage_error([&] { (void)loop.every_from(loop.now(), 0s, [] {}); },
                       "event_loop::every_from: period=0s must be positive");
    expect_usage_error(
        [&] { (void)loop.every_from(loop.now<std::chrono::steady_clock>(), -1s, [] {}); },
        "event_loop::every_from: period=");
    EXPECT_EQ(loop.active_watchers(), 0u);
}

// A bit io_events does not name (a stray cast) is refused, not masked away; error and
// hangup, which are delivered anyway, may be named.
TEST(Handle, UnknownInterestBitsAreRefused) {
    event_loop loop;
    pipe_pair p;
    expect_usage_error(
        [&] { (void)loop.watch(p.r, static_cast<io_events>(0xff), [](io_events) {}); },
        "event_loop::watch: interest=0xff for fd=" + std::to_string(p.r) +
            " has unknown bits 0xf0");
    EXPECT_EQ(loop.active_watchers(), 0u);
    fd_watcher w = loop.watch(p.r, io_events::readable | io_events::error | io_events::hangup,
                              [](io_events) {});
    expect_usage_error([&] { w.set_interest(static_cast<io_events>(0x10)); },
                       "fd_watcher::set_interest: interest=0x10 for fd=" + std::to_string(p.r) +
                           " has unknown bits 0x10");
    EXPECT_EQ(w.interest(), io_events::readable);  // unchanged
    EXPECT_TRUE(w.active());
    w.set_interest(io_events::writable | io_events::error);
    EXPECT_EQ(w.interest(), io_events::writable);
}

// One watcher per descriptor: the new one is made before assignment lets go of the old one,
// so replacing takes a reset() first (as the guide says).
TEST(Handle, ReplacingAWatcherByAssignmentNeedsAResetFirst) {
    event_loop loop;
    pipe_pair p;
    fd_watcher w = loop.watch(p.r, io_events::readable, [](io_events) {});
    try {
        w = loop.watch(p.r, io_events::readable, [](io_events) {});
        ADD_FAILURE() << "a second watcher for one descriptor";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::file_exists) << e.what();
    }
    EXPECT_TRUE(w.active());  // the old one is intact
    w.reset();
    w = loop.watch(p.r, io_events::readable, [](io_events) {});
    EXPECT_TRUE(w.active());
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

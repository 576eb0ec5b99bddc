// tfd::embedded_timer: a timer inside the user's object, on real and virtual time.
#include "tfd/embedded_timer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "tfd/event_loop.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

event_loop make_virtual() {
    return event_loop(backend_kind::epoll, loop_options{.virtual_time = true});
}

void expect_einval(const std::function<void()>& f, const std::string& fragment) {
    try {
        f();
        ADD_FAILURE() << "no exception; expected one mentioning " << fragment;
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::invalid_argument) << e.what();
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
}

// A connection-like object with its idle timeout inside it.
struct connection {
    embedded_timer timeout;
    int timeouts = 0;
    nanoseconds seen_at{-1};
    event_loop* loop = nullptr;
    void on_timeout() {
        ++timeouts;
        seen_at = loop->now();
    }
};

TEST(EmbeddedTimer, IsAHookABindingAndEightBytesOfState) {
    EXPECT_EQ(sizeof(embedded_timer), 48u);
    embedded_timer t;
    EXPECT_FALSE(t.active());
    EXPECT_FALSE(t.has_callback());
    t.stop();  // idle: a no-op
    EXPECT_FALSE(t.active());
}

TEST(EmbeddedTimer, StartWithoutCallbackIsAPreconditionError) {
    event_loop loop = make_virtual();
    embedded_timer t;
    expect_einval([&] { t.start_after(loop, 1s); }, "no callback");
    expect_einval([&] { t.start_at(loop, loop.now() + 1s); }, "no callback");
    EXPECT_FALSE(t.active());
}

// A null function pointer would be called when the timer fires: refused where it is given.
TEST(EmbeddedTimer, NullFunctionPointerIsRefusedAtTheCall) {
    void (*no_function)() = nullptr;
    void (*no_function_taking_timer)(embedded_timer&) = nullptr;
    expect_einval([&] { embedded_timer t(no_function); },
                  "embedded_timer(callback): empty callback");
    expect_einval([&] { embedded_timer t(no_function_taking_timer); },
                  "embedded_timer(callback): empty callback");
    embedded_timer t;
    expect_einval([&] { t.set_callback(no_function); },
                  "embedded_timer::set_callback: empty callback");
    EXPECT_FALSE(t.has_callback());
    // A real function pointer is taken as before.
    static int runs = 0;
    t.set_callback(+[] { ++runs; });
    event_loop loop = make_virtual();
    t.start_after(loop, 1ms);
    loop.advance(1ms);
    EXPECT_EQ(runs, 1);
}

TEST(EmbeddedTimer, MemberFunctionCallbackRunsOnceAtItsDeadline) {
    event_loop loop = make_virtual();
    connection c;
    c.loop = &loop;
    c.timeout.set_callback<&connection::on_timeout>(&c);
    const nanoseconds start = loop.now();
    c.timeout.start_after(loop, 30s);
    EXPECT_TRUE(c.timeout.active());
    EXPECT_EQ(c.timeout.deadline(), start + 30s);
    EXPECT_EQ(loop.active_watchers(), 1u);
    loop.run();
    EXPECT_EQ(c.timeouts, 1);
    EXPECT_EQ(c.seen_at, start + 30s);
    EXPECT_FALSE(c.timeout.active());
    EXPECT_EQ(loop.active_watchers(), 0u);
}

TEST(EmbeddedTimer, LambdaMayTakeTheTimerAndRestartItself) {
    event_loop loop = make_virtual();
    int runs = 0;
    int* counter = &runs;
    embedded_timer t([counter](embedded_timer& self) {
        ++*counter;
        EXPECT_FALSE(self.active());  // idle while its callback runs: it may start again
    });
    t.start_after(loop, 1ms);
    loop.run();
    EXPECT_EQ(runs, 1);
}

TEST(EmbeddedTimer, RestartFromItsOwnCallback) {
    event_loop loop = make_virtual();
    struct ticker {
        embedded_timer timer;
        event_loop* loop;
        std::vector<nanoseconds> at;
        void tick() {
            at.push_back(loop->now());
            if (at.size() < 3) {
                timer.start_after(*loop, 10ms);
            }
        }
    } t{{}, &loop, {}};
    t.timer.set_callback<&ticker::tick>(&t);
    const nanoseconds start = loop.now();
    t.timer.start_after(loop, 10ms);
    loop.run();
    ASSERT_EQ(t.at.size(), 3u);
    EXPECT_EQ(t.at[0], start + 10ms);
    EXPECT_EQ(t.at[1], start + 20ms);
    EXPECT_EQ(t.at[2], start + 30ms);
}

TEST(EmbeddedTimer, StartsAtTimePointsOfEveryClock) {
    event_loop loop = make_virtual();
    std::vector<int> order;
    std::vector<int>* out = &order;
    embedded_timer steady([out] { out->push_back(1); });
    embedded_timer wall([out] { out->push_back(2); });
    embedded_timer boot([out] { out->push_back(3); });
    embedded_timer by_id([out] { out->push_back(4); });
    const auto steady_now = std::chrono::steady_clock::time_point(loop.now(clock_id::monotonic));
    const auto wall_now = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            loop.now(clock_id::realtime)));
    const auto boot_now = boottime_clock::time_point(loop.now(clock_id::boottime));
    steady.start_at(loop, steady_now + 1s);
    wall.start_at(loop, wall_now + 2s);
    boot.start_at(loop, boot_now + 3s);
    by_id.start_at(loop, loop.now(clock_id::boottime) + 4s, clock_id::boottime);
    loop.run();
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
}

TEST(EmbeddedTimer, StartOnAnActiveTimerMovesItsDeadline) {
    event_loop loop = make_virtual();
    struct state {
        event_loop* loop;
        nanoseconds fired{-1};
        void run() { fired = loop->now(); }
    } s{&loop};
    nanoseconds& fired = s.fired;
    embedded_timer t;
    t.set_callback<&state::run>(&s);
    const nanoseconds start = loop.now();
    t.start_after(loop, 1s);
    t.start_after(loop, 5s);  // pushed back
    EXPECT_EQ(loop.active_watchers(), 1u);
    loop.advance(2s);
    EXPECT_EQ(fired, nanoseconds(-1));
    t.start_after(loop, 1s);  // pulled in, from now + 2 s
    loop.run();
    EXPECT_EQ(fired, start + 3s);
}

TEST(EmbeddedTimer, EqualDeadlinesRunInStartOrderWithHandles) {
    event_loop loop = make_virtual();
    std::vector<int> order;
    std::vector<int>* out = &order;
    const nanoseconds at = loop.now() + 1s;
    embedded_timer a([out] { out->push_back(1); });
    embedded_timer b([out] { out->push_back(3); });
    a.start_at(loop, at);
    timer_watcher h = loop.at(
        at, [out](std::uint64_t) { out->push_back(2); }, clock_id::monotonic);
    b.start_at(loop, at);
    a.start_at(loop, at);  // a restart is a new start: a now runs last
    loop.run();
    EXPECT_EQ(order, (std::vector<int>{2, 3, 1}));
}

TEST(EmbeddedTimer, StopCancelsAndStopFromAnotherDueCallbackPreventsTheRun) {
    event_loop loop = make_virtual();
    int ran = 0;
    int* counter = &ran;
    embedded_timer second([counter] { ++*counter; });
    embedded_timer* victim = &second;
    embedded_timer first([victim] { victim->stop(); });
    const nanoseconds at = loop.now() + 1s;
    first.start_at(loop, at);
    second.start_at(loop, at);  // collected in the same pass as `first`
    loop.run();
    EXPECT_EQ(ran, 0);
    EXPECT_FALSE(second.active());

    second.start_after(loop, 1s);
    second.stop();
    second.stop();
    loop.run();
    EXPECT_EQ(ran, 0);
    EXPECT_EQ(loop.active_watchers(), 0u);
}

TEST(EmbeddedTimer, CallbackMayDestroyTheObjectAroundTheTimer) {
    event_loop loop = make_virtual();
    struct session {
        embedded_timer timeout;
        int* closed;
        void expire() {
            ++*closed;
            delete this;  // what a server does with an idle connection
        }
    };
    int closed = 0;
    for (int i = 0; i < 3; ++i) {
        auto* s = new session{{}, &closed};
        s->timeout.set_callback<&session::expire>(s);
        s->timeout.start_after(loop, std::chrono::milliseconds(i));
    }
    loop.run();
    EXPECT_EQ(closed, 3);
}

TEST(EmbeddedTimer, DestroyingAnActiveTimerStopsIt) {
    event_loop loop = make_virtual();
    int ran = 0;
    int* counter = &ran;
    {
        embedded_timer t([counter] { ++*counter; });
        t.start_after(loop, 1s);
        EXPECT_EQ(loop.active_watchers(), 1u);
    }
    EXPECT_EQ(loop.active_watchers(), 0u);
    loop.advance(2s);
    EXPECT_EQ(ran, 0);
}

TEST(EmbeddedTimer, DestroyedByAnotherCallbackWhileDue) {
    event_loop loop = make_virtual();
    int ran = 0;
    int* counter = &ran;
    auto doomed = std::make_unique<embedded_timer>([counter] { ++*counter; });
    std::unique_ptr<embedded_timer>* holder = &doomed;
    embedded_timer killer([holder] { holder->reset(); });
    const nanoseconds at = loop.now() + 1s;
    killer.start_at(loop, at);
    doomed->start_at(loop, at);
    loop.run();
    EXPECT_EQ(ran, 0);
    EXPECT_EQ(doomed, nullptr);
}

TEST(EmbeddedTimer, MovesOnlyWhileIdle) {
    event_loop loop = make_virtual();
    int ran = 0;
    int* counter = &ran;
    embedded_timer a([counter] { ++*counter; });
    embedded_timer b(std::move(a));  // idle: takes the callback
    EXPECT_TRUE(b.has_callback());
    b.start_after(loop, 1s);
    expect_einval([&] { embedded_timer c(std::move(b)); }, "active");
    embedded_timer d;
    expect_einval([&] { d = std::move(b); }, "source timer is active");
    expect_einval([&] { b = std::move(d); }, "target timer is active");
    expect_einval([&] { b.set_callback([] {}); }, "active");
    EXPECT_TRUE(b.active());
    loop.run();
    EXPECT_EQ(ran, 1);
}

TEST(EmbeddedTimer, MovesBetweenClocksAndLoops) {
    event_loop one = make_virtual();
    event_loop two = make_virtual();
    int ran = 0;
    int* counter = &ran;
    embedded_timer t([counter] { ++*counter; });
    t.start_after(one, 1s);
    t.start_after(one, 1s, clock_id::boottime);
    EXPECT_EQ(one.active_watchers(), 1u);
    t.start_after(two, 1s);
    EXPECT_EQ(one.active_watchers(), 0u);
    EXPECT_EQ(two.active_watchers(), 1u);
    one.run();
    EXPECT_EQ(ran, 0);
    two.run();
    EXPECT_EQ(ran, 1);
}

TEST(EmbeddedTimer, FiresOnRealTimeNeverEarly) {
    event_loop loop;
    nanoseconds seen{-1};
    nanoseconds* out = &seen;
    embedded_timer t([out] { *out = clock_now(clock_id::monotonic); });
    t.start_after(loop, 2ms);
    const nanoseconds deadline = t.deadline();
    loop.run();
    EXPECT_GE(seen, deadline);
}

// Past the 64-bit range a time saturates (never, here); a fraction of a nanosecond rounds
// up; only NaN is refused.
TEST(EmbeddedTimer, TimesRoundUpAndSaturate) {
    event_loop loop = make_virtual();
    embedded_timer t([] {});
    t.start_after(loop, std::chrono::duration<double>(1e30));
    EXPECT_TRUE(t.active());
    EXPECT_EQ(t.deadline(), nanoseconds::max());
    t.start_after(loop, std::chrono::duration<double>(0.5));
    EXPECT_EQ(t.deadline(), loop.now() + 500ms);
    t.start_after(loop, std::chrono::duration<double, std::nano>(0.5));
    EXPECT_EQ(t.deadline(), loop.now() + 1ns);
    t.stop();
    expect_einval([&] { t.start_after(loop, std::chrono::duration<double>(std::nan(""))); },
                  "embedded_timer::start_after: the time is NaN");
    EXPECT_FALSE(t.active());
}

#ifdef NDEBUG
TEST(EmbeddedTimer, ReleaseBuildLeavesATimerIdleWhenItsLoopGoesFirst) {
    embedded_timer t([] {});
    {
        event_loop loop = make_virtual();
        t.start_after(loop, 1s);
    }
    EXPECT_FALSE(t.active());
    event_loop other = make_virtual();
    t.start_after(other, 1s);  // bound afresh to the new loop
    EXPECT_TRUE(t.active());
    other.run();
    EXPECT_FALSE(t.active());
}
#else
TEST(EmbeddedTimerDeathTest, DebugBuildStopsWhenAnActiveTimerOutlivesItsLoop) {
    EXPECT_DEATH(
        {
            embedded_timer t([] {});
            auto loop = std::make_unique<event_loop>();
            t.start_after(*loop, 1s);
            loop.reset();
        },
        "destroyed while still in use: .* 1 active timer");
}
#endif

}  // namespace
}  // namespace tfd

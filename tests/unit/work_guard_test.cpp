// tfd::work_guard: outstanding cross-thread work keeps run() going and holds virtual time.
#include "tfd/work_guard.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "support/watchdog.hpp"
#include "tfd/event_loop.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

event_loop make_virtual() {
    return event_loop(backend_kind::epoll, loop_options{.virtual_time = true});
}

// Work handed to another thread holds the virtual clock: the loop waits for the result
// instead of jumping to the next deadline while the worker is busy.
TEST(WorkGuard, HoldsTheVirtualClockUntilTheWorkIsPosted) {
    test::watchdog dog(30s);
    event_loop loop = make_virtual();
    const nanoseconds start = loop.now();
    std::vector<std::string> events;
    timer_watcher timeout = loop.after(1s, [&](std::uint64_t) { events.push_back("timeout"); });
    work_guard guard(loop);
    EXPECT_TRUE(guard.active());
    nanoseconds result_seen_at{-1};
    std::thread worker([&loop, &events, &result_seen_at, g = std::move(guard)]() mutable {
        std::this_thread::sleep_for(50ms);  // real work, invisible to the loop
        loop.post([&] {
            events.push_back("result");
            result_seen_at = loop.now();
        });
        g.reset();
    });
    loop.run();
    worker.join();
    EXPECT_EQ(events, (std::vector<std::string>{"result", "timeout"}));
    EXPECT_EQ(result_seen_at, start);
    EXPECT_EQ(loop.now(), start + 1s);
}

TEST(WorkGuard, KeepsRunGoingWithNothingElseActive) {
    test::watchdog dog(30s);
    event_loop loop = make_virtual();
    work_guard guard(loop);
    bool posted = false;
    std::thread worker([&] {
        std::this_thread::sleep_for(20ms);
        loop.post([&] { posted = true; });
        loop.post([&] { guard.reset(); });  // released on the loop's thread this time
    });
    loop.run();  // without the guard it would return at once, before the post
    worker.join();
    EXPECT_TRUE(posted);
    EXPECT_FALSE(guard.active());
}

TEST(WorkGuard, MovesAndResetsOnce) {
    event_loop loop = make_virtual();
    work_guard a(loop);
    work_guard b(std::move(a));
    EXPECT_FALSE(a.active());
    EXPECT_TRUE(b.active());
    a = std::move(b);
    a.reset();
    a.reset();  // a no-op the second time
    EXPECT_FALSE(a.active());
    loop.run();  // nothing holds it: returns at once
}

}  // namespace
}  // namespace tfd

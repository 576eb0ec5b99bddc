#include "tfd/wait_timer.hpp"

#include <gtest/gtest.h>

namespace tfd {
namespace {

using namespace std::chrono_literals;

struct owner {
    detail::wait_timer timer;
    int fired = 0;
    void on_timer() noexcept { ++fired; }
};

TEST(CoroWaitTimer, FiresOnceAtItsDeadlineAndStops) {
    event_loop loop(backend_kind::epoll, loop_options{.virtual_time = true});
    owner o;
    std::chrono::nanoseconds start = loop.now();
    o.timer.start_after(loop, 2s, &o);
    EXPECT_TRUE(o.timer.active());
    loop.run();
    EXPECT_EQ(o.fired, 1);
    EXPECT_FALSE(o.timer.active());
    EXPECT_EQ(loop.now() - start, 2s);

    o.timer.start_at(loop, clock_id::realtime, loop.now(clock_id::realtime) + 1s, &o);
    o.timer.stop();
    loop.run();
    EXPECT_EQ(o.fired, 1);
}

TEST(CoroWaitTimer, FitsInTheFrameWithoutAHeapNode) {
    static_assert(sizeof(detail::wait_timer) == sizeof(embedded_timer));
    event_loop loop;
    owner o;
    o.timer.start_after(loop, 1h, &o);
    EXPECT_EQ(loop.active_watchers(), 1u);
    {
        owner other;
        other.timer.start_after(loop, 1h, &other);
        EXPECT_EQ(loop.active_watchers(), 2u);
    }  // destroyed while active: stopped
    EXPECT_EQ(loop.active_watchers(), 1u);
    o.timer.stop();
}

}  // namespace
}  // namespace tfd

// Counts heap allocations of embedded_timer: once a clock's timer_fd and binding exist,
// starting, restarting and stopping timers that live in the user's objects allocates nothing.
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <vector>

#include "counting_new.hpp"
#include "tfd/embedded_timer.hpp"
#include "tfd/event_loop.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;

struct connection {
    embedded_timer timeout;
    int timeouts = 0;
    void on_timeout() { ++timeouts; }
};

TEST(EmbeddedTimerAllocations, StartRestartAndStopAllocateNothing) {
    event_loop loop(backend_kind::epoll, loop_options{.virtual_time = true});
    std::vector<connection> conns(1000);
    for (connection& c : conns) {
        c.timeout.set_callback<&connection::on_timeout>(&c);
    }
    // The first start on a clock creates its timer_fd and binding; after that, nothing.
    conns[0].timeout.start_after(loop, 1s);
    conns[0].timeout.stop();
    const std::uint64_t before = test_alloc::heap_allocations();
    for (std::size_t i = 0; i < conns.size(); ++i) {
        conns[i].timeout.start_after(loop, std::chrono::seconds(1 + i % 100));
    }
    for (connection& c : conns) {
        c.timeout.start_after(loop, 200s);
    }
    for (connection& c : conns) {
        c.timeout.stop();
    }
#ifdef NDEBUG
    EXPECT_EQ(test_alloc::heap_allocations(), before);
#else
    (void)before;
    GTEST_SKIP() << "debug builds check the queue's invariants after each change, which allocates";
#endif
}

}  // namespace
}  // namespace tfd

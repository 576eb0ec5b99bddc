// Counts heap allocations of handle timers (event_loop::after/at): a one-shot callable of up
// to 24 bytes (three pointers of captures) takes a node from one of the loop's pools, so once
// the pools hold enough nodes, starting, firing and freeing such timers allocates nothing;
// a larger callable is moved to the heap, and the counter sees it.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "counting_new.hpp"
#include "tfd/event_loop.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;

// Starts `count` timers made by `make(i)` 1 ms apart on virtual time, runs them all, and
// returns how many heap allocations that took, after a first round that fills the pools.
template <class Make>
std::uint64_t allocations_for(std::size_t count, Make make) {
    event_loop loop(backend_kind::epoll, loop_options{.virtual_time = true});
    std::vector<timer_watcher> timers;
    timers.reserve(count);
    auto round = [&] {
        for (std::size_t i = 0; i < count; ++i) {
            timers.push_back(loop.after(std::chrono::milliseconds(1 + i), make(i)));
        }
        loop.run();
        timers.clear();
    };
    round();  // the clock's timer_fd and binding, the pools' chunks
    const std::uint64_t before = test_alloc::heap_allocations();
    round();
    return test_alloc::heap_allocations() - before;
}

TEST(TimerWatcherAllocations, CallablesUpToThreePointersAllocateNothing) {
#ifdef NDEBUG
    std::vector<int> hits(300);
    int extra = 0;
    int* base = hits.data();
    // 8 bytes: timer_callback in place.
    EXPECT_EQ(allocations_for(300, [&](std::size_t i) { return [p = base + i] { ++*p; }; }), 0u);
    // 16 bytes: a wide node.
    EXPECT_EQ(allocations_for(300,
                              [&](std::size_t i) {
                                  return [p = base + i, q = &extra](std::uint64_t) {
                                      ++*p;
                                      ++*q;
                                  };
                              }),
              0u);
    // 24 bytes, and move-only.
    EXPECT_EQ(allocations_for(300,
                              [&](std::size_t i) {
                                  return [p = base + i, q = &extra, r = std::unique_ptr<int>()] {
                                      ++*p;
                                      *q += r ? 1 : 2;
                                  };
                              }),
              0u);
    for (int h : hits) {
        EXPECT_EQ(h, 6);  // each index ran in both rounds of the three runs
    }
    EXPECT_EQ(extra, 2 * 300 + 2 * 2 * 300);
#else
    GTEST_SKIP() << "debug builds check the queue's invariants after each change, which allocates";
#endif
}

TEST(TimerWatcherAllocations, ALargerCallableIsMovedToTheHeap) {
#ifdef NDEBUG
    std::array<char, 40> state{};
    const std::uint64_t n = allocations_for(100, [&](std::size_t) {
        return [copy = state, p = &state]() mutable { (*p)[0] = copy[1]; };
    });
    EXPECT_EQ(n, 100u);
#else
    GTEST_SKIP() << "debug builds check the queue's invariants after each change, which allocates";
#endif
}

}  // namespace
}  // namespace tfd

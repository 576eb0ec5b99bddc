// The loop's pools of timer nodes (src/timer_pool.hpp) and event_loop::reserve_timers.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>

#include <cstdint>
#include <set>
#include <vector>

#include "loop_impl.hpp"
#include "tfd/event_loop.hpp"

namespace tfd::test {
namespace {

using namespace std::chrono_literals;

TEST(TimerPool, ReserveMakesRoomSoThatAllocationsDoNotGrowThePool) {
    detail::timer_pool<detail::one_shot_node> pool;
    EXPECT_EQ(pool.capacity(), 0u);
    pool.reserve(1000);
    const std::size_t capacity = pool.capacity();
    EXPECT_GE(capacity, 1000u);
    EXPECT_EQ(pool.free_blocks(), capacity);
    std::vector<void*> blocks;
    std::set<void*> distinct;
    for (int i = 0; i < 1000; ++i) {
        blocks.push_back(pool.allocate());
        distinct.insert(blocks.back());
    }
    EXPECT_EQ(pool.capacity(), capacity) << "an allocation within the reservation grew the pool";
    EXPECT_EQ(distinct.size(), 1000u);
    EXPECT_EQ(pool.free_blocks(), capacity - 1000);
    for (void* b : blocks) {
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b) % alignof(detail::one_shot_node), 0u);
        pool.deallocate(b);
    }
    EXPECT_EQ(pool.free_blocks(), capacity);
}

TEST(TimerPool, ReserveCountsOnlyFreeBlocks) {
    detail::timer_pool<detail::one_shot_node> pool;
    pool.reserve(10);
    const std::size_t capacity = pool.capacity();
    std::vector<void*> live;
    for (std::size_t i = 0; i < capacity; ++i) {
        live.push_back(pool.allocate());
    }
    EXPECT_EQ(pool.free_blocks(), 0u);
    pool.reserve(10);  // room for 10 more than are alive: grows
    EXPECT_GT(pool.capacity(), capacity);
    EXPECT_GE(pool.free_blocks(), 10u);
    const std::size_t grown = pool.capacity();
    pool.reserve(5);  // already there: no growth
    EXPECT_EQ(pool.capacity(), grown);
    for (void* b : live) {
        pool.deallocate(b);
    }
}

TEST(TimerPool, GrowsOnDemandWithoutReserve) {
    detail::timer_pool<detail::one_shot_node> pool;
    std::vector<void*> blocks;
    for (int i = 0; i < 3000; ++i) {
        blocks.push_back(pool.allocate());
    }
    EXPECT_GE(pool.capacity(), 3000u);
    for (void* b : blocks) {
        pool.deallocate(b);
    }
    EXPECT_EQ(pool.free_blocks(), pool.capacity());
}

TEST(TimerPool, WideBlocksHoldAWideNode) {
    detail::timer_pool<detail::wide_node> pool;
    void* a = pool.allocate();
    void* b = pool.allocate();
    const auto distance = static_cast<std::size_t>(
        std::max(a, b) == a ? static_cast<char*>(a) - static_cast<char*>(b)
                            : static_cast<char*>(b) - static_cast<char*>(a));
    EXPECT_GE(distance, sizeof(detail::wide_node));
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % alignof(detail::wide_node), 0u);
    pool.deallocate(a);
    pool.deallocate(b);
}

TEST(EventLoopReserve, ReservedTimersStartAndFireAsUsual) {
    event_loop loop;
    loop.reserve_timers(5000);
    int fired = 0;
    std::vector<timer_watcher> timers;
    for (int i = 0; i < 5000; ++i) {
        timers.push_back(
            loop.after(std::chrono::microseconds(i % 500), [&](std::uint64_t) { ++fired; }));
    }
    loop.run();
    EXPECT_EQ(fired, 5000);
    loop.reserve_timers(0);  // a no-op
}

// A count that cannot be met is refused with the count in the message (it used to be a bare
// std::bad_alloc, or the OOM killer), and the loop reserves nothing.
TEST(EventLoopReserve, ACountThatCannotBeMetIsRefusedNamingIt) {
    event_loop loop;
    auto expect_refused = [&](std::size_t count, std::errc code) {
        try {
            loop.reserve_timers(count);
            ADD_FAILURE() << "reserve_timers(" << count << ") returned";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), code) << e.what();
            EXPECT_EQ(std::string(e.what()).rfind(
                          "event_loop::reserve_timers: count=" + std::to_string(count) + " ", 0),
                      0u)
                << e.what();
        }
    };
    expect_refused(SIZE_MAX, std::errc::invalid_argument);
    constexpr std::size_t block = detail::timer_pool<detail::one_shot_node>::block_bytes();
    expect_refused(SIZE_MAX / block + 1, std::errc::invalid_argument);
    const auto memory = static_cast<std::size_t>(::sysconf(_SC_PHYS_PAGES)) *
                        static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    expect_refused(memory / block + 1, std::errc::not_enough_memory);
    // Still usable.
    int fired = 0;
    timer_watcher t = loop.after(0ms, [&] { ++fired; });
    loop.run();
    EXPECT_EQ(fired, 1);
}

// Under a memory limit the allocation fails part-way: ENOMEM naming the count, and the
// chunks already allocated are given back (the pool is as it was).
TEST(TimerPool, AFailedReserveKeepsNothing) {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "an address-space limit and AddressSanitizer's shadow memory do not mix";
#else
    // valgrind's allocator aborts where operator new would throw std::bad_alloc; it preloads
    // its own library, which says it is there.
    const char* preload = std::getenv("LD_PRELOAD");
    if (preload != nullptr && std::strstr(preload, "vgpreload") != nullptr) {
        GTEST_SKIP() << "under valgrind a failed allocation aborts instead of throwing";
    }
    EXPECT_EXIT(
        {
            detail::timer_pool<detail::one_shot_node> pool;
            pool.reserve(10);
            const std::size_t before = pool.capacity();
            rlimit limit{};
            ::getrlimit(RLIMIT_AS, &limit);
            limit.rlim_cur = 512u << 20;  // far below what 2^27 nodes take (7.5 GB)
            ::setrlimit(RLIMIT_AS, &limit);
            bool threw = false;
            try {
                pool.reserve(std::size_t{1} << 27);
            } catch (const std::bad_alloc&) {
                threw = true;
            }
            std::exit(threw && pool.capacity() == before && pool.free_blocks() == before ? 0 : 1);
        },
        ::testing::ExitedWithCode(0), "");
    EXPECT_EXIT(
        {
            event_loop loop;
            rlimit limit{};
            ::getrlimit(RLIMIT_AS, &limit);
            limit.rlim_cur = 512u << 20;
            ::setrlimit(RLIMIT_AS, &limit);
            try {
                loop.reserve_timers(std::size_t{1} << 27);
            } catch (const std::system_error& e) {
                std::exit(e.code() == std::errc::not_enough_memory &&
                                  std::string(e.what()).find("count=134217728") != std::string::npos
                              ? 0
                              : 2);
            }
            std::exit(1);
        },
        ::testing::ExitedWithCode(0), "");
#endif
}

}  // namespace
}  // namespace tfd::test

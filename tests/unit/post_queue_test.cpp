// The loop's post queue (src/post_queue.hpp), through event_loop::post.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tfd/event_loop.hpp"

namespace tfd {
namespace {

TEST(PostQueue, RunsInPostOrderAndWorkPostedByWorkWaitsForTheNextPass) {
    event_loop loop;
    std::vector<int> ran;
    loop.post([&] {
        ran.push_back(1);
        loop.post([&] { ran.push_back(3); });
    });
    loop.post([&] { ran.push_back(2); });
    loop.run_once();
    EXPECT_EQ(ran, (std::vector<int>{1, 2}));
    loop.run_once();
    EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
}

TEST(PostQueue, WorkThatThrowsKeepsTheRestAheadOfLaterPosts) {
    event_loop loop;
    std::vector<int> ran;
    loop.post([] { throw std::runtime_error("boom"); });
    loop.post([&] { ran.push_back(1); });
    EXPECT_THROW(loop.run_until_idle(), std::runtime_error);
    loop.post([&] { ran.push_back(2); });
    loop.run_until_idle();
    EXPECT_EQ(ran, (std::vector<int>{1, 2}));
}

TEST(PostQueue, MoveOnlyWorkFromAnotherThread) {
    event_loop loop;
    int sum = 0;
    std::thread other([&] {
        for (int i = 1; i <= 100; ++i) {
            auto value = std::make_unique<int>(i);
            loop.post([v = std::move(value), &sum] { sum += *v; });
        }
    });
    other.join();
    loop.run_until_idle();
    EXPECT_EQ(sum, 5050);
}

}  // namespace
}  // namespace tfd

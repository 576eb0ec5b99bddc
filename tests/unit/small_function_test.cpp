#include "tfd/small_function.hpp"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>

namespace tfd {
namespace {

TEST(SmallFunction, StoresSmallCallablesInPlaceAndLargeOnesOnTheHeap) {
    int counter = 0;
    auto small = [&counter](int add) { counter += add; };
    using fn = small_function<void(int), 8>;
    static_assert(fn::fits_inline<decltype(small)>());
    static_assert(sizeof(fn) == 16);
    std::array<char, 64> payload{};
    payload[0] = 5;
    auto large = [&counter, payload](int add) { counter += add * payload[0]; };
    static_assert(!fn::fits_inline<decltype(large)>());

    fn a = small;
    fn b = large;
    a(1);
    b(1);
    EXPECT_EQ(counter, 6);
}

TEST(SmallFunction, MovesTransferOwnershipAndDestroyOnce) {
    auto token = std::make_shared<int>(7);
    std::weak_ptr<int> watch = token;
    {
        small_function<int(), 16> f = [token = std::move(token)] { return *token; };
        small_function<int(), 16> g = std::move(f);
        EXPECT_FALSE(static_cast<bool>(f));
        EXPECT_EQ(g(), 7);
        small_function<int(), 16> h;
        h = std::move(g);
        EXPECT_EQ(h(), 7);
        EXPECT_FALSE(watch.expired());
    }
    EXPECT_TRUE(watch.expired());
}

TEST(SmallFunction, MoveOnlyCallablesAndReset) {
    auto owned = std::make_unique<std::string>("x");
    small_function<std::size_t(), 8> f = [p = std::move(owned)] { return p->size(); };
    EXPECT_EQ(f(), 1u);
    f.reset();
    EXPECT_FALSE(static_cast<bool>(f));
    small_function<void(), 8> empty = nullptr;
    EXPECT_FALSE(static_cast<bool>(empty));
}

}  // namespace
}  // namespace tfd

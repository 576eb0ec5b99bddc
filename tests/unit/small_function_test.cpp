#include "tfd/small_function.hpp"

#include <gtest/gtest.h>

#include <array>
#include <functional>
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

// As std::function does: a callable that holds nothing to call makes an empty wrapper, so
// the loop's "empty callback" checks see it (a non-empty wrapper around a null pointer would
// crash when called).
TEST(SmallFunction, NullPointersAndEmptyWrappersMakeAnEmptyFunction) {
    struct object {
        int value = 3;
        int get() const { return value; }
    };
    int (*no_function)(int) = nullptr;
    int (object::*no_member)() const = nullptr;
    int object::*no_field = nullptr;
    std::function<int(int)> no_std_function;
    small_function<int(int), 16> no_small_function;

    EXPECT_FALSE(static_cast<bool>(small_function<int(int), 16>(no_function)));
    EXPECT_FALSE(static_cast<bool>(small_function<int(const object&), 16>(no_member)));
    EXPECT_FALSE(static_cast<bool>(small_function<int(const object&), 16>(no_field)));
    EXPECT_FALSE(static_cast<bool>(small_function<int(int), 16>(no_std_function)));
    EXPECT_FALSE(static_cast<bool>(small_function<int(int), 8>(std::move(no_small_function))));
    EXPECT_FALSE(static_cast<bool>(small_function<void(int), 16>(no_function)));
#if defined(__cpp_lib_move_only_function)
    EXPECT_FALSE(
        static_cast<bool>(small_function<int(int), 16>(std::move_only_function<int(int)>{})));
#endif

    // The same kinds, holding something, are stored and called as before.
    int (*twice)(int) = [](int x) { return 2 * x; };
    small_function<int(int), 16> f = twice;
    small_function<int(const object&), 16> g = &object::get;
    small_function<int(const object&), 16> h = &object::value;
    small_function<int(int), 16> i = std::function<int(int)>(twice);
    small_function<int(int), 8> j = small_function<int(int), 16>(twice);
    ASSERT_TRUE(f && g && h && i && j);
    object o;
    EXPECT_EQ(f(4), 8);
    EXPECT_EQ(g(o), 3);
    EXPECT_EQ(h(o), 3);
    EXPECT_EQ(i(5), 10);
    EXPECT_EQ(j(6), 12);
    // A lambda is never empty, whatever it converts to.
    EXPECT_FALSE(detail::is_empty_callable([] {}));
}

}  // namespace
}  // namespace tfd

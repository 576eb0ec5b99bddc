// The loop's intrusive due list (src/due_list.hpp).
#include "due_list.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace tfd::detail {
namespace {

TEST(DueList, KeepsCollectionOrderAndRemovesFromAnywhere) {
    std::vector<timer_entry> e(5);
    due_list list;
    EXPECT_TRUE(list.empty());
    for (timer_entry& x : e) {
        EXPECT_TRUE(x.idle());
        list.push_back(x);
        EXPECT_TRUE(due_list::holds(x));
        EXPECT_FALSE(x.idle());
        EXPECT_FALSE(x.queued());  // held by the loop, not by a queue
    }
    EXPECT_EQ(list.size(), 5u);
    list.remove(e[2]);  // middle
    list.remove(e[4]);  // last: the tail moves back
    list.remove(e[0]);  // first
    EXPECT_TRUE(e[2].idle());
    list.push_back(e[4]);
    std::vector<timer_entry*> order;
    while (timer_entry* x = list.pop_front()) {
        EXPECT_TRUE(x->idle());
        order.push_back(x);
    }
    EXPECT_EQ(order, (std::vector<timer_entry*>{&e[1], &e[3], &e[4]}));
    EXPECT_TRUE(list.empty());
    EXPECT_EQ(list.size(), 0u);
}

TEST(DueList, ClearLeavesEveryEntryIdle) {
    std::vector<timer_entry> e(3);
    {
        due_list list;
        for (timer_entry& x : e) {
            list.push_back(x);
        }
    }  // the destructor clears
    for (timer_entry& x : e) {
        EXPECT_TRUE(x.idle());
    }
}

}  // namespace
}  // namespace tfd::detail

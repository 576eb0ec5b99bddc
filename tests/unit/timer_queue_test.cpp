#include "tfd/timer_queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

namespace tfd {
namespace {

using std::chrono::nanoseconds;
using kind = timer_queue::kind;

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t int64_min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t year_ns = 365LL * 24 * 3600 * 1'000'000'000LL;

// A timer the way a loop would keep one: the hook plus an id to check order by.
struct test_timer : timer_entry {
    int id = 0;
};

// Pops everything due at `now` and returns the ids in pop order.
std::vector<int> drain(timer_queue& q, std::int64_t now) {
    std::vector<int> ids;
    while (timer_entry* e = q.pop_due(nanoseconds(now))) {
        ids.push_back(static_cast<test_timer*>(e)->id);
    }
    return ids;
}

class TimerQueue : public ::testing::TestWithParam<kind> {
  protected:
    timer_queue q{GetParam()};
};

INSTANTIATE_TEST_SUITE_P(Kinds, TimerQueue, ::testing::Values(kind::wheel, kind::heap),
                         [](const auto& info) {
                             return info.param == kind::wheel ? "wheel" : "heap";
                         });

TEST(TimerEntry, IsFourWordsAndStartsUnqueued) {
    EXPECT_EQ(sizeof(timer_entry), 32u);
    test_timer t;
    EXPECT_FALSE(t.queued());
}

TEST_P(TimerQueue, EmptyHasNothing) {
    EXPECT_EQ(q.size(), 0u);
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.next_deadline(), std::nullopt);
    EXPECT_EQ(q.pop_due(nanoseconds(int64_max)), nullptr);
    EXPECT_EQ(q.get_kind(), GetParam());
}

TEST_P(TimerQueue, PopsInDeadlineOrderAndNeverEarly) {
    std::array<test_timer, 5> t;
    const std::array<std::int64_t, 5> deadlines{5'000'000'000, 7, 1'000'000, 123'456'789, 70'000};
    for (int i = 0; i < 5; ++i) {
        t[i].id = i;
        q.start(t[i], nanoseconds(deadlines[i]));
        EXPECT_TRUE(t[i].queued());
        EXPECT_EQ(t[i].deadline(), nanoseconds(deadlines[i]));
    }
    EXPECT_EQ(q.size(), 5u);
    EXPECT_EQ(q.next_deadline(), nanoseconds(7));
    EXPECT_EQ(drain(q, 6), std::vector<int>{});
    EXPECT_EQ(drain(q, 7), std::vector<int>{1});
    EXPECT_EQ(q.next_deadline(), nanoseconds(70'000));
    EXPECT_EQ(drain(q, 999'999), std::vector<int>{4});
    EXPECT_EQ(drain(q, 5'000'000'000), (std::vector<int>{2, 3, 0}));
    EXPECT_TRUE(q.empty());
    for (const test_timer& x : t) {
        EXPECT_FALSE(x.queued());
    }
}

TEST_P(TimerQueue, EqualDeadlinesPopInStartOrder) {
    std::vector<std::unique_ptr<test_timer>> t;
    for (int i = 0; i < 100; ++i) {
        t.push_back(std::make_unique<test_timer>());
        t.back()->id = i;
        q.start(*t.back(), nanoseconds(42'000'000));
    }
    std::vector<int> expected;
    for (int i = 0; i < 100; ++i) {
        expected.push_back(i);
    }
    EXPECT_EQ(drain(q, 42'000'000), expected);
}

TEST_P(TimerQueue, RefreshCountsAsANewStart) {
    std::array<test_timer, 3> t;
    for (int i = 0; i < 3; ++i) {
        t[i].id = i;
        q.start(t[i], nanoseconds(1000));
    }
    q.refresh(t[0], nanoseconds(1000));  // same deadline, but now last in line
    EXPECT_EQ(drain(q, 1000), (std::vector<int>{1, 2, 0}));
}

TEST_P(TimerQueue, RefreshMovesEarlierAndLaterAndQueuesAnUnqueuedEntry) {
    std::array<test_timer, 3> t;
    for (int i = 0; i < 3; ++i) {
        t[i].id = i;
    }
    q.refresh(t[0], nanoseconds(3'000'000'000));  // not queued: a plain start
    q.start(t[1], nanoseconds(2'000'000'000));
    q.start(t[2], nanoseconds(1'000'000'000));
    EXPECT_EQ(q.next_deadline(), nanoseconds(1'000'000'000));
    q.refresh(t[2], nanoseconds(4'000'000'000));  // later
    q.refresh(t[0], nanoseconds(500));            // much earlier
    EXPECT_EQ(q.size(), 3u);
    EXPECT_EQ(q.next_deadline(), nanoseconds(500));
    EXPECT_EQ(drain(q, int64_max), (std::vector<int>{0, 1, 2}));
}

TEST_P(TimerQueue, PushedBackTimeoutsFireAtTheirNewDeadlineOnly) {
    // The idle-timeout pattern: every refresh pushes the deadline back.  In the wheel the
    // entry stays in its old slot; when that slot comes up it must be re-filed, not fired.
    constexpr std::int64_t second = 1'000'000'000;
    std::array<test_timer, 4> t;
    for (int i = 0; i < 4; ++i) {
        t[i].id = i;
        q.start(t[i], nanoseconds(10 * second + i));
    }
    for (int round = 1; round <= 5; ++round) {
        for (int i = 0; i < 3; ++i) {  // t[3] is never refreshed
            q.refresh(t[i], nanoseconds((10 + 7 * round) * second + i));
        }
    }
    EXPECT_EQ(q.next_deadline(), nanoseconds(10 * second + 3));
    EXPECT_EQ(drain(q, 45 * second - 1), std::vector<int>{3});
    EXPECT_EQ(q.next_deadline(), nanoseconds(45 * second));
    EXPECT_EQ(drain(q, 45 * second + 1), (std::vector<int>{0, 1}));
    EXPECT_EQ(q.size(), 1u);
    q.refresh(t[2], nanoseconds(400 * second));  // far later: another level
    EXPECT_EQ(drain(q, 399 * second), std::vector<int>{});
    EXPECT_EQ(q.next_deadline(), nanoseconds(400 * second));
    EXPECT_EQ(drain(q, 400 * second), std::vector<int>{2});
}

TEST_P(TimerQueue, CancelRemovesAndIsANoOpWhenNotQueued) {
    std::array<test_timer, 3> t;
    for (int i = 0; i < 3; ++i) {
        t[i].id = i;
        q.start(t[i], nanoseconds((i + 1) * 1'000'000'000LL));
    }
    q.cancel(t[1]);
    EXPECT_FALSE(t[1].queued());
    q.cancel(t[1]);
    EXPECT_EQ(q.size(), 2u);
    EXPECT_EQ(q.next_deadline(), nanoseconds(1'000'000'000));
    q.cancel(t[0]);
    EXPECT_EQ(q.next_deadline(), nanoseconds(3'000'000'000));
    EXPECT_EQ(drain(q, int64_max), std::vector<int>{2});
}

TEST_P(TimerQueue, StartingAQueuedEntryIsRefused) {
    test_timer t;
    q.start(t, nanoseconds(10));
    EXPECT_THROW(q.start(t, nanoseconds(20)), std::invalid_argument);
    EXPECT_EQ(q.size(), 1u);
    EXPECT_EQ(t.deadline(), nanoseconds(10));
    q.cancel(t);
}

TEST_P(TimerQueue, ExtremeDeadlinesWork) {
    std::array<test_timer, 6> t;
    const std::array<std::int64_t, 6> deadlines{int64_max, int64_min,    -1,
                                                0,         30 * year_ns, int64_max - 1};
    for (int i = 0; i < 6; ++i) {
        t[i].id = i;
        q.start(t[i], nanoseconds(deadlines[i]));
    }
    EXPECT_EQ(q.next_deadline(), nanoseconds(int64_min));
    EXPECT_EQ(drain(q, 0), (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(drain(q, 30 * year_ns - 1), std::vector<int>{});
    EXPECT_EQ(q.next_deadline(), nanoseconds(30 * year_ns));
    EXPECT_EQ(drain(q, int64_max - 1), (std::vector<int>{4, 5}));
    EXPECT_EQ(drain(q, int64_max), std::vector<int>{0});
}

TEST_P(TimerQueue, PastDeadlinesStartedLaterStillComeOutInOrder) {
    std::array<test_timer, 4> t;
    for (int i = 0; i < 4; ++i) {
        t[i].id = i;
    }
    q.start(t[0], nanoseconds(10 * year_ns));
    EXPECT_EQ(q.next_deadline(), nanoseconds(10 * year_ns));  // the horizon moves far ahead
    q.start(t[1], nanoseconds(5));
    q.start(t[2], nanoseconds(2 * year_ns));
    q.start(t[3], nanoseconds(5));
    EXPECT_EQ(drain(q, int64_max), (std::vector<int>{1, 3, 2, 0}));
}

TEST_P(TimerQueue, DestroyingTheQueueLeavesEntriesUnqueued) {
    std::array<test_timer, 3> t;
    {
        timer_queue local(GetParam());
        local.start(t[0], nanoseconds(1));
        local.start(t[1], nanoseconds(5 * year_ns));
        local.start(t[2], nanoseconds(-7));
    }
    for (const test_timer& x : t) {
        EXPECT_FALSE(x.queued());
    }
}

TEST_P(TimerQueue, CancelledTimersDoNotPinMemory) {
    constexpr int n = 100'000;
    std::vector<test_timer> t(n);
    for (int i = 0; i < n; ++i) {
        q.start(t[i], nanoseconds(-1 - i));  // past deadlines: in the heap for both kinds
    }
    const std::size_t full = q.heap_capacity_bytes();
    EXPECT_GE(full, n * 16u);
    for (int i = 0; i < n; ++i) {
        q.cancel(t[i]);
    }
    EXPECT_TRUE(q.empty());
    EXPECT_LE(q.heap_capacity_bytes(), 4096u * 16u);
}

TEST_P(TimerQueue, CheckInvariantsPassesOnABusyQueue) {
    std::vector<test_timer> t(1000);
    for (std::size_t i = 0; i < t.size(); ++i) {
        q.start(t[i], nanoseconds(static_cast<std::int64_t>(i * 7919 % 1000) * 10'000'000));
    }
    q.check_invariants();
    ASSERT_TRUE(q.next_deadline().has_value());
    q.check_invariants();
    for (std::size_t i = 0; i < t.size(); i += 3) {
        q.cancel(t[i]);
    }
    q.check_invariants();
    while (q.pop_due(nanoseconds(int64_max)) != nullptr) {
    }
    q.check_invariants();
}

// 20,000 timers 20 to 22 s ahead land in one slot of level 3 (17.2 s wide).  Re-filing it
// with a budget of 100 takes about 200 calls; each meanwhile answers a lower bound no later than
// the earliest deadline, and the timers still come out in the same order as from a queue
// without a budget.
TEST(TimerQueueCascadeBudget, ALargeSlotIsRefiledOverManyCallsInTheSameOrder) {
    constexpr std::size_t n = 20'000;
    constexpr std::int64_t base = 20'000'000'000;  // 20 s
    std::vector<test_timer> budgeted(n);
    std::vector<test_timer> unlimited(n);
    timer_queue with_budget;
    timer_queue without;
    with_budget.set_cascade_budget(100);
    EXPECT_EQ(with_budget.cascade_budget(), 100u);
    EXPECT_EQ(without.cascade_budget(), 0u);
    for (std::size_t i = 0; i < n; ++i) {
        const nanoseconds d(base + static_cast<std::int64_t>(i * 7919 % n) * 100'000);
        budgeted[i].id = unlimited[i].id = static_cast<int>(i);
        with_budget.start(budgeted[i], d);
        without.start(unlimited[i], d);
    }
    const std::int64_t earliest = base;

    std::size_t calls = 1;
    std::optional<nanoseconds> next = with_budget.next_deadline();
    while (with_budget.cascading() && next != nanoseconds(earliest)) {
        ASSERT_TRUE(next.has_value());
        EXPECT_LE(next->count(), earliest);
        with_budget.check_invariants();  // I1-I6 hold between the steps too
        next = with_budget.next_deadline();
        ++calls;
    }
    EXPECT_EQ(next, nanoseconds(earliest));
    // The level-3 slot takes 200 calls; the level-2 slot the earliest timers then sit in
    // (about 2,500 timers), 25 more.
    EXPECT_GE(calls, n / 100) << "a call re-filed more than its budget";
    EXPECT_LE(calls, n / 100 + 60) << "the budget was not spent";

    EXPECT_EQ(without.next_deadline(), nanoseconds(earliest));
    EXPECT_FALSE(without.cascading());  // no budget: one call does it all

    std::vector<int> got;
    for (;;) {  // as drain(), asking again while the budget cuts a cascade short
        timer_entry* e = with_budget.pop_due(nanoseconds(int64_max));
        if (e != nullptr) {
            got.push_back(static_cast<test_timer*>(e)->id);
        } else if (!with_budget.cascading()) {
            break;
        }
    }
    EXPECT_EQ(got, drain(without, int64_max));
    EXPECT_EQ(got.size(), n);
    EXPECT_TRUE(with_budget.empty());
}

// Entries cancelled, refreshed or started while a slot is half re-filed are handled like any
// other: the cancelled never come out, and the rest come out in (deadline, start) order.
TEST(TimerQueueCascadeBudget, ChangesBetweenTheStepsKeepTheOrder) {
    constexpr std::size_t n = 5'000;
    constexpr std::int64_t base = 20'000'000'000;
    std::vector<test_timer> t(n);
    timer_queue q;
    q.set_cascade_budget(64);
    for (std::size_t i = 0; i < n; ++i) {
        t[i].id = static_cast<int>(i);
        q.start(t[i], nanoseconds(base + static_cast<std::int64_t>(i % 97) * 1'000'000));
    }
    (void)q.next_deadline();
    ASSERT_TRUE(q.cascading());
    std::vector<bool> cancelled(n, false);
    std::vector<std::int64_t> deadline(n);
    for (std::size_t i = 0; i < n; ++i) {
        deadline[i] = t[i].deadline().count();
    }
    for (std::size_t i = 0; i < n && q.cascading(); i += 7) {
        if (i % 3 == 0) {
            q.cancel(t[i]);
            cancelled[i] = true;
        } else {
            deadline[i] = base + static_cast<std::int64_t>(i % 13) * 500'000;  // earlier or later
            q.refresh(t[i], nanoseconds(deadline[i]));
        }
        EXPECT_EQ(q.pop_due(nanoseconds(0)), nullptr);  // nothing is due at 0
        (void)q.next_deadline();                        // the cascade goes on
    }
    q.check_invariants();
    std::int64_t last = 0;
    std::size_t popped = 0;
    for (;;) {
        timer_entry* e = q.pop_due(nanoseconds(int64_max));
        if (e == nullptr) {
            if (q.cascading()) {
                continue;
            }
            break;
        }
        const auto id = static_cast<std::size_t>(static_cast<test_timer*>(e)->id);
        EXPECT_FALSE(cancelled[id]) << id;
        EXPECT_EQ(e->deadline().count(), deadline[id]);
        EXPECT_GE(e->deadline().count(), last);
        last = e->deadline().count();
        ++popped;
    }
    EXPECT_EQ(popped,
              n - static_cast<std::size_t>(std::count(cancelled.begin(), cancelled.end(), true)));
    EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace tfd

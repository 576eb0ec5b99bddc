// Contract: on every backend, a wall-clock change reported by the realtime timer_fd
// (TFD_TIMER_CANCEL_ON_SET, ECANCELED on read) makes the loop re-collect and re-arm its
// realtime timers, and lateness() counts every timer run.
#include <algorithm>
#include <cerrno>
#include <vector>

#include "contract.hpp"
#include "support/fault_injection.hpp"

namespace tfd::test {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

class ClockChangeContract : public loop_contract {};
TFD_ALL_BACKENDS(ClockChangeContract);

TEST_P(ClockChangeContract, CancelledRealtimeTimerFdIsReArmed) {
    int changes = 0;
    std::vector<int> fired;
    loop.on_clock_change([&] { ++changes; });
    const nanoseconds now = loop.now(clock_id::realtime);
    timer_watcher first = loop.at(
        now + 10ms, [&](std::uint64_t) { fired.push_back(1); }, clock_id::realtime);
    timer_watcher second = loop.at(
        now + 30ms, [&](std::uint64_t) { fired.push_back(2); }, clock_id::realtime);
    timer_watcher mono = loop.after(20ms, [&](std::uint64_t) { fired.push_back(3); });
    {
        scoped_fault cancelled(sys::call::read, -1, ECANCELED, 1);
        while (fired.empty()) {
            loop.run_once();
        }
    }
    loop.run();
    // The injected one, plus any real change: tests in other processes (ctest -j) set the
    // wall clock, and every cancel_on_set timer_fd on the machine hears of it.
    EXPECT_GE(changes, 1);
    // 1 then 3 then 2 unless a stalled machine made several due in one pass; the first is
    // always 1 (realtime timers are collected first), and every timer runs once.
    ASSERT_EQ(fired.size(), 3u);
    EXPECT_EQ(fired[0], 1);
    std::sort(fired.begin(), fired.end());
    EXPECT_EQ(fired, (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(loop.lateness().count(), 3u);
    EXPECT_EQ(loop.lateness().negatives(), 0u);
}

}  // namespace
}  // namespace tfd::test

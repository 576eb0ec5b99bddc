// EINTR on every kind of call the loop makes while it waits, reads and writes, on every
// backend: one call in two of the chosen kind fails with EINTR while the loop runs one-shot
// and periodic timers, serves a TCP echo client and takes posted work from another thread.
// Nothing may be lost (every timer fires once, never early; every line is answered; every
// posted function runs, and a lone post still wakes an idle loop) and the loop must not spin.
//
// close(2) is not among the calls: on Linux it releases the descriptor even when it reports
// EINTR, which an injected answer cannot imitate.  Calls that never fail with EINTR
// (epoll_ctl, timerfd_settime, ...) are left out as well.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <tuple>

#include "fault_support.hpp"
#include "support/fault_injection.hpp"
#include "tfd/event_loop.hpp"

namespace tfd::test {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

struct one_shot {
    event_loop* loop = nullptr;
    nanoseconds deadline{};
    nanoseconds fired{};
    int count = 0;
};

struct periodic {
    event_loop* loop = nullptr;
    nanoseconds start{};      // just before the timer started: its anchor is at most this late
    std::uint64_t ticks = 0;  // calls plus the overruns they reported
    nanoseconds last{};       // the last call, from `start`
};

// 50 request/reply round trips on one connection; returns how many were answered correctly.
int echo_round_trips(std::uint16_t port) {
    client c;
    if (!c.connect(port)) {
        return 0;
    }
    int good = 0;
    for (int i = 0; i < 50; ++i) {
        std::string line = "line " + std::to_string(i);
        std::string want = "echo " + line + "\n";
        if (!c.send(line + "\n") || c.receive(want.size(), 5s) != want) {
            break;
        }
        ++good;
    }
    return good;
}

class fault_eintr : public ::testing::TestWithParam<std::tuple<backend_kind, const char*>> {
  protected:
    sys::call target() const {
        std::string name = std::get<1>(GetParam());
        if (name == "wait") {
            return wait_call_of(std::get<0>(GetParam()));
        }
        if (name == "read") {
            return sys::call::read;
        }
        if (name == "write") {
            return sys::call::write;
        }
        if (name == "recv") {
            return sys::call::recv;
        }
        if (name == "send") {
            return sys::call::send;
        }
        return sys::call::accept;
    }
};

TEST_P(fault_eintr, nothing_lost_and_no_spin) {
    event_loop loop(std::get<0>(GetParam()));
    echo_server server(loop);

    // Phase 1: timers, an echo client and a burst of posts, all at once.
    std::array<one_shot, 20> shots;
    std::array<timer_watcher, shots.size()> shot_watchers;
    nanoseconds start = loop.now();
    for (std::size_t i = 0; i < shots.size(); ++i) {
        shots[i].loop = &loop;
        shots[i].deadline = start + nanoseconds(2ms) * (i + 1) + nanoseconds(137 * i);
        shot_watchers[i] = loop.at(
            shots[i].deadline,
            [s = &shots[i]](auto) {
                ++s->count;
                s->fired = s->loop->now();
            },
            clock_id::monotonic);
    }
    periodic tick{&loop, loop.now()};
    timer_watcher ticker = loop.every(5ms, [t = &tick](std::uint64_t overruns) {
        t->ticks += 1 + overruns;
        t->last = t->loop->now() - t->start;
    });

    fault_plan faults({{target(), -1, EINTR, 2}});
    struct progress {
        event_loop* loop;
        nanoseconds start;
        std::atomic<int> echoed{-1};
        std::atomic<int> posted_ran{0};
        std::atomic<bool> posting_done{false};
    } state{&loop, start};
    std::atomic<int>& echoed = state.echoed;
    std::atomic<int>& posted_ran = state.posted_ran;
    std::atomic<bool>& posting_done = state.posting_done;
    std::jthread echo([&] { echoed = echo_round_trips(server.port()); });
    std::jthread poster([&] {
        for (int i = 0; i < 100; ++i) {
            loop.post([&] { ++posted_ran; });
            std::this_thread::sleep_for(300us);
        }
        posting_done = true;
    });
    timer_watcher done_check = loop.every(10ms, [p = &state](std::uint64_t) {
        if (p->echoed >= 0 && p->posting_done && p->posted_ran == 100 &&
            p->loop->now() > p->start + 100ms) {
            p->loop->stop();
        }
    });
    nanoseconds cpu_before = thread_cpu_time();
    loop.run_for(20s);
    nanoseconds wall = loop.now() - start;
    nanoseconds cpu = thread_cpu_time() - cpu_before;
    echo.join();
    poster.join();

    EXPECT_EQ(echoed, 50) << "echo round trips answered";
    EXPECT_EQ(posted_ran, 100);
    for (const one_shot& s : shots) {
        EXPECT_EQ(s.count, 1);
        EXPECT_GE(s.fired, s.deadline) << "a timer fired early";
    }
    std::uint64_t expected_ticks = static_cast<std::uint64_t>(tick.last / 5ms);
    EXPECT_GE(tick.ticks + 1, expected_ticks)
        << "periodic ticks lost over " << wall.count() << " ns";
    EXPECT_LE(tick.ticks, expected_ticks);
    EXPECT_GT(faults.fired(0), 0) << "the fault never fired: the test did not test anything";
    EXPECT_LT(cpu, wall / 2) << "the loop thread was busy most of the time: spinning?";

    // Phase 2: an idle loop (no timers) must still wake for each lone post, promptly.
    shot_watchers = {};
    ticker.reset();
    done_check.reset();
    std::atomic<int> woken{0};
    std::atomic<int> missed{0};
    std::jthread lone([&] {
        for (int i = 0; i < 10; ++i) {
            int before = woken;
            loop.post([&] { ++woken; });
            auto end = std::chrono::steady_clock::now() + 1s;
            while (woken == before && std::chrono::steady_clock::now() < end) {
                std::this_thread::sleep_for(100us);
            }
            missed += woken == before ? 1 : 0;
        }
        loop.post([&] { loop.stop(); });
    });
    loop.run_for(15s);
    lone.join();
    EXPECT_EQ(missed, 0) << "posts that did not wake the idle loop within 1 s";
    EXPECT_EQ(woken, 10);
}

INSTANTIATE_TEST_SUITE_P(
    every_call, fault_eintr,
    ::testing::Combine(::testing::Values(backend_kind::epoll, backend_kind::poll,
                                         backend_kind::select),
                       ::testing::Values("wait", "read", "write", "recv", "send", "accept")),
    [](const auto& info) {
        return std::string(to_string(std::get<0>(info.param))) + "_" + std::get<1>(info.param);
    });

}  // namespace
}  // namespace tfd::test

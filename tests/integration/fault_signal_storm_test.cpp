// A 10 kHz signal storm while timers run: a second thread sends the loop's thread SIGUSR1
// (caught by a handler, so the loop's waits keep failing with EINTR) and SIGUSR2 (watched
// through the loop's signalfd) every 100 us each.  No timer may be lost or fire early, and
// the periodic timer must account for every period.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include "tfd/event_loop.hpp"

namespace tfd::test {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

std::atomic<long> handled_usr1{0};

extern "C" void count_usr1(int) {
    handled_usr1.fetch_add(1, std::memory_order_relaxed);
}
extern "C" void ignore_signal(int) {}

struct one_shot {
    event_loop* loop = nullptr;
    nanoseconds deadline{};
    nanoseconds fired{};
    int count = 0;
};

class fault_signal_storm : public ::testing::TestWithParam<backend_kind> {
  protected:
    void SetUp() override {
        struct sigaction action {};
        action.sa_handler = count_usr1;  // no SA_RESTART: interrupted waits fail with EINTR
        ::sigemptyset(&action.sa_mask);
        ::sigaction(SIGUSR1, &action, &saved_usr1_);
        action.sa_handler = ignore_signal;  // an instance left pending after the watcher stops
        ::sigaction(SIGUSR2, &action, &saved_usr2_);
    }
    void TearDown() override {
        ::sigaction(SIGUSR1, &saved_usr1_, nullptr);
        ::sigaction(SIGUSR2, &saved_usr2_, nullptr);
    }
    struct sigaction saved_usr1_ {};
    struct sigaction saved_usr2_ {};
};

TEST_P(fault_signal_storm, no_timer_lost_or_early) {
    event_loop loop(GetParam());
    long watched_usr2 = 0;
    signal_watcher usr2 =
        loop.on_signal(SIGUSR2, [p = &watched_usr2](const signal_info&) { ++*p; });

    std::mt19937_64 random(7);
    std::vector<one_shot> shots(300);
    std::vector<timer_watcher> watchers;
    nanoseconds start = loop.now();
    for (one_shot& s : shots) {
        s.loop = &loop;
        s.deadline = start + 1ms + nanoseconds(random() % 600'000'000);
        watchers.push_back(loop.at(
            s.deadline,
            [p = &s](std::uint64_t) {
                ++p->count;
                p->fired = p->loop->now();
            },
            clock_id::monotonic));
    }
    // Ticks (calls plus reported overruns) and the time of the last call, measured from
    // just before the periodic timer started (its schedule's anchor is at most that late).
    struct periodic {
        event_loop* loop;
        nanoseconds start;
        std::uint64_t ticks = 0;
        nanoseconds last{};
    } tick{&loop, loop.now()};
    timer_watcher ticker = loop.every(3ms, [p = &tick](std::uint64_t overruns) {
        p->ticks += 1 + overruns;
        p->last = p->loop->now() - p->start;
    });

    pthread_t target = ::pthread_self();
    std::atomic<bool> storming{true};
    std::atomic<long> sent{0};
    long before_usr1 = handled_usr1.load();
    std::jthread storm([&] {
        timespec next{};
        ::clock_gettime(CLOCK_MONOTONIC, &next);
        while (storming) {
            next.tv_nsec += 100'000;
            if (next.tv_nsec >= 1'000'000'000) {
                next.tv_nsec -= 1'000'000'000;
                ++next.tv_sec;
            }
            ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
            ::pthread_kill(target, SIGUSR1);
            ::pthread_kill(target, SIGUSR2);
            ++sent;
        }
    });
    loop.run_for(700ms);
    ticker.reset();
    storming = false;
    storm.join();
    loop.run_for(20ms);  // drain what the signalfd still holds
    long usr1 = handled_usr1.load() - before_usr1;

    std::vector<std::int64_t> lateness;
    int lost = 0;
    int early = 0;
    for (const one_shot& s : shots) {
        lost += s.count != 1 ? 1 : 0;
        early += s.count == 1 && s.fired < s.deadline ? 1 : 0;
        if (s.count == 1) {
            lateness.push_back((s.fired - s.deadline).count());
        }
    }
    std::sort(lateness.begin(), lateness.end());
    std::int64_t p99 = lateness.empty() ? 0 : lateness[lateness.size() * 99 / 100];
    std::printf(
        "storm: %ld ticks sent, %ld SIGUSR1 handled, %ld SIGUSR2 watched; one-shot "
        "lateness p50 %.1f us, p99 %.1f us, max %.1f us\n",
        sent.load(), usr1, watched_usr2,
        lateness.empty() ? 0.0 : lateness[lateness.size() / 2] / 1e3, p99 / 1e3,
        lateness.empty() ? 0.0 : lateness.back() / 1e3);
    EXPECT_EQ(lost, 0) << "timers that did not fire exactly once";
    EXPECT_EQ(early, 0) << "timers that fired before their deadline";
    EXPECT_LT(p99, nanoseconds(250ms).count())
        << "p99 lateness (generous bound: only a stalled loop fails)";
    // Every period up to the last call is accounted for, none twice.
    std::uint64_t periods = static_cast<std::uint64_t>(tick.last / 3ms);
    EXPECT_GE(tick.ticks + 1, periods) << "periodic ticks lost";
    EXPECT_LE(tick.ticks, periods);
    EXPECT_GT(periods, 100u);
    EXPECT_GT(sent.load(), 1000) << "the storm did not happen";
    // Pending signals of one kind merge, so on an overloaded machine (the loop thread off the
    // CPU for milliseconds) far fewer are handled than sent: the bounds only make sure that the
    // storm really interrupted the loop, many times.
    EXPECT_GT(usr1, 100) << "few signals interrupted the loop: the test tested little";
    EXPECT_GT(watched_usr2, 20);
}

INSTANTIATE_TEST_SUITE_P(backends, fault_signal_storm,
                         ::testing::Values(backend_kind::epoll, backend_kind::poll,
                                           backend_kind::select),
                         [](const auto& info) { return std::string(to_string(info.param)); });

}  // namespace
}  // namespace tfd::test

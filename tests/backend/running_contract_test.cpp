// Contract: running, stopping, posting, signals, nesting and exceptions on every backend.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "backend/contract.hpp"

namespace tfd::test {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

class RunContract : public loop_contract {};
TFD_ALL_BACKENDS(RunContract);

TEST_P(RunContract, RunReturnsWhenNothingIsLeft) {
    int calls = 0;
    timer_watcher t = loop.after(1ms, [&](std::uint64_t) { ++calls; });
    loop.run();
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(loop.active_watchers(), 0u);
    EXPECT_FALSE(loop.run_once());
}

TEST_P(RunContract, RunForWaitsOutTheDuration) {
    nanoseconds start = loop.now();
    loop.run_for(30ms);
    EXPECT_GE(loop.now() - start, 30ms);
}

TEST_P(RunContract, StopFromACallbackEndsRunAfterThePass) {
    int calls = 0;
    timer_watcher t = loop.every(1ms, [&](std::uint64_t) {
        if (++calls == 3) {
            loop.stop();
        }
    });
    loop.run();
    EXPECT_EQ(calls, 3);
    EXPECT_TRUE(t.active());
}

TEST_P(RunContract, PostAndStopFromAnotherThreadWakeTheLoop) {
    std::vector<int> order;
    timer_watcher keepalive = loop.after(1h, [](std::uint64_t) {});
    std::thread other([&] {
        std::this_thread::sleep_for(20ms);
        for (int i = 0; i < 5; ++i) {
            loop.post([&order, i] { order.push_back(i); });
        }
        loop.post([this] { loop.stop(); });
    });
    loop.run();
    other.join();
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_P(RunContract, StopFromAnotherThreadWhileWaiting) {
    timer_watcher keepalive = loop.after(1h, [](std::uint64_t) {});
    std::thread other([&] {
        std::this_thread::sleep_for(20ms);
        loop.stop();
    });
    nanoseconds start = loop.now();
    loop.run();
    other.join();
    EXPECT_LT(loop.now() - start, 30min);
}

TEST_P(RunContract, ManyThreadsPostConcurrently) {
    std::atomic<int> done{0};
    int ran = 0;
    timer_watcher keepalive = loop.after(1h, [](std::uint64_t) {});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 1000; ++i) {
                loop.post([&] { ++ran; });
            }
            if (done.fetch_add(1) == 3) {
                loop.post([this] { loop.stop(); });
            }
        });
    }
    loop.run();
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(ran, 4000);
}

TEST_P(RunContract, NestedRunIsRefused) {
    int refused = 0;
    timer_watcher t = loop.after(0ns, [&](std::uint64_t) {
        for (int i = 0; i < 3; ++i) {
            try {
                if (i == 0) {
                    loop.run();
                } else if (i == 1) {
                    loop.run_once();
                } else {
                    loop.run_for(1ms);
                }
            } catch (const std::system_error& e) {
                EXPECT_EQ(e.code(), std::errc::resource_deadlock_would_occur);
                ++refused;
            }
        }
    });
    loop.run();
    EXPECT_EQ(refused, 3);
}

TEST_P(RunContract, ExceptionPropagatesAndTheLoopStaysUsable) {
    std::vector<int> ran;
    nanoseconds deadline = loop.now() + 2ms;
    timer_watcher a = loop.at(
        deadline,
        [&](std::uint64_t) {
            ran.push_back(1);
            loop.post([&] { ran.push_back(3); });
            throw std::runtime_error("boom");
        },
        clock_id::monotonic);
    timer_watcher b = loop.at(
        deadline, [&](std::uint64_t) { ran.push_back(2); }, clock_id::monotonic);
    EXPECT_THROW(loop.run(), std::runtime_error);
    EXPECT_EQ(ran, std::vector<int>{1});
    loop.run();  // the second due timer and the posted work were kept
    EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));

    auto x_y = socket_pair();
    unique_fd& x = x_y.first;
    unique_fd& y = x_y.second;
    int fd_calls = 0;
    fd_watcher w = loop.watch(x.get(), io_events::readable, [&](io_events) {
        if (++fd_calls == 1) {
            throw std::runtime_error("fd boom");
        }
        w.stop();
    });
    send_byte(y);
    EXPECT_THROW(loop.run(), std::runtime_error);
    loop.run();  // level-triggered: the unread byte is reported again
    EXPECT_EQ(fd_calls, 2);
}

TEST_P(RunContract, ThrowingPostedWorkKeepsTheRest) {
    std::vector<int> ran;
    loop.post([&] {
        ran.push_back(1);
        throw std::runtime_error("posted");
    });
    loop.post([&] { ran.push_back(2); });
    EXPECT_THROW(loop.run(), std::runtime_error);
    loop.run();
    EXPECT_EQ(ran, (std::vector<int>{1, 2}));
}

bool blocked(int signo) {
    sigset_t current;
    pthread_sigmask(SIG_SETMASK, nullptr, &current);
    return sigismember(&current, signo) == 1;
}

TEST_P(RunContract, SignalsArriveThroughTheSignalfd) {
    ASSERT_FALSE(blocked(SIGUSR1));
    std::vector<int> seen;
    signal_watcher s = loop.on_signal(SIGUSR1, [&](const signal_info& info) {
        seen.push_back(info.signo);
        EXPECT_EQ(info.pid, ::getpid());
    });
    EXPECT_TRUE(blocked(SIGUSR1)) << "the watcher blocks the signal in the loop thread";
    ASSERT_EQ(pthread_kill(pthread_self(), SIGUSR1), 0);
    loop.run_once();
    EXPECT_EQ(seen, std::vector<int>{SIGUSR1});
    s.stop();
    EXPECT_FALSE(blocked(SIGUSR1)) << "stopping restores the previous mask";
}

TEST_P(RunContract, SignalAlreadyBlockedStaysBlocked) {
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, SIGUSR2);
    ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &only, nullptr), 0);
    {
        signal_watcher s = loop.on_signal(SIGUSR2, [](const signal_info&) {});
        EXPECT_THROW((void)loop.on_signal(SIGUSR2, [](const signal_info&) {}), std::system_error);
    }
    EXPECT_TRUE(blocked(SIGUSR2));
    ASSERT_EQ(pthread_sigmask(SIG_UNBLOCK, &only, nullptr), 0);
}

TEST_P(RunContract, TwoSignalsOneSignalfd) {
    std::vector<int> seen;
    signal_watcher a =
        loop.on_signal(SIGUSR1, [&](const signal_info& i) { seen.push_back(i.signo); });
    signal_watcher b = loop.on_signal(SIGUSR2, [&](const signal_info& i) {
        seen.push_back(i.signo);
        a.stop();  // stopping another watcher from a signal callback
    });
    ASSERT_EQ(pthread_kill(pthread_self(), SIGUSR2), 0);
    loop.run_once();
    EXPECT_EQ(seen, std::vector<int>{SIGUSR2});
    EXPECT_FALSE(blocked(SIGUSR1));
    b.stop();
    EXPECT_FALSE(blocked(SIGUSR2));
}

TEST_P(RunContract, InvalidSignalsAreRefused) {
    EXPECT_THROW((void)loop.on_signal(0, [](const signal_info&) {}), std::system_error);
    EXPECT_THROW((void)loop.on_signal(SIGKILL, [](const signal_info&) {}), std::system_error);
    EXPECT_THROW((void)loop.on_signal(NSIG, [](const signal_info&) {}), std::system_error);
}

}  // namespace
}  // namespace tfd::test

// The loop's signal set (src/signal_set.hpp): which signals it refuses, and one watcher per
// signal per thread, across loops, since the signal mask is the thread's.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <string>
#include <system_error>

#include "tfd/event_loop.hpp"

namespace tfd {
namespace {

bool blocked(int signo) {
    sigset_t current;
    pthread_sigmask(SIG_SETMASK, nullptr, &current);
    return sigismember(&current, signo) == 1;
}

std::string refusal(event_loop& loop, int signo) {
    try {
        signal_watcher s = loop.on_signal(signo, [](const signal_info&) {});
    } catch (const std::system_error& e) {
        return e.what();
    }
    return "accepted";
}

TEST(SignalSet, RefusalsNameTheSignalAndWhy) {
    event_loop loop;
    EXPECT_EQ(refusal(loop, SIGKILL),
              "event_loop::on_signal: signo=9 (SIGKILL) can be neither caught nor blocked: "
              "Invalid argument");
    EXPECT_EQ(refusal(loop, SIGSEGV),
              "event_loop::on_signal: signo=11 (SIGSEGV) reports a fault, which no signalfd "
              "receives: Invalid argument");
    EXPECT_EQ(refusal(loop, 0), "event_loop::on_signal: signo=0 is not a signal number (1 to " +
                                    std::to_string(NSIG - 1) + "): Invalid argument");
    EXPECT_EQ(refusal(loop, SIGRTMIN + 1), "accepted");  // real-time signals have no name
}

// A second loop on the same thread may not watch a signal the first watches: the first
// one's stop() would unblock it while the second still counts on it.
TEST(SignalSet, ASignalIsWatchedByOneLoopPerThread) {
    event_loop first;
    event_loop second;
    signal_watcher a = first.on_signal(SIGUSR1, [](const signal_info&) {});
    try {
        signal_watcher b = second.on_signal(SIGUSR1, [](const signal_info&) {});
        FAIL() << "a second loop watched SIGUSR1";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::file_exists);
        EXPECT_NE(std::string(e.what()).find("signo=10 (SIGUSR1) is watched by another "
                                             "event_loop on this thread"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_TRUE(blocked(SIGUSR1));
    a.stop();
    EXPECT_FALSE(blocked(SIGUSR1));
    // Free again: the second loop takes it, and receives it.
    int seen = 0;
    signal_watcher b = second.on_signal(SIGUSR1, [&](const signal_info&) { ++seen; });
    ASSERT_EQ(pthread_kill(pthread_self(), SIGUSR1), 0);
    second.run_once();
    EXPECT_EQ(seen, 1);
    EXPECT_THROW(a.start(), std::system_error);  // now the first one is refused
    b.stop();
    a.start();
    EXPECT_TRUE(blocked(SIGUSR1));
    a.stop();
}

// Another thread has its own mask: a loop there may watch the same signal.
TEST(SignalSet, AnotherThreadMayWatchTheSameSignal) {
    event_loop here;
    signal_watcher a = here.on_signal(SIGUSR2, [](const signal_info&) {});
    std::string outcome;
    pthread_t thread;
    struct context {
        std::string* outcome;
    } ctx{&outcome};
    ASSERT_EQ(pthread_create(
                  &thread, nullptr,
                  [](void* arg) -> void* {
                      auto* c = static_cast<context*>(arg);
                      event_loop there;
                      *c->outcome = refusal(there, SIGUSR2);
                      return nullptr;
                  },
                  &ctx),
              0);
    pthread_join(thread, nullptr);
    EXPECT_EQ(outcome, "accepted");
    a.stop();
}

}  // namespace
}  // namespace tfd

#include "tfd/signal_fd.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <unistd.h>

namespace tfd {
namespace {

TEST(SignalFd, ReadsABlockedSignalWithItsSender) {
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, SIGUSR1);
    sigset_t previous = change_signal_mask(SIG_BLOCK, only);
    {
        signal_fd fd(only);
        EXPECT_FALSE(fd.read().has_value());
        ASSERT_EQ(pthread_kill(pthread_self(), SIGUSR1), 0);
        std::optional<signal_info> info = fd.read();
        ASSERT_TRUE(info);
        EXPECT_EQ(info->signo, SIGUSR1);
        EXPECT_EQ(info->pid, ::getpid());
        EXPECT_FALSE(fd.read().has_value());
        sigset_t none;
        sigemptyset(&none);
        fd.set_mask(none);
    }
    if (sigismember(&previous, SIGUSR1) == 0) {
        (void)change_signal_mask(SIG_UNBLOCK, only);
    }
}

TEST(SignalFd, ChangeSignalMaskReportsThePreviousMask) {
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, SIGUSR2);
    sigset_t before = change_signal_mask(SIG_BLOCK, only);
    sigset_t during = change_signal_mask(SIG_UNBLOCK, only);
    EXPECT_EQ(sigismember(&before, SIGUSR2), 0);
    EXPECT_EQ(sigismember(&during, SIGUSR2), 1);
}

}  // namespace
}  // namespace tfd

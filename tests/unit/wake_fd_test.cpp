#include "tfd/wake_fd.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <thread>

#include "support/fault_injection.hpp"

namespace tfd {
namespace {

bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
}

TEST(WakeFd, NotificationsCoalesceUntilDrained) {
    wake_fd wake;
    EXPECT_FALSE(readable(wake.native_handle()));
    EXPECT_EQ(wake.drain(), 0u);
    wake.notify();
    wake.notify();
    std::thread other([&] { wake.notify(); });
    other.join();
    EXPECT_TRUE(readable(wake.native_handle()));
    EXPECT_EQ(wake.drain(), 3u);
    EXPECT_FALSE(readable(wake.native_handle()));
}

TEST(WakeFd, CreationFailureIsReported) {
    test::scoped_fault fault(sys::call::eventfd, -1, EMFILE);
    std::error_code ec;
    (void)wake_fd::create(ec);
    EXPECT_EQ(ec, std::errc::too_many_files_open);
}

}  // namespace
}  // namespace tfd

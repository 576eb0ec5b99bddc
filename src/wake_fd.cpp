#include "tfd/wake_fd.hpp"

#include <sys/eventfd.h>

#include <cerrno>

#include "sys/sys.hpp"

namespace tfd {

wake_fd wake_fd::create(std::error_code& ec) noexcept {
    ec.clear();
    int fd = sys::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
        ec.assign(errno, std::system_category());
    }
    return wake_fd(unique_fd(fd));
}

wake_fd::wake_fd() {
    std::error_code ec;
    *this = create(ec);
    if (ec) {
        throw std::system_error(ec, "wake_fd::create: eventfd");
    }
}

void wake_fd::notify() noexcept {
    std::uint64_t one = 1;
    // EAGAIN (counter saturated) means it is readable already.  EINTR cannot happen for a
    // non-blocking eventfd write, but retrying costs nothing, and ignoring it would lose the
    // wake-up (tests/integration/fault_eintr_test.cpp injects it).
    while (sys::write(fd_.get(), &one, sizeof one) < 0 && errno == EINTR) {
    }
}

std::uint64_t wake_fd::drain() noexcept {
    std::uint64_t count = 0;
    if (sys::read(fd_.get(), &count, sizeof count) != static_cast<ssize_t>(sizeof count)) {
        return 0;
    }
    return count;
}

}  // namespace tfd

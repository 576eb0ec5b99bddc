#include "tfd/unique_fd.hpp"

#include <cerrno>

#include "sys/sys.hpp"

namespace tfd {

void unique_fd::reset(int fd) noexcept {
    int old = std::exchange(fd_, fd < 0 ? -1 : fd);
    if (old >= 0) {
        // Errors are deliberately dropped here: see close() for a reporting variant.
        (void)sys::close(old);
    }
}

void unique_fd::close(std::error_code& ec) noexcept {
    ec.clear();
    int old = release();
    if (old >= 0 && sys::close(old) != 0) {
        ec.assign(errno, std::system_category());
    }
}

void unique_fd::close() {
    int old = fd_;
    std::error_code ec;
    close(ec);
    if (ec) {
        throw std::system_error(ec, "unique_fd::close: fd=" + std::to_string(old));
    }
}

}  // namespace tfd

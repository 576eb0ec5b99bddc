// tfd::wake_fd: an eventfd used to wake a thread blocked in poll/select/epoll from another
// thread.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <cstdint>
#include <system_error>

#include "tfd/unique_fd.hpp"

namespace tfd {

// Owns a non-blocking, close-on-exec eventfd(2).  notify() may be called from any thread (it
// is one write(2) and touches no other state); drain() belongs to the thread that waits on
// the descriptor.  Wake-ups coalesce: any number of notify() calls before a drain() make the
// descriptor readable once.
class wake_fd {
  public:
    // Creates the eventfd; throws std::system_error on failure.
    wake_fd();
    [[nodiscard]] static wake_fd create(std::error_code& ec) noexcept;

    wake_fd(wake_fd&&) noexcept = default;
    wake_fd& operator=(wake_fd&&) noexcept = default;

    // Makes the descriptor readable.  Never blocks; a counter already at its maximum is
    // already readable, so EAGAIN is success here.
    void notify() noexcept;
    // Consumes pending wake-ups; returns how many notify() calls were coalesced (0 if none).
    std::uint64_t drain() noexcept;

    [[nodiscard]] int native_handle() const noexcept { return fd_.get(); }

  private:
    explicit wake_fd(unique_fd fd) noexcept : fd_(std::move(fd)) {}
    unique_fd fd_;
};

}  // namespace tfd

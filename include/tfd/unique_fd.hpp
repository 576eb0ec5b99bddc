// tfd::unique_fd: sole owner of a file descriptor.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <system_error>
#include <utility>

namespace tfd {

// Owns one file descriptor and closes it exactly once.
//
// Invariant: fd_ is either -1 (empty) or a descriptor this object alone must close.
// Move-only.  The destructor closes and never throws: an error from close(2) there has no one
// to report to.  Call close() to see it.  close(2) is never retried on EINTR, because Linux
// has already released the descriptor by then and a retry could close a newly opened one.
class unique_fd {
  public:
    constexpr unique_fd() noexcept = default;
    // Takes ownership of `fd`; -1 (or any negative value) makes an empty owner.
    constexpr explicit unique_fd(int fd) noexcept : fd_(fd < 0 ? -1 : fd) {}

    unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
    unique_fd& operator=(unique_fd&& other) noexcept {
        if (this != &other) {
            reset(other.release());
        }
        return *this;
    }
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }

    [[nodiscard]] constexpr int get() const noexcept { return fd_; }
    [[nodiscard]] constexpr bool valid() const noexcept { return fd_ >= 0; }
    constexpr explicit operator bool() const noexcept { return valid(); }

    // Gives up ownership without closing; the object becomes empty.
    [[nodiscard]] constexpr int release() noexcept { return std::exchange(fd_, -1); }

    // Closes the current descriptor (ignoring errors) and takes ownership of `fd`.
    void reset(int fd = -1) noexcept;

    // Closes the descriptor and reports close(2)'s error.  The object is empty afterwards
    // whatever the outcome.  Closing an empty owner does nothing and succeeds.
    void close();
    void close(std::error_code& ec) noexcept;

  private:
    int fd_ = -1;
};

}  // namespace tfd

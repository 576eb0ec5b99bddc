// tfd::async_fd: a descriptor registered with a loop once and awaited many times.
//
//   tfd::async_fd io(loop, socket);
//   char buffer[4096];
//   std::size_t n = co_await io.read_some(buffer, sizeof buffer);     // 0: end of file
//   co_await io.write_some(reply.data(), reply.size());
//   co_await tfd::with_timeout(loop, io.read_some(buffer, sizeof buffer), 30s);
//
// The waits are those of tfd/readiness.hpp, on the loop's slot for the descriptor: while a
// coroutine keeps waiting on it, a wait costs no allocation and no backend call.

// read_some / write_some try the system call first and suspend only when it would block
// (EAGAIN), so an operation on a ready descriptor completes without suspending.  They retry
// EINTR; other errors throw std::system_error naming the operation and the descriptor.
//
// One reader and one writer at a time (a second concurrent wait in the same direction throws
// EBUSY), whether through this async_fd, another one or readable()/writable().  The async_fd
// does not own the descriptor (see "Closing" in tfd/readiness.hpp), must outlive its waits
// (in a coroutine: declare it before them), and must not outlive its loop.  Every awaiter is
// cancellable (with_timeout, when_any) and, given a stop token, ends with operation_cancelled on a
// stop request.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <cerrno>
#include <coroutine>
#include <cstddef>
#include <stop_token>
#include <utility>

#include "tfd/cancellation.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/io_events.hpp"
#include "tfd/readiness.hpp"

namespace tfd {

class async_fd;

class async_fd {
  public:
    // EBADF for a negative fd.  Nothing is registered until the first wait.
    async_fd(event_loop& loop, int fd);
    async_fd(const async_fd&) = delete;
    async_fd& operator=(const async_fd&) = delete;

    [[nodiscard]] int fd() const noexcept { return slot_->fd(); }
    [[nodiscard]] event_loop& loop() const noexcept { return slot_->loop(); }

    template <class Stop>
    using readiness = detail::readiness_awaiter<Stop>;
    template <class Stop>
    class transfer;

    // Waits until the descriptor is readable (or reports error / hang-up); returns the events.
    [[nodiscard]] readiness<detail::no_stop> readable() noexcept;
    [[nodiscard]] readiness<detail::stop_binding> readable(std::stop_token token) noexcept;
    [[nodiscard]] readiness<detail::no_stop> writable() noexcept;
    [[nodiscard]] readiness<detail::stop_binding> writable(std::stop_token token) noexcept;
    // Reads up to `size` bytes once data is there; returns the count (0: end of file).
    [[nodiscard]] transfer<detail::no_stop> read_some(void* buffer, std::size_t size) noexcept;
    [[nodiscard]] transfer<detail::stop_binding> read_some(void* buffer, std::size_t size,
                                                           std::stop_token token) noexcept;
    // Writes up to `size` bytes once there is room; returns the count written.
    [[nodiscard]] transfer<detail::no_stop> write_some(const void* data, std::size_t size) noexcept;
    [[nodiscard]] transfer<detail::stop_binding> write_some(const void* data, std::size_t size,
                                                            std::stop_token token) noexcept;

    // One read or write: bytes moved, or -1 with the errno in `error` (EAGAIN included).
    long read_once(void* buffer, std::size_t size, int& error) noexcept;
    long write_once(const void* data, std::size_t size, int& error) noexcept;
    [[noreturn]] void fail(const char* operation, int error) const;

  private:
    detail::fd_slot* slot_;
    bool not_socket_ = false;  // send(2) said ENOTSOCK once: write(2) from then on
};

// Awaiter of read_some() / write_some().
template <class Stop>
class async_fd::transfer : detail::fd_op {
  public:
    transfer(async_fd& owner, io_events direction, void* buffer, std::size_t size,
             Stop stop) noexcept
        : detail::fd_op{&complete, {}},
          owner_(&owner),
          buffer_(buffer),
          size_(size),
          direction_(direction),
          stop_(std::move(stop)) {}
    transfer(transfer&&) noexcept = default;
    ~transfer() { cancel_quietly(); }

    // Tries the system call at once: a ready descriptor never suspends.
    bool await_ready() noexcept {
        if (stop_.requested()) {
            return true;
        }
        return try_once();
    }
    bool await_suspend(std::coroutine_handle<> h) {
        owner_->slot_->begin(*this, direction_);
        if (!stop_.bind(owner_->loop(), &on_stop, this)) {
            owner_->slot_->end(direction_);
            return false;
        }
        awaiting = h;
        return true;
    }
    std::size_t await_resume() const {
        if (result_ < 0) {
            if (stop_.requested()) {
                detail::throw_cancelled(direction_ == io_events::readable
                                            ? detail::cancelled_operation::read_some
                                            : detail::cancelled_operation::write_some);
            }
            owner_->fail(name(), error_);
        }
        return static_cast<std::size_t>(result_);
    }
    void cancel() noexcept {
        if (awaiting) {
            cancel_quietly();
            std::exchange(awaiting, nullptr).resume();
        }
    }

  private:
    [[nodiscard]] const char* name() const noexcept {
        return direction_ == io_events::readable ? "async_fd::read_some" : "async_fd::write_some";
    }
    // True when the call completed (bytes, end of file or an error other than EAGAIN).
    bool try_once() noexcept {
        result_ = direction_ == io_events::readable ? owner_->read_once(buffer_, size_, error_)
                                                    : owner_->write_once(buffer_, size_, error_);
        return result_ >= 0 || error_ != EAGAIN;
    }
    void cancel_quietly() noexcept {
        if (awaiting) {
            owner_->slot_->end(direction_);
            stop_.unbind();
        }
    }
    static bool complete(detail::fd_op& op, io_events) noexcept {
        auto& self = static_cast<transfer&>(op);
        if (!self.try_once()) {
            return false;  // spurious readiness: keep waiting
        }
        self.stop_.unbind();
        return true;
    }
    static void on_stop(void* self) noexcept { static_cast<transfer*>(self)->cancel(); }

    async_fd* owner_;
    void* buffer_;
    std::size_t size_;
    long result_ = -1;
    int error_ = 0;
    io_events direction_;
    [[no_unique_address]] Stop stop_;
};

inline async_fd::readiness<detail::no_stop> async_fd::readable() noexcept {
    return {*slot_, io_events::readable, detail::no_stop{}};
}
inline async_fd::readiness<detail::stop_binding> async_fd::readable(
    std::stop_token token) noexcept {
    return {*slot_, io_events::readable, detail::stop_binding(std::move(token))};
}
inline async_fd::readiness<detail::no_stop> async_fd::writable() noexcept {
    return {*slot_, io_events::writable, detail::no_stop{}};
}
inline async_fd::readiness<detail::stop_binding> async_fd::writable(
    std::stop_token token) noexcept {
    return {*slot_, io_events::writable, detail::stop_binding(std::move(token))};
}
inline async_fd::transfer<detail::no_stop> async_fd::read_some(void* buffer,
                                                               std::size_t size) noexcept {
    return {*this, io_events::readable, buffer, size, detail::no_stop{}};
}
inline async_fd::transfer<detail::stop_binding> async_fd::read_some(
    void* buffer, std::size_t size, std::stop_token token) noexcept {
    return {*this, io_events::readable, buffer, size, detail::stop_binding(std::move(token))};
}
inline async_fd::transfer<detail::no_stop> async_fd::write_some(const void* data,
                                                                std::size_t size) noexcept {
    return {*this, io_events::writable, const_cast<void*>(data), size, detail::no_stop{}};
}
inline async_fd::transfer<detail::stop_binding> async_fd::write_some(
    const void* data, std::size_t size, std::stop_token token) noexcept {
    return {*this, io_events::writable, const_cast<void*>(data), size,
            detail::stop_binding(std::move(token))};
}

}  // namespace tfd

// tfd::async_fd: a descriptor registered with a loop once and awaited many times.
//
//   tfd::async_fd io(loop, socket);
//   char buffer[4096];
//   std::size_t n = co_await io.read_some(buffer, sizeof buffer);     // 0: end of file
//   co_await io.write_some(reply.data(), reply.size());
//   co_await tfd::with_timeout(loop, io.read_some(buffer, sizeof buffer), 30s);
//
// The registration is made at the first wait and kept: a wait in steady state costs no
// allocation and no backend call.  What nobody waits for is dropped lazily: when an event
// arrives that no waiting coroutine asked for, the interest is narrowed to what is still
// awaited (one backend call), and an error or hang-up with nobody waiting unregisters the
// descriptor (the next wait registers it again), so level-triggered readiness never spins.
//
// read_some / write_some try the system call first and suspend only when it would block
// (EAGAIN), so an operation on a ready descriptor completes without suspending.  They retry
// EINTR; other errors throw std::system_error naming the operation and the descriptor.
//
// One reader and one writer at a time (a second concurrent wait in the same direction throws
// EBUSY).  The async_fd does not own the descriptor (close it after the async_fd is gone, or
// after stop()), must outlive its waits (in a coroutine: declare it before them), and must
// not outlive its loop.  Every awaiter is cancellable (with_timeout, when_any) and, given a
// stop token, ends with operation_cancelled on a stop request.
#pragma once

#include <cerrno>
#include <coroutine>
#include <cstddef>
#include <stop_token>
#include <utility>

#include "tfd/cancellation.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/fd_watcher.hpp"
#include "tfd/io_events.hpp"

namespace tfd {

class async_fd;

namespace detail {

// One pending wait on an async_fd.  attempt() runs on each event in the op's direction
// (error and hang-up included) and returns true when the op is complete.
struct async_fd_op {
    bool (*attempt)(async_fd_op& op, io_events events) noexcept;
    std::coroutine_handle<> awaiting;
};

}  // namespace detail

class async_fd {
  public:
    // EBADF for a negative fd.  Nothing is registered until the first wait.
    async_fd(event_loop& loop, int fd);
    async_fd(const async_fd&) = delete;
    async_fd& operator=(const async_fd&) = delete;
    ~async_fd();

    [[nodiscard]] int fd() const noexcept { return fd_; }
    [[nodiscard]] event_loop& loop() const noexcept { return *loop_; }
    // Unregisters the descriptor (no wait may be pending: EBUSY otherwise).
    void stop();

    template <class Stop>
    class readiness;
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
    [[nodiscard]] transfer<detail::no_stop> write_some(const void* data,
                                                       std::size_t size) noexcept;
    [[nodiscard]] transfer<detail::stop_binding> write_some(const void* data, std::size_t size,
                                                            std::stop_token token) noexcept;

    // The parts of the awaiters that are not templates (src/async_fd.cpp).
    void begin(detail::async_fd_op& op, io_events direction);
    void end(io_events direction) noexcept;
    // One read or write: bytes moved, or -1 with the errno in `error` (EAGAIN included).
    long read_once(void* buffer, std::size_t size, int& error) noexcept;
    long write_once(const void* data, std::size_t size, int& error) noexcept;
    [[noreturn]] void fail(const char* operation, int error) const;

  private:
    void on_events(io_events events);
    [[nodiscard]] io_events wanted() const noexcept;

    event_loop* loop_;
    int fd_;
    detail::async_fd_op* reader_ = nullptr;
    detail::async_fd_op* writer_ = nullptr;
    bool* alive_ = nullptr;  // set while on_events resumes coroutines; cleared by ~async_fd
    bool not_socket_ = false;  // send(2) said ENOTSOCK once: write(2) from then on
    fd_watcher watcher_;
};

// Awaiter of readable() / writable().
template <class Stop>
class async_fd::readiness : detail::async_fd_op {
  public:
    readiness(async_fd& owner, io_events direction, Stop stop) noexcept
        : detail::async_fd_op{&complete, {}},
          owner_(&owner),
          direction_(direction),
          stop_(std::move(stop)) {}
    readiness(readiness&&) noexcept = default;
    ~readiness() { cancel_quietly(); }

    bool await_ready() const noexcept { return stop_.requested(); }
    bool await_suspend(std::coroutine_handle<> h) {
        owner_->begin(*this, direction_);
        if (!stop_.bind(owner_->loop(), &on_stop, this)) {
            owner_->end(direction_);
            return false;
        }
        awaiting = h;
        return true;
    }
    io_events await_resume() const {
        if (events_ == io_events::none && stop_.requested()) {
            throw operation_cancelled(direction_ == io_events::readable ? "async_fd::readable"
                                                                        : "async_fd::writable");
        }
        return events_;
    }
    void cancel() noexcept {
        if (awaiting) {
            cancel_quietly();
            std::exchange(awaiting, nullptr).resume();
        }
    }

  private:
    void cancel_quietly() noexcept {
        if (awaiting) {
            owner_->end(direction_);
            stop_.unbind();
        }
    }
    static bool complete(detail::async_fd_op& op, io_events events) noexcept {
        auto& self = static_cast<readiness&>(op);
        self.events_ = events;
        self.stop_.unbind();
        return true;
    }
    static void on_stop(void* self) noexcept { static_cast<readiness*>(self)->cancel(); }

    async_fd* owner_;
    io_events direction_;
    io_events events_ = io_events::none;
    [[no_unique_address]] Stop stop_;
};

// Awaiter of read_some() / write_some().
template <class Stop>
class async_fd::transfer : detail::async_fd_op {
  public:
    transfer(async_fd& owner, io_events direction, void* buffer, std::size_t size,
             Stop stop) noexcept
        : detail::async_fd_op{&complete, {}},
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
        owner_->begin(*this, direction_);
        if (!stop_.bind(owner_->loop(), &on_stop, this)) {
            owner_->end(direction_);
            return false;
        }
        awaiting = h;
        return true;
    }
    std::size_t await_resume() const {
        if (result_ < 0) {
            if (stop_.requested()) {
                throw operation_cancelled(name());
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
        result_ = direction_ == io_events::readable
                      ? owner_->read_once(buffer_, size_, error_)
                      : owner_->write_once(buffer_, size_, error_);
        return result_ >= 0 || error_ != EAGAIN;
    }
    void cancel_quietly() noexcept {
        if (awaiting) {
            owner_->end(direction_);
            stop_.unbind();
        }
    }
    static bool complete(detail::async_fd_op& op, io_events) noexcept {
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
    return {*this, io_events::readable, detail::no_stop{}};
}
inline async_fd::readiness<detail::stop_binding> async_fd::readable(
    std::stop_token token) noexcept {
    return {*this, io_events::readable, detail::stop_binding(std::move(token))};
}
inline async_fd::readiness<detail::no_stop> async_fd::writable() noexcept {
    return {*this, io_events::writable, detail::no_stop{}};
}
inline async_fd::readiness<detail::stop_binding> async_fd::writable(
    std::stop_token token) noexcept {
    return {*this, io_events::writable, detail::stop_binding(std::move(token))};
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

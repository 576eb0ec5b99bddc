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
//
// read_some / write_some try the system call first and suspend only when it would block
// (EAGAIN), so an operation on a ready descriptor completes without suspending; they try
// again at each readiness report, and go on waiting when it still says EAGAIN.  They retry
// EINTR; other errors throw std::system_error naming the operation and the descriptor.
//
// One reader and one writer at a time (a second concurrent wait in the same direction throws
// EBUSY), whether through this async_fd, another one or readable()/writable().  The async_fd
// does not own the descriptor (see "Closing" in tfd/readiness.hpp), must outlive its waits
// (in a coroutine: declare it before them), and must not outlive its loop.  Every awaiter is
// cancellable (with_timeout, with_stop) and, given a stop token, ends with operation_cancelled
// on a stop request.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <cerrno>
#include <cstddef>
#include <stop_token>
#include <utility>

#include "tfd/cancellation.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/io_events.hpp"
#include "tfd/readiness.hpp"
#include "tfd/waiter_slot.hpp"

namespace tfd {

class async_fd {
    struct transfer_wait;

  public:
    // EBADF for a negative fd.  Nothing is registered until the first wait.
    async_fd(event_loop& loop, int fd);
    async_fd(const async_fd&) = delete;
    async_fd& operator=(const async_fd&) = delete;

    [[nodiscard]] int fd() const noexcept { return slot_->fd(); }
    [[nodiscard]] event_loop& loop() const noexcept { return slot_->loop(); }

    // The awaiters: detail::slot_awaiters (tfd/waiter_slot.hpp) on the descriptor's slot.
    template <class Stop>
    using readiness = detail::readiness_awaiter<Stop>;
    template <class Stop>
    using transfer = detail::slot_awaiter<transfer_wait, Stop>;

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
    template <class Stop>
    transfer<Stop> make_transfer(detail::cancelled_operation operation, void* buffer,
                                 std::size_t size, Stop stop) noexcept;

    detail::fd_slot* slot_;
    bool not_socket_ = false;  // send(2) said ENOTSOCK once: write(2) from then on
};

// read_some()'s or write_some()'s wait: a readiness wait on the descriptor's slot that tries
// the system call at once (a ready descriptor never suspends) and again at each readiness
// report, and goes on waiting when the report was spurious (EAGAIN).
struct async_fd::transfer_wait {
    using owner = async_fd;
    void* buffer;
    std::size_t size;
    long result = -1;
    int error = 0;
    detail::cancelled_operation operation;  // read_some or write_some

    [[nodiscard]] bool reading() const noexcept {
        return operation == detail::cancelled_operation::read_some;
    }

    bool ready(async_fd& io) noexcept { return try_once(io); }
    bool attempt(async_fd& io) noexcept { return try_once(io); }
    void attach(async_fd& io, detail::waiter_slot::waiter& w) const {
        io.slot_->begin(w, reading() ? io_events::readable : io_events::writable);
    }
    void detach(async_fd& io, const detail::waiter_slot::waiter& w) const noexcept {
        io.slot_->end(w, reading() ? io_events::readable : io_events::writable);
    }
    std::size_t take(const async_fd& io) const {
        if (result < 0) {
            io.fail(reading() ? "async_fd::read_some" : "async_fd::write_some", error);
        }
        return static_cast<std::size_t>(result);
    }
    // True when the call completed (bytes, end of file or an error other than EAGAIN).
    bool try_once(async_fd& io) noexcept {
        result = reading() ? io.read_once(buffer, size, error) : io.write_once(buffer, size, error);
        return result >= 0 || error != EAGAIN;
    }
};

inline async_fd::readiness<detail::no_stop> async_fd::readable() noexcept {
    return {*slot_, detail::no_stop{}, detail::readable_wait};
}
inline async_fd::readiness<detail::stop_binding> async_fd::readable(
    std::stop_token token) noexcept {
    return {*slot_, detail::stop_binding(std::move(token)), detail::readable_wait};
}
inline async_fd::readiness<detail::no_stop> async_fd::writable() noexcept {
    return {*slot_, detail::no_stop{}, detail::writable_wait};
}
inline async_fd::readiness<detail::stop_binding> async_fd::writable(
    std::stop_token token) noexcept {
    return {*slot_, detail::stop_binding(std::move(token)), detail::writable_wait};
}
template <class Stop>
async_fd::transfer<Stop> async_fd::make_transfer(detail::cancelled_operation operation,
                                                 void* buffer, std::size_t size,
                                                 Stop stop) noexcept {
    return {*this, std::move(stop), transfer_wait{buffer, size, -1, 0, operation}};
}
inline async_fd::transfer<detail::no_stop> async_fd::read_some(void* buffer,
                                                               std::size_t size) noexcept {
    return make_transfer(detail::cancelled_operation::read_some, buffer, size, detail::no_stop{});
}
inline async_fd::transfer<detail::stop_binding> async_fd::read_some(
    void* buffer, std::size_t size, std::stop_token token) noexcept {
    return make_transfer(detail::cancelled_operation::read_some, buffer, size,
                         detail::stop_binding(std::move(token)));
}
inline async_fd::transfer<detail::no_stop> async_fd::write_some(const void* data,
                                                                std::size_t size) noexcept {
    return make_transfer(detail::cancelled_operation::write_some, const_cast<void*>(data), size,
                         detail::no_stop{});
}
inline async_fd::transfer<detail::stop_binding> async_fd::write_some(
    const void* data, std::size_t size, std::stop_token token) noexcept {
    return make_transfer(detail::cancelled_operation::write_some, const_cast<void*>(data), size,
                         detail::stop_binding(std::move(token)));
}

}  // namespace tfd

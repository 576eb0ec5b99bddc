// tfd::readable / tfd::writable: suspend a coroutine until a descriptor is ready.
//
//   io_events events = co_await tfd::readable(loop, fd);          // readable, or error/hangup
//   co_await tfd::writable(loop, fd, stop_token);                  // stop: operation_cancelled
//
// co_await returns the events that occurred: the one asked for, and error or hangup, which
// the kernel always reports.  One reader and one writer per descriptor at a time (a second
// concurrent wait in the same direction throws EBUSY); tfd::async_fd (tfd/async_fd.hpp)
// adds reads and writes on top of the same waits.
//
// How waits use the loop.  Each descriptor a coroutine waits on has a slot in the loop (made
// at its first wait, kept with the loop).  The slot registers the descriptor with the loop
// when a wait begins and keeps the registration while waits follow one another: when a
// resumed coroutine waits on the same descriptor again before it returns to the loop (a
// read loop, a ping-pong), the wait costs no allocation and no backend call.  When a wait
// ends and no other wait on the descriptor is pending once the resumed code returns to the
// loop, the registration is dropped (one backend call; the next wait makes it again, one
// more, with the same watcher node, so only the first wait on a descriptor number
// allocates), and an idle descriptor neither keeps run() going nor stays registered after
// its owner closes it.  A descriptor that has
// another watcher (event_loop::watch, tcp_connection) cannot be awaited (EEXIST).
//
// Closing: close a descriptor when no wait on it is pending.  The one case to mind is a
// coroutine that closes the descriptor right after a wait on it completed and, before it
// returns to the loop, waits on a new descriptor that got the same number: call
// tfd::release_waits(loop, fd) before that close.
//
// Each awaiter is cancellable (with_timeout).
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <coroutine>
#include <stop_token>

#include "tfd/cancellation.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/fd_watcher.hpp"
#include "tfd/io_events.hpp"

namespace tfd {

namespace detail {

// One pending wait on a descriptor.  attempt() runs on each event in the wait's direction
// (error and hang-up included) and returns true when the wait is complete.
struct fd_op {
    bool (*attempt)(fd_op& op, io_events events) noexcept;
    std::coroutine_handle<> awaiting;
};

// The waits on one descriptor of one loop.
//
// Invariants: reader_/writer_ are the pending waits (or null); watcher_ is active (registered)
// while a wait is pending, and between the completion of one and the end of the callback
// that resumed it, else stopped (or empty before the first wait); while active its interest
// covers every pending wait's direction.
class fd_slot {
  public:
    fd_slot(event_loop& loop, int fd) noexcept : loop_(&loop), fd_(fd) {}
    fd_slot(const fd_slot&) = delete;
    fd_slot& operator=(const fd_slot&) = delete;

    [[nodiscard]] event_loop& loop() const noexcept { return *loop_; }
    [[nodiscard]] int fd() const noexcept { return fd_; }
    // Registers `op` as the wait in `direction` (EBUSY when one is pending, EEXIST when the
    // descriptor has another watcher).
    void begin(fd_op& op, io_events direction);
    // Ends a wait that did not complete (cancelled, or its frame destroyed).
    void end(io_events direction) noexcept;
    // Drops the registration if no wait is pending.
    void release() noexcept;

  private:
    void on_events(io_events events);
    [[nodiscard]] io_events wanted() const noexcept;

    event_loop* loop_;
    int fd_;
    fd_op* reader_ = nullptr;
    fd_op* writer_ = nullptr;
    fd_watcher watcher_;
};

// The slot of `fd` on `loop`; EBADF for a negative fd.
fd_slot& fd_slot_of(event_loop& loop, int fd);

template <class Stop>
class readiness_awaiter : fd_op {
  public:
    readiness_awaiter(fd_slot& slot, io_events direction, Stop stop) noexcept
        : fd_op{&complete, {}}, slot_(&slot), direction_(direction), stop_(std::move(stop)) {}
    readiness_awaiter(readiness_awaiter&&) noexcept = default;
    ~readiness_awaiter() { cancel_quietly(); }

    bool await_ready() const noexcept { return stop_.requested(); }
    bool await_suspend(std::coroutine_handle<> h) {
        slot_->begin(*this, direction_);
        if (!stop_.bind(slot_->loop(), &on_stop, this)) {
            slot_->end(direction_);
            return false;
        }
        awaiting = h;
        return true;
    }
    io_events await_resume() const {
        if (events_ == io_events::none && stop_.requested()) {
            throw_cancelled(direction_ == io_events::readable ? cancelled_operation::readable
                                                              : cancelled_operation::writable);
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
            slot_->end(direction_);
            stop_.unbind();
        }
    }
    static bool complete(fd_op& op, io_events events) noexcept {
        auto& self = static_cast<readiness_awaiter&>(op);
        self.events_ = events;
        self.stop_.unbind();
        return true;
    }
    static void on_stop(void* self) noexcept { static_cast<readiness_awaiter*>(self)->cancel(); }

    fd_slot* slot_;
    io_events direction_;
    io_events events_ = io_events::none;
    [[no_unique_address]] Stop stop_;
};

}  // namespace detail

// EBADF for a negative fd (thrown here, not at co_await).
[[nodiscard]] inline detail::readiness_awaiter<detail::no_stop> readable(event_loop& loop, int fd) {
    return {detail::fd_slot_of(loop, fd), io_events::readable, detail::no_stop{}};
}
[[nodiscard]] inline detail::readiness_awaiter<detail::stop_binding> readable(
    event_loop& loop, int fd, std::stop_token token) {
    return {detail::fd_slot_of(loop, fd), io_events::readable,
            detail::stop_binding(std::move(token))};
}
[[nodiscard]] inline detail::readiness_awaiter<detail::no_stop> writable(event_loop& loop, int fd) {
    return {detail::fd_slot_of(loop, fd), io_events::writable, detail::no_stop{}};
}
[[nodiscard]] inline detail::readiness_awaiter<detail::stop_binding> writable(
    event_loop& loop, int fd, std::stop_token token) {
    return {detail::fd_slot_of(loop, fd), io_events::writable,
            detail::stop_binding(std::move(token))};
}

// Drops the loop's registration of `fd` kept for the coroutine waits on it, if no wait is
// pending (see "Closing" above).  EBADF for a negative fd.
void release_waits(event_loop& loop, int fd);

}  // namespace tfd

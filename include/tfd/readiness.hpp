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
// Each awaiter is cancellable (with_timeout, with_stop).
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <stop_token>
#include <utility>

#include "tfd/cancellation.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/fd_watcher.hpp"
#include "tfd/io_events.hpp"
#include "tfd/waiter_slot.hpp"

namespace tfd {

namespace detail {

// The waits on one descriptor of one loop: a waiter_slot per direction, and the loop's
// registration of the descriptor that they share.  The awaiters are slot_awaiters; the
// slot's part is what differs from other owners: attaching a waiter registers the
// descriptor (or widens its interest), detaching one that did not complete drops the
// registration when no wait is left, and a completion is the loop's report of an event.
//
// Invariants: reader_ and writer_ hold the pending wait of each direction, if any; watcher_
// is active (registered) while a wait is pending, and between the completion of one and
// the end of the callback that resumed it, else stopped (or empty before the first wait);
// while active its interest covers every pending wait's direction.  events_ is what the
// loop reported in the callback that completes a wait, read by its awaiter as it resumes.
class fd_slot {
  public:
    // A readiness wait in one direction, the Wait of a slot_awaiter (tfd/waiter_slot.hpp).
    struct wait {
        using owner = fd_slot;
        cancelled_operation operation;  // readable or writable: also the direction

        [[nodiscard]] io_events direction() const noexcept {
            return operation == cancelled_operation::readable ? io_events::readable
                                                              : io_events::writable;
        }

        static bool ready(const fd_slot&) noexcept { return false; }
        void attach(fd_slot& s, waiter_slot::waiter& w) const { s.begin(w, direction()); }
        void detach(fd_slot& s, const waiter_slot::waiter& w) const noexcept {
            s.end(w, direction());
        }
        // The events that occurred: the direction asked for, and error or hang-up.
        static io_events take(const fd_slot& s) noexcept { return s.events_; }
    };

    fd_slot(event_loop& loop, int fd) noexcept : loop_(&loop), fd_(fd) {}
    fd_slot(const fd_slot&) = delete;
    fd_slot& operator=(const fd_slot&) = delete;

    [[nodiscard]] event_loop& loop() const noexcept { return *loop_; }
    [[nodiscard]] int fd() const noexcept { return fd_; }
    // Whether a wait is pending in either direction.
    [[nodiscard]] bool waited() const noexcept { return reader_.occupied() || writer_.occupied(); }
    // Takes `w` as the wait in `direction` (EBUSY when one is pending, EEXIST when the
    // descriptor has another watcher).
    void begin(waiter_slot::waiter& w, io_events direction);
    // Lets go of a wait that did not complete (cancelled, or its frame destroyed).
    void end(const waiter_slot::waiter& w, io_events direction) noexcept;
    // Drops the registration if no wait is pending.
    void release() noexcept;

  private:
    void on_events(io_events events);
    [[nodiscard]] waiter_slot& waiters(io_events direction) noexcept {
        return direction == io_events::readable ? reader_ : writer_;
    }
    [[nodiscard]] io_events wanted() const noexcept;

    event_loop* loop_;
    int fd_;
    io_events events_ = io_events::none;
    waiter_slot reader_;
    waiter_slot writer_;
    fd_watcher watcher_;
};

// The slot of `fd` on `loop`, made at the first wait on the number; EBADF naming
// `operation` for a negative fd, and for a new slot's number that is not an open descriptor.
fd_slot& fd_slot_of(event_loop& loop, int fd, const char* operation);

// What readable() and writable() return.
template <class Stop>
using readiness_awaiter = slot_awaiter<fd_slot::wait, Stop>;

inline constexpr fd_slot::wait readable_wait{cancelled_operation::readable};
inline constexpr fd_slot::wait writable_wait{cancelled_operation::writable};

}  // namespace detail

// EBADF for a negative fd, and for the first wait on a number that is not an open
// descriptor (thrown here, not at co_await).
[[nodiscard]] inline detail::readiness_awaiter<detail::no_stop> readable(event_loop& loop, int fd) {
    return {detail::fd_slot_of(loop, fd, "tfd::readable"), detail::no_stop{},
            detail::readable_wait};
}
[[nodiscard]] inline detail::readiness_awaiter<detail::stop_binding> readable(
    event_loop& loop, int fd, std::stop_token token) {
    return {detail::fd_slot_of(loop, fd, "tfd::readable"), detail::stop_binding(std::move(token)),
            detail::readable_wait};
}
[[nodiscard]] inline detail::readiness_awaiter<detail::no_stop> writable(event_loop& loop, int fd) {
    return {detail::fd_slot_of(loop, fd, "tfd::writable"), detail::no_stop{},
            detail::writable_wait};
}
[[nodiscard]] inline detail::readiness_awaiter<detail::stop_binding> writable(
    event_loop& loop, int fd, std::stop_token token) {
    return {detail::fd_slot_of(loop, fd, "tfd::writable"), detail::stop_binding(std::move(token)),
            detail::writable_wait};
}

// Drops the loop's registration of `fd` kept for the coroutine waits on it, if no wait is
// pending (see "Closing" above); nothing for a number never waited on.  EBADF for a
// negative fd.
void release_waits(event_loop& loop, int fd);

}  // namespace tfd

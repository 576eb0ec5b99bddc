// Descriptor waits: one slot per descriptor, registered with the loop while waits go on.
#include "tfd/readiness.hpp"

#include <string>
#include <system_error>

#include "coroutine_state.hpp"

namespace tfd {
namespace detail {

fd_slot& fd_slot_of(event_loop& loop, int fd, const char* operation) {
    if (fd < 0) {
        throw std::system_error(
            std::make_error_code(std::errc::bad_file_descriptor),
            std::string(operation) + ": fd=" + std::to_string(fd) + " is not a descriptor");
    }
    return coroutine_state_of(loop).slot(fd, operation);
}

io_events fd_slot::wanted() const noexcept {
    io_events want = io_events::none;
    if (reader_.occupied()) {
        want |= io_events::readable;
    }
    if (writer_.occupied()) {
        want |= io_events::writable;
    }
    return want;
}

void fd_slot::begin(waiter_slot::waiter& w, io_events direction) {
    waiter_slot& slot = waiters(direction);
    const char* operation = direction == io_events::readable ? "tfd::readable" : "tfd::writable";
    if (slot.occupied()) {
        throw std::system_error(std::make_error_code(std::errc::device_or_resource_busy),
                                std::string(operation) + ": fd=" + std::to_string(fd_) +
                                    " already has a pending " +
                                    (direction == io_events::readable ? "read" : "write") +
                                    " wait (one reader and one writer at a time)");
    }
    if (!watcher_) {
        try {
            watcher_ = loop_->watch(fd_, wanted() | direction,
                                    [this](io_events events) { on_events(events); });
        } catch (const std::system_error& e) {
            if (e.code() != std::errc::file_exists) {
                throw;
            }
            throw std::system_error(e.code(), std::string(operation) +
                                                  ": fd=" + std::to_string(fd_) +
                                                  " has an fd_watcher of its own (a descriptor is "
                                                  "awaited or watched, not both)");
        }
    } else if (!watcher_.active()) {
        // Dropped by release(): registered again with the same node, so only the first
        // wait on a descriptor number allocates.
        watcher_.set_interest(wanted() | direction);
        watcher_.start();
    } else if (!any(watcher_.interest(), direction)) {
        watcher_.set_interest(watcher_.interest() | direction);
    }
    slot.attach(w);
}

void fd_slot::end(const waiter_slot::waiter& w, io_events direction) noexcept {
    waiters(direction).detach(w);
    release();
}

void fd_slot::release() noexcept {
    if (!reader_.occupied() && !writer_.occupied()) {
        watcher_.stop();
    }
}

void fd_slot::on_events(io_events events) {
    constexpr io_events trouble = io_events::error | io_events::hangup;
    for (io_events direction : {io_events::readable, io_events::writable}) {
        if (any(events, direction | trouble)) {
            // The coroutine runs until its next suspension; if that is another wait on this
            // descriptor, begin() finds the registration still here and reuses it.
            events_ = events;
            waiters(direction).complete();
        }
    }
    io_events want = wanted();
    if (want == io_events::none) {
        watcher_.stop();
    } else if (watcher_.interest() != want) {
        watcher_.set_interest(want);
    }
}

}  // namespace detail

void release_waits(event_loop& loop, int fd) {
    if (fd < 0) {
        throw std::system_error(
            std::make_error_code(std::errc::bad_file_descriptor),
            "tfd::release_waits: fd=" + std::to_string(fd) + " is not a descriptor");
    }
    // A number never waited on has no slot, and nothing to release: none is made for it.
    if (detail::fd_slot* slot = detail::coroutine_state_of(loop).find(fd)) {
        slot->release();
    }
}

}  // namespace tfd

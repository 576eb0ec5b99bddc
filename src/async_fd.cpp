// async_fd: the registration kept across waits, and the system calls of read_some and
// write_some.
#include "tfd/async_fd.hpp"

#include <string>
#include <system_error>

#include "sys/sys.hpp"

namespace tfd {

async_fd::async_fd(event_loop& loop, int fd) : loop_(&loop), fd_(fd) {
    if (fd < 0) {
        throw std::system_error(std::make_error_code(std::errc::bad_file_descriptor),
                                "async_fd: fd=" + std::to_string(fd));
    }
}

async_fd::~async_fd() {
    if (alive_ != nullptr) {
        *alive_ = false;
    }
}

void async_fd::stop() {
    if (reader_ != nullptr || writer_ != nullptr) {
        throw std::system_error(std::make_error_code(std::errc::device_or_resource_busy),
                                "async_fd::stop: fd=" + std::to_string(fd_) +
                                    " has a pending wait");
    }
    watcher_.stop();
}

io_events async_fd::wanted() const noexcept {
    io_events want = io_events::none;
    if (reader_ != nullptr) {
        want |= io_events::readable;
    }
    if (writer_ != nullptr) {
        want |= io_events::writable;
    }
    return want;
}

void async_fd::begin(detail::async_fd_op& op, io_events direction) {
    detail::async_fd_op*& slot = direction == io_events::readable ? reader_ : writer_;
    if (slot != nullptr) {
        throw std::system_error(
            std::make_error_code(std::errc::device_or_resource_busy),
            "async_fd: fd=" + std::to_string(fd_) + " already has a pending " +
                (direction == io_events::readable ? "read" : "write") + " wait");
    }
    if (!watcher_) {
        watcher_ = loop_->watch(fd_, wanted() | direction,
                                [this](io_events events) { on_events(events); });
    } else if (!any(watcher_.interest(), direction)) {
        watcher_.set_interest(watcher_.interest() | direction);
    }
    slot = &op;
}

void async_fd::end(io_events direction) noexcept {
    // The interest stays: if the next wait comes before the next event (the usual case), no
    // backend call is made.  on_events narrows it when an unwanted event shows up.
    (direction == io_events::readable ? reader_ : writer_) = nullptr;
}

void async_fd::on_events(io_events events) {
    bool alive = true;
    alive_ = &alive;
    constexpr io_events trouble = io_events::error | io_events::hangup;
    for (io_events direction : {io_events::readable, io_events::writable}) {
        detail::async_fd_op*& slot = direction == io_events::readable ? reader_ : writer_;
        detail::async_fd_op* op = slot;
        if (op == nullptr || !any(events, direction | trouble) || !op->attempt(*op, events)) {
            continue;
        }
        slot = nullptr;
        std::exchange(op->awaiting, nullptr).resume();
        if (!alive) {
            return;  // the resumed coroutine destroyed this async_fd
        }
    }
    alive_ = nullptr;
    // Level-triggered readiness nobody waits for would be reported again every pass.
    io_events want = wanted();
    if (want == io_events::none && any(events, trouble)) {
        watcher_.stop();
    } else if (watcher_ && any(events, ~want & (io_events::readable | io_events::writable)) &&
               watcher_.interest() != want) {
        watcher_.set_interest(want);
    }
}

long async_fd::read_once(void* buffer, std::size_t size, int& error) noexcept {
    for (;;) {
        ssize_t n = sys::read(fd_, buffer, size);
        if (n >= 0) {
            return n;
        }
        if (errno != EINTR) {
            error = errno;
            return -1;
        }
    }
}

long async_fd::write_once(const void* data, std::size_t size, int& error) noexcept {
    for (;;) {
        // send() with MSG_NOSIGNAL, so a peer that went away is an EPIPE error here rather
        // than a SIGPIPE that kills the process; write() for what is not a socket.
        ssize_t n = not_socket_ ? sys::write(fd_, data, size)
                                : sys::send(fd_, data, size, MSG_NOSIGNAL);
        if (n >= 0) {
            return n;
        }
        if (errno == ENOTSOCK && !not_socket_) {
            not_socket_ = true;
            continue;
        }
        if (errno != EINTR) {
            error = errno;
            return -1;
        }
    }
}

void async_fd::fail(const char* operation, int error) const {
    throw std::system_error(error, std::generic_category(),
                            std::string(operation) + ": fd=" + std::to_string(fd_));
}

}  // namespace tfd

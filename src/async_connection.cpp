// async_connection: the line queue between tcp_connection's callbacks and read_line().
#include "tfd/async_connection.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include "sys/sys.hpp"

namespace tfd {
namespace {

// The socket, refused with an error naming async_connection and the descriptor when it is
// none (EBADF) or not a socket (ENOTSOCK): over a pipe, every read would fail with an errno
// that the close reason could not carry.
unique_fd checked_socket(unique_fd socket) {
    const int fd = socket.get();
    if (fd < 0) {
        throw std::system_error(
            EBADF, std::system_category(),
            "async_connection: fd=" + std::to_string(fd) + " is not a descriptor");
    }
    struct stat status {};
    if (sys::fstat(fd, &status) != 0) {
        throw std::system_error(
            errno, std::system_category(),
            "async_connection: fd=" + std::to_string(fd) + " is not an open descriptor");
    }
    if (!S_ISSOCK(status.st_mode)) {
        throw std::system_error(ENOTSOCK, std::system_category(),
                                "async_connection: fd=" + std::to_string(fd) +
                                    " is not a socket (a connected stream socket is needed)");
    }
    return socket;
}

}  // namespace

async_connection::async_connection(event_loop& loop, unique_fd socket, limits limits)
    : loop_(&loop),
      max_queued_(limits.max_queued),
      connection_(
          loop, checked_socket(std::move(socket)),
          tcp_connection::callbacks{[this](std::string_view line) { on_line(line, false); },
                                    [this](std::string_view prefix) { on_line(prefix, true); },
                                    [this](close_reason reason) { on_close(reason); }},
          limits.connection) {}

async_connection::~async_connection() = default;

void async_connection::on_line(std::string_view text, bool overlong) {
    if (queued_bytes_ + text.size() > max_queued_ && !lines_.empty()) {
        input_overflow_ = true;
        connection_.abort();  // on_close runs inside and wakes the reader
        return;
    }
    queued_bytes_ += text.size();
    lines_.push_back(received_line{std::string(text), overlong});
    reading_.complete();  // resumes the reader: *this may be gone afterwards
}

void async_connection::on_close(close_reason reason) {
    reason_ = input_overflow_ ? close_reason::error : reason;
    if (in_start_close_) {
        return;  // start_close() resumes the reader once connection_.close() has returned
    }
    // At most one of them waits, and the coroutine resumed may destroy *this.
    if (closing_.occupied()) {
        closing_.complete();
    } else {
        reading_.complete();
    }
}

std::optional<received_line> async_connection::take() noexcept {
    if (lines_.empty()) {
        return std::nullopt;
    }
    received_line line = std::move(lines_.front());
    lines_.pop_front();
    queued_bytes_ -= line.text.size();
    return line;
}

async_connection::write_awaiter async_connection::write(std::string_view bytes) {
    return write_awaiter{is_open() && connection_.send(bytes)};
}

async_connection::close_awaiter<detail::no_stop> async_connection::close(
    std::chrono::nanoseconds timeout) {
    start_close(timeout);
    return {*this, detail::no_stop{}};
}

async_connection::close_awaiter<detail::stop_binding> async_connection::close(
    std::chrono::nanoseconds timeout, std::stop_token token) {
    start_close(timeout);
    return {*this, detail::stop_binding(std::move(token))};
}

void async_connection::start_close(std::chrono::nanoseconds timeout) {
    if (is_open() && !is_closing()) {
        // on_close may run inside (nothing left to deliver, or the peer has reset the
        // connection and shutdown() fails): it records the reason but resumes no one, since
        // the reader it would resume may destroy *this, which this function still uses.
        in_start_close_ = true;
        try {
            connection_.close(timeout);
        } catch (...) {
            in_start_close_ = false;
            throw;
        }
        in_start_close_ = false;
        // No more input: a waiting reader takes what is queued, then std::nullopt.  The
        // reader resumes here, before the close is awaited, so the two never wait together.
        // Last: the reader may destroy *this.
        reading_.complete();
    }
}

void async_connection::abort() {
    if (is_open()) {
        connection_.abort();  // on_close runs inside and resumes the waiting coroutine
    }
}

}  // namespace tfd

// async_connection: the line queue between tcp_connection's callbacks and read_line().
#include "tfd/async_connection.hpp"

#include <utility>

namespace tfd {

async_connection::async_connection(event_loop& loop, unique_fd socket, limits limits)
    : loop_(&loop),
      max_queued_(limits.max_queued),
      connection_(
          loop, std::move(socket),
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
        connection_.close(timeout);  // on_close may run inside (nothing left to deliver)
        // No more input: a waiting reader takes what is queued, then std::nullopt.  The
        // reader resumes here, before the close is awaited, so the two never wait together.
        reading_.complete();
    }
}

void async_connection::abort() {
    if (is_open()) {
        connection_.abort();  // on_close runs inside and resumes the waiting coroutine
    }
}

}  // namespace tfd

// async_connection: the line queue between tcp_connection's callbacks and read_line().
#include "tfd/async_connection.hpp"

#include <system_error>

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
    wake();
}

void async_connection::on_close(close_reason reason) {
    reason_ = input_overflow_ ? close_reason::error : reason;
    wake();
}

void async_connection::wake() noexcept {
    if (waiting_ != nullptr) {
        waiter* w = std::exchange(waiting_, nullptr);
        w->complete(*w);  // resumes the reader: *this may be gone afterwards
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

void async_connection::wait(waiter& w) {
    if (waiting_ != nullptr) {
        throw std::system_error(std::make_error_code(std::errc::device_or_resource_busy),
                                "async_connection::read_line: another coroutine already waits");
    }
    waiting_ = &w;
}

async_connection::write_awaiter async_connection::write(std::string_view bytes) {
    return write_awaiter{is_open() && connection_.send(bytes)};
}

void async_connection::close() {
    if (is_open()) {
        connection_.abort();  // at once, as documented: not tcp_connection's graceful close()
    }
}

}  // namespace tfd

#include "tfd/tcp_connection.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "sys/sys.hpp"

namespace tfd {

const char* to_string(close_reason reason) noexcept {
    switch (reason) {
        case close_reason::peer_closed:
            return "peer closed";
        case close_reason::error:
            return "error";
        case close_reason::output_overflow:
            return "output buffer full";
        case close_reason::local:
            return "closed locally";
    }
    return "unknown";
}

tcp_connection::tcp_connection(event_loop& loop, unique_fd socket, callbacks handlers,
                               limits limits)
    : handlers_(std::move(handlers)), limits_(limits), fd_(std::move(socket)) {
    watcher_ = loop.watch(fd_.get(), io_events::readable, [this](io_events e) { on_events(e); });
}

tcp_connection::~tcp_connection() {
    if (alive_ != nullptr) {
        *alive_ = false;
    }
}

// The liveness flag: callbacks may destroy the connection, so every callback is made
// through this guard and its result checked before touching a member again.
#define TFD_CALL_OR_RETURN(call, result) \
    do {                                 \
        bool alive = true;               \
        bool* outer = alive_;            \
        alive_ = &alive;                 \
        call;                            \
        if (!alive) {                    \
            if (outer != nullptr) {      \
                *outer = false;          \
            }                            \
            return result;               \
        }                                \
        alive_ = outer;                  \
    } while (false)

void tcp_connection::on_events(io_events events) {
    if (any(events, io_events::writable)) {
        if (!flush()) {
            return;
        }
    }
    if (any(events, io_events::readable | io_events::error | io_events::hangup)) {
        (void)read_some();
    }
}

bool tcp_connection::read_some() {
    std::size_t budget = limits_.read_budget;
    char chunk[4096];
    while (budget > 0) {
        ssize_t n = sys::recv(fd_.get(), chunk, sizeof chunk, 0);
        if (n > 0) {
            budget -= std::min(budget, static_cast<std::size_t>(n));
            in_.append(chunk, static_cast<std::size_t>(n));
            if (!split_lines()) {
                return false;
            }
            continue;
        }
        if (n == 0) {
            shut(close_reason::peer_closed);
            return false;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN) {
            return true;
        }
        shut(close_reason::error);
        return false;
    }
    return true;  // budget spent: level triggering brings us back next pass
}

bool tcp_connection::split_lines() {
    std::size_t start = 0;
    for (;;) {
        std::size_t end = in_.find('\n', start);
        if (end == std::string::npos) {
            break;
        }
        std::string_view line(in_.data() + start, end - start);
        start = end + 1;
        if (discarding_) {
            discarding_ = false;  // the tail of an overlong line ends here
            continue;
        }
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.size() > limits_.max_line) {
            if (handlers_.on_overlong) {
                TFD_CALL_OR_RETURN(handlers_.on_overlong(line.substr(0, limits_.max_line)), false);
            }
        } else if (handlers_.on_line) {
            TFD_CALL_OR_RETURN(handlers_.on_line(line), false);
        }
        if (!fd_) {
            return false;  // closed by the callback
        }
    }
    in_.erase(0, start);
    if (in_.size() > limits_.max_line) {
        // No terminator within the limit: report once, then drop input up to the next "\n".
        if (!discarding_) {
            discarding_ = true;
            if (handlers_.on_overlong) {
                std::string prefix = in_.substr(0, limits_.max_line);
                TFD_CALL_OR_RETURN(handlers_.on_overlong(prefix), false);
            }
        }
        in_.clear();
    }
    return fd_.valid();
}

bool tcp_connection::send(std::string_view data) {
    if (!fd_) {
        return false;
    }
    if (buffered_output() + data.size() > limits_.max_output) {
        shut(close_reason::output_overflow);
        return false;
    }
    bool was_empty = buffered_output() == 0;
    out_.append(data);
    if (was_empty) {
        return flush();
    }
    return true;
}

bool tcp_connection::flush() {
    while (out_head_ < out_.size()) {
        ssize_t n = sys::send(fd_.get(), out_.data() + out_head_, out_.size() - out_head_,
                              MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
            out_head_ += static_cast<std::size_t>(n);
            continue;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN) {
            // Compact now and then so the buffer does not creep.
            if (out_head_ > out_.size() / 2) {
                out_.erase(0, out_head_);
                out_head_ = 0;
            }
            watcher_.set_interest(io_events::readable | io_events::writable);
            return true;
        }
        shut(close_reason::error);
        return false;
    }
    out_.clear();
    out_head_ = 0;
    watcher_.set_interest(io_events::readable);
    return true;
}

void tcp_connection::close() {
    if (fd_) {
        shut(close_reason::local);
    }
}

void tcp_connection::shut(close_reason reason) {
    watcher_.stop();
    fd_.reset();
    in_.clear();
    out_.clear();
    out_head_ = 0;
    if (handlers_.on_close) {
        // Last action: the callback may destroy this object.
        auto on_close = std::move(handlers_.on_close);
        TFD_CALL_OR_RETURN(on_close(reason), );
    }
}

#undef TFD_CALL_OR_RETURN

}  // namespace tfd

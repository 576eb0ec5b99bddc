#include "tfd/tcp_connection.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include "sys/sys.hpp"

namespace tfd {
namespace {

// An emptied buffer keeps up to this much capacity for the next lines or replies; a larger
// one (a burst of output to a slow reader, a long max_line) is given back, so a thousand
// idle connections do not each hold on to the largest burst they ever saw.  The threshold
// keeps steady traffic from freeing and reallocating a buffer on every read or write.
constexpr std::size_t retained_capacity = 16 * 1024;

void release_if_large(std::string& buffer) {
    if (buffer.empty() && buffer.capacity() > retained_capacity) {
        std::string().swap(buffer);
    }
}

[[noreturn]] void refuse_limit(const char* field, std::size_t value, const char* requirement) {
    throw std::system_error(
        std::make_error_code(std::errc::invalid_argument),
        std::string("tcp_connection: ") + field + "=" + std::to_string(value) + " " + requirement);
}

// A zero read budget would never read, and level triggering would report the unread input at
// every pass: a busy loop.  A zero max_line makes every non-empty line overlong, so no line
// could ever be received.  max_output may be 0: output is then never queued, and a peer is
// closed as soon as the kernel cannot take a send() whole.
tcp_connection::limits checked(tcp_connection::limits limits) {
    if (limits.max_line == 0) {
        refuse_limit("max_line", limits.max_line, "must be positive");
    }
    if (limits.read_budget == 0) {
        refuse_limit("read_budget", limits.read_budget, "must be positive");
    }
    return limits;
}

}  // namespace

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
    : handlers_(std::move(handlers)), limits_(checked(limits)), fd_(std::move(socket)) {
    watcher_ = loop.watch(fd_.get(), io_events::readable, [this](io_events e) { on_events(e); });
    // Made now and kept stopped, so that close() cannot fail for want of a timer (the loop's
    // first timer on a clock opens a descriptor).
    close_timer_ = loop.after(std::chrono::seconds(1), [this](std::uint64_t) {
        if (fd_) {
            shut(close_reason::local);
        }
    });
    close_timer_.stop();
}

tcp_connection::~tcp_connection() {
    if (alive_ != nullptr) {
        *alive_ = false;
    }
}

// Callbacks may destroy the connection, so each one is made through guarded(): `alive_`
// points at a flag on this stack frame that the destructor clears.  Returns false when the
// connection no longer exists (the caller must then return without touching a member).
// Nested calls chain their flags, so every frame on the stack learns of the destruction.
template <class F>
bool tcp_connection::guarded(F&& call) {
    bool alive = true;
    bool* outer = std::exchange(alive_, &alive);
    auto restore = [&] {
        if (alive) {
            alive_ = outer;
        } else if (outer != nullptr) {
            *outer = false;
        }
    };
    try {
        call();
    } catch (...) {
        restore();
        throw;
    }
    restore();
    return alive;
}

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
        if (n > 0 && closing_) {
            budget -= std::min(budget, static_cast<std::size_t>(n));
            continue;  // closing: read only to find the end of file, and discarded
        }
        if (n > 0) {
            budget -= std::min(budget, static_cast<std::size_t>(n));
            in_.append(chunk, static_cast<std::size_t>(n));
            if (!split_lines()) {
                return false;
            }
            continue;
        }
        if (n == 0) {
            return peer_end_of_file();
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
    for (;;) {
        std::size_t end = in_.find('\n', in_head_);
        if (end == std::string::npos) {
            break;
        }
        std::string_view line(in_.data() + in_head_, end - in_head_);
        // Consumed before the callback runs: if it throws, this line is not delivered again,
        // and the lines after it are delivered at the connection's next read.
        in_head_ = end + 1;
        if (discarding_) {
            discarding_ = false;  // the tail of an overlong line ends here
            continue;
        }
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.size() > limits_.max_line) {
            if (handlers_.on_overlong &&
                !guarded([&] { handlers_.on_overlong(line.substr(0, limits_.max_line)); })) {
                return false;
            }
        } else if (handlers_.on_line && !guarded([&] { handlers_.on_line(line); })) {
            return false;
        }
        if (!fd_) {
            return false;  // closed by the callback
        }
        if (closing_) {
            in_.clear();  // close() from the callback: no more input is delivered
            in_head_ = 0;
            return true;
        }
    }
    in_.erase(0, in_head_);
    in_head_ = 0;
    release_if_large(in_);
    // A final "\r" does not count yet: a "\n" may follow in the next read, and then it is
    // part of the terminator, so the same bytes frame alike however they were split.
    std::size_t pending = in_.size() - (!in_.empty() && in_.back() == '\r' ? 1 : 0);
    if (pending > limits_.max_line) {
        // No terminator within the limit: report once, then drop input up to the next "\n".
        bool report = !discarding_;
        discarding_ = true;
        std::string prefix = report ? in_.substr(0, limits_.max_line) : std::string();
        in_.clear();
        release_if_large(in_);
        if (report && handlers_.on_overlong && !guarded([&] { handlers_.on_overlong(prefix); })) {
            return false;
        }
    }
    return fd_.valid();
}

bool tcp_connection::send(std::string_view data) {
    if (!fd_ || closing_) {
        return false;
    }
    if (buffered_output() > 0 && buffered_output() + data.size() > limits_.max_output) {
        // Over the limit unless the peer has read meanwhile: give the kernel the queued
        // output first (a writable event may be waiting for the next pass).
        if (!write_queued()) {
            return false;
        }
    }
    if (buffered_output() == 0) {
        // Nothing queued: the data goes to the kernel directly, and only what it does not
        // take is queued (and counts against max_output).
        std::size_t written = write_some(data);
        if (written == failed) {
            return false;
        }
        data.remove_prefix(written);
        if (data.empty()) {
            return true;
        }
    }
    if (buffered_output() + data.size() > limits_.max_output) {
        shut(close_reason::output_overflow);
        return false;
    }
    if (buffered_output() == 0) {
        out_.assign(data);
        out_head_ = 0;
        wait_writable();
    } else {
        out_.append(data);
    }
    return true;
}

std::size_t tcp_connection::write_some(std::string_view data) {
    std::size_t written = 0;
    while (written < data.size()) {
        ssize_t n = sys::send(fd_.get(), data.data() + written, data.size() - written,
                              MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
            written += static_cast<std::size_t>(n);
            continue;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN) {
            break;
        }
        shut(close_reason::error);
        return failed;
    }
    return written;
}

bool tcp_connection::write_queued() {
    std::size_t written =
        write_some(std::string_view(out_).substr(out_head_, out_.size() - out_head_));
    if (written == failed) {
        return false;
    }
    out_head_ += written;
    if (out_head_ == out_.size()) {
        out_.clear();
        out_head_ = 0;
    }
    return true;
}

void tcp_connection::wait_writable() {
    output_waited_ = true;
    // After the peer's end of file there is nothing to read (and readability would be
    // reported at every pass).
    watcher_.set_interest(peer_shut_ ? io_events::writable
                                     : io_events::readable | io_events::writable);
}

bool tcp_connection::flush() {
    if (!write_queued()) {
        return false;
    }
    if (!out_.empty()) {
        // Compact now and then so the buffer does not creep.
        if (out_head_ > out_.size() / 2) {
            out_.erase(0, out_head_);
            out_head_ = 0;
        }
        wait_writable();
        return true;
    }
    out_.clear();
    out_head_ = 0;
    release_if_large(out_);
    if (closing_) {
        return finish_writing();
    }
    watcher_.set_interest(io_events::readable);
    if (std::exchange(output_waited_, false) && on_drained_ && !guarded([&] { on_drained_(); })) {
        return false;
    }
    return fd_.valid();
}

// End of file from the peer: the connection closes, unless a graceful close still has
// output to deliver (the peer may still read after shutting its own sending side).
bool tcp_connection::peer_end_of_file() {
    if (!closing_) {
        shut(close_reason::peer_closed);
        return false;
    }
    if (write_shut_) {
        shut(close_reason::local);  // both sides done: the graceful close is complete
        return false;
    }
    if (peer_shut_) {
        // Reported again though readability is no longer asked for: a hang-up, the peer is
        // gone entirely and the output cannot be delivered.
        shut(close_reason::peer_closed);
        return false;
    }
    peer_shut_ = true;
    watcher_.set_interest(io_events::writable);  // output is still queued
    return true;
}

// All output of a graceful close is written: end of file for the peer, then wait for its
// own (or close at once when it came already).
bool tcp_connection::finish_writing() {
    if (sys::shutdown(fd_.get(), SHUT_WR) != 0) {
        shut(close_reason::error);  // ENOTCONN: the connection was reset meanwhile
        return false;
    }
    write_shut_ = true;
    if (peer_shut_) {
        shut(close_reason::local);
        return false;
    }
    watcher_.set_interest(io_events::readable);
    return true;
}

void tcp_connection::close(std::chrono::nanoseconds timeout) {
    if (!fd_ || closing_) {
        return;
    }
    closing_ = true;
    output_waited_ = false;
    close_timer_.restart_after(timeout);
    if (buffered_output() == 0) {
        (void)finish_writing();
    }
}

void tcp_connection::abort() {
    if (fd_) {
        shut(close_reason::local);
    }
}

void tcp_connection::shut(close_reason reason) {
    close_timer_.stop();
    watcher_.stop();
    fd_.reset();
    // The output's capacity goes too: a closed connection may be kept around a while.  The
    // input keeps its storage until the destructor: a callback that closed the connection
    // may still be reading the line it was given, which points into it.
    in_.clear();
    in_head_ = 0;
    std::string().swap(out_);
    out_head_ = 0;
    if (handlers_.on_close) {
        // Last action: the callback may destroy this object.
        auto on_close = std::move(handlers_.on_close);
        (void)guarded([&] { on_close(reason); });
    }
}

}  // namespace tfd

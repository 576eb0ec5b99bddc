// tfd::async_connection: tcp_connection for coroutines: lines in, bytes out.
//
//   tfd::async_connection client(loop, std::move(accepted.socket));
//   while (std::optional<tfd::received_line> line = co_await client.read_line()) {
//       if (line->overlong) { co_await client.write("ERR line too long\n"); continue; }
//       if (line->text == "quit") break;
//       co_await client.write(line->text + "\n");
//   }
//   co_await client.close();  // the replies are delivered first; then client.reason() says why
//
// The framing, limits and bounded output are tcp_connection's (max_line, max_output,
// read_budget).  tcp_connection reads whenever data arrives; lines that arrive while the
// coroutine is busy elsewhere are queued here, up to max_queued bytes (one line is always
// kept, whatever its size, so 0 means "one line at a time"): a peer that keeps
// sending faster than the coroutine reads is disconnected (input_overflow() then says so,
// and reason() is close_reason::error), as one that does not read is (output_overflow).
//
// read_line() returns the next line, without its terminator, or std::nullopt once the
// connection is closed or closing and every queued line was read.  An overlong line comes once, as
// its first max_line bytes with overlong set.  write() queues the bytes in the bounded output
// buffer and never suspends; it returns false when the connection is closed or closing (or
// has just closed because the buffer would overflow).  The verbs are tcp_connection's:
// close() is graceful (the queued output is delivered, then end of file; co_await waits for
// the end of it), abort() closes at once and drops the output.  One waiting read_line() and
// one waiting close() at a time (EBUSY).  Both are cancellable (with_timeout: the idle
// timeout of a connection) and, given a stop token, end with operation_cancelled on a stop
// request.  The async_connection must outlive its waits and not outlive its loop.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>

#include "tfd/cancellation.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/tcp_connection.hpp"
#include "tfd/unique_fd.hpp"
#include "tfd/waiter_slot.hpp"

namespace tfd {

struct received_line {
    std::string text;
    bool overlong = false;  // text holds the first max_line bytes of a longer line
};

class async_connection {
  public:
    struct limits {
        tcp_connection::limits connection{};
        std::size_t max_queued = 64 * 1024;  // bytes of lines received and not read yet
    };

  private:
    // read_line()'s and close()'s waits, for detail::slot_awaiter.
    struct line_wait;
    struct close_wait;

  public:
    template <class Stop>
    using line_awaiter = detail::slot_awaiter<line_wait, Stop>;
    template <class Stop>
    using close_awaiter = detail::slot_awaiter<close_wait, Stop>;
    static constexpr std::chrono::nanoseconds default_close_timeout = std::chrono::seconds(10);
    // write()'s awaiter: already complete when made.
    struct write_awaiter {
        bool queued;
        static constexpr bool await_ready() noexcept { return true; }
        static constexpr void await_suspend(std::coroutine_handle<>) noexcept {}
        [[nodiscard]] bool await_resume() const noexcept { return queued; }
        static constexpr void cancel() noexcept {}
    };

    // Takes ownership of a connected non-blocking socket and starts reading.  A descriptor
    // that is not a socket is refused here, not reported later as a close: EBADF for
    // unique_fd() or a closed number, ENOTSOCK for a pipe or a file, each naming
    // async_connection and the descriptor (which is closed, as the socket was given).
    async_connection(event_loop& loop, unique_fd socket, limits limits);
    async_connection(event_loop& loop, unique_fd socket)
        : async_connection(loop, std::move(socket), limits{}) {}
    async_connection(const async_connection&) = delete;
    async_connection& operator=(const async_connection&) = delete;
    ~async_connection();

    [[nodiscard]] line_awaiter<detail::no_stop> read_line() noexcept;
    [[nodiscard]] line_awaiter<detail::stop_binding> read_line(std::stop_token token) noexcept;
    [[nodiscard]] write_awaiter write(std::string_view bytes);

    // Closes gracefully, as tcp_connection::close(timeout) does: from now on write() returns
    // false and no more input arrives (a waiting read_line() returns the lines already
    // queued, then std::nullopt); the queued output is delivered, then the peer gets end of
    // file, and the socket is closed once the peer has closed its side too, or after
    // `timeout`.  co_await returns why it closed: close_reason::local, or error or
    // peer_closed when the output could not be delivered (a peer that has reset the
    // connection: the close ends inside the call, and a waiting read_line() resumes inside
    // it, after the connection is closed; it may destroy the async_connection, and the
    // returned awaiter must then be discarded unawaited).  The close goes on without a
    // co_await as long as the async_connection lives (destroying it aborts the close), so
    // `(void)connection.close()` starts it and leaves the wait to someone else.  One waiting
    // close() at a time (EBUSY).
    [[nodiscard]] close_awaiter<detail::no_stop> close(
        std::chrono::nanoseconds timeout = default_close_timeout);
    [[nodiscard]] close_awaiter<detail::stop_binding> close(std::chrono::nanoseconds timeout,
                                                            std::stop_token token);
    // Closes now, dropping the queued output: the peer gets end of file (or a reset) without
    // it.  reason() is close_reason::local on return; a waiting read_line() or close()
    // resumes inside.
    void abort();
    // True until the connection is closed (during a graceful close too).
    [[nodiscard]] bool is_open() const noexcept { return !reason_.has_value(); }
    // True from close() until the connection is closed.
    [[nodiscard]] bool is_closing() const noexcept { return connection_.is_closing(); }
    // Why the connection closed (std::nullopt while open).
    [[nodiscard]] std::optional<close_reason> reason() const noexcept { return reason_; }
    [[nodiscard]] bool input_overflow() const noexcept { return input_overflow_; }
    [[nodiscard]] int native_handle() const noexcept { return connection_.native_handle(); }
    [[nodiscard]] event_loop& loop() const noexcept { return *loop_; }

  private:
    void on_line(std::string_view text, bool overlong);
    void on_close(close_reason reason);
    void start_close(std::chrono::nanoseconds timeout);
    [[nodiscard]] std::optional<received_line> take() noexcept;

    event_loop* loop_;
    std::size_t max_queued_;
    std::deque<received_line> lines_;
    std::size_t queued_bytes_ = 0;
    std::optional<close_reason> reason_;
    bool input_overflow_ = false;
    bool in_start_close_ = false;  // on_close() then leaves the waiter to start_close()
    // The coroutines waiting in read_line() and in close().  Never both: close() completes
    // the reader, and read_line() does not wait once closing.
    detail::waiter_slot reading_;
    detail::waiter_slot closing_;
    tcp_connection connection_;  // last: destroyed first
};

struct async_connection::line_wait {
    using owner = async_connection;
    static constexpr detail::cancelled_operation operation = detail::cancelled_operation::read_line;
    static constexpr const char* busy =
        "async_connection::read_line: another coroutine already waits";
    static detail::waiter_slot& slot(async_connection& c) noexcept { return c.reading_; }
    static bool ready(const async_connection& c) noexcept {
        return !c.lines_.empty() || !c.is_open() || c.is_closing();
    }
    static std::optional<received_line> take(async_connection& c) noexcept { return c.take(); }
};

struct async_connection::close_wait {
    using owner = async_connection;
    static constexpr detail::cancelled_operation operation = detail::cancelled_operation::close;
    static constexpr const char* busy = "async_connection::close: another coroutine already waits";
    static detail::waiter_slot& slot(async_connection& c) noexcept { return c.closing_; }
    static bool ready(const async_connection& c) noexcept { return !c.is_open(); }
    static close_reason take(const async_connection& c) noexcept { return *c.reason_; }
};

inline async_connection::line_awaiter<detail::no_stop> async_connection::read_line() noexcept {
    return {*this, detail::no_stop{}};
}
inline async_connection::line_awaiter<detail::stop_binding> async_connection::read_line(
    std::stop_token token) noexcept {
    return {*this, detail::stop_binding(std::move(token))};
}

}  // namespace tfd

// tfd::async_connection: tcp_connection for coroutines: lines in, bytes out.
//
//   tfd::async_connection client(loop, std::move(accepted.socket));
//   while (std::optional<tfd::received_line> line = co_await client.read_line()) {
//       if (line->overlong) { co_await client.write("ERR line too long\n"); continue; }
//       co_await client.write(line->text + "\n");
//   }
//   // closed: client.reason() says why
//
// The framing, limits and bounded output are tcp_connection's (max_line, max_output,
// read_budget).  tcp_connection reads whenever data arrives; lines that arrive while the
// coroutine is busy elsewhere are queued here, up to max_queued bytes: a peer that keeps
// sending faster than the coroutine reads is disconnected (input_overflow() then says so,
// and reason() is close_reason::error), as one that does not read is (output_overflow).
//
// read_line() returns the next line, without its terminator, or std::nullopt once the
// connection is closed and every queued line was read.  An overlong line comes once, as its
// first max_line bytes with overlong set.  write() queues the bytes in the bounded output
// buffer and never suspends; it returns false when the connection is closed (or has just
// closed because the buffer would overflow).  One waiting read_line() at a time (EBUSY).
// read_line() is cancellable (with_timeout: the idle timeout of a connection) and, given a
// stop token, ends with operation_cancelled on a stop request.  The async_connection must
// outlive its waits and not outlive its loop.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

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
    template <class Stop>
    class line_awaiter;
    // write()'s awaiter: already complete when made.
    struct write_awaiter {
        bool queued;
        static constexpr bool await_ready() noexcept { return true; }
        static constexpr void await_suspend(std::coroutine_handle<>) noexcept {}
        [[nodiscard]] bool await_resume() const noexcept { return queued; }
        static constexpr void cancel() noexcept {}
    };

    // Takes ownership of a connected non-blocking socket and starts reading.
    async_connection(event_loop& loop, unique_fd socket, limits limits);
    async_connection(event_loop& loop, unique_fd socket)
        : async_connection(loop, std::move(socket), limits{}) {}
    async_connection(const async_connection&) = delete;
    async_connection& operator=(const async_connection&) = delete;
    ~async_connection();

    [[nodiscard]] line_awaiter<detail::no_stop> read_line() noexcept;
    [[nodiscard]] line_awaiter<detail::stop_binding> read_line(std::stop_token token) noexcept;
    [[nodiscard]] write_awaiter write(std::string_view bytes);

    // Closes now (queued output is dropped); a waiting read_line() returns std::nullopt.
    void close();
    [[nodiscard]] bool is_open() const noexcept { return !reason_.has_value(); }
    // Why the connection closed (std::nullopt while open).
    [[nodiscard]] std::optional<close_reason> reason() const noexcept { return reason_; }
    [[nodiscard]] bool input_overflow() const noexcept { return input_overflow_; }
    [[nodiscard]] int native_handle() const noexcept { return connection_.native_handle(); }
    [[nodiscard]] event_loop& loop() const noexcept { return *loop_; }

  private:
    struct waiter {
        void (*complete)(waiter& self) noexcept;
    };
    void on_line(std::string_view text, bool overlong);
    void on_close(close_reason reason);
    void wait(waiter& w);
    void wake() noexcept;
    [[nodiscard]] std::optional<received_line> take() noexcept;

    event_loop* loop_;
    std::size_t max_queued_;
    std::deque<received_line> lines_;
    std::size_t queued_bytes_ = 0;
    std::optional<close_reason> reason_;
    bool input_overflow_ = false;
    waiter* waiting_ = nullptr;
    tcp_connection connection_;  // last: destroyed first
};

template <class Stop>
class async_connection::line_awaiter : async_connection::waiter {
  public:
    line_awaiter(async_connection& owner, Stop stop) noexcept
        : waiter{&complete}, owner_(&owner), stop_(std::move(stop)) {}
    line_awaiter(line_awaiter&&) noexcept = default;
    ~line_awaiter() { cancel_quietly(); }

    bool await_ready() const noexcept {
        return stop_.requested() || !owner_->lines_.empty() || !owner_->is_open();
    }
    bool await_suspend(std::coroutine_handle<> h) {
        owner_->wait(*this);
        if (!stop_.bind(owner_->loop(), &on_stop, this)) {
            owner_->waiting_ = nullptr;
            return false;
        }
        awaiting_ = h;
        return true;
    }
    std::optional<received_line> await_resume() {
        if (stop_.requested() && !completed_) {
            detail::throw_cancelled(detail::cancelled_operation::read_line);
        }
        return owner_->take();
    }
    void cancel() noexcept {
        if (awaiting_) {
            cancel_quietly();
            std::exchange(awaiting_, nullptr).resume();
        }
    }

  private:
    void cancel_quietly() noexcept {
        if (awaiting_) {
            owner_->waiting_ = nullptr;
            stop_.unbind();
        }
    }
    static void complete(waiter& w) noexcept {
        auto& self = static_cast<line_awaiter&>(w);
        self.completed_ = true;
        self.stop_.unbind();
        std::exchange(self.awaiting_, nullptr).resume();
    }
    static void on_stop(void* self) noexcept { static_cast<line_awaiter*>(self)->cancel(); }

    async_connection* owner_;
    bool completed_ = false;
    std::coroutine_handle<> awaiting_;
    [[no_unique_address]] Stop stop_;
};

inline async_connection::line_awaiter<detail::no_stop> async_connection::read_line() noexcept {
    return {*this, detail::no_stop{}};
}
inline async_connection::line_awaiter<detail::stop_binding> async_connection::read_line(
    std::stop_token token) noexcept {
    return {*this, detail::stop_binding(std::move(token))};
}

}  // namespace tfd

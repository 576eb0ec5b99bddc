// tfd::tcp_connection: a connected, non-blocking stream socket with line framing and a
// bounded output buffer, driven by an event_loop.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tfd/event_loop.hpp"
#include "tfd/small_function.hpp"
#include "tfd/unique_fd.hpp"

namespace tfd {

// Why a connection closed.
enum class close_reason : unsigned char {
    peer_closed,      // end of file from the peer
    error,            // a read or write failed (reset by peer, ...)
    output_overflow,  // the peer does not read: the output buffer limit was reached
    local,            // close() finished, or abort() was called
};
[[nodiscard]] const char* to_string(close_reason reason) noexcept;

// Reads input as lines ending in "\n" (a "\r" before it is removed) and writes through a
// buffer.
//
//  * A complete line goes to on_line, without its terminator.  Several lines in one read and
//    a line split over several reads are both handled.
//  * A line longer than max_line bytes goes to on_overlong instead, once, with its first
//    max_line bytes; the rest of it, up to the next "\n", is discarded as it arrives, so the
//    input buffer never holds more than max_line bytes plus one read.
//  * send() writes at once when it can and buffers the rest.  max_output bounds only that
//    rest, what waits because the peer is not reading: a send() of any size with nothing
//    queued goes to the kernel first, and only the bytes it does not take are queued.  When
//    the queued output would exceed max_output bytes (after the queue was offered to the
//    kernel once more), the connection closes with close_reason::output_overflow instead of
//    growing without bound or stalling the loop.
//  * Each readiness event stops reading once read_budget bytes came (in recv()s of up to
//    4 KiB, so it can pass the budget by less than one of them), so one busy peer cannot
//    starve the others.
//  * close() is graceful: queued output is written first, then the sending side is shut
//    down, and the socket is closed once the peer has closed its side (abort() drops the
//    output and closes at once).
//  * The on_drained() callback runs when output that send() had to buffer has all been
//    written: the time for a producer that paused on buffered_output() to go on.
//  * on_close runs exactly once, last; the connection may be destroyed inside any callback
//    (a callback must not touch the connection after destroying it).
//  * An exception from a callback propagates (out of event_loop::run); the line that threw
//    is consumed, lines already received after it are delivered at the next read.
class tcp_connection {
  public:
    // The constructor refuses a max_line or read_budget of 0 (std::system_error, EINVAL,
    // naming the field and value): no line could be received, or the input would never be
    // read while the loop spun on it.  A max_output of 0 is allowed: nothing is ever queued,
    // and a peer is closed once the kernel cannot take a send() whole.
    struct limits {
        std::size_t max_line = 1024;          // bytes of a line, without its terminator
        std::size_t max_output = 64 * 1024;   // bytes queued for a peer that is not reading
        std::size_t read_budget = 64 * 1024;  // bytes read per readiness event
    };
    struct callbacks {
        small_function<void(std::string_view line), 16> on_line;
        small_function<void(std::string_view prefix), 16> on_overlong;
        small_function<void(close_reason reason), 16> on_close;
    };

    // Takes ownership of a connected non-blocking socket and starts reading.  Throws
    // std::system_error for limits it refuses (see limits) or when the loop cannot watch the
    // socket (the select backend refuses fd >= FD_SETSIZE); the socket is closed then.
    tcp_connection(event_loop& loop, unique_fd socket, callbacks handlers, limits limits);
    tcp_connection(event_loop& loop, unique_fd socket, callbacks handlers)
        : tcp_connection(loop, std::move(socket), std::move(handlers), limits{}) {}
    tcp_connection(const tcp_connection&) = delete;
    tcp_connection& operator=(const tcp_connection&) = delete;
    ~tcp_connection();

    // Sends `data` to the peer: written to the kernel at once when nothing is queued, the
    // rest queued.  Returns false, and closes the connection (on_close with output_overflow),
    // when the queued output would exceed max_output; false, and closed with
    // close_reason::error, when the write fails (the peer reset the connection); false
    // without effect when already closed or closing.
    bool send(std::string_view data);

    // Closes gracefully: no more input is delivered and send() returns false from now on;
    // the queued output is written, then shutdown(SHUT_WR) gives the peer end of file after
    // its last byte, and whatever the peer still sends is read and discarded until it closes
    // its side too (closing a socket with unread input makes the kernel reset the
    // connection, which can destroy output the peer has not read yet).  Then the socket is
    // closed and on_close runs with close_reason::local; with close_reason::error or
    // peer_closed if the connection fails or the peer goes away before the output is
    // delivered.  After `timeout` it closes anyway (close_reason::local).  A no-op when
    // already closing or closed.
    void close(std::chrono::nanoseconds timeout = std::chrono::seconds(10));

    // Closes now, dropping the queued output; on_close runs with close_reason::local.
    void abort();

    // Sets (or, with an empty callback, clears) what runs when output that send() had to
    // buffer has all been written.  Not for a send() that went out at once, nor during
    // close().  The callback may send, close or destroy the connection.
    void on_drained(small_function<void(), 16> callback) { on_drained_ = std::move(callback); }

    // True until the socket is closed (during a graceful close too).
    [[nodiscard]] bool is_open() const noexcept { return fd_.valid(); }
    // True from close() until the socket is closed.
    [[nodiscard]] bool is_closing() const noexcept { return closing_ && fd_.valid(); }
    [[nodiscard]] int native_handle() const noexcept { return fd_.get(); }
    [[nodiscard]] std::size_t buffered_output() const noexcept { return out_.size() - out_head_; }

  private:
    void on_events(io_events events);
    // Each returns false when the connection closed (and may already be destroyed).
    bool read_some();
    bool flush();
    bool write_queued();  // the queued output the kernel takes now, without callbacks
    bool split_lines();
    bool finish_writing();
    bool peer_end_of_file();
    // Writes what the kernel takes of `data` now: the byte count, or `failed` when the
    // write failed and the connection closed (and may already be destroyed).
    std::size_t write_some(std::string_view data);
    static constexpr std::size_t failed = static_cast<std::size_t>(-1);
    // Output waits in out_: ask for writability (on_drained runs once it is all written).
    void wait_writable();
    void shut(close_reason reason);
    template <class F>
    bool guarded(F&& call);

    callbacks handlers_;
    small_function<void(), 16> on_drained_;
    limits limits_;
    unique_fd fd_;
    std::string in_;
    std::size_t in_head_ = 0;  // bytes of in_ already split off as lines
    std::string out_;
    std::size_t out_head_ = 0;
    bool discarding_ = false;  // inside an overlong line, until its "\n"
    bool* alive_ = nullptr;    // set while a callback runs; cleared by the destructor
    // The graceful close: closing_ from close() on; write_shut_ once shutdown(SHUT_WR) was
    // made (all output delivered); peer_shut_ once the peer's end of file was read.
    bool closing_ = false;
    bool write_shut_ = false;
    bool peer_shut_ = false;
    bool output_waited_ = false;  // send() had to buffer output that is not all written yet
    fd_watcher watcher_;
    timer_watcher close_timer_;  // close()'s timeout; made stopped with the connection
};

}  // namespace tfd

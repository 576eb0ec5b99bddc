// tfd::tcp_listener: a non-blocking TCP listening socket driven by an event_loop.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <system_error>

#include "tfd/event_loop.hpp"
#include "tfd/small_function.hpp"
#include "tfd/tcp_endpoint.hpp"
#include "tfd/unique_fd.hpp"

namespace tfd {

// Receives each accepted connection: a non-blocking, close-on-exec socket, and the peer.
using accept_callback = small_function<void(unique_fd connection, const tcp_endpoint& peer), 16>;
// Told of each accepted connection the loop could not watch, already closed: the peer, and
// the loop's error (which names the descriptor and the reason).
using refused_callback =
    small_function<void(const tcp_endpoint& peer, const std::system_error& error), 16>;

// Listens on one IPv4 or IPv6 address and accepts every pending connection each time the socket is
// readable (at most `accept_batch` per pass, so a connection storm cannot starve the rest of
// the loop).
//
// Running out of descriptors (EMFILE, ENFILE) must not make the loop spin: the listener keeps
// one spare descriptor open (/dev/null); when accept fails for lack of descriptors it closes
// the spare, accepts the waiting connection, closes it at once (the client sees the
// connection closed rather than hanging in the backlog), and reopens the spare.  If even that
// fails, or memory runs out (ENOBUFS, ENOMEM), accepting pauses for `pause` before trying
// again.  Either way the event is counted in rejected()/paused().
//
// A connection the loop cannot watch (the select backend refuses descriptors at or above
// FD_SETSIZE) is refused the same way: before on_accept sees it, the listener checks that the
// loop accepts a watcher for the descriptor; if not, it closes the connection at once, counts
// it in rejected(), reports it to the on_refused() callback, and goes on accepting.  One
// client the backend cannot serve costs that client only, not an exception out of
// event_loop::run() and every other client with it.
class tcp_listener {
  public:
    // The constructor refuses an accept_batch below 1 or a pause not above 0
    // (std::system_error, EINVAL, naming the field and value): either would make the loop
    // spin, never accepting or retrying at once while descriptors are out.  It refuses an
    // empty on_accept (nullptr, a null function pointer, an empty std::function) with EINVAL
    // too, before binding anything.
    struct options {
        int backlog = SOMAXCONN;  // the kernel caps it at net.core.somaxconn
        int accept_batch = 64;    // accepts per readiness event
        std::chrono::nanoseconds pause = std::chrono::milliseconds(100);
    };

    // Binds `host` and `port` (0: the kernel picks a free one, see port()) with
    // SO_REUSEADDR, listens, and registers with `loop`.  `host` is an IPv4 or IPv6 literal
    // ("127.0.0.1", "::1", "[::1]"; "0.0.0.0" or "::" for every interface), "localhost"
    // (127.0.0.1) or a name resolved to one address, as tcp_endpoint::resolve says.  An IPv6
    // listener takes IPv6 connections only (IPV6_V6ONLY, whatever the system's default), so
    // "0.0.0.0" and "::" can listen on the same port side by side.  Throws
    // std::system_error naming the host and port on failure.
    tcp_listener(event_loop& loop, const std::string& host, std::uint16_t port,
                 accept_callback on_accept, options opts);
    tcp_listener(event_loop& loop, const std::string& host, std::uint16_t port,
                 accept_callback on_accept)
        : tcp_listener(loop, host, port, std::move(on_accept), options{}) {}

    tcp_listener(const tcp_listener&) = delete;
    tcp_listener& operator=(const tcp_listener&) = delete;
    // May run inside on_accept or on_refused (the listener then accepts nothing more).
    ~tcp_listener();

    // The bound port (the kernel's choice when 0 was asked for).
    [[nodiscard]] std::uint16_t port() const noexcept { return bound_.port(); }
    // The address and port listened on ("127.0.0.1:40123", "[::1]:40123").
    [[nodiscard]] const tcp_endpoint& endpoint() const noexcept { return bound_; }
    [[nodiscard]] int native_handle() const noexcept { return fd_.get(); }
    // Connections closed at once, for lack of descriptors or because the loop could not
    // watch them, and times accepting paused.
    [[nodiscard]] std::uint64_t rejected() const noexcept { return rejected_; }
    [[nodiscard]] std::uint64_t paused() const noexcept { return paused_; }

    // Sets (or, with an empty callback, clears) what is told of each connection refused
    // because the loop could not watch it.  The callback may close or destroy the listener
    // (so may on_accept); an exception from it propagates out of event_loop::run(), as one
    // from on_accept does.
    void on_refused(refused_callback callback) { on_refused_ = std::move(callback); }

    // Stops listening and closes the socket.
    void close() noexcept;

  private:
    void on_readable();
    bool watchable(unique_fd& connection, const tcp_endpoint& peer);
    bool shed_one() noexcept;
    void pause_accepting();

    event_loop& loop_;
    options options_;
    accept_callback on_accept_;
    refused_callback on_refused_;
    unique_fd fd_;
    unique_fd spare_;
    fd_watcher watcher_;
    timer_watcher resume_;
    tcp_endpoint bound_;
    std::uint64_t rejected_ = 0;
    std::uint64_t paused_ = 0;
    bool* alive_ = nullptr;  // set while on_readable runs; cleared by the destructor
};

}  // namespace tfd

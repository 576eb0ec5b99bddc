// tfd::async_listener: tcp_listener for coroutines: `co_await listener.accept()`.
//
//   tfd::async_listener listener(loop, "127.0.0.1", 0);
//   for (;;) {
//       tfd::accepted client = co_await listener.accept(stop_token);
//       loop.spawn(serve(loop, std::move(client.socket)));
//   }
//
// The accepting is tcp_listener's, with its protection against running out of descriptors
// (the spare descriptor, the pause) and its refusal of connections the loop cannot watch
// (never queued; see on_refused()).  A connection accepted while a coroutine waits in
// accept() goes to it at once.  Connections the listener accepts while no coroutine waits
// are queued, up to options::max_queued; beyond that each is closed at once and counted in
// rejected(), so a server that stops accepting cannot be made to hold descriptors without
// bound.  max_queued = 0 queues nothing: connections are taken only while accept() waits,
// and closed at once otherwise.  One waiting accept() at a time (EBUSY otherwise).  accept() is
// cancellable (with_timeout) and, given a stop token, ends with operation_cancelled on a stop
// request; after close() it throws std::system_error (EBADF).
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <stop_token>
#include <string>
#include <system_error>
#include <utility>

#include "tfd/cancellation.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/tcp_endpoint.hpp"
#include "tfd/tcp_listener.hpp"
#include "tfd/unique_fd.hpp"
#include "tfd/waiter_slot.hpp"

namespace tfd {

// A connection accepted by async_listener: a non-blocking, close-on-exec socket and its peer.
struct accepted {
    unique_fd socket;
    tcp_endpoint peer;
};

class async_listener {
  public:
    struct options {
        tcp_listener::options listen{};
        // Connections held while no accept() waits (0: none; a waiting accept() is always
        // handed the connection).
        std::size_t max_queued = 128;
    };

  private:
    struct accept_wait;  // accept()'s wait, for detail::slot_awaiter

  public:
    template <class Stop>
    using accept_awaiter = detail::slot_awaiter<accept_wait, Stop>;

    // Binds and listens as tcp_listener does (throws std::system_error naming the address).
    async_listener(event_loop& loop, const std::string& address, std::uint16_t port, options opts);
    async_listener(event_loop& loop, const std::string& address, std::uint16_t port)
        : async_listener(loop, address, port, options{}) {}
    async_listener(const async_listener&) = delete;
    async_listener& operator=(const async_listener&) = delete;
    ~async_listener();

    [[nodiscard]] accept_awaiter<detail::no_stop> accept() noexcept;
    [[nodiscard]] accept_awaiter<detail::stop_binding> accept(std::stop_token token) noexcept;

    [[nodiscard]] std::uint16_t port() const noexcept { return listener_.port(); }
    [[nodiscard]] event_loop& loop() const noexcept { return *loop_; }
    // Connections closed at once: by tcp_listener for lack of descriptors or because the
    // loop could not watch them, or here because max_queued were already waiting for accept()
    // (with max_queued 0: every one that came while no accept() waited).
    [[nodiscard]] std::uint64_t rejected() const noexcept {
        return listener_.rejected() + overflowed_;
    }
    [[nodiscard]] std::size_t queued() const noexcept { return queue_.size(); }
    // What is told of each connection refused because the loop could not watch it
    // (tcp_listener::on_refused).
    void on_refused(refused_callback callback) { listener_.on_refused(std::move(callback)); }
    // Stops listening; a waiting accept() ends with EBADF, queued connections are closed.
    void close() noexcept;

  private:
    void on_accept(unique_fd socket, const tcp_endpoint& peer);

    event_loop* loop_;
    options options_;
    std::deque<accepted> queue_;
    detail::waiter_slot accepting_;  // the coroutine waiting in accept()
    std::uint64_t overflowed_ = 0;
    bool closed_ = false;
    tcp_listener listener_;  // last: destroyed first, so no accept reaches a half-gone object
};

struct async_listener::accept_wait {
    using owner = async_listener;
    static constexpr detail::cancelled_operation operation = detail::cancelled_operation::accept;
    static constexpr const char* busy = "async_listener::accept: another coroutine already waits";
    static detail::waiter_slot& slot(async_listener& l) noexcept { return l.accepting_; }
    static bool ready(const async_listener& l) noexcept { return l.closed_ || !l.queue_.empty(); }
    static accepted take(async_listener& l) {
        if (l.queue_.empty()) {
            throw std::system_error(std::make_error_code(std::errc::bad_file_descriptor),
                                    "async_listener::accept: the listener was closed");
        }
        accepted next = std::move(l.queue_.front());
        l.queue_.pop_front();
        return next;
    }
};

inline async_listener::accept_awaiter<detail::no_stop> async_listener::accept() noexcept {
    return {*this, detail::no_stop{}};
}
inline async_listener::accept_awaiter<detail::stop_binding> async_listener::accept(
    std::stop_token token) noexcept {
    return {*this, detail::stop_binding(std::move(token))};
}

}  // namespace tfd

// tfd::fd_watcher: the handle of a descriptor-readiness watcher registered with an event_loop.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <utility>

#include "tfd/io_events.hpp"
#include "tfd/small_function.hpp"

namespace tfd {

namespace detail {
class loop_impl;
struct fd_node;
}  // namespace detail

// Called with the events that occurred, limited to the watcher's interest plus error and
// hang-up (which are always delivered).  Captures up to 16 bytes are stored in place.
using fd_callback = small_function<void(io_events), 16>;

// Owns one fd watcher (made by event_loop::watch).  Move-only; destroying the handle stops
// the watcher.  The handle must not outlive its loop.  The watcher does not own the
// descriptor: stop the watcher before (or in the same callback as) closing it.
class fd_watcher {
  public:
    fd_watcher() noexcept = default;
    fd_watcher(fd_watcher&& other) noexcept
        : loop_(std::exchange(other.loop_, nullptr)), node_(std::exchange(other.node_, nullptr)) {}
    fd_watcher& operator=(fd_watcher&& other) noexcept {
        if (this != &other) {
            stop();
            loop_ = std::exchange(other.loop_, nullptr);
            node_ = std::exchange(other.node_, nullptr);
        }
        return *this;
    }
    fd_watcher(const fd_watcher&) = delete;
    fd_watcher& operator=(const fd_watcher&) = delete;
    ~fd_watcher() { stop(); }

    // Unregisters the watcher; the handle becomes empty.  Events already collected for it in
    // the current dispatch pass are dropped.  Safe from inside any callback, its own included.
    void stop() noexcept;

    // Changes what the watcher waits for (none pauses it without unregistering).
    void set_interest(io_events interest);
    [[nodiscard]] io_events interest() const noexcept;
    [[nodiscard]] int fd() const noexcept;

    [[nodiscard]] bool active() const noexcept { return node_ != nullptr; }
    explicit operator bool() const noexcept { return active(); }

  private:
    friend class detail::loop_impl;
    fd_watcher(detail::loop_impl* loop, detail::fd_node* node) noexcept
        : loop_(loop), node_(node) {}

    detail::loop_impl* loop_ = nullptr;
    detail::fd_node* node_ = nullptr;
};

}  // namespace tfd

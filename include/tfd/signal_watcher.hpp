// tfd::signal_watcher: the handle of a signal watcher registered with an event_loop.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <utility>

#include "tfd/signal_fd.hpp"
#include "tfd/small_function.hpp"

namespace tfd {

namespace detail {
class loop_impl;
struct signal_node;
}  // namespace detail

using signal_callback = small_function<void(const signal_info&), 16>;

// Owns one signal watcher (made by event_loop::on_signal).  Move-only; destroying the handle
// stops it.  The handle must not outlive its loop.
class signal_watcher {
  public:
    signal_watcher() noexcept = default;
    signal_watcher(signal_watcher&& other) noexcept
        : loop_(std::exchange(other.loop_, nullptr)), node_(std::exchange(other.node_, nullptr)) {}
    signal_watcher& operator=(signal_watcher&& other) noexcept {
        if (this != &other) {
            stop();
            loop_ = std::exchange(other.loop_, nullptr);
            node_ = std::exchange(other.node_, nullptr);
        }
        return *this;
    }
    signal_watcher(const signal_watcher&) = delete;
    signal_watcher& operator=(const signal_watcher&) = delete;
    ~signal_watcher() { stop(); }

    // Stops watching; restores the signal's blocked state as it was before the loop blocked
    // it (see event_loop::on_signal).  The handle becomes empty.
    void stop() noexcept;
    [[nodiscard]] int signo() const noexcept;
    [[nodiscard]] bool active() const noexcept { return node_ != nullptr; }
    explicit operator bool() const noexcept { return active(); }

  private:
    friend class detail::loop_impl;
    signal_watcher(detail::loop_impl* loop, detail::signal_node* node) noexcept
        : loop_(loop), node_(node) {}

    detail::loop_impl* loop_ = nullptr;
    detail::signal_node* node_ = nullptr;
};

}  // namespace tfd

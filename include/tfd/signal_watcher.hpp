// tfd::signal_watcher: the handle of a signal watcher registered with an event_loop.
#pragma once

#include "tfd/handle.hpp"
#include "tfd/signal_fd.hpp"
#include "tfd/small_function.hpp"

namespace tfd {

class event_loop;
namespace detail {
struct signal_node;
}  // namespace detail

using signal_callback = small_function<void(const signal_info&), 16>;

// Owns one signal watcher (made by event_loop::on_signal); the verbs mean what they mean on
// every handle (see handle.hpp).
class signal_watcher : public detail::basic_handle<signal_watcher, detail::signal_node> {
  public:
    signal_watcher() noexcept = default;
    signal_watcher(signal_watcher&&) noexcept = default;
    signal_watcher& operator=(signal_watcher&&) noexcept = default;
    ~signal_watcher() { reset(); }

    // Stops watching; restores the signal's blocked state as it was before the loop blocked
    // it (see event_loop::on_signal).  The watcher keeps its signal and callback.
    void stop() noexcept;
    // Watches again (EEXIST if another watcher took the signal meanwhile); a no-op when active.
    void start();
    // Stops and frees the watcher; the handle becomes empty.
    void reset() noexcept;
    [[nodiscard]] int signo() const noexcept;  // 0 for an empty handle
    [[nodiscard]] bool active() const noexcept;

  private:
    friend class event_loop;
    using basic_handle::basic_handle;
};

}  // namespace tfd

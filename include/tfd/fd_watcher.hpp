// tfd::fd_watcher: the handle of a descriptor-readiness watcher registered with an event_loop.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include "tfd/handle.hpp"
#include "tfd/io_events.hpp"
#include "tfd/small_function.hpp"

namespace tfd {

class event_loop;
namespace detail {
struct fd_node;
// EINVAL, naming `operation`, the value and the descriptor, for an interest with a bit that
// io_events does not name (a stray cast would otherwise be masked away without a word).
void check_interest(const char* operation, int fd, io_events interest);
}  // namespace detail

// Called with the events that occurred, limited to the watcher's interest plus error and
// hang-up (which are always delivered).  Captures up to 16 bytes are stored in place.
using fd_callback = small_function<void(io_events), 16>;

// Owns one fd watcher (made by event_loop::watch); the verbs mean what they mean on every
// handle (see handle.hpp).  The watcher does not own the descriptor: stop the watcher before
// (or in the same callback as) closing it.
class fd_watcher : public detail::basic_handle<fd_watcher, detail::fd_node> {
  public:
    fd_watcher() noexcept = default;
    fd_watcher(fd_watcher&&) noexcept = default;
    fd_watcher& operator=(fd_watcher&&) noexcept = default;
    ~fd_watcher() { reset(); }

    // Unregisters the watcher from the loop; it keeps its descriptor, interest and callback.
    // Events already collected for it in the current pass are dropped.
    void stop() noexcept;
    // Registers a stopped watcher again, with its interest (EEXIST if another watcher has
    // taken its descriptor meanwhile); a no-op when active.
    void start();
    // Stops the watcher and frees it; the handle becomes empty.
    void reset() noexcept;

    // Changes what the watcher waits for (none pauses it and keeps it registered); a stopped
    // watcher keeps the new interest for its next start().  EINVAL for a bit io_events does
    // not name, as for event_loop::watch (error and hangup are accepted, and are delivered
    // anyway).
    void set_interest(io_events interest);
    [[nodiscard]] io_events interest() const noexcept;
    [[nodiscard]] int fd() const noexcept;  // -1 for an empty handle
    // Registered with the loop.
    [[nodiscard]] bool active() const noexcept;

  private:
    friend class event_loop;
    using basic_handle::basic_handle;
};

}  // namespace tfd

// The small internal interface every readiness backend (epoll, poll, select) implements.
//
// The event loop only ever talks to this interface; which implementation it gets is decided
// in one place, make_backend() in make_backend.cpp.  All backends are level-triggered and
// report the same things, so one contract suite (tests/backend/) runs on each of them:
//
//  * add(fd, interest) registers a descriptor, modify() changes its interest, remove() drops
//    it.  Registering a descriptor twice is an error (EEXIST).
//  * wait() blocks until at least one registered descriptor is ready or the timeout passes,
//    and fills `out` with (fd, events) pairs.  Error and hang-up are always reported, even
//    when the interest asks for neither, because the kernel reports them regardless.
//  * A wait interrupted by a signal (EINTR) returns with no events; the caller recomputes its
//    timeout, so an interruption never makes a wait end early in effect.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "tfd/backend_kind.hpp"
#include "tfd/io_events.hpp"

namespace tfd::detail {

struct ready_event {
    int fd = -1;
    io_events events = io_events::none;
};

class backend {
  public:
    virtual ~backend() = default;

    // Each throws std::system_error naming the backend, the operation and the descriptor.
    virtual void add(int fd, io_events interest) = 0;
    virtual void modify(int fd, io_events interest) = 0;
    // Never throws: the descriptor may already be closed, which is fine (epoll dropped it
    // itself; poll and select simply forget it).
    virtual void remove(int fd) noexcept = 0;

    // Waits at most `timeout` (negative: forever; zero: just look) and appends ready
    // descriptors to `out` (which the caller clears).
    virtual void wait(std::chrono::nanoseconds timeout, std::vector<ready_event>& out) = 0;

    [[nodiscard]] virtual backend_kind kind() const noexcept = 0;
};

std::unique_ptr<backend> make_epoll_backend();
std::unique_ptr<backend> make_poll_backend();
std::unique_ptr<backend> make_select_backend();

// The one place a backend is chosen.
std::unique_ptr<backend> make_backend(backend_kind kind);

// A wait timeout as the timespec the kernel takes; nullptr-equivalent (forever) is signalled
// by returning false.  Shared by the backends so they round identically.
bool wait_timeout(std::chrono::nanoseconds timeout, struct timespec& out) noexcept;

// Throws std::system_error for errno with "<backend>::<operation>: fd=<fd>".
[[noreturn]] void throw_backend_error(backend_kind kind, const char* operation, int fd);

}  // namespace tfd::detail

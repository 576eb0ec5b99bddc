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
//
// Bad descriptors, the same on every backend (bad_descriptor.cpp holds the shared checks and
// messages; tests/backend/bad_descriptor_contract_test.cpp checks them):
//
//  * add() of a descriptor that is not open (negative, never opened, already closed) throws
//    EBADF: "<backend>::add: fd=N is not an open descriptor".  epoll's kernel side refuses it
//    itself; poll and select, whose kernel side would accept it and only complain at the next
//    wait, check it with fstat().
//  * add() of a descriptor epoll cannot watch (a regular file or a directory, always ready,
//    or a device without readiness such as /dev/null) throws EPERM saying so, on every
//    backend: poll and select would report such a file ready at every wait, a silent busy
//    loop.  For anything but a socket or a pipe they ask a scratch epoll instance rather than
//    guess from the file type, so the few regular files that do support polling (some under
//    /proc and /sys) are accepted by all three alike.
//  * A registered descriptor closed before remove() is reported once: the next wait() that
//    notices throws EBADF, "<backend>::wait: fd=N was closed while watched ...", naming every
//    such descriptor, and the backend stops watching it (modify() then throws EBADF, remove()
//    works as usual).  Never a spin, never a second report.  poll notices at the next wait
//    (POLLNVAL), select too (it fails with EBADF; the backend then finds the culprits with
//    fstat()).  epoll's kernel side drops a closed descriptor silently, so the epoll backend
//    checks its registrations itself, at most once a second, before a wait: a closure is
//    reported within about a second of the loop's next wake-up.  That check also catches a
//    number reused by a new descriptor (EPOLL_CTL_MOD finds no registration), which poll and
//    select cannot tell from the original.  It costs one epoll_ctl per registered
//    descriptor per second.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
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
    // Whether wait() keeps a timeout's nanoseconds (ppoll, pselect, epoll_pwait2) rather than
    // rounding it up to whole milliseconds.
    [[nodiscard]] virtual bool precise_timeouts() const noexcept { return true; }
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

// bad_descriptor.cpp: the rules above, shared so that every backend words them alike.

// What poll and select check before registering: throws EBADF when `fd` is not open, EPERM
// when epoll could not watch it either.
void check_watchable(backend_kind kind, int fd);
// Only the first half (EBADF, worded as add() words it): what the registry checks before its
// table, indexed by descriptor number, grows to hold `fd`.
void check_open(backend_kind kind, int fd);
// add() failed with errno: throws, explaining EBADF and EPERM as the rules above word them.
[[noreturn]] void throw_add_error(backend_kind kind, int fd);
// What a wait throws when it finds watched descriptors closed (EBADF): which ones, so the
// registry can take their watchers out of the loop's count of active ones.
class closed_while_watched : public std::system_error {
  public:
    closed_while_watched(std::vector<int> fds, const std::string& what)
        : std::system_error(EBADF, std::system_category(), what), fds_(std::move(fds)) {}
    [[nodiscard]] const std::vector<int>& fds() const noexcept { return fds_; }

  private:
    std::vector<int> fds_;
};
// Throws closed_while_watched naming every descriptor of `fds` (not empty).
[[noreturn]] void throw_closed_while_watched(backend_kind kind, const std::vector<int>& fds);
// modify() of a descriptor already reported closed: throws EBADF saying so.
[[noreturn]] void throw_modify_closed(backend_kind kind, int fd);

}  // namespace tfd::detail

// The poll(2) backend (through ppoll for a nanosecond timeout): O(watched descriptors) per
// wait, no limit on descriptor numbers.
#include <poll.h>

#include <cerrno>
#include <vector>

#include "backend/backend.hpp"
#include "sys/sys.hpp"

namespace tfd::detail {
namespace {

short to_poll(io_events interest) noexcept {
    short bits = 0;
    if (any(interest, io_events::readable)) {
        bits |= POLLIN | POLLPRI;
    }
    if (any(interest, io_events::writable)) {
        bits |= POLLOUT;
    }
    return bits;
}

io_events from_poll(short bits) noexcept {
    io_events events = io_events::none;
    if ((bits & (POLLIN | POLLPRI)) != 0) {
        events |= io_events::readable;
    }
    if ((bits & POLLOUT) != 0) {
        events |= io_events::writable;
    }
    // POLLNVAL never gets here: wait() reports it as a closed descriptor.
    if ((bits & POLLERR) != 0) {
        events |= io_events::error;
    }
    if ((bits & POLLHUP) != 0) {
        events |= io_events::hangup;
    }
    return events;
}

// Invariant: for every registered fd, slot_[fd] is its index in fds_, and that entry's fd is
// fd, or ~fd (negative, which poll skips) once a wait reported fd closed while watched;
// slot_[fd] is -1 for every other fd below slot_.size().
class poll_backend final : public backend {
  public:
    void add(int fd, io_events interest) override {
        check_watchable(backend_kind::poll, fd);
        if (static_cast<std::size_t>(fd) >= slot_.size()) {
            slot_.resize(static_cast<std::size_t>(fd) + 1, -1);
        }
        if (slot_[fd] >= 0) {
            errno = EEXIST;
            throw_backend_error(backend_kind::poll, "add", fd);
        }
        slot_[fd] = static_cast<int>(fds_.size());
        fds_.push_back({fd, to_poll(interest), 0});
    }

    void modify(int fd, io_events interest) override {
        if (!registered(fd)) {
            errno = ENOENT;
            throw_backend_error(backend_kind::poll, "modify", fd);
        }
        pollfd& entry = fds_[slot_[fd]];
        if (entry.fd < 0) {
            throw_modify_closed(backend_kind::poll, fd);
        }
        entry.events = to_poll(interest);
    }

    void remove(int fd) noexcept override {
        if (!registered(fd)) {
            return;
        }
        int index = slot_[fd];
        fds_[index] = fds_.back();
        slot_[real_fd(fds_[index])] = index;
        fds_.pop_back();
        slot_[fd] = -1;
    }

    void wait(std::chrono::nanoseconds timeout, std::vector<ready_event>& out) override {
        timespec limit{};
        bool bounded = wait_timeout(timeout, limit);
        int n = sys::poll(fds_.data(), fds_.size(), bounded ? &limit : nullptr);
        if (n < 0) {
            if (errno == EINTR) {
                return;
            }
            throw_backend_error(backend_kind::poll, "wait", -1);
        }
        std::size_t first = out.size();
        std::vector<int> closed;
        for (pollfd& entry : fds_) {
            if (n == 0) {
                break;
            }
            if (entry.revents == 0) {
                continue;
            }
            --n;
            if ((entry.revents & POLLNVAL) != 0) {
                // Reported once: from now on poll skips the entry (a negative fd).
                closed.push_back(entry.fd);
                entry.fd = ~entry.fd;
                entry.revents = 0;
                continue;
            }
            out.push_back({entry.fd, from_poll(entry.revents)});
        }
        if (!closed.empty()) {
            // Whatever else was ready is reported again by the next wait (level triggering).
            out.resize(first);
            throw_closed_while_watched(backend_kind::poll, closed);
        }
    }

    [[nodiscard]] backend_kind kind() const noexcept override { return backend_kind::poll; }

  private:
    static int real_fd(const pollfd& entry) noexcept {
        return entry.fd >= 0 ? entry.fd : ~entry.fd;
    }

    [[nodiscard]] bool registered(int fd) const noexcept {
        return fd >= 0 && static_cast<std::size_t>(fd) < slot_.size() && slot_[fd] >= 0;
    }

    std::vector<pollfd> fds_;
    std::vector<int> slot_;
};

}  // namespace

std::unique_ptr<backend> make_poll_backend() {
    return std::make_unique<poll_backend>();
}

}  // namespace tfd::detail

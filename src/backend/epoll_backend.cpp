// The default backend: epoll(7), level-triggered, O(ready descriptors) per wait.
#include <sys/epoll.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <system_error>

#include "backend/backend.hpp"
#include "sys/sys.hpp"
#include "tfd/unique_fd.hpp"

namespace tfd::detail {
namespace {

// Cleared the first time epoll_pwait2 fails with ENOSYS (a kernel before 5.11, or valgrind).
std::atomic<bool> pwait2_available{true};

std::uint32_t to_epoll(io_events interest) noexcept {
    std::uint32_t bits = 0;
    if (any(interest, io_events::readable)) {
        bits |= EPOLLIN;
    }
    if (any(interest, io_events::writable)) {
        bits |= EPOLLOUT;
    }
    return bits;
}

io_events from_epoll(std::uint32_t bits) noexcept {
    io_events events = io_events::none;
    if ((bits & (EPOLLIN | EPOLLPRI)) != 0) {
        events |= io_events::readable;
    }
    if ((bits & EPOLLOUT) != 0) {
        events |= io_events::writable;
    }
    if ((bits & EPOLLERR) != 0) {
        events |= io_events::error;
    }
    if ((bits & EPOLLHUP) != 0) {
        events |= io_events::hangup;
    }
    return events;
}

class epoll_backend final : public backend {
  public:
    epoll_backend() : epfd_(sys::epoll_create1(EPOLL_CLOEXEC)), events_(initial_capacity) {
        if (!epfd_) {
            throw_backend_error(backend_kind::epoll, "create", -1);
        }
    }

    void add(int fd, io_events interest) override { control(EPOLL_CTL_ADD, "add", fd, interest); }
    void modify(int fd, io_events interest) override {
        control(EPOLL_CTL_MOD, "modify", fd, interest);
    }
    void remove(int fd) noexcept override {
        // EBADF or ENOENT here means the descriptor was closed first, and closing removed it
        // from the interest list already.
        (void)sys::epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, fd, nullptr);
    }

    void wait(std::chrono::nanoseconds timeout, std::vector<ready_event>& out) override {
        int n = wait_for(timeout);
        if (n < 0) {
            if (errno == EINTR) {
                return;
            }
            throw_backend_error(backend_kind::epoll, "wait", epfd_.get());
        }
        for (int i = 0; i < n; ++i) {
            out.push_back({events_[i].data.fd, from_epoll(events_[i].events)});
        }
        // A full buffer suggests more were ready: offer more room next time (they are not
        // lost meanwhile, level triggering reports them again).
        if (static_cast<std::size_t>(n) == events_.size()) {
            events_.resize(events_.size() * 2);
        }
    }

    [[nodiscard]] backend_kind kind() const noexcept override { return backend_kind::epoll; }

  private:
    static constexpr std::size_t initial_capacity = 64;

    int wait_for(std::chrono::nanoseconds timeout) {
        int capacity = static_cast<int>(events_.size());
        // Forever and "just look" need no precision: plain epoll_wait.  Timers never depend
        // on this timeout (their timer_fd wakes the loop); only run_for's limit does.
        bool whole = timeout.count() <= 0;
        if (!whole && pwait2_available.load(std::memory_order_relaxed)) {
            timespec limit{};
            bool bounded = wait_timeout(timeout, limit);
            int n =
                sys::epoll_wait(epfd_.get(), events_.data(), capacity, bounded ? &limit : nullptr);
            if (n >= 0 || errno != ENOSYS) {
                return n;
            }
            // No epoll_pwait2 here: milliseconds from now on, for every loop of the process.
            pwait2_available.store(false, std::memory_order_relaxed);
        }
        return sys::epoll_wait_ms(epfd_.get(), events_.data(), capacity, timeout_ms(timeout));
    }

    // Rounded up, so a bounded wait never ends before its timeout; capped at INT_MAX ms.
    static int timeout_ms(std::chrono::nanoseconds timeout) noexcept {
        if (timeout.count() < 0) {
            return -1;
        }
        constexpr std::int64_t per_ms = 1'000'000;
        std::int64_t ms = timeout.count() / per_ms + (timeout.count() % per_ms != 0 ? 1 : 0);
        return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
    }

    void control(int op, const char* operation, int fd, io_events interest) {
        epoll_event event{};
        event.events = to_epoll(interest);
        event.data.fd = fd;
        if (sys::epoll_ctl(epfd_.get(), op, fd, &event) != 0) {
            throw_backend_error(backend_kind::epoll, operation, fd);
        }
    }

    unique_fd epfd_;
    std::vector<epoll_event> events_;
};

}  // namespace

std::unique_ptr<backend> make_epoll_backend() {
    return std::make_unique<epoll_backend>();
}

}  // namespace tfd::detail

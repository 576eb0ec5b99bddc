// The default backend: epoll(7), level-triggered, O(ready descriptors) per wait.
#include <sys/epoll.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <system_error>
#include <vector>

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

// The kernel keeps the interest list; state_ mirrors it so that closed descriptors, which the
// kernel drops without a word, can be found (backend.hpp's rules).  Invariant: state_[fd] is
// 0 for every fd not registered below state_.size(); for a registered fd it holds
// `registered` plus its interest, or `registered | closed` once a check found it closed
// (then it is no longer in the kernel's list, or only under a file that lives on elsewhere,
// whose stale events are dropped).  registered_ counts the registered descriptors.
class epoll_backend final : public backend {
  public:
    epoll_backend() : epfd_(sys::epoll_create1(EPOLL_CLOEXEC)), events_(initial_capacity) {
        if (!epfd_) {
            throw_backend_error(backend_kind::epoll, "create", -1);
        }
        last_check_ = coarse_now();
    }

    void add(int fd, io_events interest) override {
        if (fd >= 0 && static_cast<std::size_t>(fd) >= state_.size()) {
            state_.resize(static_cast<std::size_t>(fd) + 1, 0);
        }
        if (!control(EPOLL_CTL_ADD, fd, interest)) {
            throw_add_error(backend_kind::epoll, fd);
        }
        state_[fd] = static_cast<std::uint8_t>(registered | to_bits(interest));
        ++registered_;
    }

    void modify(int fd, io_events interest) override {
        if (is_closed(fd)) {
            throw_modify_closed(backend_kind::epoll, fd);
        }
        if (!control(EPOLL_CTL_MOD, fd, interest)) {
            throw_backend_error(backend_kind::epoll, "modify", fd);
        }
        state_[fd] = static_cast<std::uint8_t>(registered | to_bits(interest));
    }

    void remove(int fd) noexcept override {
        // EBADF or ENOENT here means the descriptor was closed first, and closing removed it
        // from the interest list already.
        (void)sys::epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, fd, nullptr);
        if (fd >= 0 && static_cast<std::size_t>(fd) < state_.size() && state_[fd] != 0) {
            state_[fd] = 0;
            --registered_;
        }
    }

    void wait(std::chrono::nanoseconds timeout, std::vector<ready_event>& out) override {
        if (registered_ > 0) {
            check_registrations();
        }
        int n = wait_for(timeout);
        if (n < 0) {
            if (errno == EINTR) {
                return;
            }
            throw_backend_error(backend_kind::epoll, "wait", epfd_.get());
        }
        bool stale = false;
        for (int i = 0; i < n; ++i) {
            int fd = events_[i].data.fd;
            if (is_closed(fd) || !is_registered(fd)) {
                stale = true;  // a closed descriptor's file, alive elsewhere
                continue;
            }
            out.push_back({fd, from_epoll(events_[i].events)});
        }
        if (stale) {
            purge_stale_registrations();
        }
        // A full buffer suggests more were ready: offer more room next time (they are not
        // lost meanwhile, level triggering reports them again).
        if (static_cast<std::size_t>(n) == events_.size()) {
            events_.resize(events_.size() * 2);
        }
    }

    [[nodiscard]] backend_kind kind() const noexcept override { return backend_kind::epoll; }
    [[nodiscard]] bool precise_timeouts() const noexcept override {
        return pwait2_available.load(std::memory_order_relaxed);
    }

  private:
    static constexpr std::size_t initial_capacity = 64;
    static constexpr std::uint8_t registered = 1;
    static constexpr std::uint8_t readable = 2;
    static constexpr std::uint8_t writable = 4;
    static constexpr std::uint8_t closed = 8;
    static constexpr std::int64_t check_interval_ns = 1'000'000'000;

    static std::uint8_t to_bits(io_events interest) noexcept {
        return static_cast<std::uint8_t>((any(interest, io_events::readable) ? readable : 0) |
                                         (any(interest, io_events::writable) ? writable : 0));
    }

    static io_events from_bits(std::uint8_t bits) noexcept {
        io_events interest = io_events::none;
        if ((bits & readable) != 0) {
            interest |= io_events::readable;
        }
        if ((bits & writable) != 0) {
            interest |= io_events::writable;
        }
        return interest;
    }

    [[nodiscard]] bool is_registered(int fd) const noexcept {
        return fd >= 0 && static_cast<std::size_t>(fd) < state_.size() && state_[fd] != 0;
    }

    [[nodiscard]] bool is_closed(int fd) const noexcept {
        return fd >= 0 && static_cast<std::size_t>(fd) < state_.size() &&
               (state_[fd] & closed) != 0;
    }

    // The coarse clock costs a few nanoseconds (vDSO) and is plenty for a once-a-second check.
    static std::int64_t coarse_now() noexcept {
        timespec now{};
        (void)sys::clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
        return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
    }

    // At most once a second: re-registers every registered descriptor with its interest
    // (EPOLL_CTL_MOD, harmless under level triggering).  EBADF (closed) or ENOENT (closed,
    // the number now another file's) means it was closed while watched.  Other failures
    // (ENOMEM) say nothing about the descriptor and are left to the next check.
    void check_registrations() {
        std::int64_t now = coarse_now();
        if (now - last_check_ < check_interval_ns) {
            return;
        }
        last_check_ = now;
        std::vector<int> found;
        for (std::size_t fd = 0; fd < state_.size(); ++fd) {
            std::uint8_t bits = state_[fd];
            if (bits == 0 || (bits & closed) != 0) {
                continue;
            }
            int number = static_cast<int>(fd);
            if (!control(EPOLL_CTL_MOD, number, from_bits(bits)) &&
                (errno == EBADF || errno == ENOENT)) {
                state_[fd] = registered | closed;
                found.push_back(number);
            }
        }
        if (!found.empty()) {
            throw_closed_while_watched(backend_kind::epoll, found);
        }
    }

    // A descriptor closed while its file lives on elsewhere (a dup, a child process) stays
    // in the kernel's list under its old number, and no epoll_ctl can name it any more: only
    // a new epoll instance gets rid of it.  Made, with the live registrations, when such a
    // stale event arrives; if that fails the old one stays and its stale events are dropped.
    void purge_stale_registrations() noexcept {
        unique_fd fresh(sys::epoll_create1(EPOLL_CLOEXEC));
        if (!fresh) {
            return;
        }
        for (std::size_t fd = 0; fd < state_.size(); ++fd) {
            std::uint8_t bits = state_[fd];
            if (bits == 0 || (bits & closed) != 0) {
                continue;
            }
            epoll_event event{};
            event.events = to_epoll(from_bits(bits));
            event.data.fd = static_cast<int>(fd);
            if (sys::epoll_ctl(fresh.get(), EPOLL_CTL_ADD, static_cast<int>(fd), &event) != 0) {
                return;
            }
        }
        epfd_ = std::move(fresh);
    }

    int wait_for(std::chrono::nanoseconds timeout) {
        int capacity = static_cast<int>(events_.size());
        // Forever and "just look" need no precision: plain epoll_wait.  Other timeouts are
        // run_for's limit and the timed waits of timers (timer_scheduler::timed_wait).
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

    // False with errno set when the kernel refused.
    bool control(int op, int fd, io_events interest) noexcept {
        epoll_event event{};
        event.events = to_epoll(interest);
        event.data.fd = fd;
        return sys::epoll_ctl(epfd_.get(), op, fd, &event) == 0;
    }

    unique_fd epfd_;
    std::vector<epoll_event> events_;
    std::vector<std::uint8_t> state_;
    std::size_t registered_ = 0;
    std::int64_t last_check_ = 0;
};

}  // namespace

std::unique_ptr<backend> make_epoll_backend() {
    return std::make_unique<epoll_backend>();
}

}  // namespace tfd::detail

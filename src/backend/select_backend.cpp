// The select(2) backend (through pselect for a nanosecond timeout): O(highest descriptor) per
// wait.  fd_set is a fixed bitmap of FD_SETSIZE bits, so descriptors at or above it are
// refused when registered; writing past the bitmap would corrupt memory.
#include <sys/select.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>
#include <vector>

#include "backend/backend.hpp"
#include "sys/sys.hpp"

namespace tfd::detail {
namespace {

// Invariant: interest_[fd] != none exactly for registered descriptors whose interest is not
// empty; read_set_ and write_set_ mirror interest_; max_fd_ is the highest descriptor in
// either set (-1 when both are empty).  A descriptor registered with no interest is tracked
// in registered_ only (select has no way to report errors for it).  closed_[fd] is set for a
// registered fd that a wait reported closed while watched; such an fd has no interest.
// max_registered_ is at least the highest registered descriptor (-1 when none).
class select_backend final : public backend {
  public:
    select_backend() {
        FD_ZERO(&read_set_);
        FD_ZERO(&write_set_);
    }

    void add(int fd, io_events interest) override {
        check_range(fd, "add");
        if (registered_[fd]) {
            errno = EEXIST;
            throw_backend_error(backend_kind::select, "add", fd);
        }
        check_watchable(backend_kind::select, fd);
        registered_[fd] = true;
        closed_[fd] = false;
        max_registered_ = std::max(max_registered_, fd);
        set_interest(fd, interest);
    }

    void modify(int fd, io_events interest) override {
        check_range(fd, "modify");
        if (!registered_[fd]) {
            errno = ENOENT;
            throw_backend_error(backend_kind::select, "modify", fd);
        }
        if (closed_[fd]) {
            throw_modify_closed(backend_kind::select, fd);
        }
        set_interest(fd, interest);
    }

    void remove(int fd) noexcept override {
        if (fd < 0 || fd >= FD_SETSIZE || !registered_[fd]) {
            return;
        }
        set_interest(fd, io_events::none);
        registered_[fd] = false;
        closed_[fd] = false;
    }

    void wait(std::chrono::nanoseconds timeout, std::vector<ready_event>& out) override {
        fd_set readable = read_set_;
        fd_set writable = write_set_;
        timespec limit{};
        bool bounded = wait_timeout(timeout, limit);
        int n = sys::select(max_fd_ + 1, &readable, &writable, nullptr, bounded ? &limit : nullptr);
        if (n < 0) {
            if (errno == EINTR) {
                return;
            }
            if (errno == EBADF) {
                report_closed();
                throw std::system_error(EBADF, std::system_category(),
                                        "select::wait: select found a bad descriptor, yet every "
                                        "watched one is open (closed and reopened meanwhile?)");
            }
            throw_backend_error(backend_kind::select, "wait", -1);
        }
        for (int fd = 0; fd <= max_fd_ && n > 0; ++fd) {
            io_events events = io_events::none;
            if (FD_ISSET(fd, &readable)) {
                events |= io_events::readable;
                --n;
            }
            if (FD_ISSET(fd, &writable)) {
                events |= io_events::writable;
                --n;
            }
            if (events != io_events::none) {
                out.push_back({fd, events});
            }
        }
    }

    [[nodiscard]] backend_kind kind() const noexcept override { return backend_kind::select; }

  private:
    // select failed with EBADF: a watched descriptor was closed before its watcher was
    // stopped, and select does not say which.  Finds them, stops watching them and throws
    // naming them; returns when there is none (then the caller reports select's own error).
    void report_closed() {
        std::vector<int> closed;
        for (int fd = 0; fd <= max_registered_; ++fd) {
            struct stat status {};
            if (registered_[fd] && !closed_[fd] && sys::fstat(fd, &status) != 0 && errno == EBADF) {
                closed.push_back(fd);
                set_interest(fd, io_events::none);
                closed_[fd] = true;
            }
        }
        if (!closed.empty()) {
            throw_closed_while_watched(backend_kind::select, closed);
        }
    }

    static void check_range(int fd, const char* operation) {
        if (fd < 0) {
            errno = EBADF;
            throw_backend_error(backend_kind::select, operation, fd);
        }
        if (fd >= FD_SETSIZE) {
            throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                    std::string("select::") + operation +
                                        ": fd=" + std::to_string(fd) + " is >= FD_SETSIZE (" +
                                        std::to_string(FD_SETSIZE) +
                                        "); use the epoll or poll backend");
        }
    }

    void set_interest(int fd, io_events interest) noexcept {
        FD_CLR(fd, &read_set_);
        FD_CLR(fd, &write_set_);
        if (any(interest, io_events::readable)) {
            FD_SET(fd, &read_set_);
        }
        if (any(interest, io_events::writable)) {
            FD_SET(fd, &write_set_);
        }
        if (interest != io_events::none && fd > max_fd_) {
            max_fd_ = fd;
        }
        while (max_fd_ >= 0 && !FD_ISSET(max_fd_, &read_set_) && !FD_ISSET(max_fd_, &write_set_)) {
            --max_fd_;
        }
    }

    fd_set read_set_;
    fd_set write_set_;
    bool registered_[FD_SETSIZE] = {};
    bool closed_[FD_SETSIZE] = {};
    int max_fd_ = -1;
    int max_registered_ = -1;
};

}  // namespace

std::unique_ptr<backend> make_select_backend() {
    return std::make_unique<select_backend>();
}

}  // namespace tfd::detail

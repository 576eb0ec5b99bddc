#include "sys/sys.hpp"

#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <linux/timerfd.h>  // TFD_IOC_SET_TICKS; glibc's header does not define it.

#include <atomic>

namespace tfd::sys {
namespace {

// Atomic so that a loop thread reading it never races a test installing it; relaxed loads
// compile to a plain load on x86-64.
std::atomic<fault_hook> current_hook{nullptr};

// Lets an installed hook answer the call.  Kept out of line of the fast path by the
// [[unlikely]] at each use.
bool hooked(call which, long& result) noexcept {
    fault_hook hook = current_hook.load(std::memory_order_relaxed);
    return hook != nullptr && hook(which, result);
}

}  // namespace

fault_hook set_fault_hook(fault_hook hook) noexcept {
    return current_hook.exchange(hook, std::memory_order_relaxed);
}

int timerfd_create(int clockid, int flags) noexcept {
    if (long r = 0; hooked(call::timerfd_create, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::timerfd_create(clockid, flags);
}

int timerfd_settime(int fd, int flags, const itimerspec* new_value, itimerspec* old_value) noexcept {
    if (long r = 0; hooked(call::timerfd_settime, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::timerfd_settime(fd, flags, new_value, old_value);
}

int timerfd_gettime(int fd, itimerspec* current) noexcept {
    if (long r = 0; hooked(call::timerfd_gettime, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::timerfd_gettime(fd, current);
}

ssize_t read(int fd, void* buffer, std::size_t size) noexcept {
    if (long r = 0; hooked(call::read, r)) [[unlikely]] {
        return r;
    }
    return ::read(fd, buffer, size);
}

ssize_t write(int fd, const void* buffer, std::size_t size) noexcept {
    if (long r = 0; hooked(call::write, r)) [[unlikely]] {
        return r;
    }
    return ::write(fd, buffer, size);
}

int ioctl_set_ticks(int fd, std::uint64_t* ticks) noexcept {
    if (long r = 0; hooked(call::ioctl_set_ticks, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::ioctl(fd, TFD_IOC_SET_TICKS, ticks);
}

int close(int fd) noexcept {
    if (long r = 0; hooked(call::close, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::close(fd);
}

int clock_gettime(int clockid, timespec* now) noexcept {
    if (long r = 0; hooked(call::clock_gettime, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::clock_gettime(clockid, now);
}

}  // namespace tfd::sys

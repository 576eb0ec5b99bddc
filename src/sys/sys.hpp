// The only place in tfd that makes raw system calls.
//
// Every wrapper behaves exactly like the libc function of the same name: it returns the
// call's result, or -1 with errno set.  Routing them through one layer gives tests a seam:
// a fault hook installed with set_fault_hook() sees every call before it is made and may
// answer it instead (inject EINTR, EMFILE, a short write, a 0-byte read...).  With no hook
// installed the cost is one predictable branch next to a ~1 us system call.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

struct itimerspec;
struct timespec;

namespace tfd::sys {

// Names every call that goes through this layer, so a fault hook can pick its targets.
enum class call : unsigned char {
    timerfd_create,
    timerfd_settime,
    timerfd_gettime,
    read,
    write,
    ioctl_set_ticks,
    close,
    clock_gettime,
};

// A fault hook returns true to answer the call itself: `result` is then returned to the
// caller and the hook is responsible for setting errno when `result` is -1.  Returning
// false lets the real system call proceed.
using fault_hook = bool (*)(call which, long& result) noexcept;

// Installs `hook` (nullptr removes it) for every thread and returns the previous one.
fault_hook set_fault_hook(fault_hook hook) noexcept;

int timerfd_create(int clockid, int flags) noexcept;
int timerfd_settime(int fd, int flags, const itimerspec* new_value, itimerspec* old_value) noexcept;
int timerfd_gettime(int fd, itimerspec* current) noexcept;
ssize_t read(int fd, void* buffer, std::size_t size) noexcept;
ssize_t write(int fd, const void* buffer, std::size_t size) noexcept;
int ioctl_set_ticks(int fd, std::uint64_t* ticks) noexcept;
int close(int fd) noexcept;
int clock_gettime(int clockid, timespec* now) noexcept;

}  // namespace tfd::sys

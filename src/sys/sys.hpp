// The only place in tfd that makes raw system calls.
//
// Every wrapper behaves exactly like the libc function of the same name: it returns the
// call's result, or -1 with errno set.  Routing them through one layer gives tests a seam:
// a fault hook installed with set_fault_hook() sees every call before it is made and may
// answer it instead (inject EINTR, EMFILE, a 0-byte read...), or, for the calls that move
// bytes, let it through with fewer bytes (a real short read or write).  The wrappers are
// inline so that, with no hook installed, the cost over calling libc directly is one relaxed
// atomic load and a predictable branch.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>

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
    prctl,
    epoll_create1,
    epoll_ctl,
    epoll_wait,
    poll,
    select,
    eventfd,
    signalfd,
    thread_sigmask,
    socket,
    setsockopt,
    bind,
    listen,
    accept,
    getsockname,
    recv,
    send,
    open,
    fstat,
    shutdown,
    dup_at_least,
};

// A fault hook returns true to answer the call itself: `result` is then returned to the
// caller and the hook is responsible for setting errno when `result` is -1.  Returning
// false lets the real system call proceed.  For the calls that move bytes (read, write,
// recv, send) `result` holds the requested byte count when the hook is called, and a hook
// that returns false may lower it to n >= 1: the call is then made with n bytes, so the
// kernel really reads or writes fewer (an answered "short write" would drop bytes it never
// saw).  For the other calls `result` starts at 0 and is ignored unless the hook answers.
using fault_hook = bool (*)(call which, long& result) noexcept;

// Installs `hook` (nullptr removes it) for every thread and returns the previous one.
fault_hook set_fault_hook(fault_hook hook) noexcept;

namespace detail {
// Atomic so that a loop thread reading it never races a test installing it.
extern std::atomic<fault_hook> installed_hook;

// True when an installed hook answered the call (its answer is then in `result`).
[[gnu::always_inline]] inline bool hooked(call which, long& result) noexcept {
    fault_hook hook = installed_hook.load(std::memory_order_relaxed);
    return hook != nullptr && hook(which, result);
}

// hooked() for a call that moves `size` bytes: also applies a lowered count to `size`.
[[gnu::always_inline]] inline bool hooked(call which, long& result, std::size_t& size) noexcept {
    fault_hook hook = installed_hook.load(std::memory_order_relaxed);
    if (hook == nullptr) [[likely]] {
        return false;
    }
    result = size > static_cast<std::size_t>(LONG_MAX) ? LONG_MAX : static_cast<long>(size);
    if (hook(which, result)) {
        return true;
    }
    if (result >= 1 && static_cast<std::size_t>(result) < size) {
        size = static_cast<std::size_t>(result);
    }
    return false;
}
}  // namespace detail

inline int timerfd_create(int clockid, int flags) noexcept {
    if (long r = 0; detail::hooked(call::timerfd_create, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::timerfd_create(clockid, flags);
}

inline int timerfd_settime(int fd, int flags, const itimerspec* new_value,
                           itimerspec* old_value) noexcept {
    if (long r = 0; detail::hooked(call::timerfd_settime, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::timerfd_settime(fd, flags, new_value, old_value);
}

inline int timerfd_gettime(int fd, itimerspec* current) noexcept {
    if (long r = 0; detail::hooked(call::timerfd_gettime, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::timerfd_gettime(fd, current);
}

inline ssize_t read(int fd, void* buffer, std::size_t size) noexcept {
    if (long r = 0; detail::hooked(call::read, r, size)) [[unlikely]] {
        return r;
    }
    return ::read(fd, buffer, size);
}

inline ssize_t write(int fd, const void* buffer, std::size_t size) noexcept {
    if (long r = 0; detail::hooked(call::write, r, size)) [[unlikely]] {
        return r;
    }
    return ::write(fd, buffer, size);
}

// <linux/timerfd.h> defines this, but including it next to <fcntl.h> redefines struct flock,
// so the value is spelled out as the kernel header spells it.
inline constexpr unsigned long tfd_ioc_set_ticks = _IOW('T', 0, std::uint64_t);

inline int ioctl_set_ticks(int fd, std::uint64_t* ticks) noexcept {
    if (long r = 0; detail::hooked(call::ioctl_set_ticks, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::ioctl(fd, tfd_ioc_set_ticks, ticks);
}

inline int close(int fd) noexcept {
    if (long r = 0; detail::hooked(call::close, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::close(fd);
}

inline int clock_gettime(int clockid, timespec* now) noexcept {
    if (long r = 0; detail::hooked(call::clock_gettime, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::clock_gettime(clockid, now);
}

// prctl(2) through syscall(2) rather than glibc's prctl(), which returns int: values such as
// PR_GET_TIMERSLACK's (an unsigned long of nanoseconds) would be truncated above 2^31.
inline long prctl(int option, unsigned long arg2) noexcept {
    if (long r = 0; detail::hooked(call::prctl, r)) [[unlikely]] {
        return r;
    }
    return ::syscall(SYS_prctl, option, arg2, 0UL, 0UL, 0UL);
}

// --- Event loop backends -------------------------------------------------------------------

inline int epoll_create1(int flags) noexcept {
    if (long r = 0; detail::hooked(call::epoll_create1, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::epoll_create1(flags);
}

inline int epoll_ctl(int epfd, int op, int fd, epoll_event* event) noexcept {
    if (long r = 0; detail::hooked(call::epoll_ctl, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::epoll_ctl(epfd, op, fd, event);
}

// epoll_pwait2(2) (Linux 5.11): the timeout is a timespec, so waits keep nanosecond
// precision; nullptr waits forever.  Fails with ENOSYS on older kernels and under tools that
// do not know the call (valgrind 3.19): callers fall back to epoll_wait_ms.
inline int epoll_wait(int epfd, epoll_event* events, int max_events,
                      const timespec* timeout) noexcept {
    if (long r = 0; detail::hooked(call::epoll_wait, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::epoll_pwait2(epfd, events, max_events, timeout, nullptr);
}

// epoll_wait(2) with a millisecond timeout (-1: forever); the same `call` as above.
inline int epoll_wait_ms(int epfd, epoll_event* events, int max_events, int timeout_ms) noexcept {
    if (long r = 0; detail::hooked(call::epoll_wait, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::epoll_wait(epfd, events, max_events, timeout_ms);
}

// ppoll(2) rather than poll(2) for the nanosecond timeout; nullptr waits forever.
inline int poll(pollfd* fds, nfds_t count, const timespec* timeout) noexcept {
    if (long r = 0; detail::hooked(call::poll, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::ppoll(fds, count, timeout, nullptr);
}

// pselect(2) rather than select(2) for the nanosecond timeout; nullptr waits forever.
inline int select(int nfds, fd_set* readable, fd_set* writable, fd_set* exceptional,
                  const timespec* timeout) noexcept {
    if (long r = 0; detail::hooked(call::select, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::pselect(nfds, readable, writable, exceptional, timeout, nullptr);
}

// --- Wake-ups and signals --------------------------------------------------------------------

inline int eventfd(unsigned initial, int flags) noexcept {
    if (long r = 0; detail::hooked(call::eventfd, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::eventfd(initial, flags);
}

inline int signalfd(int fd, const sigset_t* mask, int flags) noexcept {
    if (long r = 0; detail::hooked(call::signalfd, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::signalfd(fd, mask, flags);
}

// pthread_sigmask(3) returns the error number instead of setting errno; this wrapper keeps
// the convention of the others (-1 with errno set) so callers handle every call alike.
inline int thread_sigmask(int how, const sigset_t* set, sigset_t* old) noexcept {
    if (long r = 0; detail::hooked(call::thread_sigmask, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    int error = ::pthread_sigmask(how, set, old);
    if (error != 0) {
        errno = error;
        return -1;
    }
    return 0;
}

// --- Sockets and files -----------------------------------------------------------------------

inline int socket(int domain, int type, int protocol) noexcept {
    if (long r = 0; detail::hooked(call::socket, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::socket(domain, type, protocol);
}

inline int setsockopt(int fd, int level, int name, const void* value, socklen_t size) noexcept {
    if (long r = 0; detail::hooked(call::setsockopt, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::setsockopt(fd, level, name, value, size);
}

inline int bind(int fd, const sockaddr* address, socklen_t size) noexcept {
    if (long r = 0; detail::hooked(call::bind, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::bind(fd, address, size);
}

inline int listen(int fd, int backlog) noexcept {
    if (long r = 0; detail::hooked(call::listen, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::listen(fd, backlog);
}

inline int accept4(int fd, sockaddr* address, socklen_t* size, int flags) noexcept {
    if (long r = 0; detail::hooked(call::accept, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::accept4(fd, address, size, flags);
}

inline int getsockname(int fd, sockaddr* address, socklen_t* size) noexcept {
    if (long r = 0; detail::hooked(call::getsockname, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::getsockname(fd, address, size);
}

inline ssize_t recv(int fd, void* buffer, std::size_t size, int flags) noexcept {
    if (long r = 0; detail::hooked(call::recv, r, size)) [[unlikely]] {
        return r;
    }
    return ::recv(fd, buffer, size, flags);
}

inline ssize_t send(int fd, const void* buffer, std::size_t size, int flags) noexcept {
    if (long r = 0; detail::hooked(call::send, r, size)) [[unlikely]] {
        return r;
    }
    return ::send(fd, buffer, size, flags);
}

inline int open(const char* path, int flags) noexcept {
    if (long r = 0; detail::hooked(call::open, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::open(path, flags);
}

inline int fstat(int fd, struct stat* status) noexcept {
    if (long r = 0; detail::hooked(call::fstat, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::fstat(fd, status);
}

inline int shutdown(int fd, int how) noexcept {
    if (long r = 0; detail::hooked(call::shutdown, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::shutdown(fd, how);
}

// fcntl(fd, F_DUPFD_CLOEXEC, lowest): a close-on-exec duplicate numbered `lowest` or above.
inline int dup_at_least(int fd, int lowest) noexcept {
    if (long r = 0; detail::hooked(call::dup_at_least, r)) [[unlikely]] {
        return static_cast<int>(r);
    }
    return ::fcntl(fd, F_DUPFD_CLOEXEC, lowest);
}

}  // namespace tfd::sys

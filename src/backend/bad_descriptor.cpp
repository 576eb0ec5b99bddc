// The bad-descriptor rules of backend.hpp, worded once for every backend.
#include <sys/epoll.h>
#include <sys/stat.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "backend/backend.hpp"
#include "sys/sys.hpp"
#include "tfd/unique_fd.hpp"

namespace tfd::detail {
namespace {

std::string prefix(backend_kind kind, const char* operation, int fd) {
    return std::string(to_string(kind)) + "::" + operation + ": fd=" + std::to_string(fd);
}

[[noreturn]] void throw_not_open(backend_kind kind, int fd) {
    throw std::system_error(EBADF, std::system_category(),
                            prefix(kind, "add", fd) + " is not an open descriptor");
}

// What the file is and why it has no readiness, for the EPERM message; `fd` is open.
std::string describe(int fd) {
    struct stat status {};
    mode_t type = sys::fstat(fd, &status) == 0 ? status.st_mode & S_IFMT : 0;
    if (type == S_IFREG) {
        return "a regular file, which epoll cannot watch (it is always ready to read and write)";
    }
    if (type == S_IFDIR) {
        return "a directory, which epoll cannot watch (it is always ready to read)";
    }
    if (type == S_IFCHR) {
        return "a character device without readiness to report (such as /dev/null), which "
               "epoll cannot watch";
    }
    return "a file without readiness to report, which epoll cannot watch";
}

[[noreturn]] void throw_not_pollable(backend_kind kind, int fd) {
    throw std::system_error(EPERM, std::system_category(),
                            prefix(kind, "add", fd) + " is " + describe(fd) +
                                ", so no backend watches it: read or write it directly instead");
}

// Whether epoll would accept `fd`, asked of a scratch instance (three system calls, made
// when a watcher starts, never per wait).  Sockets and pipes, the descriptors a loop mostly
// watches, always support polling and are not asked about.  A failure of the scratch
// instance itself (no descriptors left) accepts: the real wait decides then.
bool epoll_accepts(int fd) noexcept {
    unique_fd scratch(sys::epoll_create1(EPOLL_CLOEXEC));
    if (!scratch) {
        return true;
    }
    epoll_event event{};
    event.events = EPOLLIN;
    return sys::epoll_ctl(scratch.get(), EPOLL_CTL_ADD, fd, &event) == 0 || errno != EPERM;
}

}  // namespace

void check_watchable(backend_kind kind, int fd) {
    struct stat status {};
    if (fd < 0 || sys::fstat(fd, &status) != 0) {
        if (fd < 0 || errno == EBADF) {
            throw_not_open(kind, fd);
        }
        return;  // fstat failing otherwise (EOVERFLOW...) says nothing about polling
    }
    if (!S_ISSOCK(status.st_mode) && !S_ISFIFO(status.st_mode) && !epoll_accepts(fd)) {
        throw_not_pollable(kind, fd);
    }
}

void check_open(backend_kind kind, int fd) {
    struct stat status {};
    if (fd < 0 || (sys::fstat(fd, &status) != 0 && errno == EBADF)) {
        throw_not_open(kind, fd);
    }
}

void throw_add_error(backend_kind kind, int fd) {
    int error = errno;
    if (error == EBADF) {
        throw_not_open(kind, fd);
    }
    if (error == EPERM) {
        throw_not_pollable(kind, fd);
    }
    throw std::system_error(error, std::system_category(), prefix(kind, "add", fd));
}

void throw_closed_while_watched(backend_kind kind, const std::vector<int>& fds) {
    std::string names;
    for (int fd : fds) {
        names += (names.empty() ? "fd=" : ", fd=") + std::to_string(fd);
    }
    throw closed_while_watched(
        fds, std::string(to_string(kind)) + "::wait: " + names +
                 (fds.size() == 1 ? " was" : " were") +
                 " closed while watched (stop the watcher before closing its descriptor); no "
                 "longer watched");
}

void throw_modify_closed(backend_kind kind, int fd) {
    throw std::system_error(
        EBADF, std::system_category(),
        prefix(kind, "modify", fd) + " was closed while watched (reported by an earlier wait)");
}

}  // namespace tfd::detail

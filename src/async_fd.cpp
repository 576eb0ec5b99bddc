// async_fd: the system calls of read_some and write_some.
#include "tfd/async_fd.hpp"

#include <string>
#include <system_error>

#include "sys/sys.hpp"

namespace tfd {

async_fd::async_fd(event_loop& loop, int fd) : slot_(nullptr) {
    if (fd < 0) {
        throw std::system_error(std::make_error_code(std::errc::bad_file_descriptor),
                                "async_fd: fd=" + std::to_string(fd));
    }
    slot_ = &detail::fd_slot_of(loop, fd, "async_fd");
}

long async_fd::read_once(void* buffer, std::size_t size, int& error) noexcept {
    for (;;) {
        ssize_t n = sys::read(fd(), buffer, size);
        if (n >= 0) {
            return n;
        }
        if (errno != EINTR) {
            error = errno;
            return -1;
        }
    }
}

long async_fd::write_once(const void* data, std::size_t size, int& error) noexcept {
    for (;;) {
        // send() with MSG_NOSIGNAL, so a peer that went away is an EPIPE error here rather
        // than a SIGPIPE that kills the process; write() for what is not a socket.
        ssize_t n =
            not_socket_ ? sys::write(fd(), data, size) : sys::send(fd(), data, size, MSG_NOSIGNAL);
        if (n >= 0) {
            return n;
        }
        if (errno == ENOTSOCK && !not_socket_) {
            not_socket_ = true;
            continue;
        }
        if (errno != EINTR) {
            error = errno;
            return -1;
        }
    }
}

void async_fd::fail(const char* operation, int error) const {
    throw std::system_error(error, std::generic_category(),
                            std::string(operation) + ": fd=" + std::to_string(fd()));
}

}  // namespace tfd

#include <time.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "backend/backend.hpp"
#include "tfd/time_convert.hpp"

namespace tfd::detail {

std::unique_ptr<backend> make_backend(backend_kind kind) {
    switch (kind) {
        case backend_kind::epoll:
            return make_epoll_backend();
        case backend_kind::poll:
            return make_poll_backend();
        case backend_kind::select:
            return make_select_backend();
    }
    throw std::system_error(
        std::make_error_code(std::errc::invalid_argument),
        "event_loop: unknown backend " + std::to_string(static_cast<int>(kind)));
}

bool wait_timeout(std::chrono::nanoseconds timeout, timespec& out) noexcept {
    if (timeout.count() < 0) {
        return false;
    }
    out = ns_to_timespec(timeout);
    return true;
}

void throw_backend_error(backend_kind kind, const char* operation, int fd) {
    int error = errno;
    throw std::system_error(
        error, std::system_category(),
        std::string(to_string(kind)) + "::" + operation + ": fd=" + std::to_string(fd));
}

}  // namespace tfd::detail

// The check that a descriptor number is open, made before the coroutine wait slots, a table
// indexed by descriptor number, grow to hold it (private to the library; the loop's own
// table of watchers uses the backends' check_open, worded as they word it).
#pragma once

#include <sys/stat.h>

#include <cerrno>
#include <string>
#include <string_view>
#include <system_error>

#include "sys/sys.hpp"

namespace tfd::detail {

// Throws EBADF, naming `operation` and `fd`, when `fd` is not an open descriptor.  Tables
// indexed by descriptor number grow to fd + 1 entries, so a stray number (1 << 30, an uninitialised
// int) would cost gigabytes before any later check refused it.  fstat() answers for every open
// descriptor, whatever RLIMIT_NOFILE says now (a descriptor opened before the limit was lowered is
// still open); a failure other than EBADF lets the caller's own checks decide.
inline void require_open_number(int fd, std::string_view operation) {
    struct stat status {};
    if (sys::fstat(fd, &status) != 0 && errno == EBADF) {
        throw std::system_error(
            EBADF, std::system_category(),
            std::string(operation) + ": fd=" + std::to_string(fd) + " is not an open descriptor");
    }
}

}  // namespace tfd::detail

// Small descriptor helpers for tests.
#pragma once

#include <fcntl.h>

namespace tfd::test {

// True when `fd` names an open descriptor in this process.
inline bool fd_is_open(int fd) {
    return ::fcntl(fd, F_GETFD) != -1;
}

// Number of descriptors open in this process (entries of /proc/self/fd).
int open_fd_count();

}  // namespace tfd::test

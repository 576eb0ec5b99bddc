// Small descriptor helpers for tests.
#pragma once

#include <fcntl.h>

#include <vector>

#include "tfd/unique_fd.hpp"

namespace tfd::test {

// True when `fd` names an open descriptor in this process.
inline bool fd_is_open(int fd) {
    return ::fcntl(fd, F_GETFD) != -1;
}

// Number of descriptors open in this process (entries of /proc/self/fd).
int open_fd_count();

// Raises this process's soft RLIMIT_NOFILE to at least `wanted` (not above the hard limit).
// True when the soft limit is `wanted` or more afterwards.
bool raise_fd_limit(int wanted);

// Occupies every free descriptor number below `limit` with a copy of /dev/null, so that the
// next descriptor opened gets `limit` or more (the select backend's FD_SETSIZE, say); the
// numbers are free again when the result is destroyed.  Empty, holding nothing, when the
// descriptor limit cannot be raised enough: skip the test then.
std::vector<unique_fd> occupy_descriptors_below(int limit);

}  // namespace tfd::test

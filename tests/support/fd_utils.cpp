#include "support/fd_utils.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

namespace tfd::test {

int open_fd_count() {
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) {
        return -1;
    }
    int count = 0;
    while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] != '.') {
            ++count;
        }
    }
    ::closedir(dir);
    return count - 1;  // the directory stream's own descriptor
}

bool raise_fd_limit(int wanted) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return false;
    }
    auto target = static_cast<rlim_t>(wanted);
    if (limit.rlim_cur >= target) {
        return true;
    }
    if (limit.rlim_max < target) {
        return false;
    }
    limit.rlim_cur = target;
    return ::setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

std::vector<unique_fd> occupy_descriptors_below(int limit) {
    std::vector<unique_fd> held;
    // Room for the fillers and for what the test opens above them.
    if (!raise_fd_limit(limit + 256)) {
        return held;
    }
    unique_fd source(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!source) {
        return held;
    }
    for (;;) {
        unique_fd next(::fcntl(source.get(), F_DUPFD_CLOEXEC, 0));  // the lowest free number
        if (!next) {
            held.clear();
            return held;
        }
        if (next.get() >= limit) {
            break;  // every number below `limit` is taken (`next` closes here)
        }
        held.push_back(std::move(next));
    }
    if (source.get() >= limit) {
        source.reset();
    } else {
        held.push_back(std::move(source));
    }
    return held;
}

}  // namespace tfd::test

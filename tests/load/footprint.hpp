// What a process holds, read from /proc: resident memory and open descriptors.
#pragma once

#include <sys/types.h>

namespace tfd_load {

// -1 where /proc could not be read.
struct footprint {
    long rss_kib = -1;   // VmRSS: every resident page, file-backed code included
    long anon_kib = -1;  // RssAnon: the private part (heap, stacks), what malloc holds
    int fds = -1;
};

footprint measure(pid_t pid);

// The larger of each field.
footprint high_water(const footprint& a, const footprint& b);

}  // namespace tfd_load

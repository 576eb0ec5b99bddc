#include "footprint.hpp"

#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>

namespace tfd_load {

footprint measure(pid_t pid) {
    footprint f;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0) {
            f.rss_kib = std::atol(line.c_str() + 6);
        } else if (line.rfind("RssAnon:", 0) == 0) {
            f.anon_kib = std::atol(line.c_str() + 8);
        }
    }
    std::string path = "/proc/" + std::to_string(pid) + "/fd";
    if (DIR* dir = ::opendir(path.c_str())) {
        f.fds = 0;
        while (const dirent* e = ::readdir(dir)) {
            f.fds += e->d_name[0] != '.' ? 1 : 0;
        }
        ::closedir(dir);
    }
    return f;
}

footprint high_water(const footprint& a, const footprint& b) {
    return {std::max(a.rss_kib, b.rss_kib), std::max(a.anon_kib, b.anon_kib),
            std::max(a.fds, b.fds)};
}

}  // namespace tfd_load

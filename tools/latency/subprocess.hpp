// A child process with pipes to its stdin and stdout, for the modes that measure outside
// this process (Python, cyclictest).  posix_spawn from the measuring thread, so the child
// inherits that thread's CPU affinity, scheduling policy and timer slack.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "tfd/unique_fd.hpp"

namespace tfd::latency {

class subprocess {
  public:
    // Starts argv[0] (searched in PATH) with `extra_env` ("NAME=value") added to the
    // environment.  stderr is inherited, or sent to /dev/null when `quiet`.  Throws
    // std::system_error when it cannot start.
    subprocess(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
               bool quiet = false);
    ~subprocess();
    subprocess(const subprocess&) = delete;
    subprocess& operator=(const subprocess&) = delete;

    // Writes `text` to the child's stdin.
    void write(const std::string& text);
    // The next line of the child's stdout without its newline; nullopt at end of file.
    std::optional<std::string> read_line();
    // Closes stdin, waits for the child and returns its exit status (128 + signal when
    // killed by one).
    int wait();

  private:
    pid_t pid_ = -1;
    unique_fd to_child_;
    unique_fd from_child_;
    std::string buffer_;
    bool eof_ = false;
};

// True when `program` is found in PATH (or is a path to an executable file).
bool program_exists(const std::string& program);

}  // namespace tfd::latency

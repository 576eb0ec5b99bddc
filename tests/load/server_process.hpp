// The timer_server under test as a child process: started on a free port with its stdout
// on a pipe, the timer reports it prints timestamped as they arrive, stopped at the end.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace tfd_load {

using clock_type = std::chrono::steady_clock;

// One "Timer N expired K times" line, as it arrived.
struct tick_report {
    clock_type::time_point arrival;
    int timer;  // 1..3
    long count;
};

class server_process {
  public:
    // Starts `binary` with --port 0 and a --duration safely beyond `seconds`, and waits (up
    // to 10 s) for its "Listening" line; exits the test with status 1 if it never comes.
    server_process(const std::string& binary, double seconds);
    ~server_process();
    server_process(const server_process&) = delete;
    server_process& operator=(const server_process&) = delete;

    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] std::uint16_t port() const { return port_; }
    // When the "Listening" line arrived: the server arms its timers just before.
    [[nodiscard]] clock_type::time_point anchor() const { return anchor_; }
    std::vector<tick_report> ticks();

    // Waits for the process to exit; its exit status, or -1 (killed, or still running).
    int wait_exit(std::chrono::milliseconds timeout);
    [[nodiscard]] bool alive() const;

  private:
    void read_output(int fd);
    void line(std::string_view text, clock_type::time_point now);

    pid_t pid_ = -1;
    bool exited_ = false;
    std::thread reader_;
    std::mutex mutex_;
    std::vector<tick_report> ticks_;  // guarded by mutex_
    std::atomic<std::uint16_t> port_{0};
    clock_type::time_point anchor_;
};

// One blocking request/reply on a fresh connection to 127.0.0.1:port; empty on failure.
std::string ask(std::uint16_t port, const std::string& command);

// Raises RLIMIT_NOFILE (inherited by the server) to fit `clients` connections on each side;
// exits with status 1 if the hard limit is too low.
void raise_descriptor_limit(int clients);

}  // namespace tfd_load

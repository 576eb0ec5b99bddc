// Helpers for the tests that drive the example servers (examples/) as processes over real
// loopback TCP: start one on a free port and read its output, count its descriptors, and
// blocking clients that connect, send and read whole lines.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tfd/unique_fd.hpp"

namespace tfd::test {

// build/examples/<name>.
std::string example_binary(const std::string& name);

// The examples are optional (TFD_BUILD_EXAMPLES=OFF): without the program there is nothing
// to drive.
#define TFD_SKIP_WITHOUT_EXAMPLE(name)                                    \
    if (::access(::tfd::test::example_binary(name).c_str(), X_OK) != 0) { \
        GTEST_SKIP() << ::tfd::test::example_binary(name)                 \
                     << " was not built (TFD_BUILD_EXAMPLES=OFF)";        \
    }

// One example server run as `name args...`, its standard output in a temporary file.  The
// constructor returns once the server printed "Listening on 127.0.0.1:PORT" (port() is 0 if
// it did not within 10 s); the destructor kills it if it is still running.
class example_process {
  public:
    example_process(const std::string& name, std::vector<std::string> args);
    example_process(const example_process&) = delete;
    example_process& operator=(const example_process&) = delete;
    ~example_process();

    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] std::string output() const;
    // Descriptors the process has open now (-1 once it is gone).
    [[nodiscard]] int descriptors() const;
    // Waits until the descriptor count equals `expected`; returns the last count seen.
    int wait_descriptors(int expected, std::chrono::milliseconds limit) const;
    // Waits for the process to exit: its exit status, or nullopt on timeout or death by a
    // signal.
    std::optional<int> wait_exit(std::chrono::milliseconds limit);

  private:
    std::string output_path_;
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    bool exited_ = false;
};

// A blocking client connected to 127.0.0.1:port (an empty descriptor, and a test failure, if
// the connection is refused); `receive_buffer` > 0 sets SO_RCVBUF first.
unique_fd connect_to(std::uint16_t port, int receive_buffer = 0);
// Sends every byte of `data` (a test failure if the connection breaks).
void send_all(const unique_fd& fd, std::string_view data);
// Reads until `lines` newline characters arrived, the peer closed (then sets *closed), or
// `limit` passed.
std::string read_lines(const unique_fd& fd, int lines,
                       std::chrono::milliseconds limit = std::chrono::seconds(10),
                       bool* closed = nullptr);

}  // namespace tfd::test

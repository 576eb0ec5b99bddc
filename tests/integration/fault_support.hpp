// Helpers shared by the fault tests (tests/integration/fault_*_test.cpp): an echo server on
// tfd's listener and connections, blocking loopback clients that bypass the system-call seam
// (so injected faults hit only the loop), and CPU-time readings to tell waiting from spinning.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "tfd/event_loop.hpp"
#include "tfd/tcp_connection.hpp"
#include "tfd/tcp_listener.hpp"
#include "tfd/unique_fd.hpp"

namespace tfd::test {

// CPU time consumed so far by the calling thread.
inline std::chrono::nanoseconds thread_cpu_time() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// Answers each line "<line>" with "echo <line>\n" and counts what it saw.
class echo_server {
  public:
    explicit echo_server(event_loop& loop, tcp_connection::limits limits = {},
                         tcp_listener::options options = {})
        : loop_(loop),
          limits_(limits),
          listener_(
              loop, "127.0.0.1", 0,
              [this](unique_fd fd, const tcp_endpoint&) { accept(std::move(fd)); }, options) {}

    [[nodiscard]] std::uint16_t port() const noexcept { return listener_.port(); }
    [[nodiscard]] tcp_listener& listener() noexcept { return listener_; }
    [[nodiscard]] std::size_t open_connections() const noexcept { return connections_.size(); }
    // Output the connections hold because the kernel did not take it yet.
    [[nodiscard]] std::size_t buffered_output() const noexcept {
        std::size_t total = 0;
        for (const auto& [id, connection] : connections_) {
            total += connection->buffered_output();
        }
        return total;
    }
    std::uint64_t accepted = 0;
    std::uint64_t lines = 0;
    std::uint64_t closed = 0;
    // Extra bytes appended to every reply (large replies make the server's writes short).
    std::string padding;

  private:
    void accept(unique_fd fd) {
        std::uint64_t id = next_id_++;
        ++accepted;
        tcp_connection::callbacks handlers{
            [this, id](std::string_view line) {
                ++lines;
                auto it = connections_.find(id);
                if (it != connections_.end()) {
                    it->second->send("echo " + std::string(line) + padding + "\n");
                }
            },
            {},
            [this, id](close_reason) {
                ++closed;
                connections_.erase(id);
            },
        };
        connections_.emplace(id, std::make_unique<tcp_connection>(loop_, std::move(fd),
                                                                  std::move(handlers), limits_));
    }

    event_loop& loop_;
    tcp_connection::limits limits_;
    std::map<std::uint64_t, std::unique_ptr<tcp_connection>> connections_;
    std::uint64_t next_id_ = 1;
    // Last: destroyed first, while everything its callback uses is still alive.
    tcp_listener listener_;
};

// A blocking loopback client made with raw system calls (not through tfd's seam).
class client {
  public:
    client() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {}

    // Connects to 127.0.0.1:port; false on failure.
    bool connect(std::uint16_t port) {
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port);
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return ::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0;
    }

    bool send(std::string_view data) {
        while (!data.empty()) {
            ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) {
                return false;
            }
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // Reads until `bytes` bytes arrived, end of file, an error, or `timeout` passed.
    std::string receive(std::size_t bytes, std::chrono::milliseconds timeout) {
        std::string got;
        auto end = std::chrono::steady_clock::now() + timeout;
        while (got.size() < bytes) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                end - std::chrono::steady_clock::now());
            pollfd p{fd_.get(), POLLIN, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
                break;
            }
            char buffer[65536];
            ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
            if (n <= 0) {
                eof_ = true;
                break;
            }
            got.append(buffer, static_cast<std::size_t>(n));
        }
        return got;
    }

    [[nodiscard]] bool saw_eof() const noexcept { return eof_; }
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }

  private:
    unique_fd fd_;
    bool eof_ = false;
};

}  // namespace tfd::test

// The example servers as processes, and loopback clients for them.
#include "example_process.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

namespace tfd::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

std::string example_binary(const std::string& name) {
    return std::string(TFD_TEST_BINARY_DIR) + "/examples/" + name;
}

example_process::example_process(const std::string& name, std::vector<std::string> args) {
    std::string path = "/tmp/tfd_" + name + "_XXXXXX";
    int out = ::mkstemp(path.data());
    output_path_ = path;
    std::string program = example_binary(name);
    args.insert(args.begin(), name);
    std::vector<char*> argv;
    for (std::string& arg : args) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
        ::dup2(out, STDOUT_FILENO);
        ::execv(program.c_str(), argv.data());
        ::_exit(127);
    }
    ::close(out);
    std::regex listening("Listening on 127\\.0\\.0\\.1:([0-9]+)");
    for (auto end = clock_type::now() + 10s; clock_type::now() < end;) {
        std::smatch match;
        std::string text = output();
        if (std::regex_search(text, match, listening)) {
            port_ = static_cast<std::uint16_t>(std::stoi(match[1]));
            break;
        }
        std::this_thread::sleep_for(5ms);
    }
}

example_process::~example_process() {
    if (pid_ > 0 && !exited_) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    ::unlink(output_path_.c_str());
}

std::string example_process::output() const {
    return read_file(output_path_);
}

int example_process::descriptors() const {
    std::string path = "/proc/" + std::to_string(pid_) + "/fd";
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) {
        return -1;
    }
    int count = 0;
    while (const dirent* entry = ::readdir(dir)) {
        count += entry->d_name[0] != '.' ? 1 : 0;
    }
    ::closedir(dir);
    return count;
}

int example_process::wait_descriptors(int expected, std::chrono::milliseconds limit) const {
    int count = descriptors();
    for (auto end = clock_type::now() + limit; clock_type::now() < end && count != expected;) {
        std::this_thread::sleep_for(10ms);
        count = descriptors();
    }
    return count;
}

std::optional<int> example_process::wait_exit(std::chrono::milliseconds limit) {
    for (auto end = clock_type::now() + limit; clock_type::now() < end;) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            exited_ = true;
            return WIFEXITED(status) ? std::optional<int>(WEXITSTATUS(status)) : std::nullopt;
        }
        std::this_thread::sleep_for(5ms);
    }
    return std::nullopt;
}

unique_fd connect_to(std::uint16_t port, int receive_buffer) {
    unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (receive_buffer > 0) {
        ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    sockaddr_in where{};
    where.sin_family = AF_INET;
    where.sin_port = htons(port);
    where.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&where), sizeof where) != 0) {
        ADD_FAILURE() << "connect: " << std::strerror(errno);
        return {};
    }
    return fd;
}

void send_all(const unique_fd& fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::send(fd.get(), data.data(), data.size(), MSG_NOSIGNAL);
        ASSERT_GT(n, 0) << std::strerror(errno);
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

std::string read_lines(const unique_fd& fd, int lines, std::chrono::milliseconds limit,
                       bool* closed) {
    std::string text;
    auto end = clock_type::now() + limit;
    while (std::count(text.begin(), text.end(), '\n') < lines && clock_type::now() < end) {
        pollfd p{fd.get(), POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) {
            continue;
        }
        char buffer[4096];
        ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
        if (n <= 0) {
            if (closed != nullptr) {
                *closed = true;
            }
            break;
        }
        text.append(buffer, static_cast<std::size_t>(n));
    }
    return text;
}

}  // namespace tfd::test

#include "server_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace tfd_load {

using namespace std::chrono_literals;

server_process::server_process(const std::string& binary, double seconds) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
        std::perror("pipe2");
        std::exit(1);
    }
    ::fcntl(out[0], F_SETPIPE_SZ, 1 << 20);  // the server must never wait on its stdout
    std::string duration = std::to_string(static_cast<long>(seconds) + 120);
    pid_ = ::fork();
    if (pid_ == 0) {
        ::dup2(out[1], STDOUT_FILENO);
        ::execl(binary.c_str(), binary.c_str(), "--port", "0", "--duration", duration.c_str(),
                static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(out[1]);
    reader_ = std::thread([this, fd = out[0]] { read_output(fd); });
    auto end = clock_type::now() + 10s;
    while (port_ == 0 && clock_type::now() < end) {
        std::this_thread::sleep_for(5ms);
    }
    if (port_ == 0) {
        std::fprintf(stderr, "timer_server_load: the server did not start\n");
        std::exit(1);
    }
}

server_process::~server_process() {
    if (pid_ > 0 && !exited_) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    if (reader_.joinable()) {
        reader_.join();
    }
}

std::vector<tick_report> server_process::ticks() {
    std::lock_guard lock(mutex_);
    return ticks_;
}

int server_process::wait_exit(std::chrono::milliseconds timeout) {
    auto end = clock_type::now() + timeout;
    while (clock_type::now() < end) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            exited_ = true;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        std::this_thread::sleep_for(10ms);
    }
    return -1;
}

bool server_process::alive() const {
    return !exited_ && ::kill(pid_, 0) == 0;
}

void server_process::read_output(int fd) {
    std::string pending;
    char buffer[65536];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n <= 0) {
            break;
        }
        auto now = clock_type::now();
        pending.append(buffer, static_cast<std::size_t>(n));
        std::size_t start = 0;
        for (std::size_t end; (end = pending.find('\n', start)) != std::string::npos;
             start = end + 1) {
            line(std::string_view(pending).substr(start, end - start), now);
        }
        pending.erase(0, start);
    }
    ::close(fd);
}

void server_process::line(std::string_view text, clock_type::time_point now) {
    int timer = 0;
    long count = 0;
    unsigned port = 0;
    std::string copy(text);
    if (std::sscanf(copy.c_str(), "Timer %d expired %ld times", &timer, &count) == 2) {
        std::lock_guard lock(mutex_);
        ticks_.push_back({now, timer, count});
    } else if (port_ == 0 && std::sscanf(copy.c_str(), "Listening on 127.0.0.1:%u", &port) == 1) {
        anchor_ = now;
        port_ = static_cast<std::uint16_t>(port);
    }
}

std::string ask(std::uint16_t port, const std::string& command) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string reply;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0 &&
        ::send(fd, command.data(), command.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(command.size())) {
        pollfd p{fd, POLLIN, 0};
        char buffer[512];
        while (reply.find('\n') == std::string::npos && ::poll(&p, 1, 5000) == 1) {
            ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n <= 0) {
                break;
            }
            reply.append(buffer, static_cast<std::size_t>(n));
        }
    }
    ::close(fd);
    return reply;
}

void raise_descriptor_limit(int clients) {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    rlim_t want = static_cast<rlim_t>(clients) + 256;
    if (limit.rlim_cur < want) {
        limit.rlim_cur = std::min(std::max(want, limit.rlim_cur), limit.rlim_max);
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    ::getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < want) {
        std::fprintf(stderr, "timer_server_load: RLIMIT_NOFILE %llu is below the %llu needed\n",
                     static_cast<unsigned long long>(limit.rlim_cur),
                     static_cast<unsigned long long>(want));
        std::exit(1);
    }
}

}  // namespace tfd_load

#include "load_driver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace tfd_load {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

load_driver::load_driver(std::uint16_t port, int clients, std::uint64_t seed)
    : port_(port), random_(seed), clients_(static_cast<std::size_t>(clients)) {
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
}

load_driver::~load_driver() {
    for (std::size_t i = 0; i < clients_.size(); ++i) {
        drop(i);
    }
    ::close(epfd_);
}

void load_driver::run(clock_type::time_point end, const std::function<void()>& sample) {
    for (std::size_t i = 0; i < clients_.size(); ++i) {
        start(i);
    }
    auto next_sample = clock_type::now() + 1s;
    std::vector<epoll_event> events(1024);
    while (clock_type::now() < end) {
        int n = ::epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), 5);
        for (int k = 0; k < n; ++k) {
            std::size_t i = events[k].data.u64 >> 32;
            auto gen = static_cast<std::uint32_t>(events[k].data.u64);
            if (clients_[i].fd >= 0 && static_cast<std::uint32_t>(clients_[i].generation) == gen) {
                on_event(i, events[k].events);
            }
        }
        run_due_actions();
        if (clock_type::now() >= next_sample) {
            sample();
            next_sample += 1s;
        }
    }
    for (std::size_t i = 0; i < clients_.size(); ++i) {
        drop(i);
    }
}

void load_driver::schedule(std::size_t i, clock_type::duration after) {
    clients_[i].next_action = clock_type::now() + after;
    actions_.push({clients_[i].next_action, {i, clients_[i].generation}});
}

void load_driver::run_due_actions() {
    auto now = clock_type::now();
    while (!actions_.empty() && actions_.top().first <= now) {
        auto [i, gen] = actions_.top().second;
        actions_.pop();
        if (clients_[i].generation == gen) {
            act(i);
        }
    }
}

int load_driver::pick(int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(random_);
}

void load_driver::start(std::size_t i) {
    client_state& c = clients_[i];
    c = client_state{};
    c.generation = ++generations_;
    int r = pick(0, 99);
    c.kind = r < 40   ? role::valid
             : r < 60 ? role::slowloris
             : r < 75 ? role::oversized
             : r < 90 ? role::random_bytes
                      : role::reset;
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
        ++stats_.connect_failures;
        schedule(i, 100ms);
        return;
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port_);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ++stats_.connects;
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS) {
        ++stats_.connect_failures;
        drop(i);
        schedule_restart(i);
        return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = (static_cast<std::uint64_t>(i) << 32) | static_cast<std::uint32_t>(c.generation);
    ::epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev);
}

void load_driver::schedule_restart(std::size_t i) {
    clients_[i].generation = ++generations_;
    clients_[i].steps_left = -1;  // marks "restart" for act()
    schedule(i, milliseconds(pick(1, 50)));
}

void load_driver::drop(std::size_t i) {
    client_state& c = clients_[i];
    if (c.fd >= 0) {
        ::close(c.fd);
        c.fd = -1;
    }
}

void load_driver::finish(std::size_t i) {
    ++stats_.completed[static_cast<int>(clients_[i].kind)];
    drop(i);
    schedule_restart(i);
}

void load_driver::on_event(std::size_t i, std::uint32_t events) {
    client_state& c = clients_[i];
    if (!c.connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int error = 0;
        socklen_t size = sizeof error;
        ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &size);
        if (error != 0) {
            ++stats_.connect_failures;
            drop(i);
            schedule_restart(i);
            return;
        }
        c.connected = true;
        watch(i, EPOLLIN);
        begin_role(i);
        return;
    }
    if ((events & EPOLLOUT) && !c.backlog.empty()) {
        flush_backlog(i);
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        read_replies(i);
    }
}

void load_driver::begin_role(std::size_t i) {
    client_state& c = clients_[i];
    switch (c.kind) {
        case role::valid:
            c.steps_left = pick(3, 12);
            schedule(i, milliseconds(pick(0, 100)));
            break;
        case role::slowloris:
            if (pick(0, 1) == 0) {
                c.to_send = "status\n";
                c.steps_left = 7;
            } else {
                c.to_send = std::string(static_cast<std::size_t>(pick(10, 60)), 'z');
                c.steps_left = static_cast<int>(c.to_send.size());
                c.tolerant = true;
            }
            schedule(i, milliseconds(pick(100, 400)));
            break;
        case role::oversized: {
            std::string line(static_cast<std::size_t>(pick(2048, 65536)), 'x');
            send_now(i, line + "\nstatus\n");
            c.expected.push_back("ERR line too long");
            c.expected.push_back("timer1=");
            c.steps_left = 0;
            break;
        }
        case role::random_bytes: {
            std::string junk(static_cast<std::size_t>(pick(1024, 4096)), '\0');
            for (char& b : junk) {
                b = static_cast<char>(pick(0, 255));
            }
            c.tolerant = true;
            send_now(i, junk);
            schedule(i, milliseconds(pick(100, 1000)));
            c.steps_left = 0;
            break;
        }
        case role::reset: {
            send_now(i, "sta");
            linger abort{1, 0};
            ::setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
            ++stats_.completed[static_cast<int>(role::reset)];
            drop(i);  // close with linger 0: a reset
            schedule_restart(i);
            break;
        }
    }
}

void load_driver::act(std::size_t i) {
    client_state& c = clients_[i];
    if (c.steps_left == -1 && c.fd < 0) {
        start(i);
        return;
    }
    if (c.fd < 0) {
        return;
    }
    switch (c.kind) {
        case role::valid:
            act_valid(i);
            return;
        case role::slowloris:
            act_slowloris(i);
            return;
        case role::oversized:
        case role::random_bytes:
            finish(i);
            return;
        case role::reset:
            return;
    }
}

// One more command, or, when all were sent, wait for the last replies (up to ~4 s).
void load_driver::act_valid(std::size_t i) {
    client_state& c = clients_[i];
    if (c.steps_left-- <= 0) {
        if (c.expected.empty()) {
            finish(i);
        } else {
            schedule(i, 200ms);  // wait for the last replies
            if (c.steps_left < -20) {
                ++stats_.reply_errors;  // 4 s without the replies we asked for
                finish(i);
            }
        }
        return;
    }
    static const char* const commands[][2] = {
        {"status\n", "timer1="},
        {"help\n", "commands: status, stop, help"},
        {"  status \t\r\n", "timer1="},
        {"\n", nullptr},
        {"frobnicate\n", "ERR unknown command: frobnicate"},
        {"caf\xc3\xa9\n", "ERR unknown command: caf\\xc3\\xa9"},  // echoed escaped
        {"\xff\xfe\n", "ERR invalid UTF-8"},
    };
    auto& command = commands[pick(0, 6)];
    send_now(i, command[0]);
    if (command[1] != nullptr) {
        c.expected.emplace_back(command[1]);
    }
    schedule(i, milliseconds(pick(20, 200)));
}

// One more byte, or, when all were sent, wait for the reply (up to ~2 s).
void load_driver::act_slowloris(std::size_t i) {
    client_state& c = clients_[i];
    if (c.steps_left-- > 0 && !c.to_send.empty()) {
        send_now(i, c.to_send.substr(0, 1));
        c.to_send.erase(0, 1);
        if (c.to_send.empty() && !c.tolerant) {
            c.expected.emplace_back("timer1=");
        }
        schedule(i, milliseconds(pick(100, 400)));
        return;
    }
    if (c.expected.empty() || c.steps_left < -10) {
        if (!c.expected.empty()) {
            ++stats_.reply_errors;
        }
        finish(i);
    } else {
        schedule(i, 200ms);
    }
}

// Sends what the socket takes now and keeps the rest for when it is writable.
void load_driver::send_now(std::size_t i, std::string_view data) {
    client_state& c = clients_[i];
    if (!c.backlog.empty()) {
        c.backlog.append(data);
        return;
    }
    while (!data.empty()) {
        ssize_t n = ::send(c.fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n <= 0) {
            if (n < 0 && errno == EAGAIN) {
                c.backlog.assign(data);
                watch(i, EPOLLIN | EPOLLOUT);
            }
            return;
        }
        stats_.bytes_sent += n;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

void load_driver::flush_backlog(std::size_t i) {
    client_state& c = clients_[i];
    std::string rest = std::move(c.backlog);
    c.backlog.clear();
    watch(i, EPOLLIN);
    send_now(i, rest);
}

void load_driver::watch(std::size_t i, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 =
        (static_cast<std::uint64_t>(i) << 32) | static_cast<std::uint32_t>(clients_[i].generation);
    ::epoll_ctl(epfd_, EPOLL_CTL_MOD, clients_[i].fd, &ev);
}

void load_driver::read_replies(std::size_t i) {
    client_state& c = clients_[i];
    char buffer[16384];
    for (;;) {
        ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
        if (n > 0) {
            c.input.append(buffer, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            break;
        }
        // End of file or reset from the server.
        if (!c.expected.empty() && !c.tolerant) {
            ++stats_.server_closed;
        }
        finish(i);
        return;
    }
    check_replies(c);
    if (c.kind == role::oversized && c.expected.empty()) {
        finish(i);
    }
}

// Matches each complete line received against the next expected reply prefix.
void load_driver::check_replies(client_state& c) {
    for (std::size_t end; (end = c.input.find('\n')) != std::string::npos;) {
        std::string line = c.input.substr(0, end);
        c.input.erase(0, end + 1);
        if (c.tolerant) {
            continue;
        }
        if (c.expected.empty()) {
            ++stats_.reply_errors;
            continue;
        }
        ++stats_.replies_checked;
        if (line.rfind(c.expected.front(), 0) != 0) {
            ++stats_.reply_errors;
        }
        c.expected.pop_front();
    }
}

}  // namespace tfd_load

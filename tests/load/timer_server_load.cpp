// Load test for examples/timer_server: many concurrent loopback clients mixing valid
// commands with hostile behaviour, while the server's periodic timers keep running.
//
//   timer_server_load --server PATH [--clients N] [--seconds S] [--soak]
//
// It starts the server on a free port (--port 0), measures its memory (VmRSS) and descriptor
// count at rest, then keeps N clients connected for S seconds.  Each client, when it
// (re)connects, plays one role:
//
//   valid      status, help, blank and unknown commands (some with blanks and CRLF), checking
//              every reply, then closes;
//   slowloris  a command one byte at a time, 100-400 ms apart, or a line that never ends;
//   oversized  a 2-64 KiB line, expecting "ERR line too long", then a status on the same
//              connection;
//   random     1-4 KiB of random bytes (invalid UTF-8, NULs, newlines), reading what comes;
//   reset      connects, sends half a command and aborts with a TCP reset (SO_LINGER 0).
//
// Timers' lateness comes from the server's own "Timer N expired K times" lines, read from
// its stdout by a thread that timestamps each line as it arrives: the schedule is anchored
// at the "Listening" line (the server arms its timers right after printing it) or at the
// least-late report if that implies an earlier anchor, and the lateness of a report is its
// arrival minus the earliest deadline it covers.  That includes the pipe and this reader's
// wake-up, so it bounds the server's own lateness from above (relative to its best report).
//
// Pass/fail (exit status 0/1): the server is still up and answers status at the end, every
// checked reply was right, its descriptor count returns to the baseline once the clients
// are gone, its memory returns to within a bound of the baseline, and it exits 0 on "stop".
// --soak runs for an hour and prints the server's memory and descriptors every minute, so a
// creep shows.
// Loopback only; bounded in clients and time; stops by itself.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

struct settings {
    std::string server;
    int clients = 1000;
    double seconds = 60;
    bool soak = false;
};

[[noreturn]] void usage(const char* problem) {
    std::fprintf(stderr,
                 "timer_server_load: %s\n"
                 "usage: timer_server_load --server PATH [--clients N] [--seconds S] [--soak]\n"
                 "  environment: TFD_LOAD_CLIENTS, TFD_LOAD_SECONDS override the defaults\n",
                 problem);
    std::exit(2);
}

settings parse(int argc, char** argv) {
    settings s;
    if (const char* v = std::getenv("TFD_LOAD_CLIENTS")) {
        s.clients = std::atoi(v);
    }
    if (const char* v = std::getenv("TFD_LOAD_SECONDS")) {
        s.seconds = std::atof(v);
    }
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--soak") {
            s.soak = true;
            s.seconds = 3600;
        } else if (i + 1 < argc && a == "--server") {
            s.server = argv[++i];
        } else if (i + 1 < argc && a == "--clients") {
            s.clients = std::atoi(argv[++i]);
        } else if (i + 1 < argc && a == "--seconds") {
            s.seconds = std::atof(argv[++i]);
        } else {
            usage(("unknown argument " + std::string(a)).c_str());
        }
    }
    if (s.server.empty()) {
        usage("--server is required");
    }
    if (s.clients < 1 || s.clients > 20000 || !(s.seconds > 0) || s.seconds > 4 * 3600) {
        usage("--clients takes 1..20000 and --seconds 0..14400");
    }
    return s;
}

// ---- The server process and what it prints --------------------------------------------

struct tick_report {
    clock_type::time_point arrival;
    int timer;  // 1..3
    long count;
};

class server_process {
  public:
    server_process(const std::string& binary, double seconds) {
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

    ~server_process() {
        if (pid_ > 0 && !exited_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (reader_.joinable()) {
            reader_.join();
        }
    }

    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] clock_type::time_point anchor() const { return anchor_; }

    std::vector<tick_report> ticks() {
        std::lock_guard lock(mutex_);
        return ticks_;
    }

    // Waits for the process to exit; its exit status, or -1 (killed, or still running).
    int wait_exit(milliseconds timeout) {
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

    [[nodiscard]] bool alive() const { return !exited_ && ::kill(pid_, 0) == 0; }

  private:
    void read_output(int fd) {
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

    void line(std::string_view text, clock_type::time_point now) {
        int timer = 0;
        long count = 0;
        unsigned port = 0;
        std::string copy(text);
        if (std::sscanf(copy.c_str(), "Timer %d expired %ld times", &timer, &count) == 2) {
            std::lock_guard lock(mutex_);
            ticks_.push_back({now, timer, count});
        } else if (port_ == 0 &&
                   std::sscanf(copy.c_str(), "Listening on 127.0.0.1:%u", &port) == 1) {
            anchor_ = now;
            port_ = static_cast<std::uint16_t>(port);
        }
    }

    pid_t pid_ = -1;
    bool exited_ = false;
    std::thread reader_;
    std::mutex mutex_;
    std::vector<tick_report> ticks_;
    std::atomic<std::uint16_t> port_{0};
    clock_type::time_point anchor_;
};

// ---- /proc readings ----------------------------------------------------------------------

struct footprint {
    long rss_kib = -1;
    int fds = -1;
};

footprint measure(pid_t pid) {
    footprint f;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0) {
            f.rss_kib = std::atol(line.c_str() + 6);
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

// ---- Clients -----------------------------------------------------------------------------

enum class role { valid, slowloris, oversized, random_bytes, reset };

struct counters {
    long connects = 0;
    long connect_failures = 0;
    long completed[5] = {};
    long replies_checked = 0;
    long reply_errors = 0;
    long server_closed = 0;  // connections the server closed while we expected more
    long bytes_sent = 0;
};

struct client_state {
    int fd = -1;
    role kind = role::valid;
    bool connected = false;
    std::string to_send;               // bytes still to write (paced for slowloris)
    std::string backlog;               // bytes the socket would not take yet
    std::deque<std::string> expected;  // reply prefixes, in order
    std::string input;
    int steps_left = 0;
    bool tolerant = false;  // random bytes: replies are not checked
    clock_type::time_point next_action;
    std::uint64_t generation = 0;
};

class load_driver {
  public:
    load_driver(std::uint16_t port, int clients, std::uint64_t seed)
        : port_(port), random_(seed), clients_(static_cast<std::size_t>(clients)) {
        epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    }
    ~load_driver() {
        for (std::size_t i = 0; i < clients_.size(); ++i) {
            drop(i);
        }
        ::close(epfd_);
    }

    // Runs until `end`, keeping every client slot busy; calls `sample` about once a second.
    template <class Sample>
    void run(clock_type::time_point end, Sample&& sample) {
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
                if (clients_[i].fd >= 0 &&
                    static_cast<std::uint32_t>(clients_[i].generation) == gen) {
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

    const counters& stats() const { return stats_; }

  private:
    using due = std::pair<clock_type::time_point, std::pair<std::size_t, std::uint64_t>>;

    void schedule(std::size_t i, clock_type::duration after) {
        clients_[i].next_action = clock_type::now() + after;
        actions_.push({clients_[i].next_action, {i, clients_[i].generation}});
    }

    void run_due_actions() {
        auto now = clock_type::now();
        while (!actions_.empty() && actions_.top().first <= now) {
            auto [i, gen] = actions_.top().second;
            actions_.pop();
            if (clients_[i].generation == gen) {
                act(i);
            }
        }
    }

    int pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }

    void start(std::size_t i) {
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
        if (::connect(c.fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 &&
            errno != EINPROGRESS) {
            ++stats_.connect_failures;
            drop(i);
            schedule_restart(i);
            return;
        }
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT;
        ev.data.u64 =
            (static_cast<std::uint64_t>(i) << 32) | static_cast<std::uint32_t>(c.generation);
        ::epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev);
    }

    void schedule_restart(std::size_t i) {
        clients_[i].generation = ++generations_;
        clients_[i].steps_left = -1;  // marks "restart" for act()
        schedule(i, milliseconds(pick(1, 50)));
    }

    void drop(std::size_t i) {
        client_state& c = clients_[i];
        if (c.fd >= 0) {
            ::close(c.fd);
            c.fd = -1;
        }
    }

    void finish(std::size_t i) {
        ++stats_.completed[static_cast<int>(clients_[i].kind)];
        drop(i);
        schedule_restart(i);
    }

    void on_event(std::size_t i, std::uint32_t events) {
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

    void begin_role(std::size_t i) {
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

    void act(std::size_t i) {
        client_state& c = clients_[i];
        if (c.steps_left == -1 && c.fd < 0) {
            start(i);
            return;
        }
        if (c.fd < 0) {
            return;
        }
        switch (c.kind) {
            case role::valid: {
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
                    {"caf\xc3\xa9\n", "ERR unknown command: caf\xc3\xa9"},
                    {"\xff\xfe\n", "ERR invalid UTF-8"},
                };
                auto& command = commands[pick(0, 6)];
                send_now(i, command[0]);
                if (command[1] != nullptr) {
                    c.expected.emplace_back(command[1]);
                }
                schedule(i, milliseconds(pick(20, 200)));
                return;
            }
            case role::slowloris:
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
                return;
            case role::oversized:
            case role::random_bytes:
                finish(i);
                return;
            case role::reset:
                return;
        }
    }

    // Sends what the socket takes now and keeps the rest for when it is writable.
    void send_now(std::size_t i, std::string_view data) {
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

    void flush_backlog(std::size_t i) {
        client_state& c = clients_[i];
        std::string rest = std::move(c.backlog);
        c.backlog.clear();
        watch(i, EPOLLIN);
        send_now(i, rest);
    }

    void watch(std::size_t i, std::uint32_t events) {
        epoll_event ev{};
        ev.events = events;
        ev.data.u64 = (static_cast<std::uint64_t>(i) << 32) |
                      static_cast<std::uint32_t>(clients_[i].generation);
        ::epoll_ctl(epfd_, EPOLL_CTL_MOD, clients_[i].fd, &ev);
    }

    void read_replies(std::size_t i) {
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
        if (c.kind == role::oversized && c.expected.empty()) {
            finish(i);
        }
    }

    std::uint16_t port_;
    std::mt19937_64 random_;
    std::vector<client_state> clients_;
    std::priority_queue<due, std::vector<due>, std::greater<>> actions_;
    std::uint64_t generations_ = 0;
    int epfd_ = -1;
    counters stats_;
};

// ---- Helpers for the checks --------------------------------------------------------------

// One blocking request/reply on a fresh connection; empty on failure.
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

struct lateness_summary {
    std::size_t reports = 0;
    long ticks = 0;
    double p50_ms = 0, p99_ms = 0, max_ms = 0, min_ms = 0;
};

// Lateness of each report: arrival minus the earliest deadline it covers.  The schedule's
// anchor is the "Listening" line's arrival, or earlier when a report implies it (the reader
// may see that line a little after the server armed its timers), so no report counts as
// early and the figures are relative to the least-late report.
lateness_summary lateness(const std::vector<tick_report>& ticks, clock_type::time_point anchor) {
    long counted[4] = {};
    for (const tick_report& t : ticks) {
        if (t.timer >= 1 && t.timer <= 3) {
            anchor =
                std::min(anchor, t.arrival - milliseconds(250 * t.timer) * (counted[t.timer] + 1));
            counted[t.timer] += t.count;
        }
    }
    long seen[4] = {};
    std::vector<double> late;
    for (const tick_report& t : ticks) {
        if (t.timer < 1 || t.timer > 3) {
            continue;
        }
        auto period = milliseconds(250 * t.timer);
        auto first_deadline = anchor + period * (seen[t.timer] + 1);
        seen[t.timer] += t.count;
        late.push_back(
            std::chrono::duration<double, std::milli>(t.arrival - first_deadline).count());
    }
    lateness_summary s;
    s.reports = late.size();
    s.ticks = seen[1] + seen[2] + seen[3];
    if (late.empty()) {
        return s;
    }
    std::sort(late.begin(), late.end());
    s.min_ms = late.front();
    s.p50_ms = late[late.size() / 2];
    s.p99_ms = late[std::min(late.size() - 1, late.size() * 99 / 100)];
    s.max_ms = late.back();
    return s;
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

}  // namespace

int main(int argc, char** argv) {
    settings config = parse(argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    ::signal(SIGPIPE, SIG_IGN);
    // The server inherits the raised limit: it needs a descriptor per client too.
    raise_descriptor_limit(config.clients);

    server_process server(config.server, config.seconds);
    std::this_thread::sleep_for(1s);
    footprint baseline = measure(server.pid());
    std::printf("server pid %d on 127.0.0.1:%u; baseline VmRSS %ld KiB, %d descriptors\n",
                server.pid(), server.port(), baseline.rss_kib, baseline.fds);
    std::printf(
        "%d clients for %.0f s (valid 40%%, slowloris 20%%, oversized 15%%, random 15%%, "
        "reset 10%%)\n",
        config.clients, config.seconds);

    footprint peak;
    int sample_count = 0;
    auto started = clock_type::now();
    load_driver driver(server.port(), config.clients, 20261128);
    driver.run(started + std::chrono::duration_cast<clock_type::duration>(
                             std::chrono::duration<double>(config.seconds)),
               [&] {
                   footprint now = measure(server.pid());
                   peak.rss_kib = std::max(peak.rss_kib, now.rss_kib);
                   peak.fds = std::max(peak.fds, now.fds);
                   if (++sample_count % (config.soak ? 60 : 10) == 0) {
                       std::printf("  t=%3ds VmRSS %ld KiB, %d descriptors\n", sample_count,
                                   now.rss_kib, now.fds);
                   }
               });
    double ran = std::chrono::duration<double>(clock_type::now() - started).count();

    // Every client is closed: the server's descriptors must come back to the baseline.
    footprint after = measure(server.pid());
    for (auto end = clock_type::now() + 10s; after.fds > baseline.fds && clock_type::now() < end;) {
        std::this_thread::sleep_for(50ms);
        after = measure(server.pid());
    }
    std::string status = ask(server.port(), "status\n");
    bool up = server.alive() && status.rfind("timer1=", 0) == 0;
    lateness_summary late = lateness(server.ticks(), server.anchor());
    std::string stop = ask(server.port(), "stop\n");
    int exit_status = server.wait_exit(10s);

    const counters& c = driver.stats();
    std::printf("ran %.1f s: %ld connections (%ld failed to connect), %.1f MB sent\n", ran,
                c.connects, c.connect_failures, c.bytes_sent / 1e6);
    std::printf("  completed: valid %ld, slowloris %ld, oversized %ld, random %ld, reset %ld\n",
                c.completed[0], c.completed[1], c.completed[2], c.completed[3], c.completed[4]);
    std::printf("  replies checked %ld, wrong or missing %ld, closed by the server early %ld\n",
                c.replies_checked, c.reply_errors, c.server_closed);
    std::printf("server up at the end: %s (status: %s)\n", up ? "yes" : "NO",
                status.empty() ? "no answer" : status.substr(0, status.size() - 1).c_str());
    std::printf(
        "timer reports %zu covering %ld ticks; lateness vs schedule: p50 %.2f ms, p99 "
        "%.2f ms, max %.2f ms (min %.2f ms)\n",
        late.reports, late.ticks, late.p50_ms, late.p99_ms, late.max_ms, late.min_ms);
    std::printf(
        "VmRSS KiB: baseline %ld, peak %ld, after %ld; descriptors: baseline %d, peak %d, "
        "after %d\n",
        baseline.rss_kib, peak.rss_kib, after.rss_kib, baseline.fds, peak.fds, after.fds);
    std::printf("server exit status after stop: %d\n", exit_status);

    bool ok = true;
    auto check = [&](bool condition, const char* what) {
        if (!condition) {
            std::printf("FAIL: %s\n", what);
            ok = false;
        }
    };
    check(up, "server up and answering status at the end");
    check(stop.rfind("OK stopping", 0) == 0 && exit_status == 0, "server stops cleanly on stop");
    check(c.reply_errors == 0, "every checked reply right");
    check(c.replies_checked > 0, "replies were checked at all");
    check(after.fds == baseline.fds, "descriptors back to the baseline");
    // Freed connection memory may stay in malloc's arenas, so "back to baseline" allows the
    // heap to keep a bounded amount (16 MiB) rather than requiring an exact return.
    check(after.rss_kib <= baseline.rss_kib + 16 * 1024,
          "memory back to within 16 MiB of the baseline");
    check(late.reports > 0 && late.max_ms < 1000, "timers kept running (no report over 1 s late)");
    std::printf("%s\n", ok ? "PASS" : "FAILED");
    return ok ? 0 : 1;
}
